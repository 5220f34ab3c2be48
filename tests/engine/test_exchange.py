"""The Exchange facade: construction, time, and the events of market controls."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import Bucket, ErrorCode, Exchange, OcxError, parse_iso
from ocx_sim.engine.core.events import (
    FundsDeposited,
    IndexSet,
    MarketHalted,
    MarketResumed,
    MarkPinned,
    event_type,
)

D = Decimal


def test_create_starts_the_clock_at_the_default_instant_or_a_given_one() -> None:
    assert Exchange.create().now_ms == parse_iso("2026-01-02T00:00:00Z")
    assert Exchange.create(start="2026-05-01T12:30:00Z").now_ms == parse_iso("2026-05-01T12:30Z")
    assert Exchange.create(start=1_800_000_000_000).now_ms == 1_800_000_000_000


def test_the_catalog_is_computed_from_the_start_instant() -> None:
    later = Exchange.create(start="2026-04-01T00:00:00Z")

    futures = [m.id for m in later.linear_markets() if m.id.startswith("BTC-USDC-2")]

    assert futures == ["BTC-USDC-2026-06-26", "BTC-USDC-2026-09-25"]


def test_advance_to_fires_due_timers_and_returns_the_events_they_made(
    exchange: Exchange,
) -> None:
    user = exchange.register_user("0x" + "ab" * 20)
    start = exchange.now_ms

    def deposit_10(due: int) -> None:
        exchange.sim.deposit(user.user_id, D("10"), tx_hash="0x01")

    def deposit_20(due: int) -> None:
        exchange.sim.deposit(user.user_id, D("20"), tx_hash="0x02")

    exchange.clock.schedule_at(start + 5_000, deposit_10)
    exchange.clock.schedule_at(start + 9_000, deposit_20)

    first = exchange.advance_to(start + 6_000)
    second = exchange.advance_by(10_000)

    assert [(event_type(e), e.ts) for e in first if isinstance(e, FundsDeposited)] == [
        ("FundsDeposited", start + 5_000)
    ]
    assert [e.tx_hash for e in second if isinstance(e, FundsDeposited)] == ["0x02"]
    assert second[0].ts == start + 9_000
    assert exchange.now_ms == start + 16_000
    assert exchange.balances(user.user_id).wallet == D("30")


def test_advancing_backwards_is_a_400_and_changes_nothing(exchange: Exchange) -> None:
    now = exchange.now_ms
    events = len(exchange.events)

    with pytest.raises(OcxError) as refused:
        exchange.advance_to(now - 1)

    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.status == 400
    assert exchange.now_ms == now
    assert len(exchange.events) == events


def test_halt_and_resume_are_events_and_repeating_one_changes_nothing(
    exchange: Exchange,
) -> None:
    exchange.sim.halt("BTC-PERP")
    exchange.sim.halt("BTC-PERP")
    exchange.sim.resume("BTC-PERP")
    exchange.sim.resume("BTC-PERP")

    controls = [e for e in exchange.events if isinstance(e, MarketHalted | MarketResumed)]
    assert [(event_type(e), e.market_id) for e in controls] == [
        ("MarketHalted", "BTC-PERP"),
        ("MarketResumed", "BTC-PERP"),
    ]
    assert not exchange.is_halted("BTC-PERP")


def test_setting_the_index_moves_every_market_on_the_underlying_and_is_an_event(
    exchange: Exchange,
) -> None:
    exchange.sim.set_index("BTC-PERP", D("70000.00"))

    assert exchange.mark_price("BTC-PERP") == D("70000.00")
    assert exchange.mark_price("BTC-USDC-SPOT") == D("70000.00")
    assert exchange.price_band("BTC-PERP") == (D("63000.00"), D("77000.00"))
    (event,) = [e for e in exchange.events if isinstance(e, IndexSet)]
    assert (event.underlying, event.price) == ("BTC", D("70000.00"))


def test_a_pinned_mark_overrides_the_model_until_released(exchange: Exchange) -> None:
    exchange.sim.pin_mark("BTC-PERP", D("69000.00"))
    assert exchange.mark_price("BTC-PERP") == D("69000.00")
    assert exchange.mark_price("BTC-USDC-SPOT") == D("68000.00")

    exchange.sim.pin_mark("BTC-PERP", None)

    assert exchange.mark_price("BTC-PERP") == D("68000.00")
    pins = [(e.market_id, e.price) for e in exchange.events if isinstance(e, MarkPinned)]
    assert pins == [("BTC-PERP", D("69000.00")), ("BTC-PERP", None)]


@pytest.mark.parametrize("price", ["0", "-1", "NaN", "Infinity"])
def test_a_non_positive_or_non_finite_reference_price_is_refused_naming_price(
    exchange: Exchange, price: str
) -> None:
    for command in (exchange.sim.set_index, exchange.sim.pin_mark):
        with pytest.raises(OcxError) as refused:
            command("BTC-PERP", D(price))
        assert refused.value.code is ErrorCode.VALIDATION_ERROR
        assert refused.value.details == {"field": "price"}
    assert exchange.mark_price("BTC-PERP") == D("68000.00")


def test_market_controls_on_an_unknown_market_are_404(exchange: Exchange) -> None:
    for command in (exchange.sim.halt, exchange.sim.resume):
        with pytest.raises(OcxError) as refused:
            command("DOGE-PERP")
        assert refused.value.code is ErrorCode.UNKNOWN_MARKET
        assert refused.value.status == 404


def test_every_bucket_starts_empty_and_balances_read_the_ledger(exchange: Exchange) -> None:
    user = exchange.register_user("0x" + "cd" * 20).user_id
    exchange.sim.deposit(user, D("100"))
    exchange.transfer(user, Bucket.WALLET, Bucket.SPOT, D("40"))

    balances = exchange.balances(user)

    assert (balances.wallet, balances.perps, balances.options, balances.spot) == (
        D("60"),
        D("0"),
        D("0"),
        D("40"),
    )
    assert [(a.asset, a.available, a.locked, a.total) for a in exchange.spot_assets(user)] == [
        ("USDC", D("40"), D("0"), D("40"))
    ]
