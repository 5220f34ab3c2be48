"""Perpetuals and dated futures trading: orders, preview, cancel, modify, cancel-all, quotes,
the bulk ladder and closing a position.

The handlers are the shared order path of `orders.py` on the linear engine's venue
(`orders.perps_venues`). All but the preview are on the rate-limited order path
(docs/fidelity.md "Rate limits"); which credentials each accepts is docs/fidelity.md "Sign-in,
sessions and keys".
"""

from __future__ import annotations

from typing import Any

from ocx_sim.api import orders
from ocx_sim.api.orders import (
    BULK_QUOTES,
    CANCEL_ALL,
    MODIFY,
    ORDER_REQUEST,
    TWO_SIDED_QUOTE,
    market_on,
    perps_venues,
)
from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.markets import Venue
from ocx_sim.engine.core.orders import MarginMode, OrderType, TimeInForce
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import POSITIVE_DECIMAL, Schema, enum, obj, ref, text


def _venues(call: Call) -> frozenset[Venue]:
    return perps_venues(call.world.config.profile)


async def place_perps_order(call: Call) -> Any:
    return await orders.place(call, _venues(call))


async def preview_perps_order(call: Call) -> Any:
    return await orders.preview(call, _venues(call))


async def cancel_perps_order(call: Call) -> Any:
    return await orders.cancel(call, _venues(call))


async def modify_perps_order(call: Call) -> Any:
    return await orders.modify(call, _venues(call))


async def cancel_all_perps_orders(call: Call) -> Any:
    return await orders.cancel_all(call, _venues(call))


async def place_perps_quotes(call: Call) -> Any:
    return await orders.two_sided_quote(call, _venues(call))


async def place_perps_quotes_bulk(call: Call) -> Any:
    return await orders.bulk_quotes(call, _venues(call))


async def close_perps_position(call: Call) -> Any:
    """A reduce-only order against the position: all of it, or `quantity` of it."""
    body, exchange = call.body, call.exchange
    market_id = parse.string(body, "marketId", max_length=64)
    quantity = parse.optional_decimal(body, "quantity")
    margin_mode = parse.optional_choice(body, "marginMode", MarginMode) or MarginMode.CROSS
    order_type = parse.optional_choice(body, "orderType", OrderType) or OrderType.MARKET
    price = parse.optional_decimal(body, "price")
    time_in_force = parse.optional_choice(body, "timeInForce", TimeInForce) or TimeInForce.GTC
    spec = market_on(exchange, market_id, _venues(call))
    placed = exchange.close_position(
        call.user_id,
        spec.id,
        quantity=quantity,
        margin_mode=margin_mode,
        order_type=order_type,
        price=price,
        time_in_force=time_in_force,
    )
    return render.placement(exchange, call.user_id, placed)


_CLOSE: Schema = obj(
    {
        "marketId": text(64),
        "quantity": POSITIVE_DECIMAL,
        "marginMode": enum("cross", "isolated"),
        "orderType": enum("limit", "market"),
        "price": POSITIVE_DECIMAL,
        "timeInForce": enum("gtc", "ioc", "fok"),
    },
    optional=("quantity", "marginMode", "orderType", "price", "timeInForce"),
) | {
    # A limit close names its price; a market close (the default) may name its worst one.
    "if": {"properties": {"orderType": {"const": "limit"}}, "required": ["orderType"]},
    "then": {"required": ["price"]},
}

COMPONENTS: dict[str, Schema] = dict(orders.COMPONENTS)
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
        errors=orders.PLACING,
    ),
    Endpoint(
        "POST",
        "/perps/orders/preview",
        preview_perps_order,
        Access.TRADE,
        "Preview a perps order's notional, margin and fee without placing it",
        response=ref("OrderPreview"),
        request=ORDER_REQUEST,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/orders/cancel-all",
        cancel_all_perps_orders,
        Access.TRADE,
        "Cancel every open perps order matching the given scopes (kill switch)",
        response=ref("CancelAllResult"),
        request=CANCEL_ALL,
        body_optional=True,
        order_path=True,
        tag="perps",
    ),
    Endpoint(
        "POST",
        "/perps/orders/{id}/cancel",
        cancel_perps_order,
        Access.SESSION,
        "Cancel one open perps order",
        response=ref("Order"),
        order_path=True,
        tag="perps",
        errors=orders.ON_AN_ORDER,
    ),
    Endpoint(
        "POST",
        "/perps/orders/{id}/modify",
        modify_perps_order,
        Access.SESSION,
        "Change an open perps order's price and/or total quantity",
        response=ref("Placement"),
        request=MODIFY,
        order_path=True,
        tag="perps",
        errors=orders.ON_AN_ORDER + orders.PLACING,
    ),
    Endpoint(
        "POST",
        "/perps/quotes",
        place_perps_quotes,
        Access.SESSION,
        "Place a two-sided post-only quote on one market",
        response=ref("QuotesResult"),
        request=TWO_SIDED_QUOTE,
        order_path=True,
        tag="perps",
        errors=orders.PLACING,
    ),
    Endpoint(
        "POST",
        "/perps/quotes/bulk",
        place_perps_quotes_bulk,
        Access.TRADE,
        "Atomically place (and optionally replace) a ladder of up to 50 quotes",
        response=ref("QuotesResult"),
        request=BULK_QUOTES,
        order_path=True,
        tag="perps",
        errors=orders.PLACING,
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
        errors=orders.PLACING,
    ),
]
