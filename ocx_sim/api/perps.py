"""Perpetuals and dated futures trading (SPEC.md §4.2): orders, preview, cancel, modify,
cancel-all, quotes, the bulk ladder and closing a position.

These paths serve the linear engine's venue (`orders.perps_venues`): a spot or option market
answers 404 UNKNOWN_MARKET, and an order of the other venue 404 ORDER_NOT_FOUND, as if it did
not exist here (DECISIONS.md "Errors"). All but the preview are on the rate-limited order path
(DECISIONS.md "Rate limits"); which credentials each accepts is DECISIONS.md "Authentication".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ocx_sim.api.orders import (
    ORDER_REQUEST,
    QUOTE,
    market_on,
    order_request,
    perps_venues,
    quote_request,
)
from ocx_sim.auth.policy import Access
from ocx_sim.engine.markets import Venue
from ocx_sim.engine.orders import MarginMode, Order, OrderType, Side, TimeInForce
from ocx_sim.engine.preview import Preview
from ocx_sim.engine.quotes import MAX_BULK_QUOTES, QuoteRequest, QuotesResult
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, Schema, array, enum, obj, ref

# -- helpers ------------------------------------------------------------------------------------


def _venues(call: Call) -> frozenset[Venue]:
    return perps_venues(call.world.config.profile)


def _own_order(call: Call) -> Order:
    """The caller's order on this path's venues; anything else (unknown, another user's, an
    option or spot order) is 404 ORDER_NOT_FOUND."""
    order_id = call.path_param("order_id")
    exchange = call.exchange
    order = exchange.order(call.user_id, order_id)
    if exchange.market(order.market_id).venue not in _venues(call):
        raise OcxError(ErrorCode.ORDER_NOT_FOUND, f"Order {order_id!r} not found")
    return order


def _quote_side(body: Mapping[str, Any], name: str, side: Side) -> QuoteRequest | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid(name, "must be a JSON object {price, quantity, clientOrderId?}")
    return quote_request(raw, name + ".", side)


@contextmanager
def _quote_fields(names: list[str]) -> Iterator[None]:
    """Name `/perps/quotes` sides as the body does (`bid.price`), where the ladder the quotes
    run through names them by index (`quotes[0].price`)."""
    try:
        yield
    except OcxError as error:
        for i, name in enumerate(names):
            old = f"quotes[{i}]"
            field = error.details.get("field")
            if isinstance(field, str) and field.startswith(old):
                error.details["field"] = name + field[len(old) :]
            error.message = error.message.replace(old, name)
        raise


def _quotes_answer(call: Call, result: QuotesResult) -> dict[str, Any]:
    return {
        "quoteId": result.quote_id,
        "cancelled": result.cancelled,
        "orders": [render.order(call.exchange, o) for o in result.orders],
    }


def _preview(p: Preview) -> dict[str, Any]:
    body: dict[str, Any] = {
        "notional": render.usdc(p.notional),
        "marginRequired": render.usdc(p.margin_required),
        "estFee": render.usdc(p.est_fee),
        "feeBps": render.decimal_text(p.fee_bps),
        "feeRole": p.fee_role.value,
        "user30dVolume": render.usdc(p.user_30d_volume),
        "approved": p.approved,
    }
    if not p.approved:
        body["reason"] = p.reason
        body["reasonCode"] = p.reason_code
    return body


# -- handlers -----------------------------------------------------------------------------------


async def place_perps_order(call: Call) -> Any:
    """Place one perps or futures order; it matches at once and what rests stays open."""
    request = order_request(call.body, call.exchange, _venues(call))
    placed = call.exchange.place_order(call.user_id, request)
    return render.placement(call.exchange, call.user_id, placed)


async def preview_perps_order(call: Call) -> Any:
    """What the order would cost and whether it would pass; changes nothing."""
    request = order_request(call.body, call.exchange, _venues(call))
    return _preview(call.exchange.preview_order(call.user_id, request))


async def cancel_perps_order(call: Call) -> Any:
    order = _own_order(call)
    return render.order(call.exchange, call.exchange.cancel_order(call.user_id, order.id))


async def modify_perps_order(call: Call) -> Any:
    """New price and/or new total quantity; a new price that crosses trades at once."""
    price = parse.optional_decimal(call.body, "price")
    quantity = parse.optional_decimal(call.body, "quantity")
    if price is None and quantity is None:
        raise invalid("price", "give a new price, a new quantity, or both")
    order = _own_order(call)
    placed = call.exchange.modify_order(call.user_id, order.id, price=price, quantity=quantity)
    return render.placement(call.exchange, call.user_id, placed)


async def cancel_all_perps_orders(call: Call) -> Any:
    """The kill switch: every open perps order matching all the given scopes."""
    body = call.body
    market_id = parse.optional_string(body, "marketId", max_length=64)
    quote_id = parse.optional_string(body, "quoteId", max_length=64)
    client_order_id = parse.optional_string(body, "clientOrderId", max_length=64)
    margin_mode = parse.optional_choice(body, "marginMode", MarginMode)
    if market_id is not None:
        market_on(call.exchange, market_id, _venues(call))
    cancelled = call.exchange.cancel_all(
        call.user_id,
        market_id=market_id,
        quote_id=quote_id,
        client_order_id=client_order_id,
        margin_mode=margin_mode,
        venues=_venues(call),
    )
    return {"cancelled": cancelled, "count": len(cancelled)}


async def place_perps_quotes(call: Call) -> Any:
    """One two-sided quote: a post-only bid and/or ask tagged with one `quoteId`."""
    body = call.body
    market_id = parse.string(body, "marketId", max_length=64)
    sides = [
        (name, quote)
        for name, quote in (
            ("bid", _quote_side(body, "bid", Side.BUY)),
            ("ask", _quote_side(body, "ask", Side.SELL)),
        )
        if quote is not None
    ]
    if not sides:
        raise invalid("bid", "give a bid, an ask, or both")
    quote_id = parse.optional_string(body, "quoteId", max_length=64)
    spec = market_on(call.exchange, market_id, _venues(call))
    with _quote_fields([name for name, _ in sides]):
        result = call.exchange.place_quotes(
            call.user_id, spec.id, [quote for _, quote in sides], quote_id=quote_id
        )
    return _quotes_answer(call, result)


async def place_perps_quotes_bulk(call: Call) -> Any:
    """Replace a ladder atomically: all quotes are placed, or none and nothing changes."""
    body = call.body
    market_id = parse.string(body, "marketId", max_length=64)
    raw = body.get("quotes")
    if isinstance(raw, list) and len(raw) > MAX_BULK_QUOTES:
        raise invalid("quotes", f"at most {MAX_BULK_QUOTES} quotes per call, got {len(raw)}")
    items = parse.objects(body, "quotes")
    quotes = [quote_request(q, f"quotes[{i}].") for i, q in enumerate(items)]
    quote_id = parse.optional_string(body, "quoteId", max_length=64)
    cancel_all = parse.boolean(body, "cancelAll")
    spec = market_on(call.exchange, market_id, _venues(call))
    result = call.exchange.place_quotes(
        call.user_id, spec.id, quotes, quote_id=quote_id, cancel_all=cancel_all
    )
    return _quotes_answer(call, result)


async def close_perps_position(call: Call) -> Any:
    """A reduce-only order against the position: all of it, or `quantity` of it."""
    body = call.body
    market_id = parse.string(body, "marketId", max_length=64)
    quantity = parse.optional_decimal(body, "quantity")
    margin_mode = parse.optional_choice(body, "marginMode", MarginMode) or MarginMode.CROSS
    order_type = parse.optional_choice(body, "orderType", OrderType) or OrderType.MARKET
    price = parse.optional_decimal(body, "price")
    time_in_force = parse.optional_choice(body, "timeInForce", TimeInForce) or TimeInForce.GTC
    spec = market_on(call.exchange, market_id, _venues(call))
    placed = call.exchange.close_position(
        call.user_id,
        spec.id,
        quantity=quantity,
        margin_mode=margin_mode,
        order_type=order_type,
        price=price,
        time_in_force=time_in_force,
    )
    return render.placement(call.exchange, call.user_id, placed)


# -- schemas and routes -------------------------------------------------------------------------

_USDC = DECIMAL
_QUOTE_SIDE = obj(
    {"price": DECIMAL, "quantity": DECIMAL, "clientOrderId": {"type": "string"}},
    optional=("clientOrderId",),
)

COMPONENTS: dict[str, Schema] = {
    "PerpsOrderPreview": obj(
        {
            "notional": _USDC,
            "marginRequired": _USDC,
            "estFee": _USDC,
            "feeBps": DECIMAL,
            "feeRole": enum("maker", "taker"),
            "user30dVolume": _USDC,
            "approved": {"type": "boolean"},
            "reason": {"type": "string"},
            "reasonCode": {"type": "string"},
        },
        optional=("reason", "reasonCode"),
    ),
    "PerpsQuotesResult": obj(
        {
            "quoteId": {"type": "string"},
            "cancelled": array({"type": "string"}),
            "orders": array(ref("Order")),
        }
    ),
    "PerpsCancelAllResult": obj(
        {"cancelled": array({"type": "string"}), "count": {"type": "integer", "minimum": 0}}
    ),
}

_MODIFY = obj({"price": DECIMAL, "quantity": DECIMAL}, optional=("price", "quantity"))
_CANCEL_ALL = obj(
    {
        "marketId": {"type": "string"},
        "quoteId": {"type": "string"},
        "clientOrderId": {"type": "string"},
        "marginMode": enum("cross", "isolated"),
    },
    optional=("marketId", "quoteId", "clientOrderId", "marginMode"),
)
_QUOTES = obj(
    {
        "marketId": {"type": "string"},
        "bid": _QUOTE_SIDE,
        "ask": _QUOTE_SIDE,
        "quoteId": {"type": "string"},
    },
    optional=("bid", "ask", "quoteId"),
)
_BULK = obj(
    {
        "marketId": {"type": "string"},
        "quoteId": {"type": "string"},
        "cancelAll": {"type": "boolean"},
        "quotes": {**array(QUOTE), "maxItems": MAX_BULK_QUOTES},
    },
    optional=("quoteId", "cancelAll"),
)
_CLOSE = obj(
    {
        "marketId": {"type": "string"},
        "quantity": DECIMAL,
        "marginMode": enum("cross", "isolated"),
        "orderType": enum("limit", "market"),
        "price": DECIMAL,
        "timeInForce": enum("gtc", "ioc", "fok"),
    },
    optional=("quantity", "marginMode", "orderType", "price", "timeInForce"),
)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/perps/orders",
        place_perps_order,
        Access.SESSION,
        "Place a perpetual or dated-futures order",
        response=ref("Placement"),
        request=ORDER_REQUEST,
        order_path=True,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/orders/preview",
        preview_perps_order,
        Access.TRADE,
        "Preview a perps order's notional, margin and fee without placing it",
        response=ref("PerpsOrderPreview"),
        request=ORDER_REQUEST,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/orders/cancel-all",
        cancel_all_perps_orders,
        Access.TRADE,
        "Cancel every open perps order matching the given scopes (kill switch)",
        response=ref("PerpsCancelAllResult"),
        request=_CANCEL_ALL,
        body_optional=True,
        order_path=True,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/orders/{order_id}/cancel",
        cancel_perps_order,
        Access.SESSION,
        "Cancel one open perps order",
        response=ref("Order"),
        order_path=True,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/orders/{order_id}/modify",
        modify_perps_order,
        Access.SESSION,
        "Change an open perps order's price and/or total quantity",
        response=ref("Placement"),
        request=_MODIFY,
        order_path=True,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/quotes",
        place_perps_quotes,
        Access.SESSION,
        "Place a two-sided post-only quote on one market",
        response=ref("PerpsQuotesResult"),
        request=_QUOTES,
        order_path=True,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/quotes/bulk",
        place_perps_quotes_bulk,
        Access.TRADE,
        "Atomically place (and optionally replace) a ladder of up to 50 quotes",
        response=ref("PerpsQuotesResult"),
        request=_BULK,
        order_path=True,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/positions/close",
        close_perps_position,
        Access.SESSION,
        "Close all or part of a perps position with a reduce-only order",
        response=ref("Placement"),
        request=_CLOSE,
        order_path=True,
        tag="perps",
    ),
]
