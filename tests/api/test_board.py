"""`GET /markets/board` and `GET /markets/dvol` (https://docs.ocx.global/api-reference/rest,
docs/fidelity.md "Options"): public reference marks, in the formats of the contract."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import pytest

from ocx_sim.engine.core.surface import years
from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient, assert_error, atm_call

FIXED = {
    "bid": r"\d+\.\d{2}",
    "ask": r"\d+\.\d{2}",
    "mark": r"\d+\.\d{2}",
    "strike": r"\d+\.\d{2}",
    "iv": r"\d+\.\d{4}",
    "delta": r"-?\d\.\d{4}",
    "gamma": r"\d\.\d{8}",
    "vega": r"\d+\.\d{4}",
    "theta": r"-?\d+\.\d{4}",
}


def test_the_board_lists_every_trading_option_of_btc_by_default(
    client: ApiClient, world: World
) -> None:
    body = client.get("/markets/board").json()

    now = world.exchange.now_ms
    listed = sorted(m.id for m in world.exchange.catalog.options("BTC") if (m.expiry_ms or 0) > now)
    assert sorted(o["marketId"] for o in body["options"]) == listed
    assert body["underlyingSymbol"] == "BTC"
    assert body["underlyingPrice"] == "68000.00"
    assert client.get("/markets/board", params={"underlying": "BTC"}).json() == body


def test_board_entries_carry_the_fields_and_formats_of_the_contract(client: ApiClient) -> None:
    body = client.get("/markets/board").json()

    assert body["expiries"] == sorted(set(body["expiries"]))
    assert set(body["expiryForwards"]) == set(body["expiries"])
    for option in body["options"]:
        for field, pattern in FIXED.items():
            assert re.fullmatch(pattern, option[field]), (field, option)
        assert option["expiry"] in body["expiries"]
        assert option["type"] in ("call", "put")
        strike = option["marketId"].split("-")[-2]
        assert Decimal(option["strike"]) == Decimal(strike)
        assert Decimal(option["mark"]) >= Decimal("0.01")
        assert Decimal(option["bid"]) <= Decimal(option["mark"]) <= Decimal(option["ask"]) or (
            Decimal(option["mark"]) == Decimal("0.01")
        )
    keys = [(o["expiry"], Decimal(o["strike"]), o["type"]) for o in body["options"]]
    assert keys == sorted(keys)


def test_each_expiry_is_priced_off_its_own_forward(client: ApiClient, world: World) -> None:
    body = client.get("/markets/board").json()
    future = world.exchange.market("BTC-USDC-2026-03-27")

    forwards = body["expiryForwards"]

    assert forwards["2026-03-27"] == {
        "forwardPrice": f"{world.exchange.mark_price(future.id):f}",
        "futuresMarketId": future.id,
    }
    # The Friday before the future's expiry has no future of its own: S·e^(rT).
    synthetic = forwards["2026-03-20"]
    t = years((future.expiry_ms or 0) - 7 * 86_400_000 - world.exchange.now_ms)
    assert synthetic["futuresMarketId"] is None
    assert Decimal(synthetic["forwardPrice"]) == Decimal(
        repr(68_000 * math.exp(0.05 * t))
    ).quantize(Decimal("0.01"))


def test_an_option_position_is_marked_at_the_board_mark(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    option = atm_call(world)
    mark = next(
        o["mark"]
        for o in client.get("/markets/board").json()["options"]
        if o["marketId"] == option.id
    )
    order = {"marketId": option.id, "quantity": "1.00", "price": mark}
    client.post("/orders", json={**order, "side": "sell"}, token=other.session_token)
    client.post("/orders", json={**order, "side": "buy"}, token=trader.session_token)

    positions = client.get("/positions/me", token=trader.session_token).json()

    assert [(p["marketId"], p["markPrice"]) for p in positions] == [(option.id, mark)]


def test_a_surface_change_moves_the_board_and_dvol_at_once(client: ApiClient, world: World) -> None:
    before = client.get("/markets/board").json()["options"][60]
    dvol = client.get("/markets/dvol").json()["dvol"]

    world.exchange.sim.set_surface("BTC", atm_vol=Decimal("0.80"))

    after = client.get("/markets/board").json()["options"][60]
    assert Decimal(after["iv"]) > Decimal(before["iv"])
    assert Decimal(after["mark"]) > Decimal(before["mark"])
    assert Decimal(client.get("/markets/dvol").json()["dvol"]) > Decimal(dvol) + 20


def test_dvol_is_the_30_day_atm_iv_in_vol_points(client: ApiClient, world: World) -> None:
    body = client.get("/markets/dvol").json()

    assert body == {
        "underlying": "BTC",
        "dvol": body["dvol"],
        "tenorDays": 30,
        "computedAt": "2026-01-02T00:00:00.000Z",
        "sourceTimestamp": "2026-01-02T00:00:00.000Z",
    }
    assert re.fullmatch(r"\d+\.\d{2}", body["dvol"])
    # The default surface is 55 % at 30 days; interpolating between its neighbours in total
    # variance lands within a fraction of a vol point of it.
    assert abs(Decimal(body["dvol"]) - 55) < Decimal("0.5")


@pytest.mark.parametrize("path", ["/markets/board", "/markets/dvol"])
@pytest.mark.parametrize("underlying", ["ETH", "XAUT"], ids=["unknown", "no options"])
def test_an_underlying_without_options_is_404_unknown_market_naming_underlying(
    client: ApiClient, path: str, underlying: str
) -> None:
    response = client.get(path, params={"underlying": underlying})

    assert_error(response, 404, "UNKNOWN_MARKET", "underlying")


@pytest.mark.parametrize("path", ["/markets/board", "/markets/dvol"])
def test_without_an_index_the_board_and_dvol_are_503(
    client: ApiClient, world: World, path: str
) -> None:
    world.exchange.sim.set_index("BTC-PERP", None)

    assert_error(client.get(path), 503, "UPSTREAM_DEGRADED")


@pytest.mark.parametrize("path", ["/markets/board", "/markets/dvol"])
def test_the_board_and_dvol_are_public(client: ApiClient, path: str) -> None:
    assert client.get(path).status_code == 200
    assert client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 200
