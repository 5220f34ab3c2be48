"""`Exchange`: the one entry point to a simulated OCX exchange.

Commands change state and append events; queries read it; nothing else does either. Every
command runs synchronously on the caller's thread against the simulated clock, so the same seed
and the same commands give the same ids, the same state and the same event log (the digest).

    from decimal import Decimal
    from ocx_sim import Bucket, Exchange, OrderRequest, Side

    ex = Exchange.create(seed=7)                      # default catalog, 2026-01-02T00:00Z
    alice = ex.register_user("0x" + "a1" * 20)
    ex.deposit(alice.user_id, Decimal("10000"))
    ex.transfer(alice.user_id, Bucket.WALLET, Bucket.PERPS, Decimal("5000"))
    placed = ex.place_order(alice.user_id, OrderRequest("BTC-PERP", Side.BUY, Decimal("0.1"),
                                                        price=Decimal("67000.00")))
    ex.depth("BTC-PERP").bids                         # [(Decimal('67000.00'), Decimal('0.1000'))]
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal
from functools import partial
from typing import TypeVar

from ocx_sim.clock import DEFAULT_START_MS, Clock, ClockError, SimClock, parse_iso
from ocx_sim.engine.accounts import Accounts, Bucket, User, checksum_address
from ocx_sim.engine.clearing import Clearing
from ocx_sim.engine.context import Context
from ocx_sim.engine.events import (
    CurveSet,
    Event,
    EventLog,
    FundsTransferred,
    IndexSet,
    MarketHalted,
    MarketResumed,
    MarkPinned,
    UserRegistered,
    VolatilitySet,
)
from ocx_sim.engine.fees import FeeSchedule, VolumeTracker
from ocx_sim.engine.index import Curve, IndexProcess
from ocx_sim.engine.invariants import check_invariants
from ocx_sim.engine.ledger import EntryType, Ledger, LedgerEntry, SystemBucket, system_account
from ocx_sim.engine.lifecycle import Lifecycle
from ocx_sim.engine.liquidation import Liquidation
from ocx_sim.engine.liquidity import LiquidityAgent, LiquiditySpec
from ocx_sim.engine.markets import (
    Catalog,
    MarketSpec,
    MarketType,
    Venue,
    default_catalog,
)
from ocx_sim.engine.money import MAX_INTEGER_DIGITS, USDC, ZERO, format_usdc, usdc, usdc_amount
from ocx_sim.engine.orders import (
    Fill,
    MarginMode,
    Order,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
)
from ocx_sim.engine.preview import Preview, preview_order
from ocx_sim.engine.pricing import Prices
from ocx_sim.engine.quotes import QuoteRequest, QuotesResult, Quoting
from ocx_sim.engine.risk import MarginView, Risk
from ocx_sim.engine.tape import Tape
from ocx_sim.engine.trading import Placement, Trading
from ocx_sim.engine.triggers import Triggers
from ocx_sim.engine.views import (
    AssetBalance,
    Balances,
    DepthSnapshot,
    PositionView,
    WalletSummary,
)
from ocx_sim.engine.wallet import Settlement, SettlementKind, SettlementStatus, Wallet
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.ids import Ids

EXTERNAL = system_account(SystemBucket.EXTERNAL)
EventT = TypeVar("EventT")
HOUSE_ADDRESS = "0x00000000000000000000000000000000000000ff"
"""The outside trader's account (`outside_trade`)."""
HOUSE_FLOAT = Decimal(1_000_000)
MAX_PRICE = Decimal(10) ** MAX_INTEGER_DIGITS
ALL_VENUES = frozenset(Venue)
LIQUIDITY_ADDRESS = "0x00000000000000000000000000000000000000fd"
"""The sandbox's market maker (`add_liquidity`)."""
AGENT_FUNDS = Decimal(1_000_000_000)
SANDBOX_VOLATILITY = {"BTC": Decimal("0.5"), "XAUT": Decimal("0.15"), "WTIOIL": Decimal("0.4")}
DEFAULT_VOLATILITY = Decimal("0.3")
SANDBOX_QUOTE_USD = Decimal(5_000)
"""About this much notional per rung of the sandbox's ladders."""
MAX_VOLATILITY = Decimal(10)
"""1000 % a year: anything wilder is a typo."""


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
        # A partial, not a lambda: a copy of the exchange (a world's snapshot) must read its
        # own clock, and a closure would keep reading the original's.
        ids = Ids(seed, partial(getattr, self.clock, "now_ms"))
        catalog = catalog if catalog is not None else default_catalog(self.clock.now_ms)
        prices = Prices(catalog, IndexProcess(catalog, ids, self.clock.now_ms), self.clock)
        ledger = Ledger(ids.counted_tails("ledger"))
        self._ctx = ctx = Context(
            clock=self.clock,
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
        self._clearing = Clearing(ctx)
        self._trading = Trading(ctx, self._clearing)
        # The first price watcher (context.py): a stop-loss that fires may spare its account
        # the liquidation pass that runs after it.
        self._triggers = Triggers(ctx, self._trading, self._clearing)
        ctx.price_watchers.append(self._triggers)
        self._liquidation = Liquidation(ctx, self._clearing, self._trading)
        # The liquidation pass watches prices after the triggers (DECISIONS.md "Risk").
        ctx.price_watchers.append(self._liquidation)
        self._quoting = Quoting(ctx, self._clearing, self._trading)
        self._wallet = Wallet(ctx)
        self._lifecycle = Lifecycle(ctx, self._clearing)

    @classmethod
    def create(cls, seed: int = 0, start: int | str | None = None) -> Exchange:
        """An exchange on the default catalog with a manual clock starting at `start` (unix
        ms or ISO-8601; default 2026-01-02T00:00:00.000Z)."""
        start_ms = DEFAULT_START_MS if start is None else start
        if isinstance(start_ms, str):
            start_ms = parse_iso(start_ms)
        return cls(seed=seed, clock=SimClock(start_ms))

    # -- parts, for the layers above -----------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        return self._ctx.catalog

    @property
    def ids(self) -> Ids:
        return self._ctx.ids

    @property
    def events(self) -> EventLog:
        return self._ctx.events

    @property
    def ledger(self) -> Ledger:
        return self._ctx.ledger

    @property
    def fee_schedule(self) -> FeeSchedule:
        return self._ctx.fees

    @property
    def now_ms(self) -> int:
        return self.clock.now_ms

    @property
    def tape(self) -> Tape:
        """Every trade of every market, for candles and 24-hour stats."""
        return self._ctx.tape

    def open_interest(self, market_id: str) -> Decimal:
        """The market's open interest: the sum of all long positions (= all short ones)."""
        spec = self.market(market_id)
        return sum(
            (
                p.size
                for u in self._ctx.accounts
                for (m, _), p in u.positions.items()
                if m == spec.id and p.size > 0
            ),
            ZERO,
        )

    def insurance_fund(self) -> tuple[Decimal, list[LedgerEntry]]:
        """The insurance fund's balance (the cash of its perps and options buckets; it may be
        negative, SPEC.md §8.5 [SIM]) and its entries, newest first (liquidation.py)."""
        fund = self._liquidation.fund()
        if fund is None:
            return ZERO, []
        cash = self.balances(fund.user_id)
        return cash.perps + cash.options, self.ledger_entries(fund.user_id)

    # -- users and money -----------------------------------------------------------------

    def register_user(self, wallet_address: str) -> User:
        """The user of this wallet, created on first sight (SIWE sign-in, DECISIONS.md)."""
        address = checksum_address(wallet_address)
        ctx = self._ctx
        user = ctx.accounts.by_address.get(address)
        if user is None:
            user = User(ctx.ids.ulid(), address, ctx.now)
            ctx.accounts.add(user)
            ctx.emit(UserRegistered, user.user_id, address)
        return user

    def user(self, user_id: str) -> User:
        return self._ctx.user(user_id)

    def has_user(self, user_id: str) -> bool:
        return user_id in self._ctx.accounts.by_id

    def find_user(self, wallet_address: str) -> User | None:
        return self._ctx.accounts.find_address(wallet_address)

    @property
    def users(self) -> list[User]:
        return list(self._ctx.accounts)

    def deposit(self, user_id: str, amount: Decimal, tx_hash: str | None = None) -> bool:
        """Credit USDC to the user's wallet bucket at once, as a confirmed on-chain deposit
        (funding for tests, scenarios and the control API). A txHash is credited once only:
        a repeat returns False and changes nothing."""
        user = self._ctx.user(user_id)
        return self._wallet.credit_deposit(user, usdc_amount(amount, "amount"), tx_hash) is not None

    def submit_deposit(
        self, wallet_address: str, amount: Decimal, tx_hash: str | None = None
    ) -> Settlement:
        """A deposit seen on chain from `wallet_address` (its user is created if new): a
        `pending` settlement, credited after 2 confirmations 2 s apart. A txHash seen before
        answers its existing record."""
        amount = usdc_amount(amount, "amount")
        user = self.register_user(wallet_address)
        return self._wallet.submit_deposit(user, amount, tx_hash)

    def withdraw(self, user_id: str, amount: Decimal) -> Settlement:
        """Debit the wallet bucket and queue the on-chain payout (400 INSUFFICIENT_BALANCE
        beyond the wallet bucket's balance)."""
        user = self._ctx.user(user_id)
        return self._wallet.withdraw(user, usdc_amount(amount, "amount"))

    def settlements(
        self,
        user_id: str,
        *,
        kind: SettlementKind | None = None,
        status: SettlementStatus | None = None,
        limit: int | None = None,
    ) -> list[Settlement]:
        """The user's deposits and withdrawals, newest first."""
        records = [
            s
            for s in self._wallet.of_user(self._ctx.user(user_id).user_id)
            if (kind is None or s.kind is kind) and (status is None or s.status is status)
        ]
        return records if limit is None else records[:limit]

    def settlement(self, user_id: str, settlement_id: str) -> Settlement:
        """One of the user's settlements; 404 NOT_FOUND for anyone else's."""
        record = self._wallet.settlements.get(settlement_id)
        if record is None or record.user_id != self._ctx.user(user_id).user_id:
            raise OcxError(ErrorCode.NOT_FOUND, f"Settlement {settlement_id!r} not found")
        return record

    def wallet_summary(self, user_id: str) -> WalletSummary:
        """`GET /wallet/balance`: buckets, deposits credited, withdrawals in flight."""
        balances = self.balances(user_id)
        uid = self._ctx.user(user_id).user_id
        return WalletSummary(
            balances=balances,
            onchain_deposit_total=self._wallet.deposited.get(uid, ZERO),
            pending_withdrawal_total=self._wallet.pending_withdrawals(uid),
        )

    def set_vault_liquidity(self, amount: Decimal | None) -> None:
        """The vault's USDC for withdrawals (None: unlimited, the default). A withdrawal the
        vault cannot pay waits `insufficient_liquidity`, retried by every keeper run; sending
        one spends its amount, and credited deposits add theirs. Logged (`VaultLiquiditySet`)."""
        self._wallet.set_liquidity(
            None if amount is None else usdc_amount(amount, "amount", zero_ok=True)
        )

    def vault_liquidity(self) -> Decimal | None:
        """The vault's USDC left for withdrawals; None when unlimited."""
        return self._wallet.vault_liquidity

    def fail_next_withdrawal(self) -> int:
        """Make the next withdrawal the keeper tries to send end `failed`, refunded to the
        wallet bucket (`withdraw_refund`). Each call arms one more (`WithdrawalFailureArmed`);
        answers how many are armed."""
        return self._wallet.arm_failure()

    def transfer(self, user_id: str, source: Bucket, target: Bucket, amount: Decimal) -> Balances:
        """Move USDC between two of the user's buckets, atomically (SPEC.md §10.1): amount
        positive, buckets distinct, and no more than the source can give (for a margin
        bucket, what its open positions and orders do not need)."""
        ctx = self._ctx
        user = ctx.user(user_id)
        if source is target:
            raise invalid("to", "must differ from `from`")
        amount = usdc_amount(amount, "amount")
        available = ctx.risk.withdrawable(user, source, ctx.now)
        if amount > available:
            raise OcxError(
                ErrorCode.INSUFFICIENT_BALANCE,
                f"Cannot move {amount} USDC from {source.value}: "
                f"{format_usdc(available)} available",
                {"bucket": source.value, "available": format_usdc(available)},
            )
        ctx.ledger.move(
            ctx.now,
            (user.user_id, source.value, USDC),
            (user.user_id, target.value, USDC),
            amount,
            EntryType.TRANSFER_OUT,
            EntryType.TRANSFER_IN,
        )
        ctx.emit(FundsTransferred, user.user_id, source.value, target.value, amount)
        return self.balances(user_id)

    # -- orders --------------------------------------------------------------------------

    def place_order(self, user_id: str, request: OrderRequest) -> Placement:
        placed = self._trading.place_order(user_id, request)
        self._after_orders(request.market_id)
        return placed

    def preview_order(self, user_id: str, request: OrderRequest) -> Preview:
        return preview_order(self._trading, user_id, request)

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
        placed = self._trading.close_position(
            user_id,
            market_id,
            quantity=quantity,
            margin_mode=margin_mode,
            order_type=order_type,
            price=price,
            time_in_force=time_in_force,
        )
        self._after_orders(market_id)
        return placed

    def outside_trade(
        self, market_id: str, side: Side, price: Decimal, quantity: Decimal
    ) -> Placement:
        """An outside trader's IOC limit order (the control API's `trade`): how a test forces a
        fill of resting orders. The trader is a house account funded without limit, so only
        the order's own terms (tick, step, band, halt) can refuse it."""
        spec = self.market(market_id)
        request = OrderRequest(spec.id, side, quantity, price=price, time_in_force=TimeInForce.IOC)
        # The order's own terms first: a refused trade must leave no house account behind.
        trading, now = self._trading, self.now_ms
        trading.price_ticket(spec, trading.validate(spec, request), now)
        trading.check_tradable(spec, now)
        house = self.register_user(HOUSE_ADDRESS)
        self._fund_house(house, spec, side, price, quantity)
        placed = trading.place_order(house.user_id, request)
        self._after_orders(spec.id)
        return placed

    def _fund_house(
        self, house: User, spec: MarketSpec, side: Side, price: Decimal, quantity: Decimal
    ) -> None:
        ctx = self._ctx
        if side is Side.SELL and spec.is_spot:
            held = ctx.ledger.balance((house.user_id, Bucket.SPOT.value, spec.base))
            if held < quantity:
                ctx.ledger.move(
                    ctx.now,
                    system_account(SystemBucket.EXTERNAL, spec.base),
                    (house.user_id, Bucket.SPOT.value, spec.base),
                    quantity - held,
                    EntryType.DEPOSIT,
                )
        bucket = Bucket(spec.bucket)
        balance = ctx.ledger.balance((house.user_id, bucket.value, USDC))
        needed = quantity * price * 2 + HOUSE_FLOAT
        if balance < needed:
            self.deposit(house.user_id, usdc(needed - balance))
            self.transfer(house.user_id, Bucket.WALLET, bucket, usdc(needed - balance))

    def _after_orders(self, market_id: str) -> None:
        """After orders on `market_id`: liquidate whom their fills left under maintenance, and
        start the price tick if the book now moves the mark."""
        self._liquidation.check_filled()
        self._lifecycle.wake_for(market_id)

    def cancel_order(
        self, user_id: str, order_id: str, *, venues: Collection[Venue] = ALL_VENUES
    ) -> Order:
        """Cancel one of the user's open orders (404 outside `venues`, as for any order the
        user does not own)."""
        cancelled = self._trading.cancel_order(
            user_id, self.order(user_id, order_id, venues=venues).id
        )
        # A book without the order may no longer be healthy: the mark's basis heads elsewhere.
        self._lifecycle.wake_for(cancelled.market_id)
        return cancelled

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
        if price is None and quantity is None:
            raise invalid("price", "give a new price, a new quantity, or both")
        order = self.order(user_id, order_id, venues=venues)
        placed = self._trading.modify_order(user_id, order.id, price, quantity)
        self._after_orders(order.market_id)
        return placed

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
        cancelled = self._trading.cancel_all(
            user_id,
            market_id=market_id,
            quote_id=quote_id,
            client_order_id=client_order_id,
            margin_mode=margin_mode,
            venues=venues,
        )
        self._lifecycle.wake()
        return cancelled

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
        result = self._quoting.place_quotes(
            user_id, market_id, quotes, quote_id=quote_id, cancel_all=cancel_all, labels=labels
        )
        self._after_orders(market_id)
        return result

    # -- markets and prices --------------------------------------------------------------

    def market(self, market_id: str) -> MarketSpec:
        return self._ctx.market(market_id)

    def linear_markets(self) -> list[MarketSpec]:
        """`/perps/markets`: spot, perps and unexpired futures, in listing order."""
        return self._ctx.catalog.linear(self.now_ms)

    def mark_price(self, market_id: str) -> Decimal | None:
        return self._ctx.prices.mark(self.market(market_id), self.now_ms)

    def index_price(self, market_id: str) -> Decimal | None:
        return self._ctx.prices.index(self.market(market_id).underlying)

    def price_band(self, market_id: str) -> tuple[Decimal, Decimal] | None:
        spec = self.market(market_id)
        band = self._ctx.prices.band(spec, self.now_ms)
        return None if band is None else (spec.price(band[0]), spec.price(band[1]))

    def set_index(self, market_id: str, price: Decimal | None) -> None:
        """Set the index of the market's underlying and hold it there, whatever the curve or
        a random walk do, until set again (None withdraws it: no mark, 503). An index is a
        reference, not a tradable price: it may fall between ticks."""
        ctx = self._ctx
        underlying = self.market(market_id).underlying
        price = _price_or_none(price)
        self._lifecycle.change_prices(
            partial(ctx.prices.set_index, underlying, price),
            partial(ctx.emit, IndexSet, underlying, price),
        )

    def set_curve(self, underlying: str, front: Decimal, following: Decimal) -> None:
        """Quote the underlying's reference futures curve, F1 and F2 (`index.py`): the index
        follows it from now on, rolling from F1 to F2 in the five days before F1's roll
        ends. Releases an index set by `set_index`."""
        ctx = self._ctx
        self._underlying(underlying)
        front, following = _price(front, "front"), _price(following, "following")
        self._lifecycle.change_prices(
            partial(ctx.prices.set_curve, underlying, front, following),
            partial(ctx.emit, CurveSet, underlying, front, following),
        )

    def set_volatility(self, underlying: str, volatility: Decimal) -> None:
        """Let the underlying's curve walk (a seeded geometric Brownian motion, one step a
        second) at this annualized volatility; 0 holds it still."""
        ctx = self._ctx
        self._underlying(underlying)
        if not (volatility.is_finite() and 0 <= volatility <= MAX_VOLATILITY):
            raise invalid("volatility", f"must be between 0 and {MAX_VOLATILITY}")
        self._lifecycle.change_prices(
            partial(ctx.prices.set_volatility, underlying, float(volatility)),
            partial(ctx.emit, VolatilitySet, underlying, volatility),
        )

    def _underlying(self, symbol: str) -> None:
        if symbol not in self._ctx.catalog.underlyings:
            raise invalid("underlying", f"unknown underlying {symbol!r}")

    def pin_mark(self, market_id: str, price: Decimal | None) -> None:
        """Pin the market's mark at `price`, on the market's tick (None releases it)."""
        ctx = self._ctx
        spec = self.market(market_id)
        if price is not None:
            spec.to_ticks(price)
        price = _price_or_none(price)
        self._lifecycle.change_prices(
            partial(ctx.prices.pin_mark, spec.id, price),
            partial(ctx.emit, MarkPinned, spec.id, price),
        )

    def add_liquidity(self, spec: LiquiditySpec) -> None:
        """Keep a house market maker's ladder around the market's mark (`liquidity.py`)."""
        market = self.market(spec.market_id)
        if spec.levels < 1:
            raise invalid("levels", "an agent quotes at least one level a side")
        if spec.refresh_ms < 1:
            raise invalid("refreshMs", "must be at least 1 ms")
        market.to_lots(spec.quantity)
        agent_user = self.find_user(LIQUIDITY_ADDRESS)
        if agent_user is None:
            agent_user = self.register_user(LIQUIDITY_ADDRESS)
            self.deposit(agent_user.user_id, 2 * AGENT_FUNDS)
            for bucket in (Bucket.PERPS, Bucket.OPTIONS):
                self.transfer(agent_user.user_id, Bucket.WALLET, bucket, AGENT_FUNDS)
        LiquidityAgent(self._ctx, self._quoting, agent_user, spec, self._after_orders).start()

    def start_sandbox(self) -> None:
        """Make the market live on its own (DECISIONS.md "Markets and prices", sandbox): each
        underlying's curve in contango at its carry and walking at its volatility, and a
        liquidity agent on every perpetual. All seeded: the same seed moves the same way."""
        ctx = self._ctx
        for symbol, underlying in ctx.catalog.underlyings.items():
            curve = ctx.prices.process.curves[symbol]
            front = ctx.prices.index(symbol) or underlying.index_price
            years = Decimal(curve.next_ms - curve.front_ms) / (365 * 86_400_000)
            following = (front * (1 + underlying.carry_apr * years)).quantize(Decimal("1e-8"))
            self.set_curve(symbol, front, following)
            self.set_volatility(symbol, SANDBOX_VOLATILITY.get(symbol, DEFAULT_VOLATILITY))
        for market in list(ctx.catalog):
            if market.type is MarketType.PERP:
                index = ctx.prices.index(market.underlying) or Decimal(1)
                lots = max(1, int(SANDBOX_QUOTE_USD / index / market.step))
                self.add_liquidity(LiquiditySpec(market.id, market.step * lots))

    def index_curve(self, underlying: str) -> Curve:
        """The underlying's reference curve (F1, F2, their expiries, pin and walk)."""
        self._underlying(underlying)
        return self._ctx.prices.process.curves[underlying]

    def funding_rate(self, market_id: str) -> Decimal | None:
        """A perpetual's funding rate for the running period so far (None for others)."""
        spec = self.market(market_id)
        if spec.type is not MarketType.PERP:
            return None
        return self._lifecycle.funding.current_rate(spec)

    @property
    def next_funding_at(self) -> int:
        return self._lifecycle.funding.next_at

    def set_next_funding_rate(self, market_id: str, rate: Decimal) -> None:
        """Make the perpetual's next funding settlement pay `rate` (within the ±25 bps cap, on
        8 decimals) instead of its time-weighted premium: a scenario's funding squeeze. That
        settlement only; the period after it is computed as usual (funding.py)."""
        spec = self.market(market_id)
        if spec.type is not MarketType.PERP:
            raise invalid("market", f"{spec.id} is not a perpetual: only perpetuals pay funding")
        self._lifecycle.funding.override_next(spec, rate)

    def halt(self, market_id: str) -> None:
        """New orders answer 409 MARKET_HALTED until `resume`; cancels still work."""
        spec = self.market(market_id)
        if spec.id not in self._ctx.halted:
            self._ctx.halted.add(spec.id)
            self._ctx.emit(MarketHalted, spec.id)

    def resume(self, market_id: str) -> None:
        spec = self.market(market_id)
        if spec.id in self._ctx.halted:
            self._ctx.halted.discard(spec.id)
            self._ctx.emit(MarketResumed, spec.id)

    def is_halted(self, market_id: str) -> bool:
        return market_id in self._ctx.halted

    def depth(self, market_id: str, levels: int | None = None) -> DepthSnapshot:
        spec = self.market(market_id)
        book = self._ctx.book(spec.id)
        bids, asks = book.depth(levels)
        return DepthSnapshot(
            spec.id,
            [(spec.price(t), spec.quantity(q)) for t, q in bids],
            [(spec.price(t), spec.quantity(q)) for t, q in asks],
            book.sequence,
            self.now_ms,
        )

    # -- account queries -----------------------------------------------------------------

    def order(
        self, user_id: str, order_id: str, *, venues: Collection[Venue] = ALL_VENUES
    ) -> Order:
        """One of the user's orders; 404 ORDER_NOT_FOUND for an unknown id, another user's
        order, or one trading outside `venues` (each order path sees only its own venues)."""
        order = self._ctx.users_order(self._ctx.user(user_id), order_id)
        if self._ctx.catalog.markets[order.market_id].venue not in venues:
            raise OcxError(ErrorCode.ORDER_NOT_FOUND, f"Order {order_id!r} not found")
        return order

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
        user = self._ctx.user(user_id)
        source = list(user.open_orders.values()) if open_only else user.orders
        markets = self._ctx.catalog.markets
        out: list[Order] = []
        for order in reversed(source):
            if limit is not None and len(out) >= limit:
                break
            if (
                (market_id is None or order.market_id == market_id)
                and (margin_mode is None or order.margin_mode is margin_mode)
                and markets[order.market_id].venue in venues
            ):
                out.append(order)
        return out

    def open_orders(
        self,
        user_id: str,
        *,
        market_id: str | None = None,
        venues: Collection[Venue] = ALL_VENUES,
    ) -> list[Order]:
        """The user's open orders, newest first."""
        return self.orders(user_id, market_id=market_id, venues=venues, open_only=True)

    def fills(
        self,
        user_id: str,
        *,
        market_id: str | None = None,
        venues: Collection[Venue] = ALL_VENUES,
        limit: int | None = None,
    ) -> list[Fill]:
        """The user's fills, newest first."""
        user = self._ctx.user(user_id)
        markets = self._ctx.catalog.markets
        out: list[Fill] = []
        for row in reversed(user.fills):
            if limit is not None and len(out) >= limit:
                break
            fill = Fill._make(row)
            if (market_id is None or fill.market_id == market_id) and markets[
                fill.market_id
            ].venue in venues:
                out.append(fill)
        return out

    def positions(self, user_id: str, venues: Collection[Venue] = ALL_VENUES) -> list[PositionView]:
        """Open (non-flat) positions in the order they were first opened."""
        user = self._ctx.user(user_id)
        markets = self._ctx.catalog.markets
        return [
            self._position_view(user, p.market_id, p.margin_mode)
            for p in user.positions.values()
            if p.size and markets[p.market_id].venue in venues
        ]

    def position(
        self, user_id: str, market_id: str, margin_mode: MarginMode = MarginMode.CROSS
    ) -> PositionView | None:
        """The position, or None when flat."""
        user = self._ctx.user(user_id)
        position = user.position(market_id, margin_mode)
        if position is None or not position.size:
            return None
        return self._position_view(user, market_id, margin_mode)

    def _position_view(self, user: User, market_id: str, margin_mode: MarginMode) -> PositionView:
        position = user.positions[(market_id, margin_mode)]
        spec = self._ctx.catalog.markets[market_id]
        risk, now = self._ctx.risk, self.now_ms
        mark = self._ctx.prices.mark(spec, now)
        unrealized = usdc(position.size * mark - position.cost) if mark is not None else ZERO
        leverage = None
        if mark is not None and spec.venue is Venue.PERPS:
            # The equity that backs the position: its own if isolated, else the cross part's
            # (DECISIONS.md "Risk": cross positions share the bucket's equity).
            if margin_mode is MarginMode.ISOLATED:
                equity = risk.isolated(spec, position, now).equity
            else:
                equity = risk.margin(user, spec.venue, now).cross_equity
            if equity > 0:
                leverage = (abs(position.size) * mark / equity).quantize(Decimal("0.01"))
        return PositionView(
            market_id=market_id,
            margin_mode=margin_mode,
            size=position.size,
            entry_price=position.entry_price,
            mark_price=mark,
            unrealized_pnl=unrealized,
            realized_pnl=position.realized_pnl,
            funding_payment=position.funding,
            leverage=leverage,
            liquidation_price=risk.liquidation_price(user, spec, position, now),
            margin=position.margin,
        )

    def balances(self, user_id: str) -> Balances:
        user = self._ctx.user(user_id)
        balance = self._ctx.ledger.balance
        uid = user.user_id
        return Balances(
            wallet=balance((uid, Bucket.WALLET.value, USDC)),
            perps=balance((uid, Bucket.PERPS.value, USDC)),
            options=balance((uid, Bucket.OPTIONS.value, USDC)),
            spot=balance((uid, Bucket.SPOT.value, USDC)),
        )

    def margin(self, user_id: str, venue: Venue = Venue.PERPS) -> MarginView:
        return self._ctx.risk.margin(self._ctx.user(user_id), venue, self.now_ms)

    def spot_assets(self, user_id: str) -> list[AssetBalance]:
        """The spot bucket per asset, USDC first, then assets in the order first held."""
        user = self._ctx.user(user_id)
        held = {
            asset: amount
            for (owner, bucket, asset), amount in self._ctx.ledger.balances.items()
            if owner == user.user_id and bucket == Bucket.SPOT.value
        }
        assets = [USDC] + [a for a in held if a != USDC]
        rows = []
        for asset in assets:
            locked = user.spot_locked.get(asset, ZERO)
            rows.append(
                AssetBalance(asset, Bucket.SPOT.value, held.get(asset, ZERO) - locked, locked)
            )
        return rows

    def ledger_entries(self, user_id: str, limit: int | None = None) -> list[LedgerEntry]:
        """The user's ledger entries, newest first."""
        entries = self._ctx.ledger.entries_of(self._ctx.user(user_id).user_id)
        entries.reverse()
        return entries if limit is None else entries[:limit]

    def realized_pnl(self, user_id: str, since_ms: int) -> Decimal:
        """The PnL realized by the user's fills after `since_ms` (`realized24h`)."""
        user = self._ctx.user(user_id)
        total = ZERO
        for row in reversed(user.fills):
            fill = Fill._make(row)
            if fill.created_at <= since_ms:
                break
            total += fill.realized_pnl
        return total

    def volume_30d(self, user_id: str) -> Decimal:
        return self._ctx.volume.volume(self._ctx.user(user_id).user_id, self.now_ms)

    # -- time ----------------------------------------------------------------------------

    def advance_to(self, ts_ms: int) -> list[Event]:
        """Move the simulated clock to `ts_ms`, firing every timer due on the way; returns the
        events that produced. Going backwards is 400 and changes nothing."""
        if not isinstance(self.clock, SimClock):
            raise OcxError(
                ErrorCode.VALIDATION_ERROR,
                "a realtime clock cannot be advanced by hand",
                {"field": "mode"},
            )
        before = self.events.last_seq
        try:
            self.clock.advance_to(ts_ms)
        except ClockError as refusal:
            raise OcxError(ErrorCode.VALIDATION_ERROR, str(refusal), {"field": "to"}) from refusal
        return self.events.since(before)

    def advance_by(self, ms: int) -> list[Event]:
        return self.advance_to(self.now_ms + ms)

    def events_of(self, event_type: type[EventT]) -> list[EventT]:
        """Every event of one type, oldest first."""
        return [e for e in self.events if isinstance(e, event_type)]

    def digest(self) -> str:
        """SHA-256 of the event log (events.py)."""
        return self.events.digest()

    # -- invariants ----------------------------------------------------------------------

    def check_invariants(self) -> list[str]:
        """Every broken invariant, described (empty when all hold); see `invariants.py`."""
        return check_invariants(self._ctx)


def _price_or_none(price: Decimal | None) -> Decimal | None:
    return None if price is None else _price(price, "price")


def _price(price: Decimal, field: str) -> Decimal:
    if not (price.is_finite() and 0 < price < MAX_PRICE):
        raise invalid(field, f"must be a positive decimal number below {MAX_PRICE}")
    return price
