"""The bundled sandbox quotes options: a client buys at the board's ask and sells at its bid
over the API, against the house options agent (docs/fidelity.md "Sandbox")."""

from __future__ import annotations

from typing import Any

import pytest

from ocx_sim.engine.sim import LIQUIDITY_ADDRESS
from ocx_sim.worlds import NewAccount, World, WorldConfig
from tests.api.conftest import ApiClient


@pytest.fixture
def config() -> WorldConfig:
    """The default world built from the bundled `sandbox` scenario (what `make serve` runs)."""
    return WorldConfig(seed=7, scenario="sandbox")


def _at_the_money_call(client: ApiClient) -> dict[str, Any]:
    """The board's call nearest the forward of the nearest expiry."""
    board = client.get("/markets/board", params={"underlying": "BTC"}).json()
    expiry = board["expiries"][0]
    forward = float(board["expiryForwards"][expiry]["forwardPrice"])
    calls = [o for o in board["options"] if o["expiry"] == expiry and o["type"] == "call"]
    entry: dict[str, Any] = min(calls, key=lambda o: abs(float(o["strike"]) - forward))
    return entry


@pytest.mark.parametrize(("side", "price"), [("buy", "ask"), ("sell", "bid")])
def test_a_client_trades_an_option_at_the_board_price_against_the_house(
    client: ApiClient, world: World, trader: NewAccount, side: str, price: str
) -> None:
    entry = _at_the_money_call(client)
    body = {
        "marketId": entry["marketId"],
        "side": side,
        "quantity": "1.00",
        "price": entry[price],
        "timeInForce": "ioc",
    }

    response = client.post("/orders", json=body, token=trader.session_token)

    assert response.status_code == 200, response.json()
    placed = response.json()
    [fill] = placed["fills"]
    assert (fill["price"], fill["quantity"], fill["feeRole"]) == (entry[price], "1.00", "taker")
    assert placed["position"]["side"] == ("long" if side == "buy" else "short")
    house = world.exchange.find_user(LIQUIDITY_ADDRESS)
    assert house is not None
    maker = world.exchange.position(house.user_id, entry["marketId"])
    assert maker is not None and maker.size == (-1 if side == "buy" else 1)
    assert world.exchange.check_invariants() == []


def test_a_client_buys_a_call_spread_against_the_house_all_or_none(
    client: ApiClient, trader: NewAccount
) -> None:
    low = _at_the_money_call(client)
    board = client.get("/markets/board", params={"underlying": "BTC"}).json()
    higher = [
        o
        for o in board["options"]
        if o["expiry"] == low["expiry"]
        and o["type"] == "call"
        and float(o["strike"]) > float(low["strike"])
    ]
    high = min(higher, key=lambda o: float(o["strike"]))
    body = {
        "legs": [
            {"market": low["marketId"], "side": "buy", "quantity": "1.00", "price": low["ask"]},
            {"market": high["marketId"], "side": "sell", "quantity": "1.00", "price": high["bid"]},
        ]
    }

    response = client.post("/orders/strategy", json=body, token=trader.session_token)

    assert response.status_code == 200, response.json()
    result = response.json()
    assert result["fullyFilled"] is True
    assert [[f["price"] for f in leg["fills"]] for leg in result["legs"]] == [
        [low["ask"]],
        [high["bid"]],
    ]
