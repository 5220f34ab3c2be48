"""The CLOB order endpoints (SPEC.md §4.3): spot and options single orders, quotes, cancels.

`/orders`, `/quotes` and their `/options/…` aliases serve the CLOB venues, spot and options
(SPEC.md §11.1); a perpetual or dated future named here is 404 UNKNOWN_MARKET, and a perps
order id 404 ORDER_NOT_FOUND, each pointing at `/perps/…`. Until the options issue options trade
here exactly like spot (no board, DVOL or strategies yet, so `/orders/strategy` is not served).

Access per DECISIONS.md "Authentication" (strict profile): orders, modify, cancel and the
two-sided quote are session-only; the preview, cancel-all and the bulk ladder also take a
`trade` API key. Everything but the preview is on the rate-limited order path
(DECISIONS.md "Rate limits"). Every success is 200.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ocx_sim.api.orders import CLOB, ORDER_REQUEST, QUOTE, market_on, order_request, quote_request
from ocx_sim.auth.policy import Access
from ocx_sim.engine.orders import Order, Side
from ocx_sim.engine.preview import Preview
from ocx_sim.engine.quotes import QuoteRequest, QuotesResult
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, Schema, array, enum, obj, ref

# -- handlers -------------------------------------------------------------------------------


async def place_clob_order(call: Call) -> Any:
    """A spot or option order: the order, its fills and the position it left (spot: null)."""
    exchange = call.exchange
    placed = exchange.place_order(call.user_id, order_request(call.body, exchange, CLOB))
    return render.placement(exchange, call.user_id, placed)


async def preview_clob_order(call: Call) -> Any:
    """What the order would cost and whether it would pass, changing nothing."""
    exchange = call.exchange
    request = order_request(call.body, exchange, CLOB)
    return _preview(exchange.preview_order(call.user_id, request))


async def modify_clob_order(call: Call) -> Any:
    """A new price and/or total quantity for a resting order (DECISIONS.md "Orders and
    matching": a new price or a larger quantity loses time priority)."""
    price = parse.optional_decimal(call.body, "price")
    quantity = parse.optional_decimal(call.body, "quantity")
    if price is None and quantity is None:
        raise invalid("price", "give a new price, a new quantity, or both")
    order = _clob_order(call)
    placed = call.exchange.modify_order(call.user_id, order.id, price=price, quantity=quantity)
    return render.placement(call.exchange, call.user_id, placed)


async def cancel_clob_order(call: Call) -> Any:
    """Cancel one open order: the order as it now stands (status `cancelled`)."""
    order = _clob_order(call)
    return render.order(call.exchange, call.exchange.cancel_order(call.user_id, order.id))


async def cancel_all_clob_orders(call: Call) -> Any:
    """Cancel the caller's open spot and option orders, all or those matching every given
    scope (`marketId`, `quoteId`, `clientOrderId`); perps orders are left alone."""
    body, exchange = call.body, call.exchange
    market_id = parse.optional_string(body, "marketId", max_length=64)
    quote_id = parse.optional_string(body, "quoteId", max_length=64)
    client_order_id = parse.optional_string(body, "clientOrderId", max_length=64)
    if market_id is not None:
        market_on(exchange, market_id, CLOB)
    cancelled = exchange.cancel_all(
        call.user_id,
        market_id=market_id,
        quote_id=quote_id,
        client_order_id=client_order_id,
        venues=CLOB,
    )
    return {"cancelled": cancelled, "count": len(cancelled)}


async def place_clob_quotes(call: Call) -> Any:
    """One two-sided quote on one market: a post-only `bid` and/or `ask` tagged with
    `quoteId` (generated when absent)."""
    body, exchange = call.body, call.exchange
    market_id = parse.string(body, "marketId", max_length=64)
    quote_id = parse.optional_string(body, "quoteId", max_length=64)
    sides: list[str] = []
    quotes: list[QuoteRequest] = []
    for name, side in (("bid", Side.BUY), ("ask", Side.SELL)):
        raw = body.get(name)
        if raw is None:
            continue
        if not isinstance(raw, dict):
            raise invalid(name, "must be a JSON object")
        sides.append(name)
        quotes.append(quote_request(raw, f"{name}.", side))
    if not quotes:
        raise invalid("bid", "give a bid, an ask, or both")
    market_on(exchange, market_id, CLOB)
    try:
        result = exchange.place_quotes(call.user_id, market_id, quotes, quote_id=quote_id)
    except OcxError as refusal:
        raise _named_after_sides(refusal, sides) from refusal
    return _quotes(call, result)


async def place_clob_quotes_bulk(call: Call) -> Any:
    """Replace a ladder atomically: with `cancelAll` the caller's open orders on the market
    are cancelled first; if any quote would be refused nothing changes (the error names
    `quotes[i]`). At most 50 quotes; one request for rate limiting."""
    body, exchange = call.body, call.exchange
    market_id = parse.string(body, "marketId", max_length=64)
    quote_id = parse.optional_string(body, "quoteId", max_length=64)
    cancel_all = parse.boolean(body, "cancelAll")
    quotes = [
        quote_request(raw, f"quotes[{i}].") for i, raw in enumerate(parse.objects(body, "quotes"))
    ]
    market_on(exchange, market_id, CLOB)
    result = exchange.place_quotes(
        call.user_id, market_id, quotes, quote_id=quote_id, cancel_all=cancel_all
    )
    return _quotes(call, result)


# -- helpers --------------------------------------------------------------------------------


def _clob_order(call: Call) -> Order:
    """The caller's order named by the path, if it trades on the CLOB; a perps order is
    404 ORDER_NOT_FOUND here, as an unknown or another user's order is (the engine's)."""
    exchange = call.exchange
    order = exchange.order(call.user_id, call.path_param("id"))
    if exchange.market(order.market_id).venue not in CLOB:
        raise OcxError(
            ErrorCode.ORDER_NOT_FOUND,
            f"Order {order.id!r} trades on the perps venue; use /perps/orders",
            {"orderId": order.id},
        )
    return order


_QUOTE_INDEX = re.compile(r"quotes\[(\d+)\]\.?")


def _named_after_sides(refusal: OcxError, sides: list[str]) -> OcxError:
    """The engine names the quotes of a ladder `quotes[i]`; on `/quotes` they are `bid` and
    `ask`, so the error names the field the client sent."""

    def rename(text: str) -> str:
        def side(match: re.Match[str]) -> str:
            name = sides[int(match.group(1))]
            return name + "." if match.group(0).endswith(".") else name

        return _QUOTE_INDEX.sub(side, text)

    details: Mapping[str, object] = {
        key: rename(value) if key == "field" and isinstance(value, str) else value
        for key, value in refusal.details.items()
    }
    return OcxError(refusal.code, rename(refusal.message), details)


def _quotes(call: Call, result: QuotesResult) -> Any:
    return {
        "quoteId": result.quote_id,
        "cancelled": result.cancelled,
        "orders": [render.order(call.exchange, o) for o in result.orders],
    }


def _preview(preview: Preview) -> Any:
    """Amounts in USDC, `feeBps` a plain decimal; `reason` and `reasonCode` only when the
    order would be refused."""
    body: dict[str, Any] = {
        "notional": render.usdc(preview.notional),
        "marginRequired": render.usdc(preview.margin_required),
        "estFee": render.usdc(preview.est_fee),
        "feeBps": render.decimal_text(preview.fee_bps),
        "feeRole": preview.fee_role.value,
        "user30dVolume": render.usdc(preview.user_30d_volume),
        "approved": preview.approved,
    }
    if not preview.approved:
        body["reason"] = preview.reason
        body["reasonCode"] = preview.reason_code
    return body


# -- schemas and endpoints ------------------------------------------------------------------

_STRING: Schema = {"type": "string"}
_ORDER_ID: Schema = {"type": "string", "minLength": 26, "maxLength": 26}
_SIDE_QUOTE: Schema = obj(
    {k: v for k, v in QUOTE["properties"].items() if k != "side"},
    optional=("clientOrderId", "timeInForce", "postOnly", "reduceOnly", "marginMode"),
)

COMPONENTS: dict[str, Schema] = {
    "ClobPreview": obj(
        {
            "notional": DECIMAL,
            "marginRequired": DECIMAL,
            "estFee": DECIMAL,
            "feeBps": DECIMAL,
            "feeRole": enum("maker", "taker"),
            "user30dVolume": DECIMAL,
            "approved": {"type": "boolean"},
            "reason": _STRING,
            "reasonCode": _STRING,
        },
        optional=("reason", "reasonCode"),
    ),
    "ClobQuotes": obj(
        {"quoteId": _STRING, "cancelled": array(_ORDER_ID), "orders": array(ref("Order"))}
    ),
    "ClobCancelAll": obj({"cancelled": array(_ORDER_ID), "count": {"type": "integer"}}),
}

_MODIFY: Schema = obj({"price": DECIMAL, "quantity": DECIMAL}, optional=("price", "quantity"))
_CANCEL_ALL: Schema = obj(
    {"marketId": _STRING, "quoteId": _STRING, "clientOrderId": _STRING},
    optional=("marketId", "quoteId", "clientOrderId"),
)
_QUOTES: Schema = obj(
    {"marketId": _STRING, "bid": _SIDE_QUOTE, "ask": _SIDE_QUOTE, "quoteId": _STRING},
    optional=("bid", "ask", "quoteId"),
)
_BULK: Schema = obj(
    {
        "marketId": _STRING,
        "quoteId": _STRING,
        "cancelAll": {"type": "boolean"},
        "quotes": {**array(QUOTE), "maxItems": 50},
    },
    optional=("quoteId", "cancelAll"),
)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/orders",
        place_clob_order,
        Access.SESSION,
        "Place a spot or option order",
        response=ref("Placement"),
        request=ORDER_REQUEST,
        aliases=("/options/orders",),
        order_path=True,
    ),
    Endpoint(
        "POST",
        "/orders/preview",
        preview_clob_order,
        Access.TRADE,
        "Preview a spot or option order: cost, fee and approval, without side effects",
        response=ref("ClobPreview"),
        request=ORDER_REQUEST,
        aliases=("/options/orders/preview",),
    ),
    Endpoint(
        "POST",
        "/orders/{id}/modify",
        modify_clob_order,
        Access.SESSION,
        "Change a resting spot or option order's price and/or total quantity",
        response=ref("Placement"),
        request=_MODIFY,
        aliases=("/options/orders/{id}/modify",),
        order_path=True,
    ),
    Endpoint(
        "POST",
        "/orders/{id}/cancel",
        cancel_clob_order,
        Access.SESSION,
        "Cancel one open spot or option order",
        response=ref("Order"),
        aliases=("/options/orders/{id}/cancel",),
        order_path=True,
    ),
    Endpoint(
        "POST",
        "/orders/cancel-all",
        cancel_all_clob_orders,
        Access.TRADE,
        "Cancel open spot and option orders, all or by market, quoteId or clientOrderId",
        response=ref("ClobCancelAll"),
        request=_CANCEL_ALL,
        aliases=("/options/orders/cancel-all",),
        order_path=True,
        body_optional=True,
    ),
    Endpoint(
        "POST",
        "/quotes",
        place_clob_quotes,
        Access.SESSION,
        "Place a two-sided post-only quote on one spot or option market",
        response=ref("ClobQuotes"),
        request=_QUOTES,
        aliases=("/options/quotes",),
        order_path=True,
    ),
    Endpoint(
        "POST",
        "/quotes/bulk",
        place_clob_quotes_bulk,
        Access.TRADE,
        "Replace a quote ladder on one spot or option market, all or nothing",
        response=ref("ClobQuotes"),
        request=_BULK,
        aliases=("/options/quotes/bulk",),
        order_path=True,
    ),
]
