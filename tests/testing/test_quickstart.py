"""docs/quickstart.md works as written: its test files pass as a user's suite, and its CI
recipe's start-and-wait step brings a sandbox up."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

import pytest
import yaml

# pytester's inline runs forget every module they import; importing the server side here once
# keeps the inline run from importing the whole web stack again.
import ocx_sim.testing.sandbox  # noqa: F401

pytest_plugins = ["pytester"]

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"


def named_blocks() -> dict[str, str]:
    """Every fenced block whose first line is a comment naming a file: name → text."""
    blocks = re.findall(r"```(?:python|yaml)\n(.*?)```", QUICKSTART.read_text(), flags=re.S)
    out = {}
    for block in blocks:
        first = block.splitlines()[0]
        if match := re.fullmatch(r"# ([\w./-]+\.(?:py|yaml|yml))", first):
            out[match[1]] = block
    return out


def test_the_quickstart_test_files_pass_as_a_users_suite(pytester: pytest.Pytester) -> None:
    files = {name: text for name, text in named_blocks().items() if "/" not in name}
    assert sorted(files) == [
        "squeeze.yaml",
        "test_my_book_feed.py",
        "test_my_bot.py",
        "test_my_client.py",
        "test_my_options_desk.py",
        "test_squeeze.py",
    ]
    for name, text in files.items():
        (pytester.path / name).write_text(text)

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=11)


def test_the_ci_recipe_starts_a_sandbox_and_waits_until_it_answers(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the recipe waits with curl")
    workflow = yaml.safe_load(named_blocks()[".github/workflows/client.yml"])
    [start] = [s for s in workflow["jobs"]["client"]["steps"] if s.get("name") == "Start ocx-sim"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    script = start["run"].replace("8000", port)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    # Its own session: the recipe leaves the server running in the background, and the test
    # ends it (and only it) through its process group.
    runner = subprocess.Popen(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, start_new_session=True
    )
    try:
        assert runner.wait(timeout=90) == 0
        clock = subprocess.run(
            ["curl", "-sf", f"http://127.0.0.1:{port}/_sim/clock"], capture_output=True, text=True
        )
        assert '"nowMs"' in clock.stdout
    finally:
        with suppress(ProcessLookupError):
            os.killpg(runner.pid, signal.SIGTERM)
