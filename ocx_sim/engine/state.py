"""The state one exchange is made of, as data: what commands change and reactions read.

`Exchange` builds one `State`; the commands (commands/) and the reactions (reactions/) work on
it. It holds no behaviour beyond lookups that refuse unknown things with the catalog's errors.

`facts` is how a command tells the exchange what happened without calling anything back: the
commands record their facts there (users whose positions a fill changed, a perpetual's book an order
changed, marks that may have moved, records that now wait on the chain) and the exchange's one
reaction loop hands them to the reactions after every command and every timer
(reactions/__init__.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import partial

from ocx_sim.clock import Clock
from ocx_sim.engine.core.accounts import Accounts, User
from ocx_sim.engine.core.book import Book
from ocx_sim.engine.core.events import EventLog
from ocx_sim.engine.core.fees import FeeSchedule, VolumeTracker
from ocx_sim.engine.core.index import IndexProcess
from ocx_sim.engine.core.ledger import Ledger
from ocx_sim.engine.core.markets import Catalog, MarketSpec, Venue, default_catalog
from ocx_sim.engine.core.orders import Order
from ocx_sim.engine.core.pricing import Prices
from ocx_sim.engine.core.risk import Risk
from ocx_sim.engine.core.settlements import Settlement, Settlements
from ocx_sim.engine.core.tape import Tape
from ocx_sim.engine.core.trigger_book import TriggerBook
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.ids import Ids


@dataclass(slots=True)
class Facts:
    """What happened since the reactions last looked (reactions/__init__.py reads and clears
    it). Each field is the fact some reaction answers."""

    filled: set[str] = field(default_factory=set)
    """Users whose positions a fill changed: a fill away from the mark can leave either side
    under maintenance (the liquidation looks at them, in registration order)."""
    perp_book: bool = False
    """An order was entered, changed or ended on a perpetual's book, which its mark's basis
    follows (the price tick wakes)."""
    marks: bool = False
    """An index, mark or basis may have moved, or funding changed balances: triggers and the
    liquidation look at every account, and the price tick wakes."""
    wake: bool = False
    """Something may now move with time anywhere: the price tick looks at every market."""
    chain: list[Settlement] = field(default_factory=list)
    """Deposits and withdrawals that now wait on the chain: confirmations or the keeper."""

    def __bool__(self) -> bool:
        return bool(self.filled or self.perp_book or self.marks or self.wake or self.chain)


@dataclass(slots=True)
class State:
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
    ended: deque[Order] = field(default_factory=deque)
    """Orders in the order they ended (`records.end`), for a world's retention to forget the
    oldest first (retention.py)."""
    house_ended: deque[Order] = field(default_factory=deque)
    """The same for the simulator's own traders (`User.house`), forgotten at once."""
    fill_owners: deque[User] = field(default_factory=deque)
    """Whose each fill was, in the order the fills were made (retention.py)."""
    halted: set[str] = field(default_factory=set)
    triggers: TriggerBook = field(default_factory=TriggerBook)
    settlements: Settlements = field(default_factory=Settlements)
    facts: Facts = field(default_factory=Facts)

    @classmethod
    def build(
        cls, seed: int, clock: Clock, catalog: Catalog | None, fees: FeeSchedule | None
    ) -> State:
        """A fresh exchange's state: no users, empty books (the default catalog when none)."""
        # A partial, not a lambda: a copy of the state (a world's snapshot) must read its own
        # clock, and a closure would keep reading the original's.
        ids = Ids(seed, partial(getattr, clock, "now_ms"))
        catalog = catalog if catalog is not None else default_catalog(clock.now_ms)
        prices = Prices(catalog, IndexProcess(catalog, ids, clock.now_ms), clock)
        ledger = Ledger(ids.counted_tails("ledger"))
        return cls(
            clock=clock,
            ids=ids,
            catalog=catalog,
            prices=prices,
            ledger=ledger,
            accounts=Accounts(),
            fees=fees if fees is not None else FeeSchedule(),
            volume=VolumeTracker(),
            risk=Risk(catalog, prices, ledger),
            events=EventLog(),
        )

    @property
    def now(self) -> int:
        return self.clock.now_ms

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

    def users_order(
        self, user: User, order_id: str, venues: Collection[Venue] | None = None
    ) -> Order:
        """The user's order, or 404 ORDER_NOT_FOUND: also for another user's order (never
        reveal that it exists) and for one trading outside `venues` (each order path sees only
        its own venues, docs/fidelity.md "Order endpoints")."""
        order = self.orders.get(order_id)
        if (
            order is None
            or order.owner != user.user_id
            or (venues is not None and self.catalog.markets[order.market_id].venue not in venues)
        ):
            raise OcxError(ErrorCode.ORDER_NOT_FOUND, f"Order {order_id!r} not found")
        return order
