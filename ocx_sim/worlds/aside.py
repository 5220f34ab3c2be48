"""Pickling a world's state without holding up the server: in a forked child.

A snapshot (and a save to `--state-dir`) pickles a world's whole state, which for a busy world
takes seconds, and pickling cannot pause half-way for the event loop. So where the system can
fork, the state is pickled by a child process: the fork is a copy of the server at that instant
(the operating system shares the memory until either side writes), the child pickles its copy
into a pipe and exits, and the server reads the pipe on a worker thread, answering other
requests meanwhile. What the child pickled is the state at the fork, whatever the server does
after it. Without fork (Windows), or if the child fails, the state is pickled in the server's
own thread, as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle

log = logging.getLogger("ocx_sim")

CHUNK = 1 << 20


def pickled(state: object) -> bytes:
    return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


async def pickled_aside(state: object) -> bytes:
    """`pickled(state)` as of now, made by a forked child where the system can fork."""
    if not hasattr(os, "fork"):
        return pickled(state)
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
    data, status = await asyncio.to_thread(_collect, read_end, pid)
    if os.waitstatus_to_exitcode(status) != 0:
        log.warning("pickling in a child process failed; pickling in the server instead")
        return pickled(state)
    return data


def _collect(read_end: int, pid: int) -> tuple[bytes, int]:
    """Everything the child writes, and how it exited."""
    parts = []
    with os.fdopen(read_end, "rb") as pipe:
        while part := pipe.read(CHUNK):
            parts.append(part)
    _, status = os.waitpid(pid, 0)
    return b"".join(parts), status
