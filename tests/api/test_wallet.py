"""The wallet (https://docs.ocx.global/concepts/balances; docs/fidelity.md "Wallet"): buckets,
spot assets, transfers, withdrawals, the ledger and the on-chain settlements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.auth.policy import Profile
from ocx_sim.engine.core.orders import OrderRequest, Side
from ocx_sim.worlds import NewAccount, World, WorldConfig
from tests.api.conftest import ApiClient, assert_error, read_key, trade_key

D = Decimal
READS = [
    "/wallet/balance",
    "/wallet/assets",
    "/wallet/history",
    "/wallet/settlements",
]
WRITES = [
    ("/wallet/transfer", {"from": "wallet", "to": "perps", "amount": "10"}),
    ("/wallet/withdraw", {"amount": "10"}),
]
ADDRESS = "0x" + "5e" * 20


def get(client: ApiClient, account: NewAccount, path: str, **params: object) -> Any:
    response = client.get(path, token=account.session_token, params=params or None)
    assert response.status_code == 200, response.json()
    return response.json()


def footprint(client: ApiClient, account: NewAccount) -> tuple[Any, Any, Any]:
    """Everything a refused write must leave alone."""
    return (
        get(client, account, "/wallet/balance"),
        get(client, account, "/wallet/history", limit=500),
        get(client, account, "/wallet/settlements"),
    )


def withdraw(client: ApiClient, account: NewAccount, amount: str) -> str:
    response = client.post("/wallet/withdraw", json={"amount": amount}, token=account.session_token)
    assert response.status_code == 200, response.json()
    withdrawal_id: str = response.json()["withdrawalId"]
    return withdrawal_id


# -- /wallet/balance and /wallet/assets -------------------------------------------------------


def test_wallet_balance_shows_every_bucket_and_the_credited_deposits(
    client: ApiClient, trader: NewAccount
) -> None:
    assert get(client, trader, "/wallet/balance") == {
        "onchainDepositTotal": "400000.00",
        "walletBalance": "100000.00",
        "perpsBalance": "100000.00",
        "optionsBalance": "100000.00",
        "spotBalance": "100000.00",
        "pendingWithdrawalTotal": "0.00",
        "tradableBalance": "400000.00",
    }


def test_a_withdrawal_moves_into_the_pending_withdrawal_total(
    client: ApiClient, trader: NewAccount
) -> None:
    withdraw(client, trader, "250.5")
    withdraw(client, trader, "0.000001")

    balance = get(client, trader, "/wallet/balance")

    assert balance["walletBalance"] == "99749.499999"
    assert balance["pendingWithdrawalTotal"] == "250.500001"
    assert balance["tradableBalance"] == "399749.499999"
    assert balance["onchainDepositTotal"] == "400000.00"


def test_wallet_assets_list_spot_usdc_first_then_base_assets_on_their_size_decimals(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    exchange = world.exchange
    exchange.place_order(
        trader.user_id, OrderRequest("WTIOIL-USDC-SPOT", Side.BUY, D("3"), price=D("70"))
    )
    exchange.sim.outside_trade("WTIOIL-USDC-SPOT", Side.SELL, D("70"), D("3"))
    exchange.place_order(
        trader.user_id, OrderRequest("BTC-USDC-SPOT", Side.BUY, D("0.5"), price=D("66000"))
    )

    assets = get(client, trader, "/wallet/assets")

    # 100000 − 210 − 0.042 maker fee; the BTC bid locks 33000 + 5 bps worst-case fee 16.5
    assert assets == [
        {
            "asset": "USDC",
            "bucket": "spot",
            "available": "66773.458",
            "locked": "33016.50",
            "total": "99789.958",
        },
        {
            "asset": "WTIOIL",
            "bucket": "spot",
            "available": "3.00",
            "locked": "0.00",
            "total": "3.00",
        },
    ]


def test_a_spot_ask_locks_its_base_asset(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    exchange = world.exchange
    exchange.place_order(
        trader.user_id, OrderRequest("BTC-USDC-SPOT", Side.BUY, D("0.3"), price=D("68000"))
    )
    exchange.sim.outside_trade("BTC-USDC-SPOT", Side.SELL, D("68000"), D("0.3"))
    exchange.place_order(
        trader.user_id, OrderRequest("BTC-USDC-SPOT", Side.SELL, D("0.1"), price=D("69000"))
    )

    [_, btc] = get(client, trader, "/wallet/assets")

    assert btc == {
        "asset": "BTC",
        "bucket": "spot",
        "available": "0.2000",
        "locked": "0.1000",
        "total": "0.3000",
    }


# -- /wallet/transfer -------------------------------------------------------------------------


def test_a_transfer_moves_usdc_and_answers_the_buckets(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.post(
        "/wallet/transfer",
        json={"from": "perps", "to": "spot", "amount": "1234.567891"},
        token=trader.session_token,
    )

    assert response.status_code == 200
    assert response.json() == {
        "walletBalance": "100000.00",
        "perpsBalance": "98765.432109",
        "optionsBalance": "100000.00",
        "spotBalance": "101234.567891",
    }
    [incoming, outgoing] = get(client, trader, "/wallet/history", limit=2)
    assert (incoming["type"], incoming["bucket"], incoming["amount"]) == (
        "transfer_in",
        "spot",
        "1234.567891",
    )
    assert (outgoing["type"], outgoing["bucket"], outgoing["amount"]) == (
        "transfer_out",
        "perps",
        "-1234.567891",
    )
    assert incoming["txHash"] is outgoing["txHash"] is None


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("wallet", "perps"),
        ("wallet", "options"),
        ("wallet", "spot"),
        ("perps", "wallet"),
        ("options", "wallet"),
        ("spot", "wallet"),
    ],
)
def test_a_transfer_works_between_every_pair_of_buckets(
    client: ApiClient, trader: NewAccount, source: str, target: str
) -> None:
    response = client.post(
        "/wallet/transfer",
        json={"from": source, "to": target, "amount": "100000"},
        token=trader.session_token,
    )

    assert response.status_code == 200
    body = response.json()
    assert body[f"{source}Balance"] == "0.00"
    assert body[f"{target}Balance"] == "200000.00"


def test_a_transfer_of_the_whole_source_empties_it_and_one_cent_more_is_refused(
    client: ApiClient, trader: NewAccount
) -> None:
    too_much = client.post(
        "/wallet/transfer",
        json={"from": "wallet", "to": "perps", "amount": "100000.01"},
        token=trader.session_token,
    )
    exact = client.post(
        "/wallet/transfer",
        json={"from": "wallet", "to": "perps", "amount": "100000.00"},
        token=trader.session_token,
    )

    assert_error(too_much, 400, "INSUFFICIENT_BALANCE")
    details = too_much.json()["details"]
    assert (details["bucket"], D(details["available"])) == ("wallet", D("100000"))
    assert exact.status_code == 200
    assert exact.json()["walletBalance"] == "0.00"


def test_a_transfer_beyond_the_source_is_refused_and_changes_nothing(
    client: ApiClient, trader: NewAccount
) -> None:
    before = footprint(client, trader)

    response = client.post(
        "/wallet/transfer",
        json={"from": "options", "to": "wallet", "amount": "100000.000001"},
        token=trader.session_token,
    )

    assert_error(response, 400, "INSUFFICIENT_BALANCE")
    assert footprint(client, trader) == before


def test_a_transfer_out_of_perps_cannot_take_the_margin_positions_need(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    exchange = world.exchange
    exchange.place_order(
        trader.user_id, OrderRequest("BTC-PERP", Side.BUY, D("1"), price=D("68000"))
    )
    exchange.sim.outside_trade("BTC-PERP", Side.SELL, D("68000"), D("1"))
    # balance 100000 − 13.60 maker fee; initial margin 68000 / 20 = 3400
    before = footprint(client, trader)

    refused = client.post(
        "/wallet/transfer",
        json={"from": "perps", "to": "wallet", "amount": "96586.41"},
        token=trader.session_token,
    )
    assert_error(refused, 400, "INSUFFICIENT_BALANCE")
    assert D(refused.json()["details"]["available"]) == D("96586.40")
    assert footprint(client, trader) == before

    allowed = client.post(
        "/wallet/transfer",
        json={"from": "perps", "to": "wallet", "amount": "96586.40"},
        token=trader.session_token,
    )
    assert allowed.status_code == 200
    assert allowed.json()["perpsBalance"] == "3400.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "from"),
        ({"to": "perps", "amount": "1"}, "from"),
        ({"from": "bank", "to": "perps", "amount": "1"}, "from"),
        ({"from": "WALLET", "to": "perps", "amount": "1"}, "from"),
        ({"from": 1, "to": "perps", "amount": "1"}, "from"),
        ({"from": "wallet", "amount": "1"}, "to"),
        ({"from": "wallet", "to": "savings", "amount": "1"}, "to"),
        ({"from": "wallet", "to": ["perps"], "amount": "1"}, "to"),
        ({"from": "wallet", "to": "wallet", "amount": "1"}, "to"),
        ({"from": "wallet", "to": "perps"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": 10}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "ten"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "-5"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "0"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "0.00"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "1e3"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "+5"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": ".5"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "NaN"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "Infinity"}, "amount"),
        ({"from": "wallet", "to": "perps", "amount": "0.0000001"}, "amount"),
    ],
)
def test_a_malformed_transfer_is_a_400_naming_the_field_and_changes_nothing(
    client: ApiClient, trader: NewAccount, body: dict[str, Any], field: str
) -> None:
    before = footprint(client, trader)

    response = client.post("/wallet/transfer", json=body, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert footprint(client, trader) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [("/wallet/transfer", {"from": "wallet", "to": "perps"}), ("/wallet/withdraw", {})],
)
@pytest.mark.parametrize("amount", ["1000000000000000", "9" * 40, "1" + "0" * 30 + ".5"])
def test_an_amount_of_1e15_or_more_is_a_400_naming_amount_not_a_500(
    client: ApiClient, trader: NewAccount, path: str, body: dict[str, Any], amount: str
) -> None:
    # Quantizing such an amount to 6 dp would exceed Decimal's 28 significant digits.
    before = footprint(client, trader)

    response = client.post(path, json={**body, "amount": amount}, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", "amount")
    assert footprint(client, trader) == before


@pytest.mark.parametrize("path", ["/wallet/transfer", "/wallet/withdraw"])
@pytest.mark.parametrize("content", ["{", "", "[]", '"amount"', "null"])
def test_a_wallet_write_whose_body_is_not_a_json_object_is_a_400_naming_body(
    client: ApiClient, trader: NewAccount, path: str, content: str
) -> None:
    response = client.post(
        path,
        content=content,
        token=trader.session_token,
        headers={"content-type": "application/json"},
    )

    assert_error(response, 400, "VALIDATION_ERROR", "body")


# -- /wallet/withdraw -------------------------------------------------------------------------


def test_a_withdrawal_debits_the_wallet_and_waits_pending_for_the_keeper(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    withdrawal_id = withdraw(client, trader, "250.50")
    world.exchange.advance_by(10_000)

    record = get(client, trader, f"/wallet/settlements/{withdrawal_id}")
    [entry] = get(client, trader, "/wallet/history", limit=1)

    assert record == {
        "id": withdrawal_id,
        "kind": "withdraw",
        "status": "pending",
        "asset": "USDC",
        "amount": "250.50",
        "txHash": None,
        "withdrawalId": withdrawal_id,
        "walletAddress": trader.wallet_address,
        "network": "base-sepolia",
        "chainId": 84532,
        "confirmations": 0,
        "settledAt": None,
        "createdAt": "2026-01-02T00:00:00.000Z",
        "updatedAt": "2026-01-02T00:00:00.000Z",
    }
    assert (entry["type"], entry["bucket"], entry["amount"]) == ("withdraw", "wallet", "-250.50")
    assert get(client, trader, "/wallet/balance")["walletBalance"] == "99749.50"


def test_a_withdrawal_beyond_the_wallet_bucket_is_refused_and_changes_nothing(
    client: ApiClient, trader: NewAccount
) -> None:
    before = footprint(client, trader)

    # the other buckets hold 300000 more, but a withdrawal leaves from the wallet bucket only
    response = client.post(
        "/wallet/withdraw", json={"amount": "100000.01"}, token=trader.session_token
    )

    assert_error(response, 400, "INSUFFICIENT_BALANCE")
    assert footprint(client, trader) == before


def test_the_whole_wallet_bucket_can_be_withdrawn(client: ApiClient, trader: NewAccount) -> None:
    withdraw(client, trader, "100000")

    balance = get(client, trader, "/wallet/balance")

    assert (balance["walletBalance"], balance["pendingWithdrawalTotal"]) == ("0.00", "100000.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": 100}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1E2"}, "amount"),
        ({"amount": "0.0000001"}, "amount"),
    ],
)
def test_a_malformed_withdrawal_is_a_400_naming_amount_and_changes_nothing(
    client: ApiClient, trader: NewAccount, body: dict[str, Any], field: str
) -> None:
    before = footprint(client, trader)

    response = client.post("/wallet/withdraw", json=body, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert footprint(client, trader) == before


# -- deposits and /wallet/settlements ---------------------------------------------------------


def test_a_deposit_is_pending_until_two_confirmations_then_credited_once(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    exchange = world.exchange
    submitted = exchange.sim.submit_deposit(trader.wallet_address, D("500.25"), "0x" + "ab" * 32)

    [pending] = get(client, trader, "/wallet/settlements", kind="deposit", status="pending")
    assert (pending["id"], pending["status"], pending["amount"]) == (
        submitted.id,
        "pending",
        "500.25",
    )
    assert (pending["txHash"], pending["confirmations"], pending["settledAt"]) == (
        "0x" + "ab" * 32,
        0,
        None,
    )

    exchange.advance_by(3999)
    waiting = get(client, trader, f"/wallet/settlements/{submitted.id}")
    assert (waiting["status"], waiting["confirmations"]) == ("pending", 1)
    assert get(client, trader, "/wallet/balance")["walletBalance"] == "100000.00"

    exchange.advance_by(1)
    confirmed = get(client, trader, f"/wallet/settlements/{submitted.id}")
    assert (confirmed["status"], confirmed["confirmations"]) == ("confirmed", 2)
    assert confirmed["settledAt"] == confirmed["updatedAt"] == "2026-01-02T00:00:04.000Z"
    balance = get(client, trader, "/wallet/balance")
    assert balance["walletBalance"] == "100500.25"
    assert balance["onchainDepositTotal"] == "400500.25"
    [credit] = get(client, trader, "/wallet/history", limit=1)
    assert (credit["type"], credit["amount"], credit["txHash"]) == (
        "deposit",
        "500.25",
        "0x" + "ab" * 32,
    )

    exchange.sim.submit_deposit(trader.wallet_address, D("500.25"), "0x" + "ab" * 32)
    exchange.advance_by(10_000)
    assert get(client, trader, "/wallet/balance")["walletBalance"] == "100500.25"


def test_settlements_list_newest_first_and_filter_by_kind_status_and_limit(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    [funding] = get(client, trader, "/wallet/settlements")
    first = withdraw(client, trader, "10")
    deposit = world.exchange.sim.submit_deposit(trader.wallet_address, D("20")).id
    second = withdraw(client, trader, "30")

    def ids(**params: object) -> list[str]:
        return [s["id"] for s in get(client, trader, "/wallet/settlements", **params)]

    assert ids() == [second, deposit, first, funding["id"]]
    assert ids(kind="withdraw") == [second, first]
    assert ids(kind="deposit") == [deposit, funding["id"]]
    assert ids(status="pending") == [second, deposit, first]
    assert ids(kind="deposit", status="confirmed") == [funding["id"]]
    assert ids(status="failed") == []
    assert ids(limit=2) == [second, deposit]


def test_settlements_default_to_the_newest_50_and_allow_200(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    for _ in range(60):
        world.exchange.withdraw(trader.user_id, D(1))

    assert len(get(client, trader, "/wallet/settlements")) == 50
    assert len(get(client, trader, "/wallet/settlements", limit=200)) == 61


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "transfer"}, "kind"),
        ({"kind": "DEPOSIT"}, "kind"),
        ({"status": "settled"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "fifty"}, "limit"),
    ],
)
def test_a_bad_settlements_filter_is_a_400_naming_it(
    client: ApiClient, trader: NewAccount, params: dict[str, str], field: str
) -> None:
    response = client.get("/wallet/settlements", token=trader.session_token, params=params)

    assert_error(response, 400, "VALIDATION_ERROR", field)


def test_an_unknown_settlement_is_a_404(client: ApiClient, trader: NewAccount) -> None:
    response = client.get(
        "/wallet/settlements/01KDY021000000000000000000", token=trader.session_token
    )

    assert_error(response, 404, "NOT_FOUND")


# -- /wallet/history --------------------------------------------------------------------------


def test_wallet_history_lists_ledger_entries_newest_first_with_a_limit(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    world.exchange.advance_by(1000)
    withdraw(client, trader, "1.5")

    everything = get(client, trader, "/wallet/history")
    [newest] = get(client, trader, "/wallet/history", limit=1)

    # funding: one deposit then three transfers out of the wallet, each two entries
    assert [e["type"] for e in everything] == [
        "withdraw",
        "transfer_in",
        "transfer_out",
        "transfer_in",
        "transfer_out",
        "transfer_in",
        "transfer_out",
        "deposit",
    ]
    assert newest == everything[0]
    assert (newest["amount"], newest["asset"], newest["createdAt"]) == (
        "-1.50",
        "USDC",
        "2026-01-02T00:00:01.000Z",
    )
    assert everything[-1]["amount"] == "400000.00"


@pytest.mark.parametrize("limit", ["0", "501", "x", "2.0"])
def test_a_history_limit_outside_1_to_500_is_a_400_naming_limit(
    client: ApiClient, trader: NewAccount, limit: str
) -> None:
    response = client.get("/wallet/history", token=trader.session_token, params={"limit": limit})

    assert_error(response, 400, "VALIDATION_ERROR", "limit")


@pytest.mark.parametrize("path", ["/wallet/history", "/wallet/settlements"])
def test_a_wallet_limit_of_thousands_of_digits_is_a_400_naming_limit_not_a_500(
    client: ApiClient, trader: NewAccount, path: str
) -> None:
    response = client.get(path, token=trader.session_token, params={"limit": "9" * 5000})

    assert_error(response, 400, "VALIDATION_ERROR", "limit")


# -- credentials and isolation ----------------------------------------------------------------


@pytest.mark.parametrize("path", [*READS, "/wallet/settlements/01KDY021000000000000000000"])
def test_every_wallet_read_without_credentials_is_a_401(client: ApiClient, path: str) -> None:
    assert_error(client.get(path), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(("path", "body"), WRITES)
def test_a_wallet_write_without_credentials_is_a_401_before_its_body_is_read(
    client: ApiClient, path: str, body: dict[str, Any]
) -> None:
    assert_error(client.post(path, json=body), 401, "UNAUTHENTICATED")
    assert_error(client.post(path, content="{"), 401, "UNAUTHENTICATED")


def test_every_wallet_read_accepts_a_read_key_and_a_trade_key(
    client: ApiClient, trader: NewAccount
) -> None:
    withdrawal_id = withdraw(client, trader, "5")

    for path in [*READS, f"/wallet/settlements/{withdrawal_id}"]:
        by_session = client.get(path, token=trader.session_token).json()
        for key in (read_key(trader), trade_key(trader)):
            response = client.get(path, key=key)
            assert response.status_code == 200, (path, response.json())
            assert response.json() == by_session


@pytest.mark.parametrize(("path", "body"), WRITES)
def test_a_wallet_write_refuses_api_keys_under_the_strict_profile(
    client: ApiClient, trader: NewAccount, path: str, body: dict[str, Any]
) -> None:
    before = footprint(client, trader)

    for key in (read_key(trader), trade_key(trader)):
        assert_error(client.post(path, json=body, key=key), 403, "API_KEY_NOT_ACCEPTED")
        bearer = {"Authorization": f"Bearer {key}"}
        assert_error(client.post(path, json=body, headers=bearer), 403, "API_KEY_NOT_ACCEPTED")

    assert footprint(client, trader) == before


@pytest.mark.parametrize("config", [WorldConfig(seed=7, profile=Profile.PERMISSIVE)])
@pytest.mark.parametrize(("path", "body"), WRITES)
def test_a_wallet_write_takes_a_trade_key_but_not_a_read_key_under_the_permissive_profile(
    client: ApiClient, trader: NewAccount, path: str, body: dict[str, Any]
) -> None:
    assert_error(client.post(path, json=body, key=read_key(trader)), 403, "INSUFFICIENT_SCOPE")

    response = client.post(path, json=body, key=trade_key(trader))

    assert response.status_code == 200, response.json()


def test_another_user_sees_none_of_the_callers_wallet(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    withdrawal_id = withdraw(client, trader, "75")
    deposit_id = world.exchange.sim.submit_deposit(trader.wallet_address, D("20")).id
    client.post(
        "/wallet/transfer",
        json={"from": "spot", "to": "wallet", "amount": "5"},
        token=trader.session_token,
    )
    mine = {s["id"] for s in get(client, trader, "/wallet/settlements")}
    my_entries = {e["id"] for e in get(client, trader, "/wallet/history", limit=500)}

    theirs = get(client, other, "/wallet/settlements")
    their_entries = get(client, other, "/wallet/history", limit=500)

    assert mine.isdisjoint(s["id"] for s in theirs)
    assert my_entries.isdisjoint(e["id"] for e in their_entries)
    assert [s["kind"] for s in theirs] == ["deposit"]  # their own funding only
    for settlement_id in (withdrawal_id, deposit_id):
        response = client.get(f"/wallet/settlements/{settlement_id}", token=other.session_token)
        assert_error(response, 404, "NOT_FOUND")
        response = client.get(f"/wallet/settlements/{settlement_id}", key=trade_key(other))
        assert_error(response, 404, "NOT_FOUND")
    assert get(client, other, "/wallet/balance") == {
        "onchainDepositTotal": "400000.00",
        "walletBalance": "100000.00",
        "perpsBalance": "100000.00",
        "optionsBalance": "100000.00",
        "spotBalance": "100000.00",
        "pendingWithdrawalTotal": "0.00",
        "tradableBalance": "400000.00",
    }
