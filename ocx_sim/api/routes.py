"""Every OCX endpoint ocx-sim serves, gathered from the area modules."""

from __future__ import annotations

from ocx_sim.api import market
from ocx_sim.gateway.endpoint import Endpoint

ENDPOINTS: list[Endpoint] = [*market.ENDPOINTS]
