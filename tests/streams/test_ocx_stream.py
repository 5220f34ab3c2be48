"""`ocx.stream(path, …)` (testing/streams.py): in process, the frames waiting now, without a
socket or a thread, through the gateway like any request (credentials, faults, journal); over
a socket (`ocx_server`), httpx-sse's frames as they arrive."""

from __future__ import annotations

from itertools import islice

import pytest

from ocx_sim.testing.streams import parse_frames
from ocx_sim.testing.world import Account, OcxSimError, OcxWorld

PERP = "BTC-PERP"
STREAM = "/perps/book-stream"


def buy(account: Account, price: str) -> None:
    answer = account.client.post(
        "/perps/orders",
        json={"marketId": PERP, "side": "buy", "quantity": "0.1000", "price": price},
    )
    assert answer.status_code == 200, answer.json()


def test_in_process_iterating_yields_the_frames_waiting_now_and_stops(ocx: OcxWorld) -> None:
    trader = ocx.account(balances={"perps": 10_000})
    with ocx.stream(STREAM, marketId=PERP, depth=5) as stream:
        [snapshot] = list(stream)
        assert list(stream) == []

        buy(trader, "67990.00")  # its frame is there as soon as the command returns
        [update] = list(stream)

    assert (snapshot["event"], snapshot["id"], snapshot["data"]["eventSeq"]) == ("snapshot", "1", 1)
    assert snapshot["data"]["payload"]["bids"] == []
    assert (update["event"], update["id"]) == ("update", "2")
    assert update["data"]["payload"]["bids"] == [
        {"price": "67990.00", "size": "0.1000", "total": "0.1000"}
    ]


def test_in_process_a_refused_stream_raises_with_the_json_error(ocx: OcxWorld) -> None:
    with pytest.raises(OcxSimError) as refused:
        ocx.stream(STREAM, marketId=PERP, depth=0)

    assert refused.value.status == 400
    assert refused.value.body["details"]["field"] == "depth"


def test_in_process_stream_faults_act_as_over_a_socket(ocx: OcxWorld) -> None:
    trader = ocx.account(balances={"perps": 10_000})
    ocx.control(
        "POST",
        "/_sim/faults",
        {"match": {"method": "GET", "path": STREAM}, "action": {"type": "stream_duplicate"}},
    )
    with ocx.stream(STREAM, marketId=PERP) as stream:
        buy(trader, "67990.00")
        buy(trader, "67980.00")
        ids = [f["id"] for f in stream]

    assert ids == ["1", "2", "2", "3"]


def test_in_process_a_closed_stream_is_journalled_with_its_frames(ocx: OcxWorld) -> None:
    trader = ocx.account(balances={"perps": 10_000}, api_keys=["read"])
    with ocx.stream(STREAM, account=trader, marketId=PERP) as stream:
        buy(trader, "67990.00")
        assert len(list(stream)) == 2

    [entry] = [e for e in ocx.control("GET", "/_sim/journal")["entries"] if e["path"] == STREAM]
    assert (entry["status"], entry["frames"]) == (200, 2)


def test_in_process_a_drop_ends_the_stream(ocx: OcxWorld) -> None:
    ocx.control(
        "POST",
        "/_sim/faults",
        {"match": {"method": "GET", "path": STREAM}, "action": {"type": "stream_drop"}},
    )
    with ocx.stream(STREAM, marketId=PERP) as stream:
        frames = list(stream)
        assert stream.ended

    assert [f["event"] for f in frames] == ["snapshot"]


def test_over_a_socket_frames_arrive_as_they_come(ocx_server: OcxWorld) -> None:
    trader = ocx_server.account(balances={"perps": 10_000})
    with ocx_server.stream(STREAM, marketId=PERP) as stream:
        frames = iter(stream)
        snapshot = next(frames)
        buy(trader, "67990.00")
        [update] = islice(frames, 1)

    assert (snapshot["id"], update["id"], update["event"]) == ("1", "2", "update")


def test_over_a_socket_a_refused_stream_raises_with_the_json_error(ocx_server: OcxWorld) -> None:
    with pytest.raises(OcxSimError) as refused:
        ocx_server.stream(STREAM, marketId="NOPE-PERP")

    assert (refused.value.status, refused.value.body["code"]) == (404, "UNKNOWN_MARKET")


def test_frames_are_parsed_across_chunks_and_comments_are_skipped() -> None:
    frames, rest = parse_frames(
        ': heartbeat\r\n\r\nid: 1\r\nevent: snapshot\ndata: {"a": 1}\n\nid: 2\n'
    )

    assert frames == [{"event": "snapshot", "id": "1", "data": {"a": 1}}]
    assert rest == "id: 2\n"
