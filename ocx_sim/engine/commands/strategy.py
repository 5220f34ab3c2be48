"""Multi-leg option strategies: 2 to 8 legs on one underlying, placed and filled together.

docs/fidelity.md "Strategies" (OCX: "combos are all-or-none-immediate",
https://docs.ocx.global/api-reference/rest):
- every leg is checked as an order first (its terms 400 naming `legs[i].field`, its market 404,
  halted or expired 409, no index 503); a leg that is not an option, a market named twice or a
  second underlying is 400 naming `legs[i].market`;
- with `all_or_none` (the default) each leg is a fill-or-kill order at its limit and the set is
  accepted only if every leg fills in full against the others' resting orders (own orders do
  not count: self-trade prevention would cancel them) — else 422 STRATEGY_NOT_FILLED and nothing
  happened at all: no order, fill, ledger entry, event or book change. Its margin is that of the
  whole set as filled at once (the options portfolio margin), so a spread pays as a spread,
  and its net debit must fit the options cash;
- without it each leg is an immediate-or-cancel order, run in request order; since any subset
  of the legs may fill, the set must fit the sum of each leg's own margin, and every buy's
  premium the cash;
- margin is checked before liquidity (as for a single order), 422 INSUFFICIENT_MARGIN;
- the legs are real CLOB orders (`timeInForce` fok or ioc), listed like any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from ocx_sim.engine.commands import admission
from ocx_sim.engine.commands.admission import Ticket
from ocx_sim.engine.commands.execution import Placement, execute
from ocx_sim.engine.commands.preview import fill_estimate
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.money import ZERO
from ocx_sim.engine.core.options_risk import OptionNeed
from ocx_sim.engine.core.orders import FeeRole, OrderRequest, OrderType, Side, TimeInForce
from ocx_sim.engine.state import State
from ocx_sim.errors import ErrorCode, OcxError, invalid

MIN_LEGS = 2
MAX_LEGS = 8
_BUY = Side.BUY


@dataclass(frozen=True, slots=True)
class StrategyLeg:
    market_id: str
    side: Side
    quantity: Decimal
    price: Decimal


class StrategyResult(NamedTuple):
    strategy_id: str
    fully_filled: bool
    legs: list[Placement]
    """In request order."""


class LegPreview(NamedTuple):
    leg: StrategyLeg
    est_fee: Decimal
    fee_bps: Decimal
    fee_role: FeeRole


class StrategyPreview(NamedTuple):
    approved: bool
    fully_filled: bool
    legs: list[LegPreview]
    est_fee: Decimal
    margin_required: Decimal
    reason: str | None = None
    reason_code: str | None = None


class _Leg(NamedTuple):
    spec: MarketSpec
    ticket: Ticket


def place_strategy(
    state: State, user_id: str, legs: list[StrategyLeg], all_or_none: bool = True
) -> StrategyResult:
    """Admit the set (module docstring), then run its legs in request order."""
    now = state.now
    user = state.user(user_id)
    admitted = _admit(state, user, legs, all_or_none, now)
    _check_funds(state, user, admitted, all_or_none, now)
    if all_or_none and not _fills_in_full(state, user, admitted):
        raise OcxError(
            ErrorCode.STRATEGY_NOT_FILLED,
            "Not every leg can fill in full at its limit: nothing was placed",
        )
    strategy_id = state.ids.ulid(now)
    placements = [execute(state, user, leg.spec, leg.ticket, now) for leg in admitted]
    fully_filled = all(not p.order.remaining for p in placements)
    return StrategyResult(strategy_id, fully_filled, placements)


def preview_strategy(
    state: State, user_id: str, legs: list[StrategyLeg], all_or_none: bool = True
) -> StrategyPreview:
    """What the strategy would cost and whether it would pass, changing nothing; bad input is
    still 400 and an unknown market 404, a business refusal `approved: false` with its
    reason and the code the real call would answer."""
    now = state.now
    user = state.user(user_id)
    admitted = _admit(state, user, legs, all_or_none, now)
    fully_filled = _fills_in_full(state, user, admitted)
    previews = [
        _leg_preview(state, user, leg, request) for leg, request in zip(admitted, legs, strict=True)
    ]
    margin = _requirement(state, user, admitted, all_or_none, now)
    approved, reason, code = True, None, None
    try:
        _check_funds(state, user, admitted, all_or_none, now)
        if all_or_none and not fully_filled:
            raise OcxError(ErrorCode.STRATEGY_NOT_FILLED)
    except OcxError as refusal:
        approved, reason, code = False, refusal.message, refusal.code.value
    return StrategyPreview(
        approved=approved,
        fully_filled=fully_filled,
        legs=previews,
        est_fee=sum((p.est_fee for p in previews), ZERO),
        margin_required=margin,
        reason=reason,
        reason_code=code,
    )


# -- admission --------------------------------------------------------------------------------


def _admit(
    state: State, user: User, legs: list[StrategyLeg], all_or_none: bool, now: int
) -> list[_Leg]:
    if not MIN_LEGS <= len(legs) <= MAX_LEGS:
        raise invalid("legs", f"a strategy has {MIN_LEGS} to {MAX_LEGS} legs, got {len(legs)}")
    time_in_force = TimeInForce.FOK if all_or_none else TimeInForce.IOC
    admitted: list[_Leg] = []
    for i, leg in enumerate(legs):
        prefix = f"legs[{i}]."
        spec = state.market(leg.market_id)
        if not spec.is_option:
            raise invalid(prefix + "market", f"{spec.id} is not an option: legs trade options")
        if any(other.spec.id == spec.id for other in admitted):
            raise invalid(prefix + "market", f"{spec.id} is named by an earlier leg")
        if admitted and spec.underlying != admitted[0].spec.underlying:
            raise invalid(
                prefix + "market",
                f"every leg is on one underlying ({admitted[0].spec.underlying}), "
                f"not {spec.underlying}",
            )
        request = OrderRequest(
            market_id=spec.id,
            side=leg.side,
            quantity=leg.quantity,
            type=OrderType.LIMIT,
            price=leg.price,
            time_in_force=time_in_force,
        )
        admitted.append(_Leg(spec, admission.validate(spec, request, prefix)))
    for spec, ticket in admitted:
        admission.check_market(state, spec, ticket, now)
    return admitted


def _fills_in_full(state: State, user: User, admitted: list[_Leg]) -> bool:
    return all(
        fill_estimate(state, user, leg.spec, leg.ticket)[0] == leg.ticket.lots for leg in admitted
    )


def _requirement(
    state: State, user: User, admitted: list[_Leg], all_or_none: bool, now: int
) -> Decimal:
    """The drop in the options bucket's available margin the set may cause: all or none, the
    legs filled at once (core/risk.py `options_requirement`: a spread pays as a spread);
    otherwise each leg's own, summed, since any subset may fill."""
    legs = [_terms(leg) for leg in admitted]
    if all_or_none:
        return max(state.risk.options_requirement(user, legs, now), ZERO)
    return sum((max(state.risk.options_requirement(user, [leg], now), ZERO) for leg in legs), ZERO)


def _check_funds(
    state: State, user: User, admitted: list[_Leg], all_or_none: bool, now: int
) -> None:
    """422 INSUFFICIENT_MARGIN unless the set's margin and every leg's worst-case fee fit the
    available margin, and the premium it pays fits the cash (core/risk.py `approve_options`):
    all or none, the net debit; otherwise every buy's premium, as if no sell filled."""
    fees = sum(
        (
            admission.worst_fee(
                state, user, leg.spec, leg.ticket.request.quantity, _price(leg), False, now
            )
            for leg in admitted
        ),
        ZERO,
    )
    premiums = [
        leg.ticket.request.quantity * _price(leg) * (1 if leg.ticket.request.side is _BUY else -1)
        for leg in admitted
    ]
    paid = sum(premiums, ZERO) if all_or_none else sum((p for p in premiums if p > 0), ZERO)
    need = OptionNeed(_requirement(state, user, admitted, all_or_none, now), max(paid, ZERO))
    state.risk.approve_options(user, admitted[0].spec, need, fees, now)


def _terms(leg: _Leg) -> tuple[MarketSpec, Side, Decimal, Decimal]:
    request = leg.ticket.request
    return leg.spec, request.side, request.quantity, _price(leg)


def _price(leg: _Leg) -> Decimal:
    return leg.ticket.reference_price


def _leg_preview(state: State, user: User, leg: _Leg, request: StrategyLeg) -> LegPreview:
    """A leg takes liquidity: the taker's fee on what it would fill (at the book's average
    within its limit), or at its limit when nothing would."""
    fees = state.fees.options_for(leg.spec)
    filled, average = fill_estimate(state, user, leg.spec, leg.ticket)
    price = average if filled else _price(leg)
    index = state.prices.index(leg.spec.underlying)
    fee = fees.fee(FeeRole.TAKER, request.quantity, price, index)
    return LegPreview(request, fee, fees.bps(FeeRole.TAKER), FeeRole.TAKER)
