"""`/perps/stream/user` (docs/fidelity.md "Streams"): the caller's perps fills and positions, a
snapshot equal to the REST reads, then one delta per request or clock advance that changes what
it shows, nothing otherwise; only the caller's own fills."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from ocx_sim.app import create_app
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.streams.endpoints import subscribe_user
from ocx_sim.streams.hub import Subscriber
from ocx_sim.testing.client import InProcessClient
from ocx_sim.testing.world import OcxWorld
from ocx_sim.worlds import NewAccount, World, WorldConfig, Worlds
from tests.api.conftest import ApiClient, assert_error, atm_call, read_key, trade_key
from tests.streams.conftest import PERP, get, order, parsed, payloads, post

FUNDING_MS = 300_000


def user_stream(world: World, account: NewAccount, **params: str) -> Subscriber:
    return subscribe_user(world, account.user_id, params)


def opened(client: ApiClient, maker: NewAccount, taker: NewAccount, size: str = "0.1000") -> None:
    """`maker` long `size` at 68000 from `taker`."""
    order(client, maker, "buy", "68000.00", size)
    order(client, taker, "sell", None, size)


def rest_positions(client: ApiClient, account: NewAccount) -> list[dict[str, Any]]:
    return [{**p, "status": "open"} for p in get(client, account, "/perps/positions")]


def test_the_snapshot_is_the_rest_trades_and_positions_at_that_instant(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    opened(client, trader, other)
    order(client, trader, "sell", "68100.00", "0.0500")
    order(client, other, "buy", None, "0.0500")

    [(event, seq, envelope)] = parsed(user_stream(world, trader).take())

    assert (event, seq, envelope["eventType"]) == ("snapshot", 1, "PerpStreamSnapshot")
    assert envelope["eventId"] == f"user-1-{world.now_ms}"
    assert envelope["payload"] == {
        "trades": get(client, trader, "/perps/trades"),
        "positions": rest_positions(client, trader),
        "removedIds": [],
    }
    assert [t["liquidity"] for t in envelope["payload"]["trades"]] == ["maker", "maker"]


def test_the_snapshot_lists_at_most_the_100_latest_fills(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    for _ in range(101):
        opened(client, trader, other, "0.0010")

    [snapshot] = payloads(user_stream(world, trader))

    assert snapshot["trades"] == get(client, trader, "/perps/trades?limit=100")


def test_a_trade_sends_one_delta_to_each_counterparty_with_its_own_fill_and_position(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    streams = {"maker": user_stream(world, trader), "taker": user_stream(world, other)}
    for stream in streams.values():
        stream.take()

    opened(client, trader, other)

    for role, account in (("maker", trader), ("taker", other)):
        [(event, seq, envelope)] = parsed(streams[role].take())
        assert (event, seq, envelope["eventType"]) == ("delta", 2, "PerpStreamDelta")
        assert envelope["payload"] == {
            "trades": get(client, account, "/perps/trades"),
            "positions": rest_positions(client, account),
            "removedIds": [],
        }
        assert envelope["payload"]["trades"][0]["liquidity"] == role


def test_a_resting_order_a_cancel_and_a_read_send_nothing(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    stream = user_stream(world, trader)
    stream.take()

    resting = order(client, trader, "buy", "67000.00", "0.1000")
    client.delete(f"/perps/orders/{resting['id']}", token=trader.session_token)
    get(client, trader, "/perps/positions")
    post(client, "/_sim/clock/advance", {"ms": 60_000})  # nothing held: nothing shown moves

    assert stream.take() == []


def test_another_users_fills_are_never_visible(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    bystander = world.create_account(balances={Bucket.PERPS: Decimal(10_000)})
    stream = user_stream(world, bystander)
    stream.take()

    opened(client, trader, other)

    assert stream.take() == []


def test_option_fills_are_not_on_the_perps_user_stream(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    stream = user_stream(world, trader)
    stream.take()
    call = atm_call(world).id

    order(client, other, "sell", "1000.00", "0.10", call, "/orders")
    order(client, trader, "buy", "1000.00", "0.10", call, "/orders")

    assert get(client, trader, "/options/trades/me") != []
    assert stream.take() == []


def test_a_mark_move_sends_the_position_at_its_new_mark(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    opened(client, trader, other)
    stream = user_stream(world, trader)
    stream.take()

    post(client, f"/_sim/markets/{PERP}/mark", {"price": "68100.00"})

    [delta] = payloads(stream)
    assert delta == {"trades": [], "positions": rest_positions(client, trader), "removedIds": []}
    assert (delta["positions"][0]["markPrice"], delta["positions"][0]["unrealizedPnl"]) == (
        "68100.00",
        "10.00",
    )


def test_a_transfer_sends_the_position_its_new_margin_shows(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    account = world.create_account(
        balances={Bucket.PERPS: Decimal(1000), Bucket.WALLET: Decimal(500)}
    )
    opened(client, account, other)
    stream = user_stream(world, account)
    stream.take()

    post(client, "/wallet/transfer", {"from": "wallet", "to": "perps", "amount": "100"}, account)

    [delta] = payloads(stream)
    assert delta == {"trades": [], "positions": rest_positions(client, account), "removedIds": []}
    assert delta["positions"][0]["liquidationPrice"] == "58979.59"


def test_a_funding_payment_sends_one_delta_at_the_advance_target_time(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    opened(client, trader, other)
    post(client, f"/_sim/markets/{PERP}/mark", {"price": "68100.00"})
    stream = user_stream(world, trader)
    stream.take()

    # two funding boundaries within one advance: one frame, at the target time
    post(client, "/_sim/clock/advance", {"ms": 2 * FUNDING_MS + 1000})

    [(event, seq, envelope)] = parsed(stream.take())
    assert (event, seq, envelope["engineTs"]) == ("delta", 2, world.now_ms)
    assert envelope["payload"] == {
        "trades": [],
        "positions": rest_positions(client, trader),
        "removedIds": [],
    }
    assert envelope["payload"]["positions"][0]["fundingPayment"] == "-0.20864"


@pytest.mark.parametrize("open_only", [False, True])
def test_a_liquidation_closes_the_position_once(
    client: ApiClient, world: World, other: NewAccount, open_only: bool
) -> None:
    account = world.create_account(balances={Bucket.PERPS: Decimal(1000)})
    opened(client, account, other)
    stream = user_stream(world, account, openOnly="true" if open_only else "false")
    stream.take()

    post(client, f"/_sim/markets/{PERP}/mark", {"price": "60000.00"})

    assert get(client, account, "/perps/positions") == []
    [delta] = payloads(stream)
    if open_only:
        assert delta == {"trades": [], "positions": [], "removedIds": [PERP]}
    else:
        assert delta == {
            "trades": [],
            "positions": [
                {
                    "marketId": PERP,
                    "side": "long",
                    "quantity": "0.0000",
                    "entryPrice": "68000.00",
                    "markPrice": "60000.00",
                    "unrealizedPnl": "0.00",
                    "realizedPnl": "-800.00",
                    "fundingPayment": "0.00",
                    "liquidationPrice": None,
                    "leverage": None,
                    "marginMode": "cross",
                    "status": "closed",
                }
            ],
            "removedIds": [],
        }
    post(client, f"/_sim/markets/{PERP}/mark", {"price": "61000.00"})
    assert stream.take() == []  # closed once, then nothing


@pytest.mark.parametrize("open_only", [False, True])
def test_a_position_closed_by_a_trade_with_open_only_either_way(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount, open_only: bool
) -> None:
    opened(client, trader, other)
    stream = user_stream(world, trader, openOnly="true" if open_only else "false")
    stream.take()

    order(client, other, "buy", "68000.00", "0.1000")
    order(client, trader, "sell", None, "0.1000")

    [delta] = payloads(stream)
    assert delta["trades"] == get(client, trader, "/perps/trades?limit=1")
    if open_only:
        assert (delta["positions"], delta["removedIds"]) == ([], [PERP])
    else:
        [closed] = delta["positions"]
        assert (closed["status"], closed["quantity"], closed["side"]) == (
            "closed",
            "0.0000",
            "long",
        )
        assert delta["removedIds"] == []


def test_the_same_seed_and_requests_give_byte_identical_frames() -> None:
    def run() -> list[bytes]:
        worlds = Worlds(WorldConfig(seed=5))
        world = worlds.default
        http = InProcessClient(create_app(worlds))
        maker = world.create_account(balances={Bucket.PERPS: Decimal(1000)})
        taker = world.create_account(balances={Bucket.PERPS: Decimal(100_000)})
        stream = user_stream(world, maker)
        for who, body in (
            (maker, {"side": "buy", "quantity": "0.1000", "price": "68000.00"}),
            (taker, {"side": "sell", "quantity": "0.1000", "type": "market"}),
        ):
            http.post(
                "/perps/orders",
                json={"marketId": PERP, **body},
                headers={"Authorization": f"Bearer {who.session_token}"},
            )
        http.post(f"/_sim/markets/{PERP}/mark", json={"price": "68100.00"})
        http.post("/_sim/clock/advance", json={"ms": FUNDING_MS})
        http.post(f"/_sim/markets/{PERP}/mark", json={"price": "60000.00"})
        http.close()
        return [frame.data for frame in stream.take()]

    first = run()

    assert len(first) == 5
    assert run() == first


def test_an_anonymous_caller_is_refused_and_a_read_or_trade_key_accepted(
    client: ApiClient, trader: NewAccount
) -> None:
    assert_error(client.get("/perps/stream/user"), 401, "UNAUTHENTICATED")
    for key in (read_key(trader), trade_key(trader)):
        response = client.get("/perps/stream/user", key=key)
        assert response.status_code == 200
        assert response.text.splitlines()[:2] == ["id: 1", "event: snapshot"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"intervalMs": "99"}, "intervalMs"),
        ({"intervalMs": "5001"}, "intervalMs"),
        ({"intervalMs": "fast"}, "intervalMs"),
        ({"openOnly": "yes"}, "openOnly"),
        ({"openOnly": "1"}, "openOnly"),
    ],
)
def test_bad_parameters_are_a_json_400_naming_the_parameter(
    client: ApiClient, trader: NewAccount, params: dict[str, str], field: str
) -> None:
    response = client.get("/perps/stream/user", params=params, token=trader.session_token)
    assert_error(response, 400, "VALIDATION_ERROR", field)


def test_both_counterparties_read_their_fill_over_a_real_socket(ocx_server: OcxWorld) -> None:
    maker = ocx_server.account(balances={"perps": 10_000})
    taker = ocx_server.account(balances={"perps": 10_000})
    with (
        httpx.Client(base_url=ocx_server.url, timeout=10) as http,
        connect_sse(http, "GET", "/perps/stream/user", headers=maker.headers) as maker_source,
        connect_sse(http, "GET", "/perps/stream/user", headers=taker.headers) as taker_source,
    ):
        maker_events, taker_events = maker_source.iter_sse(), taker_source.iter_sse()
        assert next(maker_events).event == next(taker_events).event == "snapshot"
        for who, body in (
            (maker, {"side": "buy", "quantity": "0.1000", "price": "68000.00"}),
            (taker, {"side": "sell", "quantity": "0.1000", "type": "market"}),
        ):
            who.client.post("/perps/orders", json={"marketId": PERP, **body})
        deltas = [next(maker_events), next(taker_events)]

    assert [(d.event, d.id) for d in deltas] == [("delta", "2"), ("delta", "2")]
    liquidity = [json.loads(d.data)["payload"]["trades"][0]["liquidity"] for d in deltas]
    assert liquidity == ["maker", "taker"]
