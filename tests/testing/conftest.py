"""Shared by the pytester tests of the plugin: inner test files `record(...)` what they saw, one
JSON line each, in the file `seen_file` names; the outer test reads it back with `seen`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

RECORDER = """
import json, os
from pathlib import Path

def record(**fields):
    fields.setdefault("worker", os.environ.get("PYTEST_XDIST_WORKER", "main"))
    with Path(os.environ["OCX_SEEN"]).open("a") as out:
        out.write(json.dumps(fields) + "\\n")
"""


@pytest.fixture
def seen_file(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where inner tests record; `from recorder import record` in an inner test file."""
    path = pytester.path / "seen.jsonl"
    monkeypatch.setenv("OCX_SEEN", str(path))
    pytester.makepyfile(recorder=RECORDER)
    return path


def seen(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]
