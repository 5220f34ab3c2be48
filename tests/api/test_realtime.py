"""A realtime world fires its timers as real time passes: before every request to it, and from a
ticker the app runs for its lifetime (docs/control-api.md "Clock"). Real time is faked throughout:
these tests never wait on the wall clock."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from starlette.types import Message

from ocx_sim.app import TICK_SECONDS, create_app, keep_time
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
