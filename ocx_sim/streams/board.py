"""`/markets/board/stream`: an underlying's options board (docs/fidelity.md "Streams").

The snapshot is exactly the `GET /markets/board` body at that instant. An update is
`{underlyingSymbol, underlyingPrice, expiries, expiryForwards, options}` where `options` holds
the entries that changed, each as `GET /markets/board` now shows it, and the header fields are
the board's now. The board moves with the index, the clock (time to expiry) and the surface, so
a manual world sends a frame after each request that moves any of them and a request that
moves none sends nothing; the board is computed again only then (its marks' inputs and the
instant are its cache key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocx_sim.engine.exchange import Exchange
from ocx_sim.gateway import render

_HEADER = ("underlyingSymbol", "underlyingPrice", "expiries", "expiryForwards")


@dataclass(frozen=True, slots=True)
class BoardView:
    body: dict[str, Any]

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        return {option["marketId"]: option for option in self.body["options"]}


@dataclass(slots=True)
class BoardChannel:
    underlying: str
    token: str = "board"
    snapshot_type: str = "BoardSnapshot"
    update_type: str = "BoardUpdate"
    update_event: str = "update"
    _cache: tuple[tuple[int, int], BoardView] | None = field(default=None, repr=False)

    def view(self, exchange: Exchange) -> BoardView:
        key = (exchange.now_ms, exchange.prices_version)
        if self._cache is None or self._cache[0] != key:
            self._cache = key, BoardView(render.board(exchange.board(self.underlying)))
        return self._cache[1]

    def snapshot(self, exchange: Exchange, view: BoardView) -> dict[str, Any]:
        return view.body

    def update(self, exchange: Exchange, before: BoardView, after: BoardView) -> dict[str, Any]:
        old = before.entries
        changed = [
            option for option in after.body["options"] if old.get(option["marketId"]) != option
        ]
        return {**{name: after.body[name] for name in _HEADER}, "options": changed}
