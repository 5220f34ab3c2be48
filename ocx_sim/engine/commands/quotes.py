"""The bulk quote ladder (`/perps/quotes/bulk`, `/quotes/bulk`): many orders, all or nothing.

The whole set is checked first (each quote's own checks in admission.py, then the set's
below), on the book and the accounts as they will be once `cancelAll` has cancelled the
caller's quotes on the market (its orders that carry a quoteId: plain, stop, take-profit and
stop-loss orders are never touched); if any quote would be refused, nothing changes and the
error names `quotes[i]`. Then the cancels
happen and the quotes are placed in order, each as a single order is (execution.py). At most
50 quotes per call; a bulk call is one request for rate limiting (docs/fidelity.md "Orders").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.commands import admission, records
from ocx_sim.engine.commands.admission import Ticket
from ocx_sim.engine.commands.execution import execute
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.book import Book
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.matching import crosses_excluding
from ocx_sim.engine.core.money import USDC, ZERO
from ocx_sim.engine.core.options_risk import OptionLeg
from ocx_sim.engine.core.order_margin import increasing_lots
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

MAX_BULK_QUOTES = 50
_BUY = Side.BUY


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """One rung of a bulk quote ladder (`/perps/quotes/bulk`, `quotes[]`)."""

    side: Side
    price: Decimal
    quantity: Decimal
    client_order_id: str | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    margin_mode: MarginMode = MarginMode.CROSS


@dataclass(frozen=True, slots=True)
class QuotesResult:
    quote_id: str
    cancelled: list[str]
    orders: list[Order]


def place_quotes(
    state: State,
    user_id: str,
    market_id: str,
    quotes: Sequence[QuoteRequest],
    *,
    quote_id: str | None = None,
    cancel_all: bool = False,
    replacing: Sequence[Order] = (),
    labels: Sequence[str] | None = None,
) -> QuotesResult:
    """Place a ladder atomically: the whole set is checked first and, if any quote fails,
    nothing changes (the error names `quotes[i]`, or `labels[i]` when the caller's body names
    its quotes otherwise, e.g. `bid`/`ask`). With `cancel_all` the user's open orders on the
    market are cancelled, then the set placed; with `replacing`, those of them only (a
    liquidity agent moving some rungs)."""
    names = list(labels) if labels is not None else [f"quotes[{i}]" for i in range(len(quotes))]
    user = state.user(user_id)
    spec = state.market(market_id)
    if len(quotes) > MAX_BULK_QUOTES:
        raise invalid("quotes", f"at most {MAX_BULK_QUOTES} quotes per call, got {len(quotes)}")
    tag = quote_id if quote_id is not None else state.ids.ulid()
    requests = [_quote_order(market_id, q, tag) for q in quotes]
    if cancel_all:
        # The caller's quotes only (orders placed through a quote path carry a quoteId): its
        # plain orders and its stops, take-profits and stop-losses stay.
        doomed = [
            o
            for o in user.open_orders.values()
            if o.market_id == market_id and o.quote_id is not None
        ]
    else:
        doomed = [
            o for o in replacing if o.market_id == market_id and user.open_orders.get(o.id) is o
        ]
    resting = sum(admission.may_rest(r) for r in requests)
    if resting:
        admission.check_room(user, spec, resting, leaving=len(doomed))
    tickets = _admit(state, user, spec, requests, doomed, names)
    now = state.clock.now_ms
    for order in doomed:
        records.end(state, order, OrderStatus.CANCELLED, CancelReason.QUOTE_REPLACED)
    orders = [execute(state, user, spec, ticket, now).order for ticket in tickets]
    return QuotesResult(tag, [o.id for o in doomed], orders)


def _quote_order(market_id: str, quote: QuoteRequest, quote_id: str) -> OrderRequest:
    return OrderRequest(
        market_id=market_id,
        side=quote.side,
        quantity=quote.quantity,
        type=OrderType.LIMIT,
        price=quote.price,
        time_in_force=quote.time_in_force,
        post_only=quote.post_only,
        reduce_only=quote.reduce_only,
        margin_mode=quote.margin_mode,
        client_order_id=quote.client_order_id,
        quote_id=quote_id,
    )


def _admit(
    state: State,
    user: User,
    spec: MarketSpec,
    requests: Sequence[OrderRequest],
    doomed: Sequence[Order],
    names: Sequence[str],
) -> list[Ticket]:
    """Every check of a ladder, all or nothing, on the book and the accounts as they will be
    once `doomed` is cancelled; errors name each quote by `names[i]`: each quote's terms
    (400), the market's state (once) and each quote's band, then the set's clientOrderIds,
    its own bids and asks crossing (422 SELF_TRADE), post-only quotes that would take,
    reduce-only quotes (each trimmed to the position), and the funds of the whole set. (The
    set's size, at most `MAX_BULK_QUOTES`, is checked before the set's quote id is drawn.)"""
    now = state.clock.now_ms
    tickets = [admission.validate(spec, r, prefix=f"{names[i]}.") for i, r in enumerate(requests)]
    admission.check_tradable(state, spec, now)
    for i, ticket in enumerate(tickets):
        admission.price_ticket(state, spec, ticket, now, prefix=f"{names[i]}.")
    doomed_ids = {o.id for o in doomed}
    _check_set_client_order_ids(user, spec, tickets, names, now)
    _check_set_crossing(state.book(spec.id), tickets, doomed_ids, names)
    _trim_reduce_only(state, user, spec, tickets, names)
    _check_set_funds(state, user, spec, tickets, doomed, now)
    return tickets


def _check_set_client_order_ids(
    user: User, spec: MarketSpec, tickets: list[Ticket], names: Sequence[str], now: int
) -> None:
    """Distinct within the set, and none taken (an order `cancelAll` is about to end keeps its
    clientOrderId for 24 hours like any other)."""
    seen: dict[str, int] = {}
    for i, ticket in enumerate(tickets):
        cid = ticket.request.client_order_id
        if cid is None:
            continue
        if cid in seen:
            raise OcxError(
                ErrorCode.DUPLICATE_CLIENT_ORDER_ID,
                f"{names[i]}.clientOrderId repeats {names[seen[cid]]}",
                {"field": f"{names[i]}.clientOrderId"},
            )
        seen[cid] = i
        admission.check_client_order_id(user, spec, cid, now)


def _check_set_crossing(
    book: Book, tickets: list[Ticket], doomed_ids: set[str], names: Sequence[str]
) -> None:
    best_bid: tuple[int, int] | None = None
    best_ask: tuple[int, int] | None = None
    for i, ticket in enumerate(tickets):
        request = ticket.request
        ticks = ticket.limit_ticks
        if request.side is _BUY:
            if best_ask is not None and ticks >= best_ask[0]:
                raise _self_cross(names[i], names[best_ask[1]])
            best_bid = max(best_bid or (ticks, i), (ticks, i))
        else:
            if best_bid is not None and ticks <= best_bid[0]:
                raise _self_cross(names[i], names[best_bid[1]])
            best_ask = min(best_ask or (ticks, i), (ticks, i))
        if request.post_only and crosses_excluding(book, request.side is _BUY, ticks, doomed_ids):
            raise OcxError(
                ErrorCode.POST_ONLY_WOULD_TAKE,
                f"{names[i]} is post-only and would take liquidity",
                {"field": names[i]},
            )


def _trim_reduce_only(
    state: State, user: User, spec: MarketSpec, tickets: list[Ticket], names: Sequence[str]
) -> None:
    """Each reduce-only quote is trimmed to the position on its own, as a single order is."""
    for i, ticket in enumerate(tickets):
        if not ticket.request.reduce_only:
            continue
        try:
            admission.trim_reduce_only(state, user, spec, ticket)
        except OcxError as refusal:
            refusal.details["field"] = f"{names[i]}.reduceOnly"
            raise


def _check_set_funds(
    state: State,
    user: User,
    spec: MarketSpec,
    tickets: list[Ticket],
    doomed: Sequence[Order],
    now: int,
) -> None:
    if spec.is_spot:
        needs: dict[str, Decimal] = {}
        for ticket in tickets:
            request = ticket.request
            asset, lock = records.spot_lock(
                state, spec, request.side, request.quantity, ticket.reference_price
            )
            needs[asset] = needs.get(asset, ZERO) + lock
        for order in doomed:
            asset = USDC if order.is_buy else spec.base
            needs[asset] = needs.get(asset, ZERO) - order.lock
        for asset, amount in needs.items():
            admission.check_spot_available(state, user, asset, amount)
        return
    if spec.is_option:
        # The set as a whole against the options bucket's figures (core/options_risk.py):
        # with its quotes resting and the quotes it replaces gone.
        legs, fees = [], ZERO
        for t in tickets:
            r = t.request
            if not r.reduce_only:
                price = t.reference_price
                legs.append(OptionLeg(spec, r.side, r.quantity, price))
                fees += admission.worst_fee(state, user, spec, r.quantity, price, r.post_only, now)
        need = state.risk.options.change(user, now, added=legs, without=doomed)
        state.risk.approve_options(user, spec, need, fees, now)
        return
    required, fees, freed = _linear_set_funds(state, user, spec, tickets, doomed, now)
    state.risk.approve(user, spec, required - freed, now, fees)


def _linear_set_funds(
    state: State,
    user: User,
    spec: MarketSpec,
    tickets: list[Ticket],
    doomed: Sequence[Order],
    now: int,
) -> tuple[Decimal, Decimal, Decimal]:
    """(margin, fee room, margin freed) of a set on a linear market, per margin mode: what the
    cancelled quotes' ladder held and no longer will, and each new quote's increasing part,
    the set's closing quotes absorbing what the position has left after the surviving orders
    in price priority (core/order_margin.py)."""
    risk = state.risk
    required = fees = freed = ZERO
    modes = dict.fromkeys(
        [t.request.margin_mode for t in tickets] + [o.margin_mode for o in doomed]
    )
    for mode in modes:
        leaving = [o for o in doomed if o.margin_mode is mode and o.held_lots]
        ladder = user.ladders.get((spec.id, mode))
        if ladder is not None and leaving:
            after = ladder.copy()
            for order in leaving:
                after.add(order.is_buy, order.ticks, -order.held_lots)
            position = user.positions.get((spec.id, mode))
            size = position.size if position is not None else ZERO
            freed += ladder.margin(size) - after.margin(size)
        for side in (Side.BUY, Side.SELL):
            quotes = [
                (i, t)
                for i, t in enumerate(tickets)
                if t.request.side is side
                and t.request.margin_mode is mode
                and not t.request.reduce_only
            ]
            if not quotes:
                continue
            capacity = risk.capacity(user, spec, side, mode, leaving)
            # Price priority: the highest bid, the lowest ask, then the set's order.
            sign = -1 if side is _BUY else 1
            increasing = increasing_lots(
                capacity, [((sign * t.limit_ticks, i), t.lots) for i, t in quotes]
            )
            for (_, t), lots in zip(quotes, increasing, strict=True):
                if lots:
                    r, quantity = t.request, spec.quantity(lots)
                    price = t.reference_price
                    required += risk.order_margin(spec, side, quantity, price, False)
                    fees += admission.worst_fee(
                        state, user, spec, quantity, price, r.post_only, now
                    )
    return required, fees, freed


def _self_cross(name: str, other: str) -> OcxError:
    return OcxError(
        ErrorCode.SELF_TRADE, f"{name} would trade against {other} of the same set", {"field": name}
    )
