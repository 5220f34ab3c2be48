"""The world's clock (docs/control-api.md "Clock"): read it, and move a manual one forward.

Advancing fires every timer due up to the target in (due, seq) order (deposit confirmations,
and funding, expiries, keeper runs and scenario steps as they arrive) and answers the events
they produced, each as `{seq, ts, type, …its other fields camelCased}` with decimals as
strings. A manual clock never goes backwards (400, nothing changes); a realtime clock moves by
itself, so advancing it by hand is refused naming `mode`. A long advance fires its timers on a
worker thread, so other worlds keep answering while this world's own requests wait for it
(`World.advance`), and its answer goes out in parts (`Piecewise`).
"""

from __future__ import annotations

from typing import Any

import orjson

from ocx_sim.auth.policy import Access
from ocx_sim.clock import format_ms, parse_iso
from ocx_sim.control.pieces import events_json
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.responses import Piecewise
from ocx_sim.gateway.schemas import (
    INSTANT,
    Schema,
    array,
    enum,
    exactly_one_of,
    nullable,
    obj,
    ref,
)
from ocx_sim.worlds import ClockMode, World

EARLIEST_MS = 0
LATEST_MS = parse_iso("9999-12-31T23:59:59.999Z")
MAX_ADVANCE_MS = 366 * 86_400_000
"""The instants the wire format can express (docs/fidelity.md "Wire conventions":
`2026-04-24T12:00:00.000Z`)."""


def read_instant(body: dict[str, Any], name: str) -> int | None:
    """An optional ISO-8601 instant (with `Z` or an offset; naive means UTC) as unix ms, within
    the years 1970 to 9999; 400 naming the field otherwise."""
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise invalid(name, 'must be an ISO-8601 instant such as "2026-04-24T12:00:00.000Z"')
    try:
        value = parse_iso(raw)
    except ValueError:
        raise invalid(
            name, f'{raw!r} is not an ISO-8601 instant such as "2026-04-24T12:00:00.000Z"'
        ) from None
    if not EARLIEST_MS <= value <= LATEST_MS:
        raise invalid(name, "must be between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z")
    return value


def time_view(world: World) -> dict[str, Any]:
    """`{now, nowMs}`: the world's instant."""
    now = world.now_ms
    return {"now": format_ms(now), "nowMs": now}


def next_expiry_ms(exchange: Exchange) -> int | None:
    """The earliest expiry still ahead among the listed dated futures and options, or None
    when nothing listed expires after now."""
    now = exchange.now_ms
    ahead = [
        spec.expiry_ms
        for spec in exchange.catalog
        if spec.expiry_ms is not None and spec.expiry_ms > now
    ]
    return min(ahead, default=None)


def clock_view(world: World) -> dict[str, Any]:
    """`{now, nowMs, mode, speed, nextFundingAt, nextExpiryAt}` (a manual clock's speed is 1):
    the next two timers a person stepping through time cares for, so that a dashboard can
    advance straight `to` either."""
    clock = world.clock
    exchange = world.exchange
    return {
        **time_view(world),
        "mode": clock.mode,
        "speed": clock.speed,
        "nextFundingAt": format_ms(exchange.next_funding_at),
        "nextExpiryAt": render.instant(next_expiry_ms(exchange)),
    }


async def get_clock(call: Call) -> Any:
    """`{now, nowMs, mode, speed, nextFundingAt, nextExpiryAt}`."""
    return clock_view(call.world)


async def advance_clock(call: Call) -> Any:
    """Move a manual clock by `ms` or to `to`, firing every timer due on the way."""
    body = call.body
    ms = parse.integer(body, "ms", low=0, high=LATEST_MS)
    to = read_instant(body, "to")
    if ms is None and to is None:
        raise invalid("ms", "give either ms (milliseconds to advance) or to (an instant)")
    if ms is not None and to is not None:
        raise invalid("to", "give either ms or to, not both")
    world = call.world
    if world.clock.mode != ClockMode.MANUAL:
        raise invalid("mode", "a realtime clock runs by itself; only a manual clock is advanced")
    target = to if to is not None else world.now_ms + (ms or 0)
    if target > LATEST_MS:
        raise invalid("ms", "would move the clock past 9999-12-31T23:59:59.999Z")
    if target - world.now_ms > MAX_ADVANCE_MS:
        # Funding fires every 5 minutes: a century in one call would hold the server for
        # hours. Longer spans go in steps, each answering its events.
        raise invalid("ms" if to is None else "to", "advance at most 366 days per call")
    # In slices: other worlds answer meanwhile; this world's requests wait (worlds/__init__.py).
    # The answer too is written in pieces (control/pieces.py): a long advance makes millions.
    before = await world.advance(target)
    log = world.exchange.events
    events = await events_json(log, before, log.last_seq)
    now = orjson.dumps(time_view(world))
    return Piecewise([now[:-1] + b',"events":', *events, b"}"])


COMPONENTS: dict[str, Schema] = {
    "SimClock": obj(
        {
            "now": INSTANT,
            "nowMs": {"type": "integer"},
            "mode": enum(*(mode.value for mode in ClockMode)),
            "speed": {"type": "number", "exclusiveMinimum": 0},
            "nextFundingAt": {**INSTANT, "description": "the next funding of the perpetuals"},
            "nextExpiryAt": {
                **nullable(INSTANT),
                "description": "the earliest expiry ahead among the listed futures and options",
            },
        }
    ),
    "SimEvent": obj({"seq": {"type": "integer"}, "ts": INSTANT, "type": {"type": "string"}}),
}
ADVANCE: Schema = {
    **obj(
        {
            "ms": {"type": "integer", "minimum": 0, "maximum": MAX_ADVANCE_MS},
            "to": {
                "type": "string",
                "description": "an ISO-8601 instant (`Z`, an offset, or none: UTC), ahead of "
                "now by at most 366 days",
            },
        },
        optional=("ms", "to"),
    ),
    **exactly_one_of("ms", "to"),
    "description": "exactly one of `ms` and `to`",
}
ENDPOINTS = [
    Endpoint(
        "GET",
        "/_sim/clock",
        get_clock,
        Access.PUBLIC,
        "Read the world's clock",
        response=ref("SimClock"),
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/clock/advance",
        advance_clock,
        Access.PUBLIC,
        "Advance a manual clock, firing every timer due; answers the events they produced",
        response=obj(
            {"now": INSTANT, "nowMs": {"type": "integer"}, "events": array(ref("SimEvent"))}
        ),
        request=ADVANCE,
        tag="control",
    ),
]
