"""`/portfolio/balances/stream` (docs/fidelity.md "Streams"): the whole `/portfolio/balances`
body plus `/portfolio/me`'s `equity`, in the snapshot and in one update per request or clock
advance that changes any of it, nothing otherwise."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ocx_sim.app import create_app
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.streams.endpoints import subscribe_balances
from ocx_sim.streams.hub import Subscriber
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import NewAccount, World, WorldConfig, Worlds
from tests.api.conftest import ApiClient, assert_error, read_key
from tests.streams.conftest import PERP, get, order, parsed, payloads, post

FUNDING_MS = 300_000


def balances_stream(world: World, account: NewAccount) -> Subscriber:
    return subscribe_balances(world, account.user_id)


def rest(client: ApiClient, account: NewAccount) -> dict[str, Any]:
    body: dict[str, Any] = get(client, account, "/portfolio/balances")
    body["equity"] = get(client, account, "/portfolio/me")["equity"]
    return body


def opened(client: ApiClient, maker: NewAccount, taker: NewAccount) -> None:
    order(client, maker, "buy", "68000.00", "0.1000")
    order(client, taker, "sell", None, "0.1000")


def test_the_snapshot_is_the_rest_balances_and_equity(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    opened(client, trader, other)
    post(client, f"/_sim/markets/{PERP}/mark", {"price": "68100.00"})

    [(event, seq, envelope)] = parsed(balances_stream(world, trader).take())

    assert (event, seq, envelope["eventType"]) == ("snapshot", 1, "BalancesSnapshot")
    assert envelope["eventId"] == f"balances-1-{world.now_ms}"
    assert envelope["payload"] == rest(client, trader)
    assert envelope["payload"]["equity"] == "400008.64"  # 4 × 100 000 − a 1.36 fee + 10.00 PnL


def test_a_trade_sends_one_update_to_each_counterparty(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    maker, taker = balances_stream(world, trader), balances_stream(world, other)
    maker.take(), taker.take()

    opened(client, trader, other)

    for stream, account in ((maker, trader), (taker, other)):
        [(event, seq, envelope)] = parsed(stream.take())
        assert (event, seq, envelope["eventType"]) == ("update", 2, "BalancesUpdate")
        assert envelope["payload"] == rest(client, account)


def test_a_resting_order_and_another_users_trade_send_nothing(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    bystander = world.create_account(balances={Bucket.PERPS: Decimal(1000)})
    stream = balances_stream(world, bystander)
    stream.take()

    order(client, bystander, "buy", "67000.00", "0.0100")
    opened(client, trader, other)
    post(client, "/_sim/clock/advance", {"ms": FUNDING_MS})

    assert stream.take() == []


def test_a_transfer_and_a_withdrawal_each_send_one_update(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    stream = balances_stream(world, trader)
    stream.take()

    post(client, "/wallet/transfer", {"from": "wallet", "to": "perps", "amount": "250"}, trader)
    [after_transfer] = payloads(stream)
    assert after_transfer == rest(client, trader)
    assert (after_transfer["walletBalance"], after_transfer["perpsBalance"]) == (
        "99750.00",
        "100250.00",
    )

    post(client, "/wallet/withdraw", {"amount": "50"}, trader)
    [after_withdrawal] = payloads(stream)
    assert after_withdrawal == rest(client, trader)
    assert after_withdrawal["walletBalance"] == "99700.00"


def test_a_mark_move_and_a_funding_payment_send_the_new_equity(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    opened(client, trader, other)
    stream = balances_stream(world, trader)
    stream.take()

    post(client, f"/_sim/markets/{PERP}/mark", {"price": "68100.00"})
    [moved] = payloads(stream)
    assert moved == rest(client, trader)

    post(client, "/_sim/clock/advance", {"ms": FUNDING_MS})
    [(event, _, envelope)] = parsed(stream.take())
    assert (event, envelope["engineTs"]) == ("update", world.now_ms)
    assert envelope["payload"] == rest(client, trader)
    assert envelope["payload"]["perpsBalance"] != moved["perpsBalance"]  # funding paid


def test_a_liquidation_sends_one_update(client: ApiClient, world: World, other: NewAccount) -> None:
    account = world.create_account(balances={Bucket.PERPS: Decimal(1000)})
    opened(client, account, other)
    stream = balances_stream(world, account)
    stream.take()

    post(client, f"/_sim/markets/{PERP}/mark", {"price": "60000.00"})

    assert get(client, account, "/perps/positions") == []
    [after] = payloads(stream)
    assert after == rest(client, account)
    assert after["equity"] == after["perpsBalance"]


def test_the_same_seed_and_requests_give_byte_identical_frames() -> None:
    def run() -> list[bytes]:
        worlds = Worlds(WorldConfig(seed=9))
        world = worlds.default
        http = InProcessClient(create_app(worlds))
        account = world.create_account(balances={Bucket.WALLET: Decimal(1000)})
        stream = balances_stream(world, account)
        http.post(
            "/wallet/transfer",
            json={"from": "wallet", "to": "perps", "amount": "100"},
            headers={"Authorization": f"Bearer {account.session_token}"},
        )
        http.post("/_sim/clock/advance", json={"ms": FUNDING_MS})
        http.close()
        return [frame.data for frame in stream.take()]

    first = run()

    assert len(first) == 2
    assert run() == first


def test_an_anonymous_caller_is_refused_and_query_parameters_are_ignored(
    client: ApiClient, trader: NewAccount
) -> None:
    assert_error(client.get("/portfolio/balances/stream"), 401, "UNAUTHENTICATED")
    response = client.get(
        "/portfolio/balances/stream", params={"depth": "nope"}, key=read_key(trader)
    )
    assert response.status_code == 200
    assert response.text.splitlines()[:2] == ["id: 1", "event: snapshot"]


def test_a_deposit_sends_one_update_when_it_is_credited_not_before(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    stream = balances_stream(world, trader)
    [before] = payloads(stream)

    deposit = {"walletAddress": trader.wallet_address, "amount": "25"}
    assert client.post("/_sim/deposits", json=deposit).status_code == 201
    assert stream.take() == []  # pending: nothing credited yet

    post(client, "/_sim/clock/advance", {"ms": 10_000})

    [(event, _, envelope)] = parsed(stream.take())
    assert (event, envelope["engineTs"]) == ("update", world.now_ms)
    assert envelope["payload"] == rest(client, trader)
    assert (before["walletBalance"], envelope["payload"]["walletBalance"]) == (
        "100000.00",
        "100025.00",
    )
