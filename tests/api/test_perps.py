"""Perps and futures trading over HTTP (https://docs.ocx.global/api-reference/rest;
docs/fidelity.md "Orders", "Order endpoints", "HTTP"): orders, preview, cancel, modify,
cancel-all, quotes, the bulk ladder, closing a position, the key policy and the order-path rate
limit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.app import create_app
from ocx_sim.auth.policy import Profile
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.markets import MarketType
from ocx_sim.engine.core.orders import OrderRequest, Side
from ocx_sim.testing.builders import FakeRealTime
from ocx_sim.testing.client import InProcessClient, Response
from ocx_sim.worlds import ClockMode, NewAccount, World, WorldConfig, Worlds
from tests.api.conftest import ApiClient, assert_error, read_key, trade_key

PERP = "BTC-PERP"
SPOT = "BTC-USDC-SPOT"
ULID_LIKE = "01JNOSUCHORDER000000000000"
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def order_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "marketId": PERP,
        "side": "buy",
        "quantity": "0.1",
        "price": "68000",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def place(client: ApiClient, account: NewAccount, **fields: Any) -> Response:
    return client.post("/perps/orders", token=account.session_token, json=order_body(**fields))


def placed(client: ApiClient, account: NewAccount, **fields: Any) -> dict[str, Any]:
    response = place(client, account, **fields)
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    return body


def future_id(world: World) -> str:
    return next(s.id for s in world.exchange.linear_markets() if s.type is MarketType.FUTURE)


def spot_order_id(world: World, account: NewAccount) -> str:
    """A resting spot (CLOB) order, placed straight on the engine."""
    request = OrderRequest(SPOT, Side.BUY, Decimal("0.1"), price=Decimal("68000.00"))
    return world.exchange.place_order(account.user_id, request).order.id


def open_ids(world: World, account: NewAccount) -> list[str]:
    return [o.id for o in world.exchange.open_orders(account.user_id)]


# -- POST /perps/orders -----------------------------------------------------------------------


def test_a_resting_limit_order_answers_every_field_on_the_markets_decimals(
    client: ApiClient, trader: NewAccount
) -> None:
    body = placed(client, trader, clientOrderId="c-1")

    assert body["price"] == "68000.00"
    assert body["quantity"] == "0.1000"
    assert body["filledQuantity"] == "0.0000"
    assert body["remainingQuantity"] == "0.1000"
    assert body["avgFillPrice"] is None
    assert body["status"] == "open"
    assert (body["type"], body["timeInForce"], body["marginMode"]) == ("limit", "gtc", "cross")
    assert (body["postOnly"], body["reduceOnly"]) == (False, False)
    assert body["clientOrderId"] == "c-1"
    assert body["stopPrice"] is body["takeProfitPrice"] is body["stopLossPrice"] is None
    assert body["quoteId"] is None
    assert body["createdAt"] == body["updatedAt"] == "2026-01-02T00:00:00.000Z"
    assert body["fills"] == []
    assert body["position"] is None


def test_an_order_crossing_another_accounts_resting_order_fills_and_reports_the_position(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    placed(client, other, side="sell", quantity="0.1")

    body = placed(client, trader, quantity="0.2")

    assert body["status"] == "partially_filled"
    assert body["filledQuantity"] == "0.1000"
    assert body["remainingQuantity"] == "0.1000"
    assert body["avgFillPrice"] == "68000.00"
    [fill] = body["fills"]
    assert (fill["price"], fill["quantity"], fill["feeRole"]) == ("68000.00", "0.1000", "taker")
    assert fill["fee"] == "3.40"  # 5 bps of 6800
    position = body["position"]
    assert (position["side"], position["quantity"], position["entryPrice"]) == (
        "long",
        "0.1000",
        "68000.00",
    )
    assert position["marginMode"] == "cross"


def test_an_ioc_remainder_ends_expired_with_200(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    placed(client, other, side="sell", quantity="0.1")

    body = placed(client, trader, quantity="0.3", timeInForce="ioc")

    assert body["status"] == "expired"
    assert body["filledQuantity"] == "0.1000"
    assert body["remainingQuantity"] == "0.2000"


def test_an_order_on_a_dated_future_is_accepted_on_the_perps_path(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    market_id = future_id(world)
    mark = world.exchange.mark_price(market_id)
    assert mark is not None

    body = placed(client, trader, marketId=market_id, price=f"{mark:f}")

    assert body["marketId"] == market_id
    assert body["status"] == "open"


@pytest.mark.parametrize(
    ("fields", "content", "field"),
    [
        (None, b'{"marketId": "BTC-PERP",', "body"),
        (None, b'["BTC-PERP"]', "body"),
        ({"quantity": 0.1}, None, "quantity"),
        ({"price": 68000}, None, "price"),
        ({"side": "long"}, None, "side"),
        ({"type": "stop"}, None, "type"),
        ({"timeInForce": "day"}, None, "timeInForce"),
        ({"marginMode": "portfolio"}, None, "marginMode"),
        ({"postOnly": "yes"}, None, "postOnly"),
        ({"quantity": "1e-1"}, None, "quantity"),
        ({"price": "NaN"}, None, "price"),
        ({"quantity": "-0.1"}, None, "quantity"),
        ({"quantity": "0"}, None, "quantity"),
        ({"price": "-68000"}, None, "price"),
        ({"price": "68000.001"}, None, "price"),
        ({"quantity": "0.00001"}, None, "quantity"),
        ({"side": None}, None, "side"),
        ({"price": None}, None, "price"),
        ({"marketId": 7}, None, "marketId"),
        ({"price": "\u0666\u0668\u0660\u0660\u0660"}, None, "price"),  # Arabic-Indic 68000
        ({"quantity": "\uff11"}, None, "quantity"),  # a full-width 1
    ],
)
def test_a_malformed_order_is_400_naming_the_field(
    client: ApiClient,
    trader: NewAccount,
    world: World,
    fields: dict[str, Any] | None,
    content: bytes | None,
    field: str,
) -> None:
    if content is not None:
        response = client.post("/perps/orders", token=trader.session_token, content=content)
    else:
        response = place(client, trader, **(fields or {}))

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert world.exchange.orders(trader.user_id) == []


def test_an_order_over_the_available_margin_is_422_with_required_and_available(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    response = place(client, trader, quantity="40")

    assert_error(response, 422, "INSUFFICIENT_MARGIN")
    assert set(response.json()["details"]) >= {"requiredIm", "availableIm"}
    assert world.exchange.orders(trader.user_id) == []


def test_a_post_only_order_that_would_take_is_422(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    placed(client, other, side="sell")

    assert_error(place(client, trader, postOnly=True), 422, "POST_ONLY_WOULD_TAKE")


def test_a_limit_price_outside_the_band_is_422(client: ApiClient, trader: NewAccount) -> None:
    response = place(client, trader, price="75000")

    assert_error(response, 422, "PRICE_OUT_OF_BAND", "price")
    assert response.json()["details"]["priceBandHigh"] == "74800.00"


def test_a_market_order_with_nothing_to_take_is_422_no_liquidity(
    client: ApiClient, trader: NewAccount
) -> None:
    assert_error(place(client, trader, type="market", price=None), 422, "NO_LIQUIDITY")


def test_a_reduce_only_order_without_a_position_is_422(
    client: ApiClient, trader: NewAccount
) -> None:
    assert_error(place(client, trader, reduceOnly=True), 422, "REDUCE_ONLY_WOULD_INCREASE")


def test_an_order_without_an_index_is_503_upstream_degraded(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    world.exchange.sim.set_index(PERP, None)

    assert_error(place(client, trader), 503, "UPSTREAM_DEGRADED")


def test_a_reused_client_order_id_of_an_open_order_is_409_naming_it(
    client: ApiClient, trader: NewAccount
) -> None:
    first = placed(client, trader, clientOrderId="dup")

    response = place(client, trader, clientOrderId="dup", price="67000")

    assert_error(response, 409, "DUPLICATE_CLIENT_ORDER_ID")
    assert response.json()["details"]["orderId"] == first["id"]


def test_an_order_on_a_halted_market_is_409(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    world.exchange.sim.halt(PERP)

    assert_error(place(client, trader), 409, "MARKET_HALTED")


@pytest.mark.parametrize("market_id", [SPOT, "option", "NOPE-PERP"])
def test_a_market_not_traded_on_the_perps_path_is_404_unknown_market(
    client: ApiClient, trader: NewAccount, world: World, market_id: str
) -> None:
    if market_id == "option":
        markets = world.exchange.catalog.markets.values()
        market_id = next(m.id for m in markets if m.type is MarketType.OPTION)

    assert_error(place(client, trader, marketId=market_id), 404, "UNKNOWN_MARKET")


@pytest.mark.parametrize("config", [WorldConfig(seed=7, profile=Profile.GITBOOK)])
def test_the_gitbook_profile_takes_spot_markets_on_the_perps_path(
    client: ApiClient, trader: NewAccount
) -> None:
    body = placed(client, trader, marketId=SPOT)

    assert body["marketId"] == SPOT
    assert body["price"] == "68000.00"


@pytest.mark.parametrize("config", [WorldConfig(seed=7, profile=Profile.PERMISSIVE)])
def test_the_permissive_profile_takes_a_trade_key_on_perps_orders(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.post("/perps/orders", key=trade_key(trader), json=order_body())

    assert response.status_code == 200
    assert_error(
        client.post("/perps/orders", key=read_key(trader), json=order_body()),
        403,
        "INSUFFICIENT_SCOPE",
    )


# -- credentials: the strict key policy -------------------------------------------------------

SESSION_ONLY = [
    "/perps/orders",
    f"/perps/orders/{ULID_LIKE}/cancel",
    f"/perps/orders/{ULID_LIKE}/modify",
    "/perps/quotes",
    "/perps/positions/close",
]
TRADE_KEY = ["/perps/orders/preview", "/perps/orders/cancel-all", "/perps/quotes/bulk"]


@pytest.mark.parametrize("path", SESSION_ONLY + TRADE_KEY)
def test_every_endpoint_without_credentials_is_401(client: ApiClient, path: str) -> None:
    assert_error(client.post(path, json={}), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("path", SESSION_ONLY)
@pytest.mark.parametrize("which", ["trade", "read"])
def test_session_only_endpoints_refuse_api_keys_before_reading_the_body(
    client: ApiClient, trader: NewAccount, path: str, which: str
) -> None:
    key = trade_key(trader) if which == "trade" else read_key(trader)

    assert_error(client.post(path, key=key, json={}), 403, "API_KEY_NOT_ACCEPTED")


@pytest.mark.parametrize("path", TRADE_KEY)
def test_trade_key_endpoints_refuse_a_read_key(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    assert_error(client.post(path, key=read_key(trader), json={}), 403, "INSUFFICIENT_SCOPE")


# -- POST /perps/orders/preview ---------------------------------------------------------------


def preview(client: ApiClient, account: NewAccount, **fields: Any) -> Response:
    return client.post("/perps/orders/preview", key=trade_key(account), json=order_body(**fields))


def test_a_preview_of_a_resting_order_is_a_maker_figure_and_changes_nothing(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    response = preview(client, trader)

    assert response.status_code == 200
    assert response.json() == {
        "notional": "6800.00",
        "marginRequired": "340.00",  # 6800 / 20
        "estFee": "1.36",  # 2 bps
        "feeBps": "2",
        "feeRole": "maker",
        "user30dVolume": "0.00",
        "approved": True,
    }
    assert world.exchange.orders(trader.user_id) == []
    assert "x-ratelimit-limit" not in response.headers


def test_a_preview_that_would_take_uses_the_taker_rate(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    placed(client, other, side="sell")

    body = client.post(
        "/perps/orders/preview", token=trader.session_token, json=order_body()
    ).json()

    assert (body["feeRole"], body["feeBps"], body["estFee"]) == ("taker", "5", "3.40")
    assert body["approved"] is True


def test_a_preview_of_an_unaffordable_order_is_not_approved_with_its_reason(
    client: ApiClient, trader: NewAccount
) -> None:
    body = preview(client, trader, quantity="40").json()

    assert body["approved"] is False
    assert body["reasonCode"] == "INSUFFICIENT_MARGIN"
    assert body["reason"]
    assert body["marginRequired"] == "136000.00"
    assert body["notional"] == "2720000.00"


def test_a_preview_without_an_index_is_not_approved(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    world.exchange.sim.set_index(PERP, None)

    body = preview(client, trader).json()

    assert (body["approved"], body["reasonCode"]) == (False, "UPSTREAM_DEGRADED")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": "68000.005"}, "price"),
        ({"quantity": "0.12345"}, "quantity"),
        ({"side": "up"}, "side"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": 1}, "quantity"),
    ],
)
def test_a_malformed_preview_is_400_naming_the_field(
    client: ApiClient, trader: NewAccount, fields: dict[str, Any], field: str
) -> None:
    assert_error(preview(client, trader, **fields), 400, "VALIDATION_ERROR", field)


def test_a_preview_with_bad_json_is_400_naming_the_body(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.post("/perps/orders/preview", key=trade_key(trader), content=b"{nope")

    assert_error(response, 400, "VALIDATION_ERROR", "body")


def test_a_preview_on_a_spot_market_is_404(client: ApiClient, trader: NewAccount) -> None:
    assert_error(preview(client, trader, marketId=SPOT), 404, "UNKNOWN_MARKET")


# -- POST /perps/orders/{id}/cancel -----------------------------------------------------------


def cancel(client: ApiClient, account: NewAccount, order_id: str) -> Response:
    return client.post(f"/perps/orders/{order_id}/cancel", token=account.session_token)


def test_cancel_answers_the_cancelled_order(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    order = placed(client, trader)

    response = cancel(client, trader, order["id"])

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"]) == (order["id"], "cancelled")
    assert (body["price"], body["quantity"], body["remainingQuantity"]) == (
        "68000.00",
        "0.1000",
        "0.1000",
    )
    assert "fills" not in body
    assert open_ids(world, trader) == []


def test_cancel_of_an_unknown_order_is_404(client: ApiClient, trader: NewAccount) -> None:
    assert_error(cancel(client, trader, ULID_LIKE), 404, "ORDER_NOT_FOUND")


def test_cancel_of_another_users_order_is_404_and_leaves_it_open(
    client: ApiClient, trader: NewAccount, other: NewAccount, world: World
) -> None:
    theirs = placed(client, other)

    assert_error(cancel(client, trader, theirs["id"]), 404, "ORDER_NOT_FOUND")
    assert open_ids(world, other) == [theirs["id"]]


def test_cancel_of_a_clob_order_on_the_perps_path_is_404_and_leaves_it_open(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    order_id = spot_order_id(world, trader)

    assert_error(cancel(client, trader, order_id), 404, "ORDER_NOT_FOUND")
    assert open_ids(world, trader) == [order_id]


def test_cancel_of_a_terminal_order_is_409_order_not_open(
    client: ApiClient, trader: NewAccount
) -> None:
    order = placed(client, trader)
    cancel(client, trader, order["id"])

    assert_error(cancel(client, trader, order["id"]), 409, "ORDER_NOT_OPEN")


# -- POST /perps/orders/{id}/modify -----------------------------------------------------------


def modify(client: ApiClient, account: NewAccount, order_id: str, **kwargs: Any) -> Response:
    return client.post(f"/perps/orders/{order_id}/modify", token=account.session_token, **kwargs)


def test_modify_to_a_smaller_quantity_answers_the_same_order_resized(
    client: ApiClient, trader: NewAccount
) -> None:
    order = placed(client, trader)

    response = modify(client, trader, order["id"], json={"quantity": "0.05"})

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"]) == (order["id"], "open")
    assert (body["price"], body["quantity"], body["remainingQuantity"]) == (
        "68000.00",
        "0.0500",
        "0.0500",
    )
    assert body["fills"] == []
    assert body["position"] is None


def test_modify_to_a_crossing_price_trades_against_another_accounts_order(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    order = placed(client, trader, price="67000")
    placed(client, other, side="sell", price="67500")

    body = modify(client, trader, order["id"], json={"price": "67500"}).json()

    assert (body["id"], body["status"], body["price"]) == (order["id"], "filled", "67500.00")
    [fill] = body["fills"]
    assert (fill["price"], fill["quantity"], fill["feeRole"]) == ("67500.00", "0.1000", "taker")
    assert body["position"]["quantity"] == "0.1000"
    assert body["position"]["side"] == "long"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"content": b"{"}, "body"),
        ({"json": {}}, "price"),
        ({"json": {"price": 67000}}, "price"),
        ({"json": {"price": "67000.001"}}, "price"),
        ({"json": {"price": "-67000"}}, "price"),
        ({"json": {"quantity": "abc"}}, "quantity"),
        ({"json": {"quantity": "0.00005"}}, "quantity"),
        ({"json": {"quantity": "0"}}, "quantity"),
    ],
)
def test_a_malformed_modify_is_400_naming_the_field(
    client: ApiClient, trader: NewAccount, kwargs: dict[str, Any], field: str
) -> None:
    order = placed(client, trader)

    assert_error(modify(client, trader, order["id"], **kwargs), 400, "VALIDATION_ERROR", field)


def test_modify_of_another_users_or_a_clob_order_is_404(
    client: ApiClient, trader: NewAccount, other: NewAccount, world: World
) -> None:
    theirs = placed(client, other)
    spot = spot_order_id(world, trader)

    for order_id in (theirs["id"], spot, ULID_LIKE):
        response = modify(client, trader, order_id, json={"quantity": "0.05"})
        assert_error(response, 404, "ORDER_NOT_FOUND")


def test_modify_of_a_terminal_order_is_409(client: ApiClient, trader: NewAccount) -> None:
    order = placed(client, trader)
    cancel(client, trader, order["id"])

    response = modify(client, trader, order["id"], json={"price": "67000"})

    assert_error(response, 409, "ORDER_NOT_OPEN")


def test_modify_to_a_price_outside_the_band_is_422(client: ApiClient, trader: NewAccount) -> None:
    order = placed(client, trader)

    response = modify(client, trader, order["id"], json={"price": "60000"})

    assert_error(response, 422, "PRICE_OUT_OF_BAND")


# -- POST /perps/orders/cancel-all ------------------------------------------------------------


def cancel_all(client: ApiClient, account: NewAccount, **kwargs: Any) -> Response:
    return client.post("/perps/orders/cancel-all", key=trade_key(account), **kwargs)


def test_cancel_all_without_a_body_cancels_every_perps_and_futures_order_but_not_clob_ones(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    market_id = future_id(world)
    mark = world.exchange.mark_price(market_id)
    first = placed(client, trader)["id"]
    second = placed(client, trader, marketId=market_id, price=f"{mark:f}")["id"]
    spot = spot_order_id(world, trader)

    response = cancel_all(client, trader)

    assert response.status_code == 200
    assert response.json() == {"cancelled": [first, second], "count": 2}
    assert open_ids(world, trader) == [spot]


def test_cancel_all_with_an_empty_object_cancels_everything_too(
    client: ApiClient, trader: NewAccount
) -> None:
    placed(client, trader)

    assert cancel_all(client, trader, json={}).json()["count"] == 1


@pytest.mark.parametrize(
    ("scope", "kept"),
    [
        ({"marketId": PERP}, ["future"]),
        ({"clientOrderId": "keep-me"}, ["perp", "future"]),
        ({"marginMode": "isolated"}, ["perp", "future"]),
        ({"quoteId": "q-1"}, ["perp", "future"]),
    ],
)
def test_cancel_all_cancels_only_orders_in_its_scope(
    client: ApiClient, trader: NewAccount, world: World, scope: dict[str, str], kept: list[str]
) -> None:
    market_id = future_id(world)
    mark = world.exchange.mark_price(market_id)
    ids = {
        "perp": placed(client, trader, price="67000", clientOrderId="perp-1")["id"],
        "future": placed(client, trader, marketId=market_id, price=f"{mark:f}")["id"],
    }
    extra = {
        "marketId": placed(client, trader, price="66000", marginMode="isolated")["id"],
        "clientOrderId": placed(client, trader, price="66500", clientOrderId="keep-me")["id"],
        "marginMode": placed(client, trader, price="65000", marginMode="isolated")["id"],
    }
    quotes = client.post(
        "/perps/quotes",
        token=trader.session_token,
        json={"marketId": PERP, "quoteId": "q-1", "bid": {"price": "65500", "quantity": "0.1"}},
    ).json()
    extra["quoteId"] = quotes["orders"][0]["id"]
    before = set(open_ids(world, trader))

    response = cancel_all(client, trader, json=scope)

    body = response.json()
    assert body["count"] == len(body["cancelled"])
    cancelled = set(body["cancelled"])
    assert extra[next(iter(scope))] in cancelled
    assert {ids[name] for name in kept}.isdisjoint(cancelled)
    assert set(open_ids(world, trader)) == before - cancelled


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"content": b"{,}"}, "body"),
        ({"json": ["BTC-PERP"]}, "body"),
        ({"json": {"marginMode": "both"}}, "marginMode"),
        ({"json": {"marketId": 5}}, "marketId"),
        ({"json": {"quoteId": ""}}, "quoteId"),
        ({"json": {"clientOrderId": 12}}, "clientOrderId"),
    ],
)
def test_a_malformed_cancel_all_is_400_naming_the_field(
    client: ApiClient, trader: NewAccount, kwargs: dict[str, Any], field: str
) -> None:
    assert_error(cancel_all(client, trader, **kwargs), 400, "VALIDATION_ERROR", field)


@pytest.mark.parametrize("market_id", [SPOT, "NOPE-PERP"])
def test_cancel_all_scoped_to_a_market_not_on_the_perps_path_is_404(
    client: ApiClient, trader: NewAccount, market_id: str
) -> None:
    response = cancel_all(client, trader, json={"marketId": market_id})

    assert_error(response, 404, "UNKNOWN_MARKET")


def test_cancel_all_by_session_leaves_other_users_orders_alone(
    client: ApiClient, trader: NewAccount, other: NewAccount, world: World
) -> None:
    theirs = placed(client, other)["id"]

    response = client.post("/perps/orders/cancel-all", token=trader.session_token)

    assert response.json() == {"cancelled": [], "count": 0}
    assert open_ids(world, other) == [theirs]


# -- POST /perps/quotes -----------------------------------------------------------------------


def quotes(client: ApiClient, account: NewAccount, **kwargs: Any) -> Response:
    return client.post("/perps/quotes", token=account.session_token, **kwargs)


def test_a_two_sided_quote_places_a_post_only_bid_and_ask_tagged_with_the_quote_id(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    response = quotes(
        client,
        trader,
        json={
            "marketId": PERP,
            "quoteId": "mm-1",
            "bid": {"price": "67900", "quantity": "0.5", "clientOrderId": "b-1"},
            "ask": {"price": "68100", "quantity": "0.25"},
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["quoteId"], body["cancelled"]) == ("mm-1", [])
    bid, ask = body["orders"]
    assert (bid["side"], bid["price"], bid["quantity"], bid["clientOrderId"]) == (
        "buy",
        "67900.00",
        "0.5000",
        "b-1",
    )
    assert (ask["side"], ask["price"], ask["quantity"]) == ("sell", "68100.00", "0.2500")
    assert all(o["postOnly"] and o["quoteId"] == "mm-1" for o in body["orders"])
    assert all(o["status"] == "open" for o in body["orders"])
    assert "x-ratelimit-remaining" in response.headers


def test_a_one_sided_quote_gets_a_generated_quote_id(client: ApiClient, trader: NewAccount) -> None:
    body = quotes(
        client, trader, json={"marketId": PERP, "ask": {"price": "68100", "quantity": "0.1"}}
    ).json()

    assert len(body["quoteId"]) == 26
    [ask] = body["orders"]
    assert (ask["side"], ask["quoteId"]) == ("sell", body["quoteId"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"marketId": PERP}, "bid"),
        ({"marketId": PERP, "bid": None, "ask": None}, "bid"),
        ({"marketId": PERP, "bid": ["67900", "0.1"]}, "bid"),
        ({"marketId": PERP, "ask": "68100"}, "ask"),
        ({"bid": {"price": "67900", "quantity": "0.1"}}, "marketId"),
        ({"marketId": PERP, "bid": {"price": "67900.001", "quantity": "0.1"}}, "bid.price"),
        ({"marketId": PERP, "bid": {"price": 67900, "quantity": "0.1"}}, "bid.price"),
        ({"marketId": PERP, "bid": {"quantity": "0.1"}}, "bid.price"),
        ({"marketId": PERP, "ask": {"price": "68100", "quantity": "0.00001"}}, "ask.quantity"),
        ({"marketId": PERP, "ask": {"price": "68100", "quantity": "-1"}}, "ask.quantity"),
        (
            {
                "marketId": PERP,
                "bid": {"price": "67900", "quantity": "0.1"},
                "ask": {"price": "68100.5", "quantity": "0.12345"},
            },
            "ask.quantity",
        ),
        ({"marketId": PERP, "ask": {"price": "68100", "quantity": "0.1"}, "quoteId": 3}, "quoteId"),
    ],
)
def test_a_malformed_quote_is_400_naming_the_field(
    client: ApiClient, trader: NewAccount, world: World, body: dict[str, Any], field: str
) -> None:
    assert_error(quotes(client, trader, json=body), 400, "VALIDATION_ERROR", field)
    assert world.exchange.orders(trader.user_id) == []


def test_a_quote_with_bad_json_is_400_naming_the_body(
    client: ApiClient, trader: NewAccount
) -> None:
    assert_error(quotes(client, trader, content=b"nope"), 400, "VALIDATION_ERROR", "body")


def test_a_quote_side_that_would_take_is_422_naming_that_side(
    client: ApiClient, trader: NewAccount, other: NewAccount, world: World
) -> None:
    placed(client, other, side="sell", price="68000")

    response = quotes(
        client,
        trader,
        json={
            "marketId": PERP,
            "bid": {"price": "68000", "quantity": "0.1"},
            "ask": {"price": "68100", "quantity": "0.1"},
        },
    )

    assert_error(response, 422, "POST_ONLY_WOULD_TAKE", "bid")
    assert world.exchange.orders(trader.user_id) == []


def test_a_quote_side_outside_the_band_is_422_naming_its_price(
    client: ApiClient, trader: NewAccount
) -> None:
    response = quotes(
        client,
        trader,
        json={
            "marketId": PERP,
            "bid": {"price": "67900", "quantity": "0.1"},
            "ask": {"price": "75000", "quantity": "0.1"},
        },
    )

    assert_error(response, 422, "PRICE_OUT_OF_BAND", "ask.price")
    assert "ask.price" in response.json()["message"]


def test_a_quote_whose_bid_crosses_its_own_ask_is_422_self_trade_naming_the_ask(
    client: ApiClient, trader: NewAccount
) -> None:
    response = quotes(
        client,
        trader,
        json={
            "marketId": PERP,
            "bid": {"price": "68100", "quantity": "0.1"},
            "ask": {"price": "67900", "quantity": "0.1"},
        },
    )

    assert_error(response, 422, "SELF_TRADE", "ask")
    assert response.json()["message"] == "ask would trade against bid of the same set"


def test_a_quote_over_the_available_margin_is_422(client: ApiClient, trader: NewAccount) -> None:
    response = quotes(
        client, trader, json={"marketId": PERP, "bid": {"price": "67900", "quantity": "40"}}
    )

    assert_error(response, 422, "INSUFFICIENT_MARGIN")


def test_a_quote_on_a_spot_market_is_404(client: ApiClient, trader: NewAccount) -> None:
    response = quotes(
        client, trader, json={"marketId": SPOT, "bid": {"price": "67900", "quantity": "0.1"}}
    )

    assert_error(response, 404, "UNKNOWN_MARKET")


# -- POST /perps/quotes/bulk ------------------------------------------------------------------


def rung(side: str, price: str, quantity: str = "0.1", **fields: Any) -> dict[str, Any]:
    return {"side": side, "price": price, "quantity": quantity, **fields}


def bulk(client: ApiClient, account: NewAccount, **kwargs: Any) -> Response:
    return client.post("/perps/quotes/bulk", key=trade_key(account), **kwargs)


LADDER = [rung("buy", "67900"), rung("buy", "67800", "0.2"), rung("sell", "68100")]


def test_a_bulk_ladder_places_every_quote_and_cancel_all_replaces_the_previous_one(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    first = bulk(client, trader, json={"marketId": PERP, "quoteId": "c-1", "quotes": LADDER})
    assert first.status_code == 200
    first_ids = [o["id"] for o in first.json()["orders"]]

    response = bulk(
        client,
        trader,
        json={
            "marketId": PERP,
            "quoteId": "c-2",
            "cancelAll": True,
            "quotes": [rung("buy", "67950", postOnly=True), rung("sell", "68050")],
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["quoteId"], body["cancelled"]) == ("c-2", first_ids)
    assert [(o["side"], o["price"], o["quantity"]) for o in body["orders"]] == [
        ("buy", "67950.00", "0.1000"),
        ("sell", "68050.00", "0.1000"),
    ]
    assert [o["postOnly"] for o in body["orders"]] == [True, False]
    assert {o["quoteId"] for o in body["orders"]} == {"c-2"}
    assert set(open_ids(world, trader)) == {o["id"] for o in body["orders"]}


def test_cancel_all_of_a_bulk_ladder_replaces_quotes_only_never_plain_or_stop_orders(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    # A market maker requotes every cycle; its protective stop and its plain orders on the
    # market must survive every cycle (docs/fidelity.md "Orders").
    plain = placed(client, trader, side="buy", price="67000")
    stop = placed(client, trader, side="buy", price="69000", stopPrice="69000")
    first = bulk(client, trader, json={"marketId": PERP, "quotes": LADDER}).json()

    response = bulk(
        client,
        trader,
        json={"marketId": PERP, "cancelAll": True, "quotes": [rung("buy", "67950")]},
    )

    assert response.status_code == 200
    assert response.json()["cancelled"] == [o["id"] for o in first["orders"]]
    still_open = set(open_ids(world, trader))
    assert {plain["id"], stop["id"]} <= still_open
    assert stop["status"] == "untriggered"


def test_a_market_order_retried_after_an_ambiguous_504_is_409_and_fills_once(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    placed(client, other, side="sell", quantity="0.3")
    client.post(
        "/_sim/faults",
        json={
            "match": {"method": "POST", "path": "/perps/orders"},
            "action": {"type": "ambiguous"},
        },
    )
    body = order_body(type="market", price=None, clientOrderId="flatten-1")

    first = client.post("/perps/orders", token=trader.session_token, json=body)
    retry = client.post("/perps/orders", token=trader.session_token, json=body)

    assert_error(first, 504, "UPSTREAM_DEGRADED")
    assert_error(retry, 409, "DUPLICATE_CLIENT_ORDER_ID")
    [order] = client.get("/perps/orders", token=trader.session_token).json()
    assert retry.json()["details"]["orderId"] == order["id"]
    [position] = client.get("/perps/positions", token=trader.session_token).json()
    assert (position["side"], position["quantity"]) == ("long", "0.1000")


def test_a_bulk_ladder_with_one_bad_quote_changes_nothing(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    bulk(client, trader, json={"marketId": PERP, "quotes": LADDER})
    before = open_ids(world, trader)

    response = bulk(
        client,
        trader,
        json={
            "marketId": PERP,
            "cancelAll": True,
            "quotes": [rung("buy", "67950"), rung("sell", "68050.001")],
        },
    )

    assert_error(response, 400, "VALIDATION_ERROR", "quotes[1].price")
    assert open_ids(world, trader) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"marketId": PERP}, "quotes"),
        ({"marketId": PERP, "quotes": "buy"}, "quotes"),
        ({"marketId": PERP, "quotes": [rung("buy", "67900")] * 51}, "quotes"),
        ({"marketId": PERP, "quotes": [["buy", "67900", "0.1"]] * 51}, "quotes"),
        ({"marketId": PERP, "quotes": [rung("buy", "67900"), 7]}, "quotes[1]"),
        ({"marketId": PERP, "quotes": [rung("long", "67900")]}, "quotes[0].side"),
        ({"marketId": PERP, "quotes": [rung("buy", "6.79e4")]}, "quotes[0].price"),
        ({"marketId": PERP, "quotes": [rung("buy", "67900", "0.00001")]}, "quotes[0].quantity"),
        (
            {"marketId": PERP, "quotes": [rung("buy", "67900"), rung("buy", "67800", "-0.1")]},
            "quotes[1].quantity",
        ),
        (
            {"marketId": PERP, "quotes": [rung("buy", "67900", timeInForce="day")]},
            "quotes[0].timeInForce",
        ),
        ({"marketId": PERP, "cancelAll": "yes", "quotes": LADDER}, "cancelAll"),
        ({"quotes": LADDER}, "marketId"),
    ],
)
def test_a_malformed_bulk_ladder_is_400_naming_the_field(
    client: ApiClient, trader: NewAccount, world: World, body: dict[str, Any], field: str
) -> None:
    assert_error(bulk(client, trader, json=body), 400, "VALIDATION_ERROR", field)
    assert world.exchange.orders(trader.user_id) == []


def test_a_bulk_ladder_with_bad_json_is_400_naming_the_body(
    client: ApiClient, trader: NewAccount
) -> None:
    assert_error(bulk(client, trader, content=b"[}"), 400, "VALIDATION_ERROR", "body")


def test_a_bulk_post_only_quote_that_would_take_is_422_naming_its_index(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    placed(client, other, side="sell", price="68000")
    ladder = [rung("buy", "67900"), rung("buy", "68000", postOnly=True)]

    response = bulk(client, trader, json={"marketId": PERP, "quotes": ladder})

    assert_error(response, 422, "POST_ONLY_WOULD_TAKE", "quotes[1]")


def test_a_bulk_ladder_crossing_itself_is_422_self_trade(
    client: ApiClient, trader: NewAccount
) -> None:
    ladder = [rung("sell", "67900"), rung("buy", "68000")]

    response = bulk(client, trader, json={"marketId": PERP, "quotes": ladder})

    assert_error(response, 422, "SELF_TRADE", "quotes[1]")


def test_a_bulk_ladder_over_the_available_margin_is_422(
    client: ApiClient, trader: NewAccount
) -> None:
    ladder = [rung("buy", "67900", "20"), rung("buy", "67800", "20")]

    response = bulk(client, trader, json={"marketId": PERP, "quotes": ladder})

    assert_error(response, 422, "INSUFFICIENT_MARGIN")


def test_a_bulk_ladder_on_a_spot_market_is_404(client: ApiClient, trader: NewAccount) -> None:
    response = bulk(client, trader, json={"marketId": SPOT, "quotes": LADDER})

    assert_error(response, 404, "UNKNOWN_MARKET")


# -- POST /perps/positions/close --------------------------------------------------------------


def close(client: ApiClient, account: NewAccount, **kwargs: Any) -> Response:
    return client.post("/perps/positions/close", token=account.session_token, **kwargs)


def go_long(client: ApiClient, trader: NewAccount, other: NewAccount) -> None:
    """Trader long 0.1 BTC-PERP at 68000, other's bid resting at 68000 to close against."""
    placed(client, other, side="sell")
    placed(client, trader)
    placed(client, other, side="buy", price="68000", quantity="0.2")


def test_close_sells_the_whole_long_at_the_market_and_leaves_no_position(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    go_long(client, trader, other)

    response = close(client, trader, json={"marketId": PERP})

    assert response.status_code == 200
    body = response.json()
    assert (body["side"], body["type"], body["reduceOnly"]) == ("sell", "market", True)
    assert (body["quantity"], body["status"]) == ("0.1000", "filled")
    [fill] = body["fills"]
    assert (fill["price"], fill["quantity"], fill["fee"]) == ("68000.00", "0.1000", "3.40")
    assert body["position"] is None


def test_close_of_part_of_a_position_leaves_the_rest(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    go_long(client, trader, other)

    body = close(client, trader, json={"marketId": PERP, "quantity": "0.04"}).json()

    assert body["filledQuantity"] == "0.0400"
    assert (body["position"]["side"], body["position"]["quantity"]) == ("long", "0.0600")


def test_close_with_a_limit_order_rests_reduce_only(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    go_long(client, trader, other)

    body = close(
        client,
        trader,
        json={"marketId": PERP, "orderType": "limit", "price": "69000", "timeInForce": "gtc"},
    ).json()

    assert (body["type"], body["price"], body["status"]) == ("limit", "69000.00", "open")
    assert body["reduceOnly"] is True
    assert body["fills"] == []
    assert body["position"]["quantity"] == "0.1000"


def test_close_without_a_position_is_404_not_found(client: ApiClient, trader: NewAccount) -> None:
    assert_error(close(client, trader, json={"marketId": PERP}), 404, "NOT_FOUND")


def test_close_of_a_cross_position_in_isolated_mode_is_404(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    go_long(client, trader, other)

    response = close(client, trader, json={"marketId": PERP, "marginMode": "isolated"})

    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"content": b"{"}, "body"),
        ({"json": {}}, "marketId"),
        ({"json": {"marketId": PERP, "quantity": "0.00001"}}, "quantity"),
        ({"json": {"marketId": PERP, "quantity": "-0.1"}}, "quantity"),
        ({"json": {"marketId": PERP, "quantity": 0.1}}, "quantity"),
        ({"json": {"marketId": PERP, "orderType": "stop"}}, "orderType"),
        ({"json": {"marketId": PERP, "marginMode": "full"}}, "marginMode"),
        ({"json": {"marketId": PERP, "timeInForce": "day"}}, "timeInForce"),
        ({"json": {"marketId": PERP, "orderType": "limit", "price": "68000.123"}}, "price"),
        ({"json": {"marketId": PERP, "orderType": "limit"}}, "price"),
    ],
)
def test_a_malformed_close_is_400_naming_the_field(
    client: ApiClient,
    trader: NewAccount,
    other: NewAccount,
    kwargs: dict[str, Any],
    field: str,
) -> None:
    go_long(client, trader, other)

    assert_error(close(client, trader, **kwargs), 400, "VALIDATION_ERROR", field)


def test_close_of_more_than_the_position_closes_the_position(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    go_long(client, trader, other)

    body = close(client, trader, json={"marketId": PERP, "quantity": "0.2"}).json()

    assert (body["quantity"], body["filledQuantity"], body["status"]) == (
        "0.1000",
        "0.1000",
        "filled",
    )
    assert body["position"] is None


def test_a_full_close_is_accepted_while_a_reduce_only_take_profit_rests(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    # A kill switch flattens whatever protective orders rest (docs/fidelity.md "Orders").
    go_long(client, trader, other)
    take_profit = placed(client, trader, side="sell", price="70000", reduceOnly=True)

    body = close(client, trader, json={"marketId": PERP}).json()

    assert (body["status"], body["position"]) == ("filled", None)
    orders = {o["id"]: o for o in client.get("/perps/orders", token=trader.session_token).json()}
    assert (orders[take_profit["id"]]["status"]) == "cancelled"


def test_a_stop_loss_after_a_partial_close_closes_the_rest_of_the_position(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    # The stop keeps the entry's 0.1; after half is closed it is trimmed to the 0.05 left,
    # and when it fires it closes exactly that (no trigger_rejected, no naked position).
    go_long(client, trader, other)
    stop = placed(
        client, trader, side="sell", type="market", price=None, stopPrice="66000", reduceOnly=True
    )
    close(client, trader, json={"marketId": PERP, "quantity": "0.05"})
    placed(client, other, side="buy", price="65500", quantity="0.1")

    world.exchange.sim.set_index(PERP, Decimal("65900"))

    orders = {o["id"]: o for o in client.get("/perps/orders", token=trader.session_token).json()}
    assert (orders[stop["id"]]["status"], orders[stop["id"]]["quantity"]) == ("filled", "0.0500")
    assert client.get("/perps/positions", token=trader.session_token).json() == []


def test_close_on_a_spot_market_is_404_unknown_market(
    client: ApiClient, trader: NewAccount
) -> None:
    assert_error(close(client, trader, json={"marketId": SPOT}), 404, "UNKNOWN_MARKET")


# -- the order-path rate limit ----------------------------------------------------------------


def kill(client: ApiClient, account: NewAccount, *, by_key: bool = True) -> Response:
    """The cheapest order-path request: an empty cancel-all."""
    if by_key:
        return client.post("/perps/orders/cancel-all", key=trade_key(account))
    return client.post("/perps/orders/cancel-all", token=account.session_token)


def test_the_121st_order_path_request_in_60_seconds_is_429_with_retry_after(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    start = world.now_ms
    for i in range(120):
        response = kill(client, trader)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-remaining"] == str(119 - i)
    world.exchange.advance_by(10_000)

    response = place(client, trader)

    assert_error(response, 429, "ORDER_RATE_LIMIT")
    assert response.json()["retryAfterMs"] == 50_000
    assert response.headers["retry-after"] == "50"
    assert response.headers["x-ratelimit-limit"] == "120"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-reset"] == str((start + 60_000) // 1000)
    assert world.exchange.orders(trader.user_id) == []


def test_on_a_manual_clock_the_429_says_the_window_frees_only_as_the_clock_is_advanced(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    for _ in range(120):
        kill(client, trader)
    world.exchange.advance_by(10_000)

    refused = place(client, trader)
    world.exchange.advance_by(refused.json()["retryAfterMs"])
    accepted = kill(client, trader)

    assert_error(refused, 429, "ORDER_RATE_LIMIT")
    assert refused.headers["retry-after"] == "50"  # simulated seconds
    assert "the window moves with the simulated clock" in refused.json()["message"]
    assert "advance the clock" in refused.json()["message"]
    assert accepted.status_code == 200


def test_on_a_realtime_clock_retry_after_is_in_real_seconds_rounded_up() -> None:
    real = FakeRealTime()
    worlds = Worlds(WorldConfig(seed=7, clock=ClockMode.REALTIME, speed=4), real_time=real)
    trader = worlds.default.create_account(balances={Bucket.PERPS: Decimal(1000)})
    bearer = {"Authorization": f"Bearer {trader.session_token}"}
    with InProcessClient(create_app(worlds)) as http:
        for _ in range(120):
            assert http.post("/perps/orders/cancel-all", headers=bearer).status_code == 200
        real.now += 2.5  # ten simulated seconds at 4x

        refused = http.post("/perps/orders/cancel-all", headers=bearer)

    assert refused.status_code == 429
    assert refused.json()["retryAfterMs"] == 50_000  # simulated
    assert refused.headers["retry-after"] == "13"  # 12.5 real seconds, rounded up
    assert "simulated clock" not in refused.json()["message"]


def test_the_window_slides_on_the_simulated_clock(
    client: ApiClient, trader: NewAccount, world: World
) -> None:
    for _ in range(60):
        kill(client, trader)
    world.exchange.advance_by(30_000)
    for _ in range(60):
        kill(client, trader)
    assert kill(client, trader).status_code == 429

    world.exchange.advance_by(30_000)

    response = kill(client, trader)
    assert response.status_code == 200
    assert response.headers["x-ratelimit-remaining"] == "59"
    assert response.headers["x-ratelimit-reset"] == str((world.now_ms + 30_000) // 1000)


def test_the_count_is_shared_by_a_users_session_and_api_keys_but_not_other_users(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    for i in range(120):
        assert kill(client, trader, by_key=i % 2 == 0).status_code == 200

    assert_error(kill(client, trader, by_key=False), 429, "ORDER_RATE_LIMIT")
    assert_error(kill(client, trader, by_key=True), 429, "ORDER_RATE_LIMIT")
    assert kill(client, other).headers["x-ratelimit-remaining"] == "119"


def test_previews_are_not_counted(client: ApiClient, trader: NewAccount) -> None:
    for _ in range(5):
        response = preview(client, trader)
        assert response.status_code == 200
        assert not set(RATE_HEADERS) & set(response.headers)

    assert kill(client, trader).headers["x-ratelimit-remaining"] == "119"


def test_a_bulk_ladder_counts_as_one_request(client: ApiClient, trader: NewAccount) -> None:
    ladder = [rung("buy", f"{67000 - i}") for i in range(20)]

    response = bulk(client, trader, json={"marketId": PERP, "quotes": ladder})

    assert response.status_code == 200
    assert len(response.json()["orders"]) == 20
    assert response.headers["x-ratelimit-remaining"] == "119"


def order_path_calls(
    client: ApiClient, trader: NewAccount, order_id: str
) -> list[tuple[str, Response]]:
    session, key = trader.session_token, trade_key(trader)
    return [
        ("place ok", client.post("/perps/orders", token=session, json=order_body(price="67000"))),
        ("place 400", client.post("/perps/orders", token=session, json={"marketId": PERP})),
        ("place 422", client.post("/perps/orders", token=session, json=order_body(price="1"))),
        ("modify", client.post(f"/perps/orders/{order_id}/modify", token=session, json={})),
        ("cancel", client.post(f"/perps/orders/{order_id}/cancel", token=session)),
        ("cancel 409", client.post(f"/perps/orders/{order_id}/cancel", token=session)),
        ("cancel-all", client.post("/perps/orders/cancel-all", key=key)),
        ("quotes", client.post("/perps/quotes", token=session, json={"marketId": PERP})),
        ("bulk", client.post("/perps/quotes/bulk", key=key, json={"marketId": SPOT, "quotes": []})),
        ("close", client.post("/perps/positions/close", token=session, json={"marketId": PERP})),
    ]


def test_every_order_path_answer_carries_the_rate_limit_headers_success_or_error(
    client: ApiClient, trader: NewAccount
) -> None:
    order_id = placed(client, trader)["id"]

    calls = order_path_calls(client, trader, order_id)

    statuses = {name: response.status_code for name, response in calls}
    assert statuses == {
        "place ok": 200,
        "place 400": 400,
        "place 422": 422,
        "modify": 400,
        "cancel": 200,
        "cancel 409": 409,
        "cancel-all": 200,
        "quotes": 400,
        "bulk": 404,
        "close": 404,
    }
    remaining = [int(response.headers["x-ratelimit-remaining"]) for _, response in calls]
    assert remaining == list(range(118, 108, -1))
    for _, response in calls:
        assert set(RATE_HEADERS) <= set(response.headers)
        assert response.headers["x-ratelimit-limit"] == "120"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/perps/quotes",
            {"marketId": SPOT, "bid": {"price": "x", "quantity": "0.1"}},
            "bid.price",
        ),
        ("/perps/quotes/bulk", {"marketId": "NOPE", "quotes": [rung("up", "1")]}, "quotes[0].side"),
        ("/perps/positions/close", {"marketId": "NOPE", "orderType": "stop"}, "orderType"),
        ("/perps/orders/cancel-all", {"marketId": SPOT, "marginMode": "x"}, "marginMode"),
    ],
)
def test_malformed_input_is_400_before_an_unknown_market_is_404(
    client: ApiClient, trader: NewAccount, path: str, body: dict[str, Any], field: str
) -> None:
    response = client.post(path, token=trader.session_token, json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)


def test_a_read_key_refused_on_the_order_path_shows_the_window_without_using_it(
    client: ApiClient, trader: NewAccount
) -> None:
    place(client, trader, price="67000")

    refused = client.post("/perps/orders/cancel-all", key=read_key(trader), json={})

    assert_error(refused, 403, "INSUFFICIENT_SCOPE")  # cancel-all takes a trade key
    assert refused.headers["x-ratelimit-limit"] == "120"
    assert refused.headers["x-ratelimit-remaining"] == "119"  # the refusal counted nothing
    assert "retry-after" not in refused.headers
    assert place(client, trader, price="67000").headers["x-ratelimit-remaining"] == "118"


def test_an_anonymous_order_path_refusal_has_no_window_to_show(client: ApiClient) -> None:
    refused = client.post("/perps/orders", json=order_body(price="67000"))

    assert_error(refused, 401, "UNAUTHENTICATED")
    assert not set(RATE_HEADERS) & set(refused.headers)
