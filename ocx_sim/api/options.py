"""The CLOB order endpoints: spot and options single orders, quotes, cancels, strategies.

The single-order handlers are the shared order path of `orders.py` on the CLOB's venues, spot
and options, each path with its `/options/…` alias. Multi-leg strategies (`/orders/strategy`,
engine/commands/strategy.py) take `{strategyName?, allOrNone?, cancelOnFailure?, legs: [{market,
side, quantity, price}]}`: a leg's key is `market`, not `marketId` (OCX's REST reference), its
`timeInForce` is ignored, and so is `cancelOnFailure` (an all-or-none strategy that cannot fill
leaves nothing to cancel). Everything but the previews is on the rate-limited order path, a
strategy as one request whatever its legs (docs/fidelity.md "Rate limits").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocx_sim.api import orders
from ocx_sim.api.orders import (
    BULK_QUOTES,
    CANCEL_ALL,
    CLOB,
    MODIFY,
    ORDER_REQUEST,
    TWO_SIDED_QUOTE,
    market_on,
)
from ocx_sim.auth.policy import Access
from ocx_sim.engine.commands.strategy import MAX_LEGS, MIN_LEGS, StrategyLeg
from ocx_sim.engine.core.orders import Side
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import (
    DECIMAL,
    POSITIVE_DECIMAL,
    Schema,
    array,
    enum,
    obj,
    ref,
    text,
)


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


def strategy_legs(body: Mapping[str, Any], exchange: Exchange) -> list[StrategyLeg]:
    """The legs, every one read before any market is looked up (400 before 404)."""
    raw = body.get("legs")
    if raw is None:
        raise invalid("legs", "is required")
    if not isinstance(raw, list):
        raise invalid("legs", "must be a list")
    if not MIN_LEGS <= len(raw) <= MAX_LEGS:
        raise invalid("legs", f"a strategy has {MIN_LEGS} to {MAX_LEGS} legs, got {len(raw)}")
    legs: list[StrategyLeg] = []
    for i, item in enumerate(raw):
        prefix = f"legs[{i}]."
        if not isinstance(item, dict):
            raise invalid(f"legs[{i}]", "must be a JSON object {market, side, quantity, price}")
        legs.append(
            StrategyLeg(
                market_id=parse.string(item, "market", prefix, max_length=64),
                side=parse.choice(item, "side", Side, prefix),
                quantity=parse.decimal(item, "quantity", prefix),
                price=parse.decimal(item, "price", prefix),
            )
        )
    parse.optional_string(body, "strategyName", max_length=64)
    parse.boolean(body, "cancelOnFailure")
    for i, leg in enumerate(legs):
        market_on(exchange, leg.market_id, CLOB, f"legs[{i}].market")
    return legs


async def place_strategy(call: Call) -> Any:
    """2–8 option legs on one underlying, filled together (all or none by default)."""
    exchange = call.exchange
    legs = strategy_legs(call.body, exchange)
    all_or_none = parse.boolean(call.body, "allOrNone", default=True)
    result = exchange.place_strategy(call.user_id, legs, all_or_none=all_or_none)
    return {
        "strategyId": result.strategy_id,
        "fullyFilled": result.fully_filled,
        "legs": [
            {"orderId": p.order.id, "fills": [render.fill(exchange, f) for f in p.fills]}
            for p in result.legs
        ],
    }


async def preview_strategy(call: Call) -> Any:
    """What the strategy would cost and whether it would pass; changes nothing."""
    exchange = call.exchange
    legs = strategy_legs(call.body, exchange)
    all_or_none = parse.boolean(call.body, "allOrNone", default=True)
    preview = exchange.preview_strategy(call.user_id, legs, all_or_none=all_or_none)
    body: dict[str, Any] = {
        "approved": preview.approved,
        "fullyFilled": preview.fully_filled,
        "legs": [
            {
                "market": p.leg.market_id,
                "side": p.leg.side.value,
                "quantity": render.quantity(spec, p.leg.quantity),
                "price": render.price(spec, p.leg.price),
                "estFee": render.usdc(p.est_fee),
                "feeBps": render.decimal_text(p.fee_bps),
                "feeRole": p.fee_role.value,
            }
            for p in preview.legs
            for spec in (exchange.market(p.leg.market_id),)
        ],
        "estFee": render.usdc(preview.est_fee),
        "marginRequired": render.usdc(preview.margin_required),
    }
    if not preview.approved:
        body["reason"] = preview.reason
        body["reasonCode"] = preview.reason_code
    return body


_STRING: Schema = {"type": "string"}
_LEG: Schema = obj(
    {
        "market": text(64),
        "side": enum("buy", "sell"),
        "quantity": POSITIVE_DECIMAL,
        "price": POSITIVE_DECIMAL,
        "timeInForce": enum("gtc", "ioc", "fok"),
    },
    optional=("timeInForce",),
)
STRATEGY_REQUEST: Schema = obj(
    {
        "strategyName": text(64),
        "allOrNone": {"type": "boolean"},
        "cancelOnFailure": {"type": "boolean"},
        "legs": {**array(_LEG), "minItems": MIN_LEGS, "maxItems": MAX_LEGS},
    },
    optional=("strategyName", "allOrNone", "cancelOnFailure"),
)
COMPONENTS: dict[str, Schema] = {
    "StrategyResult": obj(
        {
            "strategyId": _STRING,
            "fullyFilled": {"type": "boolean"},
            "legs": array(obj({"orderId": _STRING, "fills": array(ref("Fill"))})),
        }
    ),
    "StrategyPreview": obj(
        {
            "approved": {"type": "boolean"},
            "fullyFilled": {"type": "boolean"},
            "legs": array(
                obj(
                    {
                        "market": _STRING,
                        "side": enum("buy", "sell"),
                        "quantity": DECIMAL,
                        "price": DECIMAL,
                        "estFee": DECIMAL,
                        "feeBps": DECIMAL,
                        "feeRole": enum("maker", "taker"),
                    }
                )
            ),
            "estFee": DECIMAL,
            "marginRequired": DECIMAL,
            "reason": _STRING,
            "reasonCode": _STRING,
        },
        optional=("reason", "reasonCode"),
    ),
}

ENDPOINTS = [
    Endpoint(
        "POST",
        "/orders/strategy",
        place_strategy,
        Access.SESSION,
        "Place a multi-leg option strategy: 2–8 legs filled together, all or none by default",
        response=ref("StrategyResult"),
        request=STRATEGY_REQUEST,
        aliases=("/options/orders/strategy",),
        order_path=True,
        errors=(*orders.PLACING, ErrorCode.STRATEGY_NOT_FILLED, ErrorCode.UNKNOWN_MARKET),
    ),
    Endpoint(
        "POST",
        "/orders/strategy/preview",
        preview_strategy,
        Access.TRADE,
        "Preview a multi-leg option strategy: fees, margin, fill and approval, no side effects",
        response=ref("StrategyPreview"),
        request=STRATEGY_REQUEST,
        aliases=("/options/orders/strategy/preview",),
        errors=(ErrorCode.UNKNOWN_MARKET,),
    ),
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
        errors=orders.PLACING,
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
        errors=orders.ON_AN_ORDER + orders.PLACING,
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
        errors=orders.ON_AN_ORDER,
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
        errors=orders.PLACING,
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
        errors=orders.PLACING,
    ),
]
