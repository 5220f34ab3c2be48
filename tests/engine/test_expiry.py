"""Dated futures and options at expiry: orders cancelled, positions settled, new listings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim.clock import parse_iso
from ocx_sim.engine.core.events import MarketExpired, MarketListed, PositionSettled
from ocx_sim.engine.core.ledger import EntryType
from ocx_sim.engine.core.orders import MarginMode, OrderStatus
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.testing.builders import UserFactory, limit

D = Decimal
FRONT = "BTC-USDC-2026-03-27"
EXPIRY = parse_iso("2026-03-27T08:00:00Z")
CALL = "BTC-2026-01-09-66000-C"
PUT = "BTC-2026-01-09-70000-P"
WEEKLY = parse_iso("2026-01-09T08:00:00Z")


def _settlements(exchange: Exchange, user: str) -> list[Decimal]:
    return [e.amount for e in exchange.ledger_entries(user) if e.type == EntryType.SETTLEMENT]


def test_a_future_settles_every_position_at_the_index_at_expiry(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(bob, limit(FRONT, "sell", "0.1", "68700.00"))
    exchange.place_order(alice, limit(FRONT, "buy", "0.1", "68700.00"))
    exchange.advance_to(EXPIRY - 60_000)
    exchange.sim.set_index(FRONT, D("69123.456"))

    exchange.advance_to(EXPIRY)

    # Settled at the index on the tick, 69123.46: (69123.46 − 68700) × ±0.1 = ±42.346.
    assert _settlements(exchange, alice) == [D("42.346")]
    assert _settlements(exchange, bob) == [D("-42.346")]
    assert exchange.position(alice, FRONT) is None
    assert exchange.positions(bob) == []
    expired = [e for e in exchange.events_of(MarketExpired) if e.market_id == FRONT]
    assert [e.price for e in expired] == [D("69123.46")]
    settled = exchange.events_of(PositionSettled)
    assert [(e.user_id, e.quantity, e.amount) for e in settled] == [
        (alice, D("0.1"), D("42.346")),
        (bob, D("-0.1"), D("-42.346")),
    ]
    assert exchange.check_invariants() == []


def test_an_isolated_future_position_settled_at_expiry_keeps_no_allocation(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(bob, limit(FRONT, "sell", "0.1", "68700.00"))
    exchange.place_order(
        alice, limit(FRONT, "buy", "0.1", "68700.00", margin_mode=MarginMode.ISOLATED)
    )
    assert exchange.position(alice, FRONT, MarginMode.ISOLATED) is not None

    exchange.advance_to(EXPIRY)

    # A flat position holds no allocation: it would keep cross cash out of the cross part.
    assert [p.margin for p in exchange.user(alice).positions.values()] == [D(0)]
    assert exchange.margin(alice).isolated_margin == 0
    assert exchange.check_invariants() == []


def test_at_expiry_resting_orders_are_cancelled_and_the_market_closes(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice = make_user(perps="10000")
    resting = exchange.place_order(alice, limit(FRONT, "buy", "0.1", "68000.00")).order
    exchange.advance_to(EXPIRY)

    assert resting.status is OrderStatus.CANCELLED
    assert exchange.open_orders(alice) == []
    assert FRONT not in [m.id for m in exchange.linear_markets()]
    with pytest.raises(OcxError) as refusal:
        exchange.place_order(alice, limit(FRONT, "buy", "0.1", "68000.00"))
    assert refusal.value.code is ErrorCode.MARKET_EXPIRED
    # Nothing held: the margin came back with the cancel.
    assert exchange.margin(alice).initial_margin == 0


def test_new_futures_are_listed_so_front_and_next_always_exist(exchange: Exchange) -> None:
    def futures() -> list[str]:
        return [m.id for m in exchange.linear_markets() if m.id.startswith("BTC-USDC-2")]

    assert futures() == ["BTC-USDC-2026-03-27", "BTC-USDC-2026-06-26"]
    exchange.advance_to(EXPIRY)
    assert futures() == ["BTC-USDC-2026-06-26", "BTC-USDC-2026-09-25"]
    listed = [e.market_id for e in exchange.events_of(MarketListed)]
    assert "BTC-USDC-2026-09-25" in listed
    assert "WTIOIL-USDC-2026-09-25" in listed
    # The new contract trades on its carry mark like any other.
    assert exchange.mark_price("BTC-USDC-2026-09-25") is not None


def test_an_option_settles_its_payoff_at_expiry(exchange: Exchange, make_user: UserFactory) -> None:
    alice, bob = make_user(options="10000"), make_user(options="30000")
    exchange.place_order(bob, limit(CALL, "sell", "1", "2500.00"))
    exchange.place_order(alice, limit(CALL, "buy", "1", "2500.00"))
    exchange.place_order(bob, limit(PUT, "sell", "0.5", "2100.00"))
    exchange.place_order(alice, limit(PUT, "buy", "0.5", "2100.00"))
    exchange.advance_to(WEEKLY - 1)
    exchange.sim.set_index("BTC-PERP", D("70000"))

    exchange.advance_to(WEEKLY)

    # The 66000 call pays 70000 − 66000 = 4000 a unit; the 70000 put expires worthless.
    assert _settlements(exchange, alice) == [D("4000")]
    assert _settlements(exchange, bob) == [D("-4000")]
    assert exchange.positions(alice) == []
    assert exchange.positions(bob) == []
    assert exchange.check_invariants() == []


def test_a_new_weekly_chain_is_listed_when_one_expires(exchange: Exchange) -> None:
    exchange.sim.set_index("BTC-PERP", D("80000"))
    exchange.advance_to(WEEKLY)
    new = [m for m in exchange.catalog.options("BTC") if m.id.startswith("BTC-2026-01-23-")]
    strikes = sorted({m.strike for m in new if m.strike is not None})
    # Strikes around the forward of the index at listing time (80000 × ±20 %).
    assert strikes[0] == D("66000") and strikes[-1] == D("96000")


def test_settlement_waits_for_an_index_and_then_happens_once(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(bob, limit(FRONT, "sell", "0.1", "68700.00"))
    exchange.place_order(alice, limit(FRONT, "buy", "0.1", "68700.00"))
    exchange.advance_to(EXPIRY - 1)
    exchange.sim.set_index(FRONT, None)
    exchange.advance_to(EXPIRY + 90_000)
    assert _settlements(exchange, alice) == []
    assert exchange.position(alice, FRONT) is not None

    exchange.sim.set_index(FRONT, D("68000"))
    exchange.advance_to(EXPIRY + 180_000)

    # Settled at the first retry with an index: (68000 − 68700) × 0.1 = −70, once.
    assert _settlements(exchange, alice) == [D("-70")]
    assert _settlements(exchange, bob) == [D("70")]


# -- futures with curve points --------------------------------------------------------------

NEXT = "BTC-USDC-2026-06-26"
DAY = 86_400_000


def _hold_front(exchange: Exchange, make_user: UserFactory, price: str) -> tuple[str, str]:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(bob, limit(FRONT, "sell", "0.1", price))
    exchange.place_order(alice, limit(FRONT, "buy", "0.1", price))
    return alice, bob


def test_a_future_with_a_curve_point_settles_at_it_not_at_the_rolled_index(
    exchange: Exchange, make_user: UserFactory
) -> None:
    exchange.advance_to(EXPIRY - DAY)
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    alice, bob = _hold_front(exchange, make_user, "67900.00")
    exchange.advance_to(EXPIRY - 1)
    assert exchange.index_price("BTC-PERP") == D("69000")  # the roll ended a week ago

    exchange.advance_to(EXPIRY)

    # F1 settles at its own point, 68000, never at F2's level: (68000 − 67900) × ±0.1.
    expired = [e for e in exchange.events_of(MarketExpired) if e.market_id == FRONT]
    assert [e.price for e in expired] == [D("68000.00")]
    assert _settlements(exchange, alice) == [D("10")]
    assert _settlements(exchange, bob) == [D("-10")]
    # The curve moved on: the old F2 is the front at its point, and the new quarter is the
    # new F2, at 69000 × 69000 / 68000 (the curve keeps its spread ratio).
    assert exchange.mark_price(NEXT) == D("69000.00")
    assert exchange.mark_price("BTC-USDC-2026-09-25") == D("70014.71")
    assert exchange.check_invariants() == []


def test_a_walking_curves_front_settles_at_its_walked_point(
    exchange: Exchange, make_user: UserFactory
) -> None:
    exchange.advance_to(EXPIRY - 3_600_000)
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.sim.set_volatility("BTC", D("0.5"))
    _hold_front(exchange, make_user, "68000.00")

    exchange.advance_to(EXPIRY)

    # At expiry the index is F2's walked level; F1's point is the same walk on 68000.
    index = exchange.index_price("BTC-PERP")
    assert index is not None and index != D(69000)
    (expired,) = [e for e in exchange.events_of(MarketExpired) if e.market_id == FRONT]
    assert abs(expired.price - index * 68000 / 69000) <= D("0.01")


def test_a_curve_point_settlement_that_waited_for_the_feed_is_at_the_point_at_expiry(
    exchange: Exchange, make_user: UserFactory
) -> None:
    exchange.advance_to(EXPIRY - DAY)
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    alice, _ = _hold_front(exchange, make_user, "67900.00")
    exchange.advance_to(EXPIRY - 1)
    exchange.sim.set_index(FRONT, None)
    exchange.advance_to(EXPIRY + 90_000)
    assert _settlements(exchange, alice) == []

    exchange.sim.set_index(FRONT, D("72000"))
    exchange.advance_to(EXPIRY + 180_000)

    # The contract's price at its expiry, 68000, not the index the feed came back with.
    assert _settlements(exchange, alice) == [D("10")]


def test_a_future_without_a_curve_point_still_settles_at_the_index(
    exchange: Exchange, make_user: UserFactory
) -> None:
    exchange.advance_to(EXPIRY - DAY)
    exchange.sim.set_curve("XAUT", D("4000"), D("4050"))
    alice, _ = _hold_front(exchange, make_user, "67900.00")

    exchange.advance_to(EXPIRY)

    # BTC's curve is the catalog's default, not quoted: the carry mark converges on the
    # index and the future settles there.
    assert _settlements(exchange, alice) == [D("10")]
    (expired,) = [e for e in exchange.events_of(MarketExpired) if e.market_id == FRONT]
    assert expired.price == D("68000.00")
