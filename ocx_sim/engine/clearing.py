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

from decimal import ROUND_UP, Decimal

from ocx_sim.engine.accounts import User
from ocx_sim.engine.context import Context
from ocx_sim.engine.events import OrderCancelled, OrderExpired, PositionChanged, TradeExecuted
from ocx_sim.engine.ledger import EntryType, SystemBucket, system_account
from ocx_sim.engine.markets import MarketSpec, MarketType
from ocx_sim.engine.matching import MatchResult
from ocx_sim.engine.money import BPS, USDC, USDC_QUANTUM, ZERO, bps_of
from ocx_sim.engine.orders import CancelReason, FeeRole, Fill, MarginMode, Order, OrderStatus, Side

FEES = system_account(SystemBucket.FEES)
CLEARING = system_account(SystemBucket.CLEARING)


class Clearing:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        # Spot bids lock enough for the dearest fee any tier charges, so no later tier change
        # can leave a fill unpaid.
        self._spot_lock_factor = 1 + max(t.taker_bps for t in ctx.fees.tiers) / BPS

    # -- holding margin and inventory for resting orders ---------------------------------

    def spot_lock(
        self, spec: MarketSpec, side: Side, quantity: Decimal, price: Decimal
    ) -> tuple[str, Decimal]:
        """(asset, amount) a spot order of `quantity` at worst `price` must lock: a bid its
        cost plus the dearest taker fee in USDC, an ask its base quantity."""
        if side is Side.BUY:
            cost = (quantity * price * self._spot_lock_factor).quantize(USDC_QUANTUM, ROUND_UP)
            return USDC, cost
        return spec.base, quantity

    def reserve(self, user: User, spec: MarketSpec, order: Order) -> None:
        """Make what `order` holds match its remaining quantity (zero once it is over)."""
        remaining = spec.quantity(order.remaining) if order.is_open else ZERO
        price = order.price if order.price is not None else ZERO
        if spec.type is MarketType.SPOT:
            asset, lock = self.spot_lock(spec, order.side, remaining, price)
            if lock != order.lock:
                locked = user.spot_locked
                locked[asset] = locked.get(asset, ZERO) + lock - order.lock
                order.lock = lock
        else:
            margin = self._ctx.risk.order_margin(
                spec, order.side, remaining, price, order.reduce_only
            )
            if margin != order.margin:
                venue = spec.venue.value
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
        order.status = status
        order.updated_at = ctx.now
        self.reserve(user, spec, order)
        user.open_orders.pop(order.id, None)
        cid = order.client_order_id
        if cid is not None and user.client_order_ids.get(cid) is order:
            del user.client_order_ids[cid]
        remaining = spec.quantity(order.remaining)
        if status is OrderStatus.CANCELLED:
            reason = reason or CancelReason.USER
            ctx.emit(
                OrderCancelled, order.id, order.owner, order.market_id, reason.value, remaining
            )
        elif status is OrderStatus.EXPIRED:
            ctx.emit(OrderExpired, order.id, order.owner, order.market_id, remaining)

    # -- settling a match ----------------------------------------------------------------

    def settle(self, spec: MarketSpec, taker: Order, result: MatchResult) -> list[Fill]:
        """Apply a match of `taker` (already registered as open): self-trade cancels, every
        fill, then the taker's own status. Returns the taker's fills."""
        for resting in result.self_trade_cancels:
            assert isinstance(resting, Order)
            self.end(resting, OrderStatus.CANCELLED, CancelReason.SELF_TRADE_PREVENTION)
        taker_fills: list[Fill] = []
        touched: list[tuple[User, MarginMode]] = []
        for maker, lots, ticks in result.fills:
            assert isinstance(maker, Order)
            taker_fills.append(self._trade(spec, taker, maker, lots, ticks, touched))
        taker_user = self._ctx.accounts.by_id[taker.owner]
        if not taker.remaining:
            self.end(taker, OrderStatus.FILLED)
        elif result.rested:
            taker.status = OrderStatus.PARTIALLY_FILLED if taker.filled_lots else OrderStatus.OPEN
            self.reserve(taker_user, spec, taker)
        else:
            self.end(taker, OrderStatus.EXPIRED)
        for user, mode in touched:
            self.trim_reduce_only(user, spec, mode)
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
        ctx = self._ctx
        now = ctx.now
        ledger = ctx.ledger
        price = spec.tick * ticks
        quantity = spec.step * lots
        notional = price * quantity
        users = ctx.accounts.by_id
        taker_user, maker_user = users[taker.owner], users[maker.owner]
        trade_id = ctx.ids.ulid()
        maker_fee = self._fee(spec, maker.owner, FeeRole.MAKER, quantity, price, notional)
        taker_fee = self._fee(spec, taker.owner, FeeRole.TAKER, quantity, price, notional)
        bucket = spec.venue.value
        buyer, seller = (taker, maker) if taker.is_buy else (maker, taker)

        realized = {taker.id: ZERO, maker.id: ZERO}
        if spec.type is MarketType.SPOT:
            ledger.move(
                now,
                (buyer.owner, bucket, USDC),
                (seller.owner, bucket, USDC),
                notional,
                EntryType.SPOT_TRADE,
                ref=trade_id,
            )
            ledger.move(
                now,
                (seller.owner, bucket, spec.base),
                (buyer.owner, bucket, spec.base),
                quantity,
                EntryType.SPOT_TRADE,
                ref=trade_id,
            )
        else:
            if spec.type is MarketType.OPTION:
                ledger.move(
                    now,
                    (buyer.owner, bucket, USDC),
                    (seller.owner, bucket, USDC),
                    notional,
                    EntryType.OPTION_PREMIUM,
                    ref=trade_id,
                )
            for order, user in ((taker, taker_user), (maker, maker_user)):
                position = user.position_for_update(spec.id, order.margin_mode, now)
                signed = quantity if order.is_buy else -quantity
                pnl = position.apply(signed, price, now)
                realized[order.id] = pnl
                # Option premiums already moved in cash; only linear PnL settles via clearing.
                if pnl and spec.type is not MarketType.OPTION:
                    ledger.move(
                        now,
                        CLEARING,
                        (user.user_id, bucket, USDC),
                        pnl,
                        EntryType.REALIZED_PNL,
                        ref=trade_id,
                    )
                if (user, order.margin_mode) not in touched:
                    touched.append((user, order.margin_mode))
        ledger.move(
            now, (maker.owner, bucket, USDC), FEES, maker_fee, EntryType.TRADE_FEE, ref=trade_id
        )
        ledger.move(
            now, (taker.owner, bucket, USDC), FEES, taker_fee, EntryType.TRADE_FEE, ref=trade_id
        )
        ctx.volume.record(maker.owner, now, notional)
        ctx.volume.record(taker.owner, now, notional)

        ctx.emit(
            TradeExecuted,
            trade_id,
            spec.id,
            price,
            quantity,
            taker.side.value,
            maker.id,
            maker.owner,
            maker_fee,
            taker.id,
            taker.owner,
            taker_fee,
        )
        taker_fill = self._record_fill(
            taker_user,
            taker,
            trade_id,
            price,
            quantity,
            notional,
            taker_fee,
            FeeRole.TAKER,
            realized[taker.id],
        )
        self._record_fill(
            maker_user,
            maker,
            trade_id,
            price,
            quantity,
            notional,
            maker_fee,
            FeeRole.MAKER,
            realized[maker.id],
        )
        if spec.has_positions:
            for order, user in ((taker, taker_user), (maker, maker_user)):
                position = user.positions[(spec.id, order.margin_mode)]
                ctx.emit(
                    PositionChanged,
                    user.user_id,
                    spec.id,
                    order.margin_mode.value,
                    position.size,
                    position.entry_price,
                    realized[order.id],
                )
        if maker.remaining:
            maker.status = OrderStatus.PARTIALLY_FILLED
            self.reserve(maker_user, spec, maker)
        else:
            self.end(maker, OrderStatus.FILLED)
        return taker_fill

    def _fee(
        self,
        spec: MarketSpec,
        user_id: str,
        role: FeeRole,
        quantity: Decimal,
        price: Decimal,
        notional: Decimal,
    ) -> Decimal:
        ctx = self._ctx
        if spec.type is MarketType.OPTION:
            underlying = ctx.prices.index(spec.underlying) or price
            return ctx.fees.options.fee(role, quantity, price, underlying)
        tier = ctx.fees.tier_for(ctx.volume.volume(user_id, ctx.now))
        return bps_of(notional, tier.bps(role))

    def _record_fill(
        self,
        user: User,
        order: Order,
        trade_id: str,
        price: Decimal,
        quantity: Decimal,
        notional: Decimal,
        fee: Decimal,
        role: FeeRole,
        realized: Decimal,
    ) -> Fill:
        now = self._ctx.now
        order.filled_notional += notional
        order.updated_at = now
        fill = Fill(
            trade_id,
            order.id,
            user.user_id,
            order.market_id,
            order.side,
            price,
            quantity,
            fee,
            role,
            now,
            realized,
        )
        user.fills.append(fill)
        return fill

    # -- reduce-only upkeep --------------------------------------------------------------

    def trim_reduce_only(self, user: User, spec: MarketSpec, margin_mode: MarginMode) -> None:
        """After a position changed, cancel (newest first) the reduce-only orders that could
        now grow it: on the wrong side, or beyond the position's size together."""
        orders = [
            o
            for o in user.open_orders.values()
            if o.reduce_only and o.market_id == spec.id and o.margin_mode is margin_mode
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
                self.end(order, OrderStatus.CANCELLED, CancelReason.REDUCE_ONLY)
