"""Margin of positions and orders, order approval, reduce-only orders and what transfers may
take out of the perps bucket (docs/fidelity.md "Fees and risk" and "Money")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import Bucket, ErrorCode, Exchange, OcxError
from ocx_sim.engine.core.markets import Venue
from ocx_sim.engine.core.orders import FeeRole
from ocx_sim.testing.builders import UserFactory, limit, market

D = Decimal


def open_long(exchange: Exchange, make_user: UserFactory, quantity: str, price: str) -> str:
    """A user long `quantity` BTC-PERP at `price` as the maker (fee 2 bps); the taker is
    another well-funded user. Returns the long user's id."""
    long_user, counterparty = make_user(perps="10000"), make_user(perps="100000")
    exchange.place_order(long_user, limit("BTC-PERP", "buy", quantity, price))
    exchange.place_order(counterparty, market("BTC-PERP", "sell", quantity))
    return long_user


def test_a_flat_user_with_no_orders_has_only_a_balance(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(perps="5000")

    view = exchange.margin(user)

    assert view.venue is Venue.PERPS
    assert (view.balance, view.equity, view.unrealized_pnl) == (D(5000), D(5000), D(0))
    assert (view.initial_margin, view.maintenance_margin, view.available) == (D(0), D(0), D(5000))
    assert view.usage == 0


def test_a_resting_order_holds_remaining_times_limit_over_leverage(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(perps="5000")

    exchange.place_order(user, limit("BTC-PERP", "buy", "0.3", "67000.00"))
    exchange.place_order(user, limit("BTC-PERP", "sell", "0.05", "69000.00"))

    # 0.3 × 67000 / 20 = 1005; 0.05 × 69000 / 20 = 172.50
    view = exchange.margin(user)
    assert view.order_margin == D("1177.50")
    assert view.position_margin == 0
    assert view.maintenance_margin == 0  # orders hold no maintenance
    assert view.initial_margin == D("1177.50")
    assert view.available == D("3822.50")
    assert view.usage == D("1177.50") / D(5000)


def test_a_partial_fill_leaves_margin_on_the_remainder_only(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user, taker = make_user(perps="5000"), make_user(perps="5000")
    exchange.place_order(user, limit("BTC-PERP", "buy", "0.3", "67000.00"))

    exchange.place_order(taker, market("BTC-PERP", "sell", "0.1"))

    # fee 2 bps of 6700 = 1.34; position 0.1 × 68000 (mark) / 20 = 340;
    # orders 0.2 × 67000 / 20 = 670; unrealized 0.1 × (68000 − 67000) = 100
    view = exchange.margin(user)
    assert view.balance == D("4998.66")
    assert view.position_margin == D(340)
    assert view.order_margin == D(670)
    assert view.unrealized_pnl == D(100)
    assert view.equity == D("5098.66")
    # the profit is not collateral: min(5098.66, 4998.66) − 340 − 670 = 3988.66
    assert view.available == D("3988.66")


def test_cancelling_an_order_releases_its_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(perps="5000")
    order = exchange.place_order(user, limit("BTC-PERP", "buy", "0.3", "67000.00")).order

    exchange.cancel_order(user, order.id)

    assert exchange.margin(user).order_margin == 0
    assert exchange.margin(user).available == D(5000)


def test_position_margin_maintenance_and_equity_follow_the_mark(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "0.5", "68000.00")
    # maker fee 2 bps of 34000 = 6.80
    assert exchange.balances(user).perps == D("9993.20")

    at_entry = exchange.margin(user)
    # 0.5 × 68000 / 20 = 1700; maintenance 2/3 of it
    assert at_entry.position_margin == D(1700)
    assert at_entry.maintenance_margin == D("1133.333333")
    assert at_entry.unrealized_pnl == 0
    assert at_entry.equity == D("9993.20")
    assert at_entry.available == D("8293.20")
    assert at_entry.usage == D(1700) / D("9993.20")

    exchange.sim.pin_mark("BTC-PERP", D("70000.00"))
    up = exchange.margin(user)
    # unrealized 0.5 × 2000 = 1000; position margin 0.5 × 70000 / 20 = 1750
    assert up.balance == D("9993.20")
    assert up.unrealized_pnl == D(1000)
    assert up.equity == D("10993.20")
    assert up.position_margin == D(1750)
    assert up.maintenance_margin == D("1166.666667")
    # the profit does not count: min(10993.20, 9993.20) − 1750 = 8243.20
    assert up.available == D("8243.20")

    exchange.sim.pin_mark("BTC-PERP", D("66000.00"))
    down = exchange.margin(user)
    # unrealized −1000; position margin 1650, maintenance 1100; the loss counts:
    # min(8993.20, 9993.20) − 1650 = 7343.20
    assert down.unrealized_pnl == D(-1000)
    assert down.equity == D("8993.20")
    assert down.position_margin == D(1650)
    assert down.maintenance_margin == D(1100)
    assert down.available == D("7343.20")
    assert down.usage == D(1650) / D("8993.20")


def test_a_short_gains_when_the_mark_falls(exchange: Exchange, make_user: UserFactory) -> None:
    short_user, buyer = make_user(perps="2000"), make_user(perps="20000")
    exchange.place_order(short_user, limit("BTC-PERP", "sell", "0.2", "68000.00"))
    exchange.place_order(buyer, market("BTC-PERP", "buy", "0.2"))
    exchange.sim.pin_mark("BTC-PERP", D("67500.00"))

    view = exchange.margin(short_user)

    # fee 2 bps of 13600 = 2.72; unrealized −0.2 × (67500 − 68000) = 100;
    # position margin 0.2 × 67500 / 20 = 675
    assert view.balance == D("1997.28")
    assert view.unrealized_pnl == D(100)
    assert view.equity == D("2097.28")
    assert view.position_margin == D(675)
    assert view.maintenance_margin == D(450)
    # the profit does not count: min(2097.28, 1997.28) − 675 = 1322.28
    assert view.available == D("1322.28")


def test_unrealized_profit_does_not_raise_available_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "0.1", "68000.00")  # balance 9998.64
    before = exchange.margin(user)
    # position margin 0.1 × 68000 / 20 = 340
    assert before.available == D("9658.64")

    exchange.sim.pin_mark("BTC-PERP", D("70000.00"))
    up = exchange.margin(user)

    # the 0.1 × 2000 = 200 of profit raises equity but backs nothing: available only loses
    # the extra position margin, 0.1 × 70000 / 20 = 350 against 340
    assert up.unrealized_pnl == D(200)
    assert up.equity == D("10198.64")
    assert up.balance == before.balance == D("9998.64")
    assert up.position_margin == D(350)
    assert up.available == D("9648.64")
    assert up.available + up.initial_margin == before.available + before.initial_margin


def test_a_long_options_gain_raises_its_available_margin_but_not_what_can_leave_the_bucket(
    exchange: Exchange, make_user: UserFactory
) -> None:
    option = exchange.catalog.options("BTC")[0].id  # the 56000 call expiring at 08:00 today
    exchange.sim.pin_mark(option, D("12000.00"))
    seller, buyer = make_user(options="5000"), make_user(options="10")
    exchange.place_order(seller, limit(option, "sell", "0.1", "50.00"))
    exchange.place_order(buyer, limit(option, "buy", "0.1", "50.00"))
    # premium 5.00 and the taker fee, 3 bps of 6800 = 2.04 capped at 12.5 % of 5.00 = 0.625.
    # The long's scenario margin (its loss with the forward 15 % down, the iv × 0.75) is
    # backed by its own value at the mark, 0.1 × 12000 = 1200: the options bucket's
    # available margin is its equity less that, not capped at the cash
    before = exchange.margin(buyer, Venue.OPTIONS)
    assert (before.balance, before.equity) == (D("4.375"), D("1204.375"))
    assert before.position_margin == D("1012.582696")
    assert before.available == D("1204.375") - D("1012.582696")

    exchange.sim.pin_mark(option, D("13000.00"))
    up = exchange.margin(buyer, Venue.OPTIONS)

    assert up.equity == D("1304.375")
    assert up.position_margin == before.position_margin  # the model's scenarios, not the pin
    assert up.available == before.available + D(100)
    # only cash leaves: a transfer out takes at most the balance
    with pytest.raises(OcxError) as refused:
        exchange.transfer(buyer, Bucket.OPTIONS, Bucket.WALLET, D("4.375001"))
    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    exchange.transfer(buyer, Bucket.OPTIONS, Bucket.WALLET, D("4.375"))
    assert exchange.balances(buyer).options == 0


def test_positions_and_orders_add_up_to_the_initial_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "0.1", "68000.00")

    exchange.place_order(user, limit("BTC-PERP", "buy", "0.2", "65000.00"))

    # position 340, order 0.2 × 65000 / 20 = 650; balance 10000 − 1.36
    view = exchange.margin(user)
    assert view.initial_margin == D(990)
    assert view.maintenance_margin == D("226.666667")
    assert view.available == D("9008.64")
    assert view.usage == D(990) / D("9998.64")


def test_margin_is_kept_per_venue_bucket(exchange: Exchange, make_user: UserFactory) -> None:
    user = make_user(perps="5000", options="700", spot="300")

    exchange.place_order(user, limit("BTC-PERP", "buy", "0.1", "68000.00"))

    assert exchange.margin(user, Venue.PERPS).order_margin == D(340)
    options = exchange.margin(user, Venue.OPTIONS)
    assert (options.balance, options.initial_margin, options.available) == (D(700), D(0), D(700))


# -- approval --------------------------------------------------------------------------------


def test_an_order_needing_exactly_the_available_margin_plus_its_fee_is_approved(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # margin 0.1 × 68000 / 20 = 340; worst-case (taker) fee 5 bps of 6800 = 3.40
    user = make_user(perps="343.40")

    placed = exchange.place_order(user, limit("BTC-PERP", "buy", "0.1", "68000.00"))

    # 340 + 3.40 = 343.40 = available; the order rests, so only the margin is held and the
    # fee's room stays free until a fill needs it
    assert placed.order.is_open
    view = exchange.margin(user)
    assert view.balance == D("343.40")
    assert view.order_margin == D(340)
    assert view.available == D("3.40")
    assert view.usage == D(340) / D("343.40")


def test_an_order_needing_one_tick_more_than_available_is_refused(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(perps="343.40")
    events_before = len(exchange.events)

    with pytest.raises(OcxError) as refused:
        exchange.place_order(user, limit("BTC-PERP", "buy", "0.1", "68000.01"))

    # margin 0.1 × 68000.01 / 20 = 340.00005; fee 5 bps of 6800.001 = 3.4000005, which is
    # 3.400000 in USDC (half-even): 343.40005 required
    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert refused.value.status == 422
    assert refused.value.details == {"requiredIm": "343.40005", "availableIm": "343.40"}
    assert exchange.orders(user) == []
    assert len(exchange.events) == events_before
    assert exchange.margin(user).order_margin == 0


def test_an_order_beyond_what_other_orders_leave_is_refused(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # the first bid holds 0.2 × 66000 / 20 = 660 (its 6.60 fee room is not held),
    # leaving 1003.40 − 660 = 343.40
    user = make_user(perps="1003.40")
    exchange.place_order(user, limit("BTC-PERP", "buy", "0.2", "66000.00"))
    assert exchange.margin(user).available == D("343.40")

    with pytest.raises(OcxError) as refused:
        # margin 0.1 × 68000.10 / 20 = 340.0005; fee 5 bps of 6800.01 = 3.400005
        exchange.place_order(user, limit("BTC-PERP", "sell", "0.1", "68000.10"))

    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert refused.value.status == 422
    assert refused.value.details == {"requiredIm": "343.400505", "availableIm": "343.40"}
    # the same order ten cents cheaper fits exactly: 340 + 3.40 = 343.40
    exchange.place_order(user, limit("BTC-PERP", "sell", "0.1", "68000.00"))
    view = exchange.margin(user)
    assert view.order_margin == D(1000)
    assert view.available == D("3.40")


def test_a_market_order_is_approved_against_its_margin_and_fee_at_the_mark(
    exchange: Exchange, make_user: UserFactory
) -> None:
    maker = make_user(perps="10000")
    short_of_it, enough = make_user(perps="343.39"), make_user(perps="343.40")
    exchange.place_order(maker, limit("BTC-PERP", "sell", "0.2", "68000.00"))

    with pytest.raises(OcxError) as refused:
        exchange.place_order(short_of_it, market("BTC-PERP", "buy", "0.1"))

    # at the mark 68000, not the band's edge 74800: margin 340, taker fee 5 bps of 6800 = 3.40
    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert refused.value.status == 422
    assert refused.value.details == {"requiredIm": "343.40", "availableIm": "343.39"}
    assert exchange.fills(short_of_it) == []
    # a cent more fills, and the fee it pays comes out of the room the check kept for it
    (fill,) = exchange.place_order(enough, market("BTC-PERP", "buy", "0.1")).fills
    assert fill.fee == D("3.40")
    view = exchange.margin(enough)
    assert view.balance == D(340)
    assert view.position_margin == D(340)
    assert view.available == 0
    assert exchange.check_invariants() == []


def test_unrealized_losses_shrink_what_new_orders_may_use(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "1", "68000.00")  # balance 10000 − 13.60
    exchange.sim.pin_mark("BTC-PERP", D("65000.00"))
    # equity 9986.40 − 3000 = 6986.40 (below the balance, so it counts);
    # position margin 65000 / 20 = 3250; available 3736.40
    assert exchange.margin(user).available == D("3736.40")

    with pytest.raises(OcxError) as refused:
        exchange.place_order(user, limit("BTC-PERP", "buy", "1.1", "67261.93"))

    # notional 1.1 × 67261.93 = 73988.123: margin / 20 = 3699.40615, fee 5 bps = 36.9940615,
    # 36.994062 in USDC (half-even); 3736.400212 required
    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert refused.value.status == 422
    assert refused.value.details == {"requiredIm": "3736.400212", "availableIm": "3736.40"}
    # a tick lower: notional 73988.112, margin 3699.4056 + fee 36.994056 = 3736.399656 fits
    placed = exchange.place_order(user, limit("BTC-PERP", "buy", "1.1", "67261.92"))
    assert placed.order.is_open
    assert exchange.margin(user).available == D("36.9944")


def test_a_user_with_negative_available_margin_is_told_zero_available(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "1", "68000.00")  # balance 9986.40
    exchange.sim.pin_mark("BTC-PERP", D("61000.00"))
    # equity 9986.40 − 7000 = 2986.40: below the initial margin 61000 / 20 = 3050 but above
    # the maintenance 2033.33, so not liquidated; available 2986.40 − 3050 = −63.60

    with pytest.raises(OcxError) as refused:
        exchange.place_order(user, limit("BTC-PERP", "buy", "0.0001", "61000.00"))

    # margin 0.0001 × 61000 / 20 = 0.305; fee 5 bps of 6.10 = 0.00305
    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert refused.value.details == {"requiredIm": "0.30805", "availableIm": "0.00"}
    assert exchange.margin(user).available == D("-63.60")
    assert exchange.margin(user).usage == D(3050) / D("2986.40")


# -- reduce-only -----------------------------------------------------------------------------


def test_reduce_only_orders_hold_no_margin(exchange: Exchange, make_user: UserFactory) -> None:
    user = open_long(exchange, make_user, "0.5", "68000.00")
    before = exchange.margin(user)

    placed = exchange.place_order(
        user, limit("BTC-PERP", "sell", "0.5", "69000.00", reduce_only=True)
    )

    assert placed.order.is_open
    assert placed.order.held_lots == 0
    after = exchange.margin(user)
    assert after.order_margin == 0
    assert after.initial_margin == before.initial_margin == D(1700)
    assert after.available == before.available


def test_a_reduce_only_order_needs_neither_margin_nor_room_for_its_fee(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "0.5", "68000.00")
    # available 8293.20; an ordinary bid of 2.38 × 69000 = 164220 needs 8211 of margin plus
    # a 82.11 fee, and leaves 8293.20 − 8211 = 82.20 free
    exchange.place_order(user, limit("BTC-PERP", "buy", "2.38", "69000.00"))
    assert exchange.margin(user).available == D("82.20")
    # A fall to 67800 costs 0.5 × 200 = 100 and frees 0.5 × 200 / 20 = 5 of position margin:
    # min(9893.20, 9993.20) − 1695 − 8211 = −12.80: nothing left for any new exposure.
    exchange.sim.pin_mark("BTC-PERP", D("67800.00"))
    assert exchange.margin(user).available == D("-12.80")

    # Closing frees the position's margin, which covers its own fee (5 bps of 21000 = 10.50),
    # so a reduce-only order is accepted even now, and holds nothing.
    placed = exchange.place_order(
        user, limit("BTC-PERP", "sell", "0.3", "70000.00", reduce_only=True)
    )

    assert placed.order.is_open
    assert placed.order.held_lots == 0
    assert exchange.margin(user).available == D("-12.80")
    assert exchange.check_invariants() == []


def test_a_reduce_only_order_that_would_grow_the_position_is_refused(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "0.5", "68000.00")

    with pytest.raises(OcxError) as refused:
        exchange.place_order(user, limit("BTC-PERP", "buy", "0.1", "67000.00", reduce_only=True))

    assert refused.value.code is ErrorCode.REDUCE_ONLY_WOULD_INCREASE
    assert refused.value.status == 422


# -- transfers out of perps ------------------------------------------------------------------


def test_a_transfer_out_of_perps_may_take_only_what_margin_does_not_need(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(perps="1000")
    exchange.place_order(user, limit("BTC-PERP", "buy", "0.1", "68000.00"))  # holds 340

    with pytest.raises(OcxError) as refused:
        exchange.transfer(user, Bucket.PERPS, Bucket.WALLET, D("660.000001"))

    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert refused.value.status == 400
    assert exchange.balances(user).perps == D(1000)

    exchange.transfer(user, Bucket.PERPS, Bucket.WALLET, D("660"))
    assert exchange.balances(user).perps == D(340)
    assert exchange.balances(user).wallet == D(660)
    assert exchange.margin(user).available == 0


def test_unrealized_losses_reduce_what_can_leave_perps(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "0.1", "68000.00")  # balance 9998.64
    exchange.sim.pin_mark("BTC-PERP", D("66000.00"))
    # equity 9998.64 − 200 = 9798.64; position margin 330; available 9468.64

    with pytest.raises(OcxError) as refused:
        exchange.transfer(user, Bucket.PERPS, Bucket.WALLET, D("9468.65"))

    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert refused.value.status == 400
    exchange.transfer(user, Bucket.PERPS, Bucket.WALLET, D("9468.64"))
    assert exchange.balances(user).perps == D("530.00")


def test_unrealized_profit_cannot_be_transferred_out_of_perps(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "0.1", "68000.00")  # balance 9998.64
    exchange.sim.pin_mark("BTC-PERP", D("80000.00"))
    # equity 9998.64 + 1200 = 11198.64, but only the balance backs margin;
    # position margin 0.1 × 80000 / 20 = 400: available min(11198.64, 9998.64) − 400 = 9598.64

    with pytest.raises(OcxError) as refused:
        exchange.transfer(user, Bucket.PERPS, Bucket.WALLET, D("9598.65"))

    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert refused.value.status == 400
    assert refused.value.details == {"bucket": "perps", "available": "9598.64"}
    exchange.transfer(user, Bucket.PERPS, Bucket.WALLET, D("9598.64"))
    # the position's margin stays behind, however large the profit
    assert exchange.balances(user).perps == D(400)
    assert exchange.margin(user).available == 0


# -- no reference price ----------------------------------------------------------------------


def test_without_an_index_order_entry_answers_upstream_degraded(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(perps="5000", spot="5000")
    exchange.sim.set_index("BTC-PERP", None)
    events_before = len(exchange.events)

    for request in (
        limit("BTC-PERP", "buy", "0.1", "68000.00"),
        market("BTC-PERP", "sell", "0.1"),
        limit("BTC-USDC-SPOT", "buy", "0.01", "68000.00"),
    ):
        with pytest.raises(OcxError) as refused:
            exchange.place_order(user, request)
        assert refused.value.code is ErrorCode.UPSTREAM_DEGRADED
        assert refused.value.status == 503

    assert exchange.mark_price("BTC-PERP") is None
    assert exchange.orders(user) == []
    assert len(exchange.events) == events_before
    # another underlying still trades
    exchange.place_order(user, limit("XAUT-USDC-PERP", "buy", "0.1", "4000.00"))
    # and the index coming back reopens order entry
    exchange.sim.set_index("BTC-PERP", D("68000.00"))
    assert exchange.place_order(user, limit("BTC-PERP", "buy", "0.1", "68000.00")).order.is_open


# -- fees need room too ----------------------------------------------------------------------


def test_an_option_bid_cannot_leave_the_options_bucket_negative(
    exchange: Exchange, make_user: UserFactory
) -> None:
    option = exchange.catalog.options("BTC")[0].id
    seller, buyer = make_user(options="5000"), make_user(options="5")
    exchange.place_order(seller, limit(option, "sell", "0.1", "50.00"))

    # premium 0.1 × 50 = 5.00 is all the buyer has; the fee comes on top: taker 3 bps of
    # 0.1 × 68000 = 2.04, capped at 12.5 % of the premium, 0.625
    with pytest.raises(OcxError) as refused:
        exchange.place_order(buyer, limit(option, "buy", "0.1", "50.00"))

    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert refused.value.status == 422
    assert refused.value.details == {"requiredIm": "5.625", "availableIm": "5.00"}
    assert exchange.fills(buyer) == []
    assert exchange.balances(buyer).options == D(5)
    # with the fee covered the bid fills and the bucket ends at exactly zero
    exchange.sim.deposit(buyer, D("0.625"))
    exchange.transfer(buyer, Bucket.WALLET, Bucket.OPTIONS, D("0.625"))
    (fill,) = exchange.place_order(buyer, limit(option, "buy", "0.1", "50.00")).fills
    assert fill.fee == D("0.625")
    assert exchange.balances(buyer).options == 0
    assert exchange.check_invariants() == []


def test_trading_on_unrealized_profit_cannot_leave_the_perps_bucket_negative(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_long(exchange, make_user, "0.1", "68000.00")  # balance 9998.64
    seller = make_user(perps="100000")
    exchange.sim.pin_mark("BTC-PERP", D("80000.00"))
    # equity 9998.64 + 1200; position margin 400; all but the margin may leave (test above),
    # which leaves a balance of 400 and an equity of 1600
    exchange.transfer(user, Bucket.PERPS, Bucket.WALLET, D("9598.64"))
    view = exchange.margin(user)
    assert (view.balance, view.equity, view.position_margin) == (D(400), D(1600), D(400))
    # min(1600, 400) − 400: the 1200 of profit backs nothing
    assert view.available == 0
    exchange.place_order(seller, limit("BTC-PERP", "sell", "0.2", "80000.00"))
    events_before = len(exchange.events)

    # 0.2 × 80000 / 20 = 800 of margin plus the taker fee 5 bps × 16000 = 8: the profit would
    # have covered the margin, but no cash is left for either
    with pytest.raises(OcxError) as refused:
        exchange.place_order(user, limit("BTC-PERP", "buy", "0.2", "80000.00"))

    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert refused.value.status == 422
    assert refused.value.details == {"requiredIm": "808.00", "availableIm": "0.00"}
    assert len(exchange.events) == events_before
    assert exchange.depth("BTC-PERP").asks == [(D("80000.00"), D("0.2"))]
    assert exchange.balances(user).perps == D(400)
    assert exchange.check_invariants() == []


def test_a_fee_can_never_overdraw_the_perps_bucket(
    exchange: Exchange, make_user: UserFactory
) -> None:
    maker = make_user(perps="10000")
    exchange.place_order(maker, limit("BTC-PERP", "sell", "0.2", "68000.00"))
    # a 0.1 bid at 68000 takes: margin 0.1 × 68000 / 20 = 340, taker fee 5 bps of 6800 = 3.40
    margin_only, one_cent_spare = make_user(perps="340"), make_user(perps="343.41")
    events_before = len(exchange.events)

    with pytest.raises(OcxError) as refused:
        exchange.place_order(margin_only, limit("BTC-PERP", "buy", "0.1", "68000.00"))

    assert refused.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert refused.value.status == 422
    assert refused.value.details == {"requiredIm": "343.40", "availableIm": "340.00"}
    assert len(exchange.events) == events_before
    assert exchange.fills(margin_only) == []
    assert exchange.balances(margin_only).perps == D(340)

    (fill,) = exchange.place_order(
        one_cent_spare, limit("BTC-PERP", "buy", "0.1", "68000.00")
    ).fills

    assert (fill.fee, fill.fee_role) == (D("3.40"), FeeRole.TAKER)
    view = exchange.margin(one_cent_spare)
    assert view.balance == D("340.01")
    assert view.position_margin == D(340)
    assert view.available == D("0.01")
    assert exchange.check_invariants() == []
