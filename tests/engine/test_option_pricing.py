"""The volatility surface, Black-76 and the board: arbitrage-free, consistent, and exact to the
conventions of docs/fidelity.md "Options"."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ocx_sim import Exchange
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.engine.core import black76
from ocx_sim.engine.core.board import Board, BoardEntry
from ocx_sim.engine.core.events import SurfaceSet
from ocx_sim.engine.core.markets import OptionType
from ocx_sim.engine.core.pricing import OPTION_RATE
from ocx_sim.engine.core.surface import (
    DEFAULT_SURFACE,
    T30,
    SurfaceParams,
    build,
    years,
)
from ocx_sim.errors import OcxError

TICK = Decimal("0.01")
DAY_MS = 86_400_000


def decimals(low: str, high: str, places: int = 3) -> st.SearchStrategy[Decimal]:
    return st.decimals(Decimal(low), Decimal(high), places=places, allow_nan=False)


surface_params = st.builds(
    SurfaceParams,
    atm_vol=decimals("0.05", "2.5"),
    term_slope=decimals("-1", "1"),
    skew=decimals("-1.5", "1.5"),
    smile=decimals("-2", "30"),
)


def published(params: SurfaceParams, index: Decimal, minutes: int) -> Exchange | None:
    """A fresh exchange starting `minutes` after the default start, at this index, with the
    surface `params`; None when the surface is refused."""
    exchange = Exchange.create(seed=1, start=DEFAULT_START_MS + minutes * 60_000)
    exchange.sim.set_index("BTC-PERP", index)
    try:
        exchange.sim.set_surface(
            "BTC",
            atm_vol=params.atm_vol,
            term_slope=params.term_slope,
            skew=params.skew,
            smile=params.smile,
        )
    except OcxError as refused:
        assert refused.status == 422
        return None
    return exchange


def by_expiry(board: Board) -> dict[int, list[BoardEntry]]:
    out: dict[int, list[BoardEntry]] = {}
    for entry in board.entries:
        out.setdefault(entry.spec.expiry_ms or 0, []).append(entry)
    return out


# -- Black-76 ---------------------------------------------------------------------------------


@given(
    is_call=st.booleans(),
    forward=st.floats(1_000, 200_000),
    moneyness=st.floats(0.5, 2.0),
    vol=st.floats(0.05, 2.0),
    days=st.floats(0.5, 400),
)
def test_greeks_equal_finite_differences_of_the_value(
    is_call: bool, forward: float, moneyness: float, vol: float, days: float
) -> None:
    strike, t = forward * moneyness, days / 365
    greeks = black76.greeks(is_call, forward, strike, vol, t, OPTION_RATE)

    def v(f: float = forward, sigma: float = vol, tt: float = t) -> float:
        return black76.value(is_call, f, strike, sigma, tt, OPTION_RATE)

    # Central differences; the tolerances cover their truncation and rounding errors.
    width = forward * vol * math.sqrt(t)  # the scale the value changes over
    h = width * 1e-4
    assert greeks.value == pytest.approx(v(), rel=1e-12)
    assert greeks.delta == pytest.approx((v(forward + h) - v(forward - h)) / (2 * h), abs=1e-6)
    h = width * 1e-2
    second = (v(forward + h) - 2 * v() + v(forward - h)) / h**2
    assert greeks.gamma == pytest.approx(second, rel=1e-3, abs=1e-9)
    dv = (v(sigma=vol + 1e-5) - v(sigma=vol - 1e-5)) / 2e-5
    assert greeks.vega == pytest.approx(dv / 100, rel=1e-5, abs=forward * 1e-11)
    day = 1 / 365
    dt = 1e-3 * day
    decay = (v(tt=t - dt) - v(tt=t + dt)) / (2 * dt) * day
    assert greeks.theta == pytest.approx(decay, rel=1e-4, abs=1e-6)


def test_an_expired_option_is_worth_its_intrinsic_value_with_no_time_greeks() -> None:
    call = black76.greeks(True, 70_000, 68_000, 0.5, 0.0, OPTION_RATE)

    assert call == black76.Greeks(2_000.0, 1.0, 0.0, 0.0, OPTION_RATE * 2_000.0 / 365)
    assert black76.value(False, 70_000, 68_000, 0.5, 0.0, OPTION_RATE) == 0.0


# -- the surface --------------------------------------------------------------------------------


def test_the_default_surface_has_its_30_day_level_slope_and_curvature() -> None:
    surface = build(DEFAULT_SURFACE)
    h = 1e-4

    def iv(k: float) -> float:
        return surface.iv(T30, k)

    assert iv(0) == pytest.approx(0.55)
    assert (iv(h) - iv(-h)) / (2 * h) == pytest.approx(-0.15, rel=1e-5)
    assert (iv(h) - 2 * iv(0) + iv(-h)) / h**2 == pytest.approx(1.5, rel=1e-4)
    assert surface.iv(T30, -0.1) > surface.iv(T30, 0.1)  # puts over calls
    assert surface.atm_vol(180 / 365) > surface.atm_vol(T30)  # rising with maturity


@given(surface_params)
def test_an_accepted_surface_has_no_arbitrage_far_beyond_the_grid_it_is_checked_on(
    params: SurfaceParams,
) -> None:
    try:
        surface = build(params)
    except OcxError:
        assume(False)
        return
    maturities = [d / 365 for d in (0.05, 0.7, 3, 11, 30, 47, 90, 133, 250, 365)]
    ks = [i / 37 for i in (range(-150, 151))]  # ±4 in log-moneyness, off the checked grid
    previous = None
    for t in maturities:
        slice_ = surface.slice(t)
        for k in ks:
            assert slice_.g(k) >= -1e-9, (t, k)
            if previous is not None:
                assert slice_.w(k) >= previous.w(k) - 1e-12, (t, k)
        previous = slice_


@pytest.mark.parametrize(
    ("params", "blamed"),
    [
        (SurfaceParams(Decimal(0), Decimal("0.1"), Decimal("-0.15"), Decimal("1.5")), "atmVol"),
        (SurfaceParams(Decimal("0.55"), Decimal(-2), Decimal("-0.15"), Decimal("1.5")), "atmVol"),
        (SurfaceParams(Decimal("0.55"), Decimal("0.1"), Decimal("-0.15"), Decimal(60)), "atmVol"),
        (SurfaceParams(Decimal("0.55"), Decimal("0.1"), Decimal("-0.5"), Decimal(-3)), "atmVol"),
    ],
    ids=["zero level", "variance falling with maturity", "smile too sharp", "no SVI shape"],
)
def test_an_arbitrageable_surface_is_refused_with_422_naming_the_blamed_parameter(
    params: SurfaceParams, blamed: str
) -> None:
    with pytest.raises(OcxError) as refused:
        build(params, blame=blamed)

    assert refused.value.status == 422
    assert refused.value.details == {"field": blamed}


def test_a_refused_surface_changes_nothing(exchange: Exchange) -> None:
    before = exchange.board("BTC")
    events = len(exchange.events_of(SurfaceSet))

    with pytest.raises(OcxError) as refused:
        exchange.sim.set_surface("BTC", smile=Decimal(80))

    assert refused.value.details == {"field": "smile"}
    assert exchange.surface("BTC").params == DEFAULT_SURFACE
    assert exchange.board("BTC") == before
    assert len(exchange.events_of(SurfaceSet)) == events


# -- the board --------------------------------------------------------------------------------


@given(
    params=surface_params,
    index=decimals("20000", "200000", places=2),
    minutes=st.integers(0, 120 * 24 * 60),
)
def test_a_published_board_has_no_butterfly_arbitrage_and_keeps_put_call_parity(
    params: SurfaceParams, index: Decimal, minutes: int
) -> None:
    exchange = published(params, index, minutes)
    assume(exchange is not None)
    assert exchange is not None
    board = exchange.board("BTC")
    for expiry, entries in by_expiry(board).items():
        forward = board.forwards[expiry].price
        t = years(expiry - exchange.now_ms)
        discount = Decimal(repr(math.exp(-OPTION_RATE * t)))
        calls = [e for e in entries if e.spec.option_type is OptionType.CALL]
        puts = [e for e in entries if e.spec.option_type is OptionType.PUT]
        for call, put in zip(calls, puts, strict=True):
            assert call.spec.strike == put.spec.strike
            if TICK in (call.mark, put.mark):
                continue  # at the one-tick floor a mark is not the model's value
            strike = call.spec.strike or Decimal(0)
            parity = discount * (Decimal(repr(forward)) - strike)
            assert abs(call.mark - put.mark - parity) <= TICK, call.spec.id
        # Convex and non-increasing in the strike (strikes are equally spaced), to rounding.
        marks = [c.mark for c in calls]
        for a, b, c in zip(marks, marks[1:], marks[2:], strict=False):
            assert a - 2 * b + c >= -2 * TICK
        for a, b in itertools.pairwise(marks):
            assert b <= a + TICK


@given(params=surface_params, minutes=st.integers(0, 120 * 24 * 60))
def test_board_ivs_are_the_surfaces_and_total_variance_never_falls_with_maturity(
    params: SurfaceParams, minutes: int
) -> None:
    exchange = published(params, Decimal(68_000), minutes)
    assume(exchange is not None)
    assert exchange is not None
    board, surface = exchange.board("BTC"), exchange.surface("BTC")
    for entry in board.entries:
        expiry = entry.spec.expiry_ms or 0
        t = years(expiry - exchange.now_ms)
        k = math.log(float(entry.spec.strike or 0) / board.forwards[expiry].price)
        assert entry.iv == Decimal(repr(surface.iv(t, k))).quantize(Decimal("0.0001"))
    maturities = [years(e - exchange.now_ms) for e in board.expiries]
    for k in (-0.4, -0.1, 0.0, 0.1, 0.4):
        variances = [surface.slice(t).w(k) for t in maturities]
        assert variances == sorted(variances)


@given(params=surface_params, minutes=st.integers(0, 120 * 24 * 60))
def test_dvol_lies_between_the_atm_ivs_of_the_expiries_around_30_days(
    params: SurfaceParams, minutes: int
) -> None:
    exchange = published(params, Decimal(68_000), minutes)
    assume(exchange is not None)
    assert exchange is not None
    surface, now = exchange.surface("BTC"), exchange.now_ms
    maturities = sorted(years(e - now) for e in exchange.board("BTC").expiries)
    below = max(t for t in maturities if t <= T30)
    above = min(t for t in maturities if t >= T30)
    low, high = sorted((surface.atm_vol(below), surface.atm_vol(above)))

    dvol = exchange.dvol("BTC").dvol

    assert Decimal(repr(low * 100)) - Decimal("0.005") <= dvol
    assert dvol <= Decimal(repr(high * 100)) + Decimal("0.005")


def test_the_board_follows_the_index_and_the_clock(exchange: Exchange) -> None:
    option = exchange.board("BTC").entries[40]
    market_id = option.spec.id

    def mark() -> Decimal:
        return next(e.mark for e in exchange.board("BTC").entries if e.spec.id == market_id)

    exchange.sim.set_index("BTC-PERP", Decimal(70_000))
    moved = mark()
    exchange.advance_to(exchange.now_ms + 2 * DAY_MS)

    assert moved != option.mark
    assert mark() != moved
    assert exchange.mark_price(market_id) == mark()


def test_an_expiry_with_a_future_is_priced_on_that_futures_mark(exchange: Exchange) -> None:
    board = exchange.board("BTC")
    future = exchange.market("BTC-USDC-2026-03-27")
    assert future.expiry_ms in board.forwards

    forward = board.forwards[future.expiry_ms or 0]

    assert forward.futures_market_id == future.id
    assert Decimal(repr(forward.price)) == exchange.mark_price(future.id)
    friday_before = (future.expiry_ms or 0) - 7 * DAY_MS
    assert board.forwards[friday_before].futures_market_id is None
