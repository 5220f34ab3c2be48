"""The index: a reference curve F1/F2 with its five-day roll, pins, withdrawal, random walk."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from decimal import Decimal

import pytest

from ocx_sim.clock import parse_iso
from ocx_sim.engine.core.index import shocks
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.testing.builders import limit

D = Decimal
# The default world starts 2026-01-02. F1 is the March 2026 future (expiring Friday 03-27,
# 08:00 UTC); its roll ends at the options expiry a week earlier and starts five days before.
ROLL_START = parse_iso("2026-03-15T08:00:00Z")
ROLL_END = parse_iso("2026-03-20T08:00:00Z")
F1_EXPIRY = parse_iso("2026-03-27T08:00:00Z")


def test_a_world_starts_with_each_index_at_its_catalog_default_and_still(
    exchange: Exchange,
) -> None:
    assert exchange.index_price("BTC-PERP") == D("68000.00")
    exchange.advance_by(3_600_000)
    assert exchange.index_price("BTC-PERP") == D("68000.00")
    assert [t.name for t in exchange.clock.pending_timers() if t.name == "price tick"] == []


def test_the_index_is_the_front_future_until_the_roll_window_opens(exchange: Exchange) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.advance_to(ROLL_START)
    assert exchange.index_price("BTC-PERP") == D("68000")


def test_the_index_rolls_to_the_next_future_over_five_days(exchange: Exchange) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.advance_to(ROLL_START + 5 * 86_400_000 // 2)
    # Halfway, w = (1 - e^-1.5) / (1 - e^-3) = 0.81757448; 68000 + 1000 w.
    assert exchange.index_price("BTC-PERP") == D("68817.57447619")
    exchange.advance_to(ROLL_END)
    assert exchange.index_price("BTC-PERP") == D("69000")


def test_the_roll_moves_the_index_continuously_and_never_back(exchange: Exchange) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    seen: list[Decimal] = []
    for hour in range(0, 5 * 24 + 1, 6):
        exchange.advance_to(ROLL_START + hour * 3_600_000)
        index = exchange.index_price("BTC-PERP")
        assert index is not None
        seen.append(index)
    assert seen == sorted(seen)
    assert all(b - a < 150 for a, b in itertools.pairwise(seen))


def test_when_the_front_expires_the_curve_moves_on_with_the_same_spread(
    exchange: Exchange,
) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.advance_to(F1_EXPIRY)
    curve = exchange.sim.index_curve("BTC")
    # The old F2 is the new front; the new F2 keeps the ratio 69000 / 68000.
    assert (curve.f1, curve.f2) == (D("69000"), D("70014.70588235"))
    assert curve.front_ms == parse_iso("2026-06-26T08:00:00Z")
    assert exchange.index_price("BTC-PERP") == D("69000")


def test_a_set_index_holds_through_the_roll_until_the_curve_is_set_again(
    exchange: Exchange,
) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.sim.set_index("BTC-PERP", D("65000"))
    exchange.advance_to(ROLL_END)
    assert exchange.index_price("BTC-PERP") == D("65000")
    exchange.sim.set_curve("BTC", D("70000"), D("70000"))
    assert exchange.index_price("BTC-PERP") == D("70000")


def test_a_withdrawn_index_means_no_mark_and_orders_answer_503(exchange: Exchange) -> None:
    user = exchange.register_user("0x" + "11" * 20).user_id
    exchange.sim.set_index("BTC-PERP", None)
    assert exchange.mark_price("BTC-PERP") is None
    assert exchange.mark_price("BTC-USDC-2026-03-27") is None
    with pytest.raises(OcxError) as refusal:
        exchange.place_order(user, limit("BTC-PERP", "buy", "0.1", "68000"))
    assert refusal.value.code is ErrorCode.UPSTREAM_DEGRADED


def _walk(seed: int, seconds: int) -> list[Decimal | None]:
    exchange = Exchange.create(seed=seed)
    exchange.sim.set_volatility("BTC", D("0.8"))
    path = []
    for _ in range(seconds):
        exchange.advance_by(1_000)
        path.append(exchange.index_price("BTC-PERP"))
    return path


def test_a_volatility_walks_the_index_every_second_identically_for_a_seed() -> None:
    first, again, other = _walk(7, 30), _walk(7, 30), _walk(8, 30)
    assert first == again
    assert first != other
    assert len(set(first)) == 30
    # One second of 80 % annual volatility moves the index by about 0.014 %: never 1 %.
    steps = [abs(b / a - 1) for a, b in itertools.pairwise(first) if a and b]
    assert max(steps) < D("0.01")


def test_the_walk_has_the_volatility_it_was_given() -> None:
    exchange = Exchange.create(seed=2)
    exchange.sim.set_volatility("BTC", D("0.8"))
    curve = exchange.sim.index_curve("BTC")
    factors = [curve.factor]
    for _ in range(1_440):  # a day, read every minute
        exchange.advance_by(60_000)
        factors.append(curve.factor)
    returns = [math.log(b / a) for a, b in itertools.pairwise(factors)]
    per_minute = 0.8 * math.sqrt(60 / (365 * 86_400))
    # 1 440 samples estimate a standard deviation to about 2 %; 8 % is four of those.
    assert statistics.stdev(returns) == pytest.approx(per_minute, rel=0.08)
    assert abs(statistics.mean(returns)) < 4 * per_minute / math.sqrt(len(returns))


def test_the_walks_shocks_are_standard_normal() -> None:
    shock = shocks(random.Random(9))
    draws = [shock() for _ in range(100_000)]
    assert abs(statistics.mean(draws)) < 0.015
    assert statistics.stdev(draws) == pytest.approx(1, abs=0.015)
    beyond = sum(abs(x) > 1.959964 for x in draws) / len(draws)
    assert beyond == pytest.approx(0.05, abs=0.004)


def test_a_walking_index_stops_at_a_set_index(exchange: Exchange) -> None:
    exchange.sim.set_volatility("XAUT", D("0.5"))
    exchange.advance_by(5_000)
    assert exchange.index_price("XAUT-USDC-PERP") != D("4000.00")
    exchange.sim.set_index("XAUT-USDC-PERP", D("4100"))
    exchange.advance_by(5_000)
    assert exchange.index_price("XAUT-USDC-PERP") == D("4100")
    # The other underlyings never moved.
    assert exchange.index_price("BTC-PERP") == D("68000.00")


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (lambda ex: ex.sim.set_curve("DOGE", D(1), D(1)), "underlying"),
        (lambda ex: ex.sim.set_curve("BTC", D(0), D(1)), "front"),
        (lambda ex: ex.sim.set_curve("BTC", D(1), D("-1")), "following"),
        (lambda ex: ex.sim.set_volatility("BTC", D("-0.1")), "volatility"),
        (lambda ex: ex.sim.set_volatility("BTC", D("11")), "volatility"),
        (lambda ex: ex.sim.set_volatility("BTC", D("NaN")), "volatility"),
    ],
)
def test_bad_curve_and_volatility_input_is_400_naming_the_field(
    exchange: Exchange, action: object, field: str
) -> None:
    with pytest.raises(OcxError) as refusal:
        action(exchange)  # type: ignore[operator]
    assert refusal.value.code is ErrorCode.VALIDATION_ERROR
    assert refusal.value.details == {"field": field}
