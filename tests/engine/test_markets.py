"""Market specs and the default catalog (ocx_sim/engine/core/markets.py; docs/fidelity.md
"Markets"): the listing, the expiry calendar, the option chain, BTC-PERP's terms and the
conversions between wire decimals and the book's ticks and lots."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ocx_sim.clock import parse_iso
from ocx_sim.engine.core.markets import (
    Catalog,
    MarketSpec,
    MarketType,
    OptionType,
    default_catalog,
    last_friday,
    option_expiries,
    quarterly_expiries,
    strike_grid,
)
from ocx_sim.errors import ErrorCode, OcxError

D = Decimal
START = "2026-01-02T00:00:00Z"
"""The default world's start (a Friday)."""


def ms(text: str) -> int:
    return parse_iso(text)


def day_of(expiry_ms: int) -> date:
    return datetime.fromtimestamp(expiry_ms / 1000, tz=UTC).date()


def catalog_at(text: str = START) -> Catalog:
    return default_catalog(ms(text))


def linear_ids(text: str = START, at: str | None = None) -> list[str]:
    return [m.id for m in catalog_at(text).linear(ms(at or text))]


def future_ids(catalog: Catalog) -> list[str]:
    return [m.id for m in catalog if m.type is MarketType.FUTURE]


def btc_perp() -> MarketSpec:
    return catalog_at().get("BTC-PERP")


def expect_validation_error(call: Callable[[], object], field: str) -> None:
    with pytest.raises(OcxError) as refused:
        call()
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.status == 400
    assert refused.value.details["field"] == field


# -- the linear listing ----------------------------------------------------------------------


def test_default_catalog_lists_exactly_the_decided_linear_markets_in_order() -> None:
    assert linear_ids() == [
        "BTC-USDC-SPOT",
        "BTC-PERP",
        "BTC-USDC-2026-03-27",
        "BTC-USDC-2026-06-26",
        "XAUT-USDC-SPOT",
        "XAUT-USDC-PERP",
        "XAUT-USDC-2026-03-27",
        "WTIOIL-USDC-SPOT",
        "WTIOIL-PERP",
        "WTIOIL-USDC-2026-03-27",
        "WTIOIL-USDC-2026-06-26",
    ]


def test_linear_markets_are_spot_perp_and_future_and_no_options() -> None:
    catalog = catalog_at()
    kinds = {m.id: m.type for m in catalog.linear(ms(START))}
    assert kinds["BTC-USDC-SPOT"] is MarketType.SPOT
    assert kinds["BTC-PERP"] is MarketType.PERP
    assert kinds["XAUT-USDC-PERP"] is MarketType.PERP
    assert kinds["WTIOIL-USDC-2026-06-26"] is MarketType.FUTURE
    assert all(m.is_linear for m in catalog.linear(ms(START)))
    assert MarketType.OPTION not in kinds.values()
    # Everything else in the catalog is the BTC option chain.
    others = [m for m in catalog if m.id not in kinds]
    assert others
    assert all(m.type is MarketType.OPTION and m.underlying == "BTC" for m in others)


def test_futures_expire_at_0800_utc_on_the_last_friday_of_their_month() -> None:
    catalog = catalog_at()
    assert catalog.get("BTC-USDC-2026-03-27").expiry_ms == ms("2026-03-27T08:00:00Z")
    assert catalog.get("BTC-USDC-2026-06-26").expiry_ms == ms("2026-06-26T08:00:00Z")
    for spec in catalog:
        if spec.type is not MarketType.FUTURE:
            continue
        assert spec.expiry_ms is not None
        moment = datetime.fromtimestamp(spec.expiry_ms / 1000, tz=UTC)
        assert (moment.hour, moment.minute, moment.second) == (8, 0, 0)
        assert moment.weekday() == 4
        assert (moment + timedelta(days=7)).month != moment.month
        assert moment.month in (3, 6, 9, 12)
        assert spec.id.endswith(moment.date().isoformat())


def test_spot_and_perpetuals_never_expire() -> None:
    catalog = catalog_at()
    for market_id in ("BTC-USDC-SPOT", "BTC-PERP", "XAUT-USDC-PERP", "WTIOIL-PERP"):
        assert catalog.get(market_id).expiry_ms is None
        assert not catalog.get(market_id).expired_at(ms("2099-01-01T00:00:00Z"))


@pytest.mark.parametrize(
    ("year", "month", "friday"),
    [
        (2026, 3, date(2026, 3, 27)),
        (2026, 6, date(2026, 6, 26)),
        (2026, 7, date(2026, 7, 31)),  # the month ends on a Friday
        (2026, 9, date(2026, 9, 25)),
        (2026, 12, date(2026, 12, 25)),
        (2027, 2, date(2027, 2, 26)),
    ],
)
def test_last_friday_of_a_month(year: int, month: int, friday: date) -> None:
    assert last_friday(year, month) == friday


@pytest.mark.parametrize(
    ("start", "btc_futures"),
    [
        (START, ["BTC-USDC-2026-03-27", "BTC-USDC-2026-06-26"]),
        ("2026-03-01T00:00:00Z", ["BTC-USDC-2026-03-27", "BTC-USDC-2026-06-26"]),
        ("2026-03-27T07:00:00Z", ["BTC-USDC-2026-03-27", "BTC-USDC-2026-06-26"]),
        ("2026-03-27T07:59:59.999Z", ["BTC-USDC-2026-03-27", "BTC-USDC-2026-06-26"]),
        ("2026-03-27T08:00:00Z", ["BTC-USDC-2026-06-26", "BTC-USDC-2026-09-25"]),
        ("2026-03-27T08:00:01Z", ["BTC-USDC-2026-06-26", "BTC-USDC-2026-09-25"]),
        ("2026-04-15T12:00:00Z", ["BTC-USDC-2026-06-26", "BTC-USDC-2026-09-25"]),
        ("2026-09-30T00:00:00Z", ["BTC-USDC-2026-12-25", "BTC-USDC-2027-03-26"]),
        ("2026-12-25T09:00:00Z", ["BTC-USDC-2027-03-26", "BTC-USDC-2027-06-25"]),
    ],
)
def test_f1_and_f2_are_the_next_two_quarterly_expiries_still_ahead(
    start: str, btc_futures: list[str]
) -> None:
    catalog = catalog_at(start)
    assert [m.id for m in catalog.futures("BTC")] == btc_futures
    assert all(m.expiry_ms is not None and m.expiry_ms > ms(start) for m in catalog.futures("BTC"))


def test_a_start_just_after_the_march_expiry_lists_june_and_september() -> None:
    start = "2026-03-27T08:00:01Z"
    assert future_ids(catalog_at(start)) == [
        "BTC-USDC-2026-06-26",
        "BTC-USDC-2026-09-25",
        "XAUT-USDC-2026-06-26",
        "WTIOIL-USDC-2026-06-26",
        "WTIOIL-USDC-2026-09-25",
    ]
    assert "BTC-USDC-2026-03-27" not in linear_ids(start)


def test_a_start_on_the_march_expiry_day_before_0800_still_lists_march() -> None:
    start = "2026-03-27T07:00:00Z"
    assert future_ids(catalog_at(start)) == [
        "BTC-USDC-2026-03-27",
        "BTC-USDC-2026-06-26",
        "XAUT-USDC-2026-03-27",
        "WTIOIL-USDC-2026-03-27",
        "WTIOIL-USDC-2026-06-26",
    ]
    assert "BTC-USDC-2026-03-27" in linear_ids(start)


def test_quarterly_expiries_are_strictly_after_now() -> None:
    assert quarterly_expiries(ms("2026-06-26T08:00:00Z"), 2) == [
        ms("2026-09-25T08:00:00Z"),
        ms("2026-12-25T08:00:00Z"),
    ]
    assert quarterly_expiries(ms("2026-06-26T07:59:59.999Z"), 1) == [ms("2026-06-26T08:00:00Z")]


def test_expired_futures_leave_the_linear_listing() -> None:
    catalog = catalog_at()
    just_before = [m.id for m in catalog.linear(ms("2026-03-27T07:59:59.999Z"))]
    at_expiry = [m.id for m in catalog.linear(ms("2026-03-27T08:00:00Z"))]
    march = ["BTC-USDC-2026-03-27", "XAUT-USDC-2026-03-27", "WTIOIL-USDC-2026-03-27"]
    assert all(m in just_before for m in march)
    assert at_expiry == [m for m in just_before if m not in march]
    after_june = [m.id for m in catalog.linear(ms("2026-07-01T00:00:00Z"))]
    assert after_june == [
        "BTC-USDC-SPOT",
        "BTC-PERP",
        "XAUT-USDC-SPOT",
        "XAUT-USDC-PERP",
        "WTIOIL-USDC-SPOT",
        "WTIOIL-PERP",
    ]


def test_an_underlyings_futures_follow_the_catalog_as_it_lists_and_replaces_markets() -> None:
    catalog = catalog_at()
    assert [m.id for m in catalog.futures("BTC")] == ["BTC-USDC-2026-03-27", "BTC-USDC-2026-06-26"]
    assert [m.id for m in catalog.futures("XAUT")] == ["XAUT-USDC-2026-03-27"]

    september = dataclasses.replace(
        catalog.get("BTC-USDC-2026-06-26"), id="BTC-USDC-2026-09-25", expiry_ms=0
    )
    catalog.add(september)
    wider = dataclasses.replace(catalog.get("BTC-USDC-2026-03-27"), max_leverage=5)
    catalog.markets[wider.id] = wider  # a scenario's terms replace a spec under its id

    futures = catalog.futures("BTC")
    assert [m.id for m in futures] == [
        "BTC-USDC-2026-03-27",
        "BTC-USDC-2026-06-26",
        "BTC-USDC-2026-09-25",
    ]
    assert futures[0] is wider


def test_a_future_counts_as_expired_from_its_expiry_instant() -> None:
    future = catalog_at().get("BTC-USDC-2026-03-27")
    assert not future.expired_at(ms("2026-03-27T07:59:59.999Z"))
    assert future.expired_at(ms("2026-03-27T08:00:00Z"))


# -- options ---------------------------------------------------------------------------------


def test_option_expiries_at_the_default_start() -> None:
    # Weeklies: today's 08:00 (still ahead at midnight) and the next Friday; monthlies: the last
    # Fridays of January, February and March; the Friday before each future's expiry.
    assert [day_of(e) for e in sorted({m.expiry_ms or 0 for m in catalog_at().options()})] == [
        date(2026, 1, 2),
        date(2026, 1, 9),
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 20),
        date(2026, 3, 27),
        date(2026, 6, 19),
    ]


def test_option_expiries_are_fridays_at_0800_strictly_after_now() -> None:
    now = ms("2026-03-27T08:00:01Z")
    futures = [ms("2026-06-26T08:00:00Z"), ms("2026-09-25T08:00:00Z")]
    expiries = option_expiries(now, futures)
    assert [day_of(e) for e in expiries] == [
        date(2026, 4, 3),
        date(2026, 4, 10),
        date(2026, 4, 24),
        date(2026, 5, 29),
        date(2026, 6, 19),
        date(2026, 6, 26),
        date(2026, 9, 18),
    ]
    for expiry in expiries:
        moment = datetime.fromtimestamp(expiry / 1000, tz=UTC)
        assert moment.weekday() == 4
        assert (moment.hour, moment.minute, moment.second) == (8, 0, 0)
        assert expiry > now


def test_weekly_options_skip_a_friday_whose_0800_has_passed() -> None:
    expiries = option_expiries(ms("2026-01-02T08:00:00Z"), [])
    assert [day_of(e) for e in expiries][:2] == [date(2026, 1, 9), date(2026, 1, 16)]


def test_option_expiries_include_the_friday_before_each_future() -> None:
    catalog = catalog_at()
    expiries = {m.expiry_ms for m in catalog.options()}
    for future in catalog.futures("BTC"):
        assert future.expiry_ms is not None
        assert future.expiry_ms - 7 * 86_400_000 in expiries


def test_option_chain_expiries_match_option_expiries() -> None:
    catalog = catalog_at()
    futures = [m.expiry_ms or 0 for m in catalog.futures("BTC")]
    chain = sorted({m.expiry_ms or 0 for m in catalog.options("BTC")})
    assert chain == option_expiries(ms(START), futures)


def test_option_ids_spell_underlying_expiry_strike_and_type() -> None:
    catalog = catalog_at()
    call = catalog.get("BTC-2026-01-09-68000-C")
    put = catalog.get("BTC-2026-01-09-68000-P")
    assert call.type is MarketType.OPTION
    assert call.strike == D(68000)
    assert call.option_type is OptionType.CALL
    assert put.option_type is OptionType.PUT
    assert call.expiry_ms == put.expiry_ms == ms("2026-01-09T08:00:00Z")
    assert call.underlying == "BTC"
    assert "BTC-2026-01-09-68000-C" not in linear_ids()
    for spec in catalog.options():
        assert spec.expiry_ms is not None and spec.strike is not None
        assert spec.option_type is not None
        expected = f"BTC-{day_of(spec.expiry_ms).isoformat()}-{spec.strike:f}-{spec.option_type}"
        assert spec.id == expected


def test_every_listed_strike_has_a_call_and_a_put() -> None:
    catalog = catalog_at()
    calls = {(m.expiry_ms, m.strike) for m in catalog.options() if m.option_type is OptionType.CALL}
    puts = {(m.expiry_ms, m.strike) for m in catalog.options() if m.option_type is OptionType.PUT}
    assert calls
    assert calls == puts


def test_strikes_are_the_multiples_of_the_step_within_twenty_percent_of_the_forward() -> None:
    now = ms(START)
    catalog = catalog_at()
    for expiry in sorted({m.expiry_ms or 0 for m in catalog.options()}):
        forward = D("68000.00") * (1 + D("0.05") * D(expiry - now) / 86_400_000 / 365)
        low, high = forward * D("0.8"), forward * D("1.2")
        listed = sorted({m.strike or D(0) for m in catalog.options() if m.expiry_ms == expiry})
        wanted = [D(2000) * k for k in range(1, 100) if low <= D(2000) * k <= high]
        assert listed == wanted, f"expiry {day_of(expiry)}: forward {forward:.2f}"


@pytest.mark.parametrize(
    ("forward", "step", "strikes"),
    [
        (D(100), D(20), [D(80), D(100), D(120)]),  # both edges exactly on the grid
        (D(100), D(30), [D(90), D(120)]),  # 60 lies below 80 = forward × 0.8
        (D(100), D(7), [D(84), D(91), D(98), D(105), D(112), D(119)]),
        (D(10), D(50), []),
    ],
)
def test_strike_grid_keeps_only_multiples_inside_the_span(
    forward: Decimal, step: Decimal, strikes: list[Decimal]
) -> None:
    assert strike_grid(forward, step, D("0.2")) == strikes


# -- BTC-PERP terms ---------------------------------------------------------------------------


def test_btc_perp_terms() -> None:
    perp = btc_perp()
    assert perp.type is MarketType.PERP
    assert (perp.base, perp.quote, perp.underlying) == ("BTC", "USDC", "BTC")
    assert perp.price_decimals == 2
    assert perp.tick == D("0.01")
    assert perp.size_decimals == 4
    assert perp.step == D("0.0001")
    assert perp.min_quantity == D("0.0001")
    assert perp.maker_bps == D(2)
    assert perp.taker_bps == D(5)
    assert perp.max_leverage == 20
    assert perp.expiry_ms is None


def test_unknown_market_is_404_unknown_market() -> None:
    with pytest.raises(OcxError) as refused:
        catalog_at().get("DOGE-PERP")
    assert refused.value.code is ErrorCode.UNKNOWN_MARKET
    assert refused.value.status == 404
    assert "DOGE-PERP" not in catalog_at()


# -- conversions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "ticks"),
    [(D("68000"), 6_800_000), (D("68000.01"), 6_800_001), (D("0.01"), 1), (D("6.8E+4"), 6_800_000)],
)
def test_price_on_the_tick_converts_to_ticks_and_back(price: Decimal, ticks: int) -> None:
    perp = btc_perp()
    assert perp.to_ticks(price) == ticks
    assert perp.price(ticks) == price


@pytest.mark.parametrize(
    ("quantity", "lots"), [(D("1"), 10_000), (D("0.0001"), 1), (D("0.1234"), 1234)]
)
def test_quantity_on_the_step_converts_to_lots_and_back(quantity: Decimal, lots: int) -> None:
    perp = btc_perp()
    assert perp.to_lots(quantity) == lots
    assert perp.quantity(lots) == quantity


@pytest.mark.parametrize("field", ["price", "stopPrice", "legs[1].price"])
@pytest.mark.parametrize("price", [D("68000.001"), D("0.005"), D("68000.015")])
def test_price_off_the_tick_is_a_validation_error_naming_the_field(
    price: Decimal, field: str
) -> None:
    perp = btc_perp()
    expect_validation_error(lambda: perp.to_ticks(price, field), field)


def test_price_field_defaults_to_price() -> None:
    expect_validation_error(lambda: btc_perp().to_ticks(D("1.001")), "price")


@pytest.mark.parametrize("price", [D("0"), D("0.00"), D("-0"), D("-1"), D("-68000.00")])
def test_zero_or_negative_price_is_a_validation_error(price: Decimal) -> None:
    perp = btc_perp()
    expect_validation_error(lambda: perp.to_ticks(price, "takeProfitPrice"), "takeProfitPrice")


def test_price_off_the_tick_beyond_decimal_context_precision_is_rejected() -> None:
    # 68000 + 1e-25 is off the 0.01 tick, but price / tick has more digits than the default
    # 28-digit Decimal context keeps; the division must not round it onto the tick.
    perp = btc_perp()
    expect_validation_error(lambda: perp.to_ticks(D("68000.0000000000000000000000001")), "price")


@pytest.mark.parametrize("price", [D("Infinity"), D("-Infinity"), D("NaN")], ids=str)
def test_non_finite_price_is_a_validation_error(price: Decimal) -> None:
    expect_validation_error(lambda: btc_perp().to_ticks(price), "price")


@pytest.mark.parametrize("field", ["quantity", "legs[0].quantity"])
@pytest.mark.parametrize("quantity", [D("0.00001"), D("1.00005"), D("0.00015")])
def test_size_off_the_step_is_a_validation_error_naming_the_field(
    quantity: Decimal, field: str
) -> None:
    perp = btc_perp()
    expect_validation_error(lambda: perp.to_lots(quantity, field), field)


@pytest.mark.parametrize("quantity", [D("0"), D("0.0000"), D("-0.0001"), D("-1")])
def test_zero_or_negative_size_is_a_validation_error(quantity: Decimal) -> None:
    perp = btc_perp()
    expect_validation_error(lambda: perp.to_lots(quantity), "quantity")


def test_size_below_the_minimum_is_a_validation_error_naming_the_field() -> None:
    spec = dataclasses.replace(btc_perp(), min_quantity=D("0.001"))
    expect_validation_error(lambda: spec.to_lots(D("0.0009"), "size"), "size")
    expect_validation_error(lambda: spec.to_lots(D("0.0001")), "quantity")
    assert spec.to_lots(D("0.001")) == 10


def test_size_off_the_step_beyond_decimal_context_precision_is_rejected() -> None:
    perp = btc_perp()
    expect_validation_error(lambda: perp.to_lots(D("1.00000000000000000000000000001")), "quantity")


def test_ticks_floor_and_ceil_round_to_the_neighbouring_ticks() -> None:
    perp = btc_perp()
    assert perp.ticks_floor(D("1.005")) == 100
    assert perp.ticks_ceil(D("1.005")) == 101
    assert perp.ticks_floor(D("1.01")) == 101
    assert perp.ticks_ceil(D("1.01")) == 101
    assert perp.ticks_ceil(D("64599.999")) == 6_460_000


# -- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "text"),
    [
        (D("68000"), "68000.00"),
        (D("68000.5"), "68000.50"),
        (D("0.01"), "0.01"),
        (D("6.8E+4"), "68000.00"),
        (D("1E-2"), "0.01"),
    ],
)
def test_format_price_pads_to_the_price_decimals(price: Decimal, text: str) -> None:
    assert btc_perp().format_price(price) == text


@pytest.mark.parametrize(
    ("quantity", "text"),
    [
        (D("1"), "1.0000"),
        (D("0.1"), "0.1000"),
        (D("0.0001"), "0.0001"),
        (D("1E-4"), "0.0001"),
        (D("2.5E+1"), "25.0000"),
    ],
)
def test_format_quantity_pads_to_the_size_decimals(quantity: Decimal, text: str) -> None:
    assert btc_perp().format_quantity(quantity) == text


def test_wtioil_quantities_format_with_two_decimals() -> None:
    spec = catalog_at().get("WTIOIL-PERP")
    assert spec.format_quantity(D("3")) == "3.00"
    assert spec.format_price(D("70")) == "70.00"
