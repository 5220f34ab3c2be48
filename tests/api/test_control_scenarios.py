"""Scenarios over the control API (docs/control-api.md "Scenarios", and `scenario` of
`POST /_sim/worlds`). Every answer is also checked against /openapi.json by the client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ocx_sim.app import create_app
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import WorldConfig, Worlds
from tests.api.conftest import ApiClient, assert_error

SQUEEZE_SEED = 11
YAML = """
meta: {name: inline, description: A small one}
accounts:
  alice: {balances: {perps: "5000"}, apiKeys: [{name: bot, scope: trade}]}
timeline:
  - {at: +1m, halt: BTC-PERP}
  - {at: +1m, expect: {event: {type: MarketHalted, count: 1}}}
  - {at: +2m, expect: {balance: {account: alice, bucket: perps, equals: "1"}}}
"""


def advance(client: ApiClient, ms: int, base: str = "") -> None:
    response = client.post(base + "/_sim/clock/advance", json={"ms": ms})
    assert response.status_code == 200, response.json()


def test_loading_yaml_schedules_its_timeline_from_now_and_answers_its_accounts(
    client: ApiClient,
) -> None:
    advance(client, 30_000)

    response = client.post("/_sim/scenarios", json={"yaml": YAML})

    assert response.status_code == 200
    body = response.json()
    assert (body["scenario"], body["steps"], body["expectations"]) == ("inline", 1, 2)
    assert body["endsAt"] == "2026-01-02T00:02:30.000Z"
    alice = body["accounts"]["alice"]
    assert alice["apiKeys"][0]["name"] == "bot"
    me = client.get("/auth/me", token=alice["sessionToken"]).json()
    assert me["userId"] == alice["userId"]
    balances = client.get("/wallet/balance", key=alice["apiKeys"][0]["secret"]).json()
    assert balances["perpsBalance"] == "5000.00"


def test_the_status_lists_each_expectation_as_it_is_judged(client: ApiClient) -> None:
    client.post("/_sim/scenarios", json={"yaml": YAML})
    assert client.get("/_sim/scenarios/status").json() == {
        "expectations": [],
        "scenarios": [
            {
                "scenario": "inline",
                "loadedAt": "2026-01-02T00:00:00.000Z",
                "endsAt": "2026-01-02T00:02:00.000Z",
                "pending": 2,
            }
        ],
    }

    advance(client, 120_000)
    status = client.get("/_sim/scenarios/status").json()

    assert status["expectations"] == [
        {
            "at": "2026-01-02T00:01:00.000Z",
            "what": "MarketHalted events count = 1",
            "ok": True,
            "detail": "found 1",
        },
        {
            "at": "2026-01-02T00:02:00.000Z",
            "what": "balance of alice in perps = 1",
            "ok": False,
            "detail": "is 5000",
        },
    ]
    assert status["scenarios"][0]["pending"] == 0


def test_a_bundled_scenario_loads_by_name_into_a_running_world(client: ApiClient) -> None:
    response = client.post("/_sim/scenarios", json={"name": "funding-squeeze"})

    body = response.json()
    assert (body["scenario"], body["steps"], body["expectations"]) == ("funding-squeeze", 6, 10)
    assert sorted(body["accounts"]) == ["crowd", "fader"]
    advance(client, 15 * 60_000)
    results = client.get("/_sim/scenarios/status").json()["expectations"]
    assert len(results) == 10 and all(r["ok"] for r in results)


def test_the_clock_advance_answers_the_events_a_scenario_step_produced(client: ApiClient) -> None:
    client.post("/_sim/scenarios", json={"yaml": YAML})

    events = client.post("/_sim/clock/advance", json={"ms": 60_000}).json()["events"]

    assert [(e["type"], e.get("marketId")) for e in events][-1] == ("MarketHalted", "BTC-PERP")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "name", "name: give name (a bundled scenario) or yaml (a scenario's text)"),
        ({"name": "sandbox", "yaml": "meta: {}"}, "yaml", "yaml: give either name"),
        ({"name": 7}, "name", "name: must be a bundled scenario's name"),
        ({"name": "nope"}, "name", "name: nope: no bundled scenario is named"),
        ({"name": "../secrets"}, "name", "name: must be a bundled scenario's name: this server"),
        ({"name": "a\nb: c"}, "name", "name: must be a bundled scenario's name (send a"),
        ({"yaml": 7}, "yaml", "yaml: must be a scenario's YAML text"),
        ({"yaml": "  "}, "yaml", "yaml: must be a scenario's YAML text"),
        (
            {"yaml": "timeline:\n  - at: +1m\n    order: {price: 1}\n"},
            "yaml",
            "yaml: <yaml>:3: timeline[0].order.account: is required",
        ),
        (
            {"yaml": "timeline:\n  - {at: +1m, halt: MOON-PERP}\n"},
            "yaml",
            "yaml: <yaml>:2: timeline[0].halt: unknown market 'MOON-PERP'",
        ),
        ({"yaml": "a: [\n"}, "yaml", "yaml: <yaml>:2: not valid YAML"),
    ],
)
def test_a_scenario_that_does_not_load_is_400_naming_the_field_and_changes_nothing(
    client: ApiClient, body: dict[str, Any], field: str, message: str
) -> None:
    digest = client.get("/_sim/digest").json()

    response = client.post("/_sim/scenarios", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert response.json()["message"].startswith(message)
    assert client.get("/_sim/digest").json() == digest
    assert client.get("/_sim/scenarios/status").json()["scenarios"] == []


def test_a_refusal_lists_every_problem_with_its_line_and_path(client: ApiClient) -> None:
    text = "meta: {seed: x}\ntimeline:\n  - {at: soon, halt: BTC-PERP}\n"

    details = client.post("/_sim/scenarios", json={"yaml": text}).json()["details"]

    assert details == {
        "field": "yaml",
        "problems": [
            {"source": "<yaml>", "line": 1, "path": "meta.seed", "message": "expected an integer"},
            {
                "source": "<yaml>",
                "line": 3,
                "path": "timeline[0].at",
                "message": "'soon' is not an ISO-8601 instant such as 2026-01-02T00:05:00Z",
            },
        ],
    }


# -- POST /_sim/worlds {scenario} -------------------------------------------------------------


def test_a_world_built_from_a_scenario_takes_its_seed_and_start_and_plays_it(
    client: ApiClient,
) -> None:
    created = client.post("/_sim/worlds", json={"scenario": "futures-expiry"}).json()
    base = created["baseUrl"]

    assert (created["seed"], created["now"]) == (41, "2026-03-27T06:30:00.000Z")
    status = client.get(base + "/_sim/scenarios/status").json()
    assert status["scenarios"][0]["scenario"] == "futures-expiry"
    advance(client, 91 * 60_000, base)
    results = client.get(base + "/_sim/scenarios/status").json()["expectations"]
    assert len(results) == 9 and all(r["ok"] for r in results)


def test_a_seed_and_start_in_the_body_win_over_the_scenarios(client: ApiClient) -> None:
    created = client.post(
        "/_sim/worlds",
        json={"scenario": "funding-squeeze", "seed": 3, "start": "2026-05-01T00:00:00Z"},
    ).json()

    assert (created["seed"], created["now"]) == (3, "2026-05-01T00:00:00.000Z")


def test_a_scenario_file_in_the_scenario_dir_builds_a_world_and_reset_loads_it_again(
    tmp_path: Path,
) -> None:
    (tmp_path / "mine.yaml").write_text(YAML)
    http = InProcessClient(create_app(Worlds(WorldConfig(seed=7, scenario_dir=tmp_path))))
    base = http.post("/_sim/worlds", json={"scenario": "mine.yaml"}).json()["baseUrl"]
    http.post(base + "/_sim/clock/advance", json={"ms": 120_000})
    assert len(http.get(base + "/_sim/scenarios/status").json()["expectations"]) == 2

    assert http.post(base + "/_sim/reset", json={}).status_code == 200

    status = http.get(base + "/_sim/scenarios/status").json()
    http.close()
    assert status["expectations"] == []
    assert status["scenarios"][0]["pending"] == 2


def test_a_scenario_file_that_does_not_fit_the_world_is_400_naming_scenario(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("timeline:\n  - {at: +1m, cancel: ghost}\n")
    http = InProcessClient(create_app(Worlds(WorldConfig(seed=7, scenario_dir=tmp_path))))

    response = http.post("/_sim/worlds", json={"scenario": str(path)})

    worlds = http.get("/_sim/worlds").json()["worlds"]
    http.close()
    assert (response.status_code, response.json()["details"]["field"]) == (400, "scenario")
    assert response.json()["message"] == (
        f"scenario: {path.resolve()}:2: timeline[0].cancel: no order is named 'ghost'"
    )
    assert len(worlds) == 1


def test_a_new_world_does_not_inherit_the_servers_scenario() -> None:
    worlds = Worlds(WorldConfig(seed=7, scenario="sandbox"))
    http = InProcessClient(create_app(worlds))
    assert [run.name for run in worlds.default.scenarios.runs] == ["sandbox"]

    base = http.post("/_sim/worlds", json={}).json()["baseUrl"]

    assert http.get(base + "/_sim/scenarios/status").json()["scenarios"] == []
    assert http.get("/_sim/scenarios/status").json()["scenarios"][0]["scenario"] == "sandbox"
    http.close()
