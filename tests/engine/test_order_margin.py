"""Open-order margin on linear markets: only what would increase the position pays
(core/order_margin.py; docs/fidelity.md "Fees and risk")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocx_sim import ErrorCode, Exchange, MarginMode, OcxError
from ocx_sim.engine.commands.quotes import QuoteRequest
from ocx_sim.engine.core.order_margin import Ladder, increasing_lots
from ocx_sim.engine.core.orders import Side
from ocx_sim.testing.builders import UserFactory, limit, market

D = Decimal
PERP = "BTC-PERP"
LOT_VALUE, STEP = D("0.000001"), D("0.0001")
"""BTC-PERP's: a tick of 0.01 × a lot of 0.0001."""

rungs = st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.integers(1, 20)), max_size=12)


@given(rungs, st.integers(-200, 200))
def test_a_ladder_holds_margin_on_what_the_position_does_not_close(
    orders: list[tuple[bool, int, int]], position: int
) -> None:
    ladder = Ladder(LOT_VALUE / 20, STEP)
    for is_buy, ticks, lots in orders:
        ladder.add(is_buy, ticks, lots)
    # Lot by lot: the position closes the cheapest asks (a long) or the dearest bids (a
    # short), one lot at a time.
    closing = [
        ticks
        for is_buy, ticks, lots in orders
        for _ in range(lots)
        if position and is_buy is (position < 0)
    ]
    closing.sort(reverse=position < 0)
    absorbed = sum(closing[: abs(position)])

    unabsorbed = sum(t * lots for _, t, lots in orders) - absorbed
    assert ladder.margin(position * STEP) == LOT_VALUE * unabsorbed / 20


def test_removing_every_lot_empties_a_ladder() -> None:
    ladder = Ladder(LOT_VALUE / 20, STEP)
    ladder.add(True, 100, 3)
    ladder.add(False, 101, 2)
    ladder.add(True, 100, -3)
    ladder.add(False, 101, -2)

    assert ladder.empty
    assert (ladder.bid_prices, ladder.ask_prices) == ([], [])
    assert (ladder.bid_lots, ladder.ask_lots, ladder.bid_notional, ladder.ask_notional) == (
        0,
        0,
        0,
        0,
    )


def test_new_closing_orders_absorb_what_is_left_best_price_first() -> None:
    # Three asks against 5 lots left to close: the 100 takes 3, the 101 the other 2.
    assert increasing_lots(5, [((102, 0), 4), ((100, 1), 3), ((101, 2), 4)]) == [4, 0, 2]


def long_of(
    exchange: Exchange,
    make_user: UserFactory,
    quantity: str,
    perps: str,
    mode: MarginMode = MarginMode.CROSS,
) -> str:
    """A user with `perps` USDC long `quantity` BTC-PERP at 68000 in `mode`."""
    user, seller = make_user(perps=perps), make_user(perps="100000")
    exchange.place_order(seller, limit(PERP, "sell", quantity, "68000.00"))
    exchange.place_order(user, limit(PERP, "buy", quantity, "68000.00", margin_mode=mode))
    return user


def test_closing_asks_are_absorbed_cheapest_first_and_the_rest_holds_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = long_of(exchange, make_user, "0.1", "10000")

    exchange.place_order(user, limit(PERP, "sell", "0.1", "70000.00"))
    exchange.place_order(user, limit(PERP, "sell", "0.1", "69000.00"))

    # The 69000 ask closes the position; the 70000 one would open a short: 0.1 × 70000 / 20.
    assert exchange.margin(user).order_margin == D(350)
    assert exchange.check_invariants() == []


def test_a_fill_that_grows_the_position_frees_the_margin_of_its_closing_orders(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = long_of(exchange, make_user, "0.1", "10000")
    exchange.place_order(user, limit(PERP, "sell", "0.2", "70000.00"))
    assert exchange.margin(user).order_margin == D(350)  # 0.1 of 0.2 is absorbed

    seller = make_user(perps="100000")
    exchange.place_order(seller, limit(PERP, "sell", "0.1", "68000.00"))
    exchange.place_order(user, market(PERP, "buy", "0.1"))

    assert exchange.margin(user).order_margin == 0


def test_an_isolated_position_absorbs_only_isolated_orders(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = long_of(exchange, make_user, "0.1", "10000", MarginMode.ISOLATED)

    exchange.place_order(user, limit(PERP, "sell", "0.1", "70000.00"))
    assert exchange.margin(user).order_margin == D(350)  # cross: nothing to absorb it

    exchange.place_order(
        user, limit(PERP, "sell", "0.1", "70000.00", margin_mode=MarginMode.ISOLATED)
    )
    assert exchange.margin(user).order_margin == D(350)
    assert exchange.check_invariants() == []


def test_reduce_only_orders_neither_hold_nor_absorb(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = long_of(exchange, make_user, "0.1", "10000")

    exchange.place_order(user, limit(PERP, "sell", "0.1", "69000.00", reduce_only=True))
    exchange.place_order(user, limit(PERP, "sell", "0.1", "70000.00"))

    # The reduce-only ask holds nothing and leaves the position to absorb the plain one.
    assert exchange.margin(user).order_margin == 0


def test_moving_a_resting_order_moves_what_it_holds(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(perps="10000")
    order = exchange.place_order(user, limit(PERP, "buy", "0.1", "67000.00")).order

    exchange.modify_order(user, order.id, price=D("66000.00"))

    assert exchange.margin(user).order_margin == D(330)
    assert exchange.check_invariants() == []


def test_a_requote_at_high_margin_usage_pays_only_for_what_would_open(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # Long 0.28 on 1000 USDC (96 % usage), quoting a closing ask it replaces each cycle.
    user = long_of(exchange, make_user, "0.28", "1000")
    ask = QuoteRequest(Side.SELL, D("68100.00"), D("0.28"))
    exchange.place_quotes(user, PERP, [ask])

    moved = exchange.place_quotes(
        user, PERP, [QuoteRequest(Side.SELL, D("68200.00"), D("0.28"))], cancel_all=True
    )

    assert len(moved.cancelled) == 1
    assert exchange.margin(user).order_margin == 0
    with pytest.raises(OcxError) as refused:
        # 0.02 beyond the position would open a short: 68 of margin, 28.48 available.
        exchange.place_quotes(
            user, PERP, [QuoteRequest(Side.SELL, D("68000.00"), D("0.3"))], cancel_all=True
        )
    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN


def test_an_order_that_fits_only_because_the_position_absorbs_a_closing_order_is_accepted(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # Long 0.28 on 1000 USDC with a closing ask for all of it: the ask holds nothing, so the
    # 28.48 left still backs a small bid (were the ask charged, nothing would be left).
    user = long_of(exchange, make_user, "0.28", "1000")
    exchange.place_order(user, limit(PERP, "sell", "0.28", "68100.00"))

    bid = exchange.place_order(user, limit(PERP, "buy", "0.008", "67000.00")).order

    assert bid.is_open
    assert exchange.margin(user).order_margin == D("26.80")  # 0.008 × 67000 / 20
    assert exchange.check_invariants() == []
