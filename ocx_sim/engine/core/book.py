"""One order book: price levels on integer ticks, FIFO queues of resting orders per level.

Representation:
- `bids` and `asks` are `SortedDict`s from a price in ticks to its `Level`; the best bid is the
  highest key of `bids`, the best ask the lowest key of `asks`. Inserting a new level is
  O(log n); adding to an existing level is O(1).
- Each `Level` is an intrusive doubly linked list of `BookOrder`s in arrival order, with the
  level's total remaining lots and its order count kept beside it. Unlinking an order is O(1),
  so cancel by id (through the `orders` index) is O(1) when the level survives, plus one
  O(log n) level removal when it empties.
- Quantities are integer lots and prices integer ticks; the book never sees a Decimal.

Invariants (checked by `check_invariants`, and after every step by the book state machine test):
- the book is never crossed: best bid < best ask whenever both sides exist;
- every level is non-empty, its `lots` equals the sum of its orders' `remaining` and its
  `count` their number, and every resting order has `remaining > 0`;
- `orders` indexes exactly the orders linked into the levels;
- `sequence` increases by one with every change of the book's contents.

Copies and pickles (a world's snapshot) carry each level's orders as a list and link them
again on arrival: following `next` from order to order would recurse once per order in the
queue, past Python's recursion limit in a deep one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sortedcontainers import SortedDict

if TYPE_CHECKING:
    from collections.abc import Iterable


class BookOrder:
    """What the book knows of an order; the engine's `Order` extends it.

    `remaining` is the quantity still open in lots. `level`, `prev` and `next` are the book's
    links, set only while the order rests.
    """

    __slots__ = ("id", "is_buy", "level", "next", "owner", "prev", "remaining", "ticks")

    def __init__(self, order_id: str, owner: str, is_buy: bool, ticks: int, remaining: int) -> None:
        self.id = order_id
        self.owner = owner
        self.is_buy = is_buy
        self.ticks = ticks
        self.remaining = remaining
        self.level: Level | None = None
        self.prev: BookOrder | None = None
        self.next: BookOrder | None = None

    @property
    def resting(self) -> bool:
        return self.level is not None

    def __getstate__(self) -> dict[str, Any]:
        # Without the links: its level puts them back (module docstring).
        return {name: getattr(self, name) for name in _fields(type(self)) if hasattr(self, name)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.level = self.prev = self.next = None
        for name, value in state.items():
            setattr(self, name, value)


_LINKS = frozenset({"level", "prev", "next"})
_FIELDS: dict[type[BookOrder], tuple[str, ...]] = {}


def _fields(kind: type[BookOrder]) -> tuple[str, ...]:
    """The slots of an order class (its own and its bases') but the book's links."""
    fields = _FIELDS.get(kind)
    if fields is None:
        slots = (name for cls in kind.__mro__ for name in getattr(cls, "__slots__", ()))
        fields = _FIELDS[kind] = tuple(name for name in slots if name not in _LINKS)
    return fields


class Level:
    """All resting orders at one price, oldest first."""

    __slots__ = ("count", "head", "lots", "tail", "ticks")

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks
        self.lots = 0
        self.count = 0
        self.head: BookOrder | None = None
        self.tail: BookOrder | None = None

    def __iter__(self) -> Iterator[BookOrder]:
        order = self.head
        while order is not None:
            yield order
            order = order.next

    def __getstate__(self) -> tuple[int, int, int, list[BookOrder]]:
        return self.ticks, self.lots, self.count, list(self)

    def __setstate__(self, state: tuple[int, int, int, list[BookOrder]]) -> None:
        self.ticks, self.lots, self.count, orders = state
        previous: BookOrder | None = None
        self.head = None
        for order in orders:
            order.level, order.prev, order.next = self, previous, None
            if previous is None:
                self.head = order
            else:
                previous.next = order
            previous = order
        self.tail = previous


class Book:
    """The resting orders of one market. Matching lives in `matching.py`."""

    __slots__ = ("asks", "best_ask", "best_bid", "bids", "market_id", "orders", "sequence")

    def __init__(self, market_id: str) -> None:
        self.market_id = market_id
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.orders: dict[str, BookOrder] = {}
        self.best_bid: int | None = None
        self.best_ask: int | None = None
        self.sequence = 0

    # -- changes -------------------------------------------------------------------------

    def add(self, order: BookOrder) -> None:
        """Rest `order` at the back of its price level. The caller has matched it already, so
        it does not cross the opposite side."""
        ticks = order.ticks
        if order.is_buy:
            levels = self.bids
            level = levels.get(ticks)
            if level is None:
                level = levels[ticks] = Level(ticks)
                if self.best_bid is None or ticks > self.best_bid:
                    self.best_bid = ticks
        else:
            levels = self.asks
            level = levels.get(ticks)
            if level is None:
                level = levels[ticks] = Level(ticks)
                if self.best_ask is None or ticks < self.best_ask:
                    self.best_ask = ticks
        # Link at the tail of the level (inlined: this is the hottest path of the book).
        order.level = level
        order.next = None
        order.prev = tail = level.tail
        if tail is None:
            level.head = order
        else:
            tail.next = order
        level.tail = order
        level.lots += order.remaining
        level.count += 1
        self.orders[order.id] = order
        self.sequence += 1

    def remove(self, order: BookOrder) -> None:
        """Take a resting order off the book (cancel, or its last lot filled)."""
        level = order.level
        if level is None:
            raise ValueError(f"order {order.id} is not resting")
        prev, following = order.prev, order.next
        if prev is None:
            level.head = following
        else:
            prev.next = following
        if following is None:
            level.tail = prev
        else:
            following.prev = prev
        order.level = order.prev = order.next = None
        level.lots -= order.remaining
        level.count -= 1
        del self.orders[order.id]
        if level.count == 0:
            self._drop_level(order.is_buy, level.ticks)
        self.sequence += 1

    def cancel(self, order_id: str) -> BookOrder | None:
        """Remove a resting order by id; None when no such order rests here."""
        order = self.orders.get(order_id)
        if order is not None:
            self.remove(order)
        return order

    def reduce(self, order: BookOrder, lots: int) -> None:
        """Lower a resting order's remaining quantity in place, keeping its time priority
        (a partial fill, or a modify that only shrinks the quantity)."""
        level = order.level
        if level is None:
            raise ValueError(f"order {order.id} is not resting")
        if not 0 < lots < order.remaining:
            raise ValueError(f"reduce by {lots} of {order.remaining} lots must leave some")
        order.remaining -= lots
        level.lots -= lots
        self.sequence += 1

    def _drop_level(self, is_buy: bool, ticks: int) -> None:
        if is_buy:
            del self.bids[ticks]
            if ticks == self.best_bid:
                self.best_bid = self.bids.peekitem(-1)[0] if self.bids else None
        else:
            del self.asks[ticks]
            if ticks == self.best_ask:
                self.best_ask = self.asks.peekitem(0)[0] if self.asks else None

    # -- reads ---------------------------------------------------------------------------

    def best_level(self, is_buy: bool) -> Level | None:
        """The best level of one side (`is_buy` = the bid side)."""
        if is_buy:
            return None if self.best_bid is None else self.bids[self.best_bid]
        return None if self.best_ask is None else self.asks[self.best_ask]

    def levels(self, is_buy: bool, through: int | None = None) -> Iterator[Level]:
        """One side's levels from the best price outwards, stopping after the price `through`
        (inclusive) when given."""
        if is_buy:
            bids = self.bids
            for ticks in bids.irange(minimum=through, reverse=True):
                yield bids[ticks]
        else:
            asks = self.asks
            for ticks in asks.irange(maximum=through):
                yield asks[ticks]

    def depth(
        self, limit: int | None = None
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated levels `(ticks, lots)`: bids descending, asks ascending, at most `limit`
        per side (all when None)."""
        return self._side(self.levels(True), limit), self._side(self.levels(False), limit)

    @staticmethod
    def _side(levels: Iterable[Level], limit: int | None) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for level in levels:
            if limit is not None and len(out) >= limit:
                break
            out.append((level.ticks, level.lots))
        return out

    def __len__(self) -> int:
        return len(self.orders)

    def check_invariants(self) -> list[str]:
        """Describe every broken invariant (empty when the book is sound)."""
        problems: list[str] = []
        bid, ask = self.best_bid, self.best_ask
        if bid is not None and ask is not None and bid >= ask:
            problems.append(f"crossed: best bid {self.best_bid} >= best ask {self.best_ask}")
        expected_bid = self.bids.peekitem(-1)[0] if self.bids else None
        expected_ask = self.asks.peekitem(0)[0] if self.asks else None
        if self.best_bid != expected_bid or self.best_ask != expected_ask:
            problems.append(
                f"cached best ({self.best_bid}, {self.best_ask}) != "
                f"levels ({expected_bid}, {expected_ask})"
            )
        linked = 0
        for is_buy, side in ((True, self.bids), (False, self.asks)):
            for ticks, level in side.items():
                orders = list(level)
                linked += len(orders)
                if not orders:
                    problems.append(f"empty level {ticks}")
                if level.lots != sum(o.remaining for o in orders) or level.count != len(orders):
                    problems.append(f"level {ticks} totals disagree with its orders")
                for o in orders:
                    if o.remaining <= 0 or o.ticks != ticks or o.is_buy != is_buy:
                        problems.append(f"order {o.id} misplaced or empty at level {ticks}")
                    if self.orders.get(o.id) is not o:
                        problems.append(f"order {o.id} linked but not indexed")
        if linked != len(self.orders):
            problems.append(f"{len(self.orders)} indexed orders but {linked} linked")
        return problems
