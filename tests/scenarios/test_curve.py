"""A scenario's curve points (`markets.<id>.curve {front, next}`): the futures are marked at
them, the index rolls from F1 to F2, and F1 settles at F1 (futures-curve.yaml states each
expectation and how it follows)."""

from __future__ import annotations

from pathlib import Path

from ocx_sim.worlds import World, WorldConfig
from ocx_sim.worlds.scenario_run import with_scenario

SCENARIO = Path(__file__).resolve().parent / "futures-curve.yaml"


def test_a_quoted_curve_plays_to_its_end_with_every_expectation_met() -> None:
    world = World("t", with_scenario(WorldConfig(), str(SCENARIO)))
    run = world.scenarios.runs[0]

    world.exchange.advance_to(run.end_ms)

    assert run.pending == 0
    assert [(r.what, r.detail) for r in run.results if not r.ok] == []
    assert len(run.results) == 12
    assert world.exchange.check_invariants() == []
