"""Testing with ocx-sim: the pytest plugin (`plugin.py`, fixtures `ocx` and `ocx_server`), the
world handle they give (`OcxWorld`), a threaded server (`Sandbox`), an in-process client, and
builders for tests that drive an `Exchange` directly (`ocx_sim.testing.builders`: order
requests, funded users, `refused`; import that module itself).

The names below load on first use (PEP 562): the pytest plugin imports this package at every
pytest start-up, so importing it must not load the web stack, the server or the builders.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocx_sim.testing.sandbox import Sandbox
    from ocx_sim.testing.wire import WorldClient
    from ocx_sim.testing.world import (
        Account,
        ApiKey,
        OcxSimError,
        OcxWorld,
        WorldClock,
        in_process_world,
        parse_duration,
    )

_WHERE = {
    "Account": "ocx_sim.testing.world",
    "ApiKey": "ocx_sim.testing.world",
    "OcxSimError": "ocx_sim.testing.world",
    "OcxWorld": "ocx_sim.testing.world",
    "Sandbox": "ocx_sim.testing.sandbox",
    "WorldClient": "ocx_sim.testing.wire",
    "WorldClock": "ocx_sim.testing.world",
    "in_process_world": "ocx_sim.testing.world",
    "parse_duration": "ocx_sim.testing.world",
}

__all__ = [
    "Account",
    "ApiKey",
    "OcxSimError",
    "OcxWorld",
    "Sandbox",
    "WorldClient",
    "WorldClock",
    "in_process_world",
    "parse_duration",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ocx_sim.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
