"""At most `MAX_OPEN_ORDERS` open orders per user and market (docs/fidelity.md "Orders"):
beyond it an order that could rest is 422 TOO_MANY_OPEN_ORDERS, orders that never rest pass,
and a bulk ladder counts after the quotes it replaces."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import ErrorCode, Exchange, OcxError, QuoteRequest, Side, TimeInForce
from ocx_sim.engine.commands.admission import MAX_OPEN_ORDERS
from ocx_sim.testing.builders import funded_user, limit

PERP = "BTC-PERP"


def _at_the_cap(exchange: Exchange) -> tuple[str, list[str]]:
    trader = funded_user(exchange, perps="100000000")
    ids = [
        exchange.place_order(trader, limit(PERP, "buy", "0.001", "62000.00")).order.id
        for _ in range(MAX_OPEN_ORDERS)
    ]
    return trader, ids


def test_one_more_resting_order_than_the_cap_is_refused_with_422() -> None:
    exchange = Exchange.create(seed=3)
    trader, _ = _at_the_cap(exchange)

    with pytest.raises(OcxError) as refused:
        exchange.place_order(trader, limit(PERP, "buy", "0.001", "62000.00"))

    assert refused.value.code is ErrorCode.TOO_MANY_OPEN_ORDERS
    assert refused.value.details == {"marketId": PERP, "open": 1000, "limit": 1000}
    assert len(exchange.open_orders(trader)) == MAX_OPEN_ORDERS


def test_the_cap_is_per_market_and_orders_that_never_rest_pass() -> None:
    exchange = Exchange.create(seed=3)
    trader, _ = _at_the_cap(exchange)

    other = exchange.place_order(trader, limit("XAUT-USDC-PERP", "buy", "1", "3900.00"))
    ioc = exchange.place_order(
        trader, limit(PERP, "sell", "0.001", "70000.00", time_in_force=TimeInForce.IOC)
    )

    assert other.order.is_open
    assert ioc.order.status.value == "expired"


def test_a_cancelled_order_makes_room_again() -> None:
    exchange = Exchange.create(seed=3)
    trader, ids = _at_the_cap(exchange)
    exchange.cancel_order(trader, ids[0])

    placed = exchange.place_order(trader, limit(PERP, "buy", "0.001", "62000.00"))

    assert placed.order.is_open


def test_a_ladder_is_counted_after_the_quotes_it_replaces() -> None:
    exchange = Exchange.create(seed=3)
    trader, ids = _at_the_cap(exchange)
    for order_id in ids[:50]:
        exchange.cancel_order(trader, order_id)
    ladder = [QuoteRequest(Side.BUY, Decimal("62000.00"), Decimal("0.001"))] * 50
    exchange.place_quotes(trader, PERP, ladder)  # back at the cap

    replaced = exchange.place_quotes(trader, PERP, ladder, cancel_all=True)
    with pytest.raises(OcxError) as refused:
        exchange.place_quotes(trader, PERP, ladder[:1])

    assert (len(replaced.cancelled), len(replaced.orders)) == (50, 50)
    assert refused.value.code is ErrorCode.TOO_MANY_OPEN_ORDERS
