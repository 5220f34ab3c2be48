"""docs/scenarios.md matches the loader: every key it accepts is described, every bundled
scenario is listed, and every example in it loads into a world."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ocx_sim.scenarios.library import bundled_names
from ocx_sim.scenarios.loader import accepted_keys
from ocx_sim.worlds import World, WorldConfig
from tests.scenarios.conftest import scenario, world_with

DOC = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text()
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)
EXAMPLE_ACCOUNTS = """
accounts: {alice: {balances: {perps: "100000"}}, bob: {balances: {perps: "100000"}}}
books:
  - {name: bob-ask, account: bob, market: BTC-PERP, side: sell, price: "68000.00",
     quantity: "2.0000"}
"""


def test_every_key_the_loader_accepts_is_described() -> None:
    described = set(re.findall(r"`([A-Za-z]+)`", DOC))

    assert sorted(accepted_keys() - described) == []


def test_every_bundled_scenario_is_listed() -> None:
    listed = re.findall(r"^\| `([a-z-]+)` \|", DOC.split("## Bundled scenarios", 1)[1], re.M)

    assert sorted(listed) == bundled_names()


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_every_example_loads_into_a_world(example: str, tmp_path: Path) -> None:
    if example.startswith("  - at:"):
        # A fragment of a timeline: given the accounts and orders it names.
        example = EXAMPLE_ACCOUNTS + "timeline:\n" + example
    elif example.startswith("books:"):
        example = EXAMPLE_ACCOUNTS.split("books:")[0] + example

    if scenario(example).has_catalog_terms:
        # Catalog terms apply only to a world built from the scenario.
        path = tmp_path / "example.yaml"
        path.write_text(example)
        world = World("t", WorldConfig(seed=7, scenario=str(path)))
    else:
        world = world_with(example)

    assert world.scenarios.runs
