"""`preview_order`: what an order would cost and whether it would pass, changing nothing.

The preview runs every check a new order meets (admission.py), in the same order, on the same
state (docs/fidelity.md "Order endpoints"): bad input is still 400 and an unknown market 404, but a
business refusal (409, 422, 503, an unaffordable spot order) comes back as `approved: false`
with its reason instead of an error. `marginRequired` is the order's own margin, fees excluded:
on a linear market that of the part that would increase the position, once the user's resting
orders on its side have absorbed their share of it ("0" for an order that only closes, which is
approved whatever the available margin); on an option market the growth of the options bucket's
order margin (core/options_risk.py: a bid's premium, a sell's scenario margin; "0" for an order
that only closes); for a spot bid, what it would lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.commands import admission
from ocx_sim.engine.commands.admission import Ticket
from ocx_sim.engine.commands.records import spot_lock
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.matching import crosses
from ocx_sim.engine.core.money import ZERO, bps_of
from ocx_sim.engine.core.orders import FeeRole, OrderRequest, OrderType, Side
from ocx_sim.engine.state import State
from ocx_sim.errors import ErrorCode, OcxError

_BUY = Side.BUY
_MARKET = OrderType.MARKET


@dataclass(frozen=True, slots=True)
class Preview:
    """`/perps/orders/preview`: what the order would cost, with no side effects."""

    notional: Decimal
    margin_required: Decimal
    est_fee: Decimal
    fee_bps: Decimal
    fee_role: FeeRole
    user_30d_volume: Decimal
    approved: bool
    reason: str | None = None
    reason_code: str | None = None


def preview_order(state: State, user_id: str, request: OrderRequest) -> Preview:
    """Price the order and run every check an order would meet, changing nothing.
    Bad input still answers 400 and an unknown market 404; a business refusal comes
    back as `approved: false` with its reason."""
    user = state.user(user_id)
    spec = state.market(request.market_id)
    ticket = admission.validate(spec, request)
    now = state.now
    book = state.book(spec.id)
    is_buy = request.side is _BUY
    approved, reason, reason_code = True, None, None
    priced = False
    try:
        admission.check_market(state, spec, ticket, now)
        priced = True
        admission.check_account(state, user, spec, ticket, now)
        # A stop meets the book only when it fires (execution.py), so the book cannot refuse
        # its placement.
        if request.stop_price is None:
            if request.post_only and crosses(book, is_buy, ticket.limit_ticks):
                raise OcxError(ErrorCode.POST_ONLY_WOULD_TAKE)
            if request.type is _MARKET and not fill_estimate(state, user, spec, ticket)[0]:
                raise OcxError(ErrorCode.NO_LIQUIDITY)
    except OcxError as refusal:
        if refusal.code is ErrorCode.VALIDATION_ERROR or refusal.status == 404:
            raise
        approved, reason, reason_code = False, refusal.message, refusal.code.value

    takes = request.type is _MARKET or (
        not request.post_only and priced and crosses(book, is_buy, ticket.limit_ticks)
    )
    role = FeeRole.TAKER if takes else FeeRole.MAKER
    # Margin (or a spot lock) is held at the ticket's price; notional and fee are what the
    # order would trade at: its limit, or for a market order the book's average within
    # reach (the mark when there is nothing to estimate from).
    held_at = price = ticket.reference_price
    if request.type is _MARKET and priced:
        filled, estimate = fill_estimate(state, user, spec, ticket)
        if filled:
            price = estimate
    notional = price * request.quantity
    volume = state.volume.volume(user.user_id, state.now)
    if spec.is_option:
        option_fees = state.fees.options_for(spec)
        fee_bps = option_fees.bps(role)
        index = state.prices.index(spec.underlying)
        est_fee = option_fees.fee(role, request.quantity, price, index)
    else:
        fee_bps = state.fees.tier_of(spec, volume).bps(role)
        est_fee = bps_of(notional, fee_bps)
    if spec.is_spot:
        margin = spot_lock(state, spec, request.side, request.quantity, held_at)[1]
        margin = margin if request.side is _BUY else ZERO
    elif request.reduce_only:
        margin = ZERO
    elif spec.is_option:
        need, closing = admission.option_need(state, user, spec, request, held_at, now)
        margin = ZERO if closing else max(need.margin, ZERO)
    else:
        # The increasing part only (docs/fidelity.md "Fees and risk"): "0" for an order that
        # only closes.
        lots = state.risk.increasing_lots(
            user, spec, request.side, request.margin_mode, ticket.lots
        )
        quantity = spec.quantity(lots)
        margin = state.risk.order_margin(spec, request.side, quantity, held_at, False)
    return Preview(
        notional=notional,
        margin_required=margin,
        est_fee=est_fee,
        fee_bps=fee_bps,
        fee_role=role,
        user_30d_volume=volume,
        approved=approved,
        reason=reason,
        reason_code=reason_code,
    )


def fill_estimate(
    state: State, user: User, spec: MarketSpec, ticket: Ticket
) -> tuple[int, Decimal]:
    """(lots others would fill, their average price) for a market order, without touching the
    book."""
    book = state.book(spec.id)
    is_buy = ticket.request.side is _BUY
    wanted, filled, cost = ticket.lots, 0, 0
    for level in book.levels(not is_buy, through=ticket.limit_ticks):
        for resting in level:
            if resting.owner != user.user_id and filled < wanted:
                lots = min(resting.remaining, wanted - filled)
                filled += lots
                cost += lots * level.ticks
        if filled >= wanted:
            break
    if not filled:
        return 0, ZERO
    return filled, spec.tick * Decimal(cost) / filled
