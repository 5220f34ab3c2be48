"""`/_sim/events/stream` (docs/control-api.md "State"): the world's event log as it grows, each
event as `GET /_sim/events` shows it; a snapshot `{seq, events}`, then one update
`{seq, events, omitted}` per request that adds events (of the `types` asked for), nothing
otherwise. A control endpoint: absent with `--no-control`."""

from __future__ import annotations

from typing import Any

import pytest

from ocx_sim.app import create_app
from ocx_sim.streams.endpoints import subscribe_sim_events
from ocx_sim.streams.hub import Subscriber
from ocx_sim.streams.sim_events import MOST
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import NewAccount, World, Worlds
from tests.api.conftest import ApiClient, assert_error
from tests.streams.conftest import PERP, order, parsed, payloads, post

SELL = {"side": "sell", "price": "67990.00", "quantity": "0.1000"}


def log(client: ApiClient, since: int = 0) -> list[dict[str, Any]]:
    response = client.get("/_sim/events", params={"since": since})
    assert response.status_code == 200, response.json()
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def stream(world: World, **query: str) -> Subscriber:
    return subscribe_sim_events(world, query)


def test_the_snapshot_holds_the_last_seq_and_no_event_by_default(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    [(event, seq, envelope)] = parsed(stream(world).take())

    assert (event, seq, envelope["eventType"]) == ("snapshot", 1, "SimEventsSnapshot")
    assert envelope["payload"] == {"seq": world.exchange.events.last_seq, "events": []}
    assert envelope["payload"]["seq"] == log(client)[-1]["seq"]


def test_since_gives_the_history_as_get_events_shows_it(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    [snapshot] = payloads(stream(world, since="2"))

    assert snapshot["events"] == log(client, since=2)
    assert snapshot["events"][0]["seq"] == 3


def test_a_trade_sends_one_update_with_the_events_it_added(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    subscriber = stream(world)
    [snapshot] = payloads(subscriber)
    order(client, trader, "buy", "67990.00", "0.1000")

    post(client, f"/_sim/markets/{PERP}/trade", SELL)

    [resting, traded] = parsed(subscriber.take())
    assert [f[0] for f in (resting, traded)] == ["update", "update"]
    update = traded[2]["payload"]
    assert update["events"] == log(client, since=resting[2]["payload"]["seq"])
    assert update["seq"] == update["events"][-1]["seq"] > snapshot["seq"]
    assert update["omitted"] == 0
    assert "TradeExecuted" in [e["type"] for e in update["events"]]


def test_types_keeps_only_the_events_of_those_types(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    subscriber = stream(world, types="TradeExecuted,MarkPinned", since="0")
    assert payloads(subscriber) == [{"seq": world.exchange.events.last_seq, "events": []}]

    order(client, trader, "buy", "67990.00", "0.1000")  # OrderAccepted only: no frame
    assert subscriber.take() == []
    post(client, f"/_sim/markets/{PERP}/trade", SELL)

    [update] = payloads(subscriber)
    assert [e["type"] for e in update["events"]] == ["TradeExecuted"]
    assert update["events"] == [e for e in log(client) if e["type"] == "TradeExecuted"]


def test_a_frame_holds_the_newest_events_and_counts_the_rest(
    client: ApiClient, world: World
) -> None:
    deposit = {"walletAddress": "0x" + "ab" * 20, "amount": "1"}
    for _ in range(
        MOST // 2 + 1
    ):  # each credited with two events: FundsDeposited, SettlementChanged
        assert client.post("/_sim/deposits", json=deposit).status_code == 201
    subscriber = stream(world)
    payloads(subscriber)
    before = world.exchange.events.last_seq

    post(client, "/_sim/clock/advance", {"ms": 10_000})

    [update] = payloads(subscriber)
    added = log(client, since=before)
    assert len(added) > MOST
    assert update["seq"] == added[-1]["seq"]
    assert update["events"] == added[-MOST:]
    assert update["omitted"] == len(added) - MOST


def test_a_restore_that_rewinds_the_log_sends_its_lower_seq(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    snapshot_id = client.post("/_sim/snapshot").json()["snapshotId"]
    rewound_to = world.exchange.events.last_seq
    subscriber = stream(world)
    payloads(subscriber)
    order(client, trader, "buy", "67990.00", "0.1000")
    payloads(subscriber)

    post(client, "/_sim/restore", {"snapshotId": snapshot_id})

    assert payloads(subscriber) == [{"seq": rewound_to, "events": [], "omitted": 0}]


def test_reading_the_stream_adds_no_event(client: ApiClient, world: World) -> None:
    before = world.exchange.digest()

    stream(world, since="0").take()
    response = client.get("/_sim/events/stream", params={"since": "0"})

    assert response.status_code == 200
    assert response.text.splitlines()[:2] == ["id: 1", "event: snapshot"]
    assert world.exchange.digest() == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"types": "TradeExecuted,Nope"}, "types"),
        ({"types": "tradeexecuted"}, "types"),
        ({"types": "TradeExecuted,"}, "types"),
        ({"since": "-1"}, "since"),
        ({"since": "x"}, "since"),
    ],
)
def test_a_bad_parameter_is_400_naming_it(
    client: ApiClient, query: dict[str, str], field: str
) -> None:
    assert_error(client.get("/_sim/events/stream", params=query), 400, "VALIDATION_ERROR", field)


def test_the_stream_is_absent_without_the_control_api(worlds: Worlds) -> None:
    with InProcessClient(create_app(worlds, control=False)) as off:
        assert off.get("/_sim/events/stream").status_code == 404
        assert "/_sim/events/stream" not in off.get("/openapi.json").json()["paths"]


def test_the_stream_is_a_control_endpoint_under_a_worlds_prefix_too(client: ApiClient) -> None:
    base = client.post("/_sim/worlds", json={}).json()["baseUrl"]
    operation = client.openapi.document["paths"]["/_sim/events/stream"]["get"]

    response = client.get(base + "/_sim/events/stream", params={"since": "0"})

    assert operation["tags"] == ["control"]
    assert response.status_code == 200
    assert '"payload":{"seq":0,"events":[]}' in response.text


def test_a_reset_ends_the_stream_with_an_error(client: ApiClient, world: World) -> None:
    subscriber = stream(world)
    subscriber.take()

    post(client, "/_sim/reset", {})

    [(event, _, body)] = parsed(subscriber.take())
    assert (event, body["code"]) == ("error", "WORLD_RESET")
    assert subscriber.closed
