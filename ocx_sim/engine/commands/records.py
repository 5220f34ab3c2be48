"""An order's place in the exchange's lists, and what it holds while it rests.

- `accept`: a new order enters the exchange's and its user's lists (its clientOrderId taken)
  and the log (`OrderAccepted`, trigger prices included: they decide when a stop fires);
- `reserve`: while an order rests, what it holds follows its remaining quantity (on a linear
  market its lots in its owner's ladder, whose margin counts only what would increase the
  position, core/order_margin.py; a lock of inventory on spot), so a user's totals always equal
  what their resting orders hold. Option orders are margined as a portfolio, worked out on
  demand (core/options_risk.py): any change of a resting one bumps its owner's
  `option_orders_epoch`, which the cached figures are keyed on;
- `order_modified`: its price or quantity changed (`OrderModified`); `trim` cuts a reduce-only
  order down to the position it closes;
- `end`: a filled, cancelled or expired order leaves the book, gives back what it held and
  leaves the open lists (`OrderCancelled` or `OrderExpired`; a fill's own events say it
  filled); its clientOrderId stays taken for 24 hours (admission.py).

Each records in `state.facts` whether a perpetual's book changed: it moves its mark's basis.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from ocx_sim.engine.core import emit
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketSpec, MarketType, Venue
from ocx_sim.engine.core.money import USDC, USDC_QUANTUM, ZERO
from ocx_sim.engine.core.order_margin import Ladder
from ocx_sim.engine.core.orders import CancelReason, Order, OrderRequest, OrderStatus, Side
from ocx_sim.engine.state import State

_BUY = Side.BUY
_PERP = MarketType.PERP
_PERPS = Venue.PERPS
_CANCELLED = OrderStatus.CANCELLED
_EXPIRED = OrderStatus.EXPIRED
_UNTRIGGERED = OrderStatus.UNTRIGGERED


def accept(state: State, user: User, spec: MarketSpec, order: Order) -> None:
    """Put a new order in the exchange's and the user's lists and log `OrderAccepted`."""
    state.orders[order.id] = order
    user.orders[order.id] = order
    user.open_orders[order.id] = order
    counts = user.open_counts
    counts[order.market_id] = counts.get(order.market_id, 0) + 1
    if order.reduce_only:
        user.reduce_only_orders[order.id] = order
    if order.client_order_id is not None:
        # Taken while the order is open and for 24 h after it ends (admission.py).
        user.client_order_ids[(cid_venue(spec), order.client_order_id)] = order
    if spec.type is _PERP:
        state.facts.perp_book = True
    emit.order_accepted(state.events, ts=order.created_at, order=order)


def cid_venue(spec: MarketSpec) -> str:
    """The venue a clientOrderId is unique in: perps (perpetuals and futures) or the CLOB
    (spot and options)."""
    return "perps" if spec.venue is _PERPS else "clob"


def accept_untriggered(
    state: State, user: User, spec: MarketSpec, request: OrderRequest, lots: int, now: int
) -> Order:
    """A new `untriggered` order: in the lists (its clientOrderId taken) and logged, but off the
    book and holding nothing (docs/fidelity.md "Trigger orders": margin is checked at placement,
    not held). Untriggered, it rests nowhere, so it stays out of the reduce-only set until it
    fires."""
    order = Order(state.ids.ulid(now), user.user_id, request, 0, lots, now)
    order.status = _UNTRIGGERED
    accept(state, user, spec, order)
    return order


def order_modified(
    state: State, spec: MarketSpec, order: Order, *, price: Decimal | None, priority_kept: bool
) -> None:
    """Log that an order's price or quantity changed (`OrderModified`, its quantity as it is
    now; `price` None when only the quantity moved, as for a growing take-profit child)."""
    if spec.type is _PERP:
        state.facts.perp_book = True
    emit.order_modified(
        state.events,
        ts=state.now,
        order_id=order.id,
        user_id=order.owner,
        market_id=order.market_id,
        price=price,
        quantity=order.quantity,
        priority_kept=priority_kept,
    )


def trim(state: State, spec: MarketSpec, order: Order, remaining: int) -> None:
    """Trim an open reduce-only order's remainder to `remaining` lots, fewer than it has
    (docs/fidelity.md "Orders"): its quantity becomes what filled plus that, it keeps its id,
    status and place in the queue, and `OrderModified` says so."""
    filled = order.filled_lots
    if order.level is not None:
        state.book(spec.id).reduce(order, order.remaining - remaining)
    else:
        order.remaining = remaining
    order.lots = filled + remaining
    order.quantity = spec.quantity(order.lots)
    order.updated_at = state.now
    order_modified(state, spec, order, price=order.price, priority_kept=True)


def spot_lock(
    state: State, spec: MarketSpec, side: Side, quantity: Decimal, price: Decimal
) -> tuple[str, Decimal]:
    """(asset, amount) a spot order of `quantity` at worst `price` must lock: a bid its cost
    plus the dearest taker fee in USDC, an ask its base quantity."""
    if side is _BUY:
        factor = state.fees.spot_lock_factor(spec)
        return USDC, (quantity * price * factor).quantize(USDC_QUANTUM, ROUND_UP)
    return spec.base, quantity


def reserve(state: State, user: User, spec: MarketSpec, order: Order) -> None:
    """Make what a resting `order` holds match its remaining quantity: on a linear market its
    lots in its owner's ladder (none if reduce-only), whose margin `Risk.open_order_margin`
    works out; on an option market, a new epoch of its owner's option orders; on spot a
    lock."""
    if spec.is_spot:
        price = order.price if order.price is not None else ZERO
        remaining = spec.quantity(order.remaining)
        asset, lock = spot_lock(state, spec, order.side, remaining, price)
        if lock != order.lock:
            locked = user.spot_locked
            locked[asset] = locked.get(asset, ZERO) + lock - order.lock
            order.lock = lock
    elif spec.is_option:
        user.option_orders_epoch += 1
    else:
        held = 0 if order.reduce_only else order.remaining
        if held != order.held_lots:
            key = (spec.id, order.margin_mode)
            ladder = user.ladders.get(key)
            if ladder is None:
                ladder = user.ladders[key] = Ladder.of(spec)
            ladder.add(order.is_buy, order.ticks, held - order.held_lots)
            order.held_lots = held
            user.ladders_stale = True


def end(
    state: State, order: Order, status: OrderStatus, reason: CancelReason | None = None
) -> None:
    """Finish an order: off the book, holdings released, out of the open lists, and an
    `OrderCancelled` or `OrderExpired` event (a fill's events say it was filled)."""
    spec = state.catalog.markets[order.market_id]
    user = state.accounts.by_id[order.owner]
    if order.level is not None:
        state.book(order.market_id).remove(order)
    now = state.clock.now_ms
    order.status = status
    order.updated_at = now
    release(user, spec, order)
    if user.open_orders.pop(order.id, None) is not None:
        user.open_counts[order.market_id] -= 1
    if order.reduce_only:
        user.reduce_only_orders.pop(order.id, None)
    (state.house_ended if user.house else state.ended).append(order)
    if spec.type is _PERP:
        state.facts.perp_book = True
    if status is _CANCELLED:
        emit.order_cancelled(
            state.events,
            ts=now,
            order_id=order.id,
            user_id=order.owner,
            market_id=order.market_id,
            reason=(reason or CancelReason.USER)._value_,
            remaining=spec.quantity(order.remaining),
        )
    elif status is _EXPIRED:
        emit.order_expired(
            state.events,
            ts=now,
            order_id=order.id,
            user_id=order.owner,
            market_id=order.market_id,
            remaining=spec.quantity(order.remaining),
        )


def release(user: User, spec: MarketSpec, order: Order) -> None:
    """Give back all an order holds (the fast form of `reserve` for an order that leaves the
    book: it ends, or a modify moves it to another price)."""
    if order.held_lots:
        user.ladders[(spec.id, order.margin_mode)].add(order.is_buy, order.ticks, -order.held_lots)
        order.held_lots = 0
        user.ladders_stale = True
    elif spec.is_option:
        user.option_orders_epoch += 1
    elif order.lock:
        asset = USDC if order.is_buy else spec.base
        user.spot_locked[asset] -= order.lock
        order.lock = ZERO
