"""Market moves (docs/control-api.md "Markets"): set an index, pin a mark, trade as an outsider,
halt and resume.

- `index` sets the index of the market's underlying (every market on it moves) and holds it
  there until set again; `mark` pins the market's mark, which must lie on its tick, until set
  again. Both answer `{marketId, index, mark}` on the market's price decimals.
- `trade` is an outside trader's IOC limit order: `side: "sell"` takes resting bids at `price`
  or better. It answers the outside order's fills; this is how a test fills a resting order.
- `halt` and `resume` answer `{marketId, tradingStatus}`; while halted, new orders on the
  market answer 409 MARKET_HALTED and cancels still work.

An unknown market is 404 UNKNOWN_MARKET.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.orders import Side
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import (
    DECIMAL,
    POSITIVE_DECIMAL,
    Schema,
    array,
    enum,
    nullable,
    obj,
    ref,
)


def _price(spec: MarketSpec, value: Decimal | None) -> str | None:
    """On the market's decimals (an index off the tick is rounded half-even, as the markets
    list shows marks)."""
    if value is None:
        return None
    return spec.format_price(value.quantize(spec.tick, rounding=ROUND_HALF_EVEN))


def _prices(exchange: Exchange, spec: MarketSpec) -> dict[str, Any]:
    return {
        "marketId": spec.id,
        "index": _price(spec, exchange.index_price(spec.id)),
        "mark": _price(spec, exchange.mark_price(spec.id)),
    }


def _status(exchange: Exchange, spec: MarketSpec) -> dict[str, Any]:
    return {
        "marketId": spec.id,
        "tradingStatus": "halted" if exchange.is_halted(spec.id) else "active",
    }


async def set_index(call: Call) -> Any:
    """Set the index of the market's underlying and hold it there."""
    price = parse.decimal(call.body, "price")
    exchange = call.exchange
    spec = exchange.market(call.path_param("marketId"))
    exchange.sim.set_index(spec.id, price)
    return _prices(exchange, spec)


async def pin_mark(call: Call) -> Any:
    """Pin the market's mark (on its tick) until set again."""
    price = parse.decimal(call.body, "price")
    exchange = call.exchange
    spec = exchange.market(call.path_param("marketId"))
    exchange.sim.pin_mark(spec.id, price)
    return _prices(exchange, spec)


async def outside_trade(call: Call) -> Any:
    """An outside trader's IOC limit order against the book; answers its fills."""
    body = call.body
    side = parse.choice(body, "side", Side)
    price = parse.decimal(body, "price")
    quantity = parse.decimal(body, "quantity")
    exchange = call.exchange
    spec = exchange.market(call.path_param("marketId"))
    placed = exchange.sim.outside_trade(spec.id, side, price, quantity)
    return {"fills": [render.fill(exchange, f) for f in placed.fills]}


async def halt_market(call: Call) -> Any:
    """Refuse new orders on the market (409 MARKET_HALTED) until resumed; cancels still work."""
    exchange = call.exchange
    spec = exchange.market(call.path_param("marketId"))
    exchange.sim.halt(spec.id)
    return _status(exchange, spec)


async def resume_market(call: Call) -> Any:
    """Accept orders on a halted market again."""
    exchange = call.exchange
    spec = exchange.market(call.path_param("marketId"))
    exchange.sim.resume(spec.id)
    return _status(exchange, spec)


COMPONENTS: dict[str, Schema] = {
    "SimPrices": obj(
        {"marketId": {"type": "string"}, "index": nullable(DECIMAL), "mark": nullable(DECIMAL)}
    ),
    "SimTradingStatus": obj(
        {"marketId": {"type": "string"}, "tradingStatus": enum("active", "halted")}
    ),
}
PRICE: Schema = obj({"price": POSITIVE_DECIMAL})
TRADE: Schema = obj(
    {"side": enum("buy", "sell"), "price": POSITIVE_DECIMAL, "quantity": POSITIVE_DECIMAL}
)
ENDPOINTS = [
    Endpoint(
        "POST",
        "/_sim/markets/{marketId}/index",
        set_index,
        Access.PUBLIC,
        "Set the index of the market's underlying and hold it there",
        response=ref("SimPrices"),
        request=PRICE,
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/markets/{marketId}/mark",
        pin_mark,
        Access.PUBLIC,
        "Pin the market's mark (on its tick) until set again",
        response=ref("SimPrices"),
        request=PRICE,
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/markets/{marketId}/trade",
        outside_trade,
        Access.PUBLIC,
        "An outside trader's IOC limit order: fills resting orders at the price or better",
        response=obj({"fills": array(ref("Fill"))}),
        request=TRADE,
        tag="control",
        errors=(ErrorCode.MARKET_HALTED, ErrorCode.MARKET_EXPIRED),
    ),
    Endpoint(
        "POST",
        "/_sim/markets/{marketId}/halt",
        halt_market,
        Access.PUBLIC,
        "Halt the market: new orders answer 409 MARKET_HALTED, cancels still work",
        response=ref("SimTradingStatus"),
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/markets/{marketId}/resume",
        resume_market,
        Access.PUBLIC,
        "Resume a halted market",
        response=ref("SimTradingStatus"),
        tag="control",
    ),
]
