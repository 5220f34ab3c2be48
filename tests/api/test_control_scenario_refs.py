"""Which scenarios a request may name (docs/control-api.md "Scenarios over HTTP"): bundled
names and inline YAML; a file only inside the server's `--scenario-dir`; never a file's
content in an error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ocx_sim.app import create_app
from ocx_sim.testing.client import InProcessClient, Response
from ocx_sim.worlds import WorldConfig, Worlds
from tests.api.conftest import ApiClient, assert_error

SECRET = "root:$6$saltsalt$0123456789abcdef:19000:0:99999:7:::"
"""A line no answer may ever show (a password file's, say)."""
YAML = "meta: {name: mine}\ntimeline:\n  - {at: +1m, halt: BTC-PERP}\n"
BROKEN = "meta: {name: broken}\ntimeline:\n  - at: +1m\n    mark: {market: BTC-PERP, set: lots}\n"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside any scenario directory."""
    path = tmp_path / "outside" / "shadow"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    return path


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "mine.yaml").write_text(YAML)
    return folder


@pytest.fixture
def with_dir(scenario_dir: Path) -> Iterator[InProcessClient]:
    """A server started with `--scenario-dir`."""
    http = InProcessClient(create_app(Worlds(WorldConfig(seed=7, scenario_dir=scenario_dir))))
    yield http
    http.close()


def refused_without_content(response: Response, field: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert (response.status_code, body["code"], body["details"]["field"]) == (
        400,
        "VALIDATION_ERROR",
        field,
    )
    assert "root:" not in response.text and "saltsalt" not in response.text
    return body


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sim/worlds", lambda secret: {"scenario": str(secret)}),
        ("/_sim/scenarios", lambda secret: {"name": str(secret)}),
    ],
    ids=["worlds", "scenarios"],
)
def test_a_server_without_a_scenario_dir_reads_no_file_a_request_names(
    client: ApiClient, secret: Path, path: str, body: Any
) -> None:
    response = client.post(path, json=body(secret))

    refused = refused_without_content(response, "scenario" if "worlds" in path else "name")
    assert "--scenario-dir" in refused["message"]


def test_a_bare_name_is_a_bundled_scenario_never_a_file_beside_the_server(
    client: ApiClient, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(secret.parent)

    response = client.post("/_sim/worlds", json={"scenario": "shadow"})

    refused = refused_without_content(response, "scenario")
    assert "no bundled scenario is named 'shadow'" in refused["message"]


@pytest.mark.parametrize("reference", ["../outside/shadow", "{secret}"], ids=["dotdot", "absolute"])
def test_a_path_outside_the_scenario_dir_is_refused_before_it_is_read(
    with_dir: InProcessClient, secret: Path, reference: str
) -> None:
    named = reference.format(secret=secret)

    refused_without_content(with_dir.post("/_sim/worlds", json={"scenario": named}), "scenario")
    refused_without_content(with_dir.post("/_sim/scenarios", json={"name": named}), "name")


def test_a_symlink_inside_the_scenario_dir_to_a_file_outside_is_refused(
    with_dir: InProcessClient, scenario_dir: Path, secret: Path
) -> None:
    (scenario_dir / "link.yaml").symlink_to(secret)

    response = with_dir.post("/_sim/worlds", json={"scenario": "link.yaml"})

    refused_without_content(response, "scenario")


def test_a_file_inside_the_scenario_dir_is_loaded_by_either_endpoint(
    with_dir: InProcessClient,
) -> None:
    created = with_dir.post("/_sim/worlds", json={"scenario": "mine.yaml"})
    loaded = with_dir.post("/_sim/scenarios", json={"name": "mine.yaml"})

    assert created.status_code == 201, created.text
    assert (loaded.status_code, loaded.json()["scenario"]) == (200, "mine")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/_sim/worlds", {"scenario": "sandbox\0.yaml"}, "scenario"),
        ("/_sim/worlds", {"scenario": "/etc/\0"}, "scenario"),
        ("/_sim/scenarios", {"name": "sandbox\0"}, "name"),
        ("/_sim/scenarios", {"yaml": "meta: {name: x}\n\0"}, "yaml"),
    ],
)
def test_a_nul_character_is_400_naming_the_field(
    client: ApiClient, path: str, body: dict[str, Any], field: str
) -> None:
    assert_error(client.post(path, json=body), 400, "VALIDATION_ERROR", field)


def test_a_world_is_built_from_inline_yaml_and_its_errors_name_the_given_source(
    client: ApiClient,
) -> None:
    created = client.post("/_sim/worlds", json={"scenario": YAML})
    refused = client.post(
        "/_sim/worlds", json={"scenario": BROKEN, "scenarioSource": "tests/broken.yaml"}
    )

    assert created.status_code == 201
    base = created.json()["baseUrl"]
    runs = client.get(base + "/_sim/scenarios/status").json()["scenarios"]
    assert [run["scenario"] for run in runs] == ["mine"]
    assert_error(refused, 400, "VALIDATION_ERROR", "scenario")
    assert "tests/broken.yaml:4: timeline[0].mark.set" in refused.json()["message"]


def test_loaded_yaml_errors_name_its_source_or_else_yaml(client: ApiClient) -> None:
    named = client.post("/_sim/scenarios", json={"yaml": BROKEN, "source": "mine/broken.yaml"})
    unnamed = client.post("/_sim/scenarios", json={"yaml": BROKEN})

    assert named.json()["details"]["problems"][0]["source"] == "mine/broken.yaml"
    assert unnamed.json()["details"]["problems"][0]["source"] == "<yaml>"
