"""The CLOB order endpoints: spot and options single orders, quotes, cancels.

The handlers are the shared order path of `orders.py` on the CLOB's venues, spot and options
(orders.py), each path with its `/options/…` alias. Until the options issue, options trade
here exactly like spot (no board, DVOL or strategies yet, so `/orders/strategy` is not served).
Everything but the preview is on the rate-limited order path (docs/fidelity.md "Rate limits").
"""

from __future__ import annotations

from typing import Any

from ocx_sim.api import orders
from ocx_sim.api.orders import (
    BULK_QUOTES,
    CANCEL_ALL,
    CLOB,
    MODIFY,
    ORDER_REQUEST,
    TWO_SIDED_QUOTE,
)
from ocx_sim.auth.policy import Access
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import Schema, ref


async def place_clob_order(call: Call) -> Any:
    return await orders.place(call, CLOB)


async def preview_clob_order(call: Call) -> Any:
    return await orders.preview(call, CLOB)


async def modify_clob_order(call: Call) -> Any:
    return await orders.modify(call, CLOB)


async def cancel_clob_order(call: Call) -> Any:
    return await orders.cancel(call, CLOB)


async def cancel_all_clob_orders(call: Call) -> Any:
    return await orders.cancel_all(call, CLOB)


async def place_clob_quotes(call: Call) -> Any:
    return await orders.two_sided_quote(call, CLOB)


async def place_clob_quotes_bulk(call: Call) -> Any:
    return await orders.bulk_quotes(call, CLOB)


COMPONENTS: dict[str, Schema] = {}

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
        response=ref("OrderPreview"),
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
        request=MODIFY,
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
        response=ref("CancelAllResult"),
        request=CANCEL_ALL,
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
        response=ref("QuotesResult"),
        request=TWO_SIDED_QUOTE,
        aliases=("/options/quotes",),
        order_path=True,
    ),
    Endpoint(
        "POST",
        "/quotes/bulk",
        place_clob_quotes_bulk,
        Access.TRADE,
        "Replace a quote ladder on one spot or option market, all or nothing",
        response=ref("QuotesResult"),
        request=BULK_QUOTES,
        aliases=("/options/quotes/bulk",),
        order_path=True,
    ),
]
