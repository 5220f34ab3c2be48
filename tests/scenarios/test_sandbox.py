"""The bundled sandbox (what `make serve` runs) is a market a bot can trade in: the house
market maker quotes every market, house takers trade on all of them, nothing the maker quoted
is left stranded, and a client's quotes get filled."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.events import TradeExecuted
from ocx_sim.engine.sim import LIQUIDITY_ADDRESS, TAKERS_ADDRESS
from ocx_sim.testing.builders import limit
from ocx_sim.worlds import World, WorldConfig
from ocx_sim.worlds.scenario_run import with_scenario

MINUTE_MS = 60_000
REFRESH_MS = 10_000
"""The market makers' refresh in the sandbox."""


@pytest.fixture(scope="module")
def sandbox() -> tuple[World, str]:
    """A fresh sandbox world (manual clock) with a client's bid one tick inside the house's
    spread on BTC-PERP, advanced ten simulated minutes; the bid's order id."""
    world = World("sandbox", with_scenario(WorldConfig(), "sandbox"))
    exchange = world.exchange
    client = world.create_account(balances={Bucket.PERPS: Decimal(100_000)}).user_id
    best_bid = exchange.depth("BTC-PERP", 1).bids[0][0]
    tick = exchange.market("BTC-PERP").tick
    bid = exchange.place_order(client, limit("BTC-PERP", "buy", "0.0100", best_bid + tick)).order
    exchange.advance_by(10 * MINUTE_MS)
    return world, bid.id


def test_there_are_trades_on_every_linear_market_and_on_the_options(
    sandbox: tuple[World, str],
) -> None:
    world, _ = sandbox
    exchange = world.exchange
    traded = {e.market_id for e in exchange.events.since(0) if isinstance(e, TradeExecuted)}

    linear = {m.id for m in exchange.catalog if not m.is_option}
    assert linear <= traded
    assert any(exchange.market(m).is_option for m in traded)


def test_a_clients_bid_one_tick_inside_the_spread_is_filled_by_a_house_taker(
    sandbox: tuple[World, str],
) -> None:
    world, bid_id = sandbox
    exchange = world.exchange
    taker = exchange.find_user(TAKERS_ADDRESS)
    assert taker is not None

    fills = [
        e
        for e in exchange.events.since(0)
        if isinstance(e, TradeExecuted) and bid_id in (e.maker_order_id, e.taker_order_id)
    ]
    assert fills and {f.taker_user_id for f in fills} == {taker.user_id}


def test_no_rung_taken_in_part_outlives_the_market_makers_next_look(
    sandbox: tuple[World, str],
) -> None:
    world, _ = sandbox
    exchange = world.exchange
    maker = exchange.find_user(LIQUIDITY_ADDRESS)
    assert maker is not None

    partly = [
        o for o in exchange.open_orders(maker.user_id) if o.status.value == "partially_filled"
    ]
    assert all(o.updated_at > exchange.now_ms - REFRESH_MS for o in partly)
