"""The dashboard at `/_sim/ui/` in a real browser, against a real server: it shows what the
world does as it happens (through the event stream and the book stream) and drives it through
the control API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ocx_sim.testing.sandbox import Sandbox
from ocx_sim.testing.wire import Answer
from ocx_sim.testing.world import Account, OcxWorld

SHOTS = os.environ.get("OCX_SIM_SCREENSHOTS")
"""A directory to keep the tour's screenshots in (docs/img is where the README takes them)."""


def _open(page: Page, world: OcxWorld, where: str = "") -> None:
    page.goto(f"{world.url}/_sim/ui/#{where}")
    expect(page.get_by_test_id("live")).to_have_text("● live")


def _grouped(amount: str) -> str:
    """A decimal string as the dashboard shows it: its whole part in groups of three."""
    whole, _, fraction = amount.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


def _bid(trader: Account, price: str, quantity: str) -> Answer:
    """A BTC-PERP limit buy through the API, as a client sends it."""
    order = {"marketId": "BTC-PERP", "side": "buy", "type": "limit"}
    return trader.client.post("/perps/orders", json={**order, "price": price, "quantity": quantity})


def _long_btc(world: OcxWorld) -> Account:
    """A user long 0.1 BTC-PERP, filled by an outside seller at 68,000."""
    trader = world.account(balances={"perps": 50_000})
    _bid(trader, "68000.00", "0.1")
    world.control(
        "POST",
        "/_sim/markets/BTC-PERP/trade",
        {"side": "sell", "price": "68000.00", "quantity": "0.1"},
    )
    return trader


def test_advancing_to_the_next_funding_shows_the_payment_and_the_new_balance(
    page: Page, ocx_server: OcxWorld
) -> None:
    trader = _long_btc(ocx_server)
    # A mark above the index: longs pay funding.
    ocx_server.control("POST", "/_sim/markets/BTC-PERP/mark", {"price": "68500.00"})
    _open(page, ocx_server, f"/account/{trader.user_id}")
    balance = page.get_by_test_id("balance-perps")
    expect(balance).not_to_have_text("")
    before = balance.inner_text()

    page.get_by_role("button", name="next funding").click()

    activity = page.get_by_test_id("activity")
    expect(activity.locator('tr[data-type="FundingPaid"]')).to_contain_text("BTC-PERP")
    expect(page.get_by_test_id("ledger").locator('tr[data-type="funding"]')).to_have_count(1)
    expect(balance).not_to_have_text(before)
    perps = trader.client.get("/perps/balances").json()["perpsBalance"]
    expect(balance).to_have_text(_grouped(perps))


def test_a_fault_added_from_the_form_fails_the_next_order_in_the_journal(
    page: Page, ocx_server: OcxWorld
) -> None:
    trader = ocx_server.account(balances={"perps": 10_000})
    _open(page, ocx_server, "/faults")
    form = page.get_by_test_id("fault-form")
    form.get_by_label("path").fill("/perps/orders")
    form.get_by_label("status").fill("503")
    form.get_by_label("code").fill("EXCHANGE_BUSY")
    form.get_by_label("times").fill("2")
    form.get_by_role("button", name="Add fault").click()
    expect(page.get_by_test_id("faults")).to_contain_text("POST /perps/orders")

    refused = _bid(trader, "67000.00", "0.01")

    assert refused.status_code == 503
    assert refused.json()["code"] == "EXCHANGE_BUSY"
    faults = page.get_by_test_id("faults")
    expect(faults.locator("tbody td.num")).to_have_text("1")  # one hit of the two left
    faults.get_by_role("button", name="Remove").click()
    expect(page.get_by_test_id("faults")).to_contain_text("No fault is armed")
    page.get_by_role("link", name="Journal").click()
    row = page.get_by_test_id("journal").locator("tr", has_text="/perps/orders")
    expect(row).to_contain_text("503")
    expect(row).to_contain_text("POST")


def test_the_journal_filters_by_status_and_shows_a_requests_bodies(
    page: Page, ocx_sandbox: Sandbox
) -> None:
    with ocx_sandbox.world({"journalBodies": True}) as world:
        trader = world.account(balances={"perps": 10_000})
        assert _bid(trader, "67000.00", "0.01").status_code == 200
        assert _bid(trader, "1.00", "0.01").status_code == 422  # outside the price band
        _open(page, world, "/journal")
        form = page.get_by_test_id("journal-filter")
        form.get_by_label("status").fill("4xx")
        form.get_by_role("button", name="Filter").click()

        rows = page.get_by_test_id("journal").locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("422")
        rows.get_by_text("show").click()
        expect(rows.locator("pre").first).to_contain_text('"price": "1.00"')
        expect(rows.locator("pre").last).to_contain_text("PRICE_OUT_OF_BAND")


def test_an_order_placed_through_the_api_shows_on_the_ladder(
    page: Page, ocx_server: OcxWorld
) -> None:
    trader = ocx_server.account(balances={"perps": 10_000})
    _open(page, ocx_server, "/market/BTC-PERP")
    ladder = page.get_by_test_id("ladder")
    expect(ladder).to_contain_text("spread")

    placed = _bid(trader, "67000.00", "0.25")

    assert placed.status_code == 200, placed.text
    expect(ladder.locator('tr.bid[data-price="67000.00"]')).to_contain_text("0.2500")
    trader.client.post(f"/perps/orders/{placed.json()['id']}/cancel")
    expect(ladder.locator('tr.bid[data-price="67000.00"]')).to_have_count(0)


def test_the_worlds_page_snapshots_and_restores_a_world_and_makes_and_deletes_another(
    page: Page, ocx_server: OcxWorld
) -> None:
    _open(page, ocx_server, "/worlds")
    page.get_by_role("button", name="Take a snapshot").click()
    expect(page.get_by_test_id("snapshots")).to_contain_text("2026-01-02 00:00:00.000")
    page.get_by_role("button", name="+1 min").click()
    expect(page.get_by_test_id("clock-now")).to_have_text("2026-01-02 00:01:00.000")

    page.get_by_role("button", name="Restore").click()

    expect(page.get_by_test_id("clock-now")).to_have_text("2026-01-02 00:00:00.000")
    assert ocx_server.clock.iso == "2026-01-02T00:00:00.000Z"
    snapshots = page.get_by_test_id("snapshots")
    snapshots.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No snapshot of this world.")).to_be_visible()
    assert ocx_server.control("GET", "/_sim/snapshots") == {"snapshots": []}
    form = page.get_by_test_id("create-world")
    form.get_by_label("scenario").select_option("sandbox")
    form.get_by_label("seed").fill("7")
    form.get_by_role("button", name="Create world").click()
    made = (
        page.get_by_test_id("worlds").locator("tr", has_text="/w/").filter(has_not_text="this one")
    )
    expect(made).to_have_count(1)
    expect(made).to_contain_text("7")
    page.on("dialog", lambda dialog: dialog.accept())
    made.get_by_role("button", name="Delete").click()
    expect(made).to_have_count(0)


@pytest.mark.ocx_scenario("sandbox")
def test_every_page_shows_its_world(page: Page, ocx_server: OcxWorld, tmp_path: Path) -> None:
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    trader = _long_btc(ocx_server)
    ocx_server.clock.advance("6m")
    ocx_server.control("POST", "/_sim/snapshot")
    tour = {
        "clock": ("/", page.get_by_test_id("clock-facts"), "next funding"),
        "markets": ("/markets", page.get_by_test_id("board"), "strike"),
        "market": ("/market/BTC-PERP", page.get_by_test_id("ladder"), "spread"),
        "accounts": ("/accounts", page.get_by_test_id("accounts"), trader.user_id),
        "account": (f"/account/{trader.user_id}", page.get_by_test_id("positions"), "BTC-PERP"),
        "journal": ("/journal", page.get_by_test_id("journal"), "/perps/orders"),
        "events": ("/events", page.get_by_test_id("events"), "TradeExecuted"),
        "faults": ("/faults", page.get_by_test_id("fault-form"), "Add fault"),
        "scenario": ("/scenario", page.get_by_test_id("expectations"), "✓"),
        "health": ("/health", page.get_by_test_id("digest"), ocx_server.digest()),
        "worlds": ("/worlds", page.get_by_test_id("snapshots"), "Restore"),
    }
    candles = ocx_server.control("GET", "/perps/ohlc?symbol=BTC-PERP&resolution=1")["t"]
    _open(page, ocx_server)
    for name, (where, part, text) in tour.items():
        page.goto(f"{ocx_server.url}/_sim/ui/#{where}")
        expect(part).to_contain_text(text)
        if name == "market":
            expect(page.get_by_test_id("candles")).to_have_attribute(
                "data-candles", str(len(candles))
            )
        page.screenshot(path=shots / f"dashboard-{name}.png")
