"""Every OCX endpoint ocx-sim serves, gathered from the area modules."""

from __future__ import annotations

from ocx_sim.api import account, auth, board, keys, market, options, perps, schemas, wallet
from ocx_sim.gateway.endpoint import Endpoint
from ocx_sim.gateway.schemas import Schema

_MODULES = (market, board, auth, keys, perps, options, account, wallet)
ENDPOINTS: list[Endpoint] = [e for m in _MODULES for e in m.ENDPOINTS]
COMPONENTS: dict[str, Schema] = {
    **schemas.COMPONENTS,
    **{k: v for m in _MODULES for k, v in m.COMPONENTS.items()},
}
