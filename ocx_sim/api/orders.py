"""The order path shared by the perps and the CLOB endpoints: bodies, answers and handlers.

The two order paths serve OCX's two engines (https://docs.ocx.global/concepts/products):
`/perps/*` the linear engine (perpetuals and dated futures), `/orders`, `/quotes` and their
`/options/*` aliases the CLOB (spot and options). Everything else about them is the same, so the
handlers here take the venues as a parameter and `perps.py` and `options.py` only declare their
endpoints. A market of the other venue answers 404 UNKNOWN_MARKET naming the right path, an order
of the other venue 404 ORDER_NOT_FOUND as if it did not exist; under the `gitbook` profile
`/perps/*` also takes spot markets, as GitBook documents (docs/fidelity.md "Order endpoints").

Every body is read whole before anything is looked up, so bad input is 400 before an unknown
market is 404 (docs/fidelity.md "Wire conventions": the check order).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ocx_sim.auth.policy import Profile
from ocx_sim.engine.commands.preview import Preview
from ocx_sim.engine.commands.quotes import MAX_BULK_QUOTES, QuoteRequest, QuotesResult
from ocx_sim.engine.core.markets import MarketSpec, Venue
from ocx_sim.engine.core.orders import MarginMode, OrderRequest, OrderType, Side, TimeInForce
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call
from ocx_sim.gateway.schemas import (
    DECIMAL,
    POSITIVE_DECIMAL,
    Schema,
    array,
    at_least_one_of,
    enum,
    obj,
    ref,
    requires_price_unless,
    text,
)

PERPS: frozenset[Venue] = frozenset({Venue.PERPS})
CLOB: frozenset[Venue] = frozenset({Venue.SPOT, Venue.OPTIONS})
_ID_LENGTH = 64
PLACING: tuple[ErrorCode, ...] = (
    ErrorCode.INSUFFICIENT_BALANCE,
    ErrorCode.DUPLICATE_CLIENT_ORDER_ID,
    ErrorCode.MARKET_HALTED,
    ErrorCode.MARKET_EXPIRED,
    ErrorCode.INSUFFICIENT_MARGIN,
    ErrorCode.POST_ONLY_WOULD_TAKE,
    ErrorCode.REDUCE_ONLY_WOULD_INCREASE,
    ErrorCode.PRICE_OUT_OF_BAND,
    ErrorCode.NO_LIQUIDITY,
    ErrorCode.SELF_TRADE,
    ErrorCode.TOO_MANY_OPEN_ORDERS,
)
"""What admitting an order can refuse (engine/commands/admission.py), for `/openapi.json`:
spot inventory (400), the market's state and the account (409), margin and the book (422)."""
ON_AN_ORDER: tuple[ErrorCode, ...] = (ErrorCode.ORDER_NOT_FOUND, ErrorCode.ORDER_NOT_OPEN)
"""An order named by its id: unknown or another user's (404), no longer open (409)."""


def perps_venues(profile: Profile) -> frozenset[Venue]:
    return PERPS | {Venue.SPOT} if profile is Profile.GITBOOK else PERPS


def market_on(
    exchange: Exchange, market_id: str, venues: Collection[Venue], field: str = "marketId"
) -> MarketSpec:
    """The market, if it trades on this path's venues; else 404 UNKNOWN_MARKET."""
    spec = exchange.market(market_id)
    if spec.venue not in venues:
        path = "/perps/orders" if spec.venue is Venue.PERPS else "/orders"
        raise OcxError(
            ErrorCode.UNKNOWN_MARKET,
            f"{market_id} does not trade on this path; use {path}",
            {"marketId": market_id, "field": field},
        )
    return spec


# -- bodies -----------------------------------------------------------------------------------


def order_request(
    body: Mapping[str, Any], exchange: Exchange, venues: Collection[Venue], prefix: str = ""
) -> OrderRequest:
    """An order body as an `OrderRequest`, with the defaults of docs/fidelity.md "Orders":
    limit, gtc, not post-only, not reduce-only, cross."""
    request = OrderRequest(
        market_id=parse.string(body, "marketId", prefix, max_length=_ID_LENGTH),
        side=parse.choice(body, "side", Side, prefix),
        quantity=parse.decimal(body, "quantity", prefix),
        type=parse.optional_choice(body, "type", OrderType, prefix) or OrderType.LIMIT,
        price=parse.optional_decimal(body, "price", prefix),
        time_in_force=parse.optional_choice(body, "timeInForce", TimeInForce, prefix)
        or TimeInForce.GTC,
        post_only=parse.boolean(body, "postOnly", prefix),
        reduce_only=parse.boolean(body, "reduceOnly", prefix),
        margin_mode=parse.optional_choice(body, "marginMode", MarginMode, prefix)
        or MarginMode.CROSS,
        client_order_id=parse.optional_string(body, "clientOrderId", prefix, max_length=64),
        stop_price=parse.optional_decimal(body, "stopPrice", prefix),
        take_profit_price=parse.optional_decimal(body, "takeProfitPrice", prefix),
        stop_loss_price=parse.optional_decimal(body, "stopLossPrice", prefix),
    )
    market_on(exchange, request.market_id, venues, prefix + "marketId")
    return request


def quote_request(body: Mapping[str, Any], prefix: str, side: Side | None = None) -> QuoteRequest:
    """One quote of a ladder (`quotes[i]`), or one side of a two-sided quote (`bid`, `ask`:
    the side is fixed and the quote is post-only unless it says otherwise)."""
    return QuoteRequest(
        side=side if side is not None else parse.choice(body, "side", Side, prefix),
        price=parse.decimal(body, "price", prefix),
        quantity=parse.decimal(body, "quantity", prefix),
        client_order_id=parse.optional_string(body, "clientOrderId", prefix, max_length=64),
        time_in_force=parse.optional_choice(body, "timeInForce", TimeInForce, prefix)
        or TimeInForce.GTC,
        post_only=parse.boolean(body, "postOnly", prefix, default=side is not None),
        reduce_only=parse.boolean(body, "reduceOnly", prefix),
        margin_mode=parse.optional_choice(body, "marginMode", MarginMode, prefix)
        or MarginMode.CROSS,
    )


# -- answers ----------------------------------------------------------------------------------


def preview_answer(preview: Preview) -> dict[str, Any]:
    """Amounts in USDC, `feeBps` a plain decimal; `reason` and `reasonCode` only when the order
    would be refused."""
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


def quotes_answer(exchange: Exchange, result: QuotesResult) -> dict[str, Any]:
    return {
        "quoteId": result.quote_id,
        "cancelled": result.cancelled,
        "orders": [render.order(exchange, o) for o in result.orders],
    }


# -- handlers (each path module wraps them under its own operation names) ----------------------


async def place(call: Call, venues: Collection[Venue]) -> Any:
    """Place one order; it matches at once and what rests stays open."""
    exchange = call.exchange
    placed = exchange.place_order(call.user_id, order_request(call.body, exchange, venues))
    return render.placement(exchange, call.user_id, placed)


async def preview(call: Call, venues: Collection[Venue]) -> Any:
    """What the order would cost and whether it would pass; changes nothing."""
    exchange = call.exchange
    request = order_request(call.body, exchange, venues)
    return preview_answer(exchange.preview_order(call.user_id, request))


async def cancel(call: Call, venues: Collection[Venue]) -> Any:
    """Cancel one open order: the order as it now stands."""
    exchange = call.exchange
    order = exchange.cancel_order(call.user_id, call.path_param("id"), venues=venues)
    return render.order(exchange, order)


async def modify(call: Call, venues: Collection[Venue]) -> Any:
    """A new price and/or a new total quantity; a new price that crosses trades at once."""
    exchange = call.exchange
    placed = exchange.modify_order(
        call.user_id,
        call.path_param("id"),
        price=parse.optional_decimal(call.body, "price"),
        quantity=parse.optional_decimal(call.body, "quantity"),
        venues=venues,
    )
    return render.placement(exchange, call.user_id, placed)


async def cancel_all(call: Call, venues: Collection[Venue]) -> Any:
    """The kill switch: every open order on these venues matching all the given scopes."""
    body, exchange = call.body, call.exchange
    market_id = parse.optional_string(body, "marketId", max_length=_ID_LENGTH)
    quote_id = parse.optional_string(body, "quoteId", max_length=_ID_LENGTH)
    client_order_id = parse.optional_string(body, "clientOrderId", max_length=64)
    margin_mode = parse.optional_choice(body, "marginMode", MarginMode)
    if market_id is not None:
        market_on(exchange, market_id, venues)
    cancelled = exchange.cancel_all(
        call.user_id,
        market_id=market_id,
        quote_id=quote_id,
        client_order_id=client_order_id,
        margin_mode=margin_mode,
        venues=venues,
    )
    return {"cancelled": cancelled, "count": len(cancelled)}


async def two_sided_quote(call: Call, venues: Collection[Venue]) -> Any:
    """One two-sided quote on one market: a post-only `bid` and/or `ask` tagged with one
    `quoteId` (generated when absent); errors name the side (`bid.price`)."""
    body, exchange = call.body, call.exchange
    market_id = parse.string(body, "marketId", max_length=_ID_LENGTH)
    quote_id = parse.optional_string(body, "quoteId", max_length=_ID_LENGTH)
    labels: list[str] = []
    quotes: list[QuoteRequest] = []
    for name, side in (("bid", Side.BUY), ("ask", Side.SELL)):
        raw = body.get(name)
        if raw is None:
            continue
        if not isinstance(raw, dict):
            raise invalid(name, "must be a JSON object {price, quantity, clientOrderId?}")
        labels.append(name)
        quotes.append(quote_request(raw, name + ".", side))
    if not quotes:
        raise invalid("bid", "give a bid, an ask, or both")
    market_on(exchange, market_id, venues)
    result = exchange.place_quotes(
        call.user_id, market_id, quotes, quote_id=quote_id, labels=labels
    )
    return quotes_answer(exchange, result)


async def bulk_quotes(call: Call, venues: Collection[Venue]) -> Any:
    """Replace a ladder atomically: with `cancelAll` the caller's open orders on the market are
    cancelled first; if any quote would be refused nothing changes (the error names
    `quotes[i]`). At most 50 quotes; one request for rate limiting."""
    body, exchange = call.body, call.exchange
    market_id = parse.string(body, "marketId", max_length=_ID_LENGTH)
    raw = body.get("quotes")
    if isinstance(raw, list) and len(raw) > MAX_BULK_QUOTES:
        raise invalid("quotes", f"at most {MAX_BULK_QUOTES} quotes per call, got {len(raw)}")
    quotes = [
        quote_request(item, f"quotes[{i}].") for i, item in enumerate(parse.objects(body, "quotes"))
    ]
    quote_id = parse.optional_string(body, "quoteId", max_length=_ID_LENGTH)
    cancel = parse.boolean(body, "cancelAll")
    market_on(exchange, market_id, venues)
    result = exchange.place_quotes(
        call.user_id, market_id, quotes, quote_id=quote_id, cancel_all=cancel
    )
    return quotes_answer(exchange, result)


# -- schemas ----------------------------------------------------------------------------------

_STRING: Schema = {"type": "string"}
_ID: Schema = text(_ID_LENGTH)
_CLIENT_ORDER_ID: Schema = text(64)
_ORDER_ID: Schema = {"type": "string", "minLength": 26, "maxLength": 26}

ORDER_REQUEST: Schema = obj(
    {
        "marketId": _ID,
        "side": enum("buy", "sell"),
        "quantity": POSITIVE_DECIMAL,
        "type": enum("limit", "market"),
        "price": POSITIVE_DECIMAL,
        "timeInForce": enum("gtc", "ioc", "fok"),
        "postOnly": {"type": "boolean"},
        "reduceOnly": {"type": "boolean"},
        "marginMode": enum("cross", "isolated"),
        "clientOrderId": _CLIENT_ORDER_ID,
        "stopPrice": POSITIVE_DECIMAL,
        "takeProfitPrice": POSITIVE_DECIMAL,
        "stopLossPrice": POSITIVE_DECIMAL,
    },
    optional=(
        "type",
        "price",
        "timeInForce",
        "postOnly",
        "reduceOnly",
        "marginMode",
        "clientOrderId",
        "stopPrice",
        "takeProfitPrice",
        "stopLossPrice",
    ),
) | requires_price_unless("type", "market")
QUOTE: Schema = obj(
    {
        "side": enum("buy", "sell"),
        "price": POSITIVE_DECIMAL,
        "quantity": POSITIVE_DECIMAL,
        "clientOrderId": _CLIENT_ORDER_ID,
        "timeInForce": enum("gtc", "ioc", "fok"),
        "postOnly": {"type": "boolean"},
        "reduceOnly": {"type": "boolean"},
        "marginMode": enum("cross", "isolated"),
    },
    optional=("clientOrderId", "timeInForce", "postOnly", "reduceOnly", "marginMode"),
)
_SIDE_QUOTE: Schema = obj(
    {k: v for k, v in QUOTE["properties"].items() if k != "side"},
    optional=("clientOrderId", "timeInForce", "postOnly", "reduceOnly", "marginMode"),
)
MODIFY: Schema = obj(
    {"price": POSITIVE_DECIMAL, "quantity": POSITIVE_DECIMAL}, optional=("price", "quantity")
) | at_least_one_of("price", "quantity")
"""A new price, a new quantity, or both (engine/commands/trading.py `modify_order`)."""
CANCEL_ALL: Schema = obj(
    {
        "marketId": _ID,
        "quoteId": _ID,
        "clientOrderId": _CLIENT_ORDER_ID,
        "marginMode": enum("cross", "isolated"),
    },
    optional=("marketId", "quoteId", "clientOrderId", "marginMode"),
)
TWO_SIDED_QUOTE: Schema = obj(
    {"marketId": _ID, "bid": _SIDE_QUOTE, "ask": _SIDE_QUOTE, "quoteId": _ID},
    optional=("bid", "ask", "quoteId"),
) | at_least_one_of("bid", "ask")
"""A bid, an ask, or both (`two_sided_quote`)."""
BULK_QUOTES: Schema = obj(
    {
        "marketId": _ID,
        "quoteId": _ID,
        "cancelAll": {"type": "boolean"},
        "quotes": {**array(QUOTE), "maxItems": MAX_BULK_QUOTES},
    },
    optional=("quoteId", "cancelAll"),
)

COMPONENTS: dict[str, Schema] = {
    "OrderPreview": obj(
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
    "QuotesResult": obj(
        {"quoteId": _STRING, "cancelled": array(_ORDER_ID), "orders": array(ref("Order"))}
    ),
    "CancelAllResult": obj(
        {"cancelled": array(_ORDER_ID), "count": {"type": "integer", "minimum": 0}}
    ),
}
