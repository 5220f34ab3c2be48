"""Stream faults (docs/control-api.md "Faults"): stream_gap, stream_duplicate, stream_drop and
stream_stall act on one connection's frames, in the subscriber, so the SSE response and an
in-process reader see the same; they are matched on the stream's GET path once it opens."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from ocx_sim.streams import sse
from ocx_sim.streams.hub import Subscriber
from ocx_sim.testing.world import OcxWorld
from ocx_sim.worlds import NewAccount, World
from ocx_sim.worlds.faults import FaultAction, FaultType
from tests.api.conftest import ApiClient, assert_error
from tests.streams.test_book_stream import PERP, book_stream, order, parsed

STREAM = "/perps/book-stream"


def seqs(stream: Subscriber) -> list[int | None]:
    return [frame.seq for frame in stream.take()]


def orders(client: ApiClient, trader: NewAccount, n: int) -> None:
    for i in range(n):
        order(client, trader, "buy", f"6790{i}.00", "0.1000")


def test_a_gap_skips_the_first_frame_after_the_snapshot_and_spends_its_event_seq(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    stream = book_stream(world)
    stream.inject(FaultAction(FaultType.STREAM_GAP))

    orders(client, trader, 3)

    frames = parsed(stream.take())
    assert [seq for _, seq, _ in frames] == [1, 3, 4]
    assert [body["eventSeq"] for _, _, body in frames] == [1, 3, 4]


def test_a_duplicate_sends_the_first_frame_after_the_snapshot_twice_byte_for_byte(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    stream = book_stream(world)
    stream.inject(FaultAction(FaultType.STREAM_DUPLICATE))

    orders(client, trader, 2)

    frames = stream.take()
    assert [f.seq for f in frames] == [1, 2, 2, 3]
    assert frames[1] == frames[2]


@pytest.mark.parametrize(("after", "seen"), [(None, [1]), (3, [1, 2, 3])])
def test_a_drop_ends_the_stream_after_that_many_frames_without_an_error(
    client: ApiClient, world: World, trader: NewAccount, after: int | None, seen: list[int]
) -> None:
    stream = book_stream(world)
    stream.inject(FaultAction(FaultType.STREAM_DROP, after_frames=after))

    orders(client, trader, 4)

    frames = stream.take()
    assert [f.seq for f in frames] == seen
    assert "error" not in [f.event for f in frames]
    assert stream.closed and stream not in stream.group.subscribers


def test_a_stall_holds_every_frame_after_the_snapshot_for_its_real_milliseconds(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    now = [100.0]
    stream = book_stream(world)
    stream.clock = lambda: now[0]
    stream.inject(FaultAction(FaultType.STREAM_STALL, ms=250))

    orders(client, trader, 1)
    assert seqs(stream) == [1]  # the snapshot is sent; the stall starts there
    orders(client, trader, 1)
    now[0] += 0.249
    assert seqs(stream) == []
    now[0] += 0.001

    assert seqs(stream) == [2, 3]


def add(client: ApiClient, action: dict[str, Any], **rule: Any) -> dict[str, Any]:
    body = {"match": {"method": "GET", "path": STREAM}, "action": action, **rule}
    answer = client.post("/_sim/faults", json=body)
    assert answer.status_code == 201, answer.json()
    added: dict[str, Any] = answer.json()
    return added


def remaining(client: ApiClient) -> list[int | None]:
    return [f["remaining"] for f in client.get("/_sim/faults").json()["faults"]]


def test_a_stream_rule_counts_the_streams_it_opens_not_refused_requests_or_other_gets(
    client: ApiClient,
) -> None:
    add(client, {"type": "stream_gap"}, times=2)
    client.post(
        "/_sim/faults",
        json={
            "match": {"method": "GET", "path": "/perps/orderbook/{id}"},
            "action": {"type": "stream_gap"},
        },
    )

    assert_error(
        client.get(STREAM, params={"marketId": PERP, "depth": "0"}), 400, "VALIDATION_ERROR"
    )
    assert client.get(f"/perps/orderbook/{PERP}").status_code == 200
    assert remaining(client) == [2, 1]
    assert client.get(STREAM, params={"marketId": PERP}).status_code == 200

    assert remaining(client) == [1, 1]


def test_a_stream_drop_shows_its_after_frames_default_of_one(client: ApiClient) -> None:
    assert add(client, {"type": "stream_drop"})["action"] == {
        "type": "stream_drop",
        "status": None,
        "code": None,
        "message": None,
        "ms": None,
        "drop": False,
        "afterFrames": 1,
    }


@pytest.mark.parametrize(
    ("match", "action", "field"),
    [
        ("GET", {"type": "stream_drop", "afterFrames": 0}, "action.afterFrames"),
        ("GET", {"type": "stream_drop", "afterFrames": "2"}, "action.afterFrames"),
        ("GET", {"type": "stream_gap", "afterFrames": 2}, "action.afterFrames"),
        ("GET", {"type": "stream_stall"}, "action.ms"),
        ("GET", {"type": "stream_stall", "ms": 0}, "action.ms"),
        ("GET", {"type": "stream_duplicate", "ms": 5}, "action.ms"),
        ("POST", {"type": "stream_gap"}, "match.method"),
        ("*", {"type": "stream_gap"}, "match.method"),
        (
            "GET",
            {"type": "error", "status": 503, "code": "X", "afterFrames": 1},
            "action.afterFrames",
        ),
    ],
)
def test_a_bad_stream_fault_is_a_400_naming_the_field(
    client: ApiClient, match: str, action: dict[str, Any], field: str
) -> None:
    body = {"match": {"method": match, "path": STREAM}, "action": action}

    assert_error(client.post("/_sim/faults", json=body), 400, "VALIDATION_ERROR", field)
    assert remaining(client) == []


def _buy(trader: Any, price: str) -> None:
    answer = trader.client.post(
        "/perps/orders",
        json={"marketId": PERP, "side": "buy", "quantity": "0.1000", "price": price},
    )
    assert answer.status_code == 200, answer.json()


def test_over_a_socket_a_gap_rule_shows_as_an_event_seq_jump(ocx_server: OcxWorld) -> None:
    trader = ocx_server.account(balances={"perps": 10_000})
    ocx_server.control(
        "POST",
        "/_sim/faults",
        {"match": {"method": "GET", "path": STREAM}, "action": {"type": "stream_gap"}},
    )
    with (
        httpx.Client(base_url=ocx_server.url, timeout=10) as http,
        connect_sse(http, "GET", STREAM, params={"marketId": PERP}) as source,
    ):
        events = source.iter_sse()
        ids = [next(events).id]
        _buy(trader, "67990.00")
        _buy(trader, "67980.00")
        update = next(events)
        ids.append(update.id)

    assert ids == ["1", "3"]
    assert json.loads(update.data)["eventSeq"] == 3


def test_over_a_socket_a_drop_ends_the_response_and_the_journal_counts_its_frames(
    ocx_server: OcxWorld,
) -> None:
    trader = ocx_server.account(balances={"perps": 10_000})
    ocx_server.control(
        "POST",
        "/_sim/faults",
        {
            "match": {"method": "GET", "path": STREAM},
            "action": {"type": "stream_drop", "afterFrames": 2},
        },
    )
    with (
        httpx.Client(base_url=ocx_server.url, timeout=10) as http,
        connect_sse(http, "GET", STREAM, params={"marketId": PERP}) as source,
    ):
        events = source.iter_sse()
        first = next(events)
        _buy(trader, "67990.00")
        rest = list(events)  # ends: the server closed the stream

    assert [first.id] + [e.id for e in rest] == ["1", "2"]
    assert [e.event for e in rest] == ["update"]
    entries = ocx_server.control("GET", "/_sim/journal")["entries"]
    stream = [e for e in entries if e["path"] == STREAM]
    assert len(stream) == 1
    assert (stream[0]["status"], stream[0]["frames"]) == (200, 2)
    # Written when the stream ended: after the order placed while it was open.
    order_seq = next(e["seq"] for e in entries if e["path"] == "/perps/orders")
    assert stream[0]["seq"] > order_seq


def test_over_a_socket_a_stall_holds_frames_back_for_real_time(ocx_server: OcxWorld) -> None:
    trader = ocx_server.account(balances={"perps": 10_000})
    ocx_server.control(
        "POST",
        "/_sim/faults",
        {"match": {"method": "GET", "path": STREAM}, "action": {"type": "stream_stall", "ms": 300}},
    )
    with (
        httpx.Client(base_url=ocx_server.url, timeout=10) as http,
        connect_sse(http, "GET", STREAM, params={"marketId": PERP}) as source,
    ):
        events = source.iter_sse()
        next(events)
        started = time.monotonic()
        _buy(trader, "67990.00")
        update = next(events)
        waited = time.monotonic() - started

    assert update.id == "2"
    assert waited >= 0.25


def test_a_stream_is_journalled_once_when_it_ends_with_its_frame_count(
    client: ApiClient,
) -> None:
    # The in-process client goes away once the snapshot is sent: a stream of one frame.
    assert client.get(STREAM, params={"marketId": PERP}).status_code == 200

    [entry] = [e for e in client.get("/_sim/journal").json()["entries"] if e["path"] == STREAM]
    assert (entry["method"], entry["status"], entry["frames"]) == ("GET", 200, 1)
    assert entry["latencyMs"] >= 0
    others = client.get("/_sim/journal").json()["entries"]
    assert all("frames" not in e for e in others if e["path"] != STREAM)


@pytest.mark.parametrize("stall_ms", [None, 300])
def test_a_heartbeat_goes_out_after_a_quiet_while_but_never_during_a_stall(
    ocx_server: OcxWorld, monkeypatch: pytest.MonkeyPatch, stall_ms: int | None
) -> None:
    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 0.05)
    if stall_ms is not None:
        ocx_server.control(
            "POST",
            "/_sim/faults",
            {
                "match": {"method": "GET", "path": STREAM},
                "action": {"type": "stream_stall", "ms": stall_ms},
            },
        )
    with (
        httpx.Client(base_url=ocx_server.url, timeout=10) as http,
        http.stream("GET", STREAM, params={"marketId": PERP}) as response,
    ):
        lines = response.iter_lines()
        assert next(lines) == "id: 1"
        while next(lines) != "":  # the rest of the snapshot
            pass
        started = time.monotonic()
        heartbeat = next(line for line in lines if line)
        waited = time.monotonic() - started

    assert heartbeat == ": heartbeat"
    assert waited >= (0.25 if stall_ms else 0.0)
    assert waited < (0.25 if stall_ms is None else 5)


def test_a_scenario_turns_on_a_stream_drop_after_frames(ocx: OcxWorld, tmp_path: Any) -> None:
    scenario = tmp_path / "flaky-book.yaml"
    scenario.write_text(
        """
meta: {name: flaky-book}
timeline:
  - at: +1s
    fault:
      name: book-drops
      match: {method: GET, path: /perps/book-stream}
      action: {type: stream_drop, afterFrames: 3}
"""
    )
    ocx.load_scenario(scenario)
    ocx.clock.advance("1s")
    trader = ocx.account(balances={"perps": 100_000})

    with ocx.stream(STREAM, marketId=PERP) as stream:
        for i in range(5):
            answer = trader.client.post(
                "/perps/orders",
                json={
                    "marketId": PERP,
                    "side": "buy",
                    "quantity": "0.1000",
                    "price": f"6790{i}.00",
                },
            )
            assert answer.status_code == 200
        frames = list(stream)

    assert [frame["id"] for frame in frames] == ["1", "2", "3"]
    assert stream.ended
