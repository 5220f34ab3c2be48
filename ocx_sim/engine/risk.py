"""Margin, first version: per-venue buckets, initial and maintenance margin, order approval.

DECISIONS.md "Risk" and "Wire details":
- margin is kept per venue bucket: `perps` for perpetuals and futures, `options` for options;
  spot pays in full from the `spot` bucket, with resting orders locking what they could spend;
- linear initial margin = position notional at the mark / maxLeverage, plus the open-order
  margin: remaining quantity × limit price / maxLeverage per resting order, fees excluded;
- maintenance margin = 2/3 of the positions' initial margin;
- equity = bucket balance + unrealized PnL; marginUsage = initial margin / equity (0 when
  nothing is held);
- an order is approved when its own margin is at most the available margin, else 422
  INSUFFICIENT_MARGIN with `requiredIm` and `availableIm`.

Our choices where the docs are silent (docs/fidelity.md): available margin is
min(equity, balance) − initial margin, so unrealized profit does not back new exposure or
transfers out until it is realized; an order must fit its margin plus its worst-case fee, so
fees never overdraw the bucket; reduce-only orders hold no margin, since they can only shrink a
position. Options, until the options issue brings SPAN: a long
pays its premium in full and holds nothing more; a short holds 15 % of the underlying index per
unit (its premium liability is already in equity at the mark); a resting bid holds its premium,
a resting ask the short margin.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.accounts import Bucket, User
from ocx_sim.engine.ledger import Ledger
from ocx_sim.engine.markets import Catalog, MarketSpec, Venue
from ocx_sim.engine.money import USDC, ZERO, format_usdc, usdc
from ocx_sim.engine.orders import MarginMode, Side
from ocx_sim.engine.pricing import Prices
from ocx_sim.errors import ErrorCode, OcxError

MAINTENANCE_FRACTION = Decimal(2) / Decimal(3)
_OPTIONS = Venue.OPTIONS.value
SHORT_OPTION_MARGIN = Decimal("0.15")


@dataclass(frozen=True, slots=True)
class MarginView:
    """One venue bucket's margin state (the `/perps/balances` figures)."""

    venue: Venue
    balance: Decimal
    unrealized_pnl: Decimal
    equity: Decimal
    position_margin: Decimal
    order_margin: Decimal
    maintenance_margin: Decimal
    available: Decimal
    """What new orders and transfers out may use: equity, but never more than the cash balance
    (unrealized profit is not collateral until realized), less initial margin."""

    @property
    def initial_margin(self) -> Decimal:
        return self.position_margin + self.order_margin

    @property
    def usage(self) -> Decimal:
        im = self.initial_margin
        if not im:
            return ZERO
        if self.equity <= 0:
            return Decimal(1)
        return im / self.equity


class Risk:
    def __init__(self, catalog: Catalog, prices: Prices, ledger: Ledger) -> None:
        self._catalog = catalog
        self._prices = prices
        self._ledger = ledger
        # The positions' part of a bucket's figures, read for every order, changes only when
        # the positions, the marks' inputs or the instant do: cached on all three.
        self._held: dict[tuple[str, str], tuple[int, int, int, Decimal, Decimal, Decimal]] = {}

    # -- margin of what is held ------------------------------------------------------------

    def margin(self, user: User, venue: Venue, now_ms: int) -> MarginView:
        bucket = venue.value
        balance, unrealized, equity, position_im = self._figures(user, bucket, now_ms)
        orders = user.order_margin.get(bucket, ZERO)
        return MarginView(
            venue=venue,
            balance=balance,
            unrealized_pnl=usdc(unrealized),
            equity=usdc(equity),
            position_margin=usdc(position_im),
            order_margin=usdc(orders),
            maintenance_margin=usdc(position_im * MAINTENANCE_FRACTION),
            available=usdc(min(equity, balance) - position_im - orders),
        )

    def available(self, user: User, bucket: str, now_ms: int) -> Decimal:
        """`margin(...).available` of a venue bucket (`MarketSpec.bucket`), without building
        the view: it is read on every order."""
        balance, _, equity, position_im = self._figures(user, bucket, now_ms)
        orders = user.order_margin.get(bucket, ZERO)
        return usdc(min(equity, balance) - position_im - orders)

    def _figures(
        self, user: User, bucket: str, now_ms: int
    ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(balance, unrealized PnL, equity, position initial margin), not yet quantized.
        Buckets are plain strings here: enum `.value` is slow on this hot path."""
        balance = self._ledger.balances.get((user.user_id, bucket, USDC), ZERO)
        key = (user.user_id, bucket)
        held = self._held.get(key)
        version = self._prices.version
        if (
            held is not None
            and held[0] == now_ms
            and held[1] == version
            and held[2] == user.position_epoch
        ):
            _, _, _, unrealized, value, position_im = held
        else:
            unrealized, value, position_im = self._positions(user, bucket, now_ms)
            self._held[key] = (now_ms, version, user.position_epoch, unrealized, value, position_im)
        # Linear positions settle PnL only when they close, so equity adds the unrealized PnL;
        # option premiums are paid in cash, so equity adds the positions' whole value.
        equity = balance + (value if bucket == _OPTIONS else unrealized)
        return balance, unrealized, equity, position_im

    def _positions(self, user: User, bucket: str, now_ms: int) -> tuple[Decimal, Decimal, Decimal]:
        """(unrealized PnL, value at the mark, initial margin) of the bucket's positions."""
        unrealized = value = position_im = ZERO
        for position in user.positions.values():
            if not position.size:
                continue
            spec = self._catalog.markets[position.market_id]
            if spec.bucket != bucket:
                continue
            mark = self._prices.mark(spec, now_ms)
            if mark is None:
                # No reference price: value the position at its entry (no PnL) rather than
                # inventing one; order entry on the market is refused meanwhile.
                mark = position.entry_price
            worth = position.size * mark
            unrealized += worth - position.cost
            value += worth
            position_im += self._position_margin(spec, position.size, mark, now_ms)
        return unrealized, value, position_im

    def _position_margin(
        self, spec: MarketSpec, size: Decimal, mark: Decimal, now_ms: int
    ) -> Decimal:
        if spec.is_option:
            return -size * self._short_option_unit_margin(spec) if size < 0 else ZERO
        return abs(size) * mark / spec.max_leverage

    def _short_option_unit_margin(self, spec: MarketSpec) -> Decimal:
        index = self._prices.index(spec.underlying) or ZERO
        return index * SHORT_OPTION_MARGIN

    # -- orders ----------------------------------------------------------------------------

    def order_margin(
        self, spec: MarketSpec, side: Side, quantity: Decimal, price: Decimal, reduce_only: bool
    ) -> Decimal:
        """The margin an order holds for `quantity` at `price` (its limit, or the mark for a
        market order). Zero on spot (locks instead) and for reduce-only orders."""
        if reduce_only or spec.is_spot:
            return ZERO
        if spec.is_option:
            if side is Side.BUY:
                return quantity * price
            return quantity * self._short_option_unit_margin(spec)
        return quantity * price / spec.max_leverage

    def approve(
        self, user: User, spec: MarketSpec, required: Decimal, now_ms: int, fee: Decimal = ZERO
    ) -> None:
        """422 INSUFFICIENT_MARGIN unless the margin `required` plus the order's worst-case
        `fee` fit in the venue's available margin (so paying the fee can never overdraw the
        bucket)."""
        required += max(fee, ZERO)
        if required <= 0:
            return
        available = self.available(user, spec.bucket, now_ms)
        if required > available:
            required_text = format_usdc(required)
            available_text = format_usdc(max(available, ZERO))
            raise OcxError(
                ErrorCode.INSUFFICIENT_MARGIN,
                f"Order requires {required_text} USDC margin; {available_text} available "
                f"in the {spec.bucket} bucket",
                {"requiredIm": required_text, "availableIm": available_text},
            )

    def check_reduce_only(
        self,
        user: User,
        spec: MarketSpec,
        side: Side,
        quantity: Decimal,
        margin_mode: MarginMode,
        ignore: Collection[str] = (),
    ) -> None:
        """A reduce-only order, together with the user's other reduce-only orders on that
        side (but those in `ignore`: the order itself when modified, orders about to be
        cancelled), may only shrink the position (DECISIONS.md), else 422."""
        position = user.position(spec.id, margin_mode)
        size = position.size if position is not None else ZERO
        closing_side = Side.SELL if size > 0 else Side.BUY
        others = sum(
            (
                spec.quantity(o.remaining)
                for o in user.reduce_only_orders.values()
                if o.market_id == spec.id
                and o.margin_mode is margin_mode
                and o.side is side
                and o.id not in ignore
            ),
            ZERO,
        )
        if not size or side is not closing_side or quantity + others > abs(size):
            raise OcxError(
                ErrorCode.REDUCE_ONLY_WOULD_INCREASE,
                f"Reduce-only {side.value} of {quantity} would increase the {spec.id} position "
                f"({size}; other reduce-only orders {others})",
            )

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
        return max(ZERO, min(view.balance, view.available))
