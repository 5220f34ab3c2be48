"""The scenario's `takers` section: house takers' order flows (docs/scenarios.md "takers")."""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.events import TradeExecuted
from ocx_sim.engine.sim import TAKERS_ADDRESS
from ocx_sim.testing.builders import limit
from ocx_sim.worlds import World, WorldConfig
from ocx_sim.worlds.scenario_run import with_scenario
from tests.scenarios.conftest import problems, world_problems, world_with

FLOW = """
meta: {name: flow, duration: 10m}
liquidity:
  - {market: BTC-PERP, quantity: "1.0000"}
  - {options: BTC}
takers:
  - {market: BTC-PERP, perMinute: "6", quantity: {min: "0.0100", max: "0.0500"},
     buyShare: "0.8", iocShare: "0.5", limitBps: "20"}
  - {options: BTC, perMinute: "2", quantity: {min: "0.10", max: "0.50"}}
"""


def test_a_scenarios_takers_trade_on_their_markets() -> None:
    world = world_with(FLOW)
    world.exchange.advance_by(10 * 60_000)

    taker = world.exchange.find_user(TAKERS_ADDRESS)
    assert taker is not None
    orders = world.exchange.orders(taker.user_id)
    perp = [o for o in orders if o.market_id == "BTC-PERP"]
    options = [o for o in orders if world.exchange.market(o.market_id).is_option]
    assert 35 <= len(perp) <= 85 and 5 <= len(options) <= 40
    assert sum(o.side.value == "buy" for o in perp) > len(perp) / 2
    assert {o.price for o in perp if o.price is not None} <= {
        world.exchange.market("BTC-PERP").tick * t for t in (6813600, 6786400)
    }  # IOC limits 20 bps beyond the 68000.00 index
    trades = [e for e in world.exchange.events.since(0) if isinstance(e, TradeExecuted)]
    assert trades


def test_takers_name_a_market_or_an_underlyings_options_that_can_trade() -> None:
    assert problems(
        """
takers:
  - {market: BTC-PERP, options: BTC, perMinute: "1", quantity: {min: "0.01", max: "0.02"}}
  - {perMinute: "1", quantity: {min: "0.01", max: "0.02"}}
  - {market: BTC-PERP, perMinute: "1", quantity: {min: "0.01"}}
  - {market: BTC-PERP, perMinute: "0", quantity: {min: "0.01", max: "0.02"}}
"""
    ) == [
        "t.yaml:3: takers[0]: give market (one market) or options (an underlying's), one",
        "t.yaml:4: takers[1]: give market (one market) or options (an underlying's), one",
        "t.yaml:5: takers[2].quantity.max: is required",
        "t.yaml:6: takers[3].perMinute: must be greater than zero",
    ]
    assert world_problems(
        """
takers:
  - {market: BTC-2026-01-09-68000-C, perMinute: "1", quantity: {min: "0.1", max: "1"}}
  - {options: XAUT, perMinute: "1", quantity: {min: "0.1", max: "1"}}
"""
    ) == [
        "t.yaml:3: takers[0].market: an option's takers are its underlying's (options: the "
        "underlying)",
        "t.yaml:4: takers[1].options: XAUT lists no options",
    ]
    assert world_problems(
        """
takers:
  - {market: BTC-PERP, perMinute: "601", quantity: {min: "0.01", max: "0.02"}}
"""
    ) == ["t.yaml:3: takers[0].perMinute: must be above 0 and at most 600"]
    assert world_problems(
        """
takers:
  - {market: BTC-PERP, perMinute: "1", quantity: {min: "0.00001", max: "0.02"}}
"""
    ) == ["t.yaml:3: takers[0].quantity.min: 0.00001 is not a multiple of the step size 0.0001"]


def test_in_the_bundled_sandbox_a_market_makers_quotes_are_filled_within_a_minute() -> None:
    world = World("t", with_scenario(WorldConfig(), "sandbox"))
    maker = world.create_account(balances={Bucket.PERPS: Decimal(100_000)}).user_id
    index = world.exchange.index_price("BTC-PERP")
    assert index is not None
    quotes = [
        world.exchange.place_order(maker, limit("BTC-PERP", side, "0.0100", index + offset)).order
        for side, offset in (("buy", -10), ("sell", 10))  # inside the house's 10 bps spread
    ]

    world.exchange.advance_by(60_000)

    assert any(q.status.value in ("filled", "partially_filled") for q in quotes)
