"""The settle stage: what a match does to money, positions and orders.

For each fill (docs/fidelity.md "Money", "Fees and risk"):
- linear markets (perps, futures): both positions change at the fill price; the part of a
  position that closes realizes PnL, paid from or into the clearing account (`realized_pnl`);
- options: the buyer pays the premium to the seller in the options bucket (`option_premium`)
  and both positions change;
- spot: the buyer's USDC goes to the seller and the seller's base asset to the buyer, both in
  the spot bucket (`spot_trade`);
- each side pays its fee in USDC from the market's venue bucket to the fee account
  (`trade_fee`; a negative maker fee is a rebate), and both users' 30-day volume grows.

Then the taker's own status (filled, resting, or its remainder expired), the take-profit/stop-loss
bookkeeping of the fills (brackets.py), and the reduce-only orders on the positions the fills
changed (trimmed to them, or cancelled when they could reduce nothing any more). Facts: every user
whose position a fill changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ocx_sim.engine.commands import brackets, records
from ocx_sim.engine.core import emit
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.ledger import CLEARING, FEES, EntryType
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.matching import MatchResult
from ocx_sim.engine.core.money import USDC, ZERO
from ocx_sim.engine.core.orders import (
    CancelReason,
    FeeRole,
    Fill,
    FillRow,
    MarginMode,
    Order,
    OrderStatus,
)
from ocx_sim.engine.core.trigger_book import Armed
from ocx_sim.engine.state import State

# Module constants: attribute access on an enum class is several times slower than a global.
_MAKER = FeeRole.MAKER
_TAKER = FeeRole.TAKER
# Records (fills, events, ledger entries) hold plain strings, not enum members: a tuple of
# strings, numbers and decimals is atomic, so the garbage collector stops tracking it, which
# keeps collections cheap however long the log grows (core/events.py).
_MAKER_ROLE = FeeRole.MAKER.value
_TAKER_ROLE = FeeRole.TAKER.value
_ISOLATED = MarginMode.ISOLATED
_TRADE_FEE = EntryType.TRADE_FEE
_REALIZED_PNL = EntryType.REALIZED_PNL
_OPEN = OrderStatus.OPEN
_PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
_FILLED = OrderStatus.FILLED
_CANCELLED = OrderStatus.CANCELLED
_EXPIRED = OrderStatus.EXPIRED
_NO_CHILDREN: tuple[Armed, ...] = ()


def settle(
    state: State, spec: MarketSpec, taker: Order, result: MatchResult
) -> tuple[list[Fill], Sequence[Armed]]:
    """Apply a match of `taker` (already accepted): self-trade cancels, every fill, the taker's
    own status, reduce-only upkeep and the brackets' bookkeeping. Returns the taker's fills and
    the take-profit/stop-loss children the fills armed (execution.py fires those the mark
    already crosses)."""
    for resting in result.self_trade_cancels:
        assert isinstance(resting, Order)
        records.end(state, resting, _CANCELLED, CancelReason.SELF_TRADE_PREVENTION)
    taker_fills: list[Fill] = []
    touched: list[tuple[User, MarginMode]] = []
    for maker, lots, ticks in result.fills:
        assert isinstance(maker, Order)
        taker_fills.append(_trade(state, spec, taker, maker, lots, ticks, touched))
    if not taker.remaining:
        records.end(state, taker, _FILLED)
    elif result.rested:
        taker.status = _PARTIALLY_FILLED if taker.filled_lots else _OPEN
        records.reserve(state, state.accounts.by_id[taker.owner], spec, taker)
    else:
        records.end(state, taker, _EXPIRED)
    fresh: Sequence[Armed] = _NO_CHILDREN
    triggers = state.triggers
    # Anything to look after: an entry's fills to follow, children whose position may close.
    if triggers.entries or triggers.by_position:
        fresh = brackets.after_fills(state, spec, taker, result, touched)
    for user, mode in touched:
        if user.reduce_only_orders:
            trim_reduce_only(state, user, spec, mode)
    return taker_fills, fresh


def _trade(
    state: State,
    spec: MarketSpec,
    taker: Order,
    maker: Order,
    lots: int,
    ticks: int,
    touched: list[tuple[User, MarginMode]],
) -> Fill:
    """One fill of `taker` against `maker`: money, positions, fees, volume, both orders'
    progress, both users' fill records and the `TradeExecuted` event."""
    now = state.clock.now_ms
    ledger = state.ledger
    price = spec.tick * ticks
    quantity = spec.step * lots
    notional = price * quantity
    users = state.accounts.by_id
    taker_user, maker_user = users[taker.owner], users[maker.owner]
    trade_id = state.ids.ulid(now)
    maker_fee = _fee(state, spec, maker.owner, _MAKER, quantity, price, notional, now)
    taker_fee = _fee(state, spec, taker.owner, _TAKER, quantity, price, notional, now)
    bucket = spec.bucket

    taker_pnl = maker_pnl = ZERO
    taker_size: Decimal | None = None
    maker_size: Decimal | None = None
    buyer, seller = (taker.owner, maker.owner) if taker.is_buy else (maker.owner, taker.owner)
    if spec.is_spot or spec.is_option:
        # Cash changes hands at once: the spot price, or the option premium.
        cash_type = EntryType.SPOT_TRADE if spec.is_spot else EntryType.OPTION_PREMIUM
        ledger.move(
            now, (buyer, bucket, USDC), (seller, bucket, USDC), notional, cash_type, ref=trade_id
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
        # An isolated position holds its own margin (docs/fidelity.md "Margin and
        # liquidation"); cross fills skip this with one identity check each.
        if taker.margin_mode is _ISOLATED and not spec.is_option:
            taker_position.reallocate(taker_before, price, spec.max_leverage)
        if maker.margin_mode is _ISOLATED and not spec.is_option:
            maker_position.reallocate(maker_before, price, spec.max_leverage)
        taker_size, maker_size = taker_position.size, maker_position.size
        taker_user.position_epoch += 1
        maker_user.position_epoch += 1
        filled = state.facts.filled
        filled.add(taker_user.user_id)
        filled.add(maker_user.user_id)
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
    volume = state.volume
    volume.record(maker.owner, now, notional)
    volume.record(taker.owner, now, notional)
    state.tape.record(spec.id, now, price, quantity)

    emit.trade_executed(
        state.events,
        ts=now,
        trade_id=trade_id,
        market_id=spec.id,
        price=price,
        quantity=quantity,
        taker=taker,
        maker=maker,
        maker_fee=maker_fee,
        maker_position=maker_size,
        maker_realized_pnl=maker_pnl,
        taker_fee=taker_fee,
        taker_position=taker_size,
        taker_realized_pnl=taker_pnl,
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
    state.fill_owners += (taker_user, maker_user)
    if maker.remaining:
        maker.status = _PARTIALLY_FILLED
        records.reserve(state, maker_user, spec, maker)
    else:
        records.end(state, maker, _FILLED)
    return Fill._make(taker_row)


def _fee(
    state: State,
    spec: MarketSpec,
    user_id: str,
    role: FeeRole,
    quantity: Decimal,
    price: Decimal,
    notional: Decimal,
    now: int,
) -> Decimal:
    fees = state.fees
    if spec.is_option:
        index = state.prices.index(spec.underlying)
        return fees.options_for(spec).fee(role, quantity, price, index)
    return fees.linear_fee(notional, role, fees.tier_of(spec, state.volume.volume(user_id, now)))


def trim_reduce_only(state: State, user: User, spec: MarketSpec, margin_mode: MarginMode) -> None:
    """After a position changed: each reduce-only order on it (untriggered ones included)
    keeps no more than the position's size, trimmed on its own, and one that could reduce
    nothing any more (the position flat, or now on its side) is cancelled (docs/fidelity.md
    "Orders"). A take-profit or stop-loss whose position went is already gone (brackets.py)."""
    orders = [
        o
        for o in user.reduce_only_orders.values()
        if o.market_id == spec.id and o.margin_mode is margin_mode
    ]
    if not orders:
        return
    position = user.position(spec.id, margin_mode)
    size = position.size if position is not None else ZERO
    room = int(abs(size) / spec.step)  # whole lots: a position is a sum of fills
    for order in orders:
        if not size or (size > 0) is order.is_buy:
            records.end(state, order, _CANCELLED, CancelReason.REDUCE_ONLY)
        elif order.remaining > room:
            records.trim(state, spec, order, room)
