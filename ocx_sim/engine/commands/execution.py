"""Match → settle: an admitted order meets the book, and what happened is settled.

- `execute`: a new order (or a bulk quote) is matched (core/matching.py), accepted into the
  lists, and its match settled (settlement.py);
- `place_untriggered`: a stop is accepted `untriggered` and armed; the mark may already cross
  it, and then it fires at once (docs/fidelity.md "Trigger orders");
- `fire_if_crossed`: an armed order whose mark crosses its trigger leaves the untriggered set
  (`OrderTriggered`), meets its checks again (admission.py) and is matched as its type and
  price, keeping its id; refused, it ends `cancelled` with reason `trigger_rejected`. The
  price watcher (reactions/triggers.py) fires through it too.

Every settle may arm take-profit/stop-loss children (brackets.py); a child the mark already
crosses when it is armed fires at once, before anything else happens, so `settle_and_fire`
follows every settle here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from ocx_sim.engine.commands import admission, brackets, records
from ocx_sim.engine.commands.admission import Ticket
from ocx_sim.engine.commands.settlement import settle
from ocx_sim.engine.core import emit
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketSpec, MarketType
from ocx_sim.engine.core.matching import MatchResult, match
from ocx_sim.engine.core.orders import (
    CancelReason,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from ocx_sim.engine.core.trigger_book import Armed
from ocx_sim.engine.state import State
from ocx_sim.errors import OcxError

_LIMIT = OrderType.LIMIT
_PERP = MarketType.PERP
_GTC = TimeInForce.GTC
_FOK = TimeInForce.FOK
_OPEN = OrderStatus.OPEN
_CANCELLED = OrderStatus.CANCELLED


class Placement(NamedTuple):
    """An accepted order as it stands after matching, and the fills it took."""

    order: Order
    fills: list[Fill]


def execute(state: State, user: User, spec: MarketSpec, ticket: Ticket, now: int) -> Placement:
    """Match an admitted order, then accept it and settle what happened. A refusal by the book
    (post-only would take, nothing to take) comes before anything changed."""
    request = ticket.request
    order = Order(state.ids.ulid(now), user.user_id, request, ticket.limit_ticks, ticket.lots, now)
    result = _match(state, spec, order, ticket.limit_ticks)
    records.accept(state, user, spec, order)
    if request.take_profit_price is not None or request.stop_loss_price is not None:
        brackets.watch_entry(state, order)
    # `settle_and_fire`, written out: every order passes here.
    fills, fresh = settle(state, spec, order, result)
    for armed in fresh:
        fire_if_crossed(state, armed)
    return Placement(order, fills)


def place_untriggered(
    state: State, user: User, spec: MarketSpec, ticket: Ticket, stop_price: Decimal, now: int
) -> Placement:
    """Accept a stop `untriggered` and arm it; it fires at once if the mark crosses it."""
    order = records.accept_untriggered(state, user, spec, ticket.request, ticket.lots, now)
    armed = brackets.arm_stop(state, order, stop_price)
    return Placement(order, fire_if_crossed(state, armed))


def settle_and_fire(
    state: State, spec: MarketSpec, taker: Order, result: MatchResult
) -> list[Fill]:
    """Settle a match, then fire the take-profit/stop-loss children it armed that the mark
    already crosses. Returns the taker's fills."""
    fills, fresh = settle(state, spec, taker, result)
    for armed in fresh:
        fire_if_crossed(state, armed)
    return fills


def fire_if_crossed(state: State, armed: Armed) -> list[Fill]:
    """Fire `armed` if it is still armed and its market's mark crosses it now (an earlier
    firing may have cancelled it, or moved the mark)."""
    order = armed.order
    if state.triggers.armed_of(order) is not armed:
        return []
    if not brackets.still_waiting(state, armed):
        return []
    mark = state.prices.mark(state.catalog.markets[order.market_id], state.now)
    if mark is None or not armed.crossed(mark):
        return []
    return _fire(state, armed, mark)


def _fire(state: State, armed: Armed, mark: Decimal) -> list[Fill]:
    """The order leaves the untriggered set and goes to market as its type and price; refused,
    it is cancelled (`trigger_rejected`) and nothing else changes."""
    order = armed.order
    state.triggers.disarm(armed)
    emit.order_triggered(
        state.events,
        ts=state.now,
        order_id=order.id,
        user_id=order.owner,
        market_id=order.market_id,
        mark=mark,
    )
    try:
        spec, result = _activate(state, order)
    except OcxError:
        records.end(state, order, _CANCELLED, CancelReason.TRIGGER_REJECTED)
        return []
    if armed.entry_id is not None:
        brackets.cancel_siblings(state, armed.entry_id, order)
    elif order.take_profit_price is not None or order.stop_loss_price is not None:
        brackets.watch_entry(state, order)
    return settle_and_fire(state, spec, order, result)


def _activate(state: State, order: Order) -> tuple[MarketSpec, MatchResult]:
    """Bring a fired `untriggered` order to the market (it keeps its id and enters the book as
    its type and price): its checks again, then matching. Raises the refusal and changes
    nothing when one fails; else the order is open, matched and ready to settle."""
    user = state.user(order.owner)
    spec = state.market(order.market_id)
    ticket = admission.admit_activation(state, user, spec, order, state.now)
    if ticket.lots < order.lots:
        # A reduce-only order closes no more than the position it finds (a take-profit or
        # stop-loss after a partial close): trimmed, as it would have been resting.
        records.trim(state, spec, order, ticket.lots - order.filled_lots)
    order.ticks = ticket.limit_ticks
    result = _match(state, spec, order, ticket.limit_ticks)
    order.status = _OPEN
    order.updated_at = state.now
    if spec.type is _PERP:
        state.facts.perp_book = True
    return spec, result


def _match(state: State, spec: MarketSpec, order: Order, limit_ticks: int) -> MatchResult:
    """The order against its book as its type and time in force say: only a GTC limit
    remainder rests, a FOK fills whole or not at all, a market order needs something to take."""
    is_limit = order.type is _LIMIT
    return match(
        state.book(spec.id),
        order,
        limit_ticks,
        rest=is_limit and order.time_in_force is _GTC,
        fok=order.time_in_force is _FOK,
        post_only=order.post_only,
        market=not is_limit,
    )
