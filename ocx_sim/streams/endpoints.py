"""The stream endpoints: a request is checked like any other (credentials, then its
parameters, 400 naming the one at fault, then the market, 404), and only then becomes a stream
(docs/fidelity.md "Streams"). All six OCX streams are served. `/portfolio/balances/stream` takes
no parameter: it ignores any query parameter, as the REST reads without parameters do
(docs/fidelity.md "Streams"). The private streams take a session or an API key of scope `read`
or `trade` (`Access.READ`, as the REST reads of the same objects do); an anonymous caller gets
the gateway's 401 before any parameter is read.

`CONTROL_ENDPOINTS` holds the control API's one stream, `/_sim/events/stream` (sim_events.py):
public, tagged `control`, served only when the control API is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import Schema, obj
from ocx_sim.streams import channels, sse
from ocx_sim.streams.channels import PRIMARY_UNDERLYING, Query
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


def subscribe(world: World, path: str, user_id: str | None, query: Query) -> Subscriber:
    """A new connection to the stream at `path` (channels.py) in `world`."""
    _, build = channels.STREAMS[path]
    key, channel, interval_ms = build(world.exchange, user_id, query)
    return hub_of(world).subscribe(key, channel, interval_ms=interval_ms)


def subscribe_book(world: World, query: Query) -> Subscriber:
    return subscribe(world, channels.BOOK, None, query)


def subscribe_board(world: World, query: Query) -> Subscriber:
    return subscribe(world, channels.BOARD, None, query)


def subscribe_user(world: World, user_id: str, query: Query) -> Subscriber:
    return subscribe(world, channels.USER, user_id, query)


def subscribe_events(
    world: World, user_id: str, query: Query, *, options: bool = False
) -> Subscriber:
    path = channels.OPTIONS_EVENTS if options else channels.PERPS_EVENTS
    return subscribe(world, path, user_id, query)


def subscribe_balances(world: World, user_id: str) -> Subscriber:
    return subscribe(world, channels.BALANCES, user_id, {})


def subscribe_sim_events(world: World, query: Query) -> Subscriber:
    """A new connection to the control API's `/_sim/events/stream` in `world`."""
    key, channel, interval_ms = channels.sim_events(world.exchange, None, query)
    return hub_of(world).subscribe(key, channel, interval_ms=interval_ms)


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


def _endpoint(
    path: str, name: str, summary: str, query: Mapping[str, Schema] | None = None
) -> Endpoint:
    """The stream at `path` as an endpoint: public or an account's as channels.py says
    (`name`: its OpenAPI operationId)."""
    private, _ = channels.STREAMS[path]

    async def stream(call: Call) -> Any:
        user_id = call.user_id if private else None
        return sse.response(subscribe(call.world, path, user_id, dict(call.query)))

    stream.__name__ = name
    access = Access.READ if private else Access.PUBLIC
    return Endpoint(
        "GET",
        path,
        stream,
        access,
        f"Server-Sent Events: {summary}",
        response=_ENVELOPE,
        query=query or {},
        media_type=EVENT_STREAM,
    )


COMPONENTS: dict[str, Schema] = {}
ENDPOINTS = [
    _endpoint(
        channels.BOOK,
        "book_stream",
        "a linear market's book, a snapshot then the levels that change",
        {
            "marketId": {"type": "string", "x-required": True},
            "depth": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
            "intervalMs": {"type": "integer", "minimum": 50, "maximum": 2000, "default": 100},
        },
    ),
    _endpoint(
        channels.BOARD,
        "board_stream",
        "an options board, a snapshot then the entries that change",
        {"underlying": {"type": "string", "default": PRIMARY_UNDERLYING}},
    ),
    _endpoint(
        channels.USER,
        "user_stream",
        "your perps fills and positions, a snapshot then what changes",
        {"intervalMs": _interval(250), "openOnly": _OPEN_ONLY},
    ),
    _endpoint(
        channels.PERPS_EVENTS,
        "perps_events_stream",
        "a perps market's book and your fills and positions in it",
        _EVENTS_QUERY,
    ),
    _endpoint(
        channels.OPTIONS_EVENTS,
        "options_events_stream",
        "an option's book and your fills and positions in it",
        _EVENTS_QUERY,
    ),
    _endpoint(
        channels.BALANCES,
        "balances_stream",
        "your balances and equity, a snapshot then each change",
    ),
]


async def sim_events_stream(call: Call) -> Any:
    return sse.response(subscribe_sim_events(call.world, dict(call.query)))


CONTROL_ENDPOINTS = [
    Endpoint(
        "GET",
        channels.SIM_EVENTS,
        sim_events_stream,
        Access.PUBLIC,
        "Server-Sent Events: the world's event log, a snapshot then the events each change adds",
        response=_ENVELOPE,
        query={
            "since": {
                "type": "integer",
                "minimum": 0,
                "description": "the snapshot holds the events after it; default: the last seq",
            },
            "types": {
                "type": "string",
                "description": "a comma list of event types (TradeExecuted,FundingPaid); "
                "default: all",
            },
        },
        media_type=EVENT_STREAM,
        tag="control",
    )
]
"""The control API's stream: `app.py` serves it only with the control API (`--no-control`
leaves it out, as it does every `/_sim` endpoint)."""
