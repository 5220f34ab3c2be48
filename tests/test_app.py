"""The Starlette app, in process: `/perps/markets` (alias `/markets/linear`) and routing errors."""

from __future__ import annotations

import asyncio
import re
import tomllib
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest

from ocx_sim.app import create_app
from ocx_sim.engine.core.markets import MarketType
from ocx_sim.engine.exchange import Exchange
from ocx_sim.testing.client import InProcessClient
from ocx_sim.testing.sandbox import Sandbox
from ocx_sim.worlds import WorldConfig, Worlds

# The default catalog's linear markets, in the order of OCX's GitBook market listing
# (https://ocx.gitbook.io/ocx-doc/ocx/product/markets). F1/F2 are the last Fridays of March and
# June 2026 for a world starting 2026-01-02.
DEFAULT_LINEAR_IDS = [
    "BTC-USDC-SPOT",
    "BTC-PERP",
    "BTC-USDC-2026-03-27",
    "BTC-USDC-2026-06-26",
    "XAUT-USDC-SPOT",
    "XAUT-USDC-PERP",
    "XAUT-USDC-2026-03-27",
    "WTIOIL-USDC-SPOT",
    "WTIOIL-PERP",
    "WTIOIL-USDC-2026-03-27",
    "WTIOIL-USDC-2026-06-26",
]
UNION_FIELDS = {
    "id",
    "symbol",
    "marketId",
    "marketType",
    "type",
    "baseSymbol",
    "base",
    "quoteSymbol",
    "quote",
    "markPrice",
    "priceDecimals",
    "sizeDecimals",
    "tickSize",
    "stepSize",
    "minQuantity",
    "tradingStatus",
    "priceBandLow",
    "priceBandHigh",
    "makerFeeBps",
    "takerFeeBps",
    "indexMarketId",
}
EXTRA_FIELDS = {
    "spot": set(),
    "perp": {"fundingIntervalMs", "fundingMaxRateBps"},
    "future": {"expiry"},
}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def worlds() -> Worlds:
    return Worlds(WorldConfig(seed=1))


@pytest.fixture
def exchange(worlds: Worlds) -> Exchange:
    return worlds.default.exchange


def call(app: Any, method: str, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)

    return asyncio.run(go())


def markets(worlds: Worlds, path: str = "/perps/markets") -> list[dict[str, Any]]:
    response = call(create_app(worlds), "GET", path)
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    return body


def by_id(worlds: Worlds) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in markets(worlds)}


def _on_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (value / tick).to_integral_value(rounding=rounding) * tick


# -- the list -------------------------------------------------------------------------------


def test_perps_markets_and_markets_linear_answer_200_with_identical_bodies(
    worlds: Worlds,
    exchange: Exchange,
) -> None:
    app = create_app(worlds)
    perps = call(app, "GET", "/perps/markets")
    linear = call(app, "GET", "/markets/linear")
    assert perps.status_code == linear.status_code == 200
    assert perps.headers["content-type"].startswith("application/json")
    assert perps.content == linear.content
    assert len(perps.json()) == len(DEFAULT_LINEAR_IDS)


def test_market_list_is_exactly_the_default_catalogs_linear_markets(
    worlds: Worlds, exchange: Exchange
) -> None:
    ids = [m["id"] for m in markets(worlds)]
    assert ids == DEFAULT_LINEAR_IDS
    assert ids == [spec.id for spec in exchange.catalog if spec.type is not MarketType.OPTION]
    assert any(spec.type is MarketType.OPTION for spec in exchange.catalog)


def test_market_list_holds_spot_perps_and_futures_but_no_options(
    worlds: Worlds, exchange: Exchange
) -> None:
    types = [m["marketType"] for m in markets(worlds)]
    assert types.count("spot") == 3
    assert types.count("perp") == 3
    assert types.count("future") == 5
    assert "option" not in types


def test_create_app_without_worlds_serves_a_fresh_default_world() -> None:
    response = call(create_app(), "GET", "/perps/markets")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()] == DEFAULT_LINEAR_IDS


def test_the_openapi_document_carries_the_version_pyproject_toml_gives_the_package() -> None:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["version"]

    info = call(create_app(), "GET", "/openapi.json").json()["info"]

    assert info["version"] == version("ocx-sim") == declared


# -- the market shape -----------------------------------------------------------------------


def test_every_market_has_the_union_shape_and_its_types_extra_fields(
    worlds: Worlds, exchange: Exchange
) -> None:
    for market in markets(worlds):
        assert set(market) == UNION_FIELDS | EXTRA_FIELDS[market["marketType"]], market["id"]


def test_both_doc_sets_names_agree_on_every_market(worlds: Worlds, exchange: Exchange) -> None:
    gitbook_type = {"spot": "spot", "perp": "perpetual", "future": "future"}
    for market in markets(worlds):
        assert market["id"] == market["symbol"] == market["marketId"]
        assert market["type"] == gitbook_type[market["marketType"]]
        assert market["baseSymbol"] == market["base"] == market["id"].split("-")[0]
        assert market["quoteSymbol"] == market["quote"] == "USDC"


def test_btc_perp_renders_padded_decimals_band_fees_and_funding_terms(
    worlds: Worlds,
    exchange: Exchange,
) -> None:
    assert by_id(worlds)["BTC-PERP"] == {
        "id": "BTC-PERP",
        "symbol": "BTC-PERP",
        "marketId": "BTC-PERP",
        "marketType": "perp",
        "type": "perpetual",
        "baseSymbol": "BTC",
        "base": "BTC",
        "quoteSymbol": "USDC",
        "quote": "USDC",
        "markPrice": "68000.00",
        "priceDecimals": 2,
        "sizeDecimals": 4,
        "tickSize": "0.01",
        "stepSize": "0.0001",
        "minQuantity": "0.0001",
        "tradingStatus": "active",
        "priceBandLow": "61200.00",
        "priceBandHigh": "74800.00",
        "makerFeeBps": "2",
        "takerFeeBps": "5",
        "indexMarketId": "BTC-USDC-SPOT",
        "fundingIntervalMs": 300_000,
        "fundingMaxRateBps": "25",
    }


def test_decimals_are_strings_padded_to_the_markets_decimals(
    worlds: Worlds, exchange: Exchange
) -> None:
    for market in markets(worlds):
        price_dp, size_dp = market["priceDecimals"], market["sizeDecimals"]
        assert type(price_dp) is int
        assert type(size_dp) is int
        price = re.compile(rf"\d+\.\d{{{price_dp}}}")
        size = re.compile(rf"\d+\.\d{{{size_dp}}}")
        for name in ("markPrice", "tickSize", "priceBandLow", "priceBandHigh"):
            assert isinstance(market[name], str), (market["id"], name)
            assert price.fullmatch(market[name]), (market["id"], name, market[name])
        for name in ("stepSize", "minQuantity"):
            assert isinstance(market[name], str), (market["id"], name)
            assert size.fullmatch(market[name]), (market["id"], name, market[name])
        assert Decimal(market["tickSize"]) == Decimal(1).scaleb(-price_dp)
        assert Decimal(market["stepSize"]) == Decimal(1).scaleb(-size_dp)


def test_perps_carry_integer_funding_interval_and_futures_an_iso_expiry(
    worlds: Worlds,
    exchange: Exchange,
) -> None:
    listed = by_id(worlds)
    for market_id in ("BTC-PERP", "XAUT-USDC-PERP", "WTIOIL-PERP"):
        assert type(listed[market_id]["fundingIntervalMs"]) is int
        assert listed[market_id]["fundingIntervalMs"] == 300_000
    assert listed["BTC-USDC-2026-03-27"]["expiry"] == "2026-03-27T08:00:00.000Z"
    assert listed["BTC-USDC-2026-06-26"]["expiry"] == "2026-06-26T08:00:00.000Z"
    assert listed["XAUT-USDC-2026-03-27"]["expiry"] == "2026-03-27T08:00:00.000Z"
    for market in listed.values():
        if market["marketType"] == "future":
            assert ISO_MS.fullmatch(market["expiry"])
            assert market["id"].endswith(market["expiry"][:10])


def test_spot_markets_have_no_index_market_and_derivatives_point_at_their_spot(
    worlds: Worlds,
    exchange: Exchange,
) -> None:
    for market in markets(worlds):
        if market["marketType"] == "spot":
            assert market["indexMarketId"] is None
        else:
            assert market["indexMarketId"] == f"{market['base']}-USDC-SPOT"


# -- prices ---------------------------------------------------------------------------------


def test_btc_perp_band_is_ten_percent_either_side_of_the_mark(
    worlds: Worlds, exchange: Exchange
) -> None:
    btc = by_id(worlds)["BTC-PERP"]
    assert (btc["priceBandLow"], btc["markPrice"], btc["priceBandHigh"]) == (
        "61200.00",
        "68000.00",
        "74800.00",
    )


def test_every_band_is_mark_times_0_90_and_1_10_rounded_inward_to_the_tick(
    worlds: Worlds,
    exchange: Exchange,
) -> None:
    # The band holds the prices within ±10 % of the mark: a limit that is not on the tick
    # rounds toward the mark, so no price in the band is more than 10 % away.
    wrong: dict[str, dict[str, tuple[str, str]]] = {}
    for market in markets(worlds):
        mark, tick = Decimal(market["markPrice"]), Decimal(market["tickSize"])
        low = _on_tick(mark * Decimal("0.90"), tick, ROUND_CEILING)
        high = _on_tick(mark * Decimal("1.10"), tick, ROUND_FLOOR)
        expected = (f"{low:.{market['priceDecimals']}f}", f"{high:.{market['priceDecimals']}f}")
        actual = (market["priceBandLow"], market["priceBandHigh"])
        if actual != expected:
            wrong[market["id"]] = {"actual": actual, "expected": expected}
    assert wrong == {}


def test_market_list_renders_the_live_mark_and_band(worlds: Worlds, exchange: Exchange) -> None:
    exchange.sim.set_index("BTC-PERP", Decimal("70000"))
    btc = by_id(worlds)["BTC-PERP"]
    assert btc["markPrice"] == "70000.00"
    assert (btc["priceBandLow"], btc["priceBandHigh"]) == ("63000.00", "77000.00")


def test_halted_market_shows_halted_and_the_others_stay_active(
    worlds: Worlds, exchange: Exchange
) -> None:
    exchange.sim.halt("BTC-PERP")
    statuses = {m["id"]: m["tradingStatus"] for m in markets(worlds)}
    assert statuses.pop("BTC-PERP") == "halted"
    assert set(statuses.values()) == {"active"}
    exchange.sim.resume("BTC-PERP")
    assert by_id(worlds)["BTC-PERP"]["tradingStatus"] == "active"


# -- routing errors -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/perps/market", "/perps/markets/BTC-PERP/x", "/"])
def test_unknown_path_answers_404_not_found_with_the_error_body(
    worlds: Worlds, exchange: Exchange, path: str
) -> None:
    response = call(create_app(worlds), "GET", path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "code", "message"}
    assert body["error"] == body["code"] == "NOT_FOUND"
    assert isinstance(body["message"], str)
    assert body["message"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/perps/markets", "/markets/linear"])
def test_wrong_method_answers_405_method_not_allowed_with_the_error_body(
    worlds: Worlds, exchange: Exchange, path: str, method: str
) -> None:
    response = call(create_app(worlds), method, path)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "code", "message"}
    assert body["error"] == body["code"] == "METHOD_NOT_ALLOWED"
    assert isinstance(body["message"], str)
    assert body["message"]


def test_wrong_method_answer_names_the_allowed_methods(worlds: Worlds, exchange: Exchange) -> None:
    # RFC 9110 §15.5.6: a 405 response MUST carry an Allow header listing the target's methods.
    response = call(create_app(worlds), "POST", "/perps/markets")
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers.get("allow", "").split(",")}
    assert "GET" in allowed


def test_without_the_control_api_every_sim_path_is_404_and_absent_from_openapi() -> None:
    worlds = Worlds(WorldConfig())
    world = worlds.create(WorldConfig())
    with (
        InProcessClient(create_app(worlds)) as on,
        InProcessClient(create_app(worlds, control=False)) as off,
    ):
        control_paths = [
            path
            for path, operations in on.get("/openapi.json").json()["paths"].items()
            if any("control" in op.get("tags", []) for op in operations.values())
        ]
        assert len(control_paths) > 20  # every /_sim endpoint, so the loop below means something
        for path in control_paths:
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            for prefix in ("", f"/w/{world.world_id}"):
                answer = off.post(prefix + concrete, json={})
                assert (answer.status_code, answer.json()["code"]) == (404, "NOT_FOUND"), path
        assert not any(
            path.startswith("/_sim") for path in off.get("/openapi.json").json()["paths"]
        )
        # The OCX surface is untouched.
        assert off.get("/perps/markets").status_code == 200


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/_sim/faults", {"GET", "HEAD", "POST"}),
        ("/perps/me/api-keys", {"GET", "HEAD", "POST"}),
        ("/_sim/worlds", {"GET", "HEAD", "POST"}),
    ],
)
@pytest.mark.parametrize("under_a_world", [False, True], ids=["root", "world"])
def test_a_405_allows_every_method_the_path_serves_over_http(
    ocx_sandbox: Sandbox, path: str, methods: set[str], under_a_world: bool
) -> None:
    with ocx_sandbox.world() as world:
        base = world.url if under_a_world else ocx_sandbox.url
        response = httpx.request("PATCH", base + path, timeout=10)
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].split(", ")) == methods
