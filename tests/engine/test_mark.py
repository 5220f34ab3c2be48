"""Marks: the perpetual's (the index plus a basis that follows only a healthy book, smoothed) and
the dated futures' (their curve point when the curve is quoted, else the carry fair value)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim.engine.core.events import OrderTriggered
from ocx_sim.engine.core.orders import OrderRequest, OrderType, Side
from ocx_sim.engine.exchange import Exchange
from ocx_sim.testing.builders import UserFactory, funded_user, limit

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


# -- dated futures: curve points or carry ---------------------------------------------------

F1, F2, XAUT_F1 = "BTC-USDC-2026-03-27", "BTC-USDC-2026-06-26", "XAUT-USDC-2026-03-27"
ROLL_MIDDLE = 1_773_835_200_000
"""2026-03-17T12:00:00Z, inside the roll window before F1's expiry (2026-03-15 08:00 to
2026-03-20 08:00)."""


def test_a_quoted_curve_marks_the_front_future_at_f1_and_the_next_at_f2(
    exchange: Exchange,
) -> None:
    carried = exchange.mark_price(F1)
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))

    # Each future at its own point, no carry on top; the index is F1.
    assert carried == D("68785.57")  # 68000 × (1 + 0.05 × 84 days / 365) before the curve
    assert (exchange.mark_price(F1), exchange.mark_price(F2)) == (D("68000.00"), D("69000.00"))
    assert exchange.index_price(PERP) == D("68000")
    # An underlying without a quoted curve keeps the carry fair value.
    assert exchange.mark_price(XAUT_F1) == D("4046.21")


def test_in_the_roll_window_the_index_moves_but_each_future_stays_at_its_point(
    exchange: Exchange,
) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.advance_to(ROLL_MIDDLE)

    index = exchange.index_price(PERP)
    assert index is not None and D(68000) < index < D(69000)
    assert (exchange.mark_price(F1), exchange.mark_price(F2)) == (D("68000.00"), D("69000.00"))


def test_a_walking_curve_moves_both_points_by_the_same_factor(exchange: Exchange) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.sim.set_volatility("BTC", D("0.5"))
    exchange.advance_by(3_600_000)

    index, front, following = (
        exchange.index_price(PERP),
        exchange.mark_price(F1),
        exchange.mark_price(F2),
    )
    assert index is not None and front is not None and following is not None
    assert index != D(68000)
    # Outside the roll window F1 is the index (on the tick); F2 keeps the curve's ratio.
    assert front == index.quantize(D("0.01"))
    assert abs(following - index * 69000 / 68000) <= D("0.01")


def test_a_pinned_index_carries_the_curve_points_with_it(exchange: Exchange) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.sim.set_index(PERP, D("70000"))

    # The whole curve moves to the pin: F1 = 70000, F2 = 69000 × 70000 / 68000 = 71029.41…
    assert (exchange.mark_price(F1), exchange.mark_price(F2)) == (D("70000.00"), D("71029.41"))
    exchange.sim.set_index(PERP, None)
    assert exchange.mark_price(F1) is None


def test_a_pinned_future_mark_wins_over_its_curve_point(exchange: Exchange) -> None:
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.sim.pin_mark(F1, D("67500.00"))

    assert exchange.mark_price(F1) == D("67500.00")
    exchange.sim.pin_mark(F1, None)
    assert exchange.mark_price(F1) == D("68000.00")


def _walking_curve() -> Exchange:
    exchange = Exchange.create(seed=3)
    exchange.sim.set_curve("BTC", D("68000"), D("69000"))
    exchange.sim.set_volatility("BTC", D("0.5"))
    return exchange


def test_a_stop_on_a_curve_future_fires_the_second_its_walked_point_crosses() -> None:
    stop = D("68965.50")  # 0.05 % under F2's point
    probe = _walking_curve()
    crossed = None
    for _ in range(3_600):
        probe.advance_by(1_000)
        mark = probe.mark_price(F2)
        if mark is not None and mark <= stop:
            crossed = probe.now_ms
            break
    assert crossed is not None
    exchange = _walking_curve()
    user = funded_user(exchange, perps="10000")
    request = OrderRequest(F2, Side.SELL, D("0.1"), type=OrderType.MARKET, stop_price=stop)
    exchange.place_order(user, request)

    exchange.advance_by(3_600_000)

    # The price tick follows the future's mark at its point (not at a carry on the index) to
    # know when the trigger watcher must look, so it looks at the first second it crossed.
    assert [e.ts for e in exchange.events_of(OrderTriggered)] == [crossed]
