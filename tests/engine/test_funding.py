"""Funding every 300 s: the time-weighted premium, the ±25 bps cap, exact zero-sum payments."""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.engine.core.events import FundingSettled
from ocx_sim.engine.core.ledger import EntryType
from ocx_sim.engine.exchange import Exchange
from ocx_sim.testing.builders import UserFactory, limit

D = Decimal
PERP = "BTC-PERP"


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
    exchange.sim.pin_mark(PERP, D("68068.00"))  # premium 68 / 68000 = 0.001 for the whole period

    exchange.advance_by(300_000)

    # 0.5 × 68068 × 0.001 = 34.034: the long pays it to the short.
    assert _funding_paid(exchange, alice) == [D("-34.034")]
    assert _funding_paid(exchange, bob) == [D("34.034")]
    assert exchange.position(alice, PERP).funding_payment == D("-34.034")  # type: ignore[union-attr]
    settled = [e for e in exchange.events if isinstance(e, FundingSettled)]
    assert [(e.market_id, e.rate, e.mark, e.open_interest, e.amount) for e in settled] == [
        (PERP, D("0.001"), D("68068.00"), D("0.5"), D("34.034"))
    ]


def test_the_rate_is_the_time_weighted_premium_over_the_period(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("68068.00"))  # 0.001 for 200 s …
    exchange.advance_by(200_000)
    exchange.sim.pin_mark(PERP, D("68170.00"))  # … then 0.0025 for 100 s
    exchange.advance_by(100_000)

    # (0.001 × 200 + 0.0025 × 100) / 300 = 0.0015, paid on the mark at the boundary:
    # 0.5 × 68170 × 0.0015 = 51.1275.
    assert exchange.events_of(FundingSettled)[-1].rate == D("0.0015")
    assert _funding_paid(exchange, alice) == [D("-51.1275")]


def test_the_rate_is_capped_at_25_bps_a_period(exchange: Exchange, make_user: UserFactory) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("68680.00"))  # a 1 % premium
    exchange.advance_by(300_000)

    # Capped at 0.0025: 0.5 × 68680 × 0.0025 = 85.85.
    assert _funding_paid(exchange, alice) == [D("-85.85")]


def test_a_discount_makes_the_shorts_pay_the_longs(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("67932.00"))  # premium −0.001
    exchange.advance_by(300_000)

    # 0.5 × 67932 × 0.001 = 33.966, from the short to the long.
    assert _funding_paid(exchange, bob) == [D("-33.966")]
    assert _funding_paid(exchange, alice) == [D("33.966")]


def test_payments_that_do_not_fall_on_the_micro_dollar_still_sum_to_zero(
    exchange: Exchange, make_user: UserFactory
) -> None:
    longs = [make_user(perps="1000") for _ in range(3)]
    short = make_user(perps="1000")
    for long in longs:
        _trade(exchange, long, short, "0.0001")
    exchange.sim.pin_mark(PERP, D("68068.00"))
    exchange.advance_by(300_000)

    # Each long owes 0.0001 × 68068 × 0.001 = 0.0068068; the total 0.0204204 rounds to
    # 0.020420 and is shared by largest remainder: 0.006807, 0.006807, 0.006806.
    paid = [_funding_paid(exchange, long) for long in longs]
    assert paid == [[D("-0.006807")], [D("-0.006807")], [D("-0.006806")]]
    assert _funding_paid(exchange, short) == [D("0.020420")]


def test_funding_is_paid_on_the_boundary_not_after_300_s_of_a_position(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.advance_by(240_000)  # 00:04:00
    _trade(exchange, alice, bob, "0.5")
    exchange.sim.pin_mark(PERP, D("68068.00"))
    assert exchange.next_funding_at == exchange.now_ms + 60_000

    exchange.advance_by(60_000)

    # The premium held for 60 s of the 300 s period: 0.001 × 60 / 300 = 0.0002;
    # 0.5 × 68068 × 0.0002 = 6.8068.
    assert _funding_paid(exchange, alice) == [D("-6.8068")]


def test_no_premium_or_no_position_pays_nothing(exchange: Exchange, make_user: UserFactory) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _trade(exchange, alice, bob, "0.5")
    exchange.advance_by(3_600_000)
    assert _funding_paid(exchange, alice) == []
    assert exchange.events_of(FundingSettled) == []


def test_the_running_rate_shows_the_period_so_far(
    exchange: Exchange, make_user: UserFactory
) -> None:
    exchange.sim.pin_mark(PERP, D("68136.00"))  # premium 0.002
    exchange.advance_by(150_000)
    exchange.sim.pin_mark(PERP, D("68000.00"))
    exchange.advance_by(50_000)
    # 0.002 for 150 s of the 200 s so far: 0.0015.
    assert exchange.funding_rate(PERP) == D("0.0015")
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
