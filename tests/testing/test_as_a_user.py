"""The plugin as a user of ocx-sim meets it: only the fixtures and HTTP, nothing of the engine.

Every test here could sit in a trading client's own test suite (the `ocx_sim.testing` import is
only for type annotations)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from ocx_sim.testing import OcxWorld

from ocx_sim.testing import OcxSimError

PERP = "BTC-PERP"
START = datetime(2026, 1, 2, tzinfo=UTC)


def bid(price: str = "68000", quantity: str = "0.1") -> dict[str, Any]:
    return {"marketId": PERP, "side": "buy", "quantity": quantity, "price": price}


def test_a_resting_bid_fills_when_an_outside_trader_sells_into_it(ocx: OcxWorld) -> None:
    trader = ocx.account(balances={"perps": 10_000})
    order = trader.client.post("/perps/orders", json=bid()).json()

    fills = ocx.control(
        "POST", f"/_sim/markets/{PERP}/trade", {"side": "sell", "price": "68000", "quantity": "0.1"}
    )["fills"]

    assert [fill["quantity"] for fill in fills] == ["0.1000"]
    [position] = trader.client.get("/perps/positions").json()
    assert (position["side"], position["quantity"], position["entryPrice"]) == (
        "long",
        "0.1000",
        "68000.00",
    )
    filled = trader.client.get("/perps/orders").json()
    assert [(o["id"], o["status"]) for o in filled] == [(order["id"], "filled")]


def test_time_stands_still_until_the_test_moves_it(ocx: OcxWorld) -> None:
    before = ocx.clock.now
    ocx.client.get("/perps/markets")

    assert ocx.clock.now == before == START
    ocx.clock.advance("90s")
    assert ocx.clock.now == START + timedelta(seconds=90)
    ocx.clock.advance_to("2026-01-03T00:00:00.000Z")
    assert ocx.clock.iso == "2026-01-03T00:00:00.000Z"


def test_advancing_past_funding_pays_a_long_when_the_mark_is_above_the_index(
    ocx: OcxWorld,
) -> None:
    trader = ocx.account(balances={"perps": 10_000})
    trader.client.post("/perps/orders", json=bid())
    ocx.control(
        "POST", f"/_sim/markets/{PERP}/trade", {"side": "sell", "price": "68000", "quantity": "0.1"}
    )
    ocx.control("POST", f"/_sim/markets/{PERP}/mark", {"price": "69000"})

    events = ocx.clock.advance("1h")

    paid = [e for e in events if e["type"] == "FundingPaid" and e["userId"] == trader.user_id]
    assert len(paid) == 12  # every 5 minutes (docs/fidelity.md "Prices, funding and expiries")
    assert all(e["amount"].startswith("-") for e in paid)
    [position] = trader.client.get("/perps/positions").json()
    assert position["fundingPayment"].startswith("-")


def test_a_session_and_an_api_key_both_authenticate_the_same_user(ocx: OcxWorld) -> None:
    trader = ocx.account(balances={"perps": 1_000}, api_keys=["read"])

    by_session = trader.client.get("/perps/balances")
    by_key = trader.key_client("read").get("/perps/balances")
    anonymous = ocx.client.get("/perps/balances")

    assert by_session.status_code == by_key.status_code == 200
    assert by_session.json() == by_key.json()
    assert by_session.json()["perpsBalance"] == "1000.00"
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "UNAUTHENTICATED")


def test_a_refused_control_call_raises_with_its_status_code_and_field(ocx: OcxWorld) -> None:
    with pytest.raises(OcxSimError) as refused:
        ocx.account(balances={"perps": "-5"})

    assert refused.value.status == 400
    assert refused.value.body["code"] == "VALIDATION_ERROR"
    assert refused.value.body["details"]["field"] == "balances.perps"


def test_moving_the_clock_backwards_is_refused_and_leaves_it_where_it_was(ocx: OcxWorld) -> None:
    ocx.clock.advance("1d")

    with pytest.raises(OcxSimError) as refused:
        ocx.clock.advance_to(START)

    assert (refused.value.status, refused.value.body["code"]) == (400, "VALIDATION_ERROR")
    assert ocx.clock.now == START + timedelta(days=1)


def bot_session(http: httpx.Client) -> list[Any]:
    """Client code of the user's own, written against httpx: it knows URLs and JSON only."""
    seen = [http.get("/perps/orders/open").json()]
    placed = http.post("/perps/orders", json=bid("67990")).json()
    seen.append(placed)
    seen.append(http.post(f"/perps/orders/{placed['id']}/cancel").json())
    seen.append(http.get("/perps/orders").json())
    return seen


@pytest.mark.parametrize("where", ["ocx", "ocx_server"])
def test_client_code_written_with_httpx_runs_in_process_and_over_a_socket_alike(
    request: pytest.FixtureRequest, where: str
) -> None:
    world: OcxWorld = request.getfixturevalue(where)
    trader = world.account(balances={"perps": 10_000})

    seen = bot_session(world.httpx_client(trader.headers))

    assert seen[0] == []
    assert seen[1]["status"] == "open"
    assert seen[2]["status"] == "cancelled"
    assert [o["status"] for o in seen[3]] == ["cancelled"]


def test_the_same_requests_answer_the_same_bytes_in_process_and_over_a_socket(
    ocx: OcxWorld, ocx_server: OcxWorld
) -> None:
    answers = []
    for world in (ocx, ocx_server):
        trader = world.account(balances={"perps": 10_000}, wallet_address=f"0x{7:040x}")
        bot = bot_session(world.httpx_client(trader.headers))
        answers.append((trader.user_id, bot, world.clock.advance("10m")))

    assert answers[0] == answers[1]


def test_the_server_world_answers_any_http_client_at_its_url(ocx_server: OcxWorld) -> None:
    markets = httpx.get(f"{ocx_server.url}/perps/markets", timeout=10)

    assert markets.status_code == 200
    assert PERP in {market["id"] for market in markets.json()}
    assert ocx_server.url.startswith("http://127.0.0.1:")


class TestAWorldConfiguredForTheseTests:
    @pytest.fixture
    def ocx_world_config(self, ocx_seed: int) -> dict[str, Any]:
        return {"seed": ocx_seed, "start": "2027-03-01T12:00:00.000Z", "profile": "permissive"}

    def test_its_clock_starts_at_the_configured_instant(self, ocx: OcxWorld) -> None:
        assert ocx.clock.iso == "2027-03-01T12:00:00.000Z"

    def test_its_profile_takes_a_trade_key_on_the_order_path(self, ocx: OcxWorld) -> None:
        trader = ocx.account(balances={"perps": 10_000}, api_keys=["trade"])

        placed = trader.key_client("trade").post("/perps/orders", json=bid())

        assert placed.status_code == 200, placed.json()


@pytest.mark.ocx_scenario("squeeze.yaml")
def test_a_marked_scenario_plays_as_the_test_moves_the_clock(ocx: OcxWorld) -> None:
    whale = ocx.scenario_account("whale")
    assert whale.client.get("/perps/positions").json() == []

    ocx.clock.advance("10m")

    [position] = whale.client.get("/perps/positions").json()
    assert (position["side"], position["quantity"], position["markPrice"]) == (
        "long",
        "0.5000",
        "70000.00",
    )
    [expectation] = ocx.scenario_status()["expectations"]
    assert expectation["ok"], expectation


@pytest.mark.ocx_scenario("squeeze.yaml")
def test_a_marked_scenario_loads_into_the_server_world_too(ocx_server: OcxWorld) -> None:
    ocx_server.clock.advance("10m")

    assert [e["ok"] for e in ocx_server.scenario_status()["expectations"]] == [True]


def test_a_bundled_scenario_loads_by_name(ocx: OcxWorld) -> None:
    loaded = ocx.load_scenario("sandbox")

    assert loaded["scenario"] == "sandbox"
    ocx.clock.advance("1h")
    assert all(e["ok"] for e in ocx.scenario_status()["expectations"])


def test_a_scenario_file_with_a_mistake_is_refused_naming_the_file_line_and_path(
    ocx: OcxWorld, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "meta: {name: broken}\ntimeline:\n  - at: +1m\n    mark: {market: BTC-PERP, set: lots}\n"
    )

    with pytest.raises(OcxSimError) as refused:
        ocx.load_scenario(broken)

    assert (refused.value.status, refused.value.body["code"]) == (400, "VALIDATION_ERROR")
    assert f"{broken}:4: timeline[0].mark.set" in refused.value.body["message"]


@pytest.mark.parametrize("where", ["ocx", "ocx_server"])
def test_a_dropped_connection_reaches_httpx_client_code_the_same_way_in_either_world(
    request: pytest.FixtureRequest, where: str
) -> None:
    world: OcxWorld = request.getfixturevalue(where)
    trader = world.account(balances={"perps": 10_000})
    world.control(
        "POST",
        "/_sim/faults",
        {"match": {"method": "POST", "path": "/perps/orders"}, "action": {"type": "drop"}},
    )
    http = world.httpx_client(trader.headers)

    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/perps/orders", json=bid())

    assert http.get("/perps/orders").json() == []
    assert http.post("/perps/orders", json=bid()).status_code == 200
