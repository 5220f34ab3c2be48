"""Long control answers written a piece at a time (docs/control-api.md "Worlds"): a read of a
long event log, or the answer of a long advance, takes the event loop only for the share a
long advance's slice takes (`SLICE_SECONDS`), so the server's other worlds keep answering."""

from __future__ import annotations

import asyncio

import orjson

from ocx_sim.clock import real_seconds
from ocx_sim.engine.core.events import EventLog
from ocx_sim.gateway.render import event_view
from ocx_sim.worlds import SLICE_SECONDS

PIECE = 100
"""Events read (rendered, or hashed for the digest) at a time, between looks at the time."""


class Turn:
    """A long read's share of the event loop: it yields once it has held it `SLICE_SECONDS`,
    the share a long clock advance takes too (worlds/__init__.py), read on real time."""

    def __init__(self) -> None:
        self.since = real_seconds()

    async def maybe_yield(self) -> None:
        if real_seconds() - self.since >= SLICE_SECONDS:
            await asyncio.sleep(0)
            self.since = real_seconds()


async def events_json(log: EventLog, after: int, through: int) -> list[bytes]:
    """The JSON array of the events held with `after` < `seq` <= `through`, in parts (to be
    sent as they are: gateway/responses.py `Piecewise`), rendered and encoded a piece at a
    time, yielding between pieces (`Turn`): a long advance's answer or a whole log's page holds
    up no other world while it is written."""
    parts = [b"["]
    turn = Turn()
    for start in range(after, through, PIECE):
        events = log.between(start, min(through, start + PIECE))
        if events:
            if len(parts) > 1:
                parts.append(b",")
            parts.append(orjson.dumps([event_view(event) for event in events])[1:-1])
        await turn.maybe_yield()
    parts.append(b"]")
    return parts
