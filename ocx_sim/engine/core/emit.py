"""Typed emission: one keyword-only function per event type (events.py has the types).

Every change of state is logged through one of these, so mypy checks each field at every
emit site. Each appends the log's row itself, `(code, seq, ts, *fields)`, a plain tuple
(events.py says why): an event is written on every fill, so one call and one tuple. The
parameters after `ts` are the event type's own fields, in its order (a test holds the two to
each other), but for the two events of every order: `order_accepted` takes the order and
`trade_executed` the taker and maker orders, whose ids, owners and sides the event copies.
Both would otherwise take 15 or more keyword arguments, and CPython 3.11 compiles such a call
into building a dict, several times the cost of the call itself (bench/matching.py).
"""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.engine.core.events import (
    AccountLiquidated,
    CurveSet,
    EventLog,
    FundingPaid,
    FundingSettled,
    FundsDeposited,
    FundsTransferred,
    IndexSet,
    InsurancePaid,
    LiquidationFeeCharged,
    MarketExpired,
    MarketHalted,
    MarketListed,
    MarketResumed,
    MarkPinned,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    OrderTriggered,
    PositionLiquidated,
    PositionSettled,
    SettlementChanged,
    SurfaceSet,
    TradeExecuted,
    UserRegistered,
    VaultLiquiditySet,
    VolatilitySet,
    WithdrawalFailureArmed,
    code_of,
)
from ocx_sim.engine.core.orders import Order

_USER_REGISTERED = code_of(UserRegistered)
_FUNDS_DEPOSITED = code_of(FundsDeposited)
_FUNDS_TRANSFERRED = code_of(FundsTransferred)
_ORDER_ACCEPTED = code_of(OrderAccepted)
_TRADE_EXECUTED = code_of(TradeExecuted)
_ORDER_CANCELLED = code_of(OrderCancelled)
_ORDER_EXPIRED = code_of(OrderExpired)
_ORDER_MODIFIED = code_of(OrderModified)
_MARKET_HALTED = code_of(MarketHalted)
_MARKET_RESUMED = code_of(MarketResumed)
_INDEX_SET = code_of(IndexSet)
_MARK_PINNED = code_of(MarkPinned)
_SETTLEMENT_CHANGED = code_of(SettlementChanged)
_FUNDING_PAID = code_of(FundingPaid)
_FUNDING_SETTLED = code_of(FundingSettled)
_MARKET_EXPIRED = code_of(MarketExpired)
_MARKET_LISTED = code_of(MarketListed)
_POSITION_SETTLED = code_of(PositionSettled)
_CURVE_SET = code_of(CurveSet)
_VOLATILITY_SET = code_of(VolatilitySet)
_SURFACE_SET = code_of(SurfaceSet)
_ACCOUNT_LIQUIDATED = code_of(AccountLiquidated)
_POSITION_LIQUIDATED = code_of(PositionLiquidated)
_LIQUIDATION_FEE_CHARGED = code_of(LiquidationFeeCharged)
_INSURANCE_PAID = code_of(InsurancePaid)
_ORDER_TRIGGERED = code_of(OrderTriggered)
_VAULT_LIQUIDITY_SET = code_of(VaultLiquiditySet)
_WITHDRAWAL_FAILURE_ARMED = code_of(WithdrawalFailureArmed)


def user_registered(log: EventLog, *, ts: int, user_id: str, wallet_address: str) -> None:
    rows = log.rows
    rows.append((_USER_REGISTERED, log.offset + len(rows) + 1, ts, user_id, wallet_address))


def funds_deposited(
    log: EventLog, *, ts: int, user_id: str, amount: Decimal, tx_hash: str | None
) -> None:
    rows = log.rows
    rows.append((_FUNDS_DEPOSITED, log.offset + len(rows) + 1, ts, user_id, amount, tx_hash))


def funds_transferred(
    log: EventLog, *, ts: int, user_id: str, source: str, target: str, amount: Decimal
) -> None:
    rows = log.rows
    rows.append(
        (_FUNDS_TRANSFERRED, log.offset + len(rows) + 1, ts, user_id, source, target, amount)
    )


def order_accepted(log: EventLog, *, ts: int, order: Order) -> None:
    """The order as it enters the lists (it carries every field of the event)."""
    rows = log.rows
    rows.append(
        (
            _ORDER_ACCEPTED,
            log.offset + len(rows) + 1,
            ts,
            order.id,
            order.owner,
            order.market_id,
            order.side._value_,
            order.type._value_,
            order.price,
            order.quantity,
            order.time_in_force._value_,
            order.post_only,
            order.reduce_only,
            order.margin_mode._value_,
            order.client_order_id,
            order.quote_id,
            order.stop_price,
            order.take_profit_price,
            order.stop_loss_price,
        )
    )


def trade_executed(
    log: EventLog,
    *,
    ts: int,
    trade_id: str,
    market_id: str,
    price: Decimal,
    quantity: Decimal,
    taker: Order,
    maker: Order,
    maker_fee: Decimal,
    maker_position: Decimal | None,
    maker_realized_pnl: Decimal,
    taker_fee: Decimal,
    taker_position: Decimal | None,
    taker_realized_pnl: Decimal,
) -> None:
    """One fill of `taker` against `maker` (their ids, owners and the taker's side come from
    the orders)."""
    rows = log.rows
    rows.append(
        (
            _TRADE_EXECUTED,
            log.offset + len(rows) + 1,
            ts,
            trade_id,
            market_id,
            price,
            quantity,
            taker.side._value_,
            maker.id,
            maker.owner,
            maker_fee,
            maker_position,
            maker_realized_pnl,
            taker.id,
            taker.owner,
            taker_fee,
            taker_position,
            taker_realized_pnl,
        )
    )


def order_cancelled(
    log: EventLog,
    *,
    ts: int,
    order_id: str,
    user_id: str,
    market_id: str,
    reason: str,
    remaining: Decimal,
) -> None:
    rows = log.rows
    rows.append(
        (
            _ORDER_CANCELLED,
            log.offset + len(rows) + 1,
            ts,
            order_id,
            user_id,
            market_id,
            reason,
            remaining,
        )
    )


def order_expired(
    log: EventLog, *, ts: int, order_id: str, user_id: str, market_id: str, remaining: Decimal
) -> None:
    rows = log.rows
    rows.append(
        (_ORDER_EXPIRED, log.offset + len(rows) + 1, ts, order_id, user_id, market_id, remaining)
    )


def order_modified(
    log: EventLog,
    *,
    ts: int,
    order_id: str,
    user_id: str,
    market_id: str,
    price: Decimal | None,
    quantity: Decimal,
    priority_kept: bool,
) -> None:
    rows = log.rows
    rows.append(
        (
            _ORDER_MODIFIED,
            log.offset + len(rows) + 1,
            ts,
            order_id,
            user_id,
            market_id,
            price,
            quantity,
            priority_kept,
        )
    )


def market_halted(log: EventLog, *, ts: int, market_id: str) -> None:
    rows = log.rows
    rows.append((_MARKET_HALTED, log.offset + len(rows) + 1, ts, market_id))


def market_resumed(log: EventLog, *, ts: int, market_id: str) -> None:
    rows = log.rows
    rows.append((_MARKET_RESUMED, log.offset + len(rows) + 1, ts, market_id))


def index_set(log: EventLog, *, ts: int, underlying: str, price: Decimal | None) -> None:
    rows = log.rows
    rows.append((_INDEX_SET, log.offset + len(rows) + 1, ts, underlying, price))


def mark_pinned(log: EventLog, *, ts: int, market_id: str, price: Decimal | None) -> None:
    rows = log.rows
    rows.append((_MARK_PINNED, log.offset + len(rows) + 1, ts, market_id, price))


def settlement_changed(
    log: EventLog,
    *,
    ts: int,
    settlement_id: str,
    user_id: str,
    kind: str,
    status: str,
    amount: Decimal,
    tx_hash: str | None,
) -> None:
    rows = log.rows
    rows.append(
        (
            _SETTLEMENT_CHANGED,
            log.offset + len(rows) + 1,
            ts,
            settlement_id,
            user_id,
            kind,
            status,
            amount,
            tx_hash,
        )
    )


def funding_paid(
    log: EventLog, *, ts: int, user_id: str, market_id: str, margin_mode: str, amount: Decimal
) -> None:
    rows = log.rows
    rows.append(
        (_FUNDING_PAID, log.offset + len(rows) + 1, ts, user_id, market_id, margin_mode, amount)
    )


def funding_settled(
    log: EventLog,
    *,
    ts: int,
    market_id: str,
    rate: Decimal,
    mark: Decimal,
    open_interest: Decimal,
    amount: Decimal,
) -> None:
    rows = log.rows
    rows.append(
        (
            _FUNDING_SETTLED,
            log.offset + len(rows) + 1,
            ts,
            market_id,
            rate,
            mark,
            open_interest,
            amount,
        )
    )


def market_expired(log: EventLog, *, ts: int, market_id: str, price: Decimal) -> None:
    rows = log.rows
    rows.append((_MARKET_EXPIRED, log.offset + len(rows) + 1, ts, market_id, price))


def market_listed(log: EventLog, *, ts: int, market_id: str) -> None:
    rows = log.rows
    rows.append((_MARKET_LISTED, log.offset + len(rows) + 1, ts, market_id))


def position_settled(
    log: EventLog,
    *,
    ts: int,
    user_id: str,
    market_id: str,
    margin_mode: str,
    quantity: Decimal,
    price: Decimal,
    amount: Decimal,
) -> None:
    rows = log.rows
    rows.append(
        (
            _POSITION_SETTLED,
            log.offset + len(rows) + 1,
            ts,
            user_id,
            market_id,
            margin_mode,
            quantity,
            price,
            amount,
        )
    )


def curve_set(
    log: EventLog, *, ts: int, underlying: str, front: Decimal, following: Decimal
) -> None:
    rows = log.rows
    rows.append((_CURVE_SET, log.offset + len(rows) + 1, ts, underlying, front, following))


def volatility_set(log: EventLog, *, ts: int, underlying: str, volatility: Decimal) -> None:
    rows = log.rows
    rows.append((_VOLATILITY_SET, log.offset + len(rows) + 1, ts, underlying, volatility))


def surface_set(
    log: EventLog,
    *,
    ts: int,
    underlying: str,
    atm_vol: Decimal,
    term_slope: Decimal,
    skew: Decimal,
    smile: Decimal,
) -> None:
    rows = log.rows
    rows.append(
        (_SURFACE_SET, log.offset + len(rows) + 1, ts, underlying, atm_vol, term_slope, skew, smile)
    )


def account_liquidated(
    log: EventLog,
    *,
    ts: int,
    user_id: str,
    bucket: str,
    margin_mode: str,
    market_id: str | None,
    equity: Decimal,
    maintenance: Decimal,
) -> None:
    rows = log.rows
    rows.append(
        (
            _ACCOUNT_LIQUIDATED,
            log.offset + len(rows) + 1,
            ts,
            user_id,
            bucket,
            margin_mode,
            market_id,
            equity,
            maintenance,
        )
    )


def position_liquidated(
    log: EventLog,
    *,
    ts: int,
    user_id: str,
    market_id: str,
    margin_mode: str,
    side: str,
    quantity: Decimal,
    price: Decimal,
    realized_pnl: Decimal,
) -> None:
    rows = log.rows
    rows.append(
        (
            _POSITION_LIQUIDATED,
            log.offset + len(rows) + 1,
            ts,
            user_id,
            market_id,
            margin_mode,
            side,
            quantity,
            price,
            realized_pnl,
        )
    )


def liquidation_fee_charged(
    log: EventLog, *, ts: int, user_id: str, bucket: str, closed_notional: Decimal, fee: Decimal
) -> None:
    rows = log.rows
    rows.append(
        (
            _LIQUIDATION_FEE_CHARGED,
            log.offset + len(rows) + 1,
            ts,
            user_id,
            bucket,
            closed_notional,
            fee,
        )
    )


def insurance_paid(log: EventLog, *, ts: int, user_id: str, bucket: str, amount: Decimal) -> None:
    rows = log.rows
    rows.append((_INSURANCE_PAID, log.offset + len(rows) + 1, ts, user_id, bucket, amount))


def order_triggered(
    log: EventLog, *, ts: int, order_id: str, user_id: str, market_id: str, mark: Decimal
) -> None:
    rows = log.rows
    rows.append(
        (_ORDER_TRIGGERED, log.offset + len(rows) + 1, ts, order_id, user_id, market_id, mark)
    )


def vault_liquidity_set(log: EventLog, *, ts: int, amount: Decimal | None) -> None:
    rows = log.rows
    rows.append((_VAULT_LIQUIDITY_SET, log.offset + len(rows) + 1, ts, amount))


def withdrawal_failure_armed(log: EventLog, *, ts: int, armed: int) -> None:
    rows = log.rows
    rows.append((_WITHDRAWAL_FAILURE_ARMED, log.offset + len(rows) + 1, ts, armed))
