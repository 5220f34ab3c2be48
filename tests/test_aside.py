"""Work done aside (worlds/aside.py): a long advance fires its world's timers on a worker
thread, so that another world answers even while one instant takes long; a copy of the world
(a save, a snapshot) is never taken half-way through a slice; and a cancelled wait for the
thread still waits for it to end."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest

from ocx_sim.app import create_app
from ocx_sim.worlds import World, WorldConfig, Worlds
from ocx_sim.worlds.aside import in_thread
from ocx_sim.worlds.persistence import save

WAIT_S = 10
"""How long a blocked timer waits for what the test lets happen meanwhile: only a failing
test waits it out."""


def test_another_world_answers_while_one_timer_of_an_advancing_world_runs() -> None:
    """A single timer that takes long (a market maker quoting a whole options board) holds up
    no other world: the timer here waits until another world has answered."""
    worlds = Worlds(WorldConfig())
    world = worlds.create(WorldConfig())
    answered = threading.Event()
    waited: list[bool] = []
    world.clock.schedule_at(world.now_ms + 1_000, lambda _: waited.append(answered.wait(WAIT_S)))

    async def run() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(worlds))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            advance = asyncio.create_task(
                client.post(f"/w/{world.world_id}/_sim/clock/advance", json={"ms": 2_000})
            )
            while not (world.lock.locked() or advance.done()):
                await asyncio.sleep(0)
            other = await client.get("/perps/markets")
            answered.set()
            return await advance, other

    advanced, other = asyncio.run(run())

    assert (advanced.status_code, other.status_code) == (200, 200)
    assert waited == [True]


def test_a_save_during_an_advance_waits_for_the_slice_under_way(tmp_path: Path) -> None:
    """The save copies the world between two slices: what the slice under way does is in it
    whole (here, all of a timer that is held half-way when the save begins)."""
    worlds = Worlds(WorldConfig())
    world = worlds.create(WorldConfig())
    in_slice, release = threading.Event(), threading.Event()

    def slow(_: int) -> None:
        in_slice.set()
        release.wait(WAIT_S)
        world.invited.add("the slow timer's end")

    world.clock.schedule_at(world.now_ms + 1_000, slow)

    async def run() -> None:
        async with world.lock:
            advance = asyncio.create_task(world.advance(world.now_ms + 2_000))
            assert await asyncio.to_thread(in_slice.wait, WAIT_S)
            saving = asyncio.create_task(save(worlds, tmp_path))
            await asyncio.sleep(0.1)  # the save has begun
            release.set()
            await advance
            await saving

    asyncio.run(run())

    restored = World.from_saved((tmp_path / f"world-{world.world_id}.pickle").read_bytes())
    assert restored.invited == {"the slow timer's end"}
    assert restored.now_ms == world.now_ms


def test_a_cancelled_wait_for_a_thread_ends_only_with_the_thread() -> None:
    """The server stopping cancels a long advance: the cancelled task still waits for the slice
    under way, so that nothing copies or changes the world while the thread does."""
    release = threading.Event()
    ended: list[str] = []

    def work() -> None:
        release.wait(WAIT_S)
        ended.append("work")

    async def run() -> bool:
        task = asyncio.create_task(in_thread(work))
        await asyncio.sleep(0.05)  # the thread runs
        task.cancel()
        await asyncio.sleep(0.05)
        done_before_the_thread = task.done()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        ended.append("task")
        return done_before_the_thread

    assert asyncio.run(run()) is False
    assert ended == ["work", "task"]
