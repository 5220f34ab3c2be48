"""The README's Python example runs as written and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
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

    # One shell runs every step in order (variables and cookies carry over), marking the end
    # of each step's output. The README's paths are relative to the project folder.
    bin_dir = Path(sys.executable).parent
    script = "\n".join(
        f"{command.replace(BASE, here).replace('.venv/bin/', f'{bin_dir}/')}\nprintf '\\n{MARK}\\n'"
        for command, _ in steps
    )
    run = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    outputs = run.stdout.split(f"\n{MARK}\n")[:-1]

    assert run.stderr == ""
    assert len(outputs) == len(steps)
    for (command, shown), output in zip(steps, outputs, strict=True):
        assert output == shown.replace(BASE, here), command
