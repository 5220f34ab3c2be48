"""Only the part of an order that would increase the position holds margin, over HTTP
(docs/fidelity.md "Fees and risk"): a closing order needs no margin and no fee room, so a
kill switch that flattens at high margin usage is accepted, and the preview says "0.00"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient, assert_error

PERP = "BTC-PERP"


def order(
    client: ApiClient, account: NewAccount, side: str, quantity: str, **fields: Any
) -> dict[str, Any]:
    body = {"marketId": PERP, "side": side, "quantity": quantity, "price": "68000", **fields}
    response = client.post("/perps/orders", token=account.session_token, json=body)
    assert response.status_code == 200, response.json()
    answer: dict[str, Any] = response.json()
    return answer


def balances(client: ApiClient, account: NewAccount) -> dict[str, str]:
    body: dict[str, str] = client.get("/perps/balances", token=account.session_token).json()
    return body


@pytest.fixture
def stretched(world: World, client: ApiClient, other: NewAccount) -> NewAccount:
    """Long 0.28 BTC-PERP at 68000 on 1,000 USDC: 952 of initial margin, 96 % margin usage.
    `other` has a bid of 0.5 resting at 68000 to close against."""
    account = world.create_account(balances={Bucket.PERPS: Decimal(1000)})
    order(client, other, "sell", "0.28")
    order(client, account, "buy", "0.28")
    order(client, other, "buy", "0.5")
    return account


def test_a_flattening_market_order_at_96_percent_margin_usage_is_accepted(
    client: ApiClient, stretched: NewAccount
) -> None:
    assert Decimal(balances(client, stretched)["marginUsage"]) >= Decimal("0.95")

    # A plain market order, not reduce-only: the kill switch a bot reaches for.
    flattened = order(client, stretched, "sell", "0.28", type="market", price=None)

    assert (flattened["status"], flattened["filledQuantity"]) == ("filled", "0.2800")
    assert client.get("/perps/positions", token=stretched.session_token).json() == []
    assert balances(client, stretched)["initialMargin"] == "0.00"


def test_an_order_beyond_the_position_pays_for_its_increasing_part_only(
    client: ApiClient, stretched: NewAccount
) -> None:
    # 0.28 closes; the 0.02 that would open a short needs 0.02 × 68000 / 20 = 68 plus its fee,
    # more than the 28.48 available.
    response = client.post(
        "/perps/orders",
        token=stretched.session_token,
        json={"marketId": PERP, "side": "sell", "quantity": "0.3", "type": "market"},
    )

    assert_error(response, 422, "INSUFFICIENT_MARGIN")
    # 68 + 0.02 × 68000 × 5 bps
    assert response.json()["details"]["requiredIm"] == "68.68"


def test_a_preview_of_an_order_that_only_closes_requires_no_margin_and_is_approved(
    client: ApiClient, stretched: NewAccount
) -> None:
    body = client.post(
        "/perps/orders/preview",
        token=stretched.session_token,
        json={"marketId": PERP, "side": "sell", "quantity": "0.28", "price": "68000"},
    ).json()

    assert (body["marginRequired"], body["approved"]) == ("0.00", True)
    assert body["notional"] == "19040.00"


def test_a_preview_counts_what_the_resting_closing_orders_already_close(
    client: ApiClient, stretched: NewAccount
) -> None:
    # A take-profit as a plain limit order closes 0.2 of the 0.28: of a second sell of 0.1,
    # 0.08 is left to close and 0.02 would open a short.
    order(client, stretched, "sell", "0.2", price="70000")

    body = client.post(
        "/perps/orders/preview",
        token=stretched.session_token,
        json={"marketId": PERP, "side": "sell", "quantity": "0.1", "price": "69000"},
    ).json()

    assert body["marginRequired"] == "69.00"  # 0.02 × 69000 / 20
    # more than the 28.48 available
    assert (body["approved"], body["reasonCode"]) == (False, "INSUFFICIENT_MARGIN")


def test_a_resting_closing_order_holds_no_margin_until_the_position_is_gone(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    order(client, other, "sell", "0.1")
    order(client, trader, "buy", "0.1")
    position_margin = balances(client, trader)["initialMargin"]
    assert position_margin == "340.00"  # 0.1 × 68000 / 20

    take_profit = order(client, trader, "sell", "0.1", price="70000")
    assert balances(client, trader)["initialMargin"] == "340.00"

    # The position closes elsewhere: the resting sell would now open a short, and holds margin.
    order(client, other, "buy", "0.1")
    order(client, trader, "sell", "0.1", type="market", price=None)
    assert balances(client, trader)["initialMargin"] == "350.00"  # 0.1 × 70000 / 20
    ids = [o["id"] for o in client.get("/perps/orders", token=trader.session_token).json()]
    assert take_profit["id"] in ids


def test_growing_a_closing_order_past_the_position_charges_the_growth(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    order(client, other, "sell", "0.1")
    order(client, trader, "buy", "0.1")
    take_profit = order(client, trader, "sell", "0.1", price="70000")

    response = client.post(
        f"/perps/orders/{take_profit['id']}/modify",
        token=trader.session_token,
        json={"quantity": "0.3"},
    )

    assert response.status_code == 200, response.json()
    # The position absorbs 0.1; the other 0.2 × 70000 / 20 holds margin.
    assert balances(client, trader)["initialMargin"] == "1040.00"  # 340 + 700
