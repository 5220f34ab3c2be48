"""On a realtime clock a stream's group sends at most one frame per `intervalMs` of wall time,
coalescing what changed meanwhile (streams/hub.py); a manual clock keeps one frame per request.
Wall time is faked (`FakeRealTime`) except in the one test of the flush the event loop runs,
which waits a little more than the least interval (50 ms)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from ocx_sim.app import create_app
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.orders import OrderRequest, Side
from ocx_sim.streams.endpoints import subscribe_balances, subscribe_board, subscribe_book
from ocx_sim.testing.builders import FakeRealTime
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import ClockMode, NewAccount, World, WorldConfig, Worlds

PERP = "BTC-PERP"


@pytest.fixture
def real() -> FakeRealTime:
    return FakeRealTime()


@pytest.fixture
def worlds(real: FakeRealTime) -> Worlds:
    return Worlds(WorldConfig(seed=3, clock=ClockMode.REALTIME, speed=1000), real_time=real)


@pytest.fixture
def http(worlds: Worlds) -> Iterator[InProcessClient]:
    with InProcessClient(create_app(worlds)) as client:
        yield client


@pytest.fixture
def trader(worlds: Worlds) -> NewAccount:
    return worlds.default.create_account(balances={Bucket.PERPS: Decimal(100_000)})


def buy(http: InProcessClient, trader: NewAccount, price: str) -> None:
    answer = http.post(
        "/perps/orders",
        json={"marketId": PERP, "side": "buy", "quantity": "0.1000", "price": price},
        headers={"Authorization": f"Bearer {trader.session_token}"},
    )
    assert answer.status_code == 200, answer.json()


def bids(data: bytes) -> list[str]:
    return [level["price"] for level in json.loads(data)["payload"]["bids"]]


def test_changes_within_the_interval_wait_and_go_out_as_one_frame(
    worlds: Worlds, real: FakeRealTime, http: InProcessClient, trader: NewAccount
) -> None:
    world = worlds.default
    stream = subscribe_book(world, {"marketId": PERP, "intervalMs": "100"})
    stream.take()

    buy(http, trader, "67990.00")
    [first] = stream.take()  # nothing sent within the interval: at once
    real.now += 0.030
    buy(http, trader, "67980.00")
    buy(http, trader, "67970.00")
    assert stream.take() == []
    real.now += 0.069
    world.keep_time()
    assert stream.take() == []

    real.now += 0.001
    world.keep_time()  # the realtime ticker's call

    [coalesced] = stream.take()
    assert bids(first.data) == ["67990.00"]
    assert bids(coalesced.data) == ["67980.00", "67970.00"]
    assert (first.seq, coalesced.seq) == (2, 3)


def test_a_newcomer_flushes_its_group_so_its_snapshot_and_its_fellows_agree(
    worlds: Worlds, real: FakeRealTime, http: InProcessClient, trader: NewAccount
) -> None:
    world = worlds.default
    first = subscribe_book(world, {"marketId": PERP, "intervalMs": "100"})
    buy(http, trader, "67990.00")
    buy(http, trader, "67980.00")
    assert [f.event for f in first.take()] == ["snapshot", "update"]

    second = subscribe_book(world, {"marketId": PERP, "intervalMs": "100"})

    [update] = first.take()
    assert bids(update.data) == ["67980.00"]
    assert [f.event for f in second.take()] == ["snapshot"]


def test_on_a_running_loop_a_held_change_is_flushed_when_its_interval_is_up() -> None:
    world = Worlds(WorldConfig(seed=3, clock=ClockMode.REALTIME)).default
    trader = world.create_account(balances={Bucket.PERPS: Decimal(100_000)})

    def buy_direct(world: World, price: str) -> None:
        request = OrderRequest(PERP, Side.BUY, Decimal("0.1000"), price=Decimal(price))
        world.exchange.place_order(trader.user_id, request)
        world.changed()

    async def run() -> list[list[str]]:
        stream = subscribe_book(world, {"marketId": PERP, "intervalMs": "50"})
        stream.take()
        buy_direct(world, "67990.00")
        buy_direct(world, "67980.00")  # within 50 ms of the first: held
        seen = [bids(f.data) for f in stream.take()]
        await asyncio.wait_for(stream.ready.wait(), 1.0)
        return seen + [bids(f.data) for f in stream.take()]

    assert asyncio.run(run()) == [["67990.00"], ["67980.00"]]


def test_a_manual_clock_sends_one_frame_per_request_whatever_the_interval() -> None:
    worlds = Worlds(WorldConfig(seed=3))
    manual = worlds.default.create_account(balances={Bucket.PERPS: Decimal(100_000)})
    stream = subscribe_book(worlds.default, {"marketId": PERP, "intervalMs": "2000"})
    with InProcessClient(create_app(worlds)) as client:
        buy(client, manual, "67990.00")
        buy(client, manual, "67980.00")

    assert [f.seq for f in stream.take()] == [1, 2, 3]


def test_the_board_and_balances_streams_send_at_most_one_frame_a_second_and_a_quarter(
    worlds: Worlds, real: FakeRealTime, trader: NewAccount
) -> None:
    world = worlds.default  # speed 1000: a step of 1/64 s of wall time is 15 clock ticks
    board = subscribe_board(world, {})
    balances = subscribe_balances(world, trader.user_id)
    board.take(), balances.take()

    board_frames, balance_frames = [], []
    for _ in range(128):  # two seconds of wall time
        real.now += 1 / 64
        world.exchange.transfer(trader.user_id, Bucket.PERPS, Bucket.WALLET, Decimal(1))
        world.keep_time()  # the ticks (they move the board) and the realtime ticker's call
        board_frames.append(len(board.take()))
        balance_frames.append(len(balances.take()))

    # The first step sends at once (nothing was sent within the interval); then one frame
    # per interval, with everything that changed since the last one.
    assert [i for i, n in enumerate(board_frames) if n] == [0, 64]
    assert [i for i, n in enumerate(balance_frames) if n] == list(range(0, 128, 16))
    newcomer = subscribe_balances(world, trader.user_id)  # flushes the group: nothing lost
    [caught_up], [snapshot] = balances.take(), newcomer.take()
    assert json.loads(caught_up.data)["payload"] == json.loads(snapshot.data)["payload"]
