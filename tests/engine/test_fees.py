"""Fee tiers, the rolling 30-day volume window, maker rebates and the option fee cap."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import Bucket, Exchange, SimClock
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.engine.core.fees import WINDOW_MS, FeeSchedule, FeeTier, OptionFees, VolumeTracker
from ocx_sim.engine.core.ledger import FEES, EntryType
from ocx_sim.engine.core.orders import FeeRole
from ocx_sim.testing.builders import UserFactory, credit_spot, limit, market

D = Decimal
T0 = DEFAULT_START_MS
DAY_MS = 86_400_000


# -- the tier table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("volume", "maker_bps", "taker_bps"),
    [
        ("0", "2", "5"),
        ("999999.99", "2", "5"),
        ("1000000", "1", "4.5"),
        ("9999999.999999", "1", "4.5"),
        ("10000000", "0", "4"),
        ("49999999.99", "0", "4"),
        ("50000000", "-0.5", "3.5"),
        ("75000000000", "-0.5", "3.5"),
    ],
)
def test_tier_for_volume_picks_the_highest_tier_reached(
    volume: str, maker_bps: str, taker_bps: str
) -> None:
    tier = FeeSchedule().tier_for(D(volume))

    assert tier.maker_bps == D(maker_bps)
    assert tier.taker_bps == D(taker_bps)
    assert tier.bps(FeeRole.MAKER) == D(maker_bps)
    assert tier.bps(FeeRole.TAKER) == D(taker_bps)


def test_linear_fee_is_bps_of_notional_quantized_to_usdc() -> None:
    schedule = FeeSchedule()
    base, top = schedule.tier_for(D(0)), schedule.tier_for(D(50_000_000))

    # 6800 notional: taker 5 bps = 3.40, maker 2 bps = 1.36; top tier maker −0.5 bps = −0.34
    assert schedule.linear_fee(D("6800.00"), FeeRole.TAKER, base) == D("3.400000")
    assert schedule.linear_fee(D("6800.00"), FeeRole.MAKER, base) == D("1.360000")
    assert schedule.linear_fee(D("6800.00"), FeeRole.MAKER, top) == D("-0.340000")
    # 0.0001 × 0.01 = 0.000001 notional: 5 bps of it rounds half-even to zero
    assert schedule.linear_fee(D("0.000001"), FeeRole.TAKER, base) == 0


def test_a_fee_schedule_must_start_at_zero_volume() -> None:
    with pytest.raises(ValueError, match="zero volume"):
        FeeSchedule((FeeTier(D(1), D(2), D(5)),))


# -- the rolling window ----------------------------------------------------------------------


def test_a_fill_exactly_thirty_days_old_has_left_the_window() -> None:
    tracker = VolumeTracker()
    tracker.record("u", T0, D("6800"))
    tracker.record("u", T0 + DAY_MS, D("100"))

    assert tracker.volume("u", T0 + WINDOW_MS - 1) == D("6900")
    assert tracker.volume("u", T0 + WINDOW_MS) == D("100")
    assert tracker.volume("u", T0 + DAY_MS + WINDOW_MS) == 0
    assert tracker.volume("nobody", T0) == 0


def test_fills_of_one_instant_add_up_and_leave_together() -> None:
    tracker = VolumeTracker()
    tracker.record("u", T0, D("1"))
    tracker.record("u", T0, D("2"))
    tracker.record("v", T0, D("5"))

    assert tracker.volume("u", T0) == D(3)
    assert tracker.volume("v", T0) == D(5)
    assert tracker.volume("u", T0 + WINDOW_MS) == 0
    assert WINDOW_MS == 30 * DAY_MS


def test_the_volume_window_runs_on_the_simulated_clock(
    exchange: Exchange, make_user: UserFactory
) -> None:
    maker, taker = make_user(perps="5000"), make_user(perps="5000")
    exchange.place_order(maker, limit("BTC-PERP", "buy", "0.1", "68000.00"))
    exchange.place_order(taker, market("BTC-PERP", "sell", "0.1"))

    assert exchange.volume_30d(maker) == D("6800.0000")
    assert exchange.volume_30d(taker) == D("6800.0000")
    exchange.advance_by(WINDOW_MS - 1)
    assert exchange.volume_30d(maker) == D("6800.0000")
    exchange.advance_by(1)
    assert exchange.volume_30d(maker) == 0
    assert exchange.volume_30d(taker) == 0


# -- fees charged by trades ------------------------------------------------------------------


def test_a_perp_trade_charges_taker_5_and_maker_2_bps_in_the_perps_bucket(
    exchange: Exchange, make_user: UserFactory
) -> None:
    maker, taker = make_user(perps="5000"), make_user(perps="5000")
    resting = exchange.place_order(maker, limit("BTC-PERP", "buy", "0.1", "68000.00")).order

    placed = exchange.place_order(taker, market("BTC-PERP", "sell", "0.1"))

    # notional 0.1 × 68000 = 6800: taker 5 bps = 3.40, maker 2 bps = 1.36
    (fill,) = placed.fills
    assert (fill.fee, fill.fee_role) == (D("3.40"), FeeRole.TAKER)
    (maker_fill,) = exchange.fills(maker)
    assert (maker_fill.fee, maker_fill.fee_role, maker_fill.order_id) == (
        D("1.36"),
        FeeRole.MAKER,
        resting.id,
    )
    assert exchange.balances(taker).perps == D("4996.60")
    assert exchange.balances(maker).perps == D("4998.64")
    assert exchange.balances(taker).wallet == exchange.balances(maker).wallet == 0
    assert exchange.ledger.balance(FEES) == D("4.76")
    (taker_fee,) = [e for e in exchange.ledger_entries(taker) if e.type == EntryType.TRADE_FEE]
    (maker_fee,) = [e for e in exchange.ledger_entries(maker) if e.type == EntryType.TRADE_FEE]
    assert (taker_fee.bucket, taker_fee.amount, taker_fee.ref) == (
        "perps",
        D("-3.40"),
        fill.trade_id,
    )
    assert (maker_fee.bucket, maker_fee.amount, maker_fee.ref) == (
        "perps",
        D("-1.36"),
        fill.trade_id,
    )
    assert exchange.check_invariants() == []


def test_a_spot_trade_charges_fees_in_spot_usdc(exchange: Exchange, make_user: UserFactory) -> None:
    buyer, seller = make_user(spot="1000"), make_user(spot="0")
    credit_spot(exchange, seller, "BTC", "0.01")
    exchange.place_order(seller, limit("BTC-USDC-SPOT", "sell", "0.01", "68000.00"))

    exchange.place_order(buyer, market("BTC-USDC-SPOT", "buy", "0.01"))

    # notional 680: buyer (taker) pays 680 + 0.34, seller (maker) gets 680 − 0.136
    assert exchange.balances(buyer).spot == D("319.66")
    assert exchange.balances(seller).spot == D("679.864")
    assert exchange.ledger.balance(FEES) == D("0.476")
    assert exchange.ledger.balance((buyer, "spot", "BTC")) == D("0.01")
    assert exchange.check_invariants() == []


def test_crossing_one_million_of_volume_lowers_both_fees_to_the_next_tier(
    exchange: Exchange, make_user: UserFactory
) -> None:
    a, b = make_user(perps="100000"), make_user(perps="100000")
    exchange.place_order(a, limit("BTC-PERP", "buy", "15", "68000.00"))
    exchange.place_order(b, market("BTC-PERP", "sell", "15"))  # 1 020 000 each
    assert exchange.volume_30d(a) == exchange.volume_30d(b) == D("1020000")
    fees_before = exchange.ledger.balance(FEES)

    exchange.place_order(b, limit("BTC-PERP", "buy", "1", "68000.00"))
    placed = exchange.place_order(a, market("BTC-PERP", "sell", "1"))

    # 68000 notional: taker 4.5 bps = 30.60, maker 1 bp = 6.80
    assert placed.fills[0].fee == D("30.60")
    assert exchange.fills(b)[0].fee == D("6.80")
    assert exchange.ledger.balance(FEES) - fees_before == D("37.40")


def test_past_fifty_million_the_maker_is_paid_a_rebate(
    exchange: Exchange, make_user: UserFactory
) -> None:
    a, b = make_user(perps="3000000"), make_user(perps="3000000")
    exchange.place_order(a, limit("BTC-PERP", "buy", "740", "68000.00"))
    exchange.place_order(b, market("BTC-PERP", "sell", "740"))  # 50 320 000 each
    fees_before = exchange.ledger.balance(FEES)
    maker_before = exchange.balances(a).perps
    taker_before = exchange.balances(b).perps

    exchange.place_order(a, limit("BTC-PERP", "sell", "0.1", "68000.00"))
    placed = exchange.place_order(b, market("BTC-PERP", "buy", "0.1"))

    # 6800 notional: maker −0.5 bps = −0.34 (a rebate), taker 3.5 bps = 2.38
    assert exchange.fills(a)[0].fee == D("-0.34")
    assert placed.fills[0].fee == D("2.38")
    assert exchange.balances(a).perps - maker_before == D("0.34")
    assert exchange.balances(b).perps - taker_before == D("-2.38")
    assert exchange.ledger.balance(FEES) - fees_before == D("2.04")
    rebate = exchange.ledger_entries(a)[0]
    assert (rebate.type, rebate.amount, rebate.bucket) == (EntryType.TRADE_FEE, D("0.34"), "perps")
    assert exchange.check_invariants() == []


def test_a_maker_rebate_is_paid_out_of_the_fee_account() -> None:
    rebating = FeeSchedule((FeeTier(D(0), D(-1), D(0)),))
    exchange = Exchange(seed=1, clock=SimClock(DEFAULT_START_MS), fees=rebating)
    users = []
    for n in (1, 2):
        user = exchange.register_user(f"0x{n:040x}").user_id
        exchange.sim.deposit(user, D("5000"))
        exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, D("5000"))
        users.append(user)
    maker, taker = users

    exchange.place_order(maker, limit("BTC-PERP", "buy", "0.1", "68000.00"))
    exchange.place_order(taker, market("BTC-PERP", "sell", "0.1"))

    # maker −1 bp of 6800 = −0.68 paid from the fee account; taker pays nothing
    assert exchange.ledger.balance(FEES) == D("-0.68")
    assert exchange.balances(maker).perps == D("5000.68")
    assert exchange.balances(taker).perps == D("5000")
    assert exchange.ledger.totals() == {"USDC": 0}
    assert exchange.check_invariants() == []


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "quantity", "premium", "underlying", "expected"),
    [
        # 3 bps of 1 × 68000 = 20.40 < 12.5 % × 1240 = 155
        (FeeRole.TAKER, "1", "1240", "68000", "20.40"),
        # 2 bps of 1 × 68000 = 13.60
        (FeeRole.MAKER, "1", "1240", "68000", "13.60"),
        # 3 bps of 2 × 68000 = 40.80 > 12.5 % × 2 × 100 = 25
        (FeeRole.TAKER, "2", "100", "68000", "25.00"),
        # 2 bps of 2 × 68000 = 27.20 > 25
        (FeeRole.MAKER, "2", "100", "68000", "25.00"),
        # exactly at the cap: 12.5 % × 163.20 = 20.40
        (FeeRole.TAKER, "1", "163.20", "68000", "20.40"),
        # a cheap option's fee is cut to 12.5 % of 0.5 × 0.05 = 0.003125 → 0.003125
        (FeeRole.TAKER, "0.5", "0.05", "68000", "0.003125"),
    ],
)
def test_option_fee_is_bps_of_underlying_notional_capped_at_an_eighth_of_the_premium(
    role: FeeRole, quantity: str, premium: str, underlying: str, expected: str
) -> None:
    fee = OptionFees().fee(role, D(quantity), D(premium), D(underlying))

    assert fee == D(expected)


def test_an_option_trade_charges_the_capped_fee_in_the_options_bucket(
    exchange: Exchange, make_user: UserFactory
) -> None:
    option = exchange.catalog.options("BTC")[0].id
    seller, buyer = make_user(options="5000"), make_user(options="5000")
    exchange.place_order(seller, limit(option, "sell", "0.1", "50.00"))

    placed = exchange.place_order(buyer, limit(option, "buy", "0.1", "50.00"))

    # premium 0.1 × 50 = 5; by notional 3 bps × 6800 = 2.04 and 2 bps = 1.36, but the cap is
    # 12.5 % × 5 = 0.625 for both sides
    assert placed.fills[0].fee == D("0.625")
    assert exchange.fills(seller)[0].fee == D("0.625")
    assert exchange.balances(buyer).options == D("4994.375")  # − 5 − 0.625
    assert exchange.balances(seller).options == D("5004.375")  # + 5 − 0.625
    assert exchange.ledger.balance(FEES) == D("1.25")
    assert exchange.check_invariants() == []
