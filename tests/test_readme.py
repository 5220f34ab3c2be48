"""The README's Python example runs as written and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.served import ocx_sim_serve

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_engine_example_runs_and_prints_what_it_claims() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    example = blocks[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    claims = [c.strip() for c in re.findall(r"print\(.*\)\s+#(.*)", example)]
    # Every commented print shows its output, except the last: the digest, described in words.
    assert lines[: len(claims) - 1] == claims[:-1]
    assert re.fullmatch(r"[0-9a-f]{64}", lines[-1])


# -- the sandbox walkthrough --------------------------------------------------------------------

BASE = "http://127.0.0.1:8000"
MARK = "<<<end of step>>>"


def walkthrough() -> list[tuple[str, str]]:
    """Each `$ command` of "The sandbox, step by step", with the output the README shows."""
    text = README.read_text()
    section = text.split("## The sandbox, step by step", 1)[1].split("\n## ", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in steps]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """`ocx-sim serve` as the walkthrough runs it, on a free port: (port, the banner it
    printed, as many lines as the README shows)."""
    lines = len(walkthrough()[0][1].splitlines())
    with ocx_sim_serve([], tmp_path, lines) as served:
        yield served.port, "\n".join(served.banner)


def run_walkthrough(steps: list[tuple[str, str]], here: str, cwd: Path) -> list[str]:
    """What each step printed: one shell runs every step in order (variables and cookies carry
    over), marking the end of each step's output. The README's paths are relative to the
    project folder."""
    bin_dir = Path(sys.executable).parent
    script = "\n".join(
        f"{command.replace(BASE, here).replace('.venv/bin/', f'{bin_dir}/')}\nprintf '\\n{MARK}\\n'"
        for command, _ in steps
    )
    run = subprocess.run(
        ["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert run.stderr == ""
    outputs = run.stdout.split(f"\n{MARK}\n")[:-1]
    assert len(outputs) == len(steps)
    return outputs


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough is written for curl")
def test_every_walkthrough_command_works_as_written_and_answers_what_the_readme_shows(
    sandbox: tuple[int, str], tmp_path: Path
) -> None:
    port, banner = sandbox
    here = f"http://127.0.0.1:{port}"
    (serve, shown_banner), *steps = walkthrough()
    # `make serve` runs the live sandbox; the walkthrough needs the deterministic default world.
    assert serve == ".venv/bin/ocx-sim serve"
    assert banner == shown_banner.replace(BASE, here)

    outputs = run_walkthrough(steps, here, tmp_path)

    for (command, shown), output in zip(steps, outputs, strict=True):
        assert output == shown.replace(BASE, here), command


# -- the same walkthrough against `make serve` -------------------------------------------------

MAKEFILE = README.parent / "Makefile"
DEMO = {"WALLET": "wallet address", "PRIVATE_KEY": "private key", "KEY": "trade API key"}
"""The walkthrough's variables, and the banner line each is set from."""
ADVANCE_REFUSED = {
    "error": "VALIDATION_ERROR",
    "code": "VALIDATION_ERROR",
    "message": "mode: a realtime clock runs by itself; only a manual clock is advanced",
    "details": {"field": "mode"},
}


def make_serve_flags() -> list[str]:
    """The flags `make serve` gives `ocx-sim serve` beyond its host and port."""
    (line,) = [line for line in MAKEFILE.read_text().splitlines() if "/ocx-sim serve" in line]
    return line.split("--port $(PORT)", 1)[1].split()


def shape(value: object) -> object:
    """What an answer is made of, without its values: keys and the JSON type of each value."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return "list" if isinstance(value, list) else type(value).__name__


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough is written for curl")
def test_the_walkthrough_works_against_make_serve_differing_only_where_the_readme_says(
    tmp_path: Path,
) -> None:
    flags = make_serve_flags()
    assert flags == ["--scenario", "sandbox", "--clock", "realtime"]
    with ocx_sim_serve(flags, tmp_path) as served:
        here = served.url
        steps = []
        for command, shown in walkthrough()[1:]:
            name, equals, _ = command.partition("=")
            if equals and name in DEMO:
                command = f"{name}={served.demo(DEMO[name])}"
            steps.append((command, shown))
        outputs = run_walkthrough(steps, here, tmp_path)

    assert served.banner[0] == (
        f"ocx-sim: the default world (seed 0, realtime clock, scenario sandbox) on {here}"
    )
    for (command, shown), output in zip(steps, outputs, strict=True):
        if "/_sim/clock/advance" in command:
            assert json.loads(output) == ADVANCE_REFUSED
        elif "orderbook" in command:
            book = json.loads(output)
            assert shape(book) == shape(json.loads(shown))
            assert book["asks"], "the market maker's ask"
        elif shown:
            assert shape(json.loads(output)) == shape(json.loads(shown)), command
        else:
            assert output == "", command
    signed_in = json.loads(
        outputs[[c for c, _ in steps].index("curl -s -b cookies.txt $OCX/auth/me")]
    )
    assert signed_in["walletAddress"] == served.demo("wallet address")
