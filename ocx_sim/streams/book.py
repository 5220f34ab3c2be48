"""`/perps/book-stream`: a linear market's book, top `depth` levels a side.

docs/fidelity.md "Streams": the snapshot is `{marketId, bids, asks, sequence}`, each level
`{price, size, total}` (total: the cumulative size from the best level through this one), bids
best first, asks lowest first; `sequence` is the REST book's. An update has the same keys and
lists only the levels of the top-`depth` view whose size changed: a level entering the view
with its size, one leaving it (or emptied) with size zero; `total` is the level's cumulative
size in the view after the change (for a level gone, the size of the better levels). A change
beyond the top `depth` levels sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.exchange import Exchange

Levels = tuple[tuple[Decimal, Decimal], ...]
"""(price, size), best first."""


@dataclass(frozen=True, slots=True)
class BookView:
    bids: Levels
    asks: Levels


@dataclass(frozen=True, slots=True)
class BookChannel:
    spec: MarketSpec
    depth: int
    token: str = "book"
    snapshot_type: str = "PerpBookSnapshot"
    update_type: str = "PerpBookUpdate"
    update_event: str = "update"

    def view(self, exchange: Exchange) -> BookView:
        snapshot = exchange.depth(self.spec.id, self.depth)
        return BookView(tuple(snapshot.bids), tuple(snapshot.asks))

    def snapshot(self, exchange: Exchange, view: BookView) -> dict[str, Any]:
        return self._payload(exchange, self.sides(view))

    def update(self, exchange: Exchange, before: BookView, after: BookView) -> dict[str, Any]:
        return self._payload(exchange, self.changes(before, after))

    def sides(self, view: BookView) -> dict[str, list[dict[str, str]]]:
        """`{bids, asks}`: every level of `view` (a snapshot's)."""
        return self._sides(view, view.bids, view.asks)

    def changes(self, before: BookView, after: BookView) -> dict[str, list[dict[str, str]]]:
        """`{bids, asks}`: the levels that changed from `before` to `after` (an update's; the
        private event streams' `book` uses the same, docs/fidelity.md "Streams")."""
        bids = _changed(before.bids, after.bids, descending=True)
        return self._sides(after, bids, _changed(before.asks, after.asks))

    def _payload(self, exchange: Exchange, sides: dict[str, Any]) -> dict[str, Any]:
        return {
            "marketId": self.spec.id,
            **sides,
            "sequence": exchange.depth(self.spec.id, 0).sequence,
        }

    def _sides(self, view: BookView, bids: Levels, asks: Levels) -> dict[str, list[dict[str, str]]]:
        return {
            "bids": self._levels(bids, view.bids, descending=True),
            "asks": self._levels(asks, view.asks, descending=False),
        }

    def _levels(self, levels: Levels, side: Levels, *, descending: bool) -> list[dict[str, str]]:
        spec = self.spec
        out = []
        for price, size in levels:
            total = sum(
                (s for p, s in side if (p >= price if descending else p <= price)), Decimal(0)
            )
            out.append(
                {
                    "price": spec.format_price(price),
                    "size": spec.format_quantity(size),
                    "total": spec.format_quantity(total),
                }
            )
        return out


def _changed(before: Levels, after: Levels, *, descending: bool = False) -> Levels:
    """The levels of `after` whose size differs from `before`'s, and those of `before` that
    left the view at size zero, best first."""
    old, new = dict(before), dict(after)
    changed = [(p, s) for p, s in after if old.get(p) != s]
    gone = [(p, s * 0) for p, s in before if p not in new]
    return tuple(sorted(changed + gone, key=lambda level: level[0], reverse=descending))
