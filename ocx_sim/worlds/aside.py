"""Work done aside, without holding up the server: a world's state pickled in a forked child,
and a world's timers fired on a worker thread.

A snapshot (and a save to `--state-dir`) pickles a world's whole state, which for a busy world
takes seconds, and pickling cannot pause half-way for the event loop. So where the system can
fork, the state is pickled by a child process: the fork is a copy of the server at that instant
(the operating system shares the memory until either side writes), the child pickles its copy
into a pipe and exits, and the server reads the pipe on a worker thread, answering other
requests meanwhile. What the child pickled is the state at the fork, whatever the server does
after it. Without fork (Windows), or if the child fails, the state is pickled in the server's
own thread, as before.

A long clock advance fires its world's timers a slice at a time on a worker thread
(`World.advance`, `in_thread`), so that the event loop keeps answering the other worlds even
while one instant of the advancing world takes long (a sandbox market maker quoting a whole
options board): Python hands the interpreter from one thread to the other every few
milliseconds. Only the advance's own world is touched by the thread, and that world's requests
wait for the advance (its lock). A copy of a world's state must not be taken half-way through a
slice: the world's `stepping` lock is held by the advance around each slice and by whoever
copies the state (`pickled_aside`) around the copy.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

log = logging.getLogger("ocx_sim")

CHUNK = 1 << 20

T = TypeVar("T")


def pickled(state: object) -> bytes:
    return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


async def pickled_aside(state: Callable[[], object], stepping: asyncio.Lock) -> bytes:
    """`pickled(state())` as of now, made by a forked child where the system can fork. The
    world's `stepping` lock is held while the state is read and copied (the fork, or the
    pickling here): no slice of an advance changes it meanwhile."""
    if hasattr(os, "fork"):
        async with stepping:
            read_end, pid = _fork_pickler(state())
        data, status = await asyncio.to_thread(_collect, read_end, pid)
        if os.waitstatus_to_exitcode(status) == 0:
            return data
        log.warning("pickling in a child process failed; pickling in the server instead")
    async with stepping:
        return pickled(state())


async def in_thread(work: Callable[[], T]) -> T:
    """`work()` on a worker thread, the event loop running meanwhile. A thread cannot be
    stopped half-way, so if the waiting task is cancelled (the server stopping), it still waits
    for `work` to end before it gives up: whoever comes next finds the state whole."""
    future = asyncio.get_running_loop().run_in_executor(None, work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            with suppress(asyncio.CancelledError):
                await asyncio.wait({future})
        raise


def _fork_pickler(state: object) -> tuple[int, int]:
    """A child that pickles its copy of `state` into a pipe: the pipe's read end, its pid."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: pickle its copy, hand it over, and leave without cleaning up
        os.close(read_end)
        code = 0
        try:
            left = memoryview(pickled(state))
            while left:
                left = left[os.write(write_end, left[:CHUNK]) :]
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write_end)
    return read_end, pid


def _collect(read_end: int, pid: int) -> tuple[bytes, int]:
    """Everything the child writes, and how it exited."""
    parts = []
    with os.fdopen(read_end, "rb") as pipe:
        while part := pipe.read(CHUNK):
            parts.append(part)
    _, status = os.waitpid(pid, 0)
    return b"".join(parts), status
