"""Single-order commands: place, close a position, cancel, cancel all, modify.

Each is admit (admission.py) → match → settle (execution.py), and returns what it did; a
refused order changes nothing. An order with `stopPrice` waits `untriggered` (execution.py);
one with `takeProfitPrice`/`stopLossPrice` is placed as usual and its fills arm its children
(brackets.py).
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from ocx_sim.engine.commands import admission, records
from ocx_sim.engine.commands.execution import Placement, execute, place_untriggered, settle_and_fire
from ocx_sim.engine.core.markets import MarketSpec, Venue
from ocx_sim.engine.core.matching import match
from ocx_sim.engine.core.money import ZERO
from ocx_sim.engine.core.orders import (
    CancelReason,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from ocx_sim.engine.state import State
from ocx_sim.errors import ErrorCode, OcxError, invalid

_CANCELLED = OrderStatus.CANCELLED


def place_order(state: State, user_id: str, request: OrderRequest) -> Placement:
    now = state.clock.now_ms
    user = state.user(user_id)
    spec = state.market(request.market_id)
    ticket = admission.admit(state, user, spec, request, now)
    if request.stop_price is not None:
        return place_untriggered(state, user, spec, ticket, request.stop_price, now)
    return execute(state, user, spec, ticket, now)


def close_position(
    state: State,
    user_id: str,
    market_id: str,
    *,
    quantity: Decimal | None = None,
    margin_mode: MarginMode = MarginMode.CROSS,
    order_type: OrderType = OrderType.MARKET,
    price: Decimal | None = None,
    time_in_force: TimeInForce = TimeInForce.GTC,
) -> Placement:
    """`/perps/positions/close`: a reduce-only order against the position, for all of it or
    `quantity` of it; 404 NOT_FOUND when there is no position to close."""
    user = state.user(user_id)
    spec = state.market(market_id)
    held = user.position(spec.id, margin_mode)
    size = held.size if held is not None else ZERO
    request = OrderRequest(
        market_id=spec.id,
        side=Side.SELL if size > 0 else Side.BUY,
        quantity=quantity if quantity is not None else abs(size) or spec.min_quantity,
        type=order_type,
        price=price,
        time_in_force=time_in_force,
        reduce_only=True,
        margin_mode=margin_mode,
    )
    # Bad input is 400 before the missing position is 404 (admission.py's order).
    admission.validate(spec, request)
    if not size:
        raise OcxError(
            ErrorCode.NOT_FOUND,
            f"No open {margin_mode.value} position in {spec.id}",
            {"marketId": spec.id},
        )
    return place_order(state, user_id, request)


def cancel_order(
    state: State, user_id: str, order_id: str, venues: Collection[Venue] | None = None
) -> Order:
    """Cancel one open order (works on halted markets too)."""
    user = state.user(user_id)
    order = state.users_order(user, order_id, venues)
    admission.require_open(order)
    records.end(state, order, _CANCELLED, CancelReason.USER)
    return order


def cancel_all(
    state: State,
    user_id: str,
    *,
    market_id: str | None = None,
    quote_id: str | None = None,
    client_order_id: str | None = None,
    margin_mode: MarginMode | None = None,
    venues: Collection[Venue] | None = None,
) -> list[str]:
    """Cancel the user's open orders that match every given scope; their ids, oldest first."""
    user = state.user(user_id)
    if market_id is not None:
        state.market(market_id)
    markets = state.catalog.markets
    doomed = [
        o
        for o in user.open_orders.values()
        if (market_id is None or o.market_id == market_id)
        and (quote_id is None or o.quote_id == quote_id)
        and (client_order_id is None or o.client_order_id == client_order_id)
        and (margin_mode is None or o.margin_mode is margin_mode)
        and (venues is None or markets[o.market_id].venue in venues)
    ]
    for order in doomed:
        records.end(state, order, _CANCELLED, CancelReason.CANCEL_ALL)
    # It may reach any market: the price tick looks at all of them.
    state.facts.wake = True
    return [o.id for o in doomed]


def modify_order(
    state: State,
    user_id: str,
    order_id: str,
    price: Decimal | None = None,
    quantity: Decimal | None = None,
    venues: Collection[Venue] | None = None,
) -> Placement:
    """Change a resting order's price and/or total quantity: a smaller quantity at the same
    price keeps its place in the queue; a new price or a larger quantity sends it to the back,
    and a new price that crosses trades at once (docs/fidelity.md "Orders")."""
    if price is None and quantity is None:
        raise invalid("price", "give a new price, a new quantity, or both")
    user = state.user(user_id)
    order = state.users_order(user, order_id, venues)
    spec = state.market(order.market_id)
    ticks, lots = admission.admit_change(state, user, spec, order, price, quantity)
    book = state.book(spec.id)
    if ticks == order.ticks and lots <= order.lots:
        if lots < order.lots:
            book.reduce(order, order.lots - lots)
        _resize(state, order, spec, lots)
        records.order_modified(state, spec, order, price=order.price, priority_kept=True)
        records.reserve(state, user, spec, order)
        return Placement(order, [])
    book.remove(order)
    # What it held at its old price goes back; it holds anew if it rests at the new one.
    records.release(user, spec, order)
    order.ticks = ticks
    order.price = spec.price(ticks)
    order.remaining = lots - order.filled_lots
    _resize(state, order, spec, lots)
    records.order_modified(state, spec, order, price=order.price, priority_kept=False)
    result = match(book, order, ticks, rest=True)
    return Placement(order, settle_and_fire(state, spec, order, result))


def _resize(state: State, order: Order, spec: MarketSpec, lots: int) -> None:
    order.lots = lots
    order.quantity = spec.quantity(lots)
    order.updated_at = state.clock.now_ms
