"""The container image's files agree with the code: the Dockerfile's command line parses as
`ocx-sim serve` and keeps its worlds in the volume, the health check asks the server's own port,
compose.yaml's services fit the image, and the build context lets in what the Dockerfile copies.
`make image-test` builds and runs the image itself (it needs a Docker engine)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from ocx_sim.cli import _parser
from ocx_sim.testing import OcxWorld

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instruction(name: str) -> str:
    """The arguments of the last `name` instruction of the final stage, continuations joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    final = text.rsplit("\nFROM ", 1)[1]
    [*_, found] = re.findall(rf"^{name} +(.*)$", final, flags=re.M)
    return str(found).strip()


def entrypoint() -> list[str]:
    command: list[str] = json.loads(instruction("ENTRYPOINT"))
    return command


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_entrypoint_is_ocx_sim_serve_on_every_interface_keeping_worlds_in_the_volume() -> None:
    command = entrypoint()
    assert command[0] == "ocx-sim"
    args = _parser().parse_args(command[1:])
    assert args.command == "serve"
    assert args.host == "0.0.0.0"
    assert str(args.state_dir) == instruction("VOLUME") == "/data"
    assert instruction("EXPOSE") == str(args.port) == "8000"
    assert json.loads(instruction("CMD")) == []


def test_flags_after_the_image_name_reach_ocx_sim_serve_and_override_its_defaults() -> None:
    appended = ["--port", "9000", "--no-control", "--clock", "realtime", "--save-every", "5"]
    args = _parser().parse_args([*entrypoint()[1:], *appended])
    assert (args.port, args.no_control, args.clock, args.save_every) == (9000, True, "realtime", 5)


def test_the_server_runs_as_a_user_of_its_own_not_root() -> None:
    user = instruction("USER")
    assert user not in ("", "root", "0")
    assert re.search(rf"useradd .*\b{user}\b", DOCKERFILE)
    assert re.search(rf"chown {user}:{user} /data", DOCKERFILE)


def test_the_base_is_a_build_argument_defaulting_to_the_official_slim_python() -> None:
    assert re.search(r"^ARG BASE_IMAGE=python:3\.\d+-slim$", DOCKERFILE, flags=re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\} AS base$", DOCKERFILE, flags=re.M)
    # Python packages come only from the wheels in the build context.
    assert "pip install" in DOCKERFILE and "--no-index" in DOCKERFILE


def test_the_health_check_asks_for_the_markets_on_the_port_the_server_was_given() -> None:
    assert "/opt/ocx-sim/healthcheck.py" in instruction("HEALTHCHECK")
    assert "COPY docker/healthcheck.py /opt/ocx-sim/healthcheck.py" in DOCKERFILE
    check = load("docker/healthcheck.py")
    command = ["/opt/ocx-sim/bin/python", "/opt/ocx-sim/bin/ocx-sim", *entrypoint()[1:]]
    assert check.server_port(command) == 8000
    assert check.server_port([*command, "--port", "9000"]) == 9000
    assert check.server_port([*command, "--port", "9000", "--port=9001"]) == 9001


def test_the_build_context_lets_in_exactly_what_the_dockerfile_copies() -> None:
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line]
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert [line for line in ignore if not line.startswith(("#", "!"))] == ["*"]
    copied = {
        source.rstrip("/")
        for source in re.findall(r"^COPY (?!--from)(\S+) ", DOCKERFILE, flags=re.M)
    }
    assert copied == allowed == {"build/image-wheels", "docker/healthcheck.py"}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def makefile_image() -> str:
    [image] = re.findall(r"^IMAGE \?= (\S+)$", (ROOT / "Makefile").read_text(), flags=re.M)
    return str(image)


def test_compose_runs_the_image_make_builds_with_its_worlds_on_a_named_volume() -> None:
    document = compose()
    sandbox = document["services"]["sandbox"]
    assert sandbox["image"] == makefile_image()
    [mount] = sandbox["volumes"]
    volume, target = mount.split(":")
    assert target == instruction("VOLUME")
    assert volume in document["volumes"]
    assert sandbox["ports"] == ["8000:8000"]
    args = _parser().parse_args([*entrypoint()[1:], *sandbox["command"]])
    assert (args.scenario, args.clock) == ("sandbox", "realtime")


def test_the_compose_client_waits_for_a_healthy_sandbox_and_reaches_it_by_service_name() -> None:
    services = compose()["services"]
    client = services["client"]
    assert client["image"] == makefile_image()
    assert client["depends_on"] == {"sandbox": {"condition": "service_healthy"}}
    assert client["environment"]["OCX_BASE_URL"] == "http://sandbox:8000"
    [mount] = client["volumes"]
    source, target, mode = mount.split(":")
    assert (ROOT / source).is_file() and mode == "ro"
    assert client["entrypoint"] == ["python", target]


def test_the_compose_client_trades_against_a_real_server(ocx_server: OcxWorld) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "docker" / "client.py")],
        env={**os.environ, "OCX_BASE_URL": ocx_server.url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    marked, placed, cancelled = run.stdout.splitlines()
    assert marked == f"{ocx_server.url}: BTC-PERP marked at 68000.00"
    assert re.fullmatch(r"order (\w+): buy 0\.0100 at 61200\.00, open", placed)
    assert cancelled.endswith(": cancelled")


QUICKSTART = (ROOT / "docs" / "quickstart.md").read_text()
SECTION = QUICKSTART.split("### The sandbox in a container", 1)[1].split("\n### ", 1)[0]


def test_the_quickstart_shows_compose_yaml_as_it_is() -> None:
    [shown] = [
        block
        for block in re.findall(r"```yaml\n(.*?)```", SECTION, flags=re.S)
        if "services:" in block
    ]
    assert yaml.safe_load(shown) == compose()


def test_every_docker_run_of_the_quickstart_passes_options_ocx_sim_serve_takes() -> None:
    runs = re.findall(r"^docker run (.*?)(?:  +#.*)?$", SECTION, flags=re.M)
    assert len(runs) >= 3
    for run in runs:
        # The image's name, not the volume's: "ocx-sim" followed by its options, if any.
        before, after = re.split(r" ocx-sim(?= |$)", run)
        assert "-v ocx-sim-data:/data" in before and "-p 8000:8000" in before
        args = _parser().parse_args([*entrypoint()[1:], *after.split()])
        assert args.state_dir is not None
