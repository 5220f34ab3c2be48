"""`ocx-sim serve --log-events`: one short line for each notable thing a world did.

A line is `{instant} {what} {details}`: a fill (`TradeExecuted`), a liquidation
(`AccountLiquidated`, and the insurance fund's takeover, `PositionLiquidated`), a funding
payment (`FundingPaid`, and the period's close, `FundingSettled`), an expiry and its
settlements (`MarketExpired`, `PositionSettled`), a withdrawal's change of status
(`SettlementChanged` of a withdrawal) and a request a fault rule hit (`FaultHit`). Every other
event is not notable: `line` answers None for it. Decimals are printed as the log holds them.
"""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.clock import format_ms
from ocx_sim.engine.core.events import (
    AccountLiquidated,
    Event,
    FundingPaid,
    FundingSettled,
    MarketExpired,
    PositionLiquidated,
    PositionSettled,
    SettlementChanged,
    TradeExecuted,
)
from ocx_sim.worlds.faults import FaultHit

WITHDRAWAL = "withdrawal"


def _d(value: Decimal) -> str:
    return f"{value:f}"


def _what(event: Event) -> str | None:
    """The line after its instant, or None when the event is not notable."""
    match event:
        case TradeExecuted():
            return (
                f"fill {event.market_id} {event.taker_side} {_d(event.quantity)} @ "
                f"{_d(event.price)} taker {event.taker_user_id} maker {event.maker_user_id}"
            )
        case AccountLiquidated():
            where = event.market_id or "cross"
            return (
                f"liquidation user {event.user_id} {event.bucket} {where}: equity "
                f"{_d(event.equity)} below maintenance {_d(event.maintenance)}"
            )
        case PositionLiquidated():
            return (
                f"liquidation takeover {event.market_id} {event.side} {_d(event.quantity)} @ "
                f"{_d(event.price)} user {event.user_id} by the insurance fund"
            )
        case FundingPaid():
            verb = "paid" if event.amount < 0 else "received"
            return f"funding {event.market_id} user {event.user_id} {verb} {_d(abs(event.amount))}"
        case FundingSettled():
            return (
                f"funding {event.market_id} settled: rate {_d(event.rate)} on mark "
                f"{_d(event.mark)}, open interest {_d(event.open_interest)}"
            )
        case MarketExpired():
            return f"expiry {event.market_id} settles at {_d(event.price)}"
        case PositionSettled():
            return (
                f"settlement {event.market_id} user {event.user_id} {_d(event.quantity)} @ "
                f"{_d(event.price)}: {_d(event.amount)}"
            )
        case SettlementChanged() if event.kind == WITHDRAWAL:
            return (
                f"withdrawal {event.settlement_id} user {event.user_id} {event.status} "
                f"{_d(event.amount)}"
            )
    return None


def line(event: Event) -> str | None:
    """The event's line, or None when it is not notable (module docstring)."""
    what = _what(event)
    return None if what is None else f"{format_ms(event.ts)} {what}"


def fault_line(hit: FaultHit) -> str:
    who = "" if hit.user_id is None else f" user {hit.user_id}"
    left = "until removed" if hit.remaining is None else f"{hit.remaining} left"
    return (
        f"{format_ms(hit.time_ms)} fault {hit.fault_id} {hit.type.value} hit "
        f"{hit.method} {hit.path}{who} ({left})"
    )
