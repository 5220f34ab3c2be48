"""The private event streams: `/perps/stream/user`, `/perps/stream/events` and
`/options/stream/events` (docs/fidelity.md "Streams": its private event streams bullet).

One channel serves the three: the caller's fills and positions on a set of venues, narrowed to
one market (with that market's book) on the two `events` streams.

- The snapshot is `{trades, positions, removedIds: []}` on the user stream and `{marketId,
  book: {bids, asks}, trades, positions}` on the events streams: `trades` the caller's latest
  fills (at most 100, newest first, each the `/perps/trades` item, `liquidity` = `feeRole`
  included), `positions` the open positions as the REST lists render them plus `status: "open"`.
- A delta has every key always: `trades` the new fills only (newest first), `positions` the
  positions whose rendering changed (a mark move changes `markPrice` and `unrealizedPnl`, so it
  is a change: the stream shows them), `removedIds`, and on the events streams `marketId` and
  `book` (the book stream's changed levels, book.py).
- A position that goes flat: with `openOnly=false` it is upserted once with `status: "closed"`,
  quantity zero, `unrealizedPnl` zero, `liquidationPrice` and `leverage` null, side and
  `entryPrice` as last shown, the rest as the REST object would show it now (the realized PnL
  and funding of the fill or liquidation that closed it, the mark now);
  with `openOnly=true` its `marketId` goes into `removedIds` instead.
- The view is cheap and comparable: the caller's fill count (every venue's, so a fill the
  stream leaves out moves it too, and then `update` answers None: nothing is sent), the rendered
  positions, and the book's top levels. A resting order changes none of them on the user
  stream, so it sends nothing there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketSpec, Venue
from ocx_sim.engine.core.orders import MarginMode
from ocx_sim.engine.exchange import Exchange
from ocx_sim.gateway import render
from ocx_sim.streams.book import BookChannel, BookView

SNAPSHOT_TRADES = 100
"""The snapshot's `trades`: the caller's latest fills, at most this many."""

PositionKey = tuple[str, str]
"""(marketId, marginMode): a user may hold a market cross and isolated at once."""
Positions = tuple[tuple[PositionKey, render.Json], ...]


class AccountView(NamedTuple):
    """(A tuple: one is made per private stream per command, the cheapest thing to make.)"""

    fill_count: int
    positions: Positions
    book: BookView | None


@dataclass(frozen=True, slots=True)
class AccountChannel:
    user_id: str
    venues: frozenset[Venue]
    open_only: bool
    token: str
    snapshot_type: str
    update_type: str
    book: BookChannel | None = None
    """The market of an events stream (its book shown at its depth); None on the user stream."""
    update_event: str = "delta"

    @property
    def market(self) -> MarketSpec | None:
        return None if self.book is None else self.book.spec

    def view(self, exchange: Exchange) -> AccountView:
        market = self.market
        positions = tuple(
            ((p.market_id, p.margin_mode.value), render.position(exchange, p))
            for p in exchange.positions(self.user_id, self.venues)
            if market is None or p.market_id == market.id
        )
        book = None if self.book is None else self.book.view(exchange)
        return AccountView(_fill_count(exchange.user(self.user_id)), positions, book)

    def snapshot(self, exchange: Exchange, view: AccountView) -> dict[str, Any]:
        market = self.market
        fills = exchange.fills(
            self.user_id,
            market_id=None if market is None else market.id,
            venues=self.venues,
            limit=SNAPSHOT_TRADES,
        )
        trades = [render.trade(exchange, f) for f in fills]
        positions = [_status(row, "open") for _, row in view.positions]
        if self.book is None or view.book is None:
            return {"trades": trades, "positions": positions, "removedIds": []}
        return {
            "marketId": self.book.spec.id,
            "book": self.book.sides(view.book),
            "trades": trades,
            "positions": positions,
        }

    def update(
        self, exchange: Exchange, before: AccountView, after: AccountView
    ) -> dict[str, Any] | None:
        trades = self._new_trades(exchange, after.fill_count - before.fill_count)
        old, new = dict(before.positions), dict(after.positions)
        positions = [_status(row, "open") for key, row in after.positions if old.get(key) != row]
        removed: list[str] = []
        for key, row in before.positions:
            if key in new:
                continue
            if self.open_only:
                removed.append(key[0])
            else:
                positions.append(_closed(exchange, self.user_id, key, row))
        book: dict[str, list[dict[str, str]]] = {"bids": [], "asks": []}
        if self.book is not None and before.book is not None and after.book is not None:
            book = self.book.changes(before.book, after.book)
        if not (trades or positions or removed or book["bids"] or book["asks"]):
            return None
        body: dict[str, Any] = {}
        if self.book is not None:
            body = {"marketId": self.book.spec.id, "book": book}
        body.update({"trades": trades, "positions": positions, "removedIds": removed})
        return body

    def _new_trades(self, exchange: Exchange, count: int) -> list[render.Json]:
        """The caller's `count` newest fills (every venue's), those this stream shows."""
        if count <= 0:
            return []
        market = self.market
        return [
            render.trade(exchange, f)
            for f in exchange.fills(self.user_id, limit=count)
            if exchange.market(f.market_id).venue in self.venues
            and (market is None or f.market_id == market.id)
        ]


def _status(row: render.Json, status: str) -> render.Json:
    return {**row, "status": status}


def _closed(exchange: Exchange, user_id: str, key: PositionKey, row: render.Json) -> render.Json:
    """A position gone flat, upserted once (module docstring): as the REST object would show it
    now (its realized PnL and funding, the mark now), quantity zero, on the side it had."""
    held = exchange.held_position(user_id, key[0], MarginMode(key[1]))
    body = row if held is None else render.position(exchange, held)
    spec = exchange.market(key[0])
    return {
        **body,
        "side": row["side"],
        "quantity": render.quantity(spec, spec.step * 0),
        "entryPrice": row["entryPrice"],
        "unrealizedPnl": render.usdc(spec.step * 0),
        "liquidationPrice": None,
        "leverage": None,
        "status": "closed",
    }


def _fill_count(user: User) -> int:
    """How many fills the user ever had (forgotten ones too: docs/fidelity.md "Retention"),
    so that a stream's count of new fills never goes backwards."""
    return user.fills_forgotten + len(user.fills)
