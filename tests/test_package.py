"""The package surface: a sorted `__all__`, no web stack on import, and `python -m ocx_sim`."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import re
import subprocess
import sys
import sysconfig
import types
import venv
from pathlib import Path

import grimp
import pytest

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


# -- installed from its wheel, outside the checkout ------------------------------------------------

PLUGIN_TEST = """
import ocx_sim


def test_the_installed_package_serves_a_world(ocx):
    assert "{site}" in ocx_sim.__file__
    assert ocx.client.get("/perps/markets").status_code == 200
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel built from this checkout. Its dependencies are the
    test venv's, reached by a `.pth` line (a plain path: the test venv's own `.pth` files, the
    editable install of this checkout among them, are not run): the install downloads nothing."""
    root = tmp_path_factory.mktemp("installed")
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
        check=True,
        timeout=300,
    )
    fresh = root / "venv"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"))
    (site / "test-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    [wheel] = wheels.glob("ocx_sim-*.whl")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*pip, "--no-index", "--no-deps", str(wheel)], check=True, timeout=300)
    return fresh


def _run(*argv: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in argv], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_the_installed_cli_prints_the_packages_version(installed: Path, tmp_path: Path) -> None:
    out = _run(installed / "bin" / "ocx-sim", "--version", cwd=tmp_path)

    assert out == f"ocx-sim {ocx_sim_version()}"


def test_the_wheel_carries_the_dashboard_uplot_and_swagger_ui(
    installed: Path, tmp_path: Path
) -> None:
    probe = (
        "from importlib.resources import files\n"
        "assets = files('ocx_sim') / 'assets'\n"
        "for name in ('dashboard/index.html', 'uplot/uPlot.iife.min.js',\n"
        "             'swagger-ui/swagger-ui-bundle.js', 'swagger-ui/LICENSE'):\n"
        "    assert (assets / name).is_file(), name\n"
        "print(assets)\n"
    )

    where = _run(installed / "bin" / "python", "-c", probe, cwd=tmp_path)

    assert where.startswith(str(installed))


def test_the_installed_cli_runs_a_bundled_scenario(installed: Path, tmp_path: Path) -> None:
    out = _run(installed / "bin" / "ocx-sim", "run", "funding-squeeze", cwd=tmp_path)

    assert "0 failed" in out


def test_the_installed_pytest_plugin_gives_a_world(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    (tmp_path / "test_bot.py").write_text(PLUGIN_TEST.replace("{site}", site))

    out = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bot.py", cwd=tmp_path)

    assert "1 passed" in out


def ocx_sim_version() -> str:
    return importlib.metadata.version("ocx-sim")
