"""Margin, first version: per-venue buckets, initial and maintenance margin, order approval.

docs/fidelity.md "Fees and risk" and "Margin and liquidation":
- margin is kept per venue bucket: `perps` for perpetuals and futures, `options` for options;
  spot pays in full from the `spot` bucket, with resting orders locking what they could spend;
- linear initial margin = position notional at the mark / maxLeverage, plus the open-order
  margin: the part of the resting orders' remaining quantity that would increase the position
  × limit price / maxLeverage, fees excluded (core/order_margin.py);
- maintenance margin = 2/3 of the positions' initial margin;
- equity = bucket balance + unrealized PnL; marginUsage = initial margin / equity (0 when
  nothing is held);
- an order is approved when the margin of its increasing part is at most the available margin,
  else 422 INSUFFICIENT_MARGIN with `requiredIm` and `availableIm`.

Cross positions share the bucket's equity; an isolated position holds its own margin, allocated
at open (`Position.margin`). So a bucket has a cross part, equity = balance − allocations +
cross unrealized PnL against maintenance = 2/3 of the cross positions' IM, and each isolated
position on its own, equity = allocation + its unrealized PnL against 2/3 of its IM at the
mark; liquidation.py acts on either falling below.

Our choices where the docs are silent (docs/fidelity.md): available margin is min(cross equity,
balance − allocations) − cross initial margin − order margin, so unrealized profit does not back new
exposure or transfers out until it is realized; an order must fit its margin plus its worst-case fee
on that part, so fees never overdraw the bucket; reduce-only orders hold no margin, since they can
only shrink a position.

The options bucket (core/options_risk.py, core/span.py) is margined as a portfolio: its initial
margin is the worst of sixteen price and volatility scenarios per underlying, its order margin what
the resting sells add to that plus the resting bids' premium; equity = balance + the positions'
value at the mark, and available = equity − initial margin − order margin, without the cap at the
cash balance: a long's value must back its own scenario loss, else a long would need more than its
premium. Cash still bounds what leaves: transfers out take at most the balance less the resting
bids' premium, and a bid must fit that cash too (`approve_options`), since premiums are paid in
cash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from ocx_sim.engine.core.accounts import Bucket, Position, User
from ocx_sim.engine.core.ledger import Ledger
from ocx_sim.engine.core.markets import Catalog, MarketSpec, Venue
from ocx_sim.engine.core.money import USDC, ZERO, format_usdc, usdc
from ocx_sim.engine.core.options_risk import OptionNeed, OptionsRisk
from ocx_sim.engine.core.orders import MarginMode, Order, Side
from ocx_sim.engine.core.pricing import Prices
from ocx_sim.errors import ErrorCode, OcxError

MAINTENANCE_FRACTION = Decimal(2) / Decimal(3)
_OPTIONS = Venue.OPTIONS.value
_PERPS = Venue.PERPS.value
_ISOLATED = MarginMode.ISOLATED
_BUY = Side.BUY


@dataclass(frozen=True, slots=True)
class MarginView:
    """One venue bucket's margin state (the `/perps/balances` figures).

    The bucket's totals (`equity`, `unrealized_pnl`, `initial_margin`, `maintenance_margin`)
    count every position; the cross part (`cross_equity`, `cross_maintenance`, `available`)
    leaves out isolated positions and their allocations, which answer for themselves."""

    venue: Venue
    balance: Decimal
    unrealized_pnl: Decimal
    """Of every position, cross and isolated."""
    equity: Decimal
    """Balance + every position's unrealized PnL (options: + their value at the mark)."""
    position_margin: Decimal
    """Initial margin of the cross positions at the mark."""
    isolated_margin: Decimal
    """The isolated positions' allocations."""
    order_margin: Decimal
    maintenance_margin: Decimal
    """2/3 of the cross positions' initial margin plus each isolated position's own."""
    available: Decimal
    """What new orders and transfers out may use: the cross equity, but never more than the
    cash balance (unrealized profit is not collateral until realized), less allocations,
    cross initial margin and order margin; on options the equity itself (module docstring)."""
    cross_equity: Decimal
    """Balance − allocations + the cross positions' unrealized PnL: what backs cross positions."""
    cross_maintenance: Decimal

    @property
    def initial_margin(self) -> Decimal:
        return self.position_margin + self.isolated_margin + self.order_margin

    @property
    def usage(self) -> Decimal:
        im = self.initial_margin
        if not im:
            return ZERO
        if self.equity <= 0:
            return Decimal(1)
        return im / self.equity


class Held(NamedTuple):
    """A bucket's position figures, not yet quantized (`Risk.held`)."""

    unrealized: Decimal
    """Cross positions' unrealized PnL."""
    value: Decimal
    """Cross positions' value at the mark (options equity adds it instead of the PnL)."""
    initial: Decimal
    """Cross positions' initial margin at the mark."""
    allocated: Decimal
    """Isolated positions' allocations."""
    isolated_unrealized: Decimal
    isolated_maintenance: Decimal


class IsolatedRisk(NamedTuple):
    """One isolated position's own figures: equity = allocation + unrealized PnL, maintenance
    = 2/3 of its initial margin at the mark (not quantized)."""

    mark: Decimal
    equity: Decimal
    maintenance: Decimal


class Risk:
    def __init__(self, catalog: Catalog, prices: Prices, ledger: Ledger) -> None:
        self._catalog = catalog
        self._prices = prices
        self._ledger = ledger
        # The positions' part of a bucket's figures, read for every order, changes only when
        # the positions, the marks' inputs or the instant do: cached on all three.
        self._held: dict[tuple[str, str], tuple[int, int, int, Held]] = {}
        self.options = OptionsRisk(catalog, prices)
        """The options bucket's scenario margin (core/options_risk.py)."""

    # -- margin of what is held ------------------------------------------------------------

    def margin(self, user: User, venue: Venue, now_ms: int) -> MarginView:
        bucket = venue.value
        balance = self._ledger.balances.get((user.user_id, bucket, USDC), ZERO)
        held = self.held(user, bucket, now_ms)
        orders = self.open_order_margin(user, bucket, now_ms)
        cross_equity = self._cross_equity(bucket, balance, held)
        cross_maintenance = held.initial * MAINTENANCE_FRACTION
        return MarginView(
            venue=venue,
            balance=balance,
            unrealized_pnl=usdc(held.unrealized + held.isolated_unrealized),
            equity=usdc(cross_equity + held.allocated + held.isolated_unrealized),
            position_margin=usdc(held.initial),
            isolated_margin=held.allocated,
            order_margin=usdc(orders),
            maintenance_margin=usdc(cross_maintenance + held.isolated_maintenance),
            available=usdc(self._available(bucket, balance, cross_equity, held, orders)),
            cross_equity=usdc(cross_equity),
            cross_maintenance=usdc(cross_maintenance),
        )

    def available(self, user: User, bucket: str, now_ms: int) -> Decimal:
        """`margin(...).available` of a venue bucket (`MarketSpec.bucket`), without building
        the view: it is read on every order."""
        balance = self._ledger.balances.get((user.user_id, bucket, USDC), ZERO)
        held = self.held(user, bucket, now_ms)
        # `open_order_margin`, written out: it is read on every order.
        if bucket == _OPTIONS:
            orders = self.options.figures(user, now_ms).order_margin
        else:
            stale = user.ladders_stale or user.ladders_epoch != user.position_epoch
            if bucket == _PERPS and stale:
                self._refresh_ladders(user)
            orders = user.order_margin.get(bucket, ZERO)
        cross_equity = self._cross_equity(bucket, balance, held)
        return usdc(self._available(bucket, balance, cross_equity, held, orders))

    def cross_shortfall(self, user: User, bucket: str, now_ms: int) -> bool:
        """Whether the bucket's cross part is liquidatable: maintenance > 0 and equity below
        it (docs/fidelity.md "Margin and liquidation"), on unquantized figures so that the
        liquidation price, where they are equal, is exactly the boundary."""
        slack = self.cross_slack(user, bucket, now_ms)
        return slack is not None and slack < 0

    def cross_slack(self, user: User, bucket: str, now_ms: int) -> Decimal | None:
        """The bucket's cross equity − cross maintenance, unquantized; None when it holds no
        cross position (nothing to maintain)."""
        held = self.held(user, bucket, now_ms)
        if not held.initial:
            return None
        balance = self._ledger.balances.get((user.user_id, bucket, USDC), ZERO)
        return self._cross_equity(bucket, balance, held) - held.initial * MAINTENANCE_FRACTION

    @staticmethod
    def _cross_equity(bucket: str, balance: Decimal, held: Held) -> Decimal:
        # Linear positions settle PnL only when they close, so equity adds the unrealized PnL;
        # option premiums are paid in cash, so equity adds the positions' whole value.
        if bucket == _OPTIONS:
            return balance + held.value
        return balance - held.allocated + held.unrealized

    @staticmethod
    def _available(
        bucket: str, balance: Decimal, cross_equity: Decimal, held: Held, orders: Decimal
    ) -> Decimal:
        if bucket == _OPTIONS:
            # The equity itself: a long's value backs its own scenario loss (module docstring).
            return cross_equity - held.initial - orders
        # min(equity, balance) over the cross part: the allocations are the isolated
        # positions', so they come off the cash too.
        return min(cross_equity, balance - held.allocated) - held.initial - orders

    def held(self, user: User, bucket: str, now_ms: int) -> Held:
        """The bucket's position figures, cached per instant, mark inputs and positions.
        Buckets are plain strings here: enum `.value` is slow on this hot path."""
        key = (user.user_id, bucket)
        cached = self._held.get(key)
        version = self._prices.version
        if (
            cached is not None
            and cached[0] == now_ms
            and cached[1] == version
            and cached[2] == user.position_epoch
        ):
            return cached[3]
        held = self._positions(user, bucket, now_ms)
        self._held[key] = (now_ms, version, user.position_epoch, held)
        return held

    def mark_or_entry(self, spec: MarketSpec, position: Position, now_ms: int) -> Decimal:
        """The mark, or without a reference price the position's entry (no PnL) rather than an
        invented price; order entry on the market is refused meanwhile."""
        mark = self._prices.mark(spec, now_ms)
        return position.entry_price if mark is None else mark

    def _positions(self, user: User, bucket: str, now_ms: int) -> Held:
        unrealized = value = position_im = ZERO
        allocated = isolated_unrealized = isolated_maintenance = ZERO
        for position in user.positions.values():
            if not position.size:
                continue
            spec = self._catalog.markets[position.market_id]
            if spec.bucket != bucket:
                continue
            mark = self._prices.mark(spec, now_ms)  # `mark_or_entry`, written out
            if mark is None:
                mark = position.entry_price
            worth = position.size * mark
            if spec.is_option:
                # The positions' scenario margin is the whole portfolio's, added below.
                unrealized += worth - position.cost
                value += worth
                continue
            im = abs(position.size) * mark / spec.max_leverage
            if position.margin_mode is _ISOLATED:
                allocated += position.margin
                isolated_unrealized += worth - position.cost
                isolated_maintenance += im * MAINTENANCE_FRACTION
                continue
            unrealized += worth - position.cost
            value += worth
            position_im += im
        if bucket == _OPTIONS:
            position_im = self.options.figures(user, now_ms).position_margin
        return Held(
            unrealized, value, position_im, allocated, isolated_unrealized, isolated_maintenance
        )

    def isolated(self, spec: MarketSpec, position: Position, now_ms: int) -> IsolatedRisk:
        """An isolated position's own equity and maintenance at the mark."""
        mark = self.mark_or_entry(spec, position, now_ms)
        equity = position.margin + position.size * mark - position.cost
        maintenance = abs(position.size) * mark / spec.max_leverage * MAINTENANCE_FRACTION
        return IsolatedRisk(mark, equity, maintenance)

    # -- liquidation prices ----------------------------------------------------------------

    def liquidation_price(
        self, user: User, spec: MarketSpec, position: Position, now_ms: int
    ) -> Decimal | None:
        """The mark of `spec` at which the position's margin (its cross bucket's, or its own
        if isolated) has equity = maintenance, every other mark held; None for options (their
        value is not linear in the mark) and when there is no positive solution.

        Linear in the mark P: cross equity moves by size × ΔP and maintenance by
        k × |size| × ΔP (k = 2/3 / maxLeverage), so ΔP = (MM − E) / (size − k|size|); an
        isolated position solves allocation + size × P − cost = k × |size| × P."""
        if spec.is_option or not position.size:
            return None
        size = position.size
        k = MAINTENANCE_FRACTION / spec.max_leverage
        slope = size - k * abs(size)
        if position.margin_mode is _ISOLATED:
            price = (position.cost - position.margin) / slope
        else:
            held = self.held(user, spec.bucket, now_ms)
            balance = self._ledger.balances.get((user.user_id, spec.bucket, USDC), ZERO)
            equity = self._cross_equity(spec.bucket, balance, held)
            mark = self.mark_or_entry(spec, position, now_ms)
            price = mark + (held.initial * MAINTENANCE_FRACTION - equity) / slope
        # On the tick, rounded toward safety (a long's up, a short's down): at the price shown
        # the position still stands, one tick further it is liquidated.
        ticks = spec.ticks_ceil(price) if size > 0 else spec.ticks_floor(price)
        return spec.price(ticks) if ticks > 0 else None

    # -- orders ----------------------------------------------------------------------------

    def order_margin(
        self, spec: MarketSpec, side: Side, quantity: Decimal, price: Decimal, reduce_only: bool
    ) -> Decimal:
        """The margin `quantity` at `price` (a limit, or the mark for a market order) of a
        linear order holds, the quantity being its increasing part (`increasing_lots`). Zero
        on spot (locks instead) and for reduce-only orders; options are margined as a
        portfolio (`options`, `approve_options`)."""
        assert not spec.is_option
        if reduce_only or spec.is_spot:
            return ZERO
        return quantity * price / spec.max_leverage

    def increasing_lots(
        self,
        user: User,
        spec: MarketSpec,
        side: Side,
        margin_mode: MarginMode,
        lots: int,
        without: Iterable[Order] = (),
    ) -> int:
        """The lots of a new linear order on `side` that would increase the position, once
        the user's resting orders on that side have absorbed their share of it
        (core/order_margin.py)."""
        capacity = self.capacity(user, spec, side, margin_mode, without)
        return lots - capacity if lots > capacity else 0

    @staticmethod
    def capacity(
        user: User,
        spec: MarketSpec,
        side: Side,
        margin_mode: MarginMode,
        without: Iterable[Order] = (),
    ) -> int:
        """How many lots of new orders on `side` the position still absorbs once the user's
        resting orders on that side, but those `without` (the order a modify changes, the
        quotes a set replaces), have taken their share: none when `side` would open or add
        to the position."""
        key = (spec.id, margin_mode)
        position = user.positions.get(key)
        if position is None:
            return 0
        size = position.size
        is_buy = side is _BUY
        if not size or (size > 0) is is_buy:
            return 0
        ladder = user.ladders.get(key)
        resting = 0 if ladder is None else ladder.bid_lots if is_buy else ladder.ask_lots
        for order in without:
            if order.side is side:
                resting -= order.held_lots
        left = int((-size if is_buy else size) / spec.step) - resting
        return left if left > 0 else 0

    @staticmethod
    def position_lots(user: User, spec: MarketSpec, margin_mode: MarginMode) -> int:
        """The signed size of the user's position, in whole lots (a position is a sum of
        fills, each whole lots)."""
        position = user.positions.get((spec.id, margin_mode))
        if position is None or not position.size:
            return 0
        return int(position.size / spec.step)

    def open_order_margin(self, user: User, bucket: str, now_ms: int) -> Decimal:
        """What the user's resting orders hold in `bucket`, the perps ladders brought up to
        date first: a ladder is worked out again only when it changed or its position did;
        the options bucket's from its scenarios (core/options_risk.py)."""
        if bucket == _OPTIONS:
            return self.options.figures(user, now_ms).order_margin
        if bucket == _PERPS and (user.ladders_stale or user.ladders_epoch != user.position_epoch):
            self._refresh_ladders(user)
        return user.order_margin.get(bucket, ZERO)

    def _refresh_ladders(self, user: User) -> None:
        total = ZERO
        positions = user.positions
        for key, ladder in user.ladders.items():
            position = positions.get(key)
            size = position.size if position is not None else ZERO
            # A position's size is a new object whenever it changes: identity is enough.
            if size is not ladder.size:
                ladder.size = size
                ladder.position_lots = int(size / ladder.step) if size else 0
                ladder.dirty = True
            if ladder.dirty:
                ladder.held = ladder.margin_at(ladder.position_lots)
                ladder.dirty = False
            total += ladder.held
        user.order_margin[_PERPS] = total
        user.ladders_stale = False
        user.ladders_epoch = user.position_epoch

    def approve(
        self, user: User, spec: MarketSpec, required: Decimal, now_ms: int, fee: Decimal = ZERO
    ) -> None:
        """422 INSUFFICIENT_MARGIN unless the margin `required` plus the order's worst-case
        `fee` fit in the venue's available margin (so paying the fee can never overdraw the
        bucket)."""
        required += max(fee, ZERO)
        if required <= 0:
            return
        bucket = spec.bucket
        if bucket == _PERPS:
            # First against the most the resting orders could hold (as if no position absorbed
            # any): no ladder is worked out, and it settles nearly every order. Correctly
            # rounded arithmetic is monotonic, so this available is never above the exact one.
            balance = self._ledger.balances.get((user.user_id, bucket, USDC), ZERO)
            held = self.held(user, bucket, now_ms)
            ceiling = ZERO
            for ladder in user.ladders.values():
                ceiling += ladder.unit * (ladder.bid_notional + ladder.ask_notional)
            cross_equity = self._cross_equity(bucket, balance, held)
            if required <= usdc(self._available(bucket, balance, cross_equity, held, ceiling)):
                return
        available = self.available(user, bucket, now_ms)
        if required > available:
            raise _insufficient(required, available, f"in the {bucket} bucket")

    # -- options ---------------------------------------------------------------------------

    def approve_options(
        self,
        user: User,
        spec: MarketSpec,
        need: OptionNeed,
        fee: Decimal,
        now_ms: int,
        closes: bool = False,
    ) -> None:
        """422 INSUFFICIENT_MARGIN unless an option order (a modify, a quote set) fits: the
        growth of the order margin plus its worst-case fee within the available margin (one
        that only closes needs none), and the growth of the resting bids' premium plus the fee
        within `option_cash`: premiums are paid in cash, which never goes below zero for them."""
        if not closes:
            self.approve(user, spec, need.margin, now_ms, fee)
        if need.bids > 0:
            required = need.bids + max(fee, ZERO)
            cash = self.option_cash(user, now_ms)
            if required > cash:
                raise _insufficient(required, cash, "of options cash not held by resting bids")

    def option_cash(self, user: User, now_ms: int) -> Decimal:
        """The options bucket's balance less the premium its resting bids will pay."""
        balance = self._ledger.balances.get((user.user_id, _OPTIONS, USDC), ZERO)
        return balance - self.options.figures(user, now_ms).bids

    def options_requirement(
        self, user: User, legs: Sequence[tuple[MarketSpec, Side, Decimal, Decimal]], now_ms: int
    ) -> Decimal:
        """The drop in the options bucket's available margin if every leg `(market, side,
        quantity, price)` filled at once at its price, fees excluded: the growth of (position
        initial margin + order margin), the positions holding the legs, less the growth of
        equity (the sells' premium received, less the buys' premium paid, plus the legs'
        value at the mark). Zero or less: the legs need nothing. A bull call spread bought for
        a net debit D needs at most D (give or take the marks' rounding): its scenario margin
        is at most its value, the most it can lose. 503 without a mark. A net debit is paid
        in cash, so it must also fit `option_cash`, as a bid's premium does."""
        return self.options.legs_requirement(user, legs, now_ms)

    @staticmethod
    def reducible_lots(user: User, spec: MarketSpec, side: Side, margin_mode: MarginMode) -> int:
        """How many lots a reduce-only order on `side` may have: the size of the position it
        closes (docs/fidelity.md "Orders": each reduce-only order is capped on its own, by
        trimming); 422 REDUCE_ONLY_WOULD_INCREASE when it could reduce nothing (the position
        is flat, or on the order's own side)."""
        position_lots = Risk.position_lots(user, spec, margin_mode)
        if not position_lots or (position_lots > 0) is (side is Side.BUY):
            position = user.position(spec.id, margin_mode)
            size = position.size if position is not None else ZERO
            raise OcxError(
                ErrorCode.REDUCE_ONLY_WOULD_INCREASE,
                f"Reduce-only {side.value} would increase the {spec.id} position ({size})",
            )
        return abs(position_lots)

    # -- spot ------------------------------------------------------------------------------

    def spot_available(self, user: User, asset: str) -> Decimal:
        held = self._ledger.balance((user.user_id, Bucket.SPOT.value, asset))
        return held - user.spot_locked.get(asset, ZERO)

    def withdrawable(self, user: User, bucket: Bucket, now_ms: int) -> Decimal:
        """What a transfer may take out of a bucket: the wallet balance; the spot USDC not
        locked by bids; for a margin bucket, the balance not needed as initial margin."""
        if bucket is Bucket.WALLET:
            return self._ledger.balance((user.user_id, bucket.value, USDC))
        if bucket is Bucket.SPOT:
            return self.spot_available(user, USDC)
        view = self.margin(user, Venue(bucket.value), now_ms)
        if bucket is Bucket.OPTIONS:
            # Cash that resting bids will pay stays for them.
            return max(ZERO, min(self.option_cash(user, now_ms), view.available))
        return max(ZERO, min(view.balance, view.available))


def _insufficient(required: Decimal, available: Decimal, where: str) -> OcxError:
    required_text = format_usdc(required)
    available_text = format_usdc(max(available, ZERO))
    return OcxError(
        ErrorCode.INSUFFICIENT_MARGIN,
        f"Order requires {required_text} USDC margin; {available_text} available {where}",
        {"requiredIm": required_text, "availableIm": available_text},
    )
