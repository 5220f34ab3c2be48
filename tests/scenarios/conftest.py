"""Scenarios in tests: YAML text → a scenario, a world playing it, and its problems."""

from __future__ import annotations

from textwrap import dedent

import pytest

from ocx_sim.errors import OcxError
from ocx_sim.scenarios.loader import load_text
from ocx_sim.scenarios.model import Scenario, ScenarioError
from ocx_sim.scenarios.player import Result
from ocx_sim.worlds import World, WorldConfig

SOURCE = "t.yaml"


def scenario(text: str) -> Scenario:
    return load_text(dedent(text), SOURCE)


def problems(text: str) -> list[str]:
    """What the loader says of `text`, a line per problem."""
    with pytest.raises(ScenarioError) as refused:
        scenario(text)
    return str(refused.value).splitlines()


def world_with(text: str, seed: int = 7) -> World:
    """A fresh world (seed 7, manual clock at 2026-01-02T00:00Z) with the scenario loaded."""
    world = World("t", WorldConfig(seed=seed))
    world.load_scenario(scenario(text))
    return world


def world_problems(text: str) -> list[str]:
    """What the world says of a scenario that reads well but does not fit it."""
    world = World("t", WorldConfig(seed=7))
    with pytest.raises(OcxError) as refused:
        world.load_scenario(scenario(text))
    assert refused.value.details["field"] == "scenario"
    found = refused.value.details["problems"]
    assert isinstance(found, list)
    return [
        f"{p['source']}:{p['line']}: {p['path']}: {p['message']}" if p["path"] else p["message"]
        for p in found
    ]


def play_to_end(world: World) -> list[Result]:
    """Advance the world to the end of its last scenario; the results."""
    world.exchange.advance_to(world.scenarios.runs[-1].end_ms)
    return world.scenarios.results()


def only(results: list[Result]) -> Result:
    assert len(results) == 1, results
    return results[0]
