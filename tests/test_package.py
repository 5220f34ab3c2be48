"""The package surface: a sorted `__all__`, no web stack on import, and `python -m ocx_sim`."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import grimp

import ocx_sim

ROOT = Path(__file__).resolve().parent.parent
WEB_STACK = ["starlette", "uvicorn", "httpx", "yaml", "anyio", "h11", "httptools", "uvloop"]


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 "isort-style" order, which the project's linter enforces on `__all__`:
    SCREAMING_CASE constants, then CamelCase classes, then everything else, each alphabetical."""
    if name.isupper():
        return 0, name
    if name[0].isupper():
        return 1, name
    return 2, name


def test_all_is_sorted_without_duplicates() -> None:
    assert ocx_sim.__all__ == sorted(ocx_sim.__all__, key=_isort_key)
    assert len(set(ocx_sim.__all__)) == len(ocx_sim.__all__)


def test_every_name_in_all_is_importable_from_the_package() -> None:
    fresh = importlib.import_module("ocx_sim")
    namespace: dict[str, object] = {}
    exec("from ocx_sim import *", namespace)
    for name in ocx_sim.__all__:
        assert getattr(fresh, name) is namespace[name], name


def test_every_public_name_of_the_package_is_in_all() -> None:
    public = {
        name
        for name, value in vars(ocx_sim).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(ocx_sim.__all__)


def test_importing_the_package_loads_no_web_stack() -> None:
    probe = (
        "import json, sys\n"
        "import ocx_sim\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert "ocx_sim" in loaded
    assert sorted(loaded & set(WEB_STACK)) == []


def test_python_m_ocx_sim_help_exits_0_and_lists_serve() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ocx_sim", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"\bserve\b", result.stdout)
    assert result.stdout.startswith("usage: ocx-sim")


def test_python_m_ocx_sim_without_a_command_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ocx_sim"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_no_module_of_the_package_is_in_an_import_cycle() -> None:
    # Every import, function-level and TYPE_CHECKING ones included: a cycle hidden in a
    # function is still a cycle. An import a → b closes one when b leads back to a.
    graph = grimp.build_graph("ocx_sim")
    closing = sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(importer=imported, imported=importer)
    )

    assert closing == []
