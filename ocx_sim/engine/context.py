"""The state one exchange is made of, shared by the modules that change it.

`Exchange` builds one `Context`; `trading.py` (order commands) and `clearing.py` (what fills,
cancels and expiries do to money, positions and orders) work on it. Nothing here holds
behaviour beyond lookups that refuse unknown things with the catalog's errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ocx_sim.clock import Clock
from ocx_sim.engine.accounts import Accounts, User
from ocx_sim.engine.book import Book
from ocx_sim.engine.events import EventLog
from ocx_sim.engine.fees import FeeSchedule, VolumeTracker
from ocx_sim.engine.ledger import Ledger
from ocx_sim.engine.markets import Catalog, MarketSpec
from ocx_sim.engine.orders import Order
from ocx_sim.engine.pricing import Prices
from ocx_sim.engine.risk import Risk
from ocx_sim.engine.tape import Tape
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.ids import Ids

QuietMarks = Mapping[str, tuple[float, float]]
"""Per market id, the open interval of marks within which a watcher has nothing to do."""


class PriceWatcher(Protocol):
    def check(self) -> None:
        """Act on the marks as they are now (fire triggers, liquidate)."""

    def quiet_marks(self) -> QuietMarks | None:
        """While every listed market's mark stays strictly inside its interval (and nothing
        but marks changes), `check` would do nothing: the per-second tick (ticker.py) skips
        it. Markets not listed do not concern the watcher; None: it must check on every
        move."""


@dataclass(frozen=True, slots=True)
class QuietRefresh:
    """How the price tick (ticker.py) can tell, in floats, that a refresher's look at its
    instant would change nothing, so that it may defer the refresher's timer instead of
    stopping there."""

    underlying: str
    """The refresher's fair value is this underlying's index (`Prices.index_f`)."""
    period_ms: int
    stands: Callable[[float | None], bool]
    """Given the fair value at the instant of a look: whether the look would do nothing but
    schedule the next one `period_ms` later."""


class Refresher(Protocol):
    """Something that looks at a market on a deferrable timer (`Clock.schedule_deferrable`,
    with `order` = its place in `Context.refreshers`): a liquidity agent."""

    def quiet_refresh(self) -> QuietRefresh | None:
        """How its looks can be judged ahead; None: they cannot, its timer must fire. Asked
        when the tick plans a batch: the answer holds until the next order or ordinary
        timer, either of which ends the batch."""


@dataclass(slots=True)
class Context:
    clock: Clock
    ids: Ids
    catalog: Catalog
    prices: Prices
    ledger: Ledger
    accounts: Accounts
    fees: FeeSchedule
    volume: VolumeTracker
    risk: Risk
    events: EventLog
    tape: Tape = field(default_factory=Tape)
    books: dict[str, Book] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    halted: set[str] = field(default_factory=set)
    price_watchers: list[PriceWatcher] = field(default_factory=list)
    """Run, in order, after any index or mark may have moved (`prices_moved`): the stop
    triggers first (a stop-loss may spare its account), then the liquidation pass."""
    refreshers: list[Refresher] = field(default_factory=list)
    filled: set[str] = field(default_factory=set)
    """Users whose positions a fill changed since the liquidation pass last looked at them
    (`Liquidation.check_filled`)."""
    _watching: bool = False
    _moved_again: bool = False

    @property
    def now(self) -> int:
        return self.clock.now_ms

    def emit(self, event_type: type[Any], *values: Any) -> None:
        """Append `event_type(seq, now, *values)` to the log."""
        self.events.record(event_type, self.clock.now_ms, *values)

    def prices_moved(self) -> None:
        """Tell the watchers that marks may have moved. A watcher's own orders can move
        prices again (a fill changes the book); such a call while they run is not nested but
        makes them run once more, until a round changes nothing further."""
        if self._watching:
            self._moved_again = True
            return
        self._watching = True
        try:
            while True:
                self._moved_again = False
                for watcher in self.price_watchers:
                    watcher.check()
                if not self._moved_again:
                    break
        finally:
            self._watching = False

    def user(self, user_id: str) -> User:
        user = self.accounts.by_id.get(user_id)
        if user is None:
            raise OcxError(ErrorCode.NOT_FOUND, f"Unknown user {user_id!r}")
        return user

    def book(self, market_id: str) -> Book:
        book = self.books.get(market_id)
        if book is None:
            self.catalog.get(market_id)
            book = self.books[market_id] = Book(market_id)
        return book

    def market(self, market_id: str) -> MarketSpec:
        return self.catalog.get(market_id)

    def users_order(self, user: User, order_id: str) -> Order:
        """The user's order, or 404 ORDER_NOT_FOUND (also for another user's order: never
        reveal that it exists, DECISIONS.md)."""
        order = self.orders.get(order_id)
        if order is None or order.owner != user.user_id:
            raise OcxError(ErrorCode.ORDER_NOT_FOUND, f"Order {order_id!r} not found")
        return order
