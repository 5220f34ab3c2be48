"""A world's state (docs/control-api.md "State"), and its clock's mode ("Clock").

- `reset` rebuilds the world from its config (on a new seed from then on, if given) exactly as if
  just created (a reset is construction, never a patch): same worldId, a fresh exchange, clock in
  the config's mode, sessions, API keys, faults and journal. Its snapshots survive and restore as
  before.
- `snapshot` keeps the world's whole state in memory (201 `{snapshotId}`); `restore` brings it
  back, any number of times, and the world continues exactly as it did from there: the same
  answers to the same requests, the same digest. An id the world never answered is 404
  NOT_FOUND naming it.
- `GET /_sim/snapshots` answers the world's snapshots in the order they were taken, each with
  the world's instant when taken (the time part of its ULID id, so nothing is stored beside
  the pickled state and a restore is unchanged).
- `events?since=N&limit=L` answers the event log after `seq` N, oldest first, at most L of them
  (all when no limit), each event as the clock's `advance` shows them (gateway/render.py
  `event_view`); a reader pages forward with `since` = the last `seq` it saw.
- `invariants` answers every broken invariant of the exchange (engine/invariants.py): ledger
  conserved, books uncrossed, funding zero-sum, no negative bucket.
- `digest` answers the SHA-256 of the event log and the last `seq` it covers. The log keeps its
  hash as it grows (engine/core/events.py), so a digest costs only the events since the last
  one.
- `clock/mode` switches the clock between manual and realtime, keeping the instant and every
  pending timer; realtime runs from the current instant at `speed` (as in `POST /_sim/worlds`;
  its own, or the config's, when not given). A speed for a manual clock is refused naming
  `speed`. The world's config keeps its mode, so a reset goes back to it. (Here rather than
  in control/clock.py: control/worlds.py, whose speed rule `read_speed` it shares, imports
  that module.)
"""

from __future__ import annotations

from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.clock import format_ms
from ocx_sim.control.clock import clock_view, time_view
from ocx_sim.control.pieces import PIECE, Turn, events_json
from ocx_sim.control.worlds import MAX_SPEED, SEED_HIGH, SEED_LOW, read_speed
from ocx_sim.errors import ErrorCode
from ocx_sim.gateway import parse
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.responses import Piecewise
from ocx_sim.gateway.schemas import INSTANT, ULID, Schema, array, enum, obj, ref
from ocx_sim.ids import decode_ulid_time
from ocx_sim.worlds import ClockMode, World
from ocx_sim.worlds.aside import pickled_aside

MAX_SEQ = 2**63 - 1
EVENTS_PAGE_MAX = 10_000


async def reset_world(call: Call) -> Any:
    """Rebuild the world from its config, on `seed` if given; its snapshots stay."""
    seed = parse.integer(call.body, "seed", low=SEED_LOW, high=SEED_HIGH)
    world = call.world
    world.reset(seed)
    return {**time_view(world), "seed": world.config.seed}


async def take_snapshot(call: Call) -> Any:
    """Keep the world's whole state in memory: pickled aside (worlds/aside.py), so that the
    server's other worlds keep answering while a big one is pickled."""
    world = call.world
    world.check_snapshot_room()
    taken_ms = world.now_ms
    data = await pickled_aside(world.state, world.stepping)
    return {"snapshotId": world.keep_snapshot(data, taken_ms)}


async def restore_snapshot(call: Call) -> Any:
    """Bring the world back to a snapshot; it continues exactly as it did from there."""
    snapshot_id = parse.string(call.body, "snapshotId")
    world = call.world
    world.restore(snapshot_id)
    return time_view(world)


async def list_snapshots(call: Call) -> Any:
    """`{snapshots: [{snapshotId, now, nowMs, bytes}]}`, oldest first."""
    world = call.world
    return {"snapshots": [_snapshot_view(world, snapshot_id) for snapshot_id in world.snapshots]}


async def get_snapshot(call: Call) -> Any:
    """One snapshot the world keeps: `{snapshotId, now, nowMs, bytes}`."""
    return _snapshot_view(call.world, call.path_param("snapshotId"))


async def delete_snapshot(call: Call) -> Any:
    """Drop a snapshot and the memory it held."""
    snapshot_id = call.path_param("snapshotId")
    call.world.delete_snapshot(snapshot_id)
    return {"snapshotId": snapshot_id, "deleted": True}


def _snapshot_view(world: World, snapshot_id: str) -> dict[str, Any]:
    size = len(world.stored_snapshot(snapshot_id))
    taken = decode_ulid_time(snapshot_id)
    return {"snapshotId": snapshot_id, "now": format_ms(taken), "nowMs": taken, "bytes": size}


async def list_events(call: Call) -> Any:
    """The events after `since` (default 0: all of them), oldest first; at most `limit`. Those
    the world forgot are not answered (docs/fidelity.md "Retention"): a page starts at the
    oldest event held, and the gap shows in the `seq` numbers."""
    since = parse.query_int(call.query, "since", default=0, low=0, high=MAX_SEQ) or 0
    limit = parse.query_int(call.query, "limit", default=None, low=1, high=EVENTS_PAGE_MAX)
    log = call.exchange.events
    since = max(since, log.first_seq - 1)
    end = log.last_seq if limit is None else min(log.last_seq, since + limit)
    events = await events_json(log, since, end)
    return Piecewise([b'{"events":', *events, b"}"])


async def check_invariants(call: Call) -> Any:
    """Every broken invariant of the exchange, described; `ok` when there is none."""
    failures = call.exchange.check_invariants()
    return {"ok": not failures, "failures": failures}


async def get_digest(call: Call) -> Any:
    """The SHA-256 of the event log and the last `seq` it covers."""
    log = call.exchange.events
    turn = Turn()
    while not log.hash_some(PIECE):
        await turn.maybe_yield()
    return {"digest": log.hashed_digest(), "seq": log.hashed}


async def set_clock_mode(call: Call) -> Any:
    """Switch the clock between manual and realtime, keeping now and every pending timer."""
    mode = parse.choice(call.body, "mode", ClockMode)
    speed = read_speed(call.body)
    world = call.world
    world.set_clock_mode(mode, speed)
    return clock_view(world)


NOW: dict[str, Schema] = {"now": INSTANT, "nowMs": {"type": "integer"}}
COMPONENTS: dict[str, Schema] = {}
SNAPSHOT: Schema = obj(
    {
        "snapshotId": ULID,
        **NOW,
        "bytes": {"type": "integer", "minimum": 0, "description": "the memory it holds"},
    }
)
RESET: Schema = obj(
    {"seed": {"type": "integer", "minimum": SEED_LOW, "maximum": SEED_HIGH}},
    optional=("seed",),
)
CLOCK_MODE: Schema = obj(
    {
        "mode": enum(*(mode.value for mode in ClockMode)),
        "speed": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_SPEED,
            "description": "realtime only; default: the clock's own, else the world config's",
        },
    },
    optional=("speed",),
) | {
    "if": {"properties": {"mode": {"const": ClockMode.MANUAL.value}}},
    "then": {"properties": {"speed": {"type": "null"}}},
}
"""Only a realtime clock takes a speed (worlds/__init__.py `World.set_clock_mode`)."""
ENDPOINTS = [
    Endpoint(
        "POST",
        "/_sim/reset",
        reset_world,
        Access.PUBLIC,
        "Rebuild the world from its config (a new seed if given), as if just created",
        response=obj({**NOW, "seed": {"type": "integer"}}),
        request=RESET,
        body_optional=True,
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/snapshot",
        take_snapshot,
        Access.PUBLIC,
        "Keep the world's whole state in memory",
        response=obj({"snapshotId": ULID}),
        tag="control",
        status=201,
        errors=(ErrorCode.SNAPSHOT_LIMIT,),
    ),
    Endpoint(
        "POST",
        "/_sim/restore",
        restore_snapshot,
        Access.PUBLIC,
        "Bring the world back to a snapshot; it continues exactly as it did from there",
        response=obj(NOW),
        request=obj({"snapshotId": ULID}),
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/snapshots",
        list_snapshots,
        Access.PUBLIC,
        "The world's snapshots, oldest first, each with the instant it was taken",
        response=obj({"snapshots": array(SNAPSHOT)}),
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/snapshots/{snapshotId}",
        get_snapshot,
        Access.PUBLIC,
        "One snapshot the world keeps: when it was taken and its size",
        response=SNAPSHOT,
        tag="control",
    ),
    Endpoint(
        "DELETE",
        "/_sim/snapshots/{snapshotId}",
        delete_snapshot,
        Access.PUBLIC,
        "Drop a snapshot and the memory it held",
        response=obj({"snapshotId": ULID, "deleted": {"type": "boolean"}}),
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/events",
        list_events,
        Access.PUBLIC,
        "The event log after a sequence number, oldest first, a page at a time with limit",
        response=obj({"events": array(ref("SimEvent"))}),
        query={
            "since": {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": EVENTS_PAGE_MAX,
                "description": "at most this many (default: all)",
            },
        },
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/invariants",
        check_invariants,
        Access.PUBLIC,
        "Check the exchange's invariants: ledger, books, funding, balances",
        response=obj({"ok": {"type": "boolean"}, "failures": array({"type": "string"})}),
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/digest",
        get_digest,
        Access.PUBLIC,
        "The SHA-256 of the event log and the last sequence number it covers",
        response=obj(
            {"digest": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "seq": {"type": "integer"}}
        ),
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/clock/mode",
        set_clock_mode,
        Access.PUBLIC,
        "Switch the clock between manual and realtime, keeping now and every pending timer",
        response=ref("SimClock"),
        request=CLOCK_MODE,
        tag="control",
    ),
]
