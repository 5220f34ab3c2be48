"""Multi-leg option strategies: `POST /orders/strategy` and its preview, with their `/options/…`
aliases (https://docs.ocx.global/api-reference/rest; docs/fidelity.md "Strategies")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.auth.keys import Scope
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.markets import MarketSpec, OptionType
from ocx_sim.worlds import KeyRequest, NewAccount, World
from tests.api.conftest import ApiClient, assert_error, trade_key

PLACE_PATHS = ("/orders/strategy", "/options/orders/strategy")
TRADE = KeyRequest("bot", Scope.TRADE)
PREVIEW_PATHS = ("/orders/strategy/preview", "/options/orders/strategy/preview")


def call_at(world: World, strike: int) -> MarketSpec:
    """The BTC call of `strike` on the first expiry at least three days away."""
    now = world.exchange.now_ms
    return next(
        spec
        for spec in world.exchange.catalog.options("BTC")
        if spec.strike == strike
        and spec.option_type is OptionType.CALL
        and (spec.expiry_ms or 0) > now + 3 * 86_400_000
    )


@pytest.fixture
def low(world: World) -> MarketSpec:
    return call_at(world, 68_000)


@pytest.fixture
def high(world: World) -> MarketSpec:
    return call_at(world, 72_000)


def rest(client: ApiClient, account: NewAccount, market: MarketSpec, side: str, price: str) -> str:
    body = {"marketId": market.id, "side": side, "quantity": "5.00", "price": price}
    response = client.post("/orders", json=body, token=account.session_token)
    assert response.status_code == 200, response.json()
    order_id: str = response.json()["id"]
    return order_id


def leg(market: MarketSpec, side: str, price: str, quantity: str = "5.00") -> dict[str, Any]:
    return {"market": market.id, "side": side, "quantity": quantity, "price": price}


def call_spread(low: MarketSpec, high: MarketSpec) -> dict[str, Any]:
    """Buy the 68 000 call, sell the 72 000 call, five of each."""
    return {
        "strategyName": "call-spread",
        "legs": [leg(low, "buy", "2500.00"), leg(high, "sell", "1000.00")],
    }


@pytest.fixture
def book(client: ApiClient, other: NewAccount, low: MarketSpec, high: MarketSpec) -> list[str]:
    """`other` offers the 68 000 call at 2400 and bids for the 72 000 call at 1100."""
    return [
        rest(client, other, low, "sell", "2400.00"),
        rest(client, other, high, "buy", "1100.00"),
    ]


@pytest.mark.usefixtures("book")
@pytest.mark.parametrize("path", PLACE_PATHS)
def test_an_all_or_none_call_spread_fills_every_leg_at_its_limit_or_better(
    client: ApiClient, trader: NewAccount, low: MarketSpec, high: MarketSpec, path: str
) -> None:
    response = client.post(path, json=call_spread(low, high), token=trader.session_token)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["fullyFilled"] is True
    assert len(body["strategyId"]) == 26
    assert [[(f["price"], f["quantity"]) for f in leg["fills"]] for leg in body["legs"]] == [
        [("2400.00", "5.00")],
        [("1100.00", "5.00")],
    ]
    orders = {o["id"]: o for o in client.get("/orders/me", token=trader.session_token).json()}
    placed = [orders[leg["orderId"]] for leg in body["legs"]]
    assert [(o["marketId"], o["side"], o["timeInForce"], o["status"]) for o in placed] == [
        (low.id, "buy", "fok", "filled"),
        (high.id, "sell", "fok", "filled"),
    ]
    positions = client.get("/positions/me", token=trader.session_token).json()
    assert sorted((p["marketId"], p["side"], p["quantity"]) for p in positions) == sorted(
        [(low.id, "long", "5.00"), (high.id, "short", "5.00")]
    )


@pytest.mark.parametrize("path", PLACE_PATHS)
def test_an_all_or_none_strategy_that_cannot_fill_every_leg_is_422_and_leaves_no_trace(
    client: ApiClient,
    world: World,
    trader: NewAccount,
    other: NewAccount,
    low: MarketSpec,
    high: MarketSpec,
    path: str,
) -> None:
    # The 68 000 call is on offer, but nobody bids for the 72 000 call at 1000 or more.
    resting = rest(client, other, low, "sell", "2400.00")
    rest(client, other, high, "buy", "900.00")
    token = trader.session_token
    before = {
        "digest": world.exchange.digest(),
        "books": [client.get(f"/orderbook/{m.id}").json() for m in (low, high)],
        "balances": client.get("/wallet/balances", token=token).json(),
        "ledger": client.get("/wallet/ledger", token=token).json(),
    }

    response = client.post(path, json=call_spread(low, high), token=token)

    assert_error(response, 422, "STRATEGY_NOT_FILLED")
    assert world.exchange.digest() == before["digest"]
    assert [client.get(f"/orderbook/{m.id}").json() for m in (low, high)] == before["books"]
    assert client.get("/wallet/balances", token=token).json() == before["balances"]
    assert client.get("/wallet/ledger", token=token).json() == before["ledger"]
    assert client.get("/orders/me", token=token).json() == []
    assert client.get("/positions/me", token=token).json() == []
    theirs = client.get("/orders/me", token=other.session_token).json()
    assert next(o for o in theirs if o["id"] == resting)["status"] == "open"


def test_without_all_or_none_the_legs_run_as_ioc_and_report_what_filled(
    client: ApiClient, trader: NewAccount, other: NewAccount, low: MarketSpec, high: MarketSpec
) -> None:
    rest(client, other, low, "sell", "2400.00")
    body = {**call_spread(low, high), "allOrNone": False}

    response = client.post("/orders/strategy", json=body, token=trader.session_token)

    assert response.status_code == 200, response.json()
    result = response.json()
    assert result["fullyFilled"] is False
    assert [len(leg["fills"]) for leg in result["legs"]] == [1, 0]
    orders = {o["id"]: o for o in client.get("/orders/me", token=trader.session_token).json()}
    assert [
        (orders[leg["orderId"]]["timeInForce"], orders[leg["orderId"]]["status"])
        for leg in result["legs"]
    ] == [("ioc", "filled"), ("ioc", "expired")]


@pytest.mark.usefixtures("book")
def test_a_strategy_is_one_request_on_the_order_path_whatever_its_legs(
    client: ApiClient, trader: NewAccount, low: MarketSpec, high: MarketSpec
) -> None:
    token = trader.session_token
    first = client.post("/orders/strategy", json=call_spread(low, high), token=token)
    refused = client.post("/orders/strategy", json={"legs": []}, token=token)
    preview = client.post(
        "/orders/strategy/preview", json=call_spread(low, high), key=trade_key(trader)
    )

    assert first.headers["x-ratelimit-remaining"] == "119"
    assert_error(refused, 400, "VALIDATION_ERROR", "legs")
    assert refused.headers["x-ratelimit-remaining"] == "118"
    assert "x-ratelimit-remaining" not in preview.headers


@pytest.mark.usefixtures("book")
@pytest.mark.parametrize("path", PREVIEW_PATHS)
def test_a_preview_prices_every_leg_as_a_taker_and_changes_nothing(
    client: ApiClient,
    world: World,
    trader: NewAccount,
    low: MarketSpec,
    high: MarketSpec,
    path: str,
) -> None:
    digest = world.exchange.digest()

    body = client.post(path, json=call_spread(low, high), key=trade_key(trader)).json()

    assert world.exchange.digest() == digest
    assert body["approved"] is True
    assert body["fullyFilled"] is True
    assert [(x["market"], x["side"], x["quantity"], x["price"]) for x in body["legs"]] == [
        (low.id, "buy", "5.00", "2500.00"),
        (high.id, "sell", "5.00", "1000.00"),
    ]
    assert {(x["feeRole"], x["feeBps"]) for x in body["legs"]} == {("taker", "3")}
    # 3 bps of 5 × 68 000 = 102 each, under the cap of 12.5 % of the premium paid.
    assert [x["estFee"] for x in body["legs"]] == ["102.00", "102.00"]
    assert body["estFee"] == "204.00"
    assert Decimal(body["marginRequired"]) > 0
    assert "reason" not in body


def test_a_preview_of_a_strategy_that_cannot_fill_says_what_the_call_would_answer(
    client: ApiClient, trader: NewAccount, low: MarketSpec, high: MarketSpec
) -> None:
    body = client.post(
        "/orders/strategy/preview", json=call_spread(low, high), key=trade_key(trader)
    ).json()

    assert body["approved"] is False
    assert body["fullyFilled"] is False
    assert body["reasonCode"] == "STRATEGY_NOT_FILLED"
    lenient = {**call_spread(low, high), "allOrNone": False}
    body = client.post("/orders/strategy/preview", json=lenient, key=trade_key(trader)).json()
    assert (body["approved"], body["fullyFilled"]) == (True, False)


@pytest.mark.usefixtures("book")
def test_a_strategy_beyond_the_options_bucket_is_422_insufficient_margin(
    client: ApiClient, world: World, low: MarketSpec, high: MarketSpec
) -> None:
    poor = world.create_account(balances={Bucket.OPTIONS: Decimal(1_000)})

    response = client.post(
        "/orders/strategy", json=call_spread(low, high), token=poor.session_token
    )

    assert_error(response, 422, "INSUFFICIENT_MARGIN")
    assert client.get("/orders/me", token=poor.session_token).json() == []


@pytest.mark.usefixtures("book")
def test_all_or_none_margins_a_spread_as_a_spread_and_ioc_legs_each_on_their_own(
    client: ApiClient, world: World, low: MarketSpec, high: MarketSpec
) -> None:
    # The spread's net debit at its limits is 5 × (2500 − 1000) = 7500, its taker fees about
    # 204; the long leg alone costs 12 500 and the short alone holds its scenario margin.
    spread = world.create_account(balances={Bucket.OPTIONS: Decimal(9_000)})
    legs = world.create_account(balances={Bucket.OPTIONS: Decimal(9_000)})

    as_a_spread = client.post(
        "/orders/strategy", json=call_spread(low, high), token=spread.session_token
    )
    leg_by_leg = client.post(
        "/orders/strategy",
        json={**call_spread(low, high), "allOrNone": False},
        token=legs.session_token,
    )

    assert as_a_spread.status_code == 200, as_a_spread.json()
    assert as_a_spread.json()["fullyFilled"] is True
    assert_error(leg_by_leg, 422, "INSUFFICIENT_MARGIN")
    preview = client.post(
        "/orders/strategy/preview", json=call_spread(low, high), key=trade_key(trader_of(world))
    ).json()
    assert Decimal(preview["marginRequired"]) <= Decimal(7_500)


def trader_of(world: World) -> NewAccount:
    return world.create_account(balances={Bucket.OPTIONS: Decimal(100_000)}, api_keys=[TRADE])


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("legs"), "legs"),
        (lambda b: b.update(legs="all of them"), "legs"),
        (lambda b: b.update(legs=b["legs"][:1]), "legs"),
        (lambda b: b.update(legs=b["legs"] * 5), "legs"),
        (lambda b: b["legs"].__setitem__(1, "leg"), "legs[1]"),
        (lambda b: b["legs"][0].pop("price"), "legs[0].price"),
        (lambda b: b["legs"][0].pop("market"), "legs[0].market"),
        (lambda b: b["legs"][1].update(side="hold"), "legs[1].side"),
        (lambda b: b["legs"][1].update(quantity="0"), "legs[1].quantity"),
        (lambda b: b["legs"][1].update(quantity="-5"), "legs[1].quantity"),
        (lambda b: b["legs"][0].update(price="2500.001"), "legs[0].price"),
        (lambda b: b["legs"][0].update(quantity="0.001"), "legs[0].quantity"),
        (lambda b: b["legs"][1].update(market=b["legs"][0]["market"]), "legs[1].market"),
        (lambda b: b["legs"][1].update(market="BTC-USDC-SPOT"), "legs[1].market"),
        (lambda b: b.update(allOrNone="yes"), "allOrNone"),
    ],
    ids=[
        "no legs",
        "legs not a list",
        "one leg",
        "ten legs",
        "a leg not an object",
        "no price",
        "no market",
        "bad side",
        "zero quantity",
        "negative quantity",
        "price off the tick",
        "quantity off the step",
        "a market twice",
        "a spot leg",
        "allOrNone not a boolean",
    ],
)
def test_a_malformed_strategy_is_400_naming_the_field_and_places_nothing(
    client: ApiClient,
    trader: NewAccount,
    low: MarketSpec,
    high: MarketSpec,
    mutate: Any,
    field: str,
) -> None:
    body = call_spread(low, high)
    mutate(body)

    response = client.post("/orders/strategy", json=body, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert client.get("/orders/me", token=trader.session_token).json() == []


@pytest.mark.parametrize("market", ["BTC-2026-01-09-999000-C", "BTC-PERP"], ids=["unknown", "perp"])
def test_a_leg_on_an_unknown_or_linear_market_is_404_unknown_market(
    client: ApiClient, trader: NewAccount, low: MarketSpec, market: str
) -> None:
    body = {"legs": [leg(low, "buy", "2500.00"), {**leg(low, "sell", "1.00"), "market": market}]}

    response = client.post("/orders/strategy", json=body, token=trader.session_token)

    assert_error(response, 404, "UNKNOWN_MARKET")


@pytest.mark.parametrize("path", PLACE_PATHS + PREVIEW_PATHS)
def test_strategies_need_credentials(client: ApiClient, low: MarketSpec, path: str) -> None:
    response = client.post(path, json=call_spread(low, low))

    assert_error(response, 401, "UNAUTHENTICATED")
