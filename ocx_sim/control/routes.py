"""Every /_sim control endpoint, gathered from the area modules (tag `control`)."""

from __future__ import annotations

from ocx_sim.control import (
    accounts,
    clock,
    faults,
    markets,
    options,
    scenarios,
    state,
    wallet,
    worlds,
)
from ocx_sim.gateway.endpoint import Endpoint
from ocx_sim.gateway.schemas import Schema

_MODULES = (worlds, clock, accounts, markets, options, wallet, faults, state, scenarios)
ENDPOINTS: list[Endpoint] = [e for m in _MODULES for e in m.ENDPOINTS]
COMPONENTS: dict[str, Schema] = {k: v for m in _MODULES for k, v in m.COMPONENTS.items()}
