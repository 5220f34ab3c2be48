"""The bundled scenarios: each one plays to its end with every expectation met, and the same way
every time."""

from __future__ import annotations

import pytest

from ocx_sim.scenarios.library import bundled, bundled_dir, bundled_names, descriptions, find
from ocx_sim.worlds import World, WorldConfig
from ocx_sim.worlds.scenario_run import with_scenario

BUNDLED = [
    "exchange-outage",
    "funding-squeeze",
    "futures-expiry",
    "liquidation-cascade",
    "rate-limit-storm",
    "sandbox",
    "vol-crush",
    "withdrawal-failures",
]


def built(name: str, seed: int | None = None) -> World:
    """A world built from the bundled scenario, as `POST /_sim/worlds {scenario}` builds one."""
    return World("t", with_scenario(WorldConfig(), name, seed=seed))


def test_the_library_holds_the_bundled_scenarios_each_with_a_description() -> None:
    assert bundled_names() == BUNDLED
    assert all(description for _, description in descriptions())


@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_scenario_plays_to_its_end_with_every_expectation_met(name: str) -> None:
    world = built(name)
    run = world.scenarios.runs[0]

    world.exchange.advance_to(run.end_ms)

    assert run.results and run.pending == 0
    assert [r for r in run.results if not r.ok] == []
    assert len(run.results) == run.scenario.expectations
    assert world.exchange.check_invariants() == []


@pytest.mark.parametrize("name", ["funding-squeeze", "liquidation-cascade", "sandbox"])
def test_the_same_scenario_played_twice_gives_the_same_digest(name: str) -> None:
    digests = []
    for _ in range(2):
        world = built(name)
        world.exchange.advance_to(world.scenarios.runs[0].end_ms)
        digests.append(world.exchange.digest())

    assert digests[0] == digests[1]
    other = built(name, seed=12345)
    other.exchange.advance_to(other.scenarios.runs[0].end_ms)
    assert other.exchange.digest() != digests[0]


def test_a_world_restored_half_way_through_a_scenario_finishes_it_exactly_as_the_original() -> None:
    world = built("liquidation-cascade")
    run = world.scenarios.runs[0]
    world.exchange.advance_to(run.origin_ms + 6 * 60_000)  # one liquidation done, two to come
    snapshot = world.snapshot()

    world.exchange.advance_to(run.end_ms)
    original = (world.exchange.digest(), world.scenarios.results())
    world.restore(snapshot)
    world.exchange.advance_to(world.scenarios.runs[0].end_ms)

    assert (world.exchange.digest(), world.scenarios.results()) == original


def test_the_bundled_sandbox_is_the_engines_sandbox() -> None:
    world = built("sandbox")
    plain = World("t", WorldConfig())
    plain.exchange.sim.start_sandbox(options=True, everywhere=True)

    for each in (world, plain):
        each.exchange.advance_to(world.scenarios.runs[0].end_ms)

    assert world.exchange.digest() == plain.exchange.digest()


def test_a_bare_name_is_bundled_and_anything_else_a_path() -> None:
    assert find("sandbox") == bundled("sandbox")
    assert find("sandbox").source == "sandbox.yaml"
    path = str(bundled_dir() / "funding-squeeze.yaml")
    assert find(path).source == path
