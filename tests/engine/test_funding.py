"""Funding every 300 s: the time-weighted premium paid off over 8 hours (premium × 5 min / 8 h
a period), the ±25 bps cap, exact zero-sum payments."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ocx_sim.clock import SimClock
from ocx_sim.engine.core.events import AccountLiquidated, FundingSettled
from ocx_sim.engine.core.ledger import EntryType
from ocx_sim.engine.core.markets import DEFAULT_UNDERLYINGS, default_catalog
from ocx_sim.engine.core.orders import MarginMode
from ocx_sim.engine.exchange import Exchange
from ocx_sim.testing.builders import UserFactory, funded_user, limit

D = Decimal
PERP = "BTC-PERP"
ISOLATED = MarginMode.ISOLATED


def _trade(exchange: Exchange, long: str, short: str, quantity: str, price: str = "68000") -> None:
    exchange.place_order(short, limit(PERP, "sell", quantity, price))
    exchange.place_order(long, limit(PERP, "buy", quantity, price))


def _funding_paid(exchange: Exchange, user: str) -> list[Decimal]:
    return [e.amount for e in exchange.ledger_entries(user) if e.type == EntryType.FUNDING]


def test_a_period_at_a_steady_premium_pays_size_times_mark_times_rate(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("68652.80"))  # premium 652.8 / 68000 = 0.0096 all period

    exchange.advance_by(300_000)

    # The rate is the premium × 5 min / 8 h = 0.0096 / 96 = 0.0001; 0.5 × 68652.80 × 0.0001
    # = 3.43264: the long pays it to the short.
    assert _funding_paid(exchange, alice) == [D("-3.43264")]
    assert _funding_paid(exchange, bob) == [D("3.43264")]
    assert exchange.position(alice, PERP).funding_payment == D("-3.43264")  # type: ignore[union-attr]
    settled = [e for e in exchange.events if isinstance(e, FundingSettled)]
    assert [(e.market_id, e.rate, e.mark, e.open_interest, e.amount) for e in settled] == [
        (PERP, D("0.0001"), D("68652.80"), D("0.5"), D("3.43264"))
    ]


def test_a_premium_held_for_eight_hours_costs_about_itself(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "1")
    exchange.sim.pin_mark(PERP, D("68068.00"))  # a 0.1 % premium

    exchange.advance_by(8 * 3_600_000)

    # 96 periods at 0.001 / 96 = 0.0000104166…, kept to 10 decimals: 0.0000104167, each
    # paying 68068 × 0.0000104167 = 0.709044 (to the micro-dollar): 68.068224 in all, 0.1 %
    # of the notional over 8 hours, not 0.1 % every period.
    rates = {e.rate for e in exchange.events_of(FundingSettled)}
    assert rates == {D("0.0000104167")}
    paid = _funding_paid(exchange, alice)
    assert paid == [D("-0.709044")] * 96
    assert sum(paid) == D("-68.068224")


def test_the_rate_is_the_time_weighted_premium_over_the_period(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("68326.40"))  # 0.0048 for 200 s …
    exchange.advance_by(200_000)
    exchange.sim.pin_mark(PERP, D("69305.60"))  # … then 0.0192 for 100 s
    exchange.advance_by(100_000)

    # (0.0048 × 200 + 0.0192 × 100) / 300 = 0.0096, / 96 = 0.0001, paid on the mark at the
    # boundary: 0.5 × 69305.60 × 0.0001 = 3.46528.
    assert exchange.events_of(FundingSettled)[-1].rate == D("0.0001")
    assert _funding_paid(exchange, alice) == [D("-3.46528")]


def test_the_rate_is_capped_at_25_bps_a_period(exchange: Exchange, make_user: UserFactory) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("88400.00"))  # a 30 % premium: 0.3 / 96 = 0.003125
    exchange.advance_by(300_000)

    # Capped at 0.0025: 0.5 × 88400 × 0.0025 = 110.5.
    assert exchange.events_of(FundingSettled)[-1].rate == D("0.0025")
    assert _funding_paid(exchange, alice) == [D("-110.5")]


def test_a_one_percent_premium_is_far_below_the_cap(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("68680.00"))  # 1 %: the cap binds only past 24 %
    exchange.advance_by(300_000)

    # 0.01 / 96 = 0.000104166…: 0.0001041667; 0.5 × 68680 × 0.0001041667 = 3.577084…
    assert exchange.events_of(FundingSettled)[-1].rate == D("0.0001041667")
    assert _funding_paid(exchange, alice) == [D("-3.577084")]


def test_a_discount_makes_the_shorts_pay_the_longs(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("67347.20"))  # premium −0.0096: rate −0.0001
    exchange.advance_by(300_000)

    # 0.5 × 67347.20 × 0.0001 = 3.36736, from the short to the long.
    assert _funding_paid(exchange, bob) == [D("-3.36736")]
    assert _funding_paid(exchange, alice) == [D("3.36736")]


def test_payments_that_do_not_fall_on_the_micro_dollar_still_sum_to_zero(
    exchange: Exchange, make_user: UserFactory
) -> None:
    longs = [make_user(perps="1000") for _ in range(3)]
    short = make_user(perps="1000")
    for long in longs:
        _trade(exchange, long, short, "0.0001")
    exchange.sim.pin_mark(PERP, D("68652.80"))  # rate 0.0001
    exchange.advance_by(300_000)

    # Each long owes 0.0001 × 68652.80 × 0.0001 = 0.000686528; the total 0.002059584 rounds
    # to 0.002060 and is shared by largest remainder: 0.000687, 0.000687, 0.000686.
    paid = [_funding_paid(exchange, long) for long in longs]
    assert paid == [[D("-0.000687")], [D("-0.000687")], [D("-0.000686")]]
    assert _funding_paid(exchange, short) == [D("0.002060")]


def test_funding_is_paid_on_the_boundary_not_after_300_s_of_a_position(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.advance_by(240_000)  # 00:04:00
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("68652.80"))
    assert exchange.next_funding_at == exchange.now_ms + 60_000

    exchange.advance_by(60_000)

    # The premium 0.0096 held for 60 s of the 300 s period: 0.00192, / 96 = 0.00002;
    # 0.5 × 68652.80 × 0.00002 = 0.686528.
    assert _funding_paid(exchange, alice) == [D("-0.686528")]


def test_a_shorter_horizon_pays_the_premium_off_faster(make_user: UserFactory) -> None:
    start = Exchange.create(seed=1).now_ms
    hourly = tuple(
        replace(u, funding_horizon_hours=1) if u.symbol == "BTC" else u for u in DEFAULT_UNDERLYINGS
    )
    exchange = Exchange(seed=1, clock=SimClock(start), catalog=default_catalog(start, hourly))
    alice, bob = funded_user(exchange, perps="10000"), funded_user(exchange, perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("68652.80"))  # 0.0096
    exchange.sim.pin_mark("XAUT-USDC-PERP", D("4038.40"))  # 0.0096 on an 8-hour underlying

    assert exchange.funding_rate(PERP) == D("0.0008")  # 0.0096 × 5 min / 1 h
    assert exchange.funding_rate("XAUT-USDC-PERP") == D("0.0001")  # 0.0096 × 5 min / 8 h
    exchange.advance_by(300_000)
    # 0.5 × 68652.80 × 0.0008 = 27.46112
    assert _funding_paid(exchange, alice) == [D("-27.46112")]


def test_no_premium_or_no_position_pays_nothing(exchange: Exchange, make_user: UserFactory) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.advance_by(3_600_000)
    assert _funding_paid(exchange, alice) == []
    assert exchange.events_of(FundingSettled) == []


def test_the_running_rate_shows_the_period_so_far(
    exchange: Exchange, make_user: UserFactory
) -> None:
    exchange.sim.pin_mark(PERP, D("69305.60"))  # premium 0.0192
    exchange.advance_by(150_000)
    exchange.sim.pin_mark(PERP, D("68000.00"))
    exchange.advance_by(50_000)
    # 0.0192 for 150 s of the 200 s so far: 0.0144, / 96 = 0.00015.
    assert exchange.funding_rate(PERP) == D("0.00015")
    assert exchange.funding_rate("BTC-USDC-SPOT") is None


def test_every_period_is_zero_sum_across_all_accounts(
    exchange: Exchange, make_user: UserFactory
) -> None:
    users = [make_user(perps="5000") for _ in range(4)]
    _trade(exchange, users[0], users[1], "0.0133")
    _trade(exchange, users[2], users[1], "0.0071")
    _trade(exchange, users[3], users[0], "0.0029")
    for mark in ["68101.37", "67950.11", "68012.99"]:
        exchange.sim.pin_mark(PERP, D(mark))
        exchange.advance_by(300_000)
    movements: dict[int, Decimal] = {}
    for entry in exchange.ledger.entries:
        if entry.type == EntryType.FUNDING:
            movements[entry.movement] = movements.get(entry.movement, D(0)) + entry.amount
    assert len(movements) == 3
    assert set(movements.values()) == {D(0)}


def test_funding_comes_out_of_an_isolated_allocation_so_the_position_is_liquidated_in_time(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # 0.1 BTC isolated on 400 USDC: 340 allocated, 60 left in the cross part. A 1 % premium
    # costs the long about 0.72 a period; paid from the allocation, it takes the position's
    # equity (allocation + unrealized PnL) to its maintenance within a day, instead of
    # emptying the bucket while the position looks healthy.
    alice, bob = make_user(perps="400"), make_user(perps="100000")
    exchange.place_order(bob, limit(PERP, "sell", "0.1", "68000"))
    exchange.place_order(alice, limit(PERP, "buy", "0.1", "68000", margin_mode=ISOLATED))
    exchange.sim.pin_mark(PERP, D("68680.00"))

    exchange.advance_by(3 * 24 * 3_600_000)

    liquidated = exchange.events_of(AccountLiquidated)
    assert [(e.user_id, e.margin_mode) for e in liquidated] == [(alice, "isolated")]
    assert liquidated[0].ts < exchange.now_ms - 24 * 3_600_000
    assert exchange.balances(alice).perps >= 0
    assert exchange.check_invariants() == []


def test_an_isolated_allocation_takes_what_its_position_pays_and_earns(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(bob, limit(PERP, "sell", "0.5", "68000", margin_mode=ISOLATED))
    exchange.place_order(alice, limit(PERP, "buy", "0.5", "68000", margin_mode=ISOLATED))
    exchange.sim.pin_mark(PERP, D("68652.80"))

    exchange.advance_by(300_000)

    # 0.5 × 68000 / 20 = 1700 each, then 3.43264 from the long to the short.
    assert exchange.position(alice, PERP, ISOLATED).margin == D("1696.56736")  # type: ignore[union-attr]
    assert exchange.position(bob, PERP, ISOLATED).margin == D("1703.43264")  # type: ignore[union-attr]
    # The cross part (balance − allocations) is what the trade's fee left it: 10000 − 1700
    # allocated − the taker's 5 bps (17.00) or the maker's 2 bps (6.80) on 34000.
    assert exchange.margin(alice).cross_equity == D("8283.00")
    assert exchange.margin(bob).cross_equity == D("8293.20")
