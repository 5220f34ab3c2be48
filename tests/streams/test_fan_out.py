"""How a frame reaches many subscribers: built once per group, taken through a cursor into the
group's log, and written to a socket in batches when frames come fast (streams/hub.py,
streams/sse.py)."""

from __future__ import annotations

import json
from itertools import islice

import pytest

from ocx_sim.streams import hub as hub_module
from ocx_sim.streams.sse import BURST_SECONDS, Batching
from ocx_sim.testing.world import Account, OcxWorld
from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient
from tests.streams.conftest import PERP, order
from tests.streams.test_book_stream import book_stream


def bid(client: ApiClient, trader: NewAccount, i: int) -> None:
    """A new best bid: one frame on the book stream."""
    order(client, trader, "buy", f"{67000 + i}.00", "0.1000")


def test_a_frame_is_built_once_for_its_group_and_each_subscriber_stamps_its_own_event_seq(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    early = book_stream(world)
    bid(client, trader, 0)
    late = book_stream(world)  # joins after one update: its next frame is its second
    early.take(), late.take()

    bid(client, trader, 1)

    [a], [b] = early.take(), late.take()
    assert a.envelope is b.envelope
    assert (a.seq, b.seq) == (3, 2)
    first, second = json.loads(a.data), json.loads(b.data)
    assert (first["eventSeq"], second["eventSeq"]) == (3, 2)
    assert first["eventId"].split("-")[1] == "3" and second["eventId"].split("-")[1] == "2"
    assert first["payload"] == second["payload"]


def test_a_subscriber_that_does_not_take_keeps_every_frame_in_order_while_others_move_on(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    keen, idle = book_stream(world), book_stream(world)
    keen.take()

    for i in range(40):
        bid(client, trader, i)
        assert [f.seq for f in keen.take()] == [i + 2]

    frames = idle.take()
    assert [f.event for f in frames] == ["snapshot"] + ["update"] * 40
    assert [f.seq for f in frames] == list(range(1, 42))
    bids = [json.loads(f.data)["payload"]["bids"][0]["price"] for f in frames[1:]]
    assert bids == [f"{67000 + i}.00" for i in range(40)]


def test_the_log_keeps_only_what_some_subscriber_has_not_had(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    stream = book_stream(world)
    for i in range(3 * hub_module.WALK_AT_LEAST):
        bid(client, trader, i)
        stream.take()

    assert len(stream.group.log) <= hub_module.WALK_AT_LEAST


def test_a_subscriber_with_every_frame_waits_and_the_next_frame_wakes_it(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    stream = book_stream(world)
    assert stream.ready.is_set()  # its snapshot
    stream.take()
    assert not stream.ready.is_set()

    bid(client, trader, 0)
    assert stream.ready.is_set()
    bid(client, trader, 1)  # still behind: woken once, stays set
    assert [f.seq for f in stream.take()] == [2, 3]
    assert not stream.ready.is_set()


def test_frames_slower_than_one_a_burst_apart_are_written_at_once() -> None:
    batching = Batching()
    for k in range(1, 6):
        now = k * 2 * BURST_SECONDS
        assert batching.due(now) == 0
        batching.wrote(1, now)

    assert batching.wait == 0


def test_faster_frames_double_the_wait_up_to_the_most_and_a_slow_one_ends_it() -> None:
    batching = Batching(most=0.1)
    now = 0.0
    batching.wrote(1, now)
    waits = []
    for _ in range(6):
        now += batching.due(now) or BURST_SECONDS / 2
        batching.wrote(10, now)  # ten frames since the last write: a burst
        waits.append(batching.wait)

    assert waits == [BURST_SECONDS, 2 * BURST_SECONDS, 4 * BURST_SECONDS, 0.1, 0.1, 0.1]
    assert batching.due(now + 0.05) == pytest.approx(0.05)  # the rest of the wait

    now += 1.0  # then quiet: the next frame is the only one in a long while
    assert batching.due(now) == 0
    batching.wrote(1, now)
    assert batching.wait == 0


def test_in_process_frames_are_never_held_back(ocx: OcxWorld) -> None:
    trader = ocx.account(balances={"perps": 100_000})
    with ocx.stream("/perps/book-stream", marketId=PERP) as stream:
        list(stream)
        for i in range(5):
            buy(trader, i)
            assert [frame["id"] for frame in stream] == [str(i + 2)]


def buy(trader: Account, i: int) -> None:
    body = {"marketId": PERP, "side": "buy", "quantity": "0.1000", "price": f"{67000 + i}.00"}
    answer = trader.client.post("/perps/orders", json=body)
    assert answer.status_code == 200, answer.json()


def test_over_a_socket_a_flood_of_frames_arrives_whole_and_in_order(ocx_server: OcxWorld) -> None:
    trader = ocx_server.account(balances={"perps": 100_000})
    with ocx_server.stream("/perps/book-stream", marketId=PERP) as stream:
        frames = iter(stream)
        next(frames)
        for i in range(60):
            buy(trader, i)
        flood = list(islice(frames, 60))

    assert [frame["id"] for frame in flood] == [str(seq) for seq in range(2, 62)]
    best = [frame["data"]["payload"]["bids"][0]["price"] for frame in flood]
    assert best == [f"{67000 + i}.00" for i in range(60)]
