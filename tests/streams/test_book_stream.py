"""`/perps/book-stream` (docs/fidelity.md "Streams"): a snapshot equal to the REST book, then
exactly one frame per request that changes the top-`depth` view, nothing otherwise."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.streams import hub as hub_module
from ocx_sim.streams.endpoints import subscribe_book
from ocx_sim.streams.hub import Frame, Subscriber
from ocx_sim.testing.world import OcxWorld
from ocx_sim.worlds import NewAccount, World, WorldConfig, Worlds
from tests.api.conftest import ApiClient, assert_error

PERP = "BTC-PERP"


def order(client: ApiClient, account: NewAccount, side: str, price: str, size: str) -> str:
    body = {"marketId": PERP, "side": side, "quantity": size, "price": price}
    response = client.post("/perps/orders", json=body, token=account.session_token)
    assert response.status_code == 200, response.json()
    order_id: str = response.json()["id"]
    return order_id


def parsed(frames: list[Frame]) -> list[tuple[str, int | None, dict[str, Any]]]:
    return [(f.event, f.seq, json.loads(f.data)) for f in frames]


def book_stream(world: World, **params: str) -> Subscriber:
    return subscribe_book(world, {"marketId": PERP, **params})


def test_the_snapshot_is_the_rest_book_at_that_instant(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    order(client, trader, "buy", "67990.00", "0.5000")
    order(client, trader, "buy", "67980.00", "0.2500")
    order(client, trader, "sell", "68010.00", "1.0000")
    rest = client.get(f"/perps/orderbook/{PERP}").json()

    [(event, seq, envelope)] = parsed(book_stream(world).take())

    assert (event, seq) == ("snapshot", 1)
    assert envelope == {
        "eventId": f"book-1-{world.now_ms}",
        "eventType": "PerpBookSnapshot",
        "eventSeq": 1,
        "engineTs": world.now_ms,
        "sourceTs": None,
        "correlationId": None,
        "causationId": None,
        "payload": {
            "marketId": PERP,
            "bids": [
                {"price": "67990.00", "size": "0.5000", "total": "0.5000"},
                {"price": "67980.00", "size": "0.2500", "total": "0.7500"},
            ],
            "asks": [{"price": "68010.00", "size": "1.0000", "total": "1.0000"}],
            "sequence": rest["sequence"],
        },
    }
    assert [[lvl["price"], lvl["size"]] for lvl in envelope["payload"]["bids"]] == rest["bids"]


def test_a_request_that_changes_the_book_sends_one_update_with_the_changed_levels(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    order(client, trader, "buy", "67990.00", "0.5000")
    order(client, trader, "buy", "67980.00", "0.2500")
    stream = book_stream(world)
    stream.take()

    # A sell takes the best bid whole: one request, one frame.
    order(client, other, "sell", "67990.00", "0.5000")

    [(event, seq, envelope)] = parsed(stream.take())
    assert (event, seq, envelope["eventType"], envelope["eventSeq"]) == (
        "update",
        2,
        "PerpBookUpdate",
        2,
    )
    assert envelope["payload"] == {
        "marketId": PERP,
        "bids": [{"price": "67990.00", "size": "0.0000", "total": "0.0000"}],
        "asks": [],
        "sequence": client.get(f"/perps/orderbook/{PERP}").json()["sequence"],
    }


def test_a_request_that_changes_nothing_shown_sends_nothing(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    order(client, trader, "buy", "67990.00", "0.5000")
    stream = book_stream(world, depth="1")
    stream.take()

    client.get(f"/perps/orderbook/{PERP}")
    order(client, trader, "buy", "67000.00", "0.5000")  # below the one level shown
    client.post("/_sim/clock/advance", json={"ms": 1000})

    assert stream.take() == []


def test_a_level_entering_the_top_depth_view_pushes_one_out_at_size_zero(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    order(client, trader, "buy", "67990.00", "0.5000")
    order(client, trader, "buy", "67980.00", "0.2500")
    stream = book_stream(world, depth="2")
    stream.take()

    order(client, trader, "buy", "68000.00", "0.1000")

    [(_, _, envelope)] = parsed(stream.take())
    assert envelope["payload"]["bids"] == [
        {"price": "68000.00", "size": "0.1000", "total": "0.1000"},
        {"price": "67980.00", "size": "0.0000", "total": "0.6000"},
    ]


def test_subscribers_with_the_same_parameters_share_one_group_and_its_payloads(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    first, second = book_stream(world), book_stream(world)
    other_depth = book_stream(world, depth="5")
    for stream in (first, second, other_depth):
        stream.take()

    order(client, trader, "buy", "67990.00", "0.5000")

    assert first.group is second.group is not other_depth.group
    [a], [b] = parsed(first.take()), parsed(second.take())
    assert a == b
    assert len(parsed(other_depth.take())) == 1


def test_the_same_seed_and_requests_give_byte_identical_frames() -> None:
    def run() -> list[bytes]:
        worlds = Worlds(WorldConfig(seed=11))
        world = worlds.default
        from ocx_sim.app import create_app
        from ocx_sim.testing.client import InProcessClient

        http = InProcessClient(create_app(worlds))
        account = world.create_account(balances={Bucket.PERPS: Decimal(100_000)})
        stream = book_stream(world)
        for price in ("67990.00", "67980.00", "68010.00"):
            http.post(
                "/perps/orders",
                json={"marketId": PERP, "side": "buy", "quantity": "0.1000", "price": price},
                headers={"Authorization": f"Bearer {account.session_token}"},
            )
        http.post("/_sim/clock/advance", json={"ms": 60_000})
        http.close()
        return [frame.data for frame in stream.take()]

    first = run()

    assert len(first) == 4
    assert run() == first


def test_a_reset_ends_the_stream_with_an_error_and_a_deleted_world_too(world: World) -> None:
    stream = book_stream(world)
    stream.take()

    world.reset()

    [(event, seq, body)] = parsed(stream.take())
    assert (event, seq, body["code"], body["retryable"]) == ("error", None, "WORLD_RESET", True)
    assert stream.closed
    worlds = Worlds(WorldConfig(seed=1))
    doomed = worlds.create(WorldConfig(seed=2))
    gone = book_stream(doomed)
    worlds.delete(doomed.world_id)
    assert [f.event for f in gone.take()][-1] == "error"


def test_a_consumer_that_falls_too_far_behind_is_cut_off(
    client: ApiClient, world: World, trader: NewAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "MAX_QUEUED", 3)
    stream = book_stream(world)

    for i in range(4):
        order(client, trader, "buy", f"6790{i}.00", "0.1000")

    frames = parsed(stream.take())
    assert [f[0] for f in frames] == ["snapshot", "update", "update", "error"]
    assert frames[-1][2] == {
        "code": "SLOW_CONSUMER",
        "message": "The stream fell too far behind and was closed",
        "retryable": True,
    }
    assert stream.closed and not stream.group.subscribers


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "marketId"),
        ({"marketId": PERP, "depth": "0"}, "depth"),
        ({"marketId": PERP, "depth": "101"}, "depth"),
        ({"marketId": PERP, "depth": "ten"}, "depth"),
        ({"marketId": PERP, "intervalMs": "49"}, "intervalMs"),
        ({"marketId": PERP, "intervalMs": "2001"}, "intervalMs"),
    ],
)
def test_bad_parameters_are_a_json_400_naming_the_parameter(
    client: ApiClient, params: dict[str, str], field: str
) -> None:
    assert_error(client.get("/perps/book-stream", params=params), 400, "VALIDATION_ERROR", field)


@pytest.mark.parametrize("market", ["NOPE-PERP", "BTC-2026-01-09-68000-C"])
def test_an_unknown_or_option_market_is_a_json_404(client: ApiClient, market: str) -> None:
    assert_error(
        client.get("/perps/book-stream", params={"marketId": market}), 404, "UNKNOWN_MARKET"
    )


def test_a_client_reads_the_stream_over_a_real_socket_with_httpx_sse(ocx_server: OcxWorld) -> None:
    trader = ocx_server.account(balances={"perps": 10_000})
    params = {"marketId": PERP}
    with (
        httpx.Client(base_url=ocx_server.url, timeout=10) as http,
        connect_sse(http, "GET", "/perps/book-stream", params=params) as source,
    ):
        events = source.iter_sse()
        snapshot = next(events)
        trader.client.post(
            "/perps/orders",
            json={"marketId": PERP, "side": "buy", "quantity": "0.1000", "price": "67990.00"},
        )
        update = next(events)

    assert (snapshot.event, snapshot.id, update.event, update.id) == (
        "snapshot",
        "1",
        "update",
        "2",
    )
    assert json.loads(update.data)["payload"]["bids"] == [
        {"price": "67990.00", "size": "0.1000", "total": "0.1000"}
    ]


def test_an_accepted_request_answers_an_event_stream_that_opens_with_the_snapshot(
    client: ApiClient,
) -> None:
    # The in-process client disconnects once its request is sent: it reads what was sent
    # before the server noticed, the snapshot.
    response = client.get("/perps/book-stream", params={"marketId": PERP, "depth": "5"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.splitlines()
    assert lines[:2] == ["id: 1", "event: snapshot"]
    envelope = json.loads(lines[2].removeprefix("data: "))
    assert (envelope["eventType"], envelope["payload"]["marketId"]) == ("PerpBookSnapshot", PERP)
