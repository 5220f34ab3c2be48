"""Money is conserved whatever users do: a Hypothesis state machine over a whole `Exchange`.

Four users deposit, move USDC between their buckets, trade BTC-PERP and BTC-USDC-SPOT with
limit and market orders near the mark, modify and cancel, while the mark moves and the clock
runs. Refusals are allowed but must be catalog errors that change nothing. After every step
the ledger must balance, every movement must have its counter-entries, the exchange's own
invariant check must pass, and each user's money, inventory and position must equal what a
naive model computes from their deposits, transfers and fills.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal

from hypothesis import event, settings
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

from ocx_sim import Bucket, ErrorCode, Exchange, OcxError, OrderRequest, OrderType, Side
from ocx_sim.engine.core.ledger import (
    CLEARING,
    EXTERNAL,
    FEES,
    EntryType,
    SystemBucket,
    system_account,
)
from ocx_sim.engine.core.money import USDC
from ocx_sim.engine.core.orders import Order, TimeInForce
from ocx_sim.errors import CATALOG
from ocx_sim.testing.builders import credit_spot, limit
from tests.engine.naive_margin import naive_order_margin

D = Decimal
PERP = "BTC-PERP"
SPOT = "BTC-USDC-SPOT"
MARKETS = (PERP, SPOT)
USER_COUNT = 4
INDEX = D("68000.00")
BTC_EXTERNAL = system_account(SystemBucket.EXTERNAL, "BTC")
INSURANCE = system_account(SystemBucket.INSURANCE)
STARTING_DEPOSIT = D(30_000)
STARTING_BUCKETS = {Bucket.PERPS: D(12_000), Bucket.SPOT: D(8_000), Bucket.OPTIONS: D(1_000)}
STARTING_BTC = D("0.2")
SPOT_LOCK_FACTOR = D("1.0005")
"""A spot bid locks its cost plus the dearest taker fee (5 bps)."""

ORDER_REFUSALS = {
    ErrorCode.INSUFFICIENT_MARGIN,
    ErrorCode.INSUFFICIENT_BALANCE,
    ErrorCode.POST_ONLY_WOULD_TAKE,
    ErrorCode.NO_LIQUIDITY,
    ErrorCode.REDUCE_ONLY_WOULD_INCREASE,
}
TRANSFER_REFUSALS = {ErrorCode.VALIDATION_ERROR, ErrorCode.INSUFFICIENT_BALANCE}

sides = st.sampled_from(list(Side))
markets = st.sampled_from(MARKETS)
offsets_bps = st.integers(-100, 100)
"""Prices within ±1 % of the mark."""
lots = st.integers(1, 60)
"""Quantities in thousandths of a BTC."""
rarely = st.sampled_from([False, False, False, True])
transfer_amounts = st.one_of(
    st.sampled_from([D("0.25"), D("0.5"), D("1"), D("1.0001")]).map(lambda f: ("share", f)),
    st.integers(-(10**6), 10**10).map(lambda n: ("raw", D(n).scaleb(-6))),
    st.integers(1, 10**9).map(lambda n: ("raw", D(n).scaleb(-7))),
)


class MoneyMachine(RuleBasedStateMachine):
    users: Bundle[str] = Bundle("users")
    orders: Bundle[Order] = Bundle("orders")
    """Every order placed, open or closed: cancelling a closed one is a step too."""

    def __init__(self) -> None:
        super().__init__()
        self.exchange = Exchange.create(seed=11)
        self.user_ids = [
            self.exchange.register_user(f"0x{n:040x}").user_id for n in range(1, USER_COUNT + 1)
        ]
        self.deposited: dict[str, Decimal] = dict.fromkeys(self.user_ids, D(0))
        self.btc_seeded: dict[str, Decimal] = dict.fromkeys(self.user_ids, D(0))
        self.wallet: dict[str, Decimal] = dict.fromkeys(self.user_ids, D(0))
        self.tx_hashes: set[str] = set()
        # Start everyone funded so that most sequences trade; the rules add and move more.
        for user in self.user_ids:
            self.exchange.sim.deposit(user, STARTING_DEPOSIT)
            for bucket, amount in STARTING_BUCKETS.items():
                self.exchange.transfer(user, Bucket.WALLET, bucket, amount)
            self.deposited[user] = self.wallet[user] = STARTING_DEPOSIT
            self.wallet[user] -= sum(STARTING_BUCKETS.values(), D(0))
            self.credit_btc(user, STARTING_BTC)
        # ... and with a two-sided book on both markets, so that market orders find liquidity.
        self.opening_quotes: list[Order] = []
        for n, market_id in enumerate(MARKETS):
            bidder, asker = self.user_ids[2 * n], self.user_ids[2 * n + 1]
            for user, request in (
                (bidder, limit(market_id, "buy", "0.05", "67660.00")),
                (asker, limit(market_id, "sell", "0.05", "68340.00")),
            ):
                self.opening_quotes.append(self.exchange.place_order(user, request).order)

    # -- helpers ---------------------------------------------------------------------------

    def snapshot(self) -> tuple[object, ...]:
        ex = self.exchange
        orders = tuple(
            (o.id, o.status, o.remaining, o.ticks, o.lots, o.held_lots, o.lock)
            for u in self.user_ids
            for o in ex.user(u).orders.values()
        )
        # The margin as read (the perps figure is worked out lazily from the ladders).
        held = tuple(
            (ex.margin(u).order_margin, dict(ex.user(u).spot_locked)) for u in self.user_ids
        )
        return (
            len(ex.ledger.entries),
            dict(ex.ledger.balances),
            len(ex.events),
            orders,
            held,
            tuple((p.market_id, p.size) for u in self.user_ids for p in ex.positions(u)),
        )

    def expect_refusal(self, refusal: OcxError, allowed: set[ErrorCode], before: object) -> None:
        assert refusal.code in allowed, repr(refusal)
        assert refusal.status == CATALOG[refusal.code].status
        assert self.snapshot() == before, f"{refusal!r} changed state"

    def credit_btc(self, user: str, quantity: Decimal) -> None:
        """Spot sellers need inventory and deposits are USDC only: credit BTC into the spot
        bucket as one more double-entry movement from the outside world."""
        credit_spot(self.exchange, user, "BTC", quantity)
        self.btc_seeded[user] += quantity

    def price_near_mark(self, market_id: str, offset_bps: int) -> Decimal:
        mark = self.exchange.mark_price(market_id)
        assert mark is not None
        tick = self.exchange.market(market_id).tick
        raw = mark * (1 + D(offset_bps) / 10_000)
        return tick * (raw / tick).to_integral_value(ROUND_HALF_EVEN)

    def place(self, user: str, request: OrderRequest) -> MultipleResults[Order]:
        """Place the order; the order for the `orders` bundle, nothing when refused."""
        before = self.snapshot()
        increasing = self.increasing_part(user, request)
        closable = self.closable(user, request.side)
        try:
            placed = self.exchange.place_order(user, request)
        except OcxError as refusal:
            event(f"{request.market_id} {request.type} refused {refusal.code}")
            self.expect_refusal(refusal, ORDER_REFUSALS, before)
            if refusal.code is ErrorCode.INSUFFICIENT_MARGIN:
                # Only a part that would increase the position can be short of margin.
                assert increasing > 0, (request, increasing)
            if refusal.code is ErrorCode.REDUCE_ONLY_WOULD_INCREASE:
                assert request.reduce_only and not closable
            return multiple()
        if request.market_id == PERP and not increasing:
            event("a perpetual order that only closes was accepted")
        if request.reduce_only:
            # Trimmed to the position it closes, never refused while there is one.
            assert placed.order.quantity == min(request.quantity, closable)
            event(f"reduce-only {'trimmed' if request.quantity > closable else 'whole'}")
        event(f"{request.market_id} {request.type} {'filled' if placed.fills else 'no fill'}")
        return multiple(placed.order)

    def closable(self, user: str, side: Side) -> Decimal:
        """How much of the user's BTC-PERP position an order on `side` would close."""
        held = self.exchange.position(user, PERP)
        position = held.size if held is not None else D(0)
        return abs(position) if position and (position > 0) is (side is Side.SELL) else D(0)

    def increasing_part(self, user: str, request: OrderRequest) -> Decimal:
        """What of a BTC-PERP order would increase the position once the user's resting orders
        on its side have closed their share of it (the whole quantity on spot)."""
        if request.market_id != PERP:
            return request.quantity
        if request.reduce_only:
            return D(0)
        held = self.exchange.position(user, PERP)
        position = held.size if held is not None else D(0)
        if not position or (position > 0) is (request.side is Side.BUY):
            return request.quantity
        resting = sum(
            (
                self.exchange.market(PERP).quantity(o.remaining)
                for o in self.exchange.open_orders(user)
                if o.market_id == PERP
                and o.side is request.side
                and not o.reduce_only
                and o.level is not None
            ),
            D(0),
        )
        closes = max(D(0), abs(position) - resting)
        return request.quantity - min(request.quantity, closes)

    # -- rules -----------------------------------------------------------------------------

    @initialize(target=users)
    def the_users(self) -> MultipleResults[str]:
        """The users `__init__` funded (there, so that the model's totals start with them)."""
        return multiple(*self.user_ids)

    @initialize(target=orders)
    def the_opening_quotes(self) -> MultipleResults[Order]:
        return multiple(*self.opening_quotes)

    @rule(
        user=users,
        cents=st.integers(1, 2_000_000),
        tx=st.none() | st.sampled_from(["0x01", "0x02", "0x03", "0x04"]),
    )
    def deposit(self, user: str, cents: int, tx: str | None) -> None:
        amount = D(cents) / 100
        credited = self.exchange.sim.deposit(user, amount, tx_hash=tx)
        assert credited is (tx is None or tx not in self.tx_hashes)
        if tx is not None:
            self.tx_hashes.add(tx)
        if credited:
            self.deposited[user] += amount
            self.wallet[user] += amount

    @rule(user=users, millibtc=lots)
    def seed_spot_btc(self, user: str, millibtc: int) -> None:
        self.credit_btc(user, D(millibtc) / 1000)

    @rule(
        user=users,
        source=st.sampled_from(list(Bucket)),
        destination=st.sampled_from(list(Bucket)),
        amount=transfer_amounts,
    )
    def transfer(
        self, user: str, source: Bucket, destination: Bucket, amount: tuple[str, Decimal]
    ) -> None:
        kind, value = amount
        if kind == "share":
            held = getattr(self.exchange.balances(user), source.value)
            value = (held * value).quantize(D("0.000001"), ROUND_HALF_EVEN)
        before = self.snapshot()
        try:
            self.exchange.transfer(user, source, destination, value)
        except OcxError as refusal:
            self.expect_refusal(refusal, TRANSFER_REFUSALS, before)
            return
        if source is Bucket.WALLET:
            self.wallet[user] -= value
        if destination is Bucket.WALLET:
            self.wallet[user] += value

    @rule(
        target=orders,
        user=users,
        market_id=markets,
        side=sides,
        millibtc=lots,
        offset=offsets_bps,
        tif=st.sampled_from(list(TimeInForce)),
        post_only=rarely,
        reduce_only=rarely,
    )
    def place_limit(
        self,
        user: str,
        market_id: str,
        side: Side,
        millibtc: int,
        offset: int,
        tif: TimeInForce,
        post_only: bool,
        reduce_only: bool,
    ) -> MultipleResults[Order]:
        request = OrderRequest(
            market_id,
            side,
            D(millibtc) / 1000,
            price=self.price_near_mark(market_id, offset),
            time_in_force=tif,
            post_only=post_only,
            reduce_only=reduce_only and market_id == PERP,
        )
        return self.place(user, request)

    @rule(target=orders, user=users, market_id=markets, side=sides, millibtc=lots)
    def place_market(
        self, user: str, market_id: str, side: Side, millibtc: int
    ) -> MultipleResults[Order]:
        request = OrderRequest(market_id, side, D(millibtc) / 1000, type=OrderType.MARKET)
        return self.place(user, request)

    @rule(user=users)
    def cancel_unknown(self, user: str) -> None:
        before = self.snapshot()
        try:
            self.exchange.cancel_order(user, "01J0000000000000000000NONE")
        except OcxError as refusal:
            assert refusal.code is ErrorCode.ORDER_NOT_FOUND
            self.expect_refusal(refusal, {ErrorCode.ORDER_NOT_FOUND}, before)
            return
        raise AssertionError("cancelling an unknown order succeeded")

    @rule(order=orders)
    def cancel(self, order: Order) -> None:
        """Cancel an order: an open one closes, a closed one is refused and nothing changes.
        The order stays in `orders` when it closes, since cancelling it again is a step too."""
        user = order.owner
        before = self.snapshot()
        try:
            cancelled = self.exchange.cancel_order(user, order.id)
        except OcxError as refusal:
            assert not order.is_open
            self.expect_refusal(refusal, {ErrorCode.ORDER_NOT_OPEN}, before)
            return
        assert cancelled.id == order.id
        assert not cancelled.is_open
        assert order.id not in {o.id for o in self.exchange.open_orders(user)}

    @precondition(lambda self: any(self.exchange.open_orders(u) for u in self.user_ids))
    @rule(order=orders.filter(lambda o: o.is_open), offset=offsets_bps, millibtc=lots)
    def modify(self, order: Order, offset: int, millibtc: int) -> None:
        before = self.snapshot()
        try:
            self.exchange.modify_order(
                order.owner,
                order.id,
                price=self.price_near_mark(order.market_id, offset),
                quantity=D(millibtc) / 1000,
            )
        except OcxError as refusal:
            # A new total at or under the filled quantity is bad input.
            self.expect_refusal(refusal, ORDER_REFUSALS | {ErrorCode.VALIDATION_ERROR}, before)

    @rule(offset=offsets_bps)
    def move_perp_mark(self, offset: int) -> None:
        self.exchange.sim.pin_mark(PERP, INDEX * (1 + D(offset) / 10_000))

    @rule(ms=st.integers(1, 86_400_000))
    def advance_clock(self, ms: int) -> None:
        self.exchange.advance_by(ms)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def ledger_sums_to_zero_in_every_asset(self) -> None:
        totals = self.exchange.ledger.totals()
        assert all(total == 0 for total in totals.values()), totals

    @invariant()
    def exchange_invariants_hold(self) -> None:
        assert self.exchange.check_invariants() == []

    @invariant()
    def every_entry_has_its_counter_entry(self) -> None:
        movements: dict[int, list[Decimal]] = defaultdict(list)
        sums: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for entry in self.exchange.ledger.entries:
            assert entry.amount != 0
            movements[entry.movement].append(entry.amount)
            sums[(entry.movement, entry.asset)] += entry.amount
        assert sorted(movements) == list(range(1, len(movements) + 1))
        # Two entries for a transfer; a trade's fees are one movement of three (both sides
        # and the fee account), its realized PnL one of up to three (both sides and clearing).
        assert all(len(amounts) >= 2 for amounts in movements.values())
        assert all(total == 0 for total in sums.values())

    @invariant()
    def usdc_and_btc_are_conserved(self) -> None:
        ledger = self.exchange.ledger
        held = sum(
            (
                amount
                for (owner, _, asset), amount in ledger.balances.items()
                if owner in self.deposited and asset == USDC
            ),
            D(0),
        )
        deposited = sum(self.deposited.values(), D(0))
        assert held + ledger.balance(FEES) + ledger.balance(CLEARING) == deposited
        assert ledger.balance(EXTERNAL) == -deposited
        assert ledger.balance(INSURANCE) == 0
        btc_held = sum(ledger.balance((u, Bucket.SPOT.value, "BTC")) for u in self.user_ids)
        assert btc_held == sum(self.btc_seeded.values(), D(0)) == -ledger.balance(BTC_EXTERNAL)

    @invariant()
    def each_user_matches_the_naive_model(self) -> None:
        ex = self.exchange
        net_position = D(0)
        for user in self.user_ids:
            usdc = self.deposited[user]
            btc = self.btc_seeded[user]
            position = D(0)
            for fill in ex.fills(user):
                usdc -= fill.fee
                signed = fill.quantity if fill.side == Side.BUY else -fill.quantity
                if fill.market_id == SPOT:
                    usdc -= signed * fill.price
                    btc += signed
                else:
                    usdc += fill.realized_pnl
                    position += signed
            # A pinned mark off the index is a premium: positions pay or earn funding.
            usdc += sum(
                (e.amount for e in ex.ledger_entries(user) if e.type == EntryType.FUNDING), D(0)
            )
            balances = ex.balances(user)
            assert balances.wallet == self.wallet[user]
            assert balances.wallet + balances.perps + balances.options + balances.spot == usdc
            assert ex.ledger.balance((user, Bucket.SPOT.value, "BTC")) == btc
            held = ex.position(user, PERP)
            assert (held.size if held is not None else 0) == position
            net_position += position
        assert net_position == 0

    @invariant()
    def resting_orders_hold_what_their_remainder_needs(self) -> None:
        """Spot orders lock what they could spend; perpetual orders hold margin on what would
        increase the position (naive_margin.py)."""
        ex = self.exchange
        for user in self.user_ids:
            usdc_lock, btc_lock = D(0), D(0)
            for order in ex.open_orders(user):
                if order.market_id != SPOT:
                    continue
                assert order.price is not None
                remaining = ex.market(SPOT).quantity(order.remaining)
                if order.side is Side.BUY:
                    cost = remaining * order.price * SPOT_LOCK_FACTOR
                    usdc_lock += cost.quantize(D("0.000001"), ROUND_UP)
                else:
                    btc_lock += remaining
            account = ex.user(user)
            assert account.spot_locked.get(USDC, D(0)) == usdc_lock
            assert account.spot_locked.get("BTC", D(0)) == btc_lock
            margin = naive_order_margin(ex, user, PERP)
            assert ex.margin(user).order_margin == margin.quantize(D("0.000001"))

    @invariant()
    def books_are_uncrossed(self) -> None:
        for market_id in MARKETS:
            depth = self.exchange.depth(market_id)
            if depth.bids and depth.asks:
                assert depth.bids[0][0] < depth.asks[0][0]


TestMoneyStateMachine = MoneyMachine.TestCase
# 30 rule steps after the two `initialize` steps.
TestMoneyStateMachine.settings = settings(stateful_step_count=32)
