"""The book and `match()` driven by Hypothesis against a naive reference book.

The reference keeps resting orders in a plain list and rescans it from scratch on every step:
the opposite side's crossing orders sorted by price, then arrival. After every step the two
must agree on fills, self-trade cancels and the book's contents, and the engine's book must
hold its invariants: never crossed, `check_invariants()` empty, and every accepted order's
lots conserved: original lots = filled + resting + expired + cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from ocx_sim.engine.core.book import Book, BookOrder
from ocx_sim.engine.core.matching import MatchResult, match
from ocx_sim.errors import ErrorCode, OcxError

OWNERS = ("ann", "bob", "cat")
# Most prices cluster around the touch so orders meet often; some lie beyond the band edges so
# that market orders meet liquidity they must not take.
PRICES = st.integers(min_value=98, max_value=102) | st.integers(min_value=90, max_value=110)
BAND_LOW, BAND_HIGH = 95, 105
LOTS = st.integers(min_value=1, max_value=8)

Fill = tuple[str, int, int]
Depth = tuple[list[tuple[int, int]], list[tuple[int, int]]]


@dataclass
class RefOrder:
    """An accepted order as the reference sees it; `resting` while it is in the book."""

    id: str
    owner: str
    is_buy: bool
    ticks: int
    remaining: int
    arrival: int
    resting: bool


@dataclass
class RefOutcome:
    order: RefOrder
    fills: list[Fill] = field(default_factory=list)
    self_trade_cancels: list[str] = field(default_factory=list)
    rested: bool = False
    expired_lots: int = 0
    book_changes: int = 0


class ReferenceBook:
    """Resting orders in a list; every question answered by a fresh scan."""

    def __init__(self) -> None:
        self.resting: list[RefOrder] = []
        self.arrivals = 0

    def crossing(self, is_buy: bool, limit: int) -> list[RefOrder]:
        """Opposite orders the limit reaches, best price first, then oldest first."""
        found = [
            o
            for o in self.resting
            if o.is_buy != is_buy and (o.ticks <= limit if is_buy else o.ticks >= limit)
        ]
        found.sort(key=lambda o: (o.ticks if is_buy else -o.ticks, o.arrival))
        return found

    def execute(
        self,
        order_id: str,
        owner: str,
        is_buy: bool,
        limit: int,
        lots: int,
        *,
        rest: bool,
        fok: bool,
        post_only: bool,
        market: bool,
    ) -> RefOutcome | ErrorCode:
        crossing = self.crossing(is_buy, limit)
        if post_only and crossing:
            return ErrorCode.POST_ONLY_WOULD_TAKE
        others = sum(o.remaining for o in crossing if o.owner != owner)
        if market and others == 0:
            return ErrorCode.NO_LIQUIDITY
        order = RefOrder(order_id, owner, is_buy, limit, lots, self.arrivals, resting=False)
        self.arrivals += 1
        if fok and others < lots:
            order.remaining = 0
            return RefOutcome(order, expired_lots=lots)
        out = RefOutcome(order)
        for o in crossing:
            if order.remaining == 0:
                break
            if o.owner == owner:
                self.remove(o)
                out.self_trade_cancels.append(o.id)
            else:
                take = min(o.remaining, order.remaining)
                out.fills.append((o.id, take, o.ticks))
                o.remaining -= take
                order.remaining -= take
                if o.remaining == 0:
                    self.remove(o)
            out.book_changes += 1
        if order.remaining and rest:
            order.resting = True
            self.resting.append(order)
            out.rested = True
            out.book_changes += 1
        else:
            out.expired_lots, order.remaining = order.remaining, 0
        return out

    def remove(self, order: RefOrder) -> None:
        self.resting.remove(order)
        order.resting = False

    def depth(self) -> Depth:
        bids: dict[int, int] = defaultdict(int)
        asks: dict[int, int] = defaultdict(int)
        for o in self.resting:
            (bids if o.is_buy else asks)[o.ticks] += o.remaining
        return sorted(bids.items(), reverse=True), sorted(asks.items())

    def queues(self) -> dict[tuple[bool, int], list[str]]:
        """Order ids per (side, price), oldest first."""
        out: dict[tuple[bool, int], list[str]] = defaultdict(list)
        for o in sorted(self.resting, key=lambda o: o.arrival):
            out[(o.is_buy, o.ticks)].append(o.id)
        return dict(out)


class BookMachine(RuleBasedStateMachine):
    orders: Bundle[RefOrder] = Bundle("orders")
    """Every accepted order, resting or ended, and one the book never saw."""

    def __init__(self) -> None:
        super().__init__()
        self.book = Book("TEST-PERP")
        self.ref = ReferenceBook()
        self.next_id = 1
        # Per accepted order (refused ones never entered): lots it came with, and where they went.
        self.lots: dict[str, int] = {}
        self.filled: dict[str, int] = defaultdict(int)
        self.expired: dict[str, int] = defaultdict(int)
        self.cancelled: dict[str, int] = defaultdict(int)

    def new_id(self) -> str:
        order_id = f"o{self.next_id}"
        self.next_id += 1
        return order_id

    # -- one incoming order, through both books ----------------------------------------------

    def submit(
        self,
        owner: str,
        is_buy: bool,
        limit: int,
        lots: int,
        *,
        rest: bool,
        fok: bool = False,
        post_only: bool = False,
        market: bool = False,
    ) -> MultipleResults[RefOrder]:
        """The order through both books; the reference's record of it when accepted (for the
        `orders` bundle), nothing when refused."""
        order_id = self.new_id()
        taker = BookOrder(order_id, owner, is_buy, limit, lots)
        before = (self.book.depth(), self.book.sequence)
        expected = self.ref.execute(
            order_id,
            owner,
            is_buy,
            limit,
            lots,
            rest=rest,
            fok=fok,
            post_only=post_only,
            market=market,
        )
        try:
            result = match(
                self.book, taker, limit, rest=rest, fok=fok, post_only=post_only, market=market
            )
        except OcxError as refused:
            assert refused.code == expected, f"engine refused {refused.code}, model {expected}"
            assert refused.status == 422
            assert (self.book.depth(), self.book.sequence) == before
            assert taker.remaining == lots
            assert not taker.resting
            return multiple()
        assert isinstance(expected, RefOutcome), f"model refused with {expected}, engine did not"
        self.compare(order_id, lots, taker, result, expected, before[1])
        return multiple(expected.order)

    def compare(
        self,
        order_id: str,
        lots: int,
        taker: BookOrder,
        result: MatchResult,
        expected: RefOutcome,
        sequence_before: int,
    ) -> None:
        got_fills = [(maker.id, n, ticks) for maker, n, ticks in result.fills]
        assert got_fills == expected.fills
        assert [o.id for o in result.self_trade_cancels] == expected.self_trade_cancels
        assert result.rested == expected.rested
        assert result.expired_lots == expected.expired_lots
        assert self.book.sequence == sequence_before + expected.book_changes
        # Fills are at the maker's price and never worse than the taker's limit.
        for _, _, ticks in got_fills:
            assert ticks <= taker.ticks if taker.is_buy else ticks >= taker.ticks
        # The taker's `remaining` holds what did not fill: resting or expired.
        assert taker.remaining == lots - result.filled_lots
        assert taker.resting == result.rested
        if not result.rested:
            assert taker.remaining == result.expired_lots
        self.lots[order_id] = lots
        for maker, n, _ in result.fills:
            self.filled[maker.id] += n
            self.filled[order_id] += n
            assert maker.owner != taker.owner
        for cancelled in result.self_trade_cancels:
            assert cancelled.owner == taker.owner
            assert not cancelled.resting
            self.cancelled[cancelled.id] += cancelled.remaining
        self.expired[order_id] += result.expired_lots

    # -- rules ---------------------------------------------------------------------------------

    @initialize(target=orders)
    def an_order_never_seen(self) -> RefOrder:
        """An id the book never saw, so that cancelling one that rests nowhere can always run."""
        return RefOrder("never-seen", OWNERS[0], True, 100, 0, -1, resting=False)

    @rule(
        target=orders,
        owner=st.sampled_from(OWNERS),
        is_buy=st.booleans(),
        behind=st.integers(min_value=0, max_value=4),
        lots=LOTS,
        post_only=st.booleans(),
    )
    def quote(
        self, owner: str, is_buy: bool, behind: int, lots: int, post_only: bool
    ) -> MultipleResults[RefOrder]:
        """A GTC order on its own side of the mid (it may still cross a book that leans)."""
        ticks = 99 - behind if is_buy else 101 + behind
        return self.submit(owner, is_buy, ticks, lots, rest=True, post_only=post_only)

    @rule(
        target=orders,
        owner=st.sampled_from(OWNERS),
        is_buy=st.booleans(),
        ticks=PRICES,
        lots=LOTS,
        tif=st.sampled_from(["gtc", "ioc", "fok"]),
        post_only=st.booleans(),
    )
    def limit_order(
        self, owner: str, is_buy: bool, ticks: int, lots: int, tif: str, post_only: bool
    ) -> MultipleResults[RefOrder]:
        return self.submit(
            owner,
            is_buy,
            ticks,
            lots,
            rest=tif == "gtc",
            fok=tif == "fok",
            post_only=post_only and tif == "gtc",
        )

    @rule(target=orders, owner=st.sampled_from(OWNERS), is_buy=st.booleans(), lots=LOTS)
    def market_order(self, owner: str, is_buy: bool, lots: int) -> MultipleResults[RefOrder]:
        edge = BAND_HIGH if is_buy else BAND_LOW
        return self.submit(owner, is_buy, edge, lots, rest=False, market=True)

    @precondition(lambda self: bool(self.ref.resting))
    @rule(order=orders.filter(lambda o: o.resting))
    def cancel(self, order: RefOrder) -> None:
        """Cancel a resting order: it leaves the book with what it had left."""
        self.cancel_live(order)

    @rule(order=orders.filter(lambda o: not o.resting))
    def cancel_ended(self, order: RefOrder) -> None:
        """Cancel an order that rests nowhere (filled, expired, cancelled, or never seen): nothing
        changes. It stays in `orders` when it ends, since this rule is about ended orders."""
        self.cancel_not_resting(order.id)

    def cancel_live(self, target: RefOrder) -> None:
        sequence = self.book.sequence
        cancelled = self.book.cancel(target.id)
        assert cancelled is not None
        assert cancelled.id == target.id
        assert cancelled.remaining == target.remaining
        assert not cancelled.resting
        assert self.book.sequence == sequence + 1
        self.ref.remove(target)
        self.cancelled[target.id] += cancelled.remaining

    def cancel_not_resting(self, order_id: str) -> None:
        before = (self.book.depth(), self.book.sequence)
        assert self.book.cancel(order_id) is None
        assert (self.book.depth(), self.book.sequence) == before

    @precondition(lambda self: any(o.remaining > 1 for o in self.ref.resting))
    @rule(order=orders.filter(lambda o: o.resting and o.remaining > 1), by=LOTS)
    def reduce(self, order: RefOrder, by: int) -> None:
        """A quantity decrease keeps time priority: a modify to a smaller quantity, and a
        reduce-only order trimmed to a shrunk position (commands/records.py `trim`)."""
        by = 1 + (by - 1) % (order.remaining - 1)
        sequence = self.book.sequence
        self.book.reduce(self.book.orders[order.id], by)
        assert self.book.sequence == sequence + 1
        order.remaining -= by
        self.cancelled[order.id] += by

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def same_depth_as_the_reference(self) -> None:
        assert self.book.depth() == self.ref.depth()

    @invariant()
    def same_queues_as_the_reference(self) -> None:
        queues = {
            (is_buy, ticks): [o.id for o in level]
            for is_buy, side in ((True, self.book.bids), (False, self.book.asks))
            for ticks, level in side.items()
        }
        assert queues == self.ref.queues()
        assert {i: o.remaining for i, o in self.book.orders.items()} == {
            o.id: o.remaining for o in self.ref.resting
        }

    @invariant()
    def book_never_crossed(self) -> None:
        bid, ask = self.book.best_bid, self.book.best_ask
        assert bid is None or ask is None or bid < ask

    @invariant()
    def book_invariants_hold(self) -> None:
        assert self.book.check_invariants() == []

    @invariant()
    def every_lot_is_accounted_for(self) -> None:
        for order_id, lots in self.lots.items():
            rest = self.book.orders.get(order_id)
            resting = rest.remaining if rest is not None else 0
            accounted = (
                self.filled[order_id] + resting + self.expired[order_id] + self.cancelled[order_id]
            )
            assert lots == accounted, f"{order_id}: {lots} lots, {accounted} accounted for"
        # The same, in total, with the resting lots read from the level totals.
        resting_lots = sum(lots for side in self.book.depth() for _, lots in side)
        assert sum(self.lots.values()) == (
            sum(self.filled.values())
            + resting_lots
            + sum(self.expired.values())
            + sum(self.cancelled.values())
        )


# 40 rule steps after the one `initialize` step.
BookMachine.TestCase.settings = settings(stateful_step_count=41)
TestBookAgainstReference = BookMachine.TestCase
