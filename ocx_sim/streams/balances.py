"""`/portfolio/balances/stream`: the caller's balances (docs/fidelity.md "Streams", G-S9).

The snapshot and every update carry the whole `GET /portfolio/balances` body (the USDC buckets
and the spot assets) plus `equity`, `/portfolio/me`'s (the wallet and spot USDC plus the perps
and options equity); both are built by the same functions as the REST answers
(`gateway/render.py`), so they agree at every instant. The view is that payload itself: a
frame is sent whenever any of it changes (fills, fees, funding, transfers, deposit credits,
withdrawals, and mark moves through the equity), and nothing otherwise (a resting perps order
changes no balance, so it sends nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocx_sim.engine.exchange import Exchange
from ocx_sim.gateway import render


@dataclass(frozen=True, slots=True)
class BalancesChannel:
    user_id: str
    token: str = "balances"
    snapshot_type: str = "BalancesSnapshot"
    update_type: str = "BalancesUpdate"
    update_event: str = "update"

    def view(self, exchange: Exchange) -> render.Json:
        body = render.portfolio_balances(exchange, self.user_id)
        body["equity"] = render.usdc(render.portfolio_equity(exchange, self.user_id))
        return body

    def snapshot(self, exchange: Exchange, view: render.Json) -> dict[str, Any]:
        return view

    def update(self, exchange: Exchange, before: render.Json, after: render.Json) -> dict[str, Any]:
        return after
