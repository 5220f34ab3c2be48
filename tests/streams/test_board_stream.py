"""`/markets/board/stream` (docs/fidelity.md "Streams"): the `GET /markets/board` body as its
snapshot, then the entries a request changed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ocx_sim.streams.endpoints import subscribe_board
from ocx_sim.streams.hub import Subscriber
from ocx_sim.worlds import World
from tests.api.conftest import ApiClient, assert_error


def board_stream(world: World, **params: str) -> Subscriber:
    return subscribe_board(world, params)


def frames(stream: Subscriber) -> list[tuple[str, dict[str, Any]]]:
    return [(f.event, json.loads(f.data)) for f in stream.take()]


def test_the_snapshot_is_the_board_as_get_shows_it(client: ApiClient, world: World) -> None:
    [(event, envelope)] = frames(board_stream(world))

    assert (event, envelope["eventType"], envelope["eventId"]) == (
        "snapshot",
        "BoardSnapshot",
        f"board-1-{world.now_ms}",
    )
    assert envelope["payload"] == client.get("/markets/board").json()


def test_a_surface_change_sends_one_update_with_every_entry_it_moved(
    client: ApiClient, world: World
) -> None:
    stream = board_stream(world, underlying="BTC")
    stream.take()

    client.post("/_sim/options/BTC/surface", json={"atmVol": "0.80"})

    [(event, envelope)] = frames(stream)
    board = client.get("/markets/board").json()
    assert (event, envelope["eventType"], envelope["eventSeq"]) == ("update", "BoardUpdate", 2)
    assert envelope["payload"] == board  # every option's iv moved


def test_only_the_entries_that_changed_are_sent(client: ApiClient, world: World) -> None:
    stream = board_stream(world)
    stream.take()
    before = {o["marketId"]: o for o in client.get("/markets/board").json()["options"]}

    client.post("/_sim/clock/advance", json={"ms": 100})

    [(_, envelope)] = frames(stream)
    after = client.get("/markets/board").json()
    changed = [o for o in after["options"] if before[o["marketId"]] != o]
    assert 0 < len(changed) < len(after["options"])  # a tenth of a second moves a few figures
    assert envelope["payload"]["options"] == changed
    assert envelope["payload"]["underlyingPrice"] == after["underlyingPrice"]


def test_a_request_that_moves_nothing_on_the_board_sends_nothing(
    client: ApiClient, world: World
) -> None:
    stream = board_stream(world)
    stream.take()

    client.get("/markets/board")
    client.get("/perps/markets")

    assert stream.take() == []


def test_without_an_index_nothing_is_sent_until_it_is_back(client: ApiClient, world: World) -> None:
    stream = board_stream(world)
    stream.take()

    client.post("/_sim/markets/BTC-PERP/index", json={"price": None})
    assert stream.take() == []
    client.post("/_sim/markets/BTC-PERP/index", json={"price": "69000"})

    [(_, envelope)] = frames(stream)
    assert envelope["payload"]["underlyingPrice"] == "69000.00"


@pytest.mark.parametrize("underlying", ["ETH", "XAUT"])
def test_an_underlying_without_options_is_a_json_404(client: ApiClient, underlying: str) -> None:
    response = client.get("/markets/board/stream", params={"underlying": underlying})

    assert_error(response, 404, "UNKNOWN_MARKET", "underlying")


def test_the_stream_answers_over_http_with_the_snapshot(client: ApiClient) -> None:
    response = client.get("/markets/board/stream")

    assert response.status_code == 200
    assert response.text.splitlines()[:2] == ["id: 1", "event: snapshot"]
