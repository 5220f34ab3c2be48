"""The one duration grammar: what scenario files and `ocx.clock.advance` accept and refuse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocx_sim.scenarios.durations import MAX_LENGTH, DurationError, parse_duration
from ocx_sim.scenarios.model import At
from ocx_sim.testing import parse_duration as advance_duration
from tests.scenarios.conftest import problems, scenario

SECOND, MINUTE, HOUR, DAY, WEEK = 1_000, 60_000, 3_600_000, 86_400_000, 604_800_000
FORMS = "is not a duration such as 90s, 5m, 1h30m or 250ms"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("250ms", 250),
        ("90s", 90 * SECOND),
        ("5m", 5 * MINUTE),
        ("2h", 2 * HOUR),
        ("2d", 2 * DAY),
        ("1w", WEEK),
        ("1h30m", HOUR + 30 * MINUTE),
        ("1h 30m", HOUR + 30 * MINUTE),
        ("1w  2d", WEEK + 2 * DAY),
        ("1d2h3m4s5ms", DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND + 5),
        ("1m5ms", MINUTE + 5),
        ("1.5s", 1_500),
        ("0.001s", 1),
        ("2.5h", 2 * HOUR + 30 * MINUTE),
        ("0.25d 1.5s", 6 * HOUR + 1_500),
        ("007m", 7 * MINUTE),
        ("0s", 0),
        ("0ms", 0),
    ],
)
def test_a_duration_is_numbers_with_units_largest_first_read_as_whole_milliseconds(
    text: str, ms: int
) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "5",
        "m5",
        "5M",
        "5 m",
        "5 minutes",
        "-5m",
        "+5m",
        "1e3s",
        ".5s",
        "5.s",
        "1,5s",
        "30m1h",
        "5ms1s",
        "5m5m",
        "1h30",
        " 5m",
        "5m ",
        "1h\t30m",
        "5\uff4d",  # a fullwidth m
        "\uff15m",  # a fullwidth 5
        "5y",
    ],
)
def test_a_text_that_breaks_the_grammar_is_refused_quoting_it_and_showing_the_forms(
    text: str,
) -> None:
    with pytest.raises(DurationError) as refused:
        parse_duration(text)

    assert str(refused.value) == f"{text!r} {FORMS}"
    assert refused.value.malformed


@pytest.mark.parametrize("text", ["1.5ms", "0.0001s", "1.0000001m"])
def test_a_fraction_of_a_millisecond_is_refused_as_not_whole(text: str) -> None:
    with pytest.raises(DurationError) as refused:
        parse_duration(text)

    assert str(refused.value) == f"{text!r} is not a whole number of milliseconds"
    assert not refused.value.malformed


def test_a_long_duration_is_read_exactly_and_a_longer_text_is_refused_unread() -> None:
    longest = "9" * (MAX_LENGTH - 2) + "ms"

    assert parse_duration(longest) == 10 ** (MAX_LENGTH - 2) - 1
    assert parse_duration("1" + "0" * 30 + ".001s") == 10**33 + 1
    with pytest.raises(DurationError, match=f"is longer than {MAX_LENGTH} characters"):
        parse_duration("1" + longest)


@given(
    parts=st.tuples(*(st.none() | st.integers(0, 10**9) for _ in range(6))).filter(
        lambda parts: any(part is not None for part in parts)
    ),
    thousandths=st.none() | st.integers(0, 999),
    gaps=st.lists(st.sampled_from(["", " ", "  "]), min_size=6, max_size=6),
)
def test_any_parts_written_largest_first_add_up_to_their_milliseconds(
    parts: tuple[int | None, ...], thousandths: int | None, gaps: list[str]
) -> None:
    units = [("w", WEEK), ("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", SECOND), ("ms", 1)]
    written, expected = [], 0
    for (unit, unit_ms), number, gap in zip(units, parts, gaps, strict=True):
        if number is None:
            continue
        fraction = f".{thousandths:03d}" if unit == "s" and thousandths is not None else ""
        written.append(f"{number}{fraction}{unit}{gap}")
        expected += number * unit_ms + (int(fraction[1:]) if fraction else 0)
    text = "".join(written).rstrip(" ")

    assert parse_duration(text) == expected


@given(st.text(alphabet="0123456789.wdhms +-", max_size=12))
def test_the_testing_handle_reads_a_string_exactly_as_a_scenario_file_does(text: str) -> None:
    try:
        expected = parse_duration(text)
    except DurationError as refusal:
        with pytest.raises(ValueError) as refused:
            advance_duration(text)
        assert str(refused.value) == str(refusal)
    else:
        assert advance_duration(text) == expected


# -- in a scenario file: the same grammar, refusals naming the file, line and path -----------


def test_scenario_durations_take_every_form_of_the_grammar() -> None:
    s = scenario(
        """
        meta: {name: t, duration: 1h 30m}
        liquidity:
          - {market: BTC-PERP, quantity: "1", refresh: 1.5s}
        timeline:
          - at: +0.5s
            halt: BTC-PERP
          - at: +1w 2d
            resume: BTC-PERP
        """
    )

    assert s.meta.duration_ms == HOUR + 30 * MINUTE
    assert s.liquidity[0].refresh_ms == 1_500
    assert [step.at for step in s.timeline] == [
        At(500, relative=True),
        At(WEEK + 2 * DAY, relative=True),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'liquidity:\n  - {market: BTC-PERP, quantity: "1", refresh: 30m1h}\n',
            f"t.yaml:2: liquidity[0].refresh: '30m1h' {FORMS}",
        ),
        (
            'liquidity:\n  - {market: BTC-PERP, quantity: "1", refresh: 0.1ms}\n',
            "t.yaml:2: liquidity[0].refresh: '0.1ms' is not a whole number of milliseconds",
        ),
        (
            "meta: {name: t, duration: 0s}\n",
            "t.yaml:1: meta.duration: must be longer than zero",
        ),
        (
            "meta: {name: t, duration: 5300w}\n",
            "t.yaml:1: meta.duration: must be at most a century",
        ),
        (
            "timeline:\n  - at: +5m5m\n    halt: BTC-PERP\n",
            "t.yaml:2: timeline[0].at: '+5m5m' is not a relative time such as +90s, +5m or +1h30m",
        ),
        (
            "timeline:\n  - at: +1.5ms\n    halt: BTC-PERP\n",
            "t.yaml:2: timeline[0].at: '+1.5ms' is not a whole number of milliseconds",
        ),
        (
            "timeline:\n  - at: 1h 30m\n    halt: BTC-PERP\n",
            "t.yaml:2: timeline[0].at: '1h 30m': a relative time starts with '+' (+1h 30m)",
        ),
        (
            "timeline:\n  - at: +5300w\n    halt: BTC-PERP\n",
            "t.yaml:2: timeline[0].at: must be at most a century after the start",
        ),
    ],
)
def test_a_scenario_duration_the_grammar_refuses_names_its_file_line_and_path(
    text: str, problem: str
) -> None:
    assert problems(text) == [problem]
