"""Margin and liquidation over HTTP (docs/fidelity.md "Margin and liquidation"): `/perps/balances`
with a cross and an isolated position, each position's `liquidationPrice` and `leverage`, and
`/perps/insurance-fund` after liquidations driven by `POST /_sim/markets/BTC-PERP/mark`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient

PERP = "BTC-PERP"
NOW = "2026-01-02T00:00:00.000Z"


def buy(client: ApiClient, account: NewAccount, quantity: str, margin_mode: str) -> None:
    body = {
        "marketId": PERP,
        "side": "buy",
        "quantity": quantity,
        "price": "68000",
        "marginMode": margin_mode,
    }
    response = client.post("/perps/orders", token=account.session_token, json=body)
    assert response.status_code == 200, response.json()


def sell_market(client: ApiClient, account: NewAccount, quantity: str) -> None:
    body = {"marketId": PERP, "side": "sell", "quantity": quantity, "type": "market"}
    response = client.post("/perps/orders", token=account.session_token, json=body)
    assert response.status_code == 200, response.json()


def get(client: ApiClient, account: NewAccount, path: str) -> Any:
    response = client.get(path, token=account.session_token)
    assert response.status_code == 200, response.json()
    return response.json()


def positions(client: ApiClient, account: NewAccount) -> dict[str, dict[str, Any]]:
    return {p["marginMode"]: p for p in get(client, account, "/perps/positions")}


def mark(client: ApiClient, price: str) -> None:
    response = client.post(f"/_sim/markets/{PERP}/mark", json={"price": price})
    assert response.status_code == 200, response.json()


def test_margin_liquidation_prices_and_the_insurance_fund(
    client: ApiClient, world: World, other: NewAccount
) -> None:
    account = world.create_account(balances={Bucket.PERPS: Decimal(1000)})
    # long 0.2 cross and 0.01 isolated at 68000 as the maker (2 bps: 2.72 and 0.136)
    buy(client, account, "0.2", "cross")
    sell_market(client, other, "0.2")
    buy(client, account, "0.01", "isolated")
    sell_market(client, other, "0.01")

    # balance 997.144; IM 0.2 × 68000 / 20 = 680 cross + 34 allocated = 714, maintenance 476;
    # available: 997.144 − 34 − 680 = 283.144; usage 714 / 997.144
    assert get(client, account, "/perps/balances") == {
        "perpsBalance": "997.144",
        "equity": "997.144",
        "unrealizedPnl": "0.00",
        "initialMargin": "714.00",
        "maintenanceMargin": "476.00",
        "availableMargin": "283.144",
        "marginUsage": "0.7160",
    }
    portfolio = get(client, account, "/portfolio/me")["margin"]
    assert portfolio == {
        "initialMargin": "714.00",
        "maintenanceMargin": "476.00",
        "marginUsage": "0.7160",
    }
    # cross: 963.144 + 0.2 (P − 68000) = P / 150 at 65363.048…, shown on the tick above;
    # isolated: 34 + 0.01 (P − 68000) = P / 3000 at 66827.586…; leverage 13600 / 963.144
    # and 680 / 34
    held = positions(client, account)
    assert (held["cross"]["liquidationPrice"], held["cross"]["leverage"]) == ("65363.05", "14.12")
    assert (held["isolated"]["liquidationPrice"], held["isolated"]["leverage"]) == (
        "66827.59",
        "20",
    )
    assert get(client, account, "/perps/insurance-fund") == {"balance": "0.00", "history": []}

    mark(client, "66000.00")

    # the isolated position only: to the fund at 66000 (the book is empty), PnL −20, fee 1 %
    # of 660 = 6.60, within its allocation; the cross part keeps 970.544 − 0.2 × 2000
    assert list(positions(client, account)) == ["cross"]
    assert get(client, account, "/perps/insurance-fund") == {
        "balance": "6.60",
        "history": [{"type": "liquidation_fee", "amount": "6.60", "createdAt": NOW}],
    }
    balances = get(client, account, "/perps/balances")
    assert (balances["perpsBalance"], balances["equity"]) == ("970.544", "570.544")
    # (13600 − 970.544) × 150 / 29 = 65324.772…
    assert positions(client, account)["cross"]["liquidationPrice"] == "65324.78"

    mark(client, "65324.78")
    assert list(positions(client, account)) == ["cross"]

    mark(client, "65324.77")

    # all 0.2 to the fund at 65324.77: PnL −535.046, fee 1 % of 13064.954 = 130.64954
    assert positions(client, account) == {}
    assert get(client, account, "/perps/balances")["perpsBalance"] == "304.84846"
    assert get(client, account, "/perps/insurance-fund") == {
        "balance": "137.24954",
        "history": [
            {"type": "liquidation_fee", "amount": "130.64954", "createdAt": NOW},
            {"type": "liquidation_fee", "amount": "6.60", "createdAt": NOW},
        ],
    }
    assert world.exchange.check_invariants() == []
