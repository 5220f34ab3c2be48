"""Forgetting what is old (docs/fidelity.md "Retention"): a world that runs for days must not
keep every order, fill, ledger entry and event it ever made, or its memory only grows.

`forget(state, before_ms)` drops what ended or happened before `before_ms` (a world's
retention window behind its clock):
- orders that ended (filled, cancelled, expired) before it leave the exchange's and their
  owner's lists and free their clientOrderId: an order is then 404, as on an exchange whose
  order history is kept for a time. The simulator's own traders' orders (`User.house`: the
  sandbox's market makers and takers, some 37,000 an hour) leave as soon as they end: no
  client can read their history;
- fills and ledger entries made before it leave their owner's lists; the ledger keeps what
  each account's forgotten entries summed to, so balances still equal their entries;
- events stamped before it leave the log once hashed (the digest still covers them).

Open orders, positions, balances, the books and everything else live are never forgotten.
Each list is kept in the order things ended or happened, so forgetting looks only at what it
forgets: a call with nothing due costs a few comparisons.
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass
from typing import Any

from ocx_sim.engine.commands.admission import CLIENT_ORDER_ID_HELD_MS
from ocx_sim.engine.commands.records import cid_venue
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.orders import Order
from ocx_sim.engine.state import State

SHORTEST_MS = CLIENT_ORDER_ID_HELD_MS
"""The shortest retention window: an order that ended still holds its clientOrderId for 24
hours (docs/fidelity.md "Orders"), so it is kept at least that long."""


@dataclass(frozen=True, slots=True)
class Forgotten:
    """How many of each kind one `forget` dropped."""

    orders: int = 0
    fills: int = 0
    ledger_entries: int = 0
    events: int = 0

    @property
    def count(self) -> int:
        return self.orders + self.fills + self.ledger_entries + self.events

    def __bool__(self) -> bool:
        return bool(self.count)


def forget(state: State, before_ms: int, keep_events_after: int | None = None) -> Forgotten:
    """Forget what ended or happened before `before_ms` (module docstring); events after the
    event `keep_events_after` stay whatever their instant (someone will still read them)."""
    return Forgotten(
        _orders(state, state.ended, before_ms) + _orders(state, state.house_ended, None),
        _fills(state, before_ms),
        state.ledger.forget_before(before_ms),
        state.events.forget_before(before_ms, keep_events_after),
    )


def _orders(state: State, ended: deque[Order], before_ms: int | None) -> int:
    """Forget the orders of `ended` that ended before `before_ms` (every one when None)."""
    orders, users = state.orders, state.accounts.by_id
    markets = state.catalog.markets
    owners: set[User] = set()
    count = 0
    while ended and (before_ms is None or ended[0].updated_at < before_ms):
        order = ended.popleft()
        del orders[order.id]
        user = users[order.owner]
        del user.orders[order.id]
        if order.client_order_id is not None:
            key = (cid_venue(markets[order.market_id]), order.client_order_id)
            if user.client_order_ids.get(key) is order:
                del user.client_order_ids[key]
        owners.add(user)
        count += 1
    if count:
        _shrink(orders)
        for user in owners:
            _shrink(user.orders)
            _shrink(user.client_order_ids)
    return count


def _shrink(table: dict[Any, Any]) -> None:
    """A dict keeps the room of the keys deleted from it until it grows again, so one that
    took a burst of orders would hold their room for good: once it has room for many times
    what it holds, it is rebuilt in place (its holders keep the same dict)."""
    if sys.getsizeof(table) > _ROOM_PER_KEY * (len(table) + _FEW):
        kept = dict(table)
        table.clear()
        table.update(kept)


_ROOM_PER_KEY = 256
"""Bytes of room per key beyond which a dict is rebuilt: several times what a freshly built
dict takes (about 30 to 70 bytes a key)."""
_FEW = 64


def _fills(state: State, before_ms: int) -> int:
    owners = state.fill_owners
    count = 0
    while owners:
        fills = owners[0].fills
        if fills[0][9] >= before_ms:  # a `Fill`'s created_at
            break
        fills.popleft()
        owners.popleft().fills_forgotten += 1
        count += 1
    return count
