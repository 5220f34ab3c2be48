"""Worlds (docs/control-api.md "Worlds"): create, list and delete the exchanges a server holds.

A world is one exchange built from a config; the default world answers at `/`, every other at
`/w/{worldId}/`. A new world's config is the server's (`--seed`, `--clock`, `--speed`,
`--start`, `--profile`, `--journal-bodies`) with the request's overrides, so the same body
gives a world that answers the same requests with the same bytes (a start of "now" aside).

`start` is an instant or "now" (the wall clock's now in whole seconds, read when the world is
built and again at every reset); without one a world starts at the server's `--start`, else at
its clock's default: 2026-01-02T00:00:00.000Z on a manual clock, "now" on a realtime one.

`scenario` (a bundled scenario's name, a scenario's YAML text, or a file's path inside the
server's `--scenario-dir`: control/scenario_refs.py) is loaded when the world is built, and
again on every reset; `scenarioSource` names inline YAML in its errors. Its `meta.seed` and
`meta.start` are the world's unless the body gives `seed` or `start` (they come before the
server's); the server's own `--scenario` is not inherited. A scenario that does not load is
400 naming `scenario` (docs/scenarios.md "Errors").
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ocx_sim.auth.policy import Access, Profile
from ocx_sim.clock import format_ms, parse_iso
from ocx_sim.control.clock import read_instant
from ocx_sim.control.scenario_refs import SOURCE_NAME, scenario_reference, source_name
from ocx_sim.errors import invalid
from ocx_sim.gateway import parse
from ocx_sim.gateway.endpoint import Call, Endpoint, unknown_world
from ocx_sim.gateway.schemas import INSTANT, Schema, array, enum, obj, ref
from ocx_sim.worlds import DEFAULT_WORLD_ID, ClockMode, World
from ocx_sim.worlds.config import START_NOW, Start
from ocx_sim.worlds.scenario_run import with_scenario

SEED_LOW, SEED_HIGH = -(2**63), 2**63 - 1
"""Seeds are signed 64-bit integers (the CLI's `--seed` takes any of them)."""
LATEST_START_MS = parse_iso("9998-12-31T23:59:59.999Z")
"""A world lists futures and options expiring up to half a year after its start, and every
expiry must be an instant the wire can express (up to the year 9999)."""
MAX_SPEED = 10_000.0
"""A realtime clock runs at most this many simulated seconds per real second (a day of real
time is then 27 simulated years, far inside what an instant can express)."""


def read_speed(body: dict[str, Any]) -> float | None:
    """The body's `speed`: a number in (0, MAX_SPEED], or None when absent (400 naming `speed`
    otherwise). Shared by `POST /_sim/worlds` and `POST /_sim/clock/mode`."""
    raw = body.get("speed")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise invalid("speed", "must be a number")
    speed = float(raw)
    if not (math.isfinite(speed) and 0 < speed <= MAX_SPEED):
        raise invalid("speed", f"must be greater than 0 and at most {MAX_SPEED:g}")
    return speed


def read_start(body: dict[str, Any]) -> Start:
    """The body's `start`: "now", or an instant up to LATEST_START_MS; None when absent (400
    naming `start` otherwise)."""
    if body.get("start") == START_NOW:
        return START_NOW
    start_ms = read_instant(body, "start")
    if start_ms is not None and start_ms > LATEST_START_MS:
        raise invalid("start", "must be at most 9998-12-31T23:59:59.999Z")
    return start_ms


def world_view(world: World) -> dict[str, Any]:
    """`{worldId, baseUrl, seed, now}`; the default world's base URL is `/`."""
    return {
        "worldId": world.world_id,
        "baseUrl": world.base_url or "/",
        "seed": world.config.seed,
        "now": format_ms(world.now_ms),
    }


async def create_world(call: Call) -> Any:
    """A new world from the server's config with the body's overrides (its secrets drawn as the
    server's are; the default world's demo account is the default world's alone)."""
    body = call.body
    scenario = scenario_reference(body, "scenario", call.worlds.default_config.scenario_dir)
    source = source_name(body, "scenarioSource")
    seed = parse.integer(body, "seed", low=SEED_LOW, high=SEED_HIGH)
    clock = parse.optional_choice(body, "clock", ClockMode)
    speed = read_speed(body)
    start = read_start(body)
    profile = parse.optional_choice(body, "profile", Profile)
    base = call.worlds.default_config
    journal_bodies = parse.boolean(body, "journalBodies", default=base.journal_bodies)
    config = dataclasses.replace(
        base,
        seed=base.seed if seed is None else seed,
        clock=clock or base.clock,
        speed=base.speed if speed is None else speed,
        start=base.start if start is None else start,
        profile=profile or base.profile,
        journal_bodies=journal_bodies,
        scenario=None,
        accounts=(),
    )
    if scenario is not None:
        config = with_scenario(config, scenario, seed, start, source)
        if isinstance(config.start, int) and config.start > LATEST_START_MS:
            raise invalid("scenario", "its meta.start must be at most 9998-12-31T23:59:59.999Z")
    return world_view(call.worlds.create(config))


async def list_worlds(call: Call) -> Any:
    """Every world of the server, the default one first, then in creation order."""
    return {"worlds": [world_view(world) for world in call.worlds.all()]}


async def delete_world(call: Call) -> Any:
    """Drop a world: its paths answer 404 from then on. The default world stays."""
    world_id = call.path_param("worldId")
    if world_id == DEFAULT_WORLD_ID:
        raise invalid("worldId", "the default world cannot be deleted")
    if not call.worlds.delete(world_id):
        raise unknown_world(world_id)
    return {"worldId": world_id, "deleted": True}


COMPONENTS: dict[str, Schema] = {
    "SimWorld": obj(
        {
            "worldId": {"type": "string"},
            "baseUrl": {"type": "string"},
            "seed": {"type": "integer"},
            "now": INSTANT,
        }
    ),
}
CREATE_WORLD: Schema = obj(
    {
        "seed": {"type": "integer", "minimum": SEED_LOW, "maximum": SEED_HIGH},
        "clock": enum(*(mode.value for mode in ClockMode)),
        "speed": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SPEED},
        "start": {
            "type": "string",
            "description": 'ISO-8601 instant, at most 9998-12-31T23:59:59.999Z, or "now" (the '
            "wall clock's now in whole seconds); default: 2026-01-02T00:00:00.000Z on a manual "
            "clock, now on a realtime one",
        },
        "scenario": {
            "type": "string",
            "description": "a bundled scenario's name, or a scenario's YAML text (a value with "
            "a line break), or a file's path inside the server's --scenario-dir",
        },
        "scenarioSource": {
            **SOURCE_NAME,
            "description": "the name inline YAML's errors give it (default <yaml>)",
        },
        "profile": enum(*(profile.value for profile in Profile)),
        "journalBodies": {
            "type": "boolean",
            "description": "the journal keeps each request's and answer's JSON body, "
            'credentials as "***"',
        },
    },
    optional=(
        "seed",
        "clock",
        "speed",
        "start",
        "scenario",
        "scenarioSource",
        "profile",
        "journalBodies",
    ),
)
ENDPOINTS = [
    Endpoint(
        "POST",
        "/_sim/worlds",
        create_world,
        Access.PUBLIC,
        "Create a world: the server's config with the body's overrides",
        response=ref("SimWorld"),
        request=CREATE_WORLD,
        body_optional=True,
        tag="control",
        status=201,
    ),
    Endpoint(
        "GET",
        "/_sim/worlds",
        list_worlds,
        Access.PUBLIC,
        "List the worlds, the default one first",
        response=obj({"worlds": array(ref("SimWorld"))}),
        tag="control",
    ),
    Endpoint(
        "DELETE",
        "/_sim/worlds/{worldId}",
        delete_world,
        Access.PUBLIC,
        "Delete a world; its paths answer 404 from then on",
        response=obj({"worldId": {"type": "string"}, "deleted": {"const": True}}),
        tag="control",
    ),
]
