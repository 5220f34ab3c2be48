"""Public market data over HTTP: books, the 24-hour ticker, candles, fees, the insurance fund."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.engine.core.orders import OrderRequest, Side
from ocx_sim.testing import in_process_world
from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient, assert_error, read_key, trade_key

T0 = DEFAULT_START_MS
"""2026-01-02T00:00:00.000Z, a multiple of every candle width."""
T0_S = T0 // 1000
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
OPTION = "BTC-2026-01-09-68000-C"
CURVE_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "futures-curve.yaml"
"""BTC's curve quoted at 67000 / 68000 from 2026-03-13 08:00 through March's expiry."""
PUBLIC_PATHS = [
    "/perps/markets",
    "/markets/linear",
    "/perps/orderbook/BTC-PERP",
    "/orderbook/BTC-USDC-SPOT",
    f"/options/orderbook/{OPTION}",
    "/perps/market-stats",
    "/perps/market-stats?marketId=BTC-PERP",
    "/perps/ohlc?symbol=BTC-PERP",
    "/perps/fees",
    "/options/fees",
    "/perps/insurance-fund",
]


def rest(world: World, account: NewAccount, market: str, side: Side, price: str, qty: str) -> None:
    """A resting limit order of `account`."""
    request = OrderRequest(market, side, Decimal(qty), price=Decimal(price))
    placed = world.exchange.place_order(account.user_id, request)
    assert not placed.fills


def trade(
    world: World, maker: NewAccount, market: str, price: str, qty: str, side: Side = Side.SELL
) -> None:
    """One trade of `qty` at `price`: `maker` rests an order on `side`, the outside trader
    takes it."""
    rest(world, maker, market, side, price, qty)
    taker = Side.BUY if side is Side.SELL else Side.SELL
    placed = world.exchange.sim.outside_trade(market, taker, Decimal(price), Decimal(qty))
    assert [f.quantity for f in placed.fills] == [Decimal(qty)]


def at(world: World, ms: int) -> None:
    world.exchange.advance_to(ms)


# -- /perps/orderbook -------------------------------------------------------------------------


def test_perps_orderbook_aggregates_levels_with_bids_descending_and_asks_ascending(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    rest(world, trader, "BTC-PERP", Side.BUY, "67800.00", "1")
    rest(world, trader, "BTC-PERP", Side.BUY, "67900.00", "0.5")
    rest(world, other, "BTC-PERP", Side.BUY, "67900.00", "0.25")
    rest(world, other, "BTC-PERP", Side.SELL, "68200.00", "0.1")
    rest(world, trader, "BTC-PERP", Side.SELL, "68100.50", "0.3")

    response = client.get("/perps/orderbook/BTC-PERP")

    assert response.status_code == 200
    assert response.json() == {
        "marketId": "BTC-PERP",
        "bids": [["67900.00", "0.7500"], ["67800.00", "1.0000"]],
        "asks": [["68100.50", "0.3000"], ["68200.00", "0.1000"]],
        "sequence": world.exchange.depth("BTC-PERP").sequence,
        "timestamp": "2026-01-02T00:00:00.000Z",
    }


def test_perps_orderbook_depth_keeps_the_best_levels_of_each_side(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    for price in ("67700.00", "67800.00", "67900.00"):
        rest(world, trader, "BTC-PERP", Side.BUY, price, "0.1")
    for price in ("68300.00", "68200.00"):
        rest(world, trader, "BTC-PERP", Side.SELL, price, "0.2")

    body = client.get("/perps/orderbook/BTC-PERP", params={"depth": 2}).json()
    top = client.get("/perps/orderbook/BTC-PERP", params={"depth": 1}).json()
    whole = client.get("/perps/orderbook/BTC-PERP", params={"depth": 1000}).json()

    assert body["bids"] == [["67900.00", "0.1000"], ["67800.00", "0.1000"]]
    assert body["asks"] == [["68200.00", "0.2000"], ["68300.00", "0.2000"]]
    assert (top["bids"], top["asks"]) == ([["67900.00", "0.1000"]], [["68200.00", "0.2000"]])
    assert len(whole["bids"]) == 3 and len(whole["asks"]) == 2


def test_perps_orderbook_sequence_and_timestamp_follow_the_book_and_the_clock(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    before = client.get("/perps/orderbook/BTC-PERP").json()
    at(world, T0 + 1500)
    rest(world, trader, "BTC-PERP", Side.BUY, "67000.00", "0.1")

    after = client.get("/perps/orderbook/BTC-PERP").json()

    assert (before["bids"], before["asks"]) == ([], [])
    assert after["sequence"] > before["sequence"]
    assert after["timestamp"] == "2026-01-02T00:00:01.500Z"


def test_perps_orderbook_serves_spot_and_futures_on_their_decimals(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    rest(world, trader, "XAUT-USDC-SPOT", Side.BUY, "3990.5", "1.5")
    rest(world, trader, "XAUT-USDC-2026-03-27", Side.SELL, "4050", "2")
    rest(world, trader, "WTIOIL-PERP", Side.BUY, "69.9", "12")

    spot = client.get("/perps/orderbook/XAUT-USDC-SPOT").json()
    future = client.get("/perps/orderbook/XAUT-USDC-2026-03-27").json()
    oil = client.get("/perps/orderbook/WTIOIL-PERP").json()

    assert spot["bids"] == [["3990.50", "1.500"]]
    assert future["asks"] == [["4050.00", "2.000"]]
    assert oil["bids"] == [["69.90", "12.00"]]


def test_perps_orderbook_refuses_an_option_pointing_at_the_clob_book(client: ApiClient) -> None:
    response = client.get(f"/perps/orderbook/{OPTION}")

    assert_error(response, 404, "UNKNOWN_MARKET")
    assert "/orderbook/{marketId}" in response.json()["message"]


@pytest.mark.parametrize(
    "path", ["/perps/orderbook/NOPE-PERP", "/orderbook/NOPE", "/options/orderbook/NOPE"]
)
def test_an_unknown_market_has_no_book(client: ApiClient, path: str) -> None:
    assert_error(client.get(path), 404, "UNKNOWN_MARKET")


@pytest.mark.parametrize("depth", ["0", "1001", "-1", "1.5", "two", "1e2"])
@pytest.mark.parametrize(
    "path",
    ["/perps/orderbook/BTC-PERP", "/orderbook/BTC-USDC-SPOT", f"/options/orderbook/{OPTION}"],
)
def test_a_depth_that_is_not_an_integer_from_1_to_1000_is_refused(
    client: ApiClient, path: str, depth: str
) -> None:
    assert_error(client.get(path, params={"depth": depth}), 400, "VALIDATION_ERROR", "depth")


def test_a_depth_of_thousands_of_digits_is_a_400_naming_depth_not_a_500(client: ApiClient) -> None:
    # Python's int() refuses strings of over 4300 digits; the parser must not reach it.
    response = client.get("/perps/orderbook/BTC-PERP", params={"depth": "9" * 5000})

    assert_error(response, 400, "VALIDATION_ERROR", "depth")


def test_a_depth_with_leading_zeros_is_still_its_number(client: ApiClient) -> None:
    response = client.get("/perps/orderbook/BTC-PERP", params={"depth": "0" * 5000 + "1"})

    assert response.status_code == 200, response.json()


def test_a_bad_depth_is_refused_before_the_market_is_looked_up(client: ApiClient) -> None:
    response = client.get("/perps/orderbook/NOPE", params={"depth": "0"})

    assert_error(response, 400, "VALIDATION_ERROR", "depth")


# -- /orderbook and /options/orderbook ---------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/orderbook", "/options/orderbook"])
def test_clob_orderbook_serves_an_option_on_both_paths(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount, prefix: str
) -> None:
    rest(world, trader, OPTION, Side.BUY, "2100", "1.5")
    rest(world, other, OPTION, Side.BUY, "2050.5", "0.25")
    rest(world, other, OPTION, Side.SELL, "2200", "2")

    response = client.get(f"{prefix}/{OPTION}")

    assert response.status_code == 200
    assert response.json() == {
        "marketId": OPTION,
        "bids": [["2100.00", "1.50"], ["2050.50", "0.25"]],
        "asks": [["2200.00", "2.00"]],
        "sequence": world.exchange.depth(OPTION).sequence,
        "timestamp": "2026-01-02T00:00:00.000Z",
    }


@pytest.mark.parametrize("prefix", ["/orderbook", "/options/orderbook"])
def test_clob_orderbook_serves_spot_with_depth(
    client: ApiClient, world: World, trader: NewAccount, prefix: str
) -> None:
    for price in ("67800", "67900"):
        rest(world, trader, "BTC-USDC-SPOT", Side.BUY, price, "0.01")

    body = client.get(f"{prefix}/BTC-USDC-SPOT", params={"depth": 1}).json()

    assert body["bids"] == [["67900.00", "0.0100"]]
    assert body["asks"] == []


@pytest.mark.parametrize("prefix", ["/orderbook", "/options/orderbook"])
@pytest.mark.parametrize("market", ["BTC-PERP", "BTC-USDC-2026-03-27"])
def test_clob_orderbook_refuses_linear_derivatives_pointing_at_the_perps_book(
    client: ApiClient, prefix: str, market: str
) -> None:
    response = client.get(f"{prefix}/{market}")

    assert_error(response, 404, "UNKNOWN_MARKET")
    assert "/perps/orderbook" in response.json()["message"]


# -- the price band -----------------------------------------------------------------------------


def test_the_band_is_ten_percent_either_side_of_the_mark_on_linear_markets(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    markets = {m["id"]: m for m in client.get("/perps/markets").json()}
    # An ask 8 % over the mark rests (under a 5 % band it was refused) …
    ask = client.post(
        "/perps/orders",
        json={"marketId": "BTC-PERP", "side": "sell", "quantity": "0.1", "price": "73440.00"},
        token=other.session_token,
    )
    # … a market buy sweeps up to it, and a limit a cent past mark × 1.10 is refused.
    swept = client.post(
        "/perps/orders",
        json={"marketId": "BTC-PERP", "side": "buy", "type": "market", "quantity": "0.1"},
        token=trader.session_token,
    )
    beyond = client.post(
        "/perps/orders",
        json={"marketId": "BTC-PERP", "side": "buy", "quantity": "0.1", "price": "74800.01"},
        token=trader.session_token,
    )

    perp, future = markets["BTC-PERP"], markets["BTC-USDC-2026-03-27"]
    assert (perp["priceBandLow"], perp["markPrice"], perp["priceBandHigh"]) == (
        "61200.00",
        "68000.00",
        "74800.00",
    )
    # 68785.57 × 0.9 = 61907.013 (up to the tick), × 1.1 = 75664.127 (down to it).
    assert (future["priceBandLow"], future["priceBandHigh"]) == ("61907.02", "75664.12")
    spot = markets["XAUT-USDC-SPOT"]
    assert (spot["priceBandLow"], spot["priceBandHigh"]) == ("3600.00", "4400.00")
    assert ask.status_code == 200, ask.json()
    assert [f["price"] for f in swept.json()["fills"]] == ["73440.00"]
    assert_error(beyond, 422, "PRICE_OUT_OF_BAND", "price")
    assert beyond.json()["details"]["priceBandHigh"] == "74800.00"


# -- /perps/market-stats ------------------------------------------------------------------------


def test_market_stats_of_a_market_that_never_traded(client: ApiClient) -> None:
    response = client.get("/perps/market-stats", params={"marketId": "BTC-PERP"})

    assert response.status_code == 200
    assert response.json() == {
        "marketId": "BTC-PERP",
        "markPrice": "68000.00",
        "indexPrice": "68000.00",
        # No trade in the window: the mark, unchanged since the world's first mark.
        "last": "68000.00",
        "high24h": "68000.00",
        "low24h": "68000.00",
        "change24hPct": "0.00",
        "change24h": "0.000000",
        "volume24h": "0.0000",
        "volume24hUsd": "0.00",
        "openInterest": "0.0000",
        "openInterestUsd": "0.00",
        "fundingRate": "0",
        "funding1hPct": "0",
        "nextFundingAt": "2026-01-02T00:05:00.000Z",
    }


def test_market_stats_show_the_running_funding_period(client: ApiClient, world: World) -> None:
    world.exchange.sim.pin_mark("BTC-PERP", Decimal("68652.80"))  # premium 0.0096
    world.exchange.advance_by(100_000)
    world.exchange.sim.pin_mark("BTC-PERP", Decimal("68000.00"))
    world.exchange.advance_by(100_000)

    body = client.get("/perps/market-stats", params={"marketId": "BTC-PERP"}).json()

    # 0.0096 for 100 s of the 200 s so far: an average premium of 0.0048, paid off over 8
    # hours: 0.0048 × 5 min / 8 h = 0.00005 a period, × 12 × 100 = 0.06 % an hour.
    assert (body["fundingRate"], body["funding1hPct"]) == ("0.00005", "0.06")
    assert body["nextFundingAt"] == "2026-01-02T00:05:00.000Z"
    spot = client.get("/perps/market-stats", params={"marketId": "BTC-USDC-SPOT"}).json()
    assert (spot["fundingRate"], spot["funding1hPct"], spot["nextFundingAt"]) == (None,) * 3


def test_market_stats_sum_the_days_trades_and_the_open_interest(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    exchange = world.exchange
    exchange.sim.pin_mark("BTC-PERP", Decimal("68050.00"))
    rest(world, trader, "BTC-PERP", Side.SELL, "68000.00", "0.2")
    exchange.place_order(
        other.user_id, OrderRequest("BTC-PERP", Side.BUY, Decimal("0.2"), price=Decimal("68000"))
    )
    at(world, T0 + HOUR)
    rest(world, trader, "BTC-PERP", Side.SELL, "68100.00", "0.3")
    exchange.place_order(
        other.user_id, OrderRequest("BTC-PERP", Side.BUY, Decimal("0.3"), price=Decimal("68100"))
    )
    at(world, T0 + 2 * HOUR)
    rest(world, trader, "BTC-PERP", Side.BUY, "67900.00", "0.1")
    exchange.place_order(
        other.user_id, OrderRequest("BTC-PERP", Side.SELL, Decimal("0.1"), price=Decimal("67900"))
    )

    body = client.get("/perps/market-stats", params={"marketId": "BTC-PERP"}).json()

    # other is long 0.2 + 0.3 − 0.1 = 0.4, trader short as much.
    assert body == {
        "marketId": "BTC-PERP",
        "markPrice": "68050.00",
        "indexPrice": "68000.00",
        "last": "67900.00",
        "high24h": "68100.00",
        "low24h": "67900.00",
        # (67900 − 68000) / 68000 = −0.00147058…
        "change24hPct": "-0.15",
        "change24h": "-0.001471",
        "volume24h": "0.6000",
        # 0.2 × 68000 + 0.3 × 68100 + 0.1 × 67900 = 13600 + 20430 + 6790
        "volume24hUsd": "40820.00",
        "openInterest": "0.4000",
        # 0.4 × 68050
        "openInterestUsd": "27220.00",
        # The pinned premium 50 / 68000 = 0.000735294… held all period, paid off over 8 hours:
        # / 96 = 0.0000076593 a period, 0.00919116 % an hour.
        "fundingRate": "0.0000076593",
        "funding1hPct": "0.00919116",
        "nextFundingAt": "2026-01-02T02:05:00.000Z",
    }


def test_market_stats_window_is_the_last_24_hours(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    trade(world, trader, "BTC-PERP", "68000.00", "0.2")
    at(world, T0 + 12 * HOUR)
    trade(world, trader, "BTC-PERP", "68100.00", "0.3")

    def stats() -> dict[str, str | None]:
        body = client.get("/perps/market-stats", params={"marketId": "BTC-PERP"}).json()
        assert isinstance(body, dict)
        return body

    at(world, T0 + DAY - 1)
    both = stats()
    at(world, T0 + DAY + 1)
    second_only = stats()
    at(world, T0 + 12 * HOUR + DAY + 1)
    none = stats()

    assert (both["volume24h"], both["low24h"], both["high24h"]) == (
        "0.5000",
        "68000.00",
        "68100.00",
    )
    assert (both["change24hPct"], both["change24h"]) == ("0.15", "0.001471")
    assert both["volume24hUsd"] == "34030.00"
    assert second_only["volume24h"] == "0.3000"
    assert (second_only["low24h"], second_only["high24h"]) == ("68100.00", "68100.00")
    assert (second_only["change24hPct"], second_only["change24h"]) == ("0.00", "0.000000")
    assert second_only["volume24hUsd"] == "20430.00"
    # No trade in the window: the mark stands in for the prices, and it has not moved.
    assert [none[k] for k in ("last", "high24h", "low24h")] == ["68000.00"] * 3
    assert (none["change24hPct"], none["change24h"]) == ("0.00", "0.000000")
    assert (none["volume24h"], none["volume24hUsd"]) == ("0.0000", "0.00")


def test_a_tiny_fall_rounds_to_zero_change_without_a_minus_sign(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    trade(world, trader, "BTC-PERP", "68000.00", "0.1")
    trade(world, trader, "BTC-PERP", "67999.99", "0.1")

    body = client.get("/perps/market-stats", params={"marketId": "BTC-PERP"}).json()

    # −0.01 / 68000 = −0.000000147…
    assert (body["change24hPct"], body["change24h"]) == ("0.00", "0.000000")
    assert (body["low24h"], body["last"]) == ("67999.99", "67999.99")


def test_market_stats_without_an_index_have_no_mark_and_no_open_interest_value(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    trade(world, trader, "BTC-PERP", "68000.00", "0.1")
    world.exchange.sim.set_index("BTC-PERP", None)

    body = client.get("/perps/market-stats", params={"marketId": "BTC-PERP"}).json()

    assert (body["markPrice"], body["indexPrice"]) == (None, None)
    assert (body["openInterest"], body["openInterestUsd"]) == ("0.1000", None)
    assert body["last"] == "68000.00"


def stats_of(client: ApiClient, market: str) -> dict[str, Any]:
    body = client.get("/perps/market-stats", params={"marketId": market}).json()
    assert isinstance(body, dict)
    return body


def test_without_trades_the_change_runs_from_the_mark_24_hours_earlier(
    client: ApiClient, world: World
) -> None:
    at(world, T0 + HOUR + 1000)
    world.exchange.sim.set_index("BTC-PERP", Decimal("70040"))  # +3 %
    at(world, T0 + 2 * HOUR)
    young = stats_of(client, "BTC-PERP")
    # Marks are recorded at every funding boundary: 24 h after the move, the mark recorded
    # at T0 + 1 h is still the one before it; five minutes later the move is a day old.
    at(world, T0 + DAY + HOUR + 1000)
    a_day_after = stats_of(client, "BTC-PERP")
    at(world, T0 + DAY + HOUR + 5 * MINUTE)
    settled = stats_of(client, "BTC-PERP")
    world.exchange.sim.set_index("BTC-PERP", Decimal("69339.60"))  # −1 %
    fallen = stats_of(client, "BTC-PERP")

    # Younger than a day: against the world's first mark, 68000.
    assert [young[k] for k in ("last", "high24h", "low24h")] == ["70040.00"] * 3
    assert (young["change24hPct"], young["change24h"]) == ("3.00", "0.030000")
    assert (a_day_after["change24hPct"], a_day_after["change24h"]) == ("3.00", "0.030000")
    assert (settled["change24hPct"], settled["change24h"]) == ("0.00", "0.000000")
    assert (fallen["last"], fallen["change24hPct"], fallen["change24h"]) == (
        "69339.60",
        "-1.00",
        "-0.010000",
    )
    assert (fallen["volume24h"], fallen["volume24hUsd"]) == ("0.0000", "0.00")


def test_every_tickers_price_figures_are_decimal_strings_on_every_linear_market(
    client: ApiClient, world: World
) -> None:
    at(world, T0 + 3 * DAY)

    tickers = client.get("/perps/market-stats").json()

    figures = ["markPrice", "indexPrice", "last", "high24h", "low24h", "change24hPct"]
    figures += ["change24h", "volume24h", "volume24hUsd"]
    nulls = {t["marketId"]: [k for k in figures if not isinstance(t[k], str)] for t in tickers}
    assert nulls == {t["marketId"]: [] for t in tickers}
    kinds = {m["id"]: m["marketType"] for m in client.get("/perps/markets").json()}
    for ticker in tickers:
        kind = kinds[ticker["marketId"]]
        assert (ticker["openInterest"] is None) == (kind == "spot"), ticker
        assert (ticker["fundingRate"] is None) == (kind != "perp"), ticker
        assert (ticker["funding1hPct"] is None) == (kind != "perp"), ticker


def test_without_an_index_and_without_trades_the_mark_based_figures_are_null(
    client: ApiClient, world: World
) -> None:
    world.exchange.sim.set_index("XAUT-USDC-PERP", None)

    body = stats_of(client, "XAUT-USDC-PERP")

    # No mark, nothing to stand in for the prices: null, as the market list's markPrice.
    nulls = ("markPrice", "indexPrice", "last", "high24h", "low24h", "change24hPct", "change24h")
    assert [body[k] for k in nulls] == [None] * len(nulls)
    assert (body["volume24h"], body["volume24hUsd"], body["openInterest"]) == (
        "0.000",
        "0.00",
        "0.000",
    )
    assert body["openInterestUsd"] is None


def test_the_openapi_ticker_allows_null_prices_only_without_a_mark(client: ApiClient) -> None:
    body = stats_of(client, "BTC-PERP")
    operation = client.openapi.operation("GET", "/perps/market-stats")
    assert operation is not None
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    root = {**schema, "components": client.openapi.document["components"]}

    def valid(ticker: dict[str, Any]) -> bool:
        return Draft202012Validator(root).is_valid(ticker)

    unpriced = {**body, "markPrice": None, "indexPrice": None, "openInterestUsd": None}
    assert valid(body) and valid({**unpriced, "last": None, "change24h": None})
    assert not valid({**body, "last": None})
    assert not valid({**body, "change24hPct": None})
    assert not valid({**unpriced, "markPrice": "68000.00"})


def test_the_worlds_first_mark_is_the_one_its_scenario_set_up(tmp_path: Path) -> None:
    path = tmp_path / "pinned.yaml"
    path.write_text('markets:\n  BTC-PERP: {mark: "68340.00"}\n')
    with in_process_world({"scenario": str(path)}) as world:
        world.clock.advance("1h")
        body = world.client.get("/perps/market-stats", params={"marketId": "BTC-PERP"}).json()
        world.control("POST", "/_sim/markets/BTC-PERP/mark", {"price": "68000.00"})
        released = world.client.get("/perps/market-stats", params={"marketId": "BTC-PERP"})

    # The marks are first recorded after the scenario is set up, pin included: no change
    # since, although the catalog's own first mark was 68000.
    assert (body["last"], body["change24hPct"]) == ("68340.00", "0.00")
    # (68000 − 68340) / 68340 = −0.004975…
    assert (released.json()["change24hPct"], released.json()["change24h"]) == ("-0.50", "-0.004975")


def test_market_stats_of_spot_have_no_open_interest(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    rest(world, trader, "WTIOIL-USDC-SPOT", Side.BUY, "70.10", "3")
    world.exchange.sim.outside_trade("WTIOIL-USDC-SPOT", Side.SELL, Decimal("70.10"), Decimal("3"))

    body = client.get("/perps/market-stats", params={"marketId": "WTIOIL-USDC-SPOT"}).json()

    assert (body["openInterest"], body["openInterestUsd"]) == (None, None)
    assert (body["last"], body["volume24h"], body["volume24hUsd"]) == ("70.10", "3.00", "210.30")
    assert (body["markPrice"], body["indexPrice"]) == ("70.00", "70.00")


def test_market_stats_of_a_future_carry_the_underlying_index(client: ApiClient) -> None:
    body = client.get("/perps/market-stats", params={"marketId": "BTC-USDC-2026-03-27"}).json()

    assert body["indexPrice"] == "68000.00"
    markets = {m["id"]: m for m in client.get("/perps/markets").json()}
    assert body["markPrice"] == markets["BTC-USDC-2026-03-27"]["markPrice"] == "68785.57"
    assert body["openInterest"] == "0.0000"


def test_a_quoted_curve_marks_each_future_at_its_point_and_the_relisted_curve_goes_on() -> None:
    with in_process_world({"scenario": str(CURVE_SCENARIO)}) as world:
        before = {m["id"]: m for m in world.client.get("/perps/markets").json()}
        stats = world.client.get(
            "/perps/market-stats", params={"marketId": "BTC-USDC-2026-03-27"}
        ).json()
        world.clock.advance("14d")
        after = {m["id"]: m for m in world.client.get("/perps/markets").json()}

    # The March and June futures at F1 and F2 (no carry on top); gold's curve is not quoted,
    # so its future keeps the carry fair value on the index.
    assert before["BTC-USDC-2026-03-27"]["markPrice"] == "67000.00"
    assert before["BTC-USDC-2026-06-26"]["markPrice"] == "68000.00"
    assert before["XAUT-USDC-2026-03-27"]["markPrice"] == "4007.67"
    assert (stats["markPrice"], stats["indexPrice"]) == ("67000.00", "67000.00")
    # After March's expiry: June is the front at its point, and September, listed then, the
    # next at 68000 × 68000 / 67000 (the curve keeps its spread ratio).
    assert "BTC-USDC-2026-03-27" not in after
    assert after["BTC-USDC-2026-06-26"]["markPrice"] == "68000.00"
    assert after["BTC-USDC-2026-09-25"]["markPrice"] == "69014.93"


def test_market_stats_without_market_id_list_every_linear_market_in_listing_order(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    trade(world, trader, "XAUT-USDC-PERP", "4001.25", "1.5")

    stats = client.get("/perps/market-stats").json()
    markets = client.get("/perps/markets").json()

    assert [s["marketId"] for s in stats] == [m["id"] for m in markets]
    by_id = {s["marketId"]: s for s in stats}
    assert by_id["XAUT-USDC-PERP"]["volume24h"] == "1.500"
    assert by_id["XAUT-USDC-PERP"]["openInterest"] == "1.500"
    assert by_id["XAUT-USDC-PERP"]["volume24hUsd"] == "6001.875"
    assert by_id["WTIOIL-PERP"]["volume24h"] == "0.00"
    assert by_id["BTC-USDC-SPOT"]["openInterest"] is None
    assert (
        by_id["XAUT-USDC-PERP"]
        == client.get("/perps/market-stats", params={"marketId": "XAUT-USDC-PERP"}).json()
    )


@pytest.mark.parametrize("market", ["NOPE-PERP", OPTION])
def test_market_stats_of_an_unknown_market_or_an_option_are_404(
    client: ApiClient, market: str
) -> None:
    response = client.get("/perps/market-stats", params={"marketId": market})

    assert_error(response, 404, "UNKNOWN_MARKET")


# -- /perps/ohlc --------------------------------------------------------------------------------


@pytest.fixture
def tape(world: World, trader: NewAccount) -> World:
    """BTC-PERP trades in minutes 0, 3 and 16 of the day (minutes 1, 2, 4–15 without)."""
    for offset, price, qty in (
        (10_000, "68000.00", "0.1"),
        (30_000, "68100.00", "0.2"),
        (50_000, "67950.00", "0.1"),
        (3 * MINUTE + 5_000, "68200.00", "0.05"),
        (16 * MINUTE, "68050.00", "0.3"),
    ):
        at(world, T0 + offset)
        trade(world, trader, "BTC-PERP", price, qty)
    at(world, T0 + 20 * MINUTE)
    return world


def ohlc(client: ApiClient, **params: object) -> dict[str, object]:
    response = client.get("/perps/ohlc", params={"symbol": "BTC-PERP", **params})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert isinstance(body, dict)
    return body


def test_one_minute_candles_leave_out_the_minutes_without_trades(
    client: ApiClient, tape: World
) -> None:
    body = ohlc(client, resolution="1", **{"from": T0_S, "to": T0_S + 1200})

    assert body == {
        "s": "ok",
        "t": [T0_S, T0_S + 180, T0_S + 960],
        "o": ["68000.00", "68200.00", "68050.00"],
        "h": ["68100.00", "68200.00", "68050.00"],
        "l": ["67950.00", "68200.00", "68050.00"],
        "c": ["67950.00", "68200.00", "68050.00"],
        "v": ["0.4000", "0.0500", "0.3000"],
    }


def test_five_minute_candles_start_at_multiples_of_five_minutes(
    client: ApiClient, tape: World
) -> None:
    body = ohlc(client, resolution="5", **{"from": T0_S, "to": T0_S + 1200})

    assert body == {
        "s": "ok",
        "t": [T0_S, T0_S + 900],
        "o": ["68000.00", "68050.00"],
        "h": ["68200.00", "68050.00"],
        "l": ["67950.00", "68050.00"],
        "c": ["68200.00", "68050.00"],
        "v": ["0.4500", "0.3000"],
    }


@pytest.mark.parametrize("resolution", ["60", "240", "D"])
def test_wide_candles_hold_every_trade_in_one_bar(
    client: ApiClient, tape: World, resolution: str
) -> None:
    body = ohlc(client, resolution=resolution, **{"from": T0_S, "to": T0_S + 1200})

    assert body == {
        "s": "ok",
        "t": [T0_S],
        "o": ["68000.00"],
        "h": ["68200.00"],
        "l": ["67950.00"],
        "c": ["68050.00"],
        "v": ["0.7500"],
    }


def test_thirty_minute_candles_split_at_the_half_hour(
    client: ApiClient, tape: World, trader: NewAccount
) -> None:
    at(tape, T0 + 31 * MINUTE)
    trade(tape, trader, "BTC-PERP", "67990.00", "0.01")

    body = ohlc(client, resolution="30", **{"from": T0_S, "to": T0_S + 3600})

    assert body["t"] == [T0_S, T0_S + 1800]
    assert (body["o"], body["c"]) == (["68000.00", "67990.00"], ["68050.00", "67990.00"])
    assert body["v"] == ["0.7500", "0.0100"]


def test_ohlc_defaults_to_15_minute_candles_up_to_now(client: ApiClient, tape: World) -> None:
    body = ohlc(client)

    assert body["t"] == [T0_S, T0_S + 900]
    assert body["c"] == ["68200.00", "68050.00"]
    assert body["v"] == ["0.4500", "0.3000"]


def test_ohlc_includes_the_candle_containing_to(client: ApiClient, tape: World) -> None:
    window = {"resolution": "1", "from": T0_S}

    at_start = ohlc(client, **window, to=T0_S + 180)
    inside = ohlc(client, **window, to=T0_S + 200)
    before = ohlc(client, **window, to=T0_S + 179)

    assert at_start["t"] == inside["t"] == [T0_S, T0_S + 180]
    assert before["t"] == [T0_S]


def test_ohlc_includes_the_candle_containing_from(client: ApiClient, tape: World) -> None:
    inside = ohlc(client, resolution="1", **{"from": T0_S + 30, "to": T0_S + 1200})
    after = ohlc(client, resolution="1", **{"from": T0_S + 60, "to": T0_S + 1200})

    assert inside["t"] == [T0_S, T0_S + 180, T0_S + 960]
    assert after["t"] == [T0_S + 180, T0_S + 960]


def test_ohlc_without_a_candle_in_the_range_is_no_data(client: ApiClient, tape: World) -> None:
    earlier = ohlc(client, resolution="1", **{"from": T0_S - 3600, "to": T0_S - 1})
    gap = ohlc(client, resolution="1", **{"from": T0_S + 240, "to": T0_S + 900})
    quiet = client.get("/perps/ohlc", params={"symbol": "WTIOIL-PERP"}).json()

    assert earlier == gap == quiet == {"s": "no_data"}


def test_ohlc_of_a_day_range_defaults_within_the_90_day_cap(client: ApiClient, tape: World) -> None:
    at(tape, T0 + 89 * DAY)

    body = ohlc(client, resolution="D")

    assert body["t"] == [T0_S]


def test_ohlc_prices_and_volumes_use_the_markets_decimals(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    trade(world, trader, "WTIOIL-PERP", "70.25", "1.5")
    trade(world, trader, "XAUT-USDC-SPOT", "4000.1", "0.25", side=Side.BUY)

    oil = client.get("/perps/ohlc", params={"symbol": "WTIOIL-PERP", "resolution": "1"}).json()
    gold = client.get("/perps/ohlc", params={"symbol": "XAUT-USDC-SPOT"}).json()

    assert (oil["o"], oil["v"]) == (["70.25"], ["1.50"])
    assert (gold["c"], gold["v"]) == (["4000.10"], ["0.250"])


def test_a_range_of_exactly_90_days_is_served(client: ApiClient, tape: World) -> None:
    body = ohlc(client, **{"from": T0_S + 1200 - 90 * 86_400, "to": T0_S + 1200})

    assert body["s"] == "ok"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": "BTC-PERP", "resolution": "2"}, "resolution"),
        ({"symbol": "BTC-PERP", "resolution": "1D"}, "resolution"),
        ({"symbol": "BTC-PERP", "resolution": "d"}, "resolution"),
        ({"symbol": "BTC-PERP", "from": "yesterday"}, "from"),
        ({"symbol": "BTC-PERP", "from": "1767312000.5"}, "from"),
        ({"symbol": "BTC-PERP", "from": "-1"}, "from"),
        ({"symbol": "BTC-PERP", "to": "now"}, "to"),
        ({"symbol": "BTC-PERP", "to": "1767312000000"}, "to"),
        ({"symbol": "BTC-PERP", "from": str(T0_S + 1), "to": str(T0_S)}, "from"),
        ({"symbol": "BTC-PERP", "from": str(T0_S - 90 * 86_400 - 1), "to": str(T0_S)}, "from"),
        ({"symbol": "NOPE", "resolution": "7"}, "resolution"),
    ],
)
def test_ohlc_refuses_bad_queries_naming_the_parameter(
    client: ApiClient, params: dict[str, str], field: str
) -> None:
    assert_error(client.get("/perps/ohlc", params=params), 400, "VALIDATION_ERROR", field)


@pytest.mark.parametrize("name", ["from", "to"])
def test_an_ohlc_time_of_thousands_of_digits_is_a_400_naming_it_not_a_500(
    client: ApiClient, name: str
) -> None:
    response = client.get("/perps/ohlc", params={"symbol": "BTC-PERP", name: "9" * 5000})

    assert_error(response, 400, "VALIDATION_ERROR", name)


@pytest.mark.parametrize("symbol", ["NOPE-PERP", OPTION])
def test_ohlc_of_an_unknown_market_or_an_option_is_404(client: ApiClient, symbol: str) -> None:
    assert_error(client.get("/perps/ohlc", params={"symbol": symbol}), 404, "UNKNOWN_MARKET")


# -- fees and the insurance fund ----------------------------------------------------------------


def test_perps_fees_list_the_tiers_with_a_maker_rebate_at_the_top(client: ApiClient) -> None:
    response = client.get("/perps/fees")

    assert response.status_code == 200
    assert response.json() == [
        {"min30dVolumeUsd": "0.00", "makerBps": "2", "takerBps": "5"},
        {"min30dVolumeUsd": "1000000.00", "makerBps": "1", "takerBps": "4.5"},
        {"min30dVolumeUsd": "10000000.00", "makerBps": "0", "takerBps": "4"},
        {"min30dVolumeUsd": "50000000.00", "makerBps": "-0.5", "takerBps": "3.5"},
    ]


def test_options_fees_are_bps_of_the_underlying_capped_by_the_premium(client: ApiClient) -> None:
    response = client.get("/options/fees")

    assert response.status_code == 200
    assert response.json() == {
        "makerBps": "2",
        "takerBps": "3",
        "basis": "underlying_notional",
        "premiumCap": "0.125",
    }


def test_the_insurance_fund_starts_empty(client: ApiClient) -> None:
    assert client.get("/perps/insurance-fund").json() == {"balance": "0.00", "history": []}


def test_a_new_worlds_insurance_fund_is_empty(client: ApiClient) -> None:
    # Liquidations fill it (tests/api/test_liquidation.py follows one through).
    response = client.get("/perps/insurance-fund")

    assert response.status_code == 200
    assert response.json() == {"balance": "0.00", "history": []}


# -- credentials --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_market_data_is_public_and_ignores_credentials(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    anonymous = client.get(path)

    assert anonymous.status_code == 200
    for credentials in (
        {"key": read_key(trader)},
        {"key": trade_key(trader)},
        {"token": trader.session_token},
        {"headers": {"Authorization": "Bearer not-a-session"}},
    ):
        response = client.get(path, **credentials)
        assert (response.status_code, response.json()) == (200, anonymous.json())


@pytest.mark.parametrize(
    ("path", "params"),
    [("/perps/market-stats", {"marketId": OPTION}), ("/perps/ohlc", {"symbol": OPTION})],
)
def test_an_options_404_on_a_linear_path_points_at_the_board_and_the_book_that_serve_it(
    client: ApiClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params)

    assert_error(response, 404, "UNKNOWN_MARKET")
    message = response.json()["message"]
    assert message == (
        f"{OPTION} is not served here (option market); use /markets/board for its mark and "
        "/orderbook/{marketId} for its book"
    )
    assert client.get(f"/orderbook/{OPTION}").status_code == 200
    assert OPTION in [o["marketId"] for o in client.get("/markets/board").json()["options"]]
