"""The state one exchange is made of, shared by the modules that change it.

`Exchange` builds one `Context`; `trading.py` (order commands) and `clearing.py` (what fills,
cancels and expiries do to money, positions and orders) work on it. Nothing here holds
behaviour beyond lookups that refuse unknown things with the catalog's errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

    @property
    def now(self) -> int:
        return self.clock.now_ms

    def emit(self, event_type: type[Any], *values: Any) -> None:
        """Append `event_type(seq, now, *values)` to the log."""
        self.events.record(event_type, self.clock.now_ms, *values)

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
