"""(being written)"""

from __future__ import annotations

from ocx_sim.gateway.endpoint import Endpoint
from ocx_sim.gateway.schemas import Schema

COMPONENTS: dict[str, Schema] = {}
ENDPOINTS: list[Endpoint] = []
