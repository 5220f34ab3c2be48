"""The perpetual's mark: the index plus a basis that follows only a healthy book, smoothed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim.engine.exchange import Exchange
from ocx_sim.testing.builders import UserFactory, limit

D = Decimal
PERP = "BTC-PERP"


def _quote(exchange: Exchange, maker: str, bid: str, ask: str) -> None:
    exchange.place_order(maker, limit(PERP, "buy", "0.1", bid))
    exchange.place_order(maker, limit(PERP, "sell", "0.1", ask))


def _ticking(exchange: Exchange) -> bool:
    return any(t.name == "price tick" for t in exchange.clock.pending_timers())


def test_the_mark_moves_halfway_to_a_healthy_books_mid_in_ten_seconds(
    exchange: Exchange, make_user: UserFactory
) -> None:
    _quote(exchange, make_user(perps="10000"), "68100.00", "68120.00")
    assert exchange.mark_price(PERP) == D("68000.00")  # nothing sampled yet

    exchange.advance_by(10_000)

    # Mid 68110 is 110 over the index; a 10 s half-life covers half of it.
    assert abs(exchange.mark_price(PERP) - D("68055")) < D("0.01")  # type: ignore[operator]
    exchange.advance_by(50_000)
    # After 60 s: 110 × (1 − 2^−6) = 108.28125.
    assert abs(exchange.mark_price(PERP) - D("68108.28125")) < D("0.01")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("bid", "ask"),
    [
        ("68100.00", None),  # one-sided
        ("67000.00", "69000.00"),  # spread 2.9 %
        ("68400.00", "68420.00"),  # mid 0.6 % from the index
    ],
)
def test_an_unhealthy_book_leaves_the_mark_on_the_index(
    exchange: Exchange, make_user: UserFactory, bid: str, ask: str | None
) -> None:
    maker = make_user(perps="10000")
    exchange.place_order(maker, limit(PERP, "buy", "0.1", bid))
    if ask is not None:
        exchange.place_order(maker, limit(PERP, "sell", "0.1", ask))
    exchange.advance_by(60_000)
    assert exchange.mark_price(PERP) == D("68000.00")
    assert not _ticking(exchange)


def test_a_wick_in_the_book_does_not_move_the_mark(
    exchange: Exchange, make_user: UserFactory
) -> None:
    maker, taker = make_user(perps="10000"), make_user(perps="10000")
    _quote(exchange, maker, "67990.00", "68010.00")
    exchange.advance_by(30_000)
    exchange.place_order(maker, limit(PERP, "sell", "0.01", "68600.00"))
    # A market buy sweeps the ask side up to 68600 (a last trade 0.9 % above the index) …
    exchange.place_order(taker, limit(PERP, "buy", "0.11", "68600.00"))
    exchange.advance_by(1_000)
    # … but the book is one-sided now: the mark stays on the index.
    assert abs(exchange.mark_price(PERP) - D("68000")) < D("0.01")  # type: ignore[operator]


def test_when_the_book_empties_the_basis_decays_and_the_tick_stops(
    exchange: Exchange, make_user: UserFactory
) -> None:
    maker = make_user(perps="10000")
    _quote(exchange, maker, "68100.00", "68120.00")
    exchange.advance_by(200_000)
    # 110 × 2^−20 is under half a tick: the basis has arrived.
    assert exchange.mark_price(PERP) == D("68110")

    exchange.cancel_all(maker)
    exchange.advance_by(10_000)
    assert abs(exchange.mark_price(PERP) - D("68055")) < D("0.01")  # type: ignore[operator]
    exchange.advance_by(600_000)
    assert exchange.mark_price(PERP) == D("68000.00")
    assert not _ticking(exchange)


def test_the_mark_follows_the_index_at_once(exchange: Exchange, make_user: UserFactory) -> None:
    _quote(exchange, make_user(perps="10000"), "68100.00", "68120.00")
    exchange.advance_by(10_000)
    basis = exchange.mark_price(PERP) - D("68000")  # type: ignore[operator]
    exchange.sim.set_index(PERP, D("68050"))
    assert exchange.mark_price(PERP) == D("68050") + basis


def test_a_pinned_mark_is_not_smoothed(exchange: Exchange, make_user: UserFactory) -> None:
    _quote(exchange, make_user(perps="10000"), "68100.00", "68120.00")
    exchange.sim.pin_mark(PERP, D("68300.00"))
    exchange.advance_by(10_000)
    assert exchange.mark_price(PERP) == D("68300.00")
