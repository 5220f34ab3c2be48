"""`ocx-sim run --trace FILE`: the run's event log as JSON lines, written as the run advances.

Each line is one event exactly as `GET /_sim/events` shows it (`event_view`: seq, ts as ISO,
type, its fields camelCased, decimals as strings), in seq order. The caller writes after every
advance step, so a long run's trace reaches the file as it goes rather than at the end.
"""

from __future__ import annotations

from typing import BinaryIO

import orjson

from ocx_sim.engine.core.events import EventLog
from ocx_sim.gateway.render import event_view


class Trace:
    """Appends to `out` every event of `log` it has not written yet."""

    def __init__(self, log: EventLog, out: BinaryIO) -> None:
        self._log = log
        self._out = out
        self._seq = 0
        """The seq of the last event written."""

    @property
    def written(self) -> int:
        return self._seq

    def write_new(self) -> None:
        """Write the events after the last one written, and flush them: a reader tailing the
        file sees each step of the run as it ends."""
        events = self._log.since(self._seq)
        if not events:
            return
        out = self._out
        for event in events:
            out.write(orjson.dumps(event_view(event)))
            out.write(b"\n")
        out.flush()
        self._seq = events[-1].seq
