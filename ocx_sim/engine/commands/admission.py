"""Admission: every check an order meets before it changes anything, once, in one order.

The order of the checks (docs/fidelity.md "Orders"): the request against its market's terms
(400 VALIDATION_ERROR naming the field; the market itself is looked up first, 404), then the
market's state (409 MARKET_EXPIRED / MARKET_HALTED), then its reference prices (503
UPSTREAM_DEGRADED without a mark, 422 PRICE_OUT_OF_BAND for a limit price outside the band),
then the account (409 DUPLICATE_CLIENT_ORDER_ID, 422 REDUCE_ONLY_WOULD_INCREASE, and the funds:
422 INSUFFICIENT_MARGIN, or on spot 400 INSUFFICIENT_BALANCE). A refused order leaves no trace:
it is in no list, no ledger entry and no event.

The same checks serve every way an order comes in:
- a new order (`admit`): all of them;
- a stop, take-profit or stop-loss that fires (`admit_activation`): all but the request's own
  terms, which it passed at placement;
- the preview: the same as a new order, as a dry run (preview.py turns a business refusal
  into `approved: false`);
- the bulk quote ladder: each quote's own checks here, then those of the set as a whole, all or
  nothing (quotes.py);
- a modify (`admit_change`): the checks that apply to the changed order;
- the control API's outside trade: the market's terms and state (`admit_terms`), before its
  house account is funded.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal

from ocx_sim.engine.commands.records import cid_venue, spot_lock
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.matching import crosses
from ocx_sim.engine.core.money import ZERO
from ocx_sim.engine.core.options_risk import OptionLeg, OptionNeed, closes
from ocx_sim.engine.core.orders import (
    FeeRole,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from ocx_sim.engine.state import State
from ocx_sim.errors import ErrorCode, OcxError, invalid

CLIENT_ORDER_ID_MAX_LENGTH = 64
CLIENT_ORDER_ID_HELD_MS = 24 * 3_600_000
"""How long a clientOrderId stays taken after its order ended."""
# Module aliases for the enum members compared on every order: a global read is several times
# cheaper than an enum class-attribute lookup.
_BUY = Side.BUY
_LIMIT = OrderType.LIMIT
_UNTRIGGERED = OrderStatus.UNTRIGGERED


@dataclass(slots=True)
class Ticket:
    """A validated order, ready for the book."""

    request: OrderRequest
    lots: int
    limit_ticks: int
    """The limit price, or for a market order the furthest price it may sweep to."""
    reference_price: Decimal
    """The price its margin or spot lock is computed at."""


# -- the sequences -------------------------------------------------------------------------


def admit(state: State, user: User, spec: MarketSpec, request: OrderRequest, now: int) -> Ticket:
    """Every check of a new order, in order (module docstring)."""
    ticket = validate(spec, request)
    check_tradable(state, spec, now)  # `check_market`, written out: every order passes here
    price_ticket(state, spec, ticket, now)
    if may_rest(request):
        check_room(user, spec, 1)
    check_account(state, user, spec, ticket, now)
    return ticket


def admit_terms(state: State, spec: MarketSpec, request: OrderRequest, now: int) -> Ticket:
    """The checks that need no account: the order's terms, the market's state and its prices."""
    ticket = validate(spec, request)
    check_market(state, spec, ticket, now)
    return ticket


def admit_activation(state: State, user: User, spec: MarketSpec, order: Order, now: int) -> Ticket:
    """The checks a fired stop, take-profit or stop-loss meets again: the market's state and
    prices, reduce-only and the funds, for the order as it stands (its clientOrderId is its
    own)."""
    request = order.request()
    price = order.price
    ticket = Ticket(
        request,
        order.lots,
        spec.to_ticks(price) if price is not None else 0,
        price if price is not None else ZERO,
    )
    check_market(state, spec, ticket, now)
    check_account(state, user, spec, ticket, now, ignore=(order.id,))
    return ticket


MAX_OPEN_ORDERS = 1_000
"""Open orders (untriggered ones included) a user may have on one market (docs/fidelity.md
"Orders")."""


def may_rest(request: OrderRequest) -> bool:
    """Whether the order can stay open: a good-till-cancelled limit, or any trigger order
    (it waits untriggered). Market, IOC and FOK orders end at once."""
    return (
        request.type is not OrderType.MARKET and request.time_in_force is TimeInForce.GTC
    ) or request.stop_price is not None


def check_room(user: User, spec: MarketSpec, adding: int, leaving: int = 0) -> None:
    """422 TOO_MANY_OPEN_ORDERS when `adding` more orders that may rest, with `leaving` of the
    user's open ones on the market cancelled first, would pass `MAX_OPEN_ORDERS` there."""
    held = user.open_counts.get(spec.id, 0) - leaving
    if held + adding > MAX_OPEN_ORDERS:
        raise OcxError(
            ErrorCode.TOO_MANY_OPEN_ORDERS,
            f"{held} orders are open on {spec.id}, and a user may have at most "
            f"{MAX_OPEN_ORDERS} open on one market: cancel some first",
            {"marketId": spec.id, "open": held, "limit": MAX_OPEN_ORDERS},
        )


def check_market(
    state: State, spec: MarketSpec, ticket: Ticket, now: int, prefix: str = ""
) -> None:
    check_tradable(state, spec, now)
    price_ticket(state, spec, ticket, now, prefix)


def check_account(
    state: State,
    user: User,
    spec: MarketSpec,
    ticket: Ticket,
    now: int,
    ignore: Collection[str] = (),
) -> None:
    """The account's checks: clientOrderId in use (409), reduce-only (422, or trimmed to the
    position), funds."""
    request = ticket.request
    if request.client_order_id is not None:
        check_client_order_id(user, spec, request.client_order_id, now, ignore)
    if request.reduce_only:
        trim_reduce_only(state, user, spec, ticket)
    check_funds(state, user, spec, ticket, now)


def trim_reduce_only(state: State, user: User, spec: MarketSpec, ticket: Ticket) -> None:
    """A reduce-only order is trimmed to the position it closes, on its own (docs/fidelity.md
    "Orders"): 422 when it could reduce nothing; its quantity is the trimmed one from then on."""
    request = ticket.request
    room = state.risk.reducible_lots(user, spec, request.side, request.margin_mode)
    if ticket.lots > room:
        ticket.lots = room
        ticket.request = replace(request, quantity=spec.quantity(room))


# -- the request's terms (400) ---------------------------------------------------------------


def validate(spec: MarketSpec, request: OrderRequest, prefix: str = "") -> Ticket:
    """Every 400 an order can earn, from the request and its market's terms alone. A market
    order may carry `price`, the worst it accepts; without a band (options) it must."""
    if (
        request.stop_price is not None
        or request.take_profit_price is not None
        or request.stop_loss_price is not None
    ):
        validate_triggers(spec, request, prefix)
    lots = spec.to_lots(request.quantity, prefix + "quantity")
    cid = request.client_order_id
    if cid is not None and not 0 < len(cid) <= CLIENT_ORDER_ID_MAX_LENGTH:
        raise invalid(
            prefix + "clientOrderId", f"must be 1 to {CLIENT_ORDER_ID_MAX_LENGTH} characters"
        )
    if request.reduce_only and spec.is_spot:
        raise invalid(prefix + "reduceOnly", "spot markets have no position to reduce")
    price_ticks = None
    if request.price is not None:
        price_ticks = spec.to_ticks(request.price, prefix + "price")
    if request.type is _LIMIT:
        if price_ticks is None:
            raise invalid(prefix + "price", "is required for limit orders")
    elif request.post_only:
        raise invalid(prefix + "postOnly", "applies to limit orders only")
    elif price_ticks is None and spec.band is None:
        raise invalid(
            prefix + "price",
            "market orders on a market without a price band (options, or a band lifted "
            "by a scenario) need a price: the worst price accepted",
        )
    return Ticket(
        request,
        lots,
        price_ticks if price_ticks is not None else 0,
        request.price if request.price is not None else ZERO,
    )


def validate_triggers(spec: MarketSpec, request: OrderRequest, prefix: str = "") -> None:
    """The 400s of `stopPrice`, `takeProfitPrice` and `stopLossPrice` (docs/fidelity.md
    "Trigger orders"): each on the tick; TP/SL only on an entry that can open a position on a
    linear market, with the take-profit on the profitable side of the stop-loss."""
    if request.stop_price is not None:
        spec.to_ticks(request.stop_price, prefix + "stopPrice")
    tp, sl = request.take_profit_price, request.stop_loss_price
    if tp is None and sl is None:
        return
    name = prefix + ("takeProfitPrice" if tp is not None else "stopLossPrice")
    if spec.is_spot or spec.is_option:
        # Spot has no position; an option exit would be a market order without the worst
        # price option market orders need (validate, above).
        raise invalid(name, "take-profit/stop-loss apply to perpetuals and futures only")
    if request.reduce_only:
        raise invalid(name, "take-profit/stop-loss cannot be attached to a reduce-only order")
    if tp is not None:
        spec.to_ticks(tp, prefix + "takeProfitPrice")
    if sl is not None:
        spec.to_ticks(sl, prefix + "stopLossPrice")
    if tp is not None and sl is not None:
        if request.side is _BUY and not tp > sl:
            raise invalid(name, "must be above stopLossPrice for a buy")
        if request.side is not _BUY and not tp < sl:
            raise invalid(name, "must be below stopLossPrice for a sell")


# -- the market's state and prices (409, 503, 422) -------------------------------------------


def check_tradable(state: State, spec: MarketSpec, now: int) -> None:
    if spec.expired_at(now):
        raise OcxError(ErrorCode.MARKET_EXPIRED, f"{spec.id} has expired", {"marketId": spec.id})
    if spec.id in state.halted:
        raise OcxError(ErrorCode.MARKET_HALTED, f"{spec.id} is halted", {"marketId": spec.id})


def price_ticket(
    state: State, spec: MarketSpec, ticket: Ticket, now: int, prefix: str = ""
) -> None:
    """The checks that need reference prices: 503 without a mark, 422 for a limit price
    outside the band. Sets a market order's sweep limit (the band's edge, or its own price if
    that is nearer) and the price its margin or spot lock is held at."""
    request = ticket.request
    mark, band = state.prices.mark_and_band(spec, now)
    if request.type is _LIMIT:
        check_band(spec, band, ticket.limit_ticks, prefix)
        return
    is_buy = request.side is _BUY
    limit = ticket.limit_ticks if request.price is not None else None
    if band is not None:
        edge = band[1] if is_buy else band[0]
        nearer = min if is_buy else max
        limit = edge if limit is None else nearer(limit, edge)
    assert limit is not None
    ticket.limit_ticks = limit
    # Margin is held at the mark; a spot bid locks, and an option bid pays, the worst price.
    worst_case = spec.is_option or (spec.is_spot and is_buy)
    ticket.reference_price = spec.price(limit) if worst_case else mark


def check_band(
    spec: MarketSpec, band: tuple[int, int] | None, ticks: int, prefix: str = ""
) -> None:
    if band is None or band[0] <= ticks <= band[1]:
        return
    low, high = spec.format_price(spec.price(band[0])), spec.format_price(spec.price(band[1]))
    raise OcxError(
        ErrorCode.PRICE_OUT_OF_BAND,
        f"{prefix}price {spec.format_price(spec.price(ticks))} is outside the band {low}–{high}",
        {"field": prefix + "price", "priceBandLow": low, "priceBandHigh": high},
    )


# -- the account (409, 422, spot 400) --------------------------------------------------------


def check_client_order_id(
    user: User, spec: MarketSpec, cid: str, now: int, ignore: Collection[str] = ()
) -> None:
    """409 while the user's venue holds `cid` (docs/fidelity.md "Orders"): an open order of the
    venue carries it, or one that ended less than 24 simulated hours ago, so a client that
    retries after an ambiguous answer can never place the order twice."""
    existing = user.client_order_ids.get((cid_venue(spec), cid))
    if (
        existing is not None
        and existing.id not in ignore
        and (existing.is_open or now - existing.updated_at < CLIENT_ORDER_ID_HELD_MS)
    ):
        state = "open" if existing.is_open else "ended less than 24 h ago"
        raise OcxError(
            ErrorCode.DUPLICATE_CLIENT_ORDER_ID,
            f"clientOrderId {cid!r} is taken by order {existing.id} ({state})",
            {"orderId": existing.id, "clientOrderId": cid},
        )


def check_funds(state: State, user: User, spec: MarketSpec, ticket: Ticket, now: int) -> None:
    """Margin (422) or, on spot, the inventory to lock (400 INSUFFICIENT_BALANCE)."""
    request = ticket.request
    if spec.is_spot:
        asset, lock = spot_lock(state, spec, request.side, request.quantity, ticket.reference_price)
        check_spot_available(state, user, asset, lock)
        return
    if request.reduce_only:
        # It can only shrink a position, which frees more margin than its fee costs.
        return
    price = ticket.reference_price
    quantity = request.quantity
    if spec.is_option:
        need, closing = option_need(state, user, spec, request, price, now)
        fee = worst_fee(state, user, spec, quantity, price, request.post_only, now)
        state.risk.approve_options(user, spec, need, fee, now, closing)
        return
    position = user.positions.get((spec.id, request.margin_mode))
    if position is not None and position.size and (position.size > 0) is not (request.side is _BUY):
        # Only the part that would increase the position pays, margin and fee room alike
        # (core/order_margin.py): an order that only closes is never refused for margin.
        lots = state.risk.increasing_lots(
            user, spec, request.side, request.margin_mode, ticket.lots
        )
        if not lots:
            return
        quantity = spec.quantity(lots)
    required = state.risk.order_margin(spec, request.side, quantity, price, False)
    fee = worst_fee(state, user, spec, quantity, price, request.post_only, now)
    state.risk.approve(user, spec, required, now, fee)


def option_need(
    state: State, user: User, spec: MarketSpec, request: OrderRequest, price: Decimal, now: int
) -> tuple[OptionNeed, bool]:
    """What a new option order at `price` adds to the options bucket's order margin and to
    its resting bids' premium (core/options_risk.py), and whether it only closes the position
    (docs/fidelity.md "Fees and risk": then it needs no margin; a bid still needs its premium
    in cash)."""
    leg = OptionLeg(spec, request.side, request.quantity, price)
    need = state.risk.options.change(user, now, added=(leg,))
    return need, closes(user, spec, request.side, request.margin_mode, request.quantity)


def worst_fee(
    state: State,
    user: User,
    spec: MarketSpec,
    quantity: Decimal,
    price: Decimal,
    post_only: bool,
    now: int,
) -> Decimal:
    """The most an order's fills could pay in fees: the user's taker rate (the maker rate for
    post-only orders, which never take) at `price`."""
    if spec.is_option:
        index = state.prices.index(spec.underlying)
        role = FeeRole.MAKER if post_only else FeeRole.TAKER
        return state.fees.options_for(spec).fee(role, quantity, price, index)
    tier = state.fees.tier_of(spec, state.volume.volume(user.user_id, now))
    # Not quantized: it only bounds what the fills could cost.
    return quantity * price * (tier.maker_rate if post_only else tier.taker_rate)


def check_spot_available(state: State, user: User, asset: str, amount: Decimal) -> None:
    available = state.risk.spot_available(user, asset)
    if amount > available:
        raise OcxError(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"Order needs {amount} {asset} in the spot bucket; {available} available",
            {"asset": asset, "required": str(amount), "available": str(available)},
        )


# -- a modify ----------------------------------------------------------------------------


def admit_change(
    state: State,
    user: User,
    spec: MarketSpec,
    order: Order,
    price: Decimal | None,
    quantity: Decimal | None,
) -> tuple[int, int]:
    """The checks of changing an open order's price and/or total quantity; its new (ticks,
    lots). The new terms (400), the order open and resting (409 ORDER_NOT_OPEN: an
    `untriggered` order is cancelled and placed anew instead), a quantity above what has
    filled (400), the market's state, the band for a new price, a reduce-only order's new
    remainder trimmed to the position (422 when it could reduce nothing), the funds the change
    adds, and a post-only order's new place."""
    ticks = spec.to_ticks(price) if price is not None else order.ticks
    lots = spec.to_lots(quantity) if quantity is not None else order.lots
    require_open(order)
    if order.status is _UNTRIGGERED:
        raise OcxError(
            ErrorCode.ORDER_NOT_OPEN,
            f"Order {order.id} is untriggered: cancel it and place a new one",
            {"orderId": order.id, "status": order.status.value},
        )
    now = state.clock.now_ms
    if lots <= order.filled_lots:
        filled = spec.format_quantity(spec.quantity(order.filled_lots))
        raise invalid("quantity", f"must exceed the filled quantity {filled}")
    check_tradable(state, spec, now)
    new_price = spec.price(ticks)
    if ticks != order.ticks:
        state.prices.require_mark(spec, now)
        check_band(spec, state.prices.band(spec, now), ticks)
    if order.reduce_only:
        # Trimmed to the position, as when it was placed.
        room = state.risk.reducible_lots(user, spec, order.side, order.margin_mode)
        lots = min(lots, order.filled_lots + room)
    remaining = spec.quantity(lots - order.filled_lots)
    if spec.is_spot:
        asset, lock = spot_lock(state, spec, order.side, remaining, new_price)
        check_spot_available(state, user, asset, lock - order.lock)
    elif not order.reduce_only:
        check_change_funds(state, user, spec, order, new_price, lots - order.filled_lots, now)
    keeps_priority = ticks == order.ticks and lots <= order.lots
    if not keeps_priority and order.post_only and crosses(state.book(spec.id), order.is_buy, ticks):
        raise OcxError(ErrorCode.POST_ONLY_WOULD_TAKE)
    return ticks, lots


def check_change_funds(
    state: State,
    user: User,
    spec: MarketSpec,
    order: Order,
    price: Decimal,
    remaining: int,
    now: int,
) -> None:
    """422 unless the margin the change adds fits, with the worst-case fee of the quantity it
    adds: on a linear market, its increasing part before and after the change, each worked
    out as for a new order against the user's other resting orders; on options, the options
    bucket's figures with the order as it will be against those with it as it is."""
    if spec.is_option:
        quantity = spec.quantity(remaining)
        leg = OptionLeg(spec, order.side, quantity, price)
        need = state.risk.options.change(user, now, added=(leg,), without=(order,))
        closing = closes(user, spec, order.side, order.margin_mode, quantity, (order.id,))
        grown = spec.quantity(max(0, remaining - order.remaining))
        fee = worst_fee(state, user, spec, grown, price, order.post_only, now)
        state.risk.approve_options(user, spec, need, fee, now, closing)
        return
    risk, side, mode, rest = state.risk, order.side, order.margin_mode, (order,)
    was = risk.increasing_lots(user, spec, side, mode, order.remaining, rest)
    will = risk.increasing_lots(user, spec, side, mode, remaining, rest)
    assert order.price is not None
    before = risk.order_margin(spec, side, spec.quantity(was), order.price, False)
    after = risk.order_margin(spec, side, spec.quantity(will), price, False)
    added = max(0, will - was)
    fee = worst_fee(state, user, spec, spec.quantity(added), price, order.post_only, now)
    state.risk.approve(user, spec, after - before, now, fee)


def require_open(order: Order) -> None:
    if not order.is_open:
        raise OcxError(
            ErrorCode.ORDER_NOT_OPEN,
            f"Order {order.id} is {order.status.value}",
            {"orderId": order.id, "status": order.status.value},
        )
