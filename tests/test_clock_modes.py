"""The clock's modes: switching between manual and realtime, copies of a realtime clock (the
pickling a world snapshot relies on), and how a realtime clock fires a late batch of timers."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import pytest

from ocx_sim.clock import ClockError, SimClock, WallClock
from ocx_sim.testing.builders import FakeRealTime

APRIL_NOON = int(datetime(2026, 4, 24, 12, tzinfo=UTC).timestamp()) * 1000


# -- switching mode -------------------------------------------------------------------------


def _timers(clock: SimClock | WallClock) -> list[tuple[str, int, int]]:
    return [(t.name, t.due_ms, t.seq) for t in clock.pending_timers()]


def test_a_manual_clock_switched_to_realtime_keeps_its_identity_instant_and_timers() -> None:
    clock = SimClock(APRIL_NOON)
    fired: list[str] = []
    clock.schedule_at(APRIL_NOON + 1_000, lambda _d: fired.append("ordinary"), "ordinary")
    clock.schedule_deferrable(APRIL_NOON + 500, lambda _d: fired.append("agent"), "agent", 0)
    before = _timers(clock)
    real = FakeRealTime()

    switched = clock.to_realtime(2, real)

    assert id(switched) == id(clock)  # the exchange and the gateway hold this object
    assert isinstance(clock, WallClock)
    assert (clock.mode, clock.speed, clock.now_ms) == ("realtime", 2.0, APRIL_NOON)
    assert _timers(clock) == before
    real.now += 0.25  # 500 simulated ms
    assert clock.fire_due() == 1
    real.now += 0.25
    assert clock.fire_due() == 1
    assert fired == ["agent", "ordinary"]


def test_a_realtime_clock_switched_to_manual_fires_what_is_due_then_stops() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=0, speed=4, real_time=real)
    fired: list[int] = []
    for due in (1_000, 3_000, 9_000):
        clock.schedule_at(due, fired.append, f"t{due}")
    real.now += 1.0  # 4 000 simulated ms: two timers are due

    manual = clock.to_manual()

    assert id(manual) == id(clock)
    assert isinstance(clock, SimClock)
    assert not isinstance(clock, WallClock)
    assert (clock.mode, clock.speed, clock.now_ms) == ("manual", 1.0, 4_000)
    assert fired == [1_000, 3_000]
    real.now += 100.0
    assert clock.now_ms == 4_000
    clock.advance_to(9_000)
    assert fired == [1_000, 3_000, 9_000]


def test_switching_to_realtime_runs_on_from_the_current_instant_not_the_start() -> None:
    real = FakeRealTime()
    clock = SimClock(0)
    clock.advance_to(60_000)
    clock.to_realtime(1, real)
    real.now += 1.5
    assert clock.now_ms == 61_500


def test_a_realtime_clock_switched_to_realtime_again_keeps_its_elapsed_time_and_source() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=0, speed=1, real_time=real)
    real.now += 2.0
    clock.to_realtime(10)
    assert (clock.now_ms, clock.speed) == (2_000, 10.0)
    real.now += 1.0
    assert clock.now_ms == 12_000


@pytest.mark.parametrize("speed", [0, -2, math.nan])
def test_switching_to_realtime_at_a_speed_that_is_not_positive_is_refused_and_changes_nothing(
    speed: float,
) -> None:
    clock = SimClock(5_000)
    with pytest.raises(ClockError):
        clock.to_realtime(speed, FakeRealTime())
    assert isinstance(clock, SimClock)
    assert clock.mode == "manual"


def test_a_clock_cannot_switch_mode_while_its_timers_fire() -> None:
    clock = SimClock(0)
    refusals: list[str] = []

    def switch(_due: int) -> None:
        for attempt in (clock.to_manual, partial(clock.to_realtime, 1, FakeRealTime())):
            try:
                attempt()
            except ClockError as refusal:
                refusals.append(str(refusal))

    clock.schedule_at(10, switch)
    clock.advance_to(10)
    assert len(refusals) == 2
    assert isinstance(clock, SimClock)


def test_a_copied_realtime_clock_keeps_its_instant_and_speed_but_not_its_source() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=0, speed=3, real_time=real)
    fired: list[int] = []
    clock.schedule_at(9_000, fired.append, "later")
    real.now += 1.0

    copied = pickle.loads(pickle.dumps(clock))
    real.now += 1.0  # the copy does not read this source (the process's monotonic clock)...
    assert 3_000 <= copied.now_ms < 3_100
    assert (copied.speed, _timers(copied)) == (3.0, [("later", 9_000, 0)])

    copied.resume(real)  # ...until it is given it, and runs on from its own instant
    real.now += 1.0
    assert 6_000 <= copied.now_ms < 6_100
    assert clock.now_ms == 9_000


def test_a_realtime_clock_fires_a_late_batch_each_timer_at_its_own_instant() -> None:
    # As a manual clock advancing to the real now would: a callback that reads the clock (or
    # runs ahead, as the price tick does) sees its own instant, not the real now.
    real = FakeRealTime()
    clock = WallClock(start_ms=0, real_time=real)
    seen: list[tuple[int, int]] = []
    for due in (1_000, 5_000):
        clock.schedule_at(due, lambda due: seen.append((due, clock.now_ms)))
    real.now += 20.0
    assert clock.now_ms == 20_000  # a read between batches does not make the timers late

    clock.fire_due()

    assert seen == [(1_000, 1_000), (5_000, 5_000)]
    assert clock.now_ms == 20_000


def test_a_realtime_callback_may_run_ahead_up_to_the_next_timer() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=0, real_time=real)
    reached: list[int] = []

    def work_through(_due: int) -> None:
        clock.run_ahead_to(clock.horizon_ms())
        reached.append(clock.now_ms)

    clock.schedule_at(1_000, work_through)
    clock.schedule_deferrable(4_000, lambda due: reached.append(due), "agent", order=0)
    clock.schedule_at(3_000, lambda due: reached.append(due))
    real.now += 10.0
    clock.fire_due()
    assert reached == [3_000, 3_000, 4_000]


# -- a request's instant, and an advance in steps --------------------------------------------


def test_a_held_realtime_clock_fires_what_is_due_then_reads_one_instant_until_released() -> None:
    real = FakeRealTime()
    clock = WallClock(APRIL_NOON, speed=60, real_time=real)
    fired: list[int] = []
    clock.schedule_at(APRIL_NOON + 30_000, fired.append, "funding")
    clock.schedule_at(APRIL_NOON + 90_000, fired.append, "later")
    real.now += 1.0  # 60 simulated seconds

    held = clock.hold()
    real.now += 1.0  # the request is still running: its instant does not move
    during = clock.now_ms
    clock.release()

    assert held == during == APRIL_NOON + 60_000
    assert fired == [APRIL_NOON + 30_000]
    assert clock.now_ms == APRIL_NOON + 120_000  # released: real time again
    assert pickle.loads(pickle.dumps(clock))._held is False


def test_an_advance_in_steps_of_a_few_timers_fires_exactly_what_one_advance_fires() -> None:
    def clock_with_timers(log: list[tuple[str, int, int]]) -> SimClock:
        clock = SimClock(APRIL_NOON)

        def tick(due: int) -> None:
            log.append(("tick", due, clock.now_ms))
            if due < APRIL_NOON + 10_000:
                clock.schedule_at(due + 1_000, tick, "tick", first=True)

        clock.schedule_at(APRIL_NOON, tick, "tick", first=True)
        for ms in (0, 2_500, 2_500, 7_000):
            clock.schedule_at(APRIL_NOON + ms, lambda d: log.append(("other", d, d)), "other")
        return clock

    whole: list[tuple[str, int, int]] = []
    clock_with_timers(whole).advance_to(APRIL_NOON + 20_000)
    stepped: list[tuple[str, int, int]] = []
    clock = clock_with_timers(stepped)
    counts = []
    while (fired := clock.advance_to(APRIL_NOON + 20_000, stop=_after(3))) == 3:
        counts.append(fired)
        assert clock.now_ms <= APRIL_NOON + 20_000

    assert stepped == whole
    assert len(counts) >= 4
    assert clock.now_ms == APRIL_NOON + 20_000


def _after(count: int) -> Callable[[], bool]:
    """A run's `stop` that ends it once `count` timers have fired."""
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked >= count

    return stop
