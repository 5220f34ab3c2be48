"""Typed emission: one keyword-only function per event type (events.py has the types).

Every change of state is logged through one of these, so mypy checks each field at every
emit site; the log stores the values as a plain tuple behind the type's code (events.py says
why). The fields after `ts` are the event type's own, in its order (a test holds the two to
each other).
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
    TradeExecuted,
    UserRegistered,
    VaultLiquiditySet,
    VolatilitySet,
    WithdrawalFailureArmed,
    code_of,
)

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
_ACCOUNT_LIQUIDATED = code_of(AccountLiquidated)
_POSITION_LIQUIDATED = code_of(PositionLiquidated)
_LIQUIDATION_FEE_CHARGED = code_of(LiquidationFeeCharged)
_INSURANCE_PAID = code_of(InsurancePaid)
_ORDER_TRIGGERED = code_of(OrderTriggered)
_VAULT_LIQUIDITY_SET = code_of(VaultLiquiditySet)
_WITHDRAWAL_FAILURE_ARMED = code_of(WithdrawalFailureArmed)


def user_registered(log: EventLog, *, ts: int, user_id: str, wallet_address: str) -> None:
    log.append(_USER_REGISTERED, ts, user_id, wallet_address)


def funds_deposited(
    log: EventLog, *, ts: int, user_id: str, amount: Decimal, tx_hash: str | None
) -> None:
    log.append(_FUNDS_DEPOSITED, ts, user_id, amount, tx_hash)


def funds_transferred(
    log: EventLog, *, ts: int, user_id: str, source: str, target: str, amount: Decimal
) -> None:
    log.append(_FUNDS_TRANSFERRED, ts, user_id, source, target, amount)


def order_accepted(
    log: EventLog,
    *,
    ts: int,
    order_id: str,
    user_id: str,
    market_id: str,
    side: str,
    order_type: str,
    price: Decimal | None,
    quantity: Decimal,
    time_in_force: str,
    post_only: bool,
    reduce_only: bool,
    margin_mode: str,
    client_order_id: str | None,
    quote_id: str | None,
    stop_price: Decimal | None,
    take_profit_price: Decimal | None,
    stop_loss_price: Decimal | None,
) -> None:
    log.append(
        _ORDER_ACCEPTED,
        ts,
        order_id,
        user_id,
        market_id,
        side,
        order_type,
        price,
        quantity,
        time_in_force,
        post_only,
        reduce_only,
        margin_mode,
        client_order_id,
        quote_id,
        stop_price,
        take_profit_price,
        stop_loss_price,
    )


def trade_executed(
    log: EventLog,
    *,
    ts: int,
    trade_id: str,
    market_id: str,
    price: Decimal,
    quantity: Decimal,
    taker_side: str,
    maker_order_id: str,
    maker_user_id: str,
    maker_fee: Decimal,
    maker_position: Decimal | None,
    maker_realized_pnl: Decimal,
    taker_order_id: str,
    taker_user_id: str,
    taker_fee: Decimal,
    taker_position: Decimal | None,
    taker_realized_pnl: Decimal,
) -> None:
    log.append(
        _TRADE_EXECUTED,
        ts,
        trade_id,
        market_id,
        price,
        quantity,
        taker_side,
        maker_order_id,
        maker_user_id,
        maker_fee,
        maker_position,
        maker_realized_pnl,
        taker_order_id,
        taker_user_id,
        taker_fee,
        taker_position,
        taker_realized_pnl,
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
    log.append(_ORDER_CANCELLED, ts, order_id, user_id, market_id, reason, remaining)


def order_expired(
    log: EventLog, *, ts: int, order_id: str, user_id: str, market_id: str, remaining: Decimal
) -> None:
    log.append(_ORDER_EXPIRED, ts, order_id, user_id, market_id, remaining)


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
    log.append(_ORDER_MODIFIED, ts, order_id, user_id, market_id, price, quantity, priority_kept)


def market_halted(log: EventLog, *, ts: int, market_id: str) -> None:
    log.append(_MARKET_HALTED, ts, market_id)


def market_resumed(log: EventLog, *, ts: int, market_id: str) -> None:
    log.append(_MARKET_RESUMED, ts, market_id)


def index_set(log: EventLog, *, ts: int, underlying: str, price: Decimal | None) -> None:
    log.append(_INDEX_SET, ts, underlying, price)


def mark_pinned(log: EventLog, *, ts: int, market_id: str, price: Decimal | None) -> None:
    log.append(_MARK_PINNED, ts, market_id, price)


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
    log.append(_SETTLEMENT_CHANGED, ts, settlement_id, user_id, kind, status, amount, tx_hash)


def funding_paid(
    log: EventLog, *, ts: int, user_id: str, market_id: str, margin_mode: str, amount: Decimal
) -> None:
    log.append(_FUNDING_PAID, ts, user_id, market_id, margin_mode, amount)


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
    log.append(_FUNDING_SETTLED, ts, market_id, rate, mark, open_interest, amount)


def market_expired(log: EventLog, *, ts: int, market_id: str, price: Decimal) -> None:
    log.append(_MARKET_EXPIRED, ts, market_id, price)


def market_listed(log: EventLog, *, ts: int, market_id: str) -> None:
    log.append(_MARKET_LISTED, ts, market_id)


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
    log.append(_POSITION_SETTLED, ts, user_id, market_id, margin_mode, quantity, price, amount)


def curve_set(
    log: EventLog, *, ts: int, underlying: str, front: Decimal, following: Decimal
) -> None:
    log.append(_CURVE_SET, ts, underlying, front, following)


def volatility_set(log: EventLog, *, ts: int, underlying: str, volatility: Decimal) -> None:
    log.append(_VOLATILITY_SET, ts, underlying, volatility)


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
    log.append(
        _ACCOUNT_LIQUIDATED, ts, user_id, bucket, margin_mode, market_id, equity, maintenance
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
    log.append(
        _POSITION_LIQUIDATED,
        ts,
        user_id,
        market_id,
        margin_mode,
        side,
        quantity,
        price,
        realized_pnl,
    )


def liquidation_fee_charged(
    log: EventLog, *, ts: int, user_id: str, bucket: str, closed_notional: Decimal, fee: Decimal
) -> None:
    log.append(_LIQUIDATION_FEE_CHARGED, ts, user_id, bucket, closed_notional, fee)


def insurance_paid(log: EventLog, *, ts: int, user_id: str, bucket: str, amount: Decimal) -> None:
    log.append(_INSURANCE_PAID, ts, user_id, bucket, amount)


def order_triggered(
    log: EventLog, *, ts: int, order_id: str, user_id: str, market_id: str, mark: Decimal
) -> None:
    log.append(_ORDER_TRIGGERED, ts, order_id, user_id, market_id, mark)


def vault_liquidity_set(log: EventLog, *, ts: int, amount: Decimal | None) -> None:
    log.append(_VAULT_LIQUIDITY_SET, ts, amount)


def withdrawal_failure_armed(log: EventLog, *, ts: int, armed: int) -> None:
    log.append(_WITHDRAWAL_FAILURE_ARMED, ts, armed)
