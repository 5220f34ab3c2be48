"""The stream endpoints: a request is checked like any other (credentials, then its
parameters, 400 naming the one at fault, then the market, 404), and only then becomes a stream
(docs/fidelity.md "Streams"). All six OCX streams are served. `/portfolio/balances/stream` takes
no parameter: it ignores any query parameter, as the REST reads without parameters do
(docs/fidelity.md "Streams"). The private streams take a session or an API key of scope `read`
or `trade` (`Access.READ`, as the REST reads of the same objects do); an anonymous caller gets
the gateway's 401 before any parameter is read.
"""

from __future__ import annotations

from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.markets import MarketSpec, Venue
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.gateway import parse
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import Schema, obj
from ocx_sim.streams import sse
from ocx_sim.streams.account import AccountChannel
from ocx_sim.streams.balances import BalancesChannel
from ocx_sim.streams.board import BoardChannel
from ocx_sim.streams.book import BookChannel
from ocx_sim.streams.hub import Hub, Subscriber
from ocx_sim.worlds import World

EVENT_STREAM = "text/event-stream"
PRIMARY_UNDERLYING = "BTC"
_EVENTS_PATH = {Venue.PERPS: "/perps/stream/events", Venue.OPTIONS: "/options/stream/events"}
PERPS: frozenset[Venue] = frozenset({Venue.PERPS})
"""The user stream's venue: perpetuals and dated futures (docs/fidelity.md "Streams")."""


def hub_of(world: World) -> Hub:
    """The world's hub, made on first use and following the world from then on."""
    for observer in world.observers:
        if isinstance(observer, Hub):
            return observer
    hub = Hub(lambda: world.exchange)
    world.observers.append(hub)
    return hub


BOARD_INTERVAL_MS = 1_000
BALANCES_INTERVAL_MS = 250
"""The two streams OCX gives no `intervalMs`: on a realtime world they send at most one frame
per this much wall time (docs/fidelity.md "Streams"), as the others do at their `intervalMs`;
a fast clock moves the board on every tick."""


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


def subscribe_board(world: World, query: dict[str, str]) -> Subscriber:
    """`/markets/board/stream?underlying=` (default BTC): an underlying's options board."""
    underlying = parse.query_string(query, "underlying") or PRIMARY_UNDERLYING
    world.exchange.board(underlying)  # 404 for an underlying without options, 503 without index
    return hub_of(world).subscribe(
        ("board", underlying), BoardChannel(underlying), interval_ms=BOARD_INTERVAL_MS
    )


def subscribe_user(world: World, user_id: str, query: dict[str, str]) -> Subscriber:
    """`/perps/stream/user?intervalMs=&openOnly=`: the caller's perps fills and positions."""
    interval = parse.query_int(query, "intervalMs", default=250, low=100, high=5000)
    open_only = parse.query_bool(query, "openOnly", default=False)
    channel = AccountChannel(
        user_id, PERPS, open_only, "user", "PerpStreamSnapshot", "PerpStreamDelta"
    )
    key = ("user", user_id, interval, open_only)
    return hub_of(world).subscribe(key, channel, interval_ms=interval)


def subscribe_events(
    world: World, user_id: str, query: dict[str, str], *, options: bool = False
) -> Subscriber:
    """`/perps/stream/events` (or, `options`, `/options/stream/events`)`?marketId=&depth=
    &intervalMs=&openOnly=`: one market's book and the caller's fills and positions in it."""
    market_id = parse.query_string(query, "marketId", required=True)
    depth = parse.query_int(query, "depth", default=25, low=1, high=250)
    interval = parse.query_int(query, "intervalMs", default=500, low=100, high=5000)
    open_only = parse.query_bool(query, "openOnly", default=False)
    assert market_id is not None and depth is not None
    spec = world.exchange.market(market_id)
    venue = Venue.OPTIONS if options else Venue.PERPS
    if spec.venue is not venue:
        there = _EVENTS_PATH.get(spec.venue)
        raise OcxError(
            ErrorCode.UNKNOWN_MARKET,
            f"{market_id} has no events stream"
            if there is None
            else f"{market_id} streams its events at {there}",
            {"marketId": market_id, "field": "marketId"},
        )
    token, names = ("options", "Option") if options else ("perps", "Perp")
    channel = AccountChannel(
        user_id,
        frozenset({spec.venue}),
        open_only,
        token,
        f"{names}StreamSnapshot",
        f"{names}StreamDelta",
        BookChannel(spec, depth),
    )
    key = (token, user_id, spec.id, depth, interval, open_only)
    return hub_of(world).subscribe(key, channel, interval_ms=interval)


def subscribe_balances(world: World, user_id: str) -> Subscriber:
    """`/portfolio/balances/stream`: the caller's balances and equity."""
    return hub_of(world).subscribe(
        ("balances", user_id), BalancesChannel(user_id), interval_ms=BALANCES_INTERVAL_MS
    )


async def book_stream(call: Call) -> Any:
    return sse.response(subscribe_book(call.world, dict(call.query)))


async def board_stream(call: Call) -> Any:
    return sse.response(subscribe_board(call.world, dict(call.query)))


async def user_stream(call: Call) -> Any:
    return sse.response(subscribe_user(call.world, call.user_id, dict(call.query)))


async def perps_events_stream(call: Call) -> Any:
    return sse.response(subscribe_events(call.world, call.user_id, dict(call.query)))


async def balances_stream(call: Call) -> Any:
    return sse.response(subscribe_balances(call.world, call.user_id))


async def options_events_stream(call: Call) -> Any:
    query = dict(call.query)
    return sse.response(subscribe_events(call.world, call.user_id, query, options=True))


_ENVELOPE: Schema = obj(
    {
        "eventId": {"type": "string"},
        "eventType": {"type": "string"},
        "eventSeq": {"type": "integer"},
        "engineTs": {"type": "integer"},
        "payload": {"type": "object"},
    }
)


def _interval(default: int) -> Schema:
    return {"type": "integer", "minimum": 100, "maximum": 5000, "default": default}


_OPEN_ONLY: Schema = {"type": "boolean", "default": False}
_EVENTS_QUERY: dict[str, Schema] = {
    "marketId": {"type": "string", "x-required": True},
    "depth": {"type": "integer", "minimum": 1, "maximum": 250, "default": 25},
    "intervalMs": _interval(500),
    "openOnly": _OPEN_ONLY,
}

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
    Endpoint(
        "GET",
        "/markets/board/stream",
        board_stream,
        Access.PUBLIC,
        "Server-Sent Events: an options board, a snapshot then the entries that change",
        response=_ENVELOPE,
        query={"underlying": {"type": "string", "default": PRIMARY_UNDERLYING}},
        media_type=EVENT_STREAM,
    ),
    Endpoint(
        "GET",
        "/perps/stream/user",
        user_stream,
        Access.READ,
        "Server-Sent Events: your perps fills and positions, a snapshot then what changes",
        response=_ENVELOPE,
        query={"intervalMs": _interval(250), "openOnly": _OPEN_ONLY},
        media_type=EVENT_STREAM,
    ),
    Endpoint(
        "GET",
        "/perps/stream/events",
        perps_events_stream,
        Access.READ,
        "Server-Sent Events: a perps market's book and your fills and positions in it",
        response=_ENVELOPE,
        query=_EVENTS_QUERY,
        media_type=EVENT_STREAM,
    ),
    Endpoint(
        "GET",
        "/options/stream/events",
        options_events_stream,
        Access.READ,
        "Server-Sent Events: an option's book and your fills and positions in it",
        response=_ENVELOPE,
        query=_EVENTS_QUERY,
        media_type=EVENT_STREAM,
    ),
    Endpoint(
        "GET",
        "/portfolio/balances/stream",
        balances_stream,
        Access.READ,
        "Server-Sent Events: your balances and equity, a snapshot then each change",
        response=_ENVELOPE,
        media_type=EVENT_STREAM,
    ),
]
