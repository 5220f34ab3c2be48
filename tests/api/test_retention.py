"""A world's retention window over HTTP (docs/fidelity.md "Retention"): an order that ended
more than the window ago is 404 and out of the order history, the event log starts after what
was forgotten, the digest is the digest of a world that forgot nothing, an advance still
answers every event it made, and a world running a scenario forgets nothing until its
expectations are judged."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.app import create_app
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import NewAccount, World, WorldConfig, Worlds
from tests.api.conftest import ApiClient, OpenApi

HOUR_MS = 3_600_000
ORDER = {"marketId": "BTC-PERP", "side": "buy", "quantity": "0.1", "price": "66000"}


_OPEN: list[InProcessClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _client(worlds: Worlds) -> ApiClient:
    http = InProcessClient(create_app(worlds))
    _OPEN.append(http)
    return ApiClient(http, OpenApi(http.get("/openapi.json").json()))


def _trader(world: World) -> NewAccount:
    return world.create_account(balances={Bucket.PERPS: Decimal("100000")})


def _placed_and_cancelled(client: ApiClient, trader: NewAccount) -> str:
    order = client.post("/perps/orders", token=trader.session_token, json=ORDER).json()
    cancelled = client.post(f"/perps/orders/{order['id']}/cancel", token=trader.session_token)
    assert cancelled.status_code == 200
    return str(order["id"])


def _days_later(retention_ms: int | None) -> tuple[ApiClient, NewAccount, str, dict[str, Any]]:
    """A world with the retention window given: an order placed and cancelled, then the clock
    advanced two days (the day's options expire 8 hours in); (client, trader, the order's
    id, the advance's answer)."""
    worlds = Worlds(WorldConfig(seed=7, retention_ms=retention_ms))
    client = _client(worlds)
    trader = _trader(worlds.default)
    order_id = _placed_and_cancelled(client, trader)
    advanced = client.post("/_sim/clock/advance", json={"ms": 48 * HOUR_MS})
    assert advanced.status_code == 200
    return client, trader, order_id, advanced.json()


def test_an_order_that_ended_more_than_a_day_ago_is_404_and_gone_from_the_history() -> None:
    client, trader, order_id, _ = _days_later(24 * HOUR_MS)

    cancel = client.post(f"/perps/orders/{order_id}/cancel", token=trader.session_token)
    history = client.get("/perps/orders", token=trader.session_token).json()

    assert cancel.status_code == 404
    assert cancel.json()["code"] == "ORDER_NOT_FOUND"
    assert order_id not in [o["id"] for o in history]


def test_a_world_that_keeps_everything_still_knows_it_ended() -> None:
    client, trader, order_id, _ = _days_later(None)

    cancel = client.post(f"/perps/orders/{order_id}/cancel", token=trader.session_token)
    history = client.get("/perps/orders", token=trader.session_token).json()

    assert cancel.status_code == 409
    assert cancel.json()["code"] == "ORDER_NOT_OPEN"
    assert [o["status"] for o in history if o["id"] == order_id] == ["cancelled"]


def test_the_event_log_starts_after_what_was_forgotten_and_the_digest_covers_it() -> None:
    forgetting, _, _, _ = _days_later(24 * HOUR_MS)
    keeping, _, _, _ = _days_later(None)

    events = forgetting.get("/_sim/events", params={"since": "0"}).json()["events"]
    all_events = keeping.get("/_sim/events", params={"since": "0"}).json()["events"]

    forgotten = len(all_events) - len(events)
    assert forgotten > 0
    assert events == all_events[forgotten:]
    assert {e["type"] for e in all_events[:forgotten]} >= {"OrderAccepted", "OrderCancelled"}
    assert forgetting.get("/_sim/digest").json() == keeping.get("/_sim/digest").json()


def test_an_advance_longer_than_the_window_answers_every_event_it_made() -> None:
    forgetting, _, _, advanced = _days_later(24 * HOUR_MS)
    _, _, _, kept = _days_later(None)

    held = forgetting.get("/_sim/events", params={"since": "0"}).json()["events"]

    assert advanced["events"] == kept["events"] != []
    assert advanced["events"][0] not in held  # answered, then forgotten


SCENARIO = """
meta: {name: judged-late, duration: 30h}
timeline:
  - at: +29h
    expect: {event: {type: OrderCancelled, count: 1}}
"""


def test_a_world_running_a_scenario_forgets_nothing_until_its_expectations_are_judged() -> None:
    worlds = Worlds(WorldConfig(seed=7, scenario=SCENARIO))
    client = _client(worlds)
    _placed_and_cancelled(client, _trader(worlds.default))

    client.post("/_sim/clock/advance", json={"ms": 28 * HOUR_MS})
    while_pending = client.get("/_sim/events", params={"since": "0"}).json()["events"]
    client.post("/_sim/clock/advance", json={"ms": 2 * HOUR_MS})
    judged = client.get("/_sim/scenarios/status").json()
    client.post("/_sim/clock/advance", json={"ms": 1})
    after = client.get("/_sim/events", params={"since": "0"}).json()["events"]

    assert while_pending[0]["seq"] == 1
    assert [e["ok"] for e in judged["expectations"]] == [True]
    assert after[0]["seq"] > 1


def test_a_saved_world_that_forgot_goes_on_to_the_same_digest() -> None:
    worlds = Worlds(WorldConfig(seed=7))
    client = _client(worlds)
    _placed_and_cancelled(client, _trader(worlds.default))
    client.post("/_sim/clock/advance", json={"ms": 25 * HOUR_MS})
    client.get("/perps/markets")  # a request: the world forgets before it
    world = worlds.default
    assert world.exchange.events.first_seq > 1

    restored = World.from_saved(pickle.dumps(world.saved()))
    for each in (world, restored):
        each.exchange.advance_by(9 * HOUR_MS)

    assert restored.exchange.digest() == world.exchange.digest()


def test_a_window_shorter_than_a_day_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 24 hours"):
        WorldConfig(retention_ms=HOUR_MS)


def test_a_page_of_events_from_before_what_was_forgotten_starts_at_the_oldest_held() -> None:
    client, trader, _, _ = _days_later(24 * HOUR_MS)
    _placed_and_cancelled(client, trader)  # events held after the gap
    held = client.get("/_sim/events", params={"since": "0"}).json()["events"]

    page = client.get("/_sim/events", params={"since": "0", "limit": "2"}).json()["events"]

    assert held[0]["seq"] > 1
    assert page == held[:2]
