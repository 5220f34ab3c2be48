"""House takers (engine/reactions/takers.py): a seeded Poisson flow of market and IOC orders on
a market, or on an underlying's options, that fills whatever rests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import ErrorCode, Exchange, OcxError, Side
from ocx_sim.engine.core.orders import Order, OrderType, TimeInForce
from ocx_sim.engine.reactions.liquidity import LiquiditySpec
from ocx_sim.engine.reactions.option_liquidity import OptionLiquiditySpec
from ocx_sim.engine.reactions.takers import TakerSpec
from ocx_sim.engine.sim import TAKERS_ADDRESS
from ocx_sim.testing.builders import UserFactory, limit

D = Decimal
PERP = "BTC-PERP"
HOUR_MS = 3_600_000


ONE, SMALLEST, LARGEST = D(1), D("0.0100"), D("0.0500")


def flow(
    per_minute: Decimal = ONE,
    min_quantity: Decimal = SMALLEST,
    max_quantity: Decimal = LARGEST,
    **terms: Decimal,
) -> TakerSpec:
    """A flow on BTC-PERP: one order a minute of 0.01 to 0.05, unless told otherwise."""
    return TakerSpec(PERP, per_minute, min_quantity, max_quantity, **terms)  # type: ignore[arg-type]


def taker_orders(exchange: Exchange) -> list[Order]:
    taker = exchange.find_user(TAKERS_ADDRESS)
    assert taker is not None
    return exchange.orders(taker.user_id)


@pytest.fixture
def liquid(exchange: Exchange) -> Exchange:
    """BTC-PERP with the house market maker's ladder, deep enough for any taker here."""
    exchange.sim.add_liquidity(LiquiditySpec(PERP, D("1.0000"), refresh_ms=1_000))
    return exchange


def test_orders_arrive_at_the_rate_asked_for_on_either_side_in_the_sizes_asked_for(
    liquid: Exchange,
) -> None:
    liquid.sim.add_takers(flow(per_minute=D(2), buy_share=D("0.75")))
    liquid.advance_by(10 * HOUR_MS)

    orders = taker_orders(liquid)
    buys = sum(o.side is Side.BUY for o in orders)
    # 1200 expected: a Poisson count is within 3 standard deviations (±104) of it.
    assert 1_096 <= len(orders) <= 1_304
    assert 0.70 < buys / len(orders) < 0.80
    assert {o.type for o in orders} == {OrderType.MARKET}
    assert min(o.quantity for o in orders) == D("0.0100")
    assert max(o.quantity for o in orders) == D("0.0500")
    assert all(o.status.value == "filled" for o in orders)


def test_ioc_orders_are_limits_a_few_bps_beyond_the_index(liquid: Exchange) -> None:
    liquid.sim.add_takers(flow(per_minute=D(10), ioc_share=D(1), limit_bps=D(10)))
    liquid.advance_by(60_000)

    orders = taker_orders(liquid)
    assert orders and all(o.time_in_force is TimeInForce.IOC for o in orders)
    # The index stands at 68000.00: 10 bps is 68.00.
    assert {o.price for o in orders if o.side is Side.BUY} == {D("68068.00")}
    assert {o.price for o in orders if o.side is Side.SELL} == {D("67932.00")}


def test_the_same_seed_gives_the_same_flow_and_another_seed_another() -> None:
    def fills(seed: int) -> list[tuple[int, str, Decimal]]:
        exchange = Exchange.create(seed=seed)
        exchange.sim.add_liquidity(LiquiditySpec(PERP, D("1.0000")))
        exchange.sim.add_takers(flow(per_minute=D(5)))
        exchange.advance_by(HOUR_MS)
        return [(o.created_at, o.side.value, o.quantity) for o in taker_orders(exchange)]

    assert fills(3) == fills(3)
    assert fills(3) != fills(4)


def test_a_resting_order_inside_the_spread_is_filled_first(
    liquid: Exchange, make_user: UserFactory
) -> None:
    maker = make_user(perps="100000")
    bid = liquid.place_order(maker, limit(PERP, "buy", "0.0100", "67990.00")).order
    ask = liquid.place_order(maker, limit(PERP, "sell", "0.0100", "68010.00")).order
    liquid.sim.add_takers(flow(per_minute=D(6)))

    liquid.advance_by(60_000)

    assert {bid.status.value, ask.status.value} & {"filled", "partially_filled"}


def test_a_refused_order_does_not_stop_the_flow(liquid: Exchange) -> None:
    liquid.sim.add_takers(flow(per_minute=D(6)))
    liquid.sim.halt(PERP)
    liquid.advance_by(10 * 60_000)
    assert taker_orders(liquid) == []  # every arrival refused: halted

    liquid.sim.resume(PERP)
    liquid.advance_by(10 * 60_000)

    assert taker_orders(liquid)


def test_an_options_flow_takes_the_options_the_house_quotes(exchange: Exchange) -> None:
    exchange.sim.add_option_liquidity(OptionLiquiditySpec("BTC"))
    exchange.sim.add_takers(TakerSpec(None, D(10), D("0.10"), D("1.00"), underlying="BTC"))
    exchange.advance_by(5 * 60_000)

    orders = taker_orders(exchange)
    assert len({o.market_id for o in orders}) > 2
    assert all(exchange.market(o.market_id).is_option for o in orders)
    assert all(o.time_in_force is TimeInForce.IOC for o in orders)
    assert sum(o.status.value in ("filled", "partially_filled") for o in orders) > len(orders) / 2


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (flow(per_minute=D(0)), "perMinute"),
        (flow(per_minute=D(601)), "perMinute"),
        (flow(min_quantity=D("0.00001")), "quantity.min"),
        (flow(min_quantity=D("0.0200"), max_quantity=D("0.0100")), "quantity"),
        (flow(buy_share=D("1.5")), "buyShare"),
        (flow(ioc_share=D("-0.1")), "iocShare"),
        (flow(limit_bps=D(10_000)), "limitBps"),
        (TakerSpec("BTC-2026-01-09-68000-C", D(1), D("0.1"), D("1")), "market"),
        (TakerSpec(None, D(1), D("0.1"), D("1"), underlying="XAUT"), "underlying"),
    ],
)
def test_a_flow_that_cannot_trade_is_refused_naming_the_term(
    exchange: Exchange, spec: TakerSpec, field: str
) -> None:
    with pytest.raises(OcxError) as refused:
        exchange.sim.add_takers(spec)

    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.details["field"] == field
    assert exchange.find_user(TAKERS_ADDRESS) is None
