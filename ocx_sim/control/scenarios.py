"""Scenarios (docs/control-api.md "Scenarios"; the YAML schema is docs/scenarios.md).

- `POST /_sim/scenarios` `{name}` (a bundled scenario, or a file's path inside the server's
  `--scenario-dir`: control/scenario_refs.py) or `{yaml, source?}` (a scenario's text, and
  the name its errors give it, `<yaml>` by default) loads it into the world and schedules its
  timeline on the world's clock, relative times counting from now (its `meta.seed` and
  `meta.start` apply only to a world built from it). Answers
  `{scenario, steps, expectations}`: its name, how many timeline steps act and how many
  expect; and beside them `endsAt` (when its last step is done) and `accounts` (each account
  the scenario declares, by name, with its credentials as `POST /_sim/accounts` answers them).
  A scenario that does not load is 400 VALIDATION_ERROR naming `name` or `yaml`, its message
  naming the file, line and path of each problem (`yaml: <yaml>:14: timeline[3].order.price:
  expected a decimal string …`) and `details.problems` listing them.
- `GET /_sim/scenarios/status` answers `{expectations: [{at, what, ok, detail}], scenarios:
  [{scenario, loadedAt, endsAt, pending}]}`: every expectation judged so far (and every action
  the exchange refused), in time order, and each scenario loaded with how many of its
  expectations are still to come.
- `GET /_sim/scenarios` answers `{scenarios: [{name, description}]}`: the bundled scenarios,
  sorted by name, as `ocx-sim scenarios` lists them, so that a dashboard can offer them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.clock import format_ms
from ocx_sim.control.accounts import account_view
from ocx_sim.control.scenario_refs import SOURCE_NAME, scenario_reference, source_name
from ocx_sim.errors import invalid
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import INSTANT, Schema, array, exactly_one_of, obj, ref
from ocx_sim.scenarios.library import descriptions
from ocx_sim.scenarios.loader import MAX_TEXT, load_text
from ocx_sim.scenarios.model import Scenario, ScenarioError
from ocx_sim.scenarios.player import Run
from ocx_sim.worlds.scenario_run import INLINE_SOURCE, open_scenario, refusal


def _scenario(body: dict[str, Any], scenario_dir: Path | None) -> tuple[Scenario, str]:
    """The scenario the body names or holds, and the field it came from."""
    name, text = body.get("name"), body.get("yaml")
    if name is not None and text is not None:
        raise invalid("yaml", "give either name (a bundled scenario) or yaml, not both")
    if name is None and text is None:
        raise invalid("name", "give name (a bundled scenario) or yaml (a scenario's text)")
    if name is not None:
        reference = scenario_reference(body, "name", scenario_dir, inline=False)
        assert reference is not None
        return open_scenario(reference, "name"), "name"
    source = source_name(body, "source")
    if not isinstance(text, str) or not text.strip():
        raise invalid("yaml", "must be a scenario's YAML text")
    if "\0" in text:
        raise invalid("yaml", "must not contain a NUL character")
    if len(text) > MAX_TEXT:
        raise invalid("yaml", f"must be at most {MAX_TEXT} characters")
    try:
        return load_text(text, source or INLINE_SOURCE), "yaml"
    except ScenarioError as error:
        raise refusal(error, "yaml") from None


async def load_scenario(call: Call) -> Any:
    """Load a scenario into the world and schedule its timeline from now."""
    world = call.world
    scenario, field = _scenario(call.body, world.config.scenario_dir)
    run = world.load_scenario(scenario, field)
    accounts = world.scenarios.accounts
    return {
        "scenario": scenario.meta.name,
        "steps": scenario.steps,
        "expectations": scenario.expectations,
        "endsAt": format_ms(run.end_ms),
        "accounts": {a.name: account_view(accounts[a.name]) for a in scenario.accounts},
    }


def _run_view(run: Run) -> dict[str, Any]:
    return {
        "scenario": run.name,
        "loadedAt": format_ms(run.origin_ms),
        "endsAt": format_ms(run.end_ms),
        "pending": run.pending,
    }


async def list_scenarios(call: Call) -> Any:
    """The bundled scenarios by name, with their one-line descriptions."""
    return {
        "scenarios": [
            {"name": name, "description": description} for name, description in descriptions()
        ]
    }


async def scenario_status(call: Call) -> Any:
    """Every expectation judged so far, and each scenario loaded."""
    scenarios = call.world.scenarios
    return {
        "expectations": [
            {"at": format_ms(r.at_ms), "what": r.what, "ok": r.ok, "detail": r.detail}
            for r in scenarios.results()
        ],
        "scenarios": [_run_view(run) for run in scenarios.runs],
    }


COMPONENTS: dict[str, Schema] = {
    "SimScenarioLoaded": obj(
        {
            "scenario": {"type": "string"},
            "steps": {"type": "integer", "minimum": 0, "description": "timeline steps that act"},
            "expectations": {"type": "integer", "minimum": 0},
            "endsAt": INSTANT,
            "accounts": {
                "type": "object",
                "additionalProperties": ref("SimAccount"),
                "description": "the scenario's accounts by name, with their credentials",
            },
        }
    ),
    "SimScenarioStatus": obj(
        {
            "expectations": array(
                obj(
                    {
                        "at": INSTANT,
                        "what": {"type": "string"},
                        "ok": {"type": "boolean"},
                        "detail": {"type": "string"},
                    }
                )
            ),
            "scenarios": array(
                obj(
                    {
                        "scenario": {"type": "string"},
                        "loadedAt": INSTANT,
                        "endsAt": INSTANT,
                        "pending": {"type": "integer", "minimum": 0},
                    }
                )
            ),
        }
    ),
}
LOAD: Schema = {
    **obj(
        {
            "name": {
                "type": "string",
                "description": "a bundled scenario (`ocx-sim scenarios`), or a file's path "
                "inside the server's --scenario-dir",
            },
            "yaml": {"type": "string", "description": "a scenario's YAML (docs/scenarios.md)"},
            "source": {
                **SOURCE_NAME,
                "description": "the name the YAML's errors give it (default <yaml>)",
            },
        },
        optional=("name", "yaml", "source"),
    ),
    **exactly_one_of("name", "yaml"),
    "description": "exactly one of `name` and `yaml`",
}
ENDPOINTS = [
    Endpoint(
        "POST",
        "/_sim/scenarios",
        load_scenario,
        Access.PUBLIC,
        "Load a scenario (bundled by name, or YAML) and schedule its timeline from now",
        response=ref("SimScenarioLoaded"),
        request=LOAD,
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/scenarios",
        list_scenarios,
        Access.PUBLIC,
        "The bundled scenarios, sorted by name, with their descriptions",
        response=obj(
            {
                "scenarios": array(
                    obj({"name": {"type": "string"}, "description": {"type": "string"}})
                )
            }
        ),
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/scenarios/status",
        scenario_status,
        Access.PUBLIC,
        "Every scenario expectation judged so far, and the scenarios loaded",
        response=ref("SimScenarioStatus"),
        tag="control",
    ),
]
