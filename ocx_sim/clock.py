"""Simulated time: the only module that reads the real clock.

Every instant in ocx-sim is an integer count of milliseconds since the unix epoch, taken from a
`Clock`. Two clocks share one timer interface:

- `SimClock` (manual): time moves only when told (`advance_to`, `advance_by`), never backwards.
- `WallClock` (realtime): simulated time runs at `speed` × real time from a start instant; timers
  fire when the owner calls `fire_due()` (worlds.py, before each request and from the app's
  ticker).

Invariant kept here: timers fire in (due, rank, seq) order, where `seq` is the order they were
scheduled in and `rank` puts a timer scheduled `first` (the price tick, engine/reactions/ticker.py)
before every other one due at the same instant. While a timer's callback runs, either clock reads
exactly `due` (or the instant the callback ran ahead to), and the callback is told `due`: a realtime
clock's `fire_due` fires what is due by the real now exactly as a manual clock advancing there
would, however late it is called, and reads the real now again once they have fired. A callback may
schedule further timers; one that falls due at or before the advance target fires in the same
advance, in its place.

A callback may also run ahead (`run_ahead_to`) up to its `horizon_ms`: the advance target, or
the next timer's instant, whichever is earlier. The price tick uses it to work through many
seconds in one call, exactly as if it had fired once a second: nothing else can happen in
between.

After every callback the clock calls `after_timer`, if set: the exchange's reaction loop, so
that what one timer did is answered before the next one fires.

Deferrable timers (`schedule_deferrable`) are for owners that look again every so often and
mostly find nothing to do (the liquidity agents, every 10 s). They fire after every ordinary
timer due at their instant, among themselves by the owner's `order`; they do not bound the
horizon, and a callback running ahead passes one only by `defer`ring it to a later instant,
which it does when it knows the owner would do nothing there but reschedule. Because their
order is the owner's and not the scheduling order, a deferred timer and one that fired and
was scheduled again wait in exactly the same place.

A clock switches mode in place (`to_manual`, `to_realtime`): the exchange, its prices, its ids
and the gateway all hold this one object, so it becomes the other kind rather than being
replaced. Its instant, its timers (deferrable ones too) and their sequence carry over
untouched; a clock switched to realtime runs on from its current instant.

Copying or pickling a realtime clock (a world's snapshot) keeps its instant and its speed but
not its source of real time, which belongs to the process: the copy runs on from the real now
on the monotonic clock until `resume` gives it another source.

`wall_now_ms` is the one reading of the calendar (the wall clock, not the monotonic one): the
first instant of a world that starts "now" (docs/control-api.md "Worlds").
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar, cast

DEFAULT_START_MS = 1_767_312_000_000
"""2026-01-02T00:00:00.000Z, the default first instant of a world."""

TimerCallback = Callable[[int], None]
"""A timer callback receives the instant it was due (unix ms)."""
ClockT = TypeVar("ClockT", bound="Clock")


class ClockError(ValueError):
    """A request the clock refuses: time never runs backwards."""


class Timer:
    """A handle on a scheduled callback; `cancel()` stops it from firing."""

    __slots__ = ("callback", "cancelled", "due_ms", "name", "order", "seq")

    def __init__(
        self, due_ms: int, order: int, seq: int, callback: TimerCallback, name: str
    ) -> None:
        self.due_ms = due_ms
        self.order = order
        """Its rank at its instant (ordinary timers), or its owner's order (deferrable)."""
        self.seq = seq
        self.callback = callback
        self.name = name
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        return f"Timer({self.name!r}, due={format_ms(self.due_ms)}, seq={self.seq})"


class Clock:
    """The shared timer machinery of both clocks. Subclasses decide how `now_ms` moves."""

    mode: str = "manual"

    def __init__(self, start_ms: int = DEFAULT_START_MS) -> None:
        self._now_ms = start_ms
        # Heap entries are (due, rank, seq, timer): tuples of ints compare in C, and `seq` is
        # unique, so the timers themselves are never compared.
        self._timers: list[tuple[int, int, int, Timer]] = []
        self._deferrable: list[tuple[int, int, int, Timer]] = []
        """(due, order, seq, timer): after the ordinary timers due at the same instant."""
        self._next_seq = 0
        self._target_ms: int | None = None
        """While timers run, the instant the clock is moving to."""
        self.after_timer: Callable[[], None] | None = None
        """Called after every timer's callback (the exchange's reaction loop answers what the
        timer did before the next one fires)."""

    @property
    def now_ms(self) -> int:
        return self._now_ms

    @property
    def speed(self) -> float:
        return 1.0

    def schedule_at(
        self, due_ms: int, callback: TimerCallback, name: str = "", first: bool = False
    ) -> Timer:
        """Run `callback(due_ms)` when the clock reaches `due_ms` (at once on the next advance
        or `fire_due` when `due_ms` is already past); `first`: before the other timers due
        at that instant."""
        rank = 0 if first else 1
        timer = Timer(due_ms, rank, self._next_seq, callback, name)
        heapq.heappush(self._timers, (due_ms, rank, self._next_seq, timer))
        self._next_seq += 1
        return timer

    def schedule_deferrable(
        self, due_ms: int, callback: TimerCallback, name: str, order: int
    ) -> Timer:
        """Like `schedule_at`, but it fires after the ordinary timers due at `due_ms`, before
        deferrable ones of a higher `order`, and a callback running ahead may `defer` it
        (module docstring). One owner, one `order`."""
        timer = Timer(due_ms, order, self._next_seq, callback, name)
        heapq.heappush(self._deferrable, (due_ms, order, self._next_seq, timer))
        self._next_seq += 1
        return timer

    def next_deferrable(self) -> Timer | None:
        """The deferrable timer that fires first, if any."""
        queue = self._deferrable
        while queue and queue[0][3].cancelled:
            heapq.heappop(queue)
        return queue[0][3] if queue else None

    def defer(self, timer: Timer, due_ms: int) -> None:
        """From a callback running ahead: move `next_deferrable()` to the later `due_ms`, as
        if it had fired and its owner had scheduled it again."""
        if timer is not self.next_deferrable() or due_ms <= timer.due_ms:
            raise ClockError(f"cannot defer {timer!r} to {format_ms(due_ms)}")
        timer.due_ms = due_ms
        heapq.heapreplace(self._deferrable, (due_ms, timer.order, timer.seq, timer))

    def schedule_in(self, delay_ms: int, callback: TimerCallback, name: str = "") -> Timer:
        if delay_ms < 0:
            raise ClockError(f"a timer delay cannot be negative (got {delay_ms} ms)")
        return self.schedule_at(self.now_ms + delay_ms, callback, name)

    def next_due_ms(self) -> int | None:
        """The instant of the earliest live timer, or None when nothing is scheduled."""
        queue = self._next_queue()
        return queue[0][0] if queue is not None else None

    def due_by(self, ms: int) -> bool:
        """Whether a live timer is due at or before `ms` (a run stopped early left it)."""
        due = self.next_due_ms()
        return due is not None and due <= ms

    def pending_timers(self) -> list[Timer]:
        """Live timers in firing order (a copy, for inspection)."""
        # At one instant the ordinary timers (ranks 0 and 1) fire before the deferrable ones.
        keyed = [((d, 0, r, s), t) for d, r, s, t in self._timers]
        keyed += [((d, 1, o, s), t) for d, o, s, t in self._deferrable]
        return [timer for _, timer in sorted(keyed, key=lambda k: k[0]) if not timer.cancelled]

    def horizon_ms(self) -> int:
        """How far a running timer's callback may `run_ahead_to`: the advance target or the
        next ordinary timer's instant, whichever is earlier (now, outside a run)."""
        target = self._target_ms
        if target is None:
            return self._now_ms
        self._drop_cancelled_head()
        due = self._timers[0][0] if self._timers else None
        return target if due is None or due > target else due

    def run_ahead_to(self, ms: int) -> None:
        """From a timer's callback: move now to `ms` (within `horizon_ms`, and not past a
        deferrable timer it has not deferred), as if a timer due then were firing."""
        deferrable = self.next_deferrable()
        if not self._now_ms <= ms <= self.horizon_ms() or (
            deferrable is not None and deferrable.due_ms < ms
        ):
            raise ClockError(f"cannot run ahead to {format_ms(ms)}: beyond the horizon")
        self._now_ms = ms

    def to_manual(self) -> SimClock:
        """From now on time moves only when told. A realtime clock first fires every timer
        due by the real now, then stops at that instant; a manual one stays as it is."""
        self._refuse_switch_while_running()
        if isinstance(self, WallClock):
            self._run_until(self.now_ms)
            for name in _REALTIME_STATE:
                delattr(self, name)
        return self._become(SimClock)

    def to_realtime(self, speed: float, real_time: RealTimeSource | None = None) -> WallClock:
        """From now on time runs at `speed` × real time from the current instant, read from
        `real_time` (a realtime clock keeps its own source when None; otherwise the
        monotonic clock). Refused (`ClockError`) unless the speed is positive."""
        if not speed > 0:
            raise ClockError(f"speed must be positive (got {speed})")
        self._refuse_switch_while_running()
        start = self._now_ms
        if isinstance(self, WallClock):
            start = self.now_ms  # the real now, before the speed changes
            real_time = real_time or self._real_time
        clock = self._become(WallClock)
        clock._run_at(speed, real_time, start)
        return clock

    def hold(self) -> int:
        """Fire what is due and read the same instant until `release`: a request's instant
        (a manual clock's reads only move when told anyway). Answers that instant."""
        return self.now_ms

    def release(self) -> None:
        """End a `hold`."""

    def _refuse_switch_while_running(self) -> None:
        if self._target_ms is not None:
            raise ClockError("a clock cannot switch mode while its timers are firing")

    def _become(self, kind: type[ClockT]) -> ClockT:
        # Every part of a world holds this one object, so a switch changes its class in place.
        # Both kinds share one layout (no __slots__), which makes `__class__` assignable; the
        # attributes of the kind it leaves are removed or set by the caller.
        self.__class__ = kind
        return cast(ClockT, self)

    def _drop_cancelled_head(self) -> None:
        timers = self._timers
        while timers and timers[0][3].cancelled:
            heapq.heappop(timers)

    def _next_queue(self) -> list[tuple[int, int, int, Timer]] | None:
        """The queue whose head fires next (ordinary before deferrable at one instant), or
        None when both are empty."""
        self._drop_cancelled_head()
        ordinary = self._timers
        deferrable = self._deferrable if self.next_deferrable() is not None else None
        if deferrable is None or (ordinary and ordinary[0][0] <= deferrable[0][0]):
            return ordinary or None
        return deferrable

    def _run_until(self, target_ms: int, stop: Callable[[], bool] | None = None) -> int:
        """Fire every timer due at or before `target_ms`, moving `_now_ms` to each one's instant
        while it runs, then leave the clock at `target_ms`. Returns how many fired. With
        `stop`, no more once it answers True (asked after each timer, so at least one fires):
        when more are due the clock stays at the instant of the last one fired, and the next
        run fires the rest exactly as one run would have (a callback's horizon is the target
        either way)."""
        fired = 0
        finished = True
        outer_target, self._target_ms = self._target_ms, target_ms
        try:
            while True:
                queue = self._next_queue()
                if queue is None or queue[0][0] > target_ms:
                    break
                if stop is not None and fired and stop():
                    finished = False
                    break
                due, _, _, timer = heapq.heappop(queue)
                # A timer scheduled in the past (due before now) fires "now": time never goes
                # back.
                if due > self._now_ms:
                    self._now_ms = due
                timer.callback(due)
                if self.after_timer is not None:
                    self.after_timer()
                fired += 1
        finally:
            self._target_ms = outer_target
        if finished:
            self._now_ms = max(self._now_ms, target_ms)
        return fired


class SimClock(Clock):
    """A manual clock: time moves only when told, and never backwards."""

    mode = "manual"

    def advance_to(self, target_ms: int, stop: Callable[[], bool] | None = None) -> int:
        """Move to `target_ms`, firing due timers in (due, seq) order. Returns how many fired.
        With `stop`, none after it answers True (`_run_until`): then `due_by(target_ms)` tells
        whether timers are left."""
        if target_ms < self._now_ms:
            raise ClockError(
                f"the clock cannot go backwards: now is {format_ms(self._now_ms)}, "
                f"asked for {format_ms(target_ms)}"
            )
        return self._run_until(target_ms, stop)

    def advance_by(self, delta_ms: int) -> int:
        if delta_ms < 0:
            raise ClockError(f"the clock cannot go backwards (asked to advance {delta_ms} ms)")
        return self.advance_to(self._now_ms + delta_ms)

    def fire_due(self) -> int:
        """Fire timers already due at the current instant (e.g. scheduled for "now")."""
        return self._run_until(self._now_ms)


RealTimeSource = Callable[[], float]
"""Real seconds from any fixed origin; `time.monotonic` unless a test injects its own (a
`WallClock`'s `real_time`, passed down from `Worlds`)."""


def real_seconds() -> float:
    """The default `RealTimeSource` (for real-time waits outside a clock: a stream's stall)."""
    return time.monotonic()


class WallClock(Clock):
    """Realtime: simulated time = start + (real elapsed × speed). Timers fire on `fire_due()`.

    Real time is read from a monotonic clock (immune to NTP steps, and small enough in
    magnitude that float seconds keep sub-millisecond precision); `now_ms` is also clamped to
    never decrease, whatever the source does. What it reads (`_read_ms`) runs ahead of the
    instant its timers have reached (`_now_ms`) until `fire_due` catches them up.

    While held (`hold`, for one request: docs/control-api.md "Clock"), it fires what is due
    and then reads that one instant until `release`: whatever the request stamps comes after
    every timer due by then, and no timer due later has been skipped, so the event log's
    timestamps never go backwards and a trade never lands before a funding due earlier.
    """

    mode = "realtime"

    def __init__(
        self,
        start_ms: int = DEFAULT_START_MS,
        speed: float = 1.0,
        real_time: RealTimeSource | None = None,
    ) -> None:
        super().__init__(start_ms)
        self._run_at(speed, real_time, start_ms)

    def _run_at(self, speed: float, real_time: RealTimeSource | None, from_ms: int) -> None:
        """Run from `from_ms` at `speed` from the real now of `real_time` (the monotonic
        clock when None)."""
        if not speed > 0:
            raise ClockError(f"speed must be positive (got {speed})")
        self._speed = float(speed)
        self._real_time = real_time or time.monotonic
        self._real_origin = self._real_time()
        self._sim_origin = self._read_ms = from_ms
        self._held = False

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def now_ms(self) -> int:
        if self._target_ms is not None or self._held:
            # Timers are firing: each reads its own instant, as on a manual clock, so that a
            # callback running ahead stays within its horizon (module docstring). Held: the
            # instant its timers were fired to (`hold`).
            return self._now_ms
        elapsed = (self._real_time() - self._real_origin) * self._speed
        sim = self._sim_origin + int(elapsed * 1000)
        if sim > self._read_ms:
            self._read_ms = sim
        return self._read_ms

    def set_speed(self, speed: float) -> None:
        """Change the speed from this instant on; time already elapsed is kept."""
        if not speed > 0:
            raise ClockError(f"speed must be positive (got {speed})")
        self._sim_origin = self.now_ms
        self._real_origin = self._real_time()
        self._speed = float(speed)

    def resume(self, real_time: RealTimeSource | None = None) -> None:
        """Run on from the instant this clock last read, at its speed, from the real now of
        `real_time` (the monotonic clock when None): how a restored snapshot's clock picks up
        its world's source of real time without jumping over the time it spent stored."""
        self._run_at(self._speed, real_time, self._read_ms)

    def hold(self) -> int:
        self.fire_due()
        self._held = True
        return self._now_ms

    def release(self) -> None:
        self._held = False

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_read_ms"] = self.now_ms
        state["_held"] = False
        for name in _REALTIME_SOURCE:
            del state[name]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.resume()

    def real_now(self) -> float:
        """Real seconds from its source's origin (what a stream's interval is measured in)."""
        return self._real_time()

    def fire_due(self) -> int:
        """Fire every timer due by the current realtime instant, each at its own instant."""
        return self._run_until(self.now_ms)

    def seconds_until_next_timer(self) -> float | None:
        """Real seconds to wait before the next timer is due (0 when one is due already)."""
        due = self.next_due_ms()
        if due is None:
            return None
        return max(0.0, (due - self.now_ms) / 1000 / self._speed)


WallTimeSource = Callable[[], float]
"""The wall clock: seconds since the unix epoch, as `time.time` reads them."""


def wall_now_ms(wall_time: WallTimeSource | None = None) -> int:
    """The wall clock's now in whole seconds, as unix ms (`wall_time`, or the system's): the
    first instant of a world that starts "now" (docs/control-api.md "Worlds"). Whole seconds
    because that is how a wallet's SIWE message writes its `Issued At`."""
    return math.floor((wall_time or time.time)()) * 1000


_REALTIME_SOURCE = ("_real_time", "_real_origin", "_sim_origin")
"""Where a realtime clock reads real time from: the process's, never copied."""
_REALTIME_STATE = ("_speed", "_read_ms", "_held", *_REALTIME_SOURCE)


@lru_cache(maxsize=4096)
def format_ms(ms: int) -> str:
    """ISO-8601 UTC with milliseconds: `2026-04-24T12:00:00.000Z` (docs/fidelity.md "Wire
    conventions"). Every order answer formats the same few instants, so recent ones are
    remembered."""
    seconds, millis = divmod(ms, 1000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"


def parse_iso(text: str) -> int:
    """Parse an ISO-8601 instant (with `Z` or an offset; naive means UTC) into unix ms."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
