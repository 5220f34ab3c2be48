"""The public builders (`ocx_sim.testing.builders`): what each builds, and that `refused` fails
a refusal that is missing or leaves a trace."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import Bucket, ErrorCode, Exchange, OcxError, OrderType, Side
from ocx_sim.testing.builders import (
    FakeRealTime,
    credit_spot,
    footprint,
    funded_user,
    limit,
    market,
    refused,
)

D = Decimal


def test_funded_user_deposits_the_total_and_moves_each_share_to_its_bucket(
    exchange: Exchange,
) -> None:
    user = funded_user(exchange, perps="100", spot="20", options="3", wallet="0.5")

    balances = exchange.balances(user)
    assert (balances.perps, balances.spot, balances.options, balances.wallet) == (
        D(100),
        D(20),
        D(3),
        D("0.5"),
    )
    assert exchange.check_invariants() == []


def test_funded_user_signs_in_with_the_first_address_no_user_has() -> None:
    exchange = Exchange.create(seed=1)
    taken = exchange.register_user(f"0x{2:040x}").user_id

    first, third = funded_user(exchange), funded_user(exchange)
    chosen = funded_user(exchange, address="0x" + "ab" * 20)

    assert len({first, third, chosen, taken}) == 4
    assert exchange.find_user(f"0x{1:040x}") == exchange.user(first)
    assert exchange.find_user(f"0x{3:040x}") == exchange.user(third)
    assert exchange.find_user("0x" + "ab" * 20) == exchange.user(chosen)


def test_limit_and_market_build_the_order_requests_their_arguments_say() -> None:
    bid = limit("BTC-PERP", "buy", "0.1", "67000.00", post_only=True, client_order_id="a")
    sell = market("BTC-PERP", Side.SELL, D("0.2"), reduce_only=True)

    assert (bid.type, bid.side, bid.quantity, bid.price) == (
        OrderType.LIMIT,
        Side.BUY,
        D("0.1"),
        D("67000.00"),
    )
    assert (bid.post_only, bid.client_order_id) == (True, "a")
    assert (sell.type, sell.side, sell.quantity, sell.price, sell.reduce_only) == (
        OrderType.MARKET,
        Side.SELL,
        D("0.2"),
        None,
        True,
    )


def test_credit_spot_fills_the_spot_bucket_and_keeps_the_ledger_balanced(
    exchange: Exchange,
) -> None:
    user = funded_user(exchange)

    credit_spot(exchange, user, "BTC", "0.25")

    assert exchange.ledger.balance((user, Bucket.SPOT.value, "BTC")) == D("0.25")
    assert all(total == 0 for total in exchange.ledger.totals().values())


def test_refused_returns_the_error_of_a_refusal_that_changed_nothing(exchange: Exchange) -> None:
    user = funded_user(exchange, perps="10")

    error = refused(exchange, lambda: exchange.place_order(user, market("BTC-PERP", "buy", "1")))

    assert isinstance(error, OcxError)
    assert error.code in {ErrorCode.INSUFFICIENT_MARGIN, ErrorCode.NO_LIQUIDITY}


def test_refused_fails_when_the_action_is_not_refused(exchange: Exchange) -> None:
    user = funded_user(exchange)

    with pytest.raises(AssertionError, match="expected an OcxError"):
        refused(exchange, lambda: exchange.sim.deposit(user, D(1)))


def test_refused_fails_when_the_refusal_leaves_a_trace(exchange: Exchange) -> None:
    user = funded_user(exchange)

    def deposit_then_refuse() -> None:
        exchange.sim.deposit(user, D(1))
        raise OcxError(ErrorCode.VALIDATION_ERROR)

    with pytest.raises(AssertionError, match="event log, ledger entries, balances changed"):
        refused(exchange, deposit_then_refuse)


def test_the_footprint_changes_with_an_order_and_not_with_a_read(exchange: Exchange) -> None:
    user = funded_user(exchange, perps="10000")
    before = footprint(exchange)

    exchange.orders(user)
    unchanged = footprint(exchange)
    exchange.place_order(user, limit("BTC-PERP", "buy", "0.01", "67000.00"))

    assert unchanged == before
    assert footprint(exchange) != before


def test_fake_real_time_reads_what_the_test_set() -> None:
    real = FakeRealTime(10.0)
    assert real() == 10.0
    real.now += 0.5
    assert real() == 10.5
