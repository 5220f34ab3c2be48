"""Simulated time: the manual clock, the realtime clock, timers and ISO instants (switching
mode and copying a clock: tests/test_clock_modes.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocx_sim.clock import (
    DEFAULT_START_MS,
    ClockError,
    SimClock,
    WallClock,
    format_ms,
    parse_iso,
    wall_now_ms,
)
from ocx_sim.testing.builders import FakeRealTime


def _ms(moment: datetime) -> int:
    """Unix ms of an aware datetime, computed independently of the module under test."""
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


START_2026 = _ms(datetime(2026, 1, 2, tzinfo=UTC))
APRIL_NOON = _ms(datetime(2026, 4, 24, 12, tzinfo=UTC))


# -- SimClock: moving time ----------------------------------------------------------------


def test_sim_clock_starts_at_2026_01_02_midnight_utc_by_default() -> None:
    assert DEFAULT_START_MS == START_2026
    assert SimClock().now_ms == START_2026


def test_sim_clock_starts_at_the_given_instant() -> None:
    assert SimClock(APRIL_NOON).now_ms == APRIL_NOON


@pytest.mark.parametrize(
    ("seconds", "ms"),
    [(1_796_626_260.0, 1_796_626_260_000), (1_796_626_260.999, 1_796_626_260_000)],
)
def test_the_wall_clocks_now_is_read_in_whole_seconds(seconds: float, ms: int) -> None:
    assert wall_now_ms(FakeRealTime(seconds)) == ms


def test_the_wall_clock_is_the_calendar_not_the_monotonic_clock() -> None:
    now = wall_now_ms()
    # A monotonic clock counts from boot; the calendar is past the day this was written.
    assert now > START_2026
    assert now % 1000 == 0


def test_advance_to_and_advance_by_move_the_clock() -> None:
    clock = SimClock(1_000)
    clock.advance_to(5_000)
    assert clock.now_ms == 5_000
    clock.advance_by(250)
    assert clock.now_ms == 5_250
    clock.advance_to(5_250)
    clock.advance_by(0)
    assert clock.now_ms == 5_250


@pytest.mark.parametrize("move", ["advance_to_earlier", "advance_by_negative"])
def test_going_backwards_raises_clock_error_and_changes_nothing(move: str) -> None:
    clock = SimClock(10_000)
    fired: list[int] = []
    clock.schedule_at(9_000, fired.append)
    clock.schedule_at(10_000, fired.append)
    with pytest.raises(ClockError):
        if move == "advance_to_earlier":
            clock.advance_to(9_999)
        else:
            clock.advance_by(-1)
    assert clock.now_ms == 10_000
    assert fired == []
    assert [t.due_ms for t in clock.pending_timers()] == [9_000, 10_000]


def test_clock_error_is_a_value_error() -> None:
    assert issubclass(ClockError, ValueError)


def test_schedule_in_refuses_a_negative_delay() -> None:
    clock = SimClock(10_000)
    with pytest.raises(ClockError):
        clock.schedule_in(-1, lambda _due: None)
    assert clock.next_due_ms() is None


# -- SimClock: timers ---------------------------------------------------------------------


def test_timers_fire_in_due_order_and_same_due_in_scheduling_order() -> None:
    clock = SimClock(0)
    fired: list[str] = []
    schedule = [("c1", 300), ("a1", 100), ("b1", 200), ("a2", 100), ("c2", 300), ("a3", 100)]
    for name, due in schedule:

        def fire(_due: int, name: str = name) -> None:
            fired.append(name)

        clock.schedule_at(due, fire, name)
    assert clock.advance_to(1_000) == 6
    assert fired == ["a1", "a2", "a3", "b1", "c1", "c2"]


def test_advance_fires_only_timers_due_by_the_target() -> None:
    clock = SimClock(0)
    fired: list[int] = []
    for due in (100, 200, 201):
        clock.schedule_at(due, fired.append)
    assert clock.advance_to(200) == 2
    assert fired == [100, 200]
    assert clock.now_ms == 200
    assert clock.advance_by(1) == 1
    assert fired == [100, 200, 201]


def test_a_run_stops_once_told_and_the_next_run_fires_the_rest_in_their_place() -> None:
    clock = SimClock(0)
    fired: list[int] = []
    for due in (100, 100, 200, 300):
        clock.schedule_at(due, fired.append)

    # Asked after each timer: the first always fires, then the run stops where it is told.
    assert clock.advance_to(1_000, stop=lambda: True) == 1
    assert (fired, clock.now_ms, clock.due_by(1_000)) == ([100], 100, True)
    assert clock.advance_to(1_000, stop=lambda: len(fired) >= 3) == 2
    assert (fired, clock.now_ms, clock.due_by(1_000)) == ([100, 100, 200], 200, True)
    assert clock.advance_to(1_000, stop=lambda: False) == 1
    assert (fired, clock.now_ms, clock.due_by(1_000)) == ([100, 100, 200, 300], 1_000, False)


def test_clock_reads_exactly_the_timers_due_instant_inside_its_callback() -> None:
    clock = SimClock(0)
    seen: list[tuple[int, int]] = []
    for due in (1_500, 250, 999):
        clock.schedule_at(due, lambda due_ms: seen.append((due_ms, clock.now_ms)))
    clock.advance_to(10_000)
    assert seen == [(250, 250), (999, 999), (1_500, 1_500)]
    assert clock.now_ms == 10_000


def test_timer_scheduled_by_a_firing_timer_fires_in_its_place_within_the_same_advance() -> None:
    clock = SimClock(0)
    fired: list[tuple[str, int]] = []

    def first(due_ms: int) -> None:
        fired.append(("first", clock.now_ms))
        clock.schedule_at(150, lambda _d: fired.append(("child", clock.now_ms)))
        clock.schedule_in(400, lambda _d: fired.append(("child-at-target", clock.now_ms)))

    clock.schedule_at(100, first)
    clock.schedule_at(200, lambda _d: fired.append(("second", clock.now_ms)))
    assert clock.advance_to(500) == 4
    assert fired == [
        ("first", 100),
        ("child", 150),
        ("second", 200),
        ("child-at-target", 500),
    ]


def test_timer_scheduled_by_a_firing_timer_after_the_target_waits_for_a_later_advance() -> None:
    clock = SimClock(0)
    fired: list[str] = []

    def parent(_due: int) -> None:
        fired.append("parent")
        clock.schedule_at(501, lambda _d: fired.append("child"))

    clock.schedule_at(100, parent)
    assert clock.advance_to(500) == 1
    assert fired == ["parent"]
    assert clock.now_ms == 500
    assert clock.next_due_ms() == 501
    assert clock.advance_to(501) == 1
    assert fired == ["parent", "child"]


def test_cancelled_timer_never_fires() -> None:
    clock = SimClock(0)
    fired: list[str] = []
    doomed = clock.schedule_at(100, lambda _d: fired.append("doomed"))
    clock.schedule_at(200, lambda _d: fired.append("kept"))
    doomed.cancel()
    assert clock.advance_to(1_000) == 1
    assert fired == ["kept"]


def test_timer_cancelled_by_an_earlier_timer_in_the_same_advance_never_fires() -> None:
    clock = SimClock(0)
    fired: list[str] = []
    later = clock.schedule_at(300, lambda _d: fired.append("later"))

    def canceller(_d: int) -> None:
        fired.append("canceller")
        later.cancel()

    clock.schedule_at(100, canceller)
    clock.schedule_at(300, lambda _d: fired.append("sibling"))
    assert clock.advance_to(1_000) == 2
    assert fired == ["canceller", "sibling"]


def test_next_due_ms_is_the_earliest_live_timer_or_none() -> None:
    clock = SimClock(0)
    assert clock.next_due_ms() is None
    early = clock.schedule_at(100, lambda _d: None)
    clock.schedule_at(300, lambda _d: None)
    clock.schedule_at(200, lambda _d: None)
    assert clock.next_due_ms() == 100
    early.cancel()
    assert clock.next_due_ms() == 200
    assert [t.due_ms for t in clock.pending_timers()] == [200, 300]
    clock.advance_to(300)
    assert clock.next_due_ms() is None
    assert clock.pending_timers() == []


def test_fire_due_fires_timers_due_now_and_leaves_later_ones() -> None:
    clock = SimClock(5_000)
    fired: list[str] = []
    clock.schedule_in(0, lambda _d: fired.append("in-0"))
    clock.schedule_at(5_000, lambda _d: fired.append("at-now"))
    clock.schedule_at(5_001, lambda _d: fired.append("later"))
    assert clock.fire_due() == 2
    assert fired == ["in-0", "at-now"]
    assert clock.now_ms == 5_000
    assert clock.next_due_ms() == 5_001


def test_timer_scheduled_in_the_past_fires_now_without_moving_time_back() -> None:
    clock = SimClock(5_000)
    seen: list[tuple[int, int]] = []
    clock.schedule_at(4_000, lambda due: seen.append((due, clock.now_ms)))
    assert clock.fire_due() == 1
    assert seen == [(4_000, 5_000)]
    assert clock.now_ms == 5_000


# -- WallClock ------------------------------------------------------------------------------


def test_wall_clock_starts_at_the_default_instant() -> None:
    assert WallClock(real_time=FakeRealTime()).now_ms == DEFAULT_START_MS


def test_wall_clock_now_is_start_plus_real_elapsed_times_speed() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=APRIL_NOON, real_time=real)
    assert clock.now_ms == APRIL_NOON
    real.now += 2.5
    assert clock.now_ms == APRIL_NOON + 2_500

    fast_real = FakeRealTime()
    fast = WallClock(start_ms=APRIL_NOON, speed=10, real_time=fast_real)
    fast_real.now += 0.5
    assert fast.now_ms == APRIL_NOON + 5_000
    assert fast.speed == 10.0


def test_wall_clock_never_decreases_when_the_real_clock_steps_back() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=0, real_time=real)
    real.now += 10.0
    assert clock.now_ms == 10_000
    real.now -= 4.0
    assert clock.now_ms == 10_000
    real.now += 2.0
    assert clock.now_ms == 10_000
    real.now += 3.0
    assert clock.now_ms == 11_000


def test_set_speed_keeps_elapsed_time_and_applies_from_now_on() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=0, real_time=real)
    real.now += 2.0
    clock.set_speed(4)
    assert clock.now_ms == 2_000
    assert clock.speed == 4.0
    real.now += 1.0
    assert clock.now_ms == 6_000
    clock.set_speed(0.5)
    real.now += 2.0
    assert clock.now_ms == 7_000


def test_wall_clock_fire_due_fires_what_is_due_by_the_real_instant() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=0, speed=2, real_time=real)
    fired: list[int] = []
    for due in (1_000, 4_000, 3_000):
        clock.schedule_at(due, fired.append)
    assert clock.fire_due() == 0
    real.now += 1.5  # 3 000 ms of simulated time
    assert clock.fire_due() == 2
    assert fired == [1_000, 3_000]
    assert clock.next_due_ms() == 4_000
    real.now += 0.5
    assert clock.fire_due() == 1
    assert fired == [1_000, 3_000, 4_000]


def test_seconds_until_next_timer_is_real_seconds_at_the_current_speed() -> None:
    real = FakeRealTime()
    clock = WallClock(start_ms=0, speed=2, real_time=real)
    assert clock.seconds_until_next_timer() is None
    clock.schedule_at(4_000, lambda _d: None)
    assert clock.seconds_until_next_timer() == pytest.approx(2.0)
    real.now += 1.5
    assert clock.seconds_until_next_timer() == pytest.approx(0.5)
    real.now += 1.0
    assert clock.seconds_until_next_timer() == 0.0


@pytest.mark.parametrize("speed", [0, -1, -0.5, math.nan])
def test_wall_clock_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ClockError):
        WallClock(speed=speed, real_time=FakeRealTime())
    real = FakeRealTime()
    clock = WallClock(start_ms=0, speed=3, real_time=real)
    with pytest.raises(ClockError):
        clock.set_speed(speed)
    assert clock.speed == 3.0
    real.now += 1.0
    assert clock.now_ms == 3_000


# -- ISO instants ---------------------------------------------------------------------------


def test_format_ms_renders_iso_utc_with_milliseconds() -> None:
    assert format_ms(DEFAULT_START_MS) == "2026-01-02T00:00:00.000Z"
    assert format_ms(APRIL_NOON) == "2026-04-24T12:00:00.000Z"
    assert format_ms(APRIL_NOON + 7) == "2026-04-24T12:00:00.007Z"
    assert format_ms(APRIL_NOON + 61_123) == "2026-04-24T12:01:01.123Z"
    assert format_ms(0) == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "text",
    [
        "2026-04-24T12:00:00.000Z",
        "2026-04-24T12:00:00Z",
        "2026-04-24T12:00:00.000z",
        "2026-04-24T12:00:00+00:00",
        "2026-04-24T14:00:00.000+02:00",
        "2026-04-24T07:00:00-05:00",
        "2026-04-24T12:00:00",
        "2026-04-24T12:00:00.000",
    ],
)
def test_parse_iso_accepts_z_offsets_and_naive_utc(text: str) -> None:
    assert parse_iso(text) == APRIL_NOON


def test_parse_iso_keeps_milliseconds_and_drops_finer_digits() -> None:
    assert parse_iso("2026-04-24T12:00:00.123Z") == APRIL_NOON + 123
    assert parse_iso("2026-04-24T12:00:00.123999Z") == APRIL_NOON + 123


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z", "1767312000000"])
def test_parse_iso_rejects_what_is_not_an_instant(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso(text)


@given(st.integers(min_value=0, max_value=_ms(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))))
def test_format_ms_and_parse_iso_round_trip(ms: int) -> None:
    text = format_ms(ms)
    assert parse_iso(text) == ms
    assert format_ms(parse_iso(text)) == text


@given(
    st.integers(min_value=0, max_value=_ms(datetime(9000, 1, 1, tzinfo=UTC))),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_parse_iso_reads_an_offset_rendering_as_the_same_instant(ms: int, minutes: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    local = datetime.fromtimestamp(ms // 1000, tz=zone).replace(microsecond=(ms % 1000) * 1000)
    assert parse_iso(local.isoformat(timespec="milliseconds")) == ms


def test_a_timer_scheduled_first_fires_before_the_others_due_at_the_same_instant() -> None:
    clock = SimClock(0)
    fired: list[str] = []
    clock.schedule_at(100, lambda _d: fired.append("early bird"))
    clock.schedule_at(100, lambda _d: fired.append("first"), first=True)
    clock.schedule_at(99, lambda _d: fired.append("earlier"))
    clock.advance_to(100)
    assert fired == ["earlier", "first", "early bird"]


def test_a_callback_may_run_ahead_to_the_next_timer_or_the_target_but_not_beyond() -> None:
    clock = SimClock(0)
    seen: list[tuple[int, int]] = []

    def batch(_due: int) -> None:
        seen.append((clock.now_ms, clock.horizon_ms()))
        clock.run_ahead_to(clock.horizon_ms())
        with pytest.raises(ClockError):
            clock.run_ahead_to(clock.horizon_ms() + 1)

    clock.schedule_at(100, batch)
    clock.schedule_at(700, lambda _d: seen.append((clock.now_ms, -1)))
    clock.schedule_at(900, batch)
    clock.advance_to(1_000)
    # The first batch may go as far as the 700 ms timer; the second, to the target.
    assert seen == [(100, 700), (700, -1), (900, 1_000)]
    assert clock.now_ms == 1_000
    # Outside an advance there is no horizon beyond now.
    assert clock.horizon_ms() == 1_000


# -- deferrable timers ----------------------------------------------------------------------


def test_deferrable_timers_fire_after_the_ordinary_ones_at_their_instant_in_owner_order() -> None:
    clock = SimClock(0)
    fired: list[str] = []
    clock.schedule_deferrable(100, lambda _d: fired.append("owner 2"), "two", order=2)
    clock.schedule_deferrable(100, lambda _d: fired.append("owner 1"), "one", order=1)
    clock.schedule_at(100, lambda _d: fired.append("ordinary"))
    clock.schedule_deferrable(50, lambda _d: fired.append("owner 3, earlier"), "three", order=3)
    assert [t.name for t in clock.pending_timers()] == ["three", "", "one", "two"]
    assert clock.next_due_ms() == 50
    clock.advance_to(100)
    assert fired == ["owner 3, earlier", "ordinary", "owner 1", "owner 2"]


def test_a_deferrable_timer_does_not_bound_the_horizon_but_must_be_deferred_to_pass() -> None:
    clock = SimClock(0)
    fired: list[int] = []
    refresh = clock.schedule_deferrable(300, fired.append, "refresh", order=0)
    seen: list[int] = []

    def batch(_due: int) -> None:
        seen.append(clock.horizon_ms())
        with pytest.raises(ClockError):
            clock.run_ahead_to(301)  # past the refresh it has not deferred
        clock.run_ahead_to(300)  # up to it is fine
        head = clock.next_deferrable()
        assert head is refresh
        clock.defer(head, 800)
        clock.run_ahead_to(700)

    clock.schedule_at(100, batch)
    clock.schedule_at(700, lambda _d: None)
    clock.advance_to(1_000)
    assert seen == [700]  # the ordinary timer at 700 bounds it; the refresh at 300 does not
    assert fired == [800]  # deferred, not lost: it fired at its new instant
    assert refresh.due_ms == 800


def test_a_deferred_timer_waits_where_one_that_fired_and_was_scheduled_again_would() -> None:
    def run(defer: bool) -> list[str]:
        clock = SimClock(0)
        fired: list[str] = []

        def agent(name: str, order: int, due: int) -> None:
            fired.append(f"{name}@{due}")
            clock.schedule_deferrable(due + 100, partial(agent, name, order), name, order)

        clock.schedule_deferrable(100, partial(agent, "a", 0), "a", 0)
        clock.schedule_deferrable(100, partial(agent, "b", 1), "b", 1)
        if defer:
            # Something running ahead passes both at 100 (as if they fired and did nothing).
            def pass_them(_due: int) -> None:
                for _ in range(2):
                    head = clock.next_deferrable()
                    assert head is not None
                    clock.defer(head, head.due_ms + 100)
                    fired.append(f"{head.name}@100")

            clock.schedule_at(50, pass_them)
        clock.schedule_at(200, lambda _d: fired.append("ordinary@200"))
        clock.advance_to(200)
        return fired

    assert (
        run(defer=False) == run(defer=True) == ["a@100", "b@100", "ordinary@200", "a@200", "b@200"]
    )


def test_only_the_next_deferrable_timer_can_be_deferred_and_only_later() -> None:
    clock = SimClock(0)
    first = clock.schedule_deferrable(100, lambda _d: None, "first", order=0)
    second = clock.schedule_deferrable(200, lambda _d: None, "second", order=1)
    with pytest.raises(ClockError):
        clock.defer(second, 300)
    with pytest.raises(ClockError):
        clock.defer(first, 100)
    first.cancel()
    assert clock.next_deferrable() is second
    assert clock.next_due_ms() == 200
