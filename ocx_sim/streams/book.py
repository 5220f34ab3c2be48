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
from typing import Any, NamedTuple

from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.exchange import Exchange

Levels = tuple[tuple[int, int], ...]
"""(ticks, lots), best first: compared after every command, made into Decimals only for the
levels a frame shows."""


class BookView(NamedTuple):
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
        bids, asks = exchange.book_levels(self.spec.id, self.depth)
        return BookView(tuple(bids), tuple(asks))

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
            "sequence": exchange.book_sequence(self.spec.id),
        }

    def _sides(self, view: BookView, bids: Levels, asks: Levels) -> dict[str, list[dict[str, str]]]:
        return {
            "bids": self._levels(bids, view.bids, descending=True),
            "asks": self._levels(asks, view.asks, descending=False),
        }

    def _levels(self, levels: Levels, side: Levels, *, descending: bool) -> list[dict[str, str]]:
        spec = self.spec
        out = []
        for ticks, lots in levels:
            total = sum(s for t, s in side if (t >= ticks if descending else t <= ticks))
            out.append(
                {
                    "price": spec.format_price(spec.price(ticks)),
                    "size": spec.format_quantity(spec.quantity(lots)),
                    "total": spec.format_quantity(spec.quantity(total)),
                }
            )
        return out


def _changed(before: Levels, after: Levels, *, descending: bool = False) -> Levels:
    """The levels of `after` whose size differs from `before`'s, and those of `before` that
    left the view at size zero, best first."""
    old, new = dict(before), dict(after)
    changed = [(t, s) for t, s in after if old.get(t) != s]
    gone = [(t, 0) for t, _ in before if t not in new]
    return tuple(sorted(changed + gone, key=lambda level: level[0], reverse=descending))
