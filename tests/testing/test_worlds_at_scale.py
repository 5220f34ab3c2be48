"""Many worlds on one server share nothing (docs/control-api.md "Worlds"), proved under concurrent
use: several client threads, each with its own connection and its own world, drive the same scripted
trading session at the same time, and every world answers exactly what one world answers when the
script runs alone. Only HTTP, against the plugin's real server (`ocx_sandbox`)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ocx_sim.testing import Sandbox

SEED = 11
CLIENTS = 6
PERP = "BTC-PERP"
Transcript = list[tuple[str, str, int, Any]]


def redacted(body: Any) -> Any:
    """A session token is signed for its world's id (the JWT audience), so it is the one
    answer that differs between worlds by design; everything else must match byte for byte."""
    if isinstance(body, dict):
        return {k: "<session>" if k == "sessionToken" else redacted(v) for k, v in body.items()}
    if isinstance(body, list):
        return [redacted(item) for item in body]
    return body


def trading_session(http: httpx.Client) -> Transcript:
    """Two accounts, a ladder of quotes, a crossing order, an outside trader's fill, a mark
    move, an hour of funding, then every read a client would make; each answer recorded."""
    transcript: Transcript = []

    def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = http.request(method, path, json=body, headers=headers)
        transcript.append((method, path, answer.status_code, redacted(answer.json())))
        return answer.json()

    maker = call(
        "POST", "/_sim/accounts", {"walletAddress": f"0x{1:040x}", "balances": {"perps": "100000"}}
    )["sessionToken"]
    taker = call(
        "POST", "/_sim/accounts", {"walletAddress": f"0x{2:040x}", "balances": {"perps": "100000"}}
    )["sessionToken"]
    for step in range(1, 6):
        for side, price in (("buy", 68000 - 10 * step), ("sell", 68000 + 10 * step)):
            order = {"marketId": PERP, "side": side, "quantity": "0.05", "price": str(price)}
            call("POST", "/perps/orders", order, maker)
    call(
        "POST",
        "/perps/orders",
        {"marketId": PERP, "side": "buy", "quantity": "0.12", "price": "68030"},
        taker,
    )
    call(
        "POST",
        f"/_sim/markets/{PERP}/trade",
        {"side": "sell", "price": "67970", "quantity": "0.08"},
    )
    call("POST", f"/_sim/markets/{PERP}/mark", {"price": "68500"})
    call("POST", "/_sim/clock/advance", {"ms": 3_600_000})
    for token in (maker, taker):
        for path in ("/perps/positions", "/perps/balances", "/perps/orders", "/perps/trades"):
            call("GET", path, token=token)
    call("GET", f"/perps/orderbook/{PERP}")
    call("GET", "/_sim/clock")
    return transcript


def run_in_own_world(sandbox: Sandbox, start: threading.Barrier | None = None) -> Transcript:
    with (
        sandbox.world({"seed": SEED}) as world,
        httpx.Client(base_url=world.url, timeout=30) as http,
    ):
        if start is not None:
            start.wait()
        return trading_session(http)


def test_worlds_driven_at_once_from_several_clients_answer_as_one_world_alone(
    ocx_sandbox: Sandbox,
) -> None:
    alone = run_in_own_world(ocx_sandbox)
    start = threading.Barrier(CLIENTS)

    with ThreadPoolExecutor(CLIENTS) as pool:
        together = list(pool.map(lambda _: run_in_own_world(ocx_sandbox, start), range(CLIENTS)))

    assert len(alone) == 26
    assert [status for _, _, status, _ in alone if status >= 400] == []
    [advanced] = [body for _, path, _, body in alone if path == "/_sim/clock/advance"]
    assert any(event["type"] == "FundingPaid" for event in advanced["events"])
    for transcript in together:
        assert transcript == alone


def test_the_script_notices_a_world_that_is_not_fresh(ocx_sandbox: Sandbox) -> None:
    # The comparison above can fail: the same script on a world with one earlier order
    # answers differently (other ids, another book).
    alone = run_in_own_world(ocx_sandbox)
    with (
        ocx_sandbox.world({"seed": SEED}) as world,
        httpx.Client(base_url=world.url, timeout=30) as http,
    ):
        world.account(balances={"perps": 10})
        assert trading_session(http) != alone


def test_a_world_moves_its_own_clock_and_no_one_elses(ocx_sandbox: Sandbox) -> None:
    worlds = [ocx_sandbox.new_world({"seed": SEED}) for _ in range(20)]
    try:
        for n, world in enumerate(worlds):
            world.clock.advance(n * 60_000)
        assert [world.clock.now_ms - worlds[0].clock.now_ms for world in worlds] == [
            n * 60_000 for n in range(20)
        ]
        assert len({world.world_id for world in worlds}) == 20
    finally:
        for world in worlds:
            world.close()


def test_dropped_worlds_leave_the_server_as_it_was(ocx_sandbox: Sandbox) -> None:
    before = httpx.get(f"{ocx_sandbox.url}/_sim/worlds").json()["worlds"]
    for _ in range(50):
        with ocx_sandbox.world({"seed": SEED}) as world:
            world.account(balances={"perps": 10})

    after = httpx.get(f"{ocx_sandbox.url}/_sim/worlds").json()["worlds"]
    assert after == before
