"""A server's worlds kept in a directory, so that a restart (even after kill -9) continues where
the last save left them (`ocx-sim serve --state-dir DIR`, docs/quickstart.md "Keeping the
sandbox across restarts").

Each world is one file, `world-{worldId}.pickle`: its whole state as a snapshot keeps it
(exchange, clock and timers, sessions, API keys, nonces, faults, journal, scenarios) and its
snapshots (`World.saved`). `worlds.json` lists them, the default world first, and how many
worlds the server has created (so that new ids are never ones handed out before). Every file is
written whole beside its place and then renamed over it, the list last, so a save cut short
leaves the last complete one of every world; files the list no longer names (deleted worlds)
go after it. The demo account is the default world's own (its config makes it), so it comes
back with it. What is not kept: open streams and connections (clients reconnect), and what
lives in memory only (a realtime clock's real-time origin: it runs on from the saved instant).

The files are pickles: load only a directory this server wrote (a pickle can run code).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ocx_sim.clock import RealTimeSource, WallTimeSource
from ocx_sim.worlds import DEFAULT_WORLD_ID, World, Worlds
from ocx_sim.worlds.aside import pickled_aside

INDEX = "worlds.json"
VERSION = 1


def _write(path: Path, data: bytes) -> None:
    """`data` at `path`, whole or not at all: written beside it, flushed to disk, renamed."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)


def _file(world_id: str) -> str:
    return f"world-{world_id}.pickle"


async def save(worlds: Worlds, directory: Path) -> None:
    """Write every world, then the list, then drop files of worlds that are gone. Each world
    is pickled aside (worlds/aside.py), so the server answers meanwhile, and between two slices
    of an advance it is in (its `stepping` lock)."""
    every = worlds.all()
    data = [await pickled_aside(world.saved, world.stepping) for world in every]
    _save(worlds, directory, every, data)


def _save(worlds: Worlds, directory: Path, every: list[World], data: list[bytes]) -> None:
    """Write each of `every` world's `data`, then the list of them."""
    directory.mkdir(parents=True, exist_ok=True)
    for world, saved in zip(every, data, strict=True):
        _write(directory / _file(world.world_id), saved)
    index = {
        "version": VERSION,
        "created": worlds.created,
        "worlds": [world.world_id for world in every],
    }
    _write(directory / INDEX, json.dumps(index, indent=1).encode())
    kept = {_file(world.world_id) for world in every}
    for stale in directory.glob("world-*.pickle"):
        if stale.name not in kept:
            stale.unlink()


def load(
    worlds: Worlds,
    directory: Path,
    real_time: RealTimeSource | None = None,
    wall_time: WallTimeSource | None = None,
) -> int:
    """Replace `worlds` with those kept in `directory`; how many there were (0, and `worlds`
    unchanged, when the directory holds none). A list of another version is refused."""
    index_path = directory / INDEX
    if not index_path.exists():
        return 0
    index: dict[str, Any] = json.loads(index_path.read_text())
    if index.get("version") != VERSION:
        raise ValueError(f"{index_path}: state of version {index.get('version')!r}, not {VERSION}")
    kept = [
        World.from_saved((directory / _file(world_id)).read_bytes(), real_time, wall_time)
        for world_id in index["worlds"]
    ]
    default, others = kept[0], kept[1:]
    if default.world_id != DEFAULT_WORLD_ID:
        raise ValueError(f"{index_path}: the first world is not the default one")
    worlds.adopt(default, others, int(index["created"]))
    return len(kept)


class Keeper:
    """Saves a server's worlds to `directory` every `every_s` seconds while it runs and once
    more as it stops (the app's lifespan runs it: ocx_sim/app.py)."""

    def __init__(self, directory: Path, every_s: float) -> None:
        self.directory = directory
        self.every_s = every_s

    async def save(self, worlds: Worlds) -> None:
        await save(worlds, self.directory)
