"""The CLOB order endpoints (https://docs.ocx.global/api-reference/rest): spot and options
orders, previews, modify, cancel, cancel-all and quotes, each at its `/options/…` alias too
(docs/fidelity.md "Orders", "Order endpoints", "HTTP")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.orders import OrderRequest, Side
from ocx_sim.testing.builders import credit_spot
from ocx_sim.testing.client import Response
from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient, assert_error, atm_call, read_key, trade_key

D = Decimal
SPOT = "BTC-USDC-SPOT"
UNKNOWN_ID = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
RATE_LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")

ORDER_PATHS = ("/orders", "/options/orders")
PREVIEW_PATHS = ("/orders/preview", "/options/orders/preview")
MODIFY_PATHS = ("/orders/{id}/modify", "/options/orders/{id}/modify")
CANCEL_PATHS = ("/orders/{id}/cancel", "/options/orders/{id}/cancel")
CANCEL_ALL_PATHS = ("/orders/cancel-all", "/options/orders/cancel-all")
QUOTE_PATHS = ("/quotes", "/options/quotes")
BULK_PATHS = ("/quotes/bulk", "/options/quotes/bulk")
SESSION_ONLY = ORDER_PATHS + MODIFY_PATHS + CANCEL_PATHS + QUOTE_PATHS
TRADE_KEY_PATHS = PREVIEW_PATHS + CANCEL_ALL_PATHS + BULK_PATHS
ORDER_PATH = ORDER_PATHS + MODIFY_PATHS + CANCEL_PATHS + CANCEL_ALL_PATHS + QUOTE_PATHS + BULK_PATHS
EVERY_PATH = ORDER_PATH + PREVIEW_PATHS


@pytest.fixture
def option(world: World) -> MarketSpec:
    return atm_call(world)


def spot_body(**fields: Any) -> dict[str, Any]:
    return {"marketId": SPOT, "side": "buy", "quantity": "0.1000", "price": "68000.00", **fields}


def option_body(option: MarketSpec, **fields: Any) -> dict[str, Any]:
    return {"marketId": option.id, "side": "buy", "quantity": "0.50", "price": "2150.00", **fields}


def place(
    client: ApiClient, account: NewAccount, body: dict[str, Any], path: str = "/orders"
) -> dict[str, Any]:
    response = client.post(path, json=body, token=account.session_token)
    assert response.status_code == 200, response.json()
    result: dict[str, Any] = response.json()
    return result


def spot(world: World, account: NewAccount) -> dict[str, tuple[Decimal, Decimal]]:
    """The account's spot bucket: asset → (available, locked)."""
    return {
        row.asset: (row.available, row.locked)
        for row in world.exchange.spot_assets(account.user_id)
    }


def perps_order_id(world: World, account: NewAccount) -> str:
    request = OrderRequest("BTC-PERP", Side.BUY, D("0.1"), price=D("67000.00"))
    return world.exchange.place_order(account.user_id, request).order.id


def ladder(*prices: str, **fields: Any) -> dict[str, Any]:
    return {
        "marketId": SPOT,
        "quotes": [{"side": "buy", "price": p, "quantity": "0.1000"} for p in prices],
        **fields,
    }


def has_rate_limit_headers(response: Response) -> bool:
    return all(name in response.headers for name in RATE_LIMIT_HEADERS)


# -- POST /orders: spot ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ORDER_PATHS)
def test_a_spot_bid_rests_and_locks_its_cost_plus_the_dearest_fee_in_usdc(
    client: ApiClient, world: World, trader: NewAccount, path: str
) -> None:
    response = client.post(path, json=spot_body(clientOrderId="c-1"), token=trader.session_token)

    assert response.status_code == 200
    body = response.json()
    assert body["marketId"] == SPOT
    assert (body["side"], body["type"], body["status"]) == ("buy", "limit", "open")
    assert (body["price"], body["quantity"]) == ("68000.00", "0.1000")
    assert (body["filledQuantity"], body["remainingQuantity"]) == ("0.0000", "0.1000")
    assert body["avgFillPrice"] is None
    assert body["clientOrderId"] == "c-1"
    assert (body["timeInForce"], body["postOnly"], body["reduceOnly"]) == ("gtc", False, False)
    assert body["marginMode"] == "cross"
    assert body["stopPrice"] is body["takeProfitPrice"] is body["stopLossPrice"] is None
    assert body["quoteId"] is None
    assert body["createdAt"] == body["updatedAt"] == "2026-01-02T00:00:00.000Z"
    assert body["fills"] == [] and body["position"] is None
    # 6800 × (1 + 5 bps, the dearest taker fee) = 6803.40 moves from available to locked.
    assert spot(world, trader)["USDC"] == (D("93196.60"), D("6803.40"))
    assert world.exchange.depth(SPOT).bids == [(D("68000.00"), D("0.1000"))]
    assert has_rate_limit_headers(response)


def test_a_spot_fill_moves_usdc_and_btc_between_the_spot_buckets_with_fees_in_usdc(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    credit_spot(world.exchange, other.user_id, "BTC", "0.5")
    bid = place(client, trader, spot_body())

    body = place(client, other, spot_body(side="sell"))

    assert (body["status"], body["filledQuantity"], body["remainingQuantity"]) == (
        "filled",
        "0.1000",
        "0.0000",
    )
    assert body["avgFillPrice"] == "68000.00"
    [fill] = body["fills"]
    assert (fill["price"], fill["quantity"], fill["feeRole"]) == ("68000.00", "0.1000", "taker")
    assert fill["fee"] == "3.40"  # 6800 × 5 bps
    assert body["position"] is None
    # The maker paid 6800 + 1.36 (2 bps) and got 0.1 BTC; its lock is released.
    assert spot(world, trader) == {
        "USDC": (D("93198.64"), D(0)),
        "BTC": (D("0.1"), D(0)),
    }
    # The taker got 6800 − 3.40 and gave 0.1 of its 0.5 BTC.
    assert spot(world, other) == {
        "USDC": (D("106796.60"), D(0)),
        "BTC": (D("0.4"), D(0)),
    }
    assert world.exchange.order(trader.user_id, bid["id"]).status.value == "filled"
    assert world.exchange.check_invariants() == []


def test_a_spot_market_order_sweeps_the_book_and_fills(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    credit_spot(world.exchange, other.user_id, "BTC", "0.5")
    place(client, other, spot_body(side="sell", price="68100.00", quantity="0.0500"))
    place(client, other, spot_body(side="sell", price="68200.00", quantity="0.0500"))

    body = place(client, trader, spot_body(type="market", price=None, quantity="0.1000"))

    assert (body["type"], body["status"], body["price"]) == ("market", "filled", None)
    assert [f["price"] for f in body["fills"]] == ["68100.00", "68200.00"]
    assert body["avgFillPrice"] == "68150.00"
    assert spot(world, trader)["BTC"] == (D("0.1"), D(0))


def test_selling_spot_without_the_inventory_is_400_insufficient_balance(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    response = client.post("/orders", json=spot_body(side="sell"), token=trader.session_token)

    assert_error(response, 400, "INSUFFICIENT_BALANCE")
    assert response.json()["details"]["asset"] == "BTC"
    assert world.exchange.orders(trader.user_id) == []


# -- POST /orders: options ------------------------------------------------------------------


@pytest.mark.parametrize("path", ORDER_PATHS)
def test_an_option_bid_rests_at_a_premium_on_the_cent_tick(
    client: ApiClient, world: World, trader: NewAccount, option: MarketSpec, path: str
) -> None:
    body = place(client, trader, option_body(option), path)

    assert body["marketId"] == option.id
    assert (body["price"], body["quantity"], body["status"]) == ("2150.00", "0.50", "open")
    assert body["fills"] == [] and body["position"] is None
    assert world.exchange.depth(option.id).bids == [(D("2150.00"), D("0.50"))]


def test_an_option_fill_moves_the_premium_and_fees_in_the_options_bucket(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount, option: MarketSpec
) -> None:
    place(client, other, option_body(option, side="sell"), "/options/orders")

    body = place(client, trader, option_body(option), "/options/orders")

    [fill] = body["fills"]
    assert (fill["price"], fill["quantity"], fill["feeRole"]) == ("2150.00", "0.50", "taker")
    # 3 bps of the underlying notional 0.5 × 68000, under the cap of 12.5 % of the premium.
    assert fill["fee"] == "10.20"
    position = body["position"]
    assert (position["side"], position["quantity"], position["entryPrice"]) == (
        "long",
        "0.50",
        "2150.00",
    )
    # Premium 0.5 × 2150 = 1075 from buyer to seller; the seller pays a 2 bps maker fee, 6.80.
    assert world.exchange.balances(trader.user_id).options == D("98914.80")
    assert world.exchange.balances(other.user_id).options == D("101068.20")
    assert world.exchange.balances(trader.user_id).spot == D(100_000)
    assert world.exchange.check_invariants() == []


def test_an_option_market_order_without_a_price_is_400_naming_price(
    client: ApiClient, trader: NewAccount, option: MarketSpec
) -> None:
    body = option_body(option, type="market", price=None)

    response = client.post("/options/orders", json=body, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", "price")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": "2150.005"}, "price"),
        ({"quantity": "0.005"}, "quantity"),
        ({"quantity": "0.001"}, "quantity"),
    ],
)
def test_option_prices_off_the_cent_tick_and_sizes_off_the_step_are_400(
    client: ApiClient, trader: NewAccount, option: MarketSpec, fields: dict[str, str], field: str
) -> None:
    response = client.post(
        "/options/orders", json=option_body(option, **fields), token=trader.session_token
    )

    assert_error(response, 400, "VALIDATION_ERROR", field)


def test_an_option_bid_beyond_the_options_bucket_is_422_insufficient_margin(
    client: ApiClient, trader: NewAccount, option: MarketSpec
) -> None:
    body = option_body(option, quantity="50.00")  # 107,500 of premium against 100,000

    response = client.post("/orders", json=body, token=trader.session_token)

    assert_error(response, 422, "INSUFFICIENT_MARGIN")
    assert set(response.json()["details"]) >= {"requiredIm", "availableIm"}


def test_an_order_on_an_expired_option_is_409_market_expired(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    expiring = world.exchange.catalog.options("BTC")[0]
    assert expiring.expiry_ms is not None
    world.exchange.advance_to(expiring.expiry_ms)
    body = option_body(expiring, price="1.00")

    response = client.post("/orders", json=body, token=trader.session_token)

    assert_error(response, 409, "MARKET_EXPIRED")


# -- POST /orders: refusals common to the order bodies --------------------------------------

MALFORMED_ORDERS = [
    pytest.param({"content": "{"}, "body", id="bad-json"),
    pytest.param({"json": [1, 2]}, "body", id="not-an-object"),
    pytest.param({"content": ""}, "body", id="empty"),
    pytest.param({"json": spot_body(marketId=None)}, "marketId", id="missing-market"),
    pytest.param({"json": spot_body(marketId=7)}, "marketId", id="market-not-string"),
    pytest.param({"json": spot_body(side=None)}, "side", id="missing-side"),
    pytest.param({"json": spot_body(side="hold")}, "side", id="unknown-side"),
    pytest.param({"json": spot_body(side=1)}, "side", id="side-not-string"),
    pytest.param({"json": spot_body(type="stop")}, "type", id="unknown-type"),
    pytest.param({"json": spot_body(timeInForce="day")}, "timeInForce", id="unknown-tif"),
    pytest.param({"json": spot_body(quantity=None)}, "quantity", id="missing-quantity"),
    pytest.param({"json": spot_body(quantity=0.1)}, "quantity", id="number-not-string"),
    pytest.param({"json": spot_body(quantity="1e3")}, "quantity", id="exponent"),
    pytest.param({"json": spot_body(price=".5")}, "price", id="no-leading-digit"),
    pytest.param({"json": spot_body(price="NaN")}, "price", id="nan"),
    pytest.param({"json": spot_body(quantity="-0.1000")}, "quantity", id="negative"),
    pytest.param({"json": spot_body(quantity="0")}, "quantity", id="zero"),
    pytest.param({"json": spot_body(price="68000.001")}, "price", id="price-off-tick"),
    pytest.param({"json": spot_body(quantity="0.00001")}, "quantity", id="size-off-step"),
    pytest.param({"json": spot_body(price=None)}, "price", id="limit-without-price"),
    pytest.param({"json": spot_body(postOnly="yes")}, "postOnly", id="boolean-not-bool"),
    pytest.param({"json": spot_body(clientOrderId="x" * 65)}, "clientOrderId", id="long-cid"),
    pytest.param({"json": spot_body(reduceOnly=True)}, "reduceOnly", id="reduce-only-spot"),
    pytest.param(
        {"json": spot_body(takeProfitPrice="70000.00")}, "takeProfitPrice", id="tp-on-spot"
    ),
    pytest.param({"json": spot_body(stopPrice="60000.001")}, "stopPrice", id="stop-off-tick"),
]


@pytest.mark.parametrize("path", ORDER_PATHS + PREVIEW_PATHS)
@pytest.mark.parametrize(("sent", "field"), MALFORMED_ORDERS)
def test_a_malformed_order_is_400_naming_the_field_and_creates_nothing(
    client: ApiClient,
    world: World,
    trader: NewAccount,
    path: str,
    sent: dict[str, Any],
    field: str,
) -> None:
    response = client.post(path, token=trader.session_token, **sent)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert world.exchange.orders(trader.user_id) == []


@pytest.mark.parametrize("path", ORDER_PATHS + PREVIEW_PATHS + QUOTE_PATHS + BULK_PATHS)
@pytest.mark.parametrize(
    "market_id", ["BTC-PERP", "BTC-USDC-2026-03-27", "XAUT-USDC-PERP", "NOPE-USDC-SPOT"]
)
def test_a_perp_future_or_unknown_market_on_the_clob_paths_is_404_unknown_market(
    client: ApiClient, trader: NewAccount, path: str, market_id: str
) -> None:
    body = {
        **spot_body(marketId=market_id),
        "bid": {"price": "68000.00", "quantity": "0.1000"},
        "quotes": [{"side": "buy", "price": "68000.00", "quantity": "0.1000"}],
    }
    key = trade_key(trader) if path in TRADE_KEY_PATHS else None
    token = None if key else trader.session_token

    response = client.post(path, json=body, token=token, key=key)

    assert_error(response, 404, "UNKNOWN_MARKET")


def test_a_reused_client_order_id_of_an_open_order_is_409_naming_that_order(
    client: ApiClient, trader: NewAccount
) -> None:
    first = place(client, trader, spot_body(clientOrderId="mine"))

    response = client.post(
        "/options/orders",
        json=spot_body(clientOrderId="mine", price="67000.00"),
        token=trader.session_token,
    )

    assert_error(response, 409, "DUPLICATE_CLIENT_ORDER_ID")
    assert response.json()["details"]["orderId"] == first["id"]


def test_a_client_order_id_stays_taken_24_hours_after_its_order_is_cancelled(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    first = place(client, trader, spot_body(clientOrderId="mine"))
    client.post(f"/orders/{first['id']}/cancel", token=trader.session_token)

    again = client.post("/orders", json=spot_body(clientOrderId="mine"), token=trader.session_token)
    assert_error(again, 409, "DUPLICATE_CLIENT_ORDER_ID")
    assert again.json()["details"]["orderId"] == first["id"]

    world.exchange.advance_by(24 * 3_600_000)
    second = place(client, trader, spot_body(clientOrderId="mine"))
    assert second["id"] != first["id"]


def test_an_order_on_a_halted_market_is_409_market_halted(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    world.exchange.sim.halt(SPOT)

    assert_error(
        client.post("/orders", json=spot_body(), token=trader.session_token), 409, "MARKET_HALTED"
    )


def test_a_post_only_bid_that_would_take_is_422_post_only_would_take(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    credit_spot(world.exchange, other.user_id, "BTC", "0.1")
    place(client, other, spot_body(side="sell"))

    response = client.post("/orders", json=spot_body(postOnly=True), token=trader.session_token)

    assert_error(response, 422, "POST_ONLY_WOULD_TAKE")
    assert world.exchange.orders(trader.user_id) == []


def test_a_spot_limit_price_outside_the_band_is_422_price_out_of_band(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.post("/orders", json=spot_body(price="75000.00"), token=trader.session_token)

    assert_error(response, 422, "PRICE_OUT_OF_BAND", "price")
    assert response.json()["details"]["priceBandHigh"] == "74800.00"


def test_a_market_order_on_an_empty_book_is_422_no_liquidity(
    client: ApiClient, trader: NewAccount
) -> None:
    body = spot_body(type="market", price=None)

    assert_error(client.post("/orders", json=body, token=trader.session_token), 422, "NO_LIQUIDITY")


def test_an_order_without_an_index_is_503_upstream_degraded(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    world.exchange.sim.set_index(SPOT, None)

    response = client.post("/orders", json=spot_body(), token=trader.session_token)

    assert_error(response, 503, "UPSTREAM_DEGRADED")


# -- credentials ----------------------------------------------------------------------------


def _path(path: str) -> str:
    return path.replace("{id}", UNKNOWN_ID)


@pytest.mark.parametrize("path", EVERY_PATH)
def test_every_clob_endpoint_without_credentials_is_401(client: ApiClient, path: str) -> None:
    response = client.post(_path(path), json=spot_body())

    assert_error(response, 401, "UNAUTHENTICATED")
    assert not has_rate_limit_headers(response)


@pytest.mark.parametrize("path", SESSION_ONLY)
@pytest.mark.parametrize("scope", ["trade", "read"])
def test_an_api_key_on_a_session_only_clob_path_is_403_api_key_not_accepted(
    client: ApiClient, trader: NewAccount, path: str, scope: str
) -> None:
    key = trade_key(trader) if scope == "trade" else read_key(trader)

    response = client.post(_path(path), json=spot_body(), key=key)

    assert_error(response, 403, "API_KEY_NOT_ACCEPTED")


@pytest.mark.parametrize("path", TRADE_KEY_PATHS)
def test_a_read_key_on_a_trade_key_clob_path_is_403_insufficient_scope(
    client: ApiClient, world: World, trader: NewAccount, path: str
) -> None:
    response = client.post(path, json=spot_body(), key=read_key(trader))

    assert_error(response, 403, "INSUFFICIENT_SCOPE")
    assert world.exchange.orders(trader.user_id) == []


# -- rate limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ORDER_PATH)
def test_every_order_path_answer_carries_the_rate_limit_headers_even_a_refusal(
    client: ApiClient, world: World, trader: NewAccount, path: str
) -> None:
    response = client.post(_path(path), content="{", token=trader.session_token)

    assert response.status_code in (400, 404)
    assert response.headers["x-ratelimit-limit"] == "120"
    assert response.headers["x-ratelimit-remaining"] == "119"
    assert response.headers["x-ratelimit-reset"] == str((world.now_ms + 60_000) // 1000)


@pytest.mark.parametrize("path", PREVIEW_PATHS)
def test_a_preview_is_not_on_the_order_path(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    preview = client.post(path, json=spot_body(), token=trader.session_token)
    order = client.post("/orders", json=spot_body(), token=trader.session_token)

    assert preview.status_code == 200
    assert not has_rate_limit_headers(preview)
    assert order.headers["x-ratelimit-remaining"] == "119"


def test_the_clob_order_path_counts_one_user_across_session_and_key_and_a_bulk_call_once(
    client: ApiClient, trader: NewAccount
) -> None:
    ladder = {
        "marketId": SPOT,
        "quotes": [
            {"side": "buy", "price": "67000.00", "quantity": "0.1000"},
            {"side": "buy", "price": "66900.00", "quantity": "0.1000"},
        ],
    }
    first = client.post("/orders", json=spot_body(), token=trader.session_token)
    bulk = client.post("/quotes/bulk", json=ladder, key=trade_key(trader))
    cancel_all = client.post("/options/orders/cancel-all", key=trade_key(trader))

    assert [r.status_code for r in (first, bulk, cancel_all)] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in (first, bulk, cancel_all)] == [
        "119",
        "118",
        "117",
    ]


# -- POST /orders/preview -------------------------------------------------------------------


@pytest.mark.parametrize("path", PREVIEW_PATHS)
def test_a_spot_preview_prices_the_order_and_changes_nothing(
    client: ApiClient, world: World, trader: NewAccount, path: str
) -> None:
    response = client.post(path, json=spot_body(), key=trade_key(trader))

    assert response.status_code == 200
    assert response.json() == {
        "notional": "6800.00",
        "marginRequired": "6803.40",
        "estFee": "1.36",
        "feeBps": "2",
        "feeRole": "maker",
        "user30dVolume": "0.00",
        "approved": True,
    }
    assert world.exchange.orders(trader.user_id) == []
    assert spot(world, trader)["USDC"] == (D(100_000), D(0))


def test_an_option_preview_holds_the_premium_and_a_fee_on_the_underlying_notional(
    client: ApiClient, trader: NewAccount, option: MarketSpec
) -> None:
    response = client.post(
        "/options/orders/preview", json=option_body(option), token=trader.session_token
    )

    assert response.json() == {
        "notional": "1075.00",
        "marginRequired": "1075.00",
        "estFee": "6.80",
        "feeBps": "2",
        "feeRole": "maker",
        "user30dVolume": "0.00",
        "approved": True,
    }


def test_a_preview_of_a_crossing_order_is_priced_as_a_taker(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    credit_spot(world.exchange, other.user_id, "BTC", "0.1")
    place(client, other, spot_body(side="sell"))

    body = client.post("/orders/preview", json=spot_body(), token=trader.session_token).json()

    assert (body["feeRole"], body["feeBps"], body["estFee"]) == ("taker", "5", "3.40")


def test_a_preview_of_a_refused_order_is_not_approved_and_gives_the_reason(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.post(
        "/orders/preview", json=spot_body(side="sell"), token=trader.session_token
    )

    assert response.status_code == 200
    body = response.json()
    assert body["approved"] is False
    assert body["reasonCode"] == "INSUFFICIENT_BALANCE"
    assert "BTC" in body["reason"]
    assert (body["notional"], body["marginRequired"]) == ("6800.00", "0.00")


# -- POST /orders/{id}/modify ---------------------------------------------------------------


@pytest.mark.parametrize("path", MODIFY_PATHS)
def test_modify_reprices_and_resizes_a_resting_spot_bid_and_its_lock(
    client: ApiClient, world: World, trader: NewAccount, path: str
) -> None:
    order = place(client, trader, spot_body())

    response = client.post(
        path.format(id=order["id"]),
        json={"price": "67900.00", "quantity": "0.2000"},
        token=trader.session_token,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == order["id"]
    assert (body["price"], body["quantity"], body["status"]) == ("67900.00", "0.2000", "open")
    assert body["fills"] == [] and body["position"] is None
    # 0.2 × 67900 × 1.0005 = 13586.79
    assert spot(world, trader)["USDC"] == (D("86413.21"), D("13586.79"))
    assert has_rate_limit_headers(response)


def test_modify_of_an_option_order_to_a_smaller_quantity_keeps_its_price(
    client: ApiClient, trader: NewAccount, option: MarketSpec
) -> None:
    order = place(client, trader, option_body(option), "/options/orders")

    body = client.post(
        f"/options/orders/{order['id']}/modify",
        json={"quantity": "0.25"},
        token=trader.session_token,
    ).json()

    assert (body["price"], body["quantity"], body["remainingQuantity"]) == (
        "2150.00",
        "0.25",
        "0.25",
    )


def test_modify_to_a_crossing_price_trades_at_once(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    credit_spot(world.exchange, other.user_id, "BTC", "0.1")
    place(client, other, spot_body(side="sell"))
    order = place(client, trader, spot_body(price="67900.00"))

    body = client.post(
        f"/orders/{order['id']}/modify", json={"price": "68000.00"}, token=trader.session_token
    ).json()

    assert body["status"] == "filled"
    assert [(f["price"], f["feeRole"]) for f in body["fills"]] == [("68000.00", "taker")]


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        pytest.param({"content": "{"}, "body", id="bad-json"),
        pytest.param({"json": {}}, "price", id="nothing-to-change"),
        pytest.param({"json": {"price": 68000}}, "price", id="number-not-string"),
        pytest.param({"json": {"price": "abc"}}, "price", id="not-a-decimal"),
        pytest.param({"json": {"price": "-68000.00"}}, "price", id="negative"),
        pytest.param({"json": {"price": "68000.001"}}, "price", id="price-off-tick"),
        pytest.param({"json": {"quantity": "0.00001"}}, "quantity", id="size-off-step"),
    ],
)
def test_a_malformed_modify_is_400_naming_the_field(
    client: ApiClient, trader: NewAccount, sent: dict[str, Any], field: str
) -> None:
    order = place(client, trader, spot_body())

    response = client.post(f"/orders/{order['id']}/modify", token=trader.session_token, **sent)

    assert_error(response, 400, "VALIDATION_ERROR", field)


@pytest.mark.parametrize("path", MODIFY_PATHS)
def test_a_modify_naming_nothing_to_change_is_400_before_the_order_is_looked_up(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    response = client.post(_path(path), json={}, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", "price")


# -- POST /orders/{id}/cancel ---------------------------------------------------------------


@pytest.mark.parametrize("path", CANCEL_PATHS)
def test_cancel_answers_the_cancelled_order_and_releases_its_lock(
    client: ApiClient, world: World, trader: NewAccount, path: str
) -> None:
    order = place(client, trader, spot_body())

    response = client.post(path.format(id=order["id"]), token=trader.session_token)

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["remainingQuantity"]) == (
        order["id"],
        "cancelled",
        "0.1000",
    )
    assert "fills" not in body
    assert spot(world, trader)["USDC"] == (D(100_000), D(0))
    assert world.exchange.depth(SPOT).bids == []
    assert has_rate_limit_headers(response)


def test_cancel_of_an_option_order_on_the_alias(
    client: ApiClient, trader: NewAccount, option: MarketSpec
) -> None:
    order = place(client, trader, option_body(option))

    body = client.post(f"/options/orders/{order['id']}/cancel", token=trader.session_token).json()

    assert (body["marketId"], body["status"]) == (option.id, "cancelled")


@pytest.mark.parametrize("path", CANCEL_PATHS + MODIFY_PATHS)
@pytest.mark.parametrize("whose", ["unknown", "another-users", "perps"])
def test_cancel_or_modify_of_an_unknown_foreign_or_perps_order_is_404_order_not_found(
    client: ApiClient,
    world: World,
    trader: NewAccount,
    other: NewAccount,
    path: str,
    whose: str,
) -> None:
    if whose == "unknown":
        order_id = UNKNOWN_ID
    elif whose == "another-users":
        order_id = place(client, other, spot_body())["id"]
    else:
        order_id = perps_order_id(world, trader)

    response = client.post(
        path.format(id=order_id), json={"price": "67000.00"}, token=trader.session_token
    )

    assert_error(response, 404, "ORDER_NOT_FOUND")
    assert all(o.is_open for o in world.exchange.open_orders(other.user_id))
    assert all(o.is_open for o in world.exchange.open_orders(trader.user_id))


@pytest.mark.parametrize("path", CANCEL_PATHS + MODIFY_PATHS)
def test_cancel_or_modify_of_a_cancelled_order_is_409_order_not_open(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    order = place(client, trader, spot_body())
    client.post(f"/orders/{order['id']}/cancel", token=trader.session_token)

    response = client.post(
        path.format(id=order["id"]), json={"price": "67000.00"}, token=trader.session_token
    )

    assert_error(response, 409, "ORDER_NOT_OPEN")
    assert response.json()["details"] == {"orderId": order["id"], "status": "cancelled"}


# -- POST /orders/cancel-all ----------------------------------------------------------------


@pytest.mark.parametrize("path", CANCEL_ALL_PATHS)
def test_cancel_all_without_a_body_cancels_spot_and_option_orders_but_not_perps(
    client: ApiClient, world: World, trader: NewAccount, option: MarketSpec, path: str
) -> None:
    spot_order = place(client, trader, spot_body())
    option_order = place(client, trader, option_body(option))
    perps_id = perps_order_id(world, trader)

    response = client.post(path, key=trade_key(trader))

    assert response.status_code == 200
    assert response.json() == {"cancelled": [spot_order["id"], option_order["id"]], "count": 2}
    assert [o.id for o in world.exchange.open_orders(trader.user_id)] == [perps_id]
    assert has_rate_limit_headers(response)


def test_cancel_all_cancels_only_the_orders_matching_its_scope(
    client: ApiClient, world: World, trader: NewAccount, option: MarketSpec
) -> None:
    by_cid = place(client, trader, spot_body(clientOrderId="c-1"))
    quoted = client.post(
        "/quotes/bulk",
        json=ladder("67000.00", quoteId="q-1"),
        key=trade_key(trader),
    ).json()["orders"][0]
    on_option = place(client, trader, option_body(option))

    by_client_order_id = client.post(
        "/orders/cancel-all", json={"clientOrderId": "c-1"}, token=trader.session_token
    ).json()
    by_quote_id = client.post(
        "/options/orders/cancel-all", json={"quoteId": "q-1"}, token=trader.session_token
    ).json()
    by_market = client.post(
        "/orders/cancel-all", json={"marketId": option.id}, token=trader.session_token
    ).json()

    assert by_client_order_id == {"cancelled": [by_cid["id"]], "count": 1}
    assert by_quote_id == {"cancelled": [quoted["id"]], "count": 1}
    assert by_market == {"cancelled": [on_option["id"]], "count": 1}
    assert world.exchange.open_orders(trader.user_id) == []


def test_cancel_all_with_a_market_leaves_the_other_markets_alone(
    client: ApiClient, world: World, trader: NewAccount, option: MarketSpec
) -> None:
    on_spot = place(client, trader, spot_body())
    on_option = place(client, trader, option_body(option))

    body = client.post("/orders/cancel-all", json={"marketId": SPOT}, key=trade_key(trader)).json()

    assert body == {"cancelled": [on_spot["id"]], "count": 1}
    assert [o.id for o in world.exchange.open_orders(trader.user_id)] == [on_option["id"]]


@pytest.mark.parametrize(
    ("sent", "status", "code", "field"),
    [
        pytest.param({"content": "{"}, 400, "VALIDATION_ERROR", "body", id="bad-json"),
        pytest.param({"json": [1]}, 400, "VALIDATION_ERROR", "body", id="not-an-object"),
        pytest.param({"json": {"marketId": 5}}, 400, "VALIDATION_ERROR", "marketId", id="type"),
        pytest.param({"json": {"quoteId": ["q"]}}, 400, "VALIDATION_ERROR", "quoteId", id="list"),
        pytest.param(
            {"json": {"clientOrderId": ""}}, 400, "VALIDATION_ERROR", "clientOrderId", id="empty"
        ),
        pytest.param({"json": {"marketId": "BTC-PERP"}}, 404, "UNKNOWN_MARKET", None, id="perp"),
        pytest.param({"json": {"marketId": "NOPE"}}, 404, "UNKNOWN_MARKET", None, id="unknown"),
    ],
)
def test_a_bad_cancel_all_is_refused_and_cancels_nothing(
    client: ApiClient,
    world: World,
    trader: NewAccount,
    sent: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    place(client, trader, spot_body())

    response = client.post("/orders/cancel-all", key=trade_key(trader), **sent)

    assert_error(response, status, code, field)
    assert len(world.exchange.open_orders(trader.user_id)) == 1


# -- POST /quotes ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", QUOTE_PATHS)
def test_a_two_sided_quote_places_a_post_only_bid_and_ask_tagged_with_its_quote_id(
    client: ApiClient, world: World, trader: NewAccount, path: str
) -> None:
    credit_spot(world.exchange, trader.user_id, "BTC", "0.1")
    body = {
        "marketId": SPOT,
        "quoteId": "mm-1",
        "bid": {"price": "67900.00", "quantity": "0.1000"},
        "ask": {"price": "68100.00", "quantity": "0.1000", "clientOrderId": "ask-1"},
    }

    response = client.post(path, json=body, token=trader.session_token)

    assert response.status_code == 200
    result = response.json()
    assert (result["quoteId"], result["cancelled"]) == ("mm-1", [])
    bid, ask = result["orders"]
    assert (bid["side"], bid["price"], bid["quantity"]) == ("buy", "67900.00", "0.1000")
    assert (ask["side"], ask["price"], ask["clientOrderId"]) == ("sell", "68100.00", "ask-1")
    assert all(o["postOnly"] and o["quoteId"] == "mm-1" for o in result["orders"])
    assert spot(world, trader)["BTC"] == (D(0), D("0.1"))
    assert has_rate_limit_headers(response)


def test_a_one_sided_option_quote_gets_a_generated_quote_id(
    client: ApiClient, trader: NewAccount, option: MarketSpec
) -> None:
    body = {"marketId": option.id, "bid": {"price": "2100.00", "quantity": "1.00"}}

    result = client.post("/options/quotes", json=body, token=trader.session_token).json()

    assert len(result["quoteId"]) == 26
    [order] = result["orders"]
    assert (order["marketId"], order["price"], order["quantity"]) == (option.id, "2100.00", "1.00")
    assert order["quoteId"] == result["quoteId"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"bid": {"price": "1.00", "quantity": "0.1000"}}, "marketId", id="market"),
        pytest.param({"marketId": SPOT}, "bid", id="neither-side"),
        pytest.param({"marketId": SPOT, "bid": "67900"}, "bid", id="bid-not-object"),
        pytest.param({"marketId": SPOT, "ask": [1]}, "ask", id="ask-not-object"),
        pytest.param(
            {"marketId": SPOT, "bid": {"quantity": "0.1000"}}, "bid.price", id="missing-price"
        ),
        pytest.param(
            {"marketId": SPOT, "bid": {"price": "67900.001", "quantity": "0.1000"}},
            "bid.price",
            id="price-off-tick",
        ),
        pytest.param(
            {"marketId": SPOT, "ask": {"price": "68100.00", "quantity": "-1"}},
            "ask.quantity",
            id="negative",
        ),
        pytest.param(
            {"marketId": SPOT, "ask": {"price": "68100.00", "quantity": "0.00001"}},
            "ask.quantity",
            id="size-off-step",
        ),
        pytest.param(
            {"marketId": SPOT, "bid": {"price": "67900.00", "quantity": 1}},
            "bid.quantity",
            id="number-not-string",
        ),
        pytest.param(
            {"marketId": SPOT, "bid": {"price": "6.79e4", "quantity": "0.1000"}},
            "bid.price",
            id="exponent",
        ),
        pytest.param(
            {"marketId": SPOT, "bid": {"price": "67900.00", "quantity": "0.1", "timeInForce": "x"}},
            "bid.timeInForce",
            id="unknown-enum",
        ),
    ],
)
def test_a_malformed_quote_is_400_naming_the_field_as_sent(
    client: ApiClient, world: World, trader: NewAccount, body: dict[str, Any], field: str
) -> None:
    response = client.post("/quotes", json=body, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert field in response.json()["message"]
    assert world.exchange.orders(trader.user_id) == []


@pytest.mark.parametrize("path", QUOTE_PATHS + BULK_PATHS)
def test_a_malformed_quote_on_an_unknown_market_is_400_before_the_market_is_looked_up(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    body = {
        "marketId": "NOPE",
        "bid": {"price": "abc", "quantity": "0.1000"},
        "quotes": [{"side": "buy", "price": "abc", "quantity": "0.1000"}],
    }

    response = client.post(
        path,
        json=body,
        key=trade_key(trader) if "bulk" in path else None,
        token=None if "bulk" in path else trader.session_token,
    )

    assert_error(response, 400, "VALIDATION_ERROR")
    assert response.json()["details"]["field"] in ("bid.price", "quotes[0].price")


def test_a_quote_whose_bid_meets_its_ask_is_422_self_trade_naming_the_ask(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    credit_spot(world.exchange, trader.user_id, "BTC", "0.1")
    body = {
        "marketId": SPOT,
        "bid": {"price": "68000.00", "quantity": "0.1000"},
        "ask": {"price": "68000.00", "quantity": "0.1000"},
    }

    response = client.post("/quotes", json=body, token=trader.session_token)

    assert_error(response, 422, "SELF_TRADE", "ask")
    assert world.exchange.orders(trader.user_id) == []


def test_a_quote_that_would_take_is_422_post_only_would_take(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    credit_spot(world.exchange, other.user_id, "BTC", "0.1")
    place(client, other, spot_body(side="sell"))
    body = {"marketId": SPOT, "bid": {"price": "68000.00", "quantity": "0.1000"}}

    response = client.post("/options/quotes", json=body, token=trader.session_token)

    assert_error(response, 422, "POST_ONLY_WOULD_TAKE", "bid")


def test_a_quote_asking_without_inventory_is_400_insufficient_balance(
    client: ApiClient, trader: NewAccount
) -> None:
    body = {"marketId": SPOT, "ask": {"price": "68100.00", "quantity": "0.1000"}}

    response = client.post("/quotes", json=body, token=trader.session_token)

    assert_error(response, 400, "INSUFFICIENT_BALANCE")


def test_a_quote_reusing_an_open_client_order_id_is_409(
    client: ApiClient, trader: NewAccount
) -> None:
    place(client, trader, spot_body(price="67000.00", clientOrderId="dup"))
    body = {
        "marketId": SPOT,
        "bid": {"price": "67900.00", "quantity": "0.1000", "clientOrderId": "dup"},
    }

    response = client.post("/quotes", json=body, token=trader.session_token)

    assert_error(response, 409, "DUPLICATE_CLIENT_ORDER_ID")


# -- POST /quotes/bulk ----------------------------------------------------------------------


@pytest.mark.parametrize("path", BULK_PATHS)
def test_a_bulk_ladder_with_cancel_all_replaces_the_callers_orders_on_the_market(
    client: ApiClient, world: World, trader: NewAccount, option: MarketSpec, path: str
) -> None:
    first = client.post(path, json=ladder("67900.00", "67800.00"), key=trade_key(trader))
    option_order = place(client, trader, option_body(option))

    response = client.post(
        path,
        json=ladder("67950.00", quoteId="cycle-2", cancelAll=True),
        key=trade_key(trader),
    )

    assert first.status_code == response.status_code == 200
    old = [o["id"] for o in first.json()["orders"]]
    result = response.json()
    assert (result["quoteId"], result["cancelled"]) == ("cycle-2", old)
    [new] = result["orders"]
    assert (new["price"], new["quoteId"], new["postOnly"], new["status"]) == (
        "67950.00",
        "cycle-2",
        False,
        "open",
    )
    assert world.exchange.depth(SPOT).bids == [(D("67950.00"), D("0.1000"))]
    open_ids = {o.id for o in world.exchange.open_orders(trader.user_id)}
    assert open_ids == {new["id"], option_order["id"]}
    assert has_rate_limit_headers(response)


def test_a_bulk_ladder_on_an_option_market_by_session(
    client: ApiClient, trader: NewAccount, option: MarketSpec
) -> None:
    body = {
        "marketId": option.id,
        "quotes": [
            {"side": "buy", "price": "2100.00", "quantity": "0.50"},
            {"side": "buy", "price": "2090.00", "quantity": "0.50", "postOnly": True},
        ],
    }

    result = client.post("/options/quotes/bulk", json=body, token=trader.session_token).json()

    assert [(o["price"], o["quantity"], o["postOnly"]) for o in result["orders"]] == [
        ("2100.00", "0.50", False),
        ("2090.00", "0.50", True),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"quotes": []}, "marketId", id="missing-market"),
        pytest.param({"marketId": SPOT}, "quotes", id="missing-quotes"),
        pytest.param({"marketId": SPOT, "quotes": {"side": "buy"}}, "quotes", id="not-a-list"),
        pytest.param({"marketId": SPOT, "quotes": ["x"]}, "quotes[0]", id="item-not-object"),
        pytest.param(ladder("67900.00", cancelAll="yes"), "cancelAll", id="bool-not-bool"),
        pytest.param(ladder("67900.00", quoteId=7), "quoteId", id="quote-id-not-string"),
        pytest.param(ladder("67900.00", "67800.001"), "quotes[1].price", id="price-off-tick"),
        pytest.param(ladder("67900.00", "abc"), "quotes[1].price", id="not-a-decimal"),
        pytest.param(ladder("67900.00", "-1.00"), "quotes[1].price", id="negative"),
        pytest.param(
            {"marketId": SPOT, "quotes": [{"side": "hold", "price": "1.00", "quantity": "1"}]},
            "quotes[0].side",
            id="unknown-side",
        ),
        pytest.param(
            {"marketId": SPOT, "quotes": [{"side": "buy", "price": "1.00", "quantity": "1e-4"}]},
            "quotes[0].quantity",
            id="exponent",
        ),
        pytest.param(
            {"marketId": SPOT, "quotes": [{"side": "buy", "price": "1.00", "quantity": "0.00001"}]},
            "quotes[0].quantity",
            id="size-off-step",
        ),
        pytest.param(
            ladder(*[f"{67000 - i}.00" for i in range(51)]), "quotes", id="more-than-fifty"
        ),
    ],
)
def test_a_malformed_bulk_ladder_is_400_naming_the_field_and_places_nothing(
    client: ApiClient, world: World, trader: NewAccount, body: dict[str, Any], field: str
) -> None:
    response = client.post("/quotes/bulk", json=body, key=trade_key(trader))

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert world.exchange.orders(trader.user_id) == []


def test_a_bulk_ladder_with_one_bad_quote_changes_nothing_even_with_cancel_all(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    resting = place(client, trader, spot_body(price="67000.00"))

    response = client.post(
        "/quotes/bulk",
        json=ladder("67900.00", "75000.00", cancelAll=True),
        key=trade_key(trader),
    )

    assert_error(response, 422, "PRICE_OUT_OF_BAND", "quotes[1].price")
    assert [o.id for o in world.exchange.open_orders(trader.user_id)] == [resting["id"]]


def test_a_bulk_ladder_crossing_itself_is_422_self_trade_naming_the_quote(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    credit_spot(world.exchange, trader.user_id, "BTC", "0.1")
    body = ladder("67900.00")
    body["quotes"].append({"side": "sell", "price": "67900.00", "quantity": "0.1000"})

    response = client.post("/quotes/bulk", json=body, key=trade_key(trader))

    assert_error(response, 422, "SELF_TRADE", "quotes[1]")


def test_a_bulk_ladder_repeating_a_client_order_id_is_409(
    client: ApiClient, trader: NewAccount
) -> None:
    body = ladder("67900.00", "67800.00")
    for quote in body["quotes"]:
        quote["clientOrderId"] = "same"

    response = client.post("/quotes/bulk", json=body, key=trade_key(trader))

    assert_error(response, 409, "DUPLICATE_CLIENT_ORDER_ID", "quotes[1].clientOrderId")


def test_a_bulk_ask_ladder_without_inventory_is_400_insufficient_balance(
    client: ApiClient, trader: NewAccount
) -> None:
    body = {
        "marketId": SPOT,
        "quotes": [{"side": "sell", "price": "68100.00", "quantity": "0.1000"}],
    }

    response = client.post("/options/quotes/bulk", json=body, key=trade_key(trader))

    assert_error(response, 400, "INSUFFICIENT_BALANCE")
