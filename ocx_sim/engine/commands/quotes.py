"""The bulk quote ladder (`/perps/quotes/bulk`, `/quotes/bulk`): many orders, all or nothing.

The whole set is checked first (admission.py `admit_set`), on the book and the accounts as
they will be once `cancelAll` has cancelled the caller's open orders on the market; if any
quote would be refused, nothing changes and the error names `quotes[i]`. Then the cancels
happen and the quotes are placed in order, each as a single order is (execution.py). At most
50 quotes per call; a bulk call is one request for rate limiting (docs/fidelity.md "Orders").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.commands import admission, records
from ocx_sim.engine.commands.execution import execute
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
from ocx_sim.errors import invalid

MAX_BULK_QUOTES = 50


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
        doomed = [o for o in user.open_orders.values() if o.market_id == market_id]
    else:
        doomed = [
            o for o in replacing if o.market_id == market_id and user.open_orders.get(o.id) is o
        ]
    tickets = admission.admit_set(state, user, spec, requests, doomed, names)
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
