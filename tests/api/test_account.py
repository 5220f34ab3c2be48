"""Account reads (https://docs.ocx.global/api-reference/rest; docs/fidelity.md "Account
reads"): orders, positions, fills, margin and the portfolio, per venue, for the caller only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.auth.policy import Profile
from ocx_sim.engine.core.markets import DAY_MS
from ocx_sim.engine.core.orders import MarginMode, OrderRequest, Side, TimeInForce
from ocx_sim.worlds import NewAccount, World, WorldConfig
from tests.api.conftest import ApiClient, assert_error, read_key, trade_key

D = Decimal
PERP = "BTC-PERP"
SPOT = "BTC-USDC-SPOT"

ENDPOINTS = [
    "/perps/orders",
    "/perps/orders/open",
    "/perps/positions",
    "/perps/trades",
    "/perps/balances",
    "/orders/me",
    "/options/orders/me",
    "/positions/me",
    "/options/trades/me",
    "/portfolio/me",
    "/portfolio/balances",
]
LISTS_WITH_LIMIT = ["/perps/orders", "/perps/trades", "/orders/me", "/options/trades/me"]


def rest(
    world: World,
    account: NewAccount,
    market_id: str,
    side: Side,
    quantity: str,
    price: str,
    margin_mode: MarginMode = MarginMode.CROSS,
) -> str:
    """A resting limit order of the account; its id."""
    request = OrderRequest(market_id, side, D(quantity), price=D(price), margin_mode=margin_mode)
    return world.exchange.place_order(account.user_id, request).order.id


def fill(world: World, account: NewAccount, market_id: str, side: Side, qty: str, px: str) -> str:
    """A resting order of the account, filled in full by the outside trader; its id."""
    order_id = rest(world, account, market_id, side, qty, px)
    taker = Side.SELL if side is Side.BUY else Side.BUY
    world.exchange.sim.outside_trade(market_id, taker, D(px), D(qty))
    return order_id


def later_option(world: World) -> str:
    """A BTC option that expires more than a week from now."""
    exchange = world.exchange
    horizon = exchange.now_ms + 7 * DAY_MS
    return next(
        m.id
        for m in exchange.catalog.options("BTC")
        if m.expiry_ms is not None and m.expiry_ms > horizon
    )


def get(client: ApiClient, account: NewAccount, path: str, **params: object) -> Any:
    response = client.get(path, token=account.session_token, params=params or None)
    assert response.status_code == 200, response.json()
    return response.json()


# -- /perps/orders ----------------------------------------------------------------------------


def test_perps_orders_lists_the_callers_orders_newest_first_on_the_markets_decimals(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    first = rest(world, trader, PERP, Side.BUY, "0.1", "67000")
    second = rest(world, trader, PERP, Side.SELL, "0.25", "69000.5")

    orders = get(client, trader, "/perps/orders")

    assert isinstance(orders, list)
    assert [o["id"] for o in orders] == [second, first]
    newest = orders[0]
    assert newest["price"] == "69000.50"
    assert newest["quantity"] == "0.2500"
    assert newest["filledQuantity"] == "0.0000"
    assert newest["remainingQuantity"] == "0.2500"
    assert (newest["side"], newest["status"], newest["type"]) == ("sell", "open", "limit")
    assert newest["avgFillPrice"] is None
    assert newest["createdAt"] == "2026-01-02T00:00:00.000Z"


def test_perps_orders_takes_limit_market_and_margin_mode_filters(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    btc = rest(world, trader, PERP, Side.BUY, "0.1", "67000")
    gold = rest(world, trader, "XAUT-USDC-PERP", Side.BUY, "1", "3900")
    isolated = rest(world, trader, PERP, Side.BUY, "0.1", "66000", MarginMode.ISOLATED)

    def ids(**params: object) -> list[str]:
        body = get(client, trader, "/perps/orders", **params)
        assert isinstance(body, list)
        return [o["id"] for o in body]

    assert ids(limit=1) == [isolated]
    assert ids(limit=500) == [isolated, gold, btc]
    assert ids(marketId=PERP) == [isolated, btc]
    assert ids(marketId="XAUT-USDC-PERP") == [gold]
    assert ids(marginMode="isolated") == [isolated]
    assert ids(marginMode="cross", marketId=PERP) == [btc]


def test_perps_orders_default_to_the_newest_100_but_open_orders_lists_every_resting_one(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    placed = [rest(world, trader, PERP, Side.BUY, "0.0001", "65000") for _ in range(101)]
    fill(world, trader, PERP, Side.BUY, "0.0001", "68000")

    listed = get(client, trader, "/perps/orders")
    resting = get(client, trader, "/perps/orders/open")

    assert isinstance(listed, list) and isinstance(resting, list)
    assert len(listed) == 100
    assert [o["id"] for o in resting] == placed[::-1]
    assert {o["status"] for o in resting} == {"open"}


def test_perps_open_orders_leave_out_filled_and_cancelled_orders_and_filter_by_market(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    resting = rest(world, trader, PERP, Side.BUY, "0.1", "67000")
    gold = rest(world, trader, "XAUT-USDC-PERP", Side.BUY, "1", "3900")
    cancelled = rest(world, trader, PERP, Side.BUY, "0.1", "66000")
    world.exchange.cancel_order(trader.user_id, cancelled)
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")

    everything = get(client, trader, "/perps/orders/open")
    btc_only = get(client, trader, "/perps/orders/open", marketId=PERP)

    assert isinstance(everything, list) and isinstance(btc_only, list)
    assert [o["id"] for o in everything] == [gold, resting]
    assert [o["id"] for o in btc_only] == [resting]


def test_perps_lists_leave_out_spot_and_option_orders(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    rest(world, trader, SPOT, Side.BUY, "0.1", "67000")
    rest(world, trader, later_option(world), Side.BUY, "1", "50")
    fill(world, trader, SPOT, Side.BUY, "0.1", "68000")

    for path in ("/perps/orders", "/perps/orders/open", "/perps/trades", "/perps/positions"):
        assert get(client, trader, path) == [], path


@pytest.mark.parametrize("config", [WorldConfig(seed=7, profile=Profile.GITBOOK)])
def test_perps_orders_include_spot_orders_under_the_gitbook_profile(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    spot = rest(world, trader, SPOT, Side.BUY, "0.1", "67000")

    orders = get(client, trader, "/perps/orders")

    assert isinstance(orders, list)
    assert [o["id"] for o in orders] == [spot]


# -- /perps/positions -------------------------------------------------------------------------


def test_perps_positions_show_size_entry_mark_and_unrealized_pnl(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    fill(world, trader, "XAUT-USDC-PERP", Side.SELL, "2", "4000")
    world.exchange.sim.pin_mark(PERP, D("69000"))
    world.exchange.sim.pin_mark("XAUT-USDC-PERP", D("4010"))

    positions = get(client, trader, "/perps/positions")

    assert positions == [
        {
            "marketId": PERP,
            "side": "long",
            "quantity": "0.1000",
            "entryPrice": "68000.00",
            "markPrice": "69000.00",
            "unrealizedPnl": "100.00",
            "realizedPnl": "0.00",
            "fundingPayment": "0.00",
            "liquidationPrice": None,
            # 0.1 × 69000 / (100000 − 1.36 fee + 100 − 20 − 1.6 fee) perps equity
            "leverage": "0.07",
            "marginMode": "cross",
        },
        {
            "marketId": "XAUT-USDC-PERP",
            "side": "short",
            "quantity": "2.000",
            "entryPrice": "4000.00",
            "markPrice": "4010.00",
            "unrealizedPnl": "-20.00",
            "realizedPnl": "0.00",
            "fundingPayment": "0.00",
            # cross equity 100077.04 meets maintenance (2/3 of 345 + 401 IM) + (P − 4010) / 15
            # while the short loses 2 (P − 4010): P = 4010 + 99579.7067 / 2.0667 = 52193.729…,
            # shown on the tick below (the safe side); the long alone has no such price
            "liquidationPrice": "52193.72",
            "leverage": "0.08",
            "marginMode": "cross",
        },
    ]


def test_a_closed_position_is_not_listed(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    fill(world, trader, PERP, Side.SELL, "0.1", "68500")

    assert get(client, trader, "/perps/positions") == []


# -- /perps/trades ----------------------------------------------------------------------------


def test_perps_trades_list_fills_newest_first_with_order_market_side_fee_and_pnl(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    opening = fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    world.exchange.advance_by(1000)
    closing = fill(world, trader, PERP, Side.SELL, "0.1", "69000")

    trades = get(client, trader, "/perps/trades")

    assert isinstance(trades, list)
    assert [t["orderId"] for t in trades] == [closing, opening]
    newest = trades[0]
    assert {k: v for k, v in newest.items() if k != "tradeId"} == {
        "orderId": closing,
        "marketId": PERP,
        "side": "sell",
        "price": "69000.00",
        "quantity": "0.1000",
        "fee": "1.38",  # maker 2 bps of 6900
        "feeRole": "maker",
        "liquidity": "maker",
        "realizedPnl": "100.00",
        "createdAt": "2026-01-02T00:00:01.000Z",
    }
    assert trades[1]["fee"] == "1.36"
    assert trades[1]["realizedPnl"] == "0.00"


def test_perps_trades_take_limit_and_market_filters(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    btc = fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    gold = fill(world, trader, "XAUT-USDC-PERP", Side.BUY, "1", "4000")

    newest = get(client, trader, "/perps/trades", limit=1)
    btc_only = get(client, trader, "/perps/trades", marketId=PERP)

    assert isinstance(newest, list) and isinstance(btc_only, list)
    assert [t["orderId"] for t in newest] == [gold]
    assert [t["orderId"] for t in btc_only] == [btc]


# -- /perps/balances --------------------------------------------------------------------------


def test_perps_balances_when_flat_hold_the_bucket_and_no_margin(
    client: ApiClient, trader: NewAccount
) -> None:
    assert get(client, trader, "/perps/balances") == {
        "perpsBalance": "100000.00",
        "equity": "100000.00",
        "unrealizedPnl": "0.00",
        "initialMargin": "0.00",
        "maintenanceMargin": "0.00",
        "availableMargin": "100000.00",
        "marginUsage": "0.0000",
    }


def test_perps_balances_figures_after_a_fill_a_mark_move_and_a_resting_order(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    world.exchange.sim.pin_mark(PERP, D("69000"))
    rest(world, trader, PERP, Side.BUY, "0.2", "66000")

    balances = get(client, trader, "/perps/balances")

    # balance 100000 − 1.36 maker fee; uPnL 0.1 × (69000 − 68000); position IM 0.1 × 69000 / 20
    # = 345 plus the order's 0.2 × 66000 / 20 = 660; MM 2/3 × 345; available
    # min(equity, balance) − IM; usage 1005 / 100098.64 = 0.01004…
    assert balances == {
        "perpsBalance": "99998.64",
        "equity": "100098.64",
        "unrealizedPnl": "100.00",
        "initialMargin": "1005.00",
        "maintenanceMargin": "230.00",
        "availableMargin": "98993.64",
        "marginUsage": "0.0100",
    }


# -- /orders/me and the option lists ----------------------------------------------------------


def test_clob_orders_list_spot_and_option_orders_newest_first_under_both_paths(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    option = later_option(world)
    rest(world, trader, PERP, Side.BUY, "0.1", "67000")
    spot = rest(world, trader, SPOT, Side.BUY, "0.1", "67000")
    premium = rest(world, trader, option, Side.BUY, "1", "50")

    for path in ("/orders/me", "/options/orders/me"):
        orders = get(client, trader, path)
        assert isinstance(orders, list)
        assert [o["id"] for o in orders] == [premium, spot], path
        assert (orders[0]["marketId"], orders[0]["price"], orders[0]["quantity"]) == (
            option,
            "50.00",
            "1.00",
        )
        assert [o["id"] for o in get(client, trader, path, limit=1)] == [premium]
        only_spot = get(client, trader, path, marketId=SPOT)
        assert [o["id"] for o in only_spot] == [spot]


def test_option_positions_and_trades_list_only_options(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    option = later_option(world)
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    fill(world, trader, SPOT, Side.BUY, "0.1", "68000")
    bought = fill(world, trader, option, Side.BUY, "0.1", "50")
    world.exchange.sim.pin_mark(option, D("60"))

    positions = get(client, trader, "/positions/me")
    trades = get(client, trader, "/options/trades/me")

    assert isinstance(positions, list) and isinstance(trades, list)
    assert [(p["marketId"], p["side"], p["quantity"]) for p in positions] == [
        (option, "long", "0.10")
    ]
    assert positions[0]["entryPrice"] == "50.00"
    assert positions[0]["markPrice"] == "60.00"
    assert positions[0]["unrealizedPnl"] == "1.00"
    assert [(t["orderId"], t["price"], t["quantity"]) for t in trades] == [
        (bought, "50.00", "0.10")
    ]
    # maker 2 bps of the underlying notional 0.1 × 68000 = 1.36, capped at 12.5 % of 5.00
    assert trades[0]["fee"] == "0.625"
    assert [p["marketId"] for p in get(client, trader, "/perps/positions")] == [PERP]


def test_option_trades_take_limit_and_market_filters(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    options = [
        m.id
        for m in world.exchange.catalog.options("BTC")
        if m.expiry_ms is not None and m.expiry_ms > world.exchange.now_ms + 7 * DAY_MS
    ]
    first = fill(world, trader, options[0], Side.BUY, "0.1", "50")
    second = fill(world, trader, options[1], Side.BUY, "0.1", "40")

    newest = get(client, trader, "/options/trades/me", limit=1)
    filtered = get(client, trader, "/options/trades/me", marketId=options[0])

    assert [t["orderId"] for t in newest] == [second]
    assert [t["orderId"] for t in filtered] == [first]


# -- the portfolio ----------------------------------------------------------------------------


def test_portfolio_me_adds_up_every_bucket_by_hand(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    option = later_option(world)
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    fill(world, trader, option, Side.BUY, "0.1", "50")
    world.exchange.sim.pin_mark(PERP, D("69000"))
    world.exchange.sim.pin_mark(option, D("60"))

    portfolio = get(client, trader, "/portfolio/me")

    assert isinstance(portfolio, dict)
    # perps: 100000 − 1.36 fee, equity + 100 uPnL; options: 100000 − 5 premium − 0.625 fee,
    # equity + 0.1 × 60 value; wallet and spot 100000 each
    assert portfolio["equity"] == "400099.015"
    assert portfolio["tradableBalance"] == "399993.015"
    assert portfolio["balances"] == {
        "walletBalance": "100000.00",
        "perpsBalance": "99998.64",
        "optionsBalance": "99994.375",
        "spotBalance": "100000.00",
    }
    assert portfolio["pnl"] == {"unrealized": "101.00", "realized24h": "0.00"}
    assert portfolio["margin"] == {
        "initialMargin": "345.00",
        "maintenanceMargin": "230.00",
        "marginUsage": "0.0034",
    }
    [perp] = portfolio["positions"]
    assert (perp["marketId"], perp["avgPrice"], perp["entryPrice"]) == (
        PERP,
        "68000.00",
        "68000.00",
    )
    assert perp["unrealizedPnl"] == "100.00"
    [held] = portfolio["optionPositions"]
    assert (held["marketId"], held["avgPrice"], held["quantity"]) == (option, "50.00", "0.10")


def test_portfolio_realized_pnl_covers_the_last_24_hours_only(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    exchange = world.exchange
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    fill(world, trader, PERP, Side.SELL, "0.1", "68500")  # +50
    exchange.advance_by(DAY_MS // 2)
    fill(world, trader, PERP, Side.SELL, "0.1", "68000")
    fill(world, trader, PERP, Side.BUY, "0.1", "68200")  # −20

    def realized() -> Any:
        body = get(client, trader, "/portfolio/me")
        assert isinstance(body, dict)
        return body["pnl"]["realized24h"]

    assert realized() == "30.00"
    exchange.advance_by(DAY_MS // 2)
    assert realized() == "-20.00"
    exchange.advance_by(DAY_MS // 2)
    assert realized() == "0.00"


def test_portfolio_of_a_flat_account_has_no_margin_use_and_no_positions(
    client: ApiClient, trader: NewAccount
) -> None:
    portfolio = get(client, trader, "/portfolio/me")

    assert isinstance(portfolio, dict)
    assert portfolio["equity"] == portfolio["tradableBalance"] == "400000.00"
    assert portfolio["margin"]["marginUsage"] == "0.0000"
    assert portfolio["optionsMargin"] == {
        "initialMargin": "0.00",
        "maintenanceMargin": "0.00",
        "availableMargin": "100000.00",
        "marginUsage": "0.0000",
    }
    assert portfolio["positions"] == portfolio["optionPositions"] == []


def test_portfolio_balances_list_buckets_and_spot_assets_on_their_decimals(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    fill(world, trader, SPOT, Side.BUY, "0.1", "68000")
    fill(world, trader, "XAUT-USDC-SPOT", Side.BUY, "1", "4000")
    rest(world, trader, SPOT, Side.BUY, "0.1", "67000")

    balances = get(client, trader, "/portfolio/balances")

    # spot USDC 100000 − 6800 − 1.36 fee − 4000 − 0.8 fee; the bid locks 6700 + 5 bps taker fee
    assert balances == {
        "walletBalance": "100000.00",
        "perpsBalance": "100000.00",
        "optionsBalance": "100000.00",
        "spotBalance": "89197.84",
        "assets": [
            {
                "asset": "USDC",
                "bucket": "spot",
                "available": "82494.49",
                "locked": "6703.35",
                "total": "89197.84",
            },
            {
                "asset": "BTC",
                "bucket": "spot",
                "available": "0.1000",
                "locked": "0.0000",
                "total": "0.1000",
            },
            {
                "asset": "XAUT",
                "bucket": "spot",
                "available": "1.000",
                "locked": "0.000",
                "total": "1.000",
            },
        ],
    }


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LISTS_WITH_LIMIT)
@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten", "1.5"])
def test_a_limit_outside_1_to_500_or_not_an_integer_is_a_400_naming_limit(
    client: ApiClient, trader: NewAccount, path: str, limit: str
) -> None:
    response = client.get(path, token=trader.session_token, params={"limit": limit})

    assert_error(response, 400, "VALIDATION_ERROR", "limit")


@pytest.mark.parametrize("path", LISTS_WITH_LIMIT)
def test_a_limit_of_thousands_of_digits_is_a_400_naming_limit_not_a_500(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    response = client.get(path, token=trader.session_token, params={"limit": "9" * 5000})

    assert_error(response, 400, "VALIDATION_ERROR", "limit")


def test_an_unknown_margin_mode_is_a_400_naming_margin_mode(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.get(
        "/perps/orders", token=trader.session_token, params={"marginMode": "portfolio"}
    )

    assert_error(response, 400, "VALIDATION_ERROR", "marginMode")


@pytest.mark.parametrize(
    ("path", "market_id"),
    [
        ("/perps/orders", "NOPE-PERP"),
        ("/perps/orders", SPOT),
        ("/perps/orders/open", "NOPE-PERP"),
        ("/perps/orders/open", SPOT),
        ("/perps/trades", "NOPE-PERP"),
        ("/perps/trades", SPOT),
        ("/orders/me", "NOPE"),
        ("/orders/me", PERP),
        ("/options/orders/me", PERP),
        ("/options/trades/me", "NOPE"),
        ("/options/trades/me", SPOT),
    ],
)
def test_a_market_filter_naming_no_market_of_the_list_is_a_404(
    client: ApiClient, trader: NewAccount, path: str, market_id: str
) -> None:
    response = client.get(path, token=trader.session_token, params={"marketId": market_id})

    assert_error(response, 404, "UNKNOWN_MARKET")
    assert response.json()["details"]["marketId"] == market_id


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_account_read_without_credentials_is_a_401(client: ApiClient, path: str) -> None:
    assert_error(client.get(path), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_account_read_accepts_a_read_key_and_a_trade_key(
    client: ApiClient, world: World, trader: NewAccount, path: str
) -> None:
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    by_session = client.get(path, token=trader.session_token)

    for key in (read_key(trader), trade_key(trader)):
        response = client.get(path, key=key)
        assert response.status_code == 200, response.json()
        assert response.json() == by_session.json()


def test_an_unknown_api_key_is_a_401(client: ApiClient) -> None:
    response = client.get("/perps/balances", key="ocx_sk_" + "x" * 40)

    assert_error(response, 401, "API_KEY_INVALID")


def test_another_users_orders_positions_trades_and_balances_stay_hidden(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    option = later_option(world)
    fill(world, trader, PERP, Side.BUY, "0.1", "68000")
    rest(world, trader, PERP, Side.BUY, "0.1", "67000")
    fill(world, trader, option, Side.BUY, "0.1", "50")
    rest(world, trader, option, Side.BUY, "0.1", "40")
    fill(world, trader, SPOT, Side.BUY, "0.1", "68000")
    world.exchange.sim.pin_mark(PERP, D("69000"))

    for path in ENDPOINTS:
        if path in ("/perps/balances", "/portfolio/me", "/portfolio/balances"):
            continue
        assert get(client, other, path) == [], path
    assert get(client, other, "/perps/balances") == {
        "perpsBalance": "100000.00",
        "equity": "100000.00",
        "unrealizedPnl": "0.00",
        "initialMargin": "0.00",
        "maintenanceMargin": "0.00",
        "availableMargin": "100000.00",
        "marginUsage": "0.0000",
    }
    portfolio = get(client, other, "/portfolio/me")
    assert isinstance(portfolio, dict)
    assert portfolio["equity"] == "400000.00"
    assert portfolio["positions"] == portfolio["optionPositions"] == []
    balances = get(client, other, "/portfolio/balances")
    assert isinstance(balances, dict)
    assert [a["asset"] for a in balances["assets"]] == ["USDC"]


def test_an_ioc_remainder_is_listed_expired_and_not_open(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    request = OrderRequest(
        PERP, Side.BUY, D("0.1"), price=D("68000"), time_in_force=TimeInForce.IOC
    )
    placed = world.exchange.place_order(trader.user_id, request).order.id

    orders = get(client, trader, "/perps/orders")

    assert [(o["id"], o["status"]) for o in orders] == [(placed, "expired")]
    assert get(client, trader, "/perps/orders/open") == []


@pytest.mark.parametrize("path", LISTS_WITH_LIMIT)
def test_a_malformed_limit_is_a_400_before_an_unknown_market_filter_is_a_404(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    response = client.get(
        path, token=trader.session_token, params={"marketId": "NOPE", "limit": "0"}
    )

    assert_error(response, 400, "VALIDATION_ERROR", "limit")


def test_a_malformed_margin_mode_is_a_400_before_an_unknown_market_filter_is_a_404(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.get(
        "/perps/orders",
        token=trader.session_token,
        params={"marketId": "NOPE", "marginMode": "both"},
    )

    assert_error(response, 400, "VALIDATION_ERROR", "marginMode")
