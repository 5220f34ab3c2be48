"""`Exchange`: one simulated OCX exchange, its commands and its queries.

Every command runs synchronously on the caller's thread against the simulated clock, as a
pipeline (docs/architecture.md "The engine"): admit → match → settle (commands/), which
records what happened as facts, then the one reaction loop (reactions/) answers them —
triggers, liquidations, the price tick, the keeper — before the command returns; the same loop
follows every timer. So the same seed and the same commands give the same ids, the same state
and the same event log (the digest). The simulator's levers, which OCX's API does not have,
are `exchange.sim` (sim.py).

    from decimal import Decimal
    from ocx_sim import Bucket, Exchange, OrderRequest, Side

    ex = Exchange.create(seed=7)                      # default catalog, 2026-01-02T00:00Z
    alice = ex.register_user("0x" + "a1" * 20)
    ex.sim.deposit(alice.user_id, Decimal("10000"))
    ex.transfer(alice.user_id, Bucket.WALLET, Bucket.PERPS, Decimal("5000"))
    placed = ex.place_order(alice.user_id, OrderRequest("BTC-PERP", Side.BUY, Decimal("0.1"),
                                                        price=Decimal("67000.00")))
    ex.depth("BTC-PERP").bids                         # [(Decimal('67000.00'), Decimal('0.1000'))]
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from decimal import Decimal
from typing import TypeVar

from ocx_sim.clock import DEFAULT_START_MS, Clock, ClockError, SimClock, parse_iso
from ocx_sim.engine import invariants, views
from ocx_sim.engine.commands import preview, retention, strategy, trading, wallet
from ocx_sim.engine.commands import quotes as quoting
from ocx_sim.engine.commands.execution import Placement
from ocx_sim.engine.commands.preview import Preview
from ocx_sim.engine.commands.quotes import QuoteRequest, QuotesResult
from ocx_sim.engine.commands.retention import Forgotten
from ocx_sim.engine.commands.strategy import StrategyLeg, StrategyPreview, StrategyResult
from ocx_sim.engine.core import board as options_board
from ocx_sim.engine.core.accounts import Bucket, User
from ocx_sim.engine.core.board import Board, Dvol
from ocx_sim.engine.core.events import Event, EventLog
from ocx_sim.engine.core.fees import FeeSchedule
from ocx_sim.engine.core.ledger import Ledger, LedgerEntry
from ocx_sim.engine.core.markets import Catalog, MarketSpec, MarketType, Venue
from ocx_sim.engine.core.orders import Fill, MarginMode, Order, OrderRequest, OrderType, TimeInForce
from ocx_sim.engine.core.risk import MarginView
from ocx_sim.engine.core.settlements import Settlement, SettlementKind, SettlementStatus
from ocx_sim.engine.core.surface import Surface
from ocx_sim.engine.core.tape import Tape
from ocx_sim.engine.reactions import Reactions, command
from ocx_sim.engine.sim import Sim
from ocx_sim.engine.state import State
from ocx_sim.engine.views import (
    ALL_VENUES,
    AssetBalance,
    Balances,
    DepthSnapshot,
    PositionView,
    WalletSummary,
)
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.ids import Ids

EventT = TypeVar("EventT")


class Exchange:
    """One simulated exchange: markets, books, users, money, and the event log."""

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        fees: FeeSchedule | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock if clock is not None else SimClock(DEFAULT_START_MS)
        self._state = state = State.build(seed, self.clock, catalog, fees)
        self._reactions = Reactions(state)
        self.sim = Sim(state, self._reactions)
        """The simulator's levers (sim.py)."""
        # The parts the layers above read (none is ever replaced, only changed in place).
        self.catalog: Catalog = state.catalog
        self.ids: Ids = state.ids
        self.events: EventLog = state.events
        self.ledger: Ledger = state.ledger
        self.fee_schedule: FeeSchedule = state.fees
        self.tape: Tape = state.tape
        """Every trade of every market, for candles and 24-hour stats."""

    @classmethod
    def create(cls, seed: int = 0, start: int | str | None = None) -> Exchange:
        """An exchange on the default catalog with a manual clock starting at `start` (unix
        ms or ISO-8601; default 2026-01-02T00:00:00.000Z)."""
        start_ms = DEFAULT_START_MS if start is None else start
        if isinstance(start_ms, str):
            start_ms = parse_iso(start_ms)
        return cls(seed=seed, clock=SimClock(start_ms))

    @property
    def now_ms(self) -> int:
        return self.clock.now_ms

    # -- users and money -----------------------------------------------------------------

    @command
    def register_user(self, wallet_address: str) -> User:
        """The user of this wallet, created on first sight (SIWE sign-in)."""
        return wallet.register_user(self._state, wallet_address)

    def user(self, user_id: str) -> User:
        return self._state.user(user_id)

    def has_user(self, user_id: str) -> bool:
        return user_id in self._state.accounts.by_id

    def find_user(self, wallet_address: str) -> User | None:
        return self._state.accounts.find_address(wallet_address)

    @property
    def users(self) -> list[User]:
        return list(self._state.accounts)

    @command
    def transfer(self, user_id: str, source: Bucket, target: Bucket, amount: Decimal) -> Balances:
        """Move USDC between two of the user's buckets (commands/wallet.py)."""
        wallet.transfer(self._state, self._state.user(user_id), source, target, amount)
        return self.balances(user_id)

    @command
    def withdraw(self, user_id: str, amount: Decimal) -> Settlement:
        """Debit the wallet bucket and queue the on-chain payout (400 INSUFFICIENT_BALANCE
        beyond the wallet bucket's balance)."""
        return wallet.withdraw(self._state, self._state.user(user_id), amount)

    def settlements(
        self,
        user_id: str,
        *,
        kind: SettlementKind | None = None,
        status: SettlementStatus | None = None,
        limit: int | None = None,
    ) -> list[Settlement]:
        """The user's deposits and withdrawals, newest first."""
        return views.settlements(self._state, user_id, kind=kind, status=status, limit=limit)

    def settlement(self, user_id: str, settlement_id: str) -> Settlement:
        return views.settlement(self._state, user_id, settlement_id)

    def wallet_summary(self, user_id: str) -> WalletSummary:
        return views.wallet_summary(self._state, user_id)

    # -- orders --------------------------------------------------------------------------

    @command
    def place_order(self, user_id: str, request: OrderRequest) -> Placement:
        return trading.place_order(self._state, user_id, request)

    def preview_order(self, user_id: str, request: OrderRequest) -> Preview:
        return preview.preview_order(self._state, user_id, request)

    @command
    def place_strategy(
        self, user_id: str, legs: list[StrategyLeg], *, all_or_none: bool = True
    ) -> StrategyResult:
        """A multi-leg option strategy (commands/strategy.py)."""
        return strategy.place_strategy(self._state, user_id, legs, all_or_none)

    def preview_strategy(
        self, user_id: str, legs: list[StrategyLeg], *, all_or_none: bool = True
    ) -> StrategyPreview:
        return strategy.preview_strategy(self._state, user_id, legs, all_or_none)

    @command
    def close_position(
        self,
        user_id: str,
        market_id: str,
        *,
        quantity: Decimal | None = None,
        margin_mode: MarginMode = MarginMode.CROSS,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> Placement:
        return trading.close_position(
            self._state,
            user_id,
            market_id,
            quantity=quantity,
            margin_mode=margin_mode,
            order_type=order_type,
            price=price,
            time_in_force=time_in_force,
        )

    @command
    def cancel_order(
        self, user_id: str, order_id: str, *, venues: Collection[Venue] = ALL_VENUES
    ) -> Order:
        """Cancel one of the user's open orders (404 outside `venues`, as for any order the
        user does not own)."""
        return trading.cancel_order(self._state, user_id, order_id, venues)

    @command
    def modify_order(
        self,
        user_id: str,
        order_id: str,
        *,
        price: Decimal | None = None,
        quantity: Decimal | None = None,
        venues: Collection[Venue] = ALL_VENUES,
    ) -> Placement:
        """Change an open order's price and/or total quantity (404 outside `venues`)."""
        return trading.modify_order(self._state, user_id, order_id, price, quantity, venues)

    @command
    def cancel_all(
        self,
        user_id: str,
        *,
        market_id: str | None = None,
        quote_id: str | None = None,
        client_order_id: str | None = None,
        margin_mode: MarginMode | None = None,
        venues: Collection[Venue] | None = None,
    ) -> list[str]:
        return trading.cancel_all(
            self._state,
            user_id,
            market_id=market_id,
            quote_id=quote_id,
            client_order_id=client_order_id,
            margin_mode=margin_mode,
            venues=venues,
        )

    @command
    def place_quotes(
        self,
        user_id: str,
        market_id: str,
        quotes: Sequence[QuoteRequest],
        *,
        quote_id: str | None = None,
        cancel_all: bool = False,
        labels: Sequence[str] | None = None,
    ) -> QuotesResult:
        return quoting.place_quotes(
            self._state,
            user_id,
            market_id,
            quotes,
            quote_id=quote_id,
            cancel_all=cancel_all,
            labels=labels,
        )

    # -- markets and prices --------------------------------------------------------------

    def market(self, market_id: str) -> MarketSpec:
        return self._state.market(market_id)

    def linear_markets(self) -> list[MarketSpec]:
        """`/perps/markets`: spot, perps and unexpired futures, in listing order."""
        return self._state.catalog.linear(self.now_ms)

    def mark_price(self, market_id: str) -> Decimal | None:
        return self._state.prices.mark(self.market(market_id), self.now_ms)

    def index_price(self, market_id: str) -> Decimal | None:
        return self._state.prices.index(self.market(market_id).underlying)

    def price_band(self, market_id: str) -> tuple[Decimal, Decimal] | None:
        spec = self.market(market_id)
        band = self._state.prices.band(spec, self.now_ms)
        return None if band is None else (spec.price(band[0]), spec.price(band[1]))

    def is_halted(self, market_id: str) -> bool:
        return market_id in self._state.halted

    def funding_rate(self, market_id: str) -> Decimal | None:
        """A perpetual's funding rate for the running period so far (None for others)."""
        spec = self.market(market_id)
        if spec.type is not MarketType.PERP:
            return None
        return self._reactions.funding.current_rate(spec)

    @property
    def next_funding_at(self) -> int:
        return self._reactions.funding.next_at

    def depth(self, market_id: str, levels: int | None = None) -> DepthSnapshot:
        return views.depth(self._state, market_id, levels)

    def book_levels(
        self, market_id: str, levels: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The top `levels` of each side as `(ticks, lots)`, bids best first: `depth` before
        it makes Decimals, for a caller that compares books far more often than it shows one
        (the book stream, after every command)."""
        return self._state.book(self._state.market(market_id).id).depth(levels)

    def book_sequence(self, market_id: str) -> int:
        return self._state.book(self._state.market(market_id).id).sequence

    def open_interest(self, market_id: str) -> Decimal:
        return views.open_interest(self._state, market_id)

    def insurance_fund(self) -> tuple[Decimal, list[LedgerEntry]]:
        return views.insurance_fund(self._state)

    @property
    def prices_version(self) -> int:
        """Changes whenever an input of the marks does (an index, a surface, a pin, a basis)."""
        return self._state.prices.version

    def board(self, underlying: str) -> Board:
        """The options board of `underlying` (core/board.py)."""
        state = self._state
        return options_board.board(state.catalog, state.prices, underlying, state.now)

    def dvol(self, underlying: str) -> Dvol:
        state = self._state
        return options_board.dvol(state.catalog, state.prices, underlying, state.now)

    def surface(self, underlying: str) -> Surface:
        """The underlying's volatility surface (core/surface.py); `sim.set_surface` sets it."""
        return self._state.prices.surface(underlying)

    # -- account queries -----------------------------------------------------------------

    def order(
        self, user_id: str, order_id: str, *, venues: Collection[Venue] = ALL_VENUES
    ) -> Order:
        """One of the user's orders; 404 ORDER_NOT_FOUND for an unknown id, another user's
        order, or one trading outside `venues` (each order path sees only its own venues)."""
        return self._state.users_order(self._state.user(user_id), order_id, venues)

    def orders(
        self,
        user_id: str,
        *,
        market_id: str | None = None,
        margin_mode: MarginMode | None = None,
        venues: Collection[Venue] = ALL_VENUES,
        limit: int | None = None,
        open_only: bool = False,
    ) -> list[Order]:
        """The user's orders, newest first."""
        return views.orders(
            self._state,
            user_id,
            market_id=market_id,
            margin_mode=margin_mode,
            venues=venues,
            limit=limit,
            open_only=open_only,
        )

    def open_orders(
        self, user_id: str, *, market_id: str | None = None, venues: Collection[Venue] = ALL_VENUES
    ) -> list[Order]:
        """The user's open orders, newest first."""
        return views.orders(
            self._state, user_id, market_id=market_id, venues=venues, open_only=True
        )

    def fills(
        self,
        user_id: str,
        *,
        market_id: str | None = None,
        venues: Collection[Venue] = ALL_VENUES,
        limit: int | None = None,
    ) -> list[Fill]:
        """The user's fills, newest first."""
        return views.fills(self._state, user_id, market_id=market_id, venues=venues, limit=limit)

    def positions(self, user_id: str, venues: Collection[Venue] = ALL_VENUES) -> list[PositionView]:
        """Open (non-flat) positions in the order they were first opened."""
        return views.positions(self._state, user_id, venues)

    def position(
        self, user_id: str, market_id: str, margin_mode: MarginMode = MarginMode.CROSS
    ) -> PositionView | None:
        """The position, or None when flat."""
        return views.position(self._state, user_id, market_id, margin_mode)

    def held_position(
        self, user_id: str, market_id: str, margin_mode: MarginMode = MarginMode.CROSS
    ) -> PositionView | None:
        """The position even when flat (its realized PnL and funding kept, the mark now), or
        None when the user never held the market (the streams' closed positions)."""
        return views.held_position(self._state, user_id, market_id, margin_mode)

    def balances(self, user_id: str) -> Balances:
        return views.balances(self._state, user_id)

    def margin(self, user_id: str, venue: Venue = Venue.PERPS) -> MarginView:
        return self._state.risk.margin(self._state.user(user_id), venue, self.now_ms)

    def spot_assets(self, user_id: str) -> list[AssetBalance]:
        return views.spot_assets(self._state, user_id)

    def ledger_entries(self, user_id: str, limit: int | None = None) -> list[LedgerEntry]:
        return views.ledger_entries(self._state, user_id, limit)

    def realized_pnl(self, user_id: str, since_ms: int) -> Decimal:
        return views.realized_pnl(self._state, user_id, since_ms)

    def volume_30d(self, user_id: str) -> Decimal:
        return self._state.volume.volume(self._state.user(user_id).user_id, self.now_ms)

    # -- time ----------------------------------------------------------------------------

    def advance_to(self, ts_ms: int) -> list[Event]:
        """Move the simulated clock to `ts_ms`, firing every timer due on the way (each
        followed by the reaction loop); returns the events that produced. Going backwards is
        400 and changes nothing."""
        before = self.events.last_seq
        self.advance_timers(ts_ms)
        return self.events.since(before)

    def advance_timers(self, ts_ms: int, stop: Callable[[], bool] | None = None) -> int:
        """`advance_to` a step at a time: fire the timers due by `ts_ms`, none after `stop()`
        answers True (it is asked after each one), and answer how many fired;
        `clock.due_by(ts_ms)` then tells whether any are left. Steps fire exactly what one
        advance fires (clock.py), for a caller that does something else in between (worlds:
        other worlds' requests)."""
        if not isinstance(self.clock, SimClock):
            raise OcxError(
                ErrorCode.VALIDATION_ERROR,
                "a realtime clock cannot be advanced by hand",
                {"field": "mode"},
            )
        try:
            return self.clock.advance_to(ts_ms, stop)
        except ClockError as refusal:
            raise OcxError(ErrorCode.VALIDATION_ERROR, str(refusal), {"field": "to"}) from refusal

    def advance_by(self, ms: int) -> list[Event]:
        return self.advance_to(self.now_ms + ms)

    def forget(self, before_ms: int, keep_events_after: int | None = None) -> Forgotten:
        """Forget the orders that ended, and the fills, ledger entries and events made, before
        `before_ms` (commands/retention.py); events after `keep_events_after` stay."""
        return retention.forget(self._state, before_ms, keep_events_after)

    def events_of(self, event_type: type[EventT]) -> list[EventT]:
        """Every event of one type, oldest first."""
        return [e for e in self.events if isinstance(e, event_type)]

    def digest(self) -> str:
        """SHA-256 of the event log (core/events.py)."""
        return self.events.digest()

    def check_invariants(self) -> list[str]:
        """Every broken invariant, described (empty when all hold); see `invariants.py`."""
        return invariants.check_invariants(self._state)
