"""The world observer behind `ocx-sim serve --log-events`: prints event_lines.py's line for
each notable event and fault hit, as the world changes.

A world tells its observers after every request's answer and every realtime tick
(`World.changed`); the printer then reads the event log and the fault hits from the last seq it
printed. A reset or a restore swaps the world's log for another: the printer starts afresh at
that log's end (its history is not news), and prints what happens from there.
"""

from __future__ import annotations

from typing import TextIO

from ocx_sim.engine.core.events import EventLog
from ocx_sim.outputs.event_lines import fault_line, line
from ocx_sim.worlds import World
from ocx_sim.worlds.faults import Faults


class EventPrinter:
    def __init__(self, world: World, out: TextIO) -> None:
        self._world = world
        self._out = out
        self._log: EventLog = world.exchange.events
        self._faults: Faults = world.faults
        # What is already there when it starts (a scenario's setup) is not news either.
        self._seq = self._log.last_seq
        self._hit_seq = self._faults.hit_count

    @classmethod
    def attach(cls, world: World, out: TextIO) -> EventPrinter:
        printer = cls(world, out)
        world.observers.append(printer)
        return printer

    def changed(self) -> None:
        world = self._world
        log, faults = world.exchange.events, world.faults
        if log is not self._log or faults is not self._faults:
            self._log, self._faults = log, faults
            self._seq, self._hit_seq = log.last_seq, faults.hit_count
        # A fault hits a request as it arrives, before its handler makes any event: at one
        # instant the hits come first (the sort is stable, so each kind keeps its order).
        timed = [(hit.time_ms, 0, fault_line(hit)) for hit in faults.hits_since(self._hit_seq)]
        for event in log.since(self._seq):
            text = line(event)
            if text is not None:
                timed.append((event.ts, 1, text))
        self._seq, self._hit_seq = log.last_seq, faults.hit_count
        timed.sort(key=lambda item: item[:2])
        lines = [text for _, _, text in timed]
        if lines:
            # Flushed at once: a server's stdout is often a pipe or a log, read while it runs.
            self._out.write("\n".join(lines) + "\n")
            self._out.flush()

    def end(self, code: str, message: str, retryable: bool) -> None:
        """The world was reset or deleted: `changed` notices the new log itself."""
