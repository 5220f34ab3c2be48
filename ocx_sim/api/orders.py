"""Reading order, quote and cancel-all bodies, shared by the perps and the CLOB endpoints.

The two order paths serve different venues (SPEC.md §11.1): `/perps/*` the linear engine
(perpetuals and dated futures), `/orders` and `/options/*` the CLOB (spot and options). A
market of the other venue answers 404 UNKNOWN_MARKET naming the right path; under the
`gitbook` profile `/perps/*` also takes spot markets, as GitBook documents (SPEC.md §4.2).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ocx_sim.auth.policy import Profile
from ocx_sim.engine.exchange import Exchange
from ocx_sim.engine.markets import MarketSpec, Venue
from ocx_sim.engine.orders import MarginMode, OrderRequest, OrderType, Side, TimeInForce
from ocx_sim.engine.quotes import QuoteRequest
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.gateway import parse
from ocx_sim.gateway.schemas import DECIMAL, Schema, enum, obj

PERPS: frozenset[Venue] = frozenset({Venue.PERPS})
CLOB: frozenset[Venue] = frozenset({Venue.SPOT, Venue.OPTIONS})


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


def order_request(
    body: Mapping[str, Any], exchange: Exchange, venues: Collection[Venue], prefix: str = ""
) -> OrderRequest:
    """An order body (SPEC.md §4.2 table) as an `OrderRequest`, defaults per DECISIONS.md:
    limit, gtc, not post-only, not reduce-only, cross."""
    market_id = parse.string(body, "marketId", prefix, max_length=64)
    market_on(exchange, market_id, venues, prefix + "marketId")
    return OrderRequest(
        market_id=market_id,
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


def quote_request(body: Mapping[str, Any], prefix: str, side: Side | None = None) -> QuoteRequest:
    """One quote of a ladder (`quotes[i]`), or one side of `/perps/quotes` (`bid`, `ask`:
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


ORDER_REQUEST: Schema = obj(
    {
        "marketId": {"type": "string"},
        "side": enum("buy", "sell"),
        "quantity": DECIMAL,
        "type": enum("limit", "market"),
        "price": DECIMAL,
        "timeInForce": enum("gtc", "ioc", "fok"),
        "postOnly": {"type": "boolean"},
        "reduceOnly": {"type": "boolean"},
        "marginMode": enum("cross", "isolated"),
        "clientOrderId": {"type": "string"},
        "stopPrice": DECIMAL,
        "takeProfitPrice": DECIMAL,
        "stopLossPrice": DECIMAL,
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
)
QUOTE: Schema = obj(
    {
        "side": enum("buy", "sell"),
        "price": DECIMAL,
        "quantity": DECIMAL,
        "clientOrderId": {"type": "string"},
        "timeInForce": enum("gtc", "ioc", "fok"),
        "postOnly": {"type": "boolean"},
        "reduceOnly": {"type": "boolean"},
        "marginMode": enum("cross", "isolated"),
    },
    optional=("clientOrderId", "timeInForce", "postOnly", "reduceOnly", "marginMode"),
)
