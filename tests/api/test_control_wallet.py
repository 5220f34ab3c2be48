"""The withdrawal controls (docs/control-api.md "Markets": `vault/liquidity`,
`withdrawals/fail-next`) and the withdrawal lifecycle seen over HTTP: `/wallet/settlements` after
clock advances. Every answer is also checked against /openapi.json by the client."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.worlds import NewAccount, World, Worlds
from tests.api.conftest import ApiClient, assert_error

TX_HASH = re.compile(r"0x[0-9a-f]{64}")


def advance(client: ApiClient, to: str, base: str = "") -> list[dict[str, Any]]:
    """Advance the clock to `to` (a time of 2026-01-02, UTC); answers the SettlementChanged
    events the advance produced."""
    response = client.post(base + "/_sim/clock/advance", json={"to": f"2026-01-02T{to}Z"})
    assert response.status_code == 200, response.json()
    events: list[dict[str, Any]] = response.json()["events"]
    return [e for e in events if e["type"] == "SettlementChanged"]


def withdraw(client: ApiClient, account: NewAccount, amount: str) -> str:
    response = client.post("/wallet/withdraw", json={"amount": amount}, token=account.session_token)
    assert response.status_code == 200, response.json()
    withdrawal_id: str = response.json()["withdrawalId"]
    return withdrawal_id


def withdrawals(client: ApiClient, account: NewAccount) -> list[dict[str, Any]]:
    response = client.get(
        "/wallet/settlements", params={"kind": "withdraw"}, token=account.session_token
    )
    assert response.status_code == 200, response.json()
    records: list[dict[str, Any]] = response.json()
    return records


def balance(client: ApiClient, account: NewAccount) -> dict[str, Any]:
    response = client.get("/wallet/balance", token=account.session_token)
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    return body


# -- POST /_sim/vault/liquidity ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "answer"),
    [("1000.5", "1000.50"), ("0", "0.00"), ("0.000001", "0.000001"), (None, None)],
)
def test_setting_the_vaults_liquidity_answers_the_balance(
    client: ApiClient, world: World, amount: str | None, answer: str | None
) -> None:
    response = client.post("/_sim/vault/liquidity", json={"amount": amount})

    assert response.status_code == 200
    assert response.json() == {"balance": answer}
    expected = None if amount is None else Decimal(amount)
    assert world.exchange.sim.vault_liquidity() == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "amount"),
        ({"amount": 5}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "0.0000001"}, "amount"),
        ({"amount": "1000000000000000"}, "amount"),
        ([], "body"),
        (None, "body"),
    ],
)
def test_a_malformed_liquidity_is_a_400_naming_the_field_and_changes_nothing(
    client: ApiClient, world: World, body: Any, field: str
) -> None:
    world.exchange.sim.set_vault_liquidity(Decimal(7))

    if body is None:
        response = client.post("/_sim/vault/liquidity")
    else:
        response = client.post("/_sim/vault/liquidity", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert world.exchange.sim.vault_liquidity() == Decimal(7)


def test_liquidity_is_per_world(client: ApiClient, worlds: Worlds) -> None:
    base = client.post("/_sim/worlds", json={}).json()["baseUrl"]

    answer = client.post(base + "/_sim/vault/liquidity", json={"amount": "5"})

    assert answer.json() == {"balance": "5.00"}
    other = worlds.get(base.removeprefix("/w/"))
    assert other is not None and other.exchange.sim.vault_liquidity() == Decimal(5)
    assert worlds.default.exchange.sim.vault_liquidity() is None


# -- POST /_sim/withdrawals/fail-next ---------------------------------------------------------


def test_each_fail_next_arms_one_more_failure(client: ApiClient) -> None:
    answers = [client.post("/_sim/withdrawals/fail-next") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json() for a in answers] == [{"armed": 1}, {"armed": 2}, {"armed": 3}]


def test_the_controls_are_listed_under_the_control_tag(client: ApiClient) -> None:
    paths = client.openapi.document["paths"]

    for path in ("/_sim/vault/liquidity", "/_sim/withdrawals/fail-next"):
        assert paths[path]["post"]["tags"] == ["control"]


# -- the lifecycle over HTTP ------------------------------------------------------------------


def test_a_withdrawal_shows_processing_sent_with_a_txhash_then_confirmed(
    client: ApiClient, trader: NewAccount
) -> None:
    advance(client, "00:00:30.000")
    withdrawal_id = withdraw(client, trader, "250.50")
    assert [(w["id"], w["status"]) for w in withdrawals(client, trader)] == [
        (withdrawal_id, "pending")
    ]

    [processing] = advance(client, "00:01:00.000")
    assert (processing["settlementId"], processing["status"]) == (withdrawal_id, "processing")
    [record] = withdrawals(client, trader)
    assert (record["status"], record["txHash"], record["updatedAt"]) == (
        "processing",
        None,
        "2026-01-02T00:01:00.000Z",
    )

    [sent] = advance(client, "00:02:00.000")
    [record] = withdrawals(client, trader)
    assert record["status"] == "sent"
    assert TX_HASH.fullmatch(record["txHash"])
    assert sent["txHash"] == record["txHash"]
    assert (record["confirmations"], record["settledAt"]) == (0, None)
    assert balance(client, trader)["pendingWithdrawalTotal"] == "250.50"

    [confirmed] = advance(client, "00:02:04.000")
    [record] = withdrawals(client, trader)
    assert (confirmed["status"], record["status"], record["confirmations"]) == (
        "confirmed",
        "confirmed",
        2,
    )
    assert record["settledAt"] == record["updatedAt"] == "2026-01-02T00:02:04.000Z"
    assert balance(client, trader)["pendingWithdrawalTotal"] == "0.00"
    assert balance(client, trader)["walletBalance"] == "99749.50"  # 100000 - 250.50


def test_a_failed_withdrawal_is_refunded_and_shows_failed(
    client: ApiClient, trader: NewAccount
) -> None:
    withdrawal_id = withdraw(client, trader, "300")
    client.post("/_sim/withdrawals/fail-next")

    [_, failed] = advance(client, "00:02:00.000")

    assert (failed["settlementId"], failed["status"], failed["txHash"]) == (
        withdrawal_id,
        "failed",
        None,
    )
    [record] = withdrawals(client, trader)
    assert (record["status"], record["txHash"], record["settledAt"]) == ("failed", None, None)
    history = client.get("/wallet/history", params={"limit": 2}, token=trader.session_token)
    [refund, debit] = history.json()
    assert (refund["type"], refund["bucket"], refund["amount"]) == (
        "withdraw_refund",
        "wallet",
        "300.00",
    )
    assert (debit["type"], debit["amount"]) == ("withdraw", "-300.00")
    assert balance(client, trader)["walletBalance"] == "100000.00"
    assert balance(client, trader)["pendingWithdrawalTotal"] == "0.00"


def test_without_liquidity_a_withdrawal_waits_then_is_sent_once_the_vault_is_funded(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    client.post("/_sim/vault/liquidity", json={"amount": "100"})
    withdraw(client, trader, "250")

    advance(client, "00:03:00.000")
    [record] = withdrawals(client, trader)
    assert (record["status"], record["txHash"]) == ("insufficient_liquidity", None)
    assert balance(client, trader)["pendingWithdrawalTotal"] == "250.00"

    funded = client.post("/_sim/vault/liquidity", json={"amount": "400"})
    assert funded.json() == {"balance": "400.00"}
    [sent] = advance(client, "00:04:00.000")

    [record] = withdrawals(client, trader)
    assert (sent["status"], record["status"]) == ("sent", "sent")
    assert TX_HASH.fullmatch(record["txHash"])
    assert world.exchange.sim.vault_liquidity() == Decimal(150)  # 400 - 250
