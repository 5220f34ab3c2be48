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
