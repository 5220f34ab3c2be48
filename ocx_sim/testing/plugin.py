"""The ocx-sim pytest plugin (the `pytest11` entry point `ocx_sim`; `-p no:ocx_sim` turns it off).

Fixtures:
- `ocx`: a world of its own, in this process, called without sockets or threads;
- `ocx_server`: a world of its own on `ocx_sandbox`, for client code that needs a real URL;
- `ocx_sandbox` (session): ocx-sim under uvicorn on a thread, 127.0.0.1 and a free port;
- `ocx_seed` and `ocx_world_config`: what the worlds are made from; override them in a
  conftest or a module to change every world there (`{"seed", "start", "clock", "speed",
  "profile", "journalBodies"}`, the body of `POST /_sim/worlds`).
Marker `@pytest.mark.ocx_scenario("file.yaml" or "bundled-name")` loads a scenario into the
test's world(s); a relative path is looked up beside the test file first. Option `--ocx-seed`
(or the ini value `ocx_seed`) sets the default seed.

Invariants:
- importing this module loads only pytest and the standard library beyond the `ocx_sim`
  package itself: the engine's world, the web stack and the server load when a test first
  asks for a fixture;
- each test's worlds are its own and are deleted after it; under pytest-xdist each worker has
  its own sandbox, port and worlds;
- the `ocx` world's id, and so every answer, is the same whichever tests ran before it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ocx_sim.testing.sandbox import Sandbox
    from ocx_sim.testing.world import OcxWorld

MARKER = "ocx_scenario"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ocx-sim")
    group.addoption(
        "--ocx-seed",
        type=int,
        default=None,
        help="seed of the worlds the ocx fixtures create (default: the ini value ocx_seed, else 0)",
    )
    parser.addini("ocx_seed", "default seed of the worlds the ocx fixtures create", default="0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(scenario): load a scenario (a YAML path, beside the test file first, or a "
        "bundled scenario's name) into the test's ocx / ocx_server world",
    )


def _seed(config: pytest.Config) -> int:
    option = config.getoption("ocx_seed")
    if option is not None:
        return int(option)
    raw = str(config.getini("ocx_seed")).strip()
    try:
        return int(raw)
    except ValueError:
        raise pytest.UsageError(f"ini value ocx_seed must be an integer, not {raw!r}") from None


def _load_marked_scenario(request: pytest.FixtureRequest, world: OcxWorld) -> None:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return
    if len(marker.args) != 1 or marker.kwargs or not isinstance(marker.args[0], str | Path):
        raise TypeError(
            f"@pytest.mark.{MARKER} takes one scenario: a YAML path or a bundled name, as in "
            f'@pytest.mark.{MARKER}("squeeze.yaml")'
        )
    world.load_scenario(marker.args[0], relative_to=Path(os.fspath(request.node.path)).parent)


@pytest.fixture
def ocx_seed(pytestconfig: pytest.Config) -> int:
    """The seed of this test's worlds: `--ocx-seed`, the ini value `ocx_seed`, or 0."""
    return _seed(pytestconfig)


@pytest.fixture
def ocx_world_config(ocx_seed: int) -> dict[str, Any]:
    """The body of `POST /_sim/worlds` for this test's worlds (override to set `start`,
    `clock`, `speed`, `profile` or `journalBodies`)."""
    return {"seed": ocx_seed}


@pytest.fixture
def ocx(request: pytest.FixtureRequest, ocx_world_config: dict[str, Any]) -> Iterator[OcxWorld]:
    """A world of its own, in this process: `ocx.client`, `ocx.clock.advance("5m")`,
    `ocx.account(balances=...)`, `ocx.load_scenario(...)`, `ocx.httpx_client()`."""
    from ocx_sim.testing.world import in_process_world

    with in_process_world(ocx_world_config, server_seed=_seed(request.config)) as world:
        _load_marked_scenario(request, world)
        yield world


@pytest.fixture(scope="session")
def ocx_sandbox(pytestconfig: pytest.Config) -> Iterator[Sandbox]:
    """ocx-sim under uvicorn on a thread, on 127.0.0.1 and a free port, for the whole session
    (each pytest-xdist worker its own)."""
    from ocx_sim.testing.sandbox import Sandbox

    with Sandbox(seed=_seed(pytestconfig)) as sandbox:
        yield sandbox


@pytest.fixture
def ocx_server(
    request: pytest.FixtureRequest, ocx_sandbox: Sandbox, ocx_world_config: dict[str, Any]
) -> Iterator[OcxWorld]:
    """A world of its own on the session's real server: `ocx_server.url` for your client,
    and the same handles as `ocx`."""
    with ocx_sandbox.world(ocx_world_config) as world:
        _load_marked_scenario(request, world)
        yield world
