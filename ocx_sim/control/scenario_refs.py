"""Which scenarios a request may name (docs/control-api.md "Scenarios over HTTP").

The control API is reachable by whoever reaches the server, so it reads no file a request
chooses: a scenario is a bundled one's name, or its YAML text sent along (a value with a line
break is YAML). A path is accepted only when the server was started with `ocx-sim serve
--scenario-dir DIR`, and only when it resolves inside DIR (symlinks followed, `..` resolved):
a file elsewhere is refused before it is opened, so no answer can carry a line of it. A NUL
character, which no path can hold, is refused as the field's error rather than an internal one.
The command line itself (`ocx-sim serve --scenario`, `ocx-sim run`) is the operator and reads
any path (scenarios/library.py `find`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocx_sim.errors import invalid
from ocx_sim.gateway.schemas import Schema
from ocx_sim.scenarios.library import bundled, is_bare_name
from ocx_sim.scenarios.loader import MAX_TEXT
from ocx_sim.scenarios.model import ScenarioError
from ocx_sim.worlds.scenario_run import is_inline, refusal

MAX_PATH = 4096
"""Characters of a bundled name or a path."""
MAX_SOURCE = 256
"""Characters of the name an inline scenario's errors give it."""
SOURCE_NAME: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_SOURCE,
    "pattern": "^[^\\u0000]*$",
}
"""That name as `source_name` takes it: 1 to MAX_SOURCE characters, no NUL."""


def scenario_reference(
    body: dict[str, Any], field: str, scenario_dir: Path | None, *, inline: bool = True
) -> str | None:
    """The body's scenario under `field` as a reference the world can open: a bundled name
    (checked to be one), the YAML text itself (when `inline`), or the real path of a file
    inside `scenario_dir`; None when absent; 400 naming `field` for anything else."""
    raw = body.get(field)
    if raw is None:
        return None
    wanted = "a bundled scenario's name" + (" or a scenario's YAML text" if inline else "")
    if not isinstance(raw, str) or not raw.strip():
        raise invalid(field, f"must be {wanted}")
    if "\0" in raw:
        raise invalid(field, "must not contain a NUL character")
    if is_inline(raw) and not inline:
        raise invalid(field, f"must be {wanted} (send a scenario's text as yaml)")
    if is_inline(raw):
        if len(raw) > MAX_TEXT:
            raise invalid(field, f"must be at most {MAX_TEXT} characters")
        return raw
    if len(raw) > MAX_PATH:
        raise invalid(field, f"must be at most {MAX_PATH} characters")
    if is_bare_name(raw):
        try:
            bundled(raw)
        except ScenarioError as error:
            raise refusal(error, field) from None
        return raw
    if scenario_dir is None:
        raise invalid(
            field,
            f"must be {wanted}: this server reads no scenario file by path "
            "(ocx-sim serve --scenario-dir)",
        )
    return _inside(raw, field, scenario_dir)


def _inside(reference: str, field: str, scenario_dir: Path) -> str:
    """The real path of `reference` (relative to `scenario_dir`, or absolute) when it is a file
    inside `scenario_dir`; 400 naming `field` otherwise, before the file is opened."""
    root = scenario_dir.resolve()
    path = (root / reference).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise invalid(field, "names no file inside the server's scenario directory")
    return str(path)


def source_name(body: dict[str, Any], field: str) -> str | None:
    """The optional name an inline scenario's errors give it (a client sends its file's)."""
    raw = body.get(field)
    if raw is None:
        return None
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_SOURCE or "\0" in raw:
        raise invalid(field, f"must be 1 to {MAX_SOURCE} characters")
    return raw
