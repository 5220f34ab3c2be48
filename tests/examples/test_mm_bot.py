"""An example of ocx-sim in use: a market-making bot, written only against the HTTP API with
httpx (`mm_bot.py`), run over a real socket against the plugin's `ocx_server` through a
scripted funding squeeze (`squeeze.yaml`), as a user would test their own bot in CI.

What it proves: the bot's PnL, rebuilt from its own fills and funding payments, is exactly
the change in the equity the exchange reports; and when the exchange answers a requote with an
ambiguous 504 (the quotes were placed, the bot cannot know it), the kill switch pulls them.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from ocx_sim.testing.world import OcxWorld
from tests.examples.mm_bot import MarketMaker

MARKET = "BTC-PERP"
STEPS = 72
"""Twelve simulated minutes, a look every 10 s: past both funding settlements (5 and 10 min)
and the fault at 8 min."""
FAULT_AT = "2026-01-02T00:08:00.000Z"
"""When squeeze.yaml turns the ambiguous fault on (the world starts 2026-01-02T00:00Z)."""


@pytest.fixture
def http(ocx_server: OcxWorld) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ocx_server.url, timeout=10) as client:
        yield client


@pytest.fixture
def bot(ocx_server: OcxWorld, http: httpx.Client) -> MarketMaker:
    key = ocx_server.scenario_account("mm").key("mm-bot").secret
    return MarketMaker(http, key, MARKET, size=Decimal("0.1"), tick=Decimal("0.01"))


def run(ocx_server: OcxWorld, bot: MarketMaker) -> Decimal:
    """The bot's look every 10 s of simulated time; its PnL (the change in equity)."""
    start = bot.equity()
    for _ in range(STEPS):
        bot.step()
        ocx_server.clock.advance("10s")
    return bot.equity() - start


@pytest.mark.ocx_scenario("squeeze.yaml")
def test_the_bots_pnl_is_its_fills_and_funding_marked_to_the_exchanges_mark(
    ocx_server: OcxWorld, http: httpx.Client, bot: MarketMaker
) -> None:
    pnl = run(ocx_server, bot)

    auth = {"Authorization": f"Bearer {bot.api_key}"}
    fills = http.get("/perps/trades", headers=auth).json()
    (position,) = http.get("/perps/positions", headers=auth).json()
    mm = ocx_server.scenario_account("mm").user_id
    funding = [
        Decimal(e["amount"])
        for e in ocx_server.events()
        if e["type"] == "FundingPaid" and e["userId"] == mm
    ]
    # The crowd lifted the bot's ask twice: it is short 0.2, and as a short in a squeeze it
    # was paid at both settlements.
    assert [f["side"] for f in fills] == ["sell", "sell"]
    assert position["side"] == "short" and Decimal(position["quantity"]) == Decimal("0.2")
    assert len(funding) == 2 and all(amount > 0 for amount in funding)
    assert Decimal(position["fundingPayment"]) == sum(funding)

    sold = sum(Decimal(f["price"]) * Decimal(f["quantity"]) for f in fills)
    fees = sum(Decimal(f["fee"]) for f in fills)
    mark = Decimal(position["markPrice"])
    marked = sold - Decimal(position["quantity"]) * mark
    assert pnl == marked + sum(funding) - fees
    # Funding pays a premium off over 8 hours (a 96th of it a period): the two periods it
    # collected are worth far less than the squeeze against its short.
    assert pnl < 0 < sum(funding)
    assert ocx_server.scenario_status()["expectations"][0]["ok"] is True


@pytest.mark.ocx_scenario("squeeze.yaml")
def test_an_ambiguous_504_trips_the_kill_switch_which_pulls_the_quotes_it_placed(
    ocx_server: OcxWorld, http: httpx.Client, bot: MarketMaker
) -> None:
    run(ocx_server, bot)

    assert bot.killed
    assert bot.kill_reason == "POST /perps/quotes/bulk: 504"
    assert bot.quotes_sent == 48  # every look until the fault at 8 minutes
    # The 504 hid two committed quotes; cancel-all found and pulled exactly those.
    mm = ocx_server.scenario_account("mm").user_id
    hidden = [
        e["orderId"]
        for e in ocx_server.events()
        if e["type"] == "OrderAccepted" and e["userId"] == mm and e["ts"] == FAULT_AT
    ]
    assert len(hidden) == 2
    assert sorted(bot.cancelled_on_kill) == sorted(hidden)
    auth = {"Authorization": f"Bearer {bot.api_key}"}
    assert http.get("/perps/orders/open", headers=auth).json() == []
    journal = [
        (entry["method"], entry["path"], entry["status"])
        for entry in ocx_server.control("GET", "/_sim/journal")["entries"]
        if entry["account"] == mm
    ]
    failed = journal.index(("POST", "/perps/quotes/bulk", 504))
    assert journal[failed + 1] == ("POST", "/perps/orders/cancel-all", 200)
    # Killed, the bot sent nothing more that could place an order.
    assert all(path != "/perps/quotes/bulk" for _, path, _ in journal[failed + 1 :])
