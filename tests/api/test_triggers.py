"""Trigger orders over HTTP (docs/fidelity.md "Trigger orders"): an untriggered order in the order
lists, its trigger when the control API moves the index, and take-profit/stop-loss children as the
lists show them.

BTC-PERP starts with its mark at 68000.00 (band 64600.00–71400.00)."""

from __future__ import annotations

from typing import Any

from ocx_sim.worlds import NewAccount
from tests.api.conftest import ApiClient, assert_error

PERP = "BTC-PERP"


def place(client: ApiClient, account: NewAccount, **fields: Any) -> dict[str, Any]:
    body = {"marketId": PERP, "side": "buy", "quantity": "0.1", **fields}
    response = client.post("/perps/orders", token=account.session_token, json=body)
    assert response.status_code == 200, response.json()
    answer: dict[str, Any] = response.json()
    return answer


def listed(client: ApiClient, account: NewAccount, path: str) -> list[dict[str, Any]]:
    response = client.get(path, token=account.session_token)
    assert response.status_code == 200, response.json()
    orders: list[dict[str, Any]] = response.json()
    return orders


def set_index(client: ApiClient, price: str) -> None:
    response = client.post(f"/_sim/markets/{PERP}/index", json={"price": price})
    assert response.status_code == 200, response.json()


def test_a_stop_is_listed_untriggered_then_fires_when_the_index_crosses_it(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    place(client, other, side="sell", price="69100.00")
    stop = place(client, trader, type="market", stopPrice="69000")

    assert (stop["status"], stop["stopPrice"], stop["fills"]) == ("untriggered", "69000.00", [])
    for path in ("/perps/orders", "/perps/orders/open"):
        assert [(o["id"], o["status"]) for o in listed(client, trader, path)] == [
            (stop["id"], "untriggered")
        ]

    set_index(client, "68999.99")
    assert listed(client, trader, "/perps/orders/open")[0]["status"] == "untriggered"
    set_index(client, "69000.00")

    (fired,) = listed(client, trader, "/perps/orders")
    assert (fired["id"], fired["status"], fired["avgFillPrice"]) == (
        stop["id"],
        "filled",
        "69100.00",
    )
    assert listed(client, trader, "/perps/orders/open") == []


def test_take_profit_and_stop_loss_children_appear_when_the_entry_fills(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    entry = place(client, trader, price="68000.00", takeProfitPrice="70000", stopLossPrice="66000")
    assert (entry["takeProfitPrice"], entry["stopLossPrice"]) == ("70000.00", "66000.00")

    place(client, other, side="sell", type="market")

    children = [o for o in listed(client, trader, "/perps/orders/open") if o["id"] != entry["id"]]
    assert sorted(
        (o["side"], o["type"], o["status"], o["reduceOnly"], o["quantity"], o["stopPrice"])
        for o in children
    ) == [
        ("sell", "market", "untriggered", True, "0.1000", "66000.00"),
        ("sell", "market", "untriggered", True, "0.1000", "70000.00"),
    ]
    by_trigger = {o["stopPrice"]: o for o in children}
    assert by_trigger["70000.00"]["takeProfitPrice"] == "70000.00"
    assert by_trigger["66000.00"]["stopLossPrice"] == "66000.00"


def test_a_stop_loss_child_after_a_partial_close_is_trimmed_and_closes_the_rest(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    entry = place(client, trader, price="68000.00", takeProfitPrice="70000", stopLossPrice="66000")
    place(client, other, side="sell", type="market")
    place(client, other, price="67900.00", quantity="0.04")
    place(client, trader, side="sell", type="market", quantity="0.04")

    children = [o for o in listed(client, trader, "/perps/orders/open") if o["id"] != entry["id"]]
    # Both children follow the position down to 0.06 (each capped on its own).
    assert sorted(o["quantity"] for o in children) == ["0.0600", "0.0600"]
    place(client, other, price="65900.00", quantity="0.1")
    set_index(client, "65950.00")

    stop_loss = next(o for o in children if o["stopLossPrice"] is not None)
    after = {o["id"]: o for o in listed(client, trader, "/perps/orders")}
    assert (after[stop_loss["id"]]["status"], after[stop_loss["id"]]["filledQuantity"]) == (
        "filled",
        "0.0600",
    )
    positions = client.get("/perps/positions", token=trader.session_token).json()
    assert positions == []


def test_a_take_profit_below_the_stop_loss_of_a_buy_is_400(
    client: ApiClient, trader: NewAccount
) -> None:
    body = {
        "marketId": PERP,
        "side": "buy",
        "quantity": "0.1",
        "price": "68000.00",
        "takeProfitPrice": "66000.00",
        "stopLossPrice": "67000.00",
    }

    response = client.post("/perps/orders", token=trader.session_token, json=body)

    assert_error(response, 400, "VALIDATION_ERROR", "takeProfitPrice")


def test_untriggered_stops_are_cancelled_like_any_open_order(
    client: ApiClient, trader: NewAccount
) -> None:
    stop = place(client, trader, type="market", stopPrice="69000.00")
    other_stop = place(client, trader, price="69050.00", stopPrice="69000.00")

    response = client.post(f"/perps/orders/{stop['id']}/cancel", token=trader.session_token)

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    cancel_all = client.post("/perps/orders/cancel-all", token=trader.session_token)
    assert cancel_all.json() == {"cancelled": [other_stop["id"]], "count": 1}
