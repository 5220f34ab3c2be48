"""A realtime world fires its timers as real time passes: before every request to it, and from a
ticker the app runs for its lifetime (docs/control-api.md "Clock"). Real time is faked throughout:
these tests never wait on the wall clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from starlette.types import Message

from ocx_sim.app import MIN_TICK_SECONDS, TICK_SECONDS, create_app, keep_time
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.events import FundingPaid, TradeExecuted
from ocx_sim.engine.core.orders import OrderRequest, OrderType, Side
from ocx_sim.engine.core.settlements import SettlementStatus
from ocx_sim.testing.builders import FakeRealTime
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import ClockMode, WorldConfig, Worlds

ADDRESS = "0x" + "cd" * 20


@pytest.fixture
def real() -> FakeRealTime:
    return FakeRealTime()


@pytest.fixture
def worlds(real: FakeRealTime) -> Worlds:
    return Worlds(WorldConfig(seed=3, clock=ClockMode.REALTIME), real_time=real)


def test_a_request_sees_every_timer_due_by_its_instant(worlds: Worlds, real: FakeRealTime) -> None:
    account = worlds.default.create_account(wallet_address=ADDRESS)
    bearer = {"Authorization": f"Bearer {account.session_token}"}
    with InProcessClient(create_app(worlds)) as client:
        deposit = client.post("/_sim/deposits", json={"walletAddress": ADDRESS, "amount": "10"})

        real.now += 4.0  # both confirmations are due; no ticker runs in-process
        answer = client.get(f"/wallet/settlements/{deposit.json()['id']}", headers=bearer).json()
        balance = client.get("/wallet/balance", headers=bearer).json()

    assert (answer["status"], answer["confirmations"]) == ("confirmed", 2)
    assert balance["onchainDepositTotal"] == "10.00"


class _Stop(Exception):
    pass


def test_the_ticker_sleeps_until_the_next_timer_but_never_longer_than_a_tick(
    worlds: Worlds, real: FakeRealTime
) -> None:
    deposit = worlds.default.exchange.sim.submit_deposit(ADDRESS, Decimal(1))
    real.now += 1.9
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        real.now += seconds
        if len(waits) == 4:
            raise _Stop

    with pytest.raises(_Stop):
        asyncio.run(keep_time(worlds, sleep))

    # 0.1 s to the first confirmation; then 2 s to the second, slept a tick at a time.
    assert waits[0] == pytest.approx(0.1)
    assert waits[1:] == [TICK_SECONDS] * 3
    assert (deposit.confirmations, deposit.status) == (1, SettlementStatus.PENDING)


def test_the_app_runs_the_ticker_for_its_lifetime(worlds: Worlds, real: FakeRealTime) -> None:
    deposit = worlds.default.exchange.sim.submit_deposit(ADDRESS, Decimal(1))
    real.now += 4.0
    app = create_app(worlds)

    async def lifetime() -> list[str]:
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        outbox: list[str] = []

        async def receive() -> Message:
            return await inbox.get()

        async def send(message: Message) -> None:
            outbox.append(message["type"])

        await inbox.put({"type": "lifespan.startup"})
        running = asyncio.create_task(app({"type": "lifespan"}, receive, send))
        while deposit.status is SettlementStatus.PENDING:
            await asyncio.sleep(0)  # let the ticker run: no wall-clock wait
        await inbox.put({"type": "lifespan.shutdown"})
        await running
        return outbox

    events = asyncio.run(asyncio.wait_for(lifetime(), timeout=10))

    assert deposit.status is SettlementStatus.CONFIRMED
    assert events == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def _time_ordered(events: list[Any]) -> bool:
    return all(a.ts <= b.ts for a, b in itertools.pairwise(events))


def test_a_request_whose_body_arrives_after_a_funding_boundary_runs_at_one_instant(
    real: FakeRealTime,
) -> None:
    """A request runs once its body is in, at one instant read after its world's due timers
    have fired (docs/control-api.md "Clock"): a body that arrives after a funding boundary
    makes a trade stamped after it and logged after that funding, which is paid on the
    position held at the boundary (none yet)."""
    worlds = Worlds(WorldConfig(seed=3, clock=ClockMode.REALTIME, speed=60), real_time=real)
    world = worlds.default
    exchange = world.exchange
    exchange.sim.start_sandbox()
    exchange.sim.set_next_funding_rate("BTC-PERP", Decimal("0.0001"))
    trader = world.create_account(balances={Bucket.PERPS: Decimal(100_000)})
    holder = world.create_account(balances={Bucket.PERPS: Decimal(100_000)})
    exchange.place_order(
        holder.user_id,
        OrderRequest("BTC-PERP", Side.BUY, Decimal("0.01"), type=OrderType.MARKET),
    )
    boundary = exchange.next_funding_at
    real.now += (boundary - world.now_ms - 1_000) / 1000 / 60  # a simulated second before it
    order = orjson.dumps(
        {"marketId": "BTC-PERP", "side": "buy", "type": "market", "quantity": "0.01"}
    )

    async def slow_body() -> AsyncIterator[bytes]:
        real.now += 2 / 60  # two simulated seconds go by while the body arrives
        yield order

    async def place() -> int:
        transport = httpx.ASGITransport(app=create_app(worlds))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            answer = await client.post(
                "/perps/orders",
                content=slow_body(),
                headers={
                    "Authorization": f"Bearer {trader.session_token}",
                    "Content-Type": "application/json",
                },
            )
            await client.get("/perps/markets")  # fires what is due by now: the funding
            return answer.status_code

    assert asyncio.run(place()) == 200
    events = list(exchange.events)
    assert _time_ordered(events)
    (trade,) = [
        e for e in events if isinstance(e, TradeExecuted) and trader.user_id == e.taker_user_id
    ]
    paid = {e.user_id: e for e in events if isinstance(e, FundingPaid)}
    assert trade.ts > boundary
    assert paid[holder.user_id].ts == boundary
    assert paid[holder.user_id].seq < trade.seq
    assert trader.user_id not in paid


class _Counted(Exception):
    pass


def test_the_ticker_at_3600x_sleeps_at_least_a_millisecond_however_close_the_next_timer(
    real: FakeRealTime,
) -> None:
    """At 3600× the price tick is due every 0.28 ms of real time, and a sleep that short
    returns at once: the ticker must not spin (app.py `MIN_TICK_SECONDS`)."""
    worlds = Worlds(WorldConfig(seed=3, clock=ClockMode.REALTIME, speed=3600), real_time=real)
    worlds.default.exchange.sim.start_sandbox()  # the price tick, every simulated second
    clock = worlds.default.clock
    start_ms = clock.now_ms
    wakes = 0
    real_seconds = 1.0  # a simulated hour

    async def sleep(seconds: float) -> None:
        nonlocal wakes
        wakes += 1
        # What the event loop does: a sleep under its millisecond resolution returns at once.
        real.now += seconds if seconds >= MIN_TICK_SECONDS else 0.0
        if real.now - start_real >= real_seconds or wakes > 100_000:
            raise _Counted

    start_real = real.now
    with pytest.raises(_Counted):
        asyncio.run(keep_time(worlds, sleep))

    print(f"{wakes} wakes over a simulated hour at 3600x")
    assert clock.now_ms - start_ms >= 3_600_000 - 4_000
    # At most one wake a millisecond of real time, however many timers fall due in it.
    assert wakes <= real_seconds / MIN_TICK_SECONDS + 2
