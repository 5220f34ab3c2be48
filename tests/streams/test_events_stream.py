"""`/perps/stream/events` and `/options/stream/events` (docs/fidelity.md "Streams"): one market's
book (the book stream's levels) and the caller's fills and positions in it; a snapshot equal to
the REST reads, then one delta per request that changes what it shows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.app import create_app
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.streams.endpoints import subscribe_book, subscribe_events
from ocx_sim.streams.hub import Subscriber
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import NewAccount, World, WorldConfig, Worlds
from tests.api.conftest import ApiClient, assert_error, atm_call, read_key
from tests.streams.conftest import PERP, get, order, parsed, payloads

FUTURE = "BTC-USDC-2026-03-27"
EMPTY_BOOK: dict[str, list[Any]] = {"bids": [], "asks": []}


def events(world: World, account: NewAccount, market: str = PERP, **params: str) -> Subscriber:
    return subscribe_events(world, account.user_id, {"marketId": market, **params})


def option_events(world: World, account: NewAccount, market: str, **params: str) -> Subscriber:
    query = {"marketId": market, **params}
    return subscribe_events(world, account.user_id, query, options=True)


def with_status(rows: list[dict[str, Any]], status: str = "open") -> list[dict[str, Any]]:
    return [{**row, "status": status} for row in rows]


def test_the_snapshot_is_the_book_and_the_callers_trades_and_positions_in_that_market(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    order(client, trader, "buy", "68000.00", "0.1000")
    order(client, other, "sell", None, "0.1000")
    order(client, trader, "buy", "67000.00", "0.2000", FUTURE)
    order(client, other, "sell", None, "0.2000", FUTURE)
    order(client, trader, "buy", "67990.00", "0.5000")
    order(client, other, "sell", "68010.00", "1.0000")
    book = subscribe_book(world, {"marketId": PERP, "depth": "25"})

    [(event, seq, envelope)] = parsed(events(world, trader).take())

    assert (event, seq, envelope["eventType"]) == ("snapshot", 1, "PerpStreamSnapshot")
    assert envelope["eventId"] == f"perps-1-{world.now_ms}"
    [book_snapshot] = payloads(book)
    assert envelope["payload"] == {
        "marketId": PERP,
        "book": {"bids": book_snapshot["bids"], "asks": book_snapshot["asks"]},
        "trades": get(client, trader, f"/perps/trades?marketId={PERP}"),
        "positions": with_status(
            [p for p in get(client, trader, "/perps/positions") if p["marketId"] == PERP]
        ),
    }
    assert len(get(client, trader, "/perps/positions")) == 2  # FUTURE's is left out


def test_a_trade_sends_the_changed_levels_the_fill_and_the_position_to_each_side(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    order(client, trader, "buy", "68000.00", "0.1000")
    maker, taker = events(world, trader), events(world, other)
    maker.take(), taker.take()

    order(client, other, "sell", None, "0.1000")

    for stream, account in ((maker, trader), (taker, other)):
        [(event, seq, envelope)] = parsed(stream.take())
        assert (event, seq, envelope["eventType"]) == ("delta", 2, "PerpStreamDelta")
        assert envelope["payload"] == {
            "marketId": PERP,
            "book": {
                "bids": [{"price": "68000.00", "size": "0.0000", "total": "0.0000"}],
                "asks": [],
            },
            "trades": get(client, account, "/perps/trades"),
            "positions": with_status(get(client, account, "/perps/positions")),
            "removedIds": [],
        }


def test_a_resting_order_sends_its_level_only_and_another_market_sends_nothing(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    stream = events(world, trader)
    stream.take()

    order(client, other, "buy", "67000.00", "0.1000")
    order(client, trader, "buy", "67000.00", "0.2000", FUTURE)
    order(client, other, "sell", None, "0.2000", FUTURE)

    assert payloads(stream) == [
        {
            "marketId": PERP,
            "book": {
                "bids": [{"price": "67000.00", "size": "0.1000", "total": "0.1000"}],
                "asks": [],
            },
            "trades": [],
            "positions": [],
            "removedIds": [],
        }
    ]


def test_another_users_trade_shows_in_the_book_but_not_their_fills(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    third = world.create_account(balances={})
    order(client, trader, "buy", "68000.00", "0.1000")
    stream = events(world, third)
    stream.take()

    order(client, other, "sell", None, "0.1000")

    [delta] = payloads(stream)
    assert (delta["trades"], delta["positions"], delta["book"]["bids"][0]["size"]) == (
        [],
        [],
        "0.0000",
    )


@pytest.mark.parametrize("open_only", [False, True])
def test_open_only_either_way(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount, open_only: bool
) -> None:
    order(client, trader, "buy", "68000.00", "0.1000")
    order(client, other, "sell", None, "0.1000")
    stream = events(world, trader, openOnly=str(open_only).lower())
    stream.take()

    order(client, other, "buy", "68000.00", "0.1000")
    stream.take()  # the bid, in the book
    order(client, trader, "sell", None, "0.1000")

    [delta] = payloads(stream)
    if open_only:
        assert (delta["positions"], delta["removedIds"]) == ([], [PERP])
    else:
        assert [(p["status"], p["quantity"]) for p in delta["positions"]] == [("closed", "0.0000")]
        assert delta["removedIds"] == []


def test_the_option_stream_shows_an_options_book_fills_and_positions(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    call = atm_call(world).id
    order(client, other, "sell", "1000.00", "0.10", call, "/orders")
    stream = option_events(world, trader, call)
    [(_, _, snapshot)] = parsed(stream.take())
    assert snapshot["eventType"] == "OptionStreamSnapshot"
    assert snapshot["eventId"].startswith("options-1-")
    assert snapshot["payload"] == {
        "marketId": call,
        "book": {"bids": [], "asks": [{"price": "1000.00", "size": "0.10", "total": "0.10"}]},
        "trades": [],
        "positions": [],
    }

    order(client, trader, "buy", "1000.00", "0.10", call, "/orders")

    [(event, seq, envelope)] = parsed(stream.take())
    assert (event, seq, envelope["eventType"]) == ("delta", 2, "OptionStreamDelta")
    assert envelope["payload"] == {
        "marketId": call,
        "book": {"bids": [], "asks": [{"price": "1000.00", "size": "0.00", "total": "0.00"}]},
        "trades": get(client, trader, "/options/trades/me"),
        "positions": with_status(get(client, trader, "/positions/me")),
        "removedIds": [],
    }


def test_an_anonymous_caller_is_refused(client: ApiClient, world: World) -> None:
    call = atm_call(world).id
    assert_error(
        client.get("/perps/stream/events", params={"marketId": PERP}), 401, "UNAUTHENTICATED"
    )
    assert_error(
        client.get("/options/stream/events", params={"marketId": call}), 401, "UNAUTHENTICATED"
    )


def test_a_read_key_opens_the_stream(client: ApiClient, trader: NewAccount) -> None:
    response = client.get("/perps/stream/events", params={"marketId": PERP}, key=read_key(trader))
    assert response.status_code == 200
    assert response.text.splitlines()[:2] == ["id: 1", "event: snapshot"]


@pytest.mark.parametrize("path", ["/perps/stream/events", "/options/stream/events"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "marketId"),
        ({"depth": "0"}, "depth"),
        ({"depth": "251"}, "depth"),
        ({"intervalMs": "99"}, "intervalMs"),
        ({"intervalMs": "5001"}, "intervalMs"),
        ({"openOnly": "TRUE"}, "openOnly"),
    ],
)
def test_bad_parameters_are_a_json_400_naming_the_parameter(
    client: ApiClient, trader: NewAccount, path: str, params: dict[str, str], field: str
) -> None:
    query = params if not params or field == "marketId" else {"marketId": PERP, **params}
    response = client.get(path, params=query, token=trader.session_token)
    assert_error(response, 400, "VALIDATION_ERROR", field)


def test_an_unknown_or_other_venue_market_is_a_json_404_pointing_at_the_right_stream(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    call = atm_call(world).id
    for path, market, where in (
        ("/perps/stream/events", "NOPE-PERP", None),
        ("/perps/stream/events", call, "/options/stream/events"),
        ("/perps/stream/events", "BTC-USDC-SPOT", None),
        ("/options/stream/events", PERP, "/perps/stream/events"),
    ):
        response = client.get(path, params={"marketId": market}, token=trader.session_token)
        assert_error(response, 404, "UNKNOWN_MARKET")
        if where is not None:
            assert where in response.json()["message"]


def test_the_same_seed_and_requests_give_byte_identical_frames() -> None:
    def run() -> list[bytes]:
        worlds = Worlds(WorldConfig(seed=3))
        world = worlds.default
        http = InProcessClient(create_app(worlds))
        maker = world.create_account(balances={Bucket.PERPS: Decimal(10_000)})
        taker = world.create_account(balances={Bucket.PERPS: Decimal(10_000)})
        stream = events(world, maker, depth="5")
        for who, body in (
            (maker, {"side": "buy", "quantity": "0.1000", "price": "68000.00"}),
            (maker, {"side": "buy", "quantity": "0.2000", "price": "67900.00"}),
            (taker, {"side": "sell", "quantity": "0.1000", "type": "market"}),
        ):
            http.post(
                "/perps/orders",
                json={"marketId": PERP, **body},
                headers={"Authorization": f"Bearer {who.session_token}"},
            )
        http.post(f"/_sim/markets/{PERP}/mark", json={"price": "68100.00"})
        http.close()
        return [frame.data for frame in stream.take()]

    first = run()

    assert len(first) == 5
    assert run() == first
