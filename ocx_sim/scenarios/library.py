"""The bundled scenarios, and finding a scenario by a bundled name or a path.

The bundled YAML files live in `scenarios/` at the repository's root (docs/architecture.md
"Scenarios"). A wheel carries them inside the package as `ocx_sim/scenarios/bundled/`
(pyproject.toml's `force-include`); a source checkout and an editable install (`pip install -e`,
as the Makefile does) read them where they are. A reference is a bundled name when it is a bare
name (`funding-squeeze`: no directory and no `.yaml`), and a path otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path

from ocx_sim.scenarios.loader import load_file, load_text
from ocx_sim.scenarios.model import Problem, Scenario, ScenarioError

_PACKAGED = Path(__file__).with_name("bundled")
_CHECKOUT = Path(__file__).resolve().parents[2] / "scenarios"
_BARE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def bundled_dir() -> Path:
    """Where the bundled scenarios are: inside the package when installed from a wheel,
    else the checkout's `scenarios/`."""
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def bundled_names() -> list[str]:
    """The bundled scenarios' names, sorted."""
    folder = bundled_dir()
    return sorted(path.stem for path in folder.glob("*.yaml")) if folder.is_dir() else []


def is_bare_name(reference: str) -> bool:
    """Whether a reference is a bundled scenario's name in form: no directory, no suffix."""
    return _BARE_NAME.fullmatch(reference) is not None


def bundled(name: str) -> Scenario:
    """A bundled scenario by name; its errors name `<name>.yaml`."""
    if _BARE_NAME.fullmatch(name) is None or name not in bundled_names():
        known = ", ".join(bundled_names()) or "none"
        raise ScenarioError(
            [Problem(name, None, "", f"no bundled scenario is named {name!r} (bundled: {known})")]
        )
    path = bundled_dir() / f"{name}.yaml"
    return load_text(path.read_text(encoding="utf-8"), path.name, default_name=name)


def find(reference: str) -> Scenario:
    """A bundled scenario by its bare name, or else the scenario in the file at `reference`."""
    if _BARE_NAME.fullmatch(reference) and not Path(reference).is_file():
        return bundled(reference)
    return load_file(reference)


def descriptions() -> list[tuple[str, str]]:
    """(name, one-line description) of every bundled scenario."""
    return [(name, bundled(name).meta.description) for name in bundled_names()]
