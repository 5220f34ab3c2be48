"""What matching's results do to money, positions and orders.

For each fill (DECISIONS.md "Orders and matching", "Wallet"):
- linear markets (perps, futures): both positions change at the fill price; the part of a
  position that closes realizes PnL, paid from or into the clearing account (`realized_pnl`);
- options: the buyer pays the premium to the seller in the options bucket (`option_premium`)
  and both positions change;
- spot: the buyer's USDC goes to the seller and the seller's base asset to the buyer, both in
  the spot bucket (`spot_trade`);
- each side pays its fee in USDC from the market's venue bucket to the fee account
  (`trade_fee`; a negative maker fee is a rebate), and both users' 30-day volume grows.

Orders end here too: a filled, cancelled or expired order leaves the book, gives back the
margin or spot inventory it held, frees its clientOrderId and is gone from the open lists.
While an order rests, `reserve` keeps what it holds equal to what its remaining quantity
needs, so a user's totals always equal the sum over their resting orders.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_UP, Decimal

from ocx_sim.engine.accounts import User
from ocx_sim.engine.context import Context
from ocx_sim.engine.events import OrderCancelled, OrderExpired, TradeExecuted
from ocx_sim.engine.ledger import EntryType, SystemBucket, system_account
from ocx_sim.engine.markets import MarketSpec
from ocx_sim.engine.matching import MatchResult
from ocx_sim.engine.money import BPS, USDC, USDC_QUANTUM, ZERO
from ocx_sim.engine.orders import (
    CancelReason,
    FeeRole,
    Fill,
    FillRow,
    MarginMode,
    Order,
    OrderStatus,
    Side,
)

FEES = system_account(SystemBucket.FEES)
CLEARING = system_account(SystemBucket.CLEARING)
# Module constants: attribute access on an enum class is several times slower than a global.
_MAKER = FeeRole.MAKER
_TAKER = FeeRole.TAKER
# Records (fills, events, ledger entries) hold plain strings, not enum members: a tuple of
# strings, numbers and decimals is atomic, so the garbage collector stops tracking it, which
# keeps collections cheap however long the log grows (events.py).
_MAKER_ROLE = FeeRole.MAKER.value
_TAKER_ROLE = FeeRole.TAKER.value
_BUY = Side.BUY
_ISOLATED = MarginMode.ISOLATED
_TRADE_FEE = EntryType.TRADE_FEE
_REALIZED_PNL = EntryType.REALIZED_PNL
_OPEN = OrderStatus.OPEN
_PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
_FILLED = OrderStatus.FILLED
_CANCELLED = OrderStatus.CANCELLED
_EXPIRED = OrderStatus.EXPIRED


SettleHook = Callable[[MarketSpec, Order, MatchResult, list[tuple[User, MarginMode]]], None]
"""(market, taker, its match, the (user, margin mode) positions the fills changed)."""


class Clearing:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        # Spot bids lock enough for the dearest fee any tier charges, so no later tier change
        # can leave a fill unpaid.
        self._spot_lock_factor = 1 + max(t.taker_bps for t in ctx.fees.tiers) / BPS
        self.after_settle: SettleHook | None = None
        """Set by `triggers.py` only while it has take-profit/stop-loss entries or children
        to look after (so an ordinary settle pays one attribute check): it arms, grows and
        cancels them from what the settle did."""

    # -- holding margin and inventory for resting orders ---------------------------------

    def spot_lock(
        self, spec: MarketSpec, side: Side, quantity: Decimal, price: Decimal
    ) -> tuple[str, Decimal]:
        """(asset, amount) a spot order of `quantity` at worst `price` must lock: a bid its
        cost plus the dearest taker fee in USDC, an ask its base quantity."""
        if side is _BUY:
            factor = (
                1 + self._ctx.fees.dearest_taker_bps(spec) / BPS
                if spec.flat_fees
                else self._spot_lock_factor
            )
            cost = (quantity * price * factor).quantize(USDC_QUANTUM, ROUND_UP)
            return USDC, cost
        return spec.base, quantity

    def reserve(self, user: User, spec: MarketSpec, order: Order) -> None:
        """Make what a resting `order` holds match its remaining quantity."""
        price = order.price if order.price is not None else ZERO
        if spec.is_spot:
            remaining = spec.quantity(order.remaining)
            asset, lock = self.spot_lock(spec, order.side, remaining, price)
            if lock != order.lock:
                locked = user.spot_locked
                locked[asset] = locked.get(asset, ZERO) + lock - order.lock
                order.lock = lock
        else:
            unit = order.lot_margin
            if unit is None:
                unit = order.lot_margin = self._ctx.risk.order_margin(
                    spec, order.side, spec.step, price, order.reduce_only
                )
            margin = order.remaining * unit
            if margin != order.margin:
                venue = spec.bucket
                totals = user.order_margin
                totals[venue] = totals.get(venue, ZERO) + margin - order.margin
                order.margin = margin

    # -- the end of an order -------------------------------------------------------------

    def end(self, order: Order, status: OrderStatus, reason: CancelReason | None = None) -> None:
        """Finish an order: off the book, holdings released, out of the open lists, and an
        `OrderCancelled` or `OrderExpired` event (a fill's events say it was filled)."""
        ctx = self._ctx
        spec = ctx.catalog.markets[order.market_id]
        user = ctx.accounts.by_id[order.owner]
        if order.level is not None:
            ctx.book(order.market_id).remove(order)
        now = ctx.clock.now_ms
        order.status = status
        order.updated_at = now
        self._release(user, spec, order)
        user.open_orders.pop(order.id, None)
        if order.reduce_only:
            user.reduce_only_orders.pop(order.id, None)
        cid = order.client_order_id
        if cid is not None and user.client_order_ids.get(cid) is order:
            del user.client_order_ids[cid]
        if status is _CANCELLED:
            remaining = spec.quantity(order.remaining)
            reason = reason or CancelReason.USER
            ctx.events.record(
                OrderCancelled,
                now,
                order.id,
                order.owner,
                order.market_id,
                reason._value_,
                remaining,
            )
        elif status is _EXPIRED:
            remaining = spec.quantity(order.remaining)
            ctx.events.record(OrderExpired, now, order.id, order.owner, order.market_id, remaining)

    def _release(self, user: User, spec: MarketSpec, order: Order) -> None:
        """Give back all an order holds (the fast form of `reserve` for a finished order)."""
        if order.margin:
            bucket = spec.bucket
            user.order_margin[bucket] -= order.margin
            order.margin = ZERO
        if order.lock:
            asset = USDC if order.is_buy else spec.base
            user.spot_locked[asset] -= order.lock
            order.lock = ZERO

    # -- settling a match ----------------------------------------------------------------

    def settle(self, spec: MarketSpec, taker: Order, result: MatchResult) -> list[Fill]:
        """Apply a match of `taker` (already registered as open): self-trade cancels, every
        fill, then the taker's own status. Returns the taker's fills."""
        for resting in result.self_trade_cancels:
            assert isinstance(resting, Order)
            self.end(resting, _CANCELLED, CancelReason.SELF_TRADE_PREVENTION)
        taker_fills: list[Fill] = []
        touched: list[tuple[User, MarginMode]] = []
        for maker, lots, ticks in result.fills:
            assert isinstance(maker, Order)
            taker_fills.append(self._trade(spec, taker, maker, lots, ticks, touched))
        if not taker.remaining:
            self.end(taker, _FILLED)
        elif result.rested:
            taker.status = _PARTIALLY_FILLED if taker.filled_lots else _OPEN
            self.reserve(self._ctx.accounts.by_id[taker.owner], spec, taker)
        else:
            self.end(taker, _EXPIRED)
        for user, mode in touched:
            if user.reduce_only_orders:
                self.trim_reduce_only(user, spec, mode)
        hook = self.after_settle
        if hook is not None:
            hook(spec, taker, result, touched)
        return taker_fills

    def _trade(
        self,
        spec: MarketSpec,
        taker: Order,
        maker: Order,
        lots: int,
        ticks: int,
        touched: list[tuple[User, MarginMode]],
    ) -> Fill:
        """One fill of `taker` against `maker`: money, positions, fees, volume, both orders'
        progress, both users' fill records and the `TradeExecuted` event."""
        ctx = self._ctx
        now = ctx.clock.now_ms
        ledger = ctx.ledger
        price = spec.tick * ticks
        quantity = spec.step * lots
        notional = price * quantity
        users = ctx.accounts.by_id
        taker_user, maker_user = users[taker.owner], users[maker.owner]
        trade_id = ctx.ids.ulid(now)
        maker_fee = self._fee(spec, maker.owner, _MAKER, quantity, price, notional, now)
        taker_fee = self._fee(spec, taker.owner, _TAKER, quantity, price, notional, now)
        bucket = spec.bucket

        taker_pnl = maker_pnl = ZERO
        taker_size: Decimal | None = None
        maker_size: Decimal | None = None
        buyer, seller = (taker.owner, maker.owner) if taker.is_buy else (maker.owner, taker.owner)
        if spec.is_spot or spec.is_option:
            # Cash changes hands at once: the spot price, or the option premium.
            cash_type = EntryType.SPOT_TRADE if spec.is_spot else EntryType.OPTION_PREMIUM
            ledger.move(
                now,
                (buyer, bucket, USDC),
                (seller, bucket, USDC),
                notional,
                cash_type,
                ref=trade_id,
            )
        if spec.is_spot:
            ledger.move(
                now,
                (seller, bucket, spec.base),
                (buyer, bucket, spec.base),
                quantity,
                EntryType.SPOT_TRADE,
                ref=trade_id,
            )
        else:
            signed = quantity if taker.is_buy else -quantity
            taker_position = taker_user.position_for_update(spec.id, taker.margin_mode, now)
            maker_position = maker_user.position_for_update(spec.id, maker.margin_mode, now)
            taker_before, maker_before = taker_position.size, maker_position.size
            taker_pnl = taker_position.apply(signed, price, now)
            maker_pnl = maker_position.apply(-signed, price, now)
            # An isolated position holds its own margin (DECISIONS.md "Risk"); cross fills
            # skip this with one identity check each, keeping the hot path as it was.
            if taker.margin_mode is _ISOLATED and not spec.is_option:
                taker_position.reallocate(taker_before, price, spec.max_leverage)
            if maker.margin_mode is _ISOLATED and not spec.is_option:
                maker_position.reallocate(maker_before, price, spec.max_leverage)
            taker_size, maker_size = taker_position.size, maker_position.size
            taker_user.position_epoch += 1
            maker_user.position_epoch += 1
            # A fill away from the mark can leave either side under maintenance at once.
            ctx.filled.add(taker_user.user_id)
            ctx.filled.add(maker_user.user_id)
            for user, mode in ((taker_user, taker.margin_mode), (maker_user, maker.margin_mode)):
                if (user, mode) not in touched:
                    touched.append((user, mode))
        taker_account = (taker.owner, bucket, USDC)
        maker_account = (maker.owner, bucket, USDC)
        postings = [
            (maker_account, -maker_fee, _TRADE_FEE),
            (taker_account, -taker_fee, _TRADE_FEE),
            (FEES, maker_fee + taker_fee, _TRADE_FEE),
        ]
        # Option premiums already moved in cash; only linear PnL settles via clearing.
        if (taker_pnl or maker_pnl) and not spec.is_option:
            postings += [
                (taker_account, taker_pnl, _REALIZED_PNL),
                (maker_account, maker_pnl, _REALIZED_PNL),
                (CLEARING, -taker_pnl - maker_pnl, _REALIZED_PNL),
            ]
        ledger.post(now, postings, ref=trade_id)
        volume = ctx.volume
        volume.record(maker.owner, now, notional)
        volume.record(taker.owner, now, notional)
        ctx.tape.record(spec.id, now, price, quantity)

        ctx.events.record(
            TradeExecuted,
            now,
            trade_id,
            spec.id,
            price,
            quantity,
            taker.side._value_,
            maker.id,
            maker.owner,
            maker_fee,
            maker_size,
            maker_pnl,
            taker.id,
            taker.owner,
            taker_fee,
            taker_size,
            taker_pnl,
        )
        taker.filled_notional += notional
        taker.updated_at = now
        maker.filled_notional += notional
        maker.updated_at = now
        taker_row: FillRow = (
            trade_id,
            taker.id,
            taker.owner,
            spec.id,
            taker.side._value_,
            price,
            quantity,
            taker_fee,
            _TAKER_ROLE,
            now,
            taker_pnl,
        )
        taker_user.fills.append(taker_row)
        maker_user.fills.append(
            (
                trade_id,
                maker.id,
                maker.owner,
                spec.id,
                maker.side._value_,
                price,
                quantity,
                maker_fee,
                _MAKER_ROLE,
                now,
                maker_pnl,
            )
        )
        if maker.remaining:
            maker.status = _PARTIALLY_FILLED
            self.reserve(maker_user, spec, maker)
        else:
            self.end(maker, _FILLED)
        return Fill._make(taker_row)

    def _fee(
        self,
        spec: MarketSpec,
        user_id: str,
        role: FeeRole,
        quantity: Decimal,
        price: Decimal,
        notional: Decimal,
        now: int,
    ) -> Decimal:
        ctx = self._ctx
        if spec.is_option:
            underlying = ctx.prices.index(spec.underlying) or price
            return ctx.fees.options_for(spec).fee(role, quantity, price, underlying)
        return ctx.fees.linear_fee(
            notional, role, ctx.fees.tier_of(spec, ctx.volume.volume(user_id, now))
        )

    # -- reduce-only upkeep --------------------------------------------------------------

    def trim_reduce_only(self, user: User, spec: MarketSpec, margin_mode: MarginMode) -> None:
        """After a position changed, cancel (newest first) the reduce-only orders that could
        now grow it: on the wrong side, or beyond the position's size together."""
        orders = [
            o
            for o in user.reduce_only_orders.values()
            if o.market_id == spec.id and o.margin_mode is margin_mode
        ]
        if not orders:
            return
        position = user.position(spec.id, margin_mode)
        size = position.size if position is not None else ZERO
        room = abs(size)
        closing = Side.SELL if size > 0 else Side.BUY
        kept = ZERO
        for order in orders:
            remaining = spec.quantity(order.remaining)
            if size and order.side is closing and kept + remaining <= room:
                kept += remaining
            else:
                self.end(order, _CANCELLED, CancelReason.REDUCE_ONLY)
