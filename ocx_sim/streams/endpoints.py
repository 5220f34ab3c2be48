"""The stream endpoints: a request is checked like any other (credentials, then its
parameters, 400 naming the one at fault, then the market, 404), and only then becomes a stream
(docs/fidelity.md "Streams"). Built so far: `/perps/book-stream`; the others answer 404 until
they are built (README).
"""

from __future__ import annotations

from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.gateway import parse
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import Schema, obj
from ocx_sim.streams import sse
from ocx_sim.streams.book import BookChannel
from ocx_sim.streams.hub import Hub, Subscriber
from ocx_sim.worlds import World

EVENT_STREAM = "text/event-stream"


def hub_of(world: World) -> Hub:
    """The world's hub, made on first use and following the world from then on."""
    for observer in world.observers:
        if isinstance(observer, Hub):
            return observer
    hub = Hub(lambda: world.exchange)
    world.observers.append(hub)
    return hub


def subscribe_book(world: World, query: dict[str, str]) -> Subscriber:
    """`/perps/book-stream?marketId=&depth=&intervalMs=`: a linear market's book."""
    market_id = parse.query_string(query, "marketId", required=True)
    depth = parse.query_int(query, "depth", default=25, low=1, high=100)
    interval = parse.query_int(query, "intervalMs", default=100, low=50, high=2000)
    assert market_id is not None and depth is not None
    spec = _linear(world, market_id)
    return hub_of(world).subscribe(
        ("book", spec.id, depth, interval), BookChannel(spec, depth), interval_ms=interval
    )


def _linear(world: World, market_id: str) -> MarketSpec:
    spec = world.exchange.market(market_id)
    if spec.is_option:
        raise OcxError(
            ErrorCode.UNKNOWN_MARKET,
            f"{market_id} is an option: its book streams at /options/stream/events",
            {"marketId": market_id, "field": "marketId"},
        )
    return spec


async def book_stream(call: Call) -> Any:
    return sse.response(subscribe_book(call.world, dict(call.query)))


_ENVELOPE: Schema = obj(
    {
        "eventId": {"type": "string"},
        "eventType": {"type": "string"},
        "eventSeq": {"type": "integer"},
        "engineTs": {"type": "integer"},
        "payload": {"type": "object"},
    }
)

COMPONENTS: dict[str, Schema] = {}
ENDPOINTS = [
    Endpoint(
        "GET",
        "/perps/book-stream",
        book_stream,
        Access.PUBLIC,
        "Server-Sent Events: a linear market's book, a snapshot then the levels that change",
        response=_ENVELOPE,
        query={
            "marketId": {"type": "string", "x-required": True},
            "depth": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
            "intervalMs": {"type": "integer", "minimum": 50, "maximum": 2000, "default": 100},
        },
        media_type=EVENT_STREAM,
    ),
]
