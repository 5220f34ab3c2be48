"""The control API's reads for a dashboard (docs/control-api.md): the accounts, one account
whole, the clock's next funding and expiry, the bundled scenarios, the snapshots, and the
journal's filters. In-process, every answer checked against /openapi.json by the client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ocx_sim.control.clock import next_expiry_ms
from ocx_sim.engine.core.accounts import INSURANCE_FUND_ADDRESS, Bucket
from ocx_sim.engine.core.markets import Catalog
from ocx_sim.engine.exchange import Exchange
from ocx_sim.engine.sim import HOUSE_ADDRESS
from ocx_sim.scenarios.library import bundled, bundled_names
from ocx_sim.worlds import MAX_SNAPSHOTS, NewAccount, World
from tests.api.conftest import ApiClient, assert_error
from tests.streams.conftest import get as as_user
from tests.streams.conftest import order

PERP = "BTC-PERP"
FUNDING_MS = 300_000


def read(client: ApiClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params or None)
    assert response.status_code == 200, response.json()
    return response.json()


# -- GET /_sim/accounts -----------------------------------------------------------------------


def test_the_accounts_are_listed_in_registration_order_with_their_equity(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    accounts = read(client, "/_sim/accounts")["accounts"]

    assert accounts == [
        {
            "userId": account.user_id,
            "walletAddress": account.wallet_address,
            "kind": "user",
            "equity": as_user(client, account, "/portfolio/me")["equity"],
        }
        for account in (trader, other)
    ]
    assert accounts[0]["equity"] == "400000.00"


def test_the_house_and_the_insurance_fund_are_told_apart_from_users(
    client: ApiClient, world: World, other: NewAccount
) -> None:
    account = world.create_account(balances={Bucket.PERPS: Decimal(1000)})
    order(client, account, "buy", "68000.00", "0.1000")
    order(client, other, "sell", None, "0.1000")
    sell = {"side": "sell", "price": "68000.00", "quantity": "0.0100"}
    assert client.post(f"/_sim/markets/{PERP}/trade", json=sell).status_code == 200
    assert client.post(f"/_sim/markets/{PERP}/mark", json={"price": "60000.00"}).status_code == 200

    kinds = {a["walletAddress"]: a["kind"] for a in read(client, "/_sim/accounts")["accounts"]}

    assert kinds == {
        account.wallet_address: "user",
        other.wallet_address: "user",
        HOUSE_ADDRESS: "house",
        INSURANCE_FUND_ADDRESS: "insurance",
    }


def test_a_new_world_has_no_account(client: ApiClient) -> None:
    assert read(client, "/_sim/accounts") == {"accounts": []}


# -- GET /_sim/accounts/{userId} --------------------------------------------------------------


def test_an_account_shows_what_its_own_rest_reads_answer(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    order(client, trader, "buy", "68000.00", "0.1000")
    order(client, other, "sell", None, "0.1000")
    resting = order(client, trader, "buy", "67000.00", "0.0500")
    newer = order(client, trader, "buy", "66000.00", "0.0500")

    body = read(client, f"/_sim/accounts/{trader.user_id}")

    assert body == {
        "userId": trader.user_id,
        "walletAddress": trader.wallet_address,
        "kind": "user",
        "equity": as_user(client, trader, "/portfolio/me")["equity"],
        "balances": as_user(client, trader, "/portfolio/balances"),
        "perps": as_user(client, trader, "/perps/balances"),
        "positions": as_user(client, trader, "/perps/positions"),
        "openOrders": [
            {k: v for k, v in o.items() if k not in ("fills", "position")} for o in (newer, resting)
        ],
        "ledger": as_user(client, trader, "/wallet/history"),
    }
    [position] = body["positions"]
    assert (position["marketId"], position["quantity"]) == (PERP, "0.1000")


def test_an_account_is_found_by_its_wallet_address_in_any_letter_case(
    client: ApiClient, trader: NewAccount
) -> None:
    by_id = read(client, f"/_sim/accounts/{trader.user_id}")

    assert read(client, f"/_sim/accounts/{trader.wallet_address.lower()}") == by_id
    assert read(client, f"/_sim/accounts/{trader.wallet_address.upper().replace('0X', '0x')}") == (
        by_id
    )


def test_an_accounts_positions_and_orders_span_every_venue(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    spot = {"marketId": "BTC-USDC-SPOT", "side": "buy", "quantity": "0.01000", "price": "65000.00"}
    response = client.post("/orders", json=spot, token=trader.session_token)
    assert response.status_code == 200, response.json()
    order(client, trader, "buy", "67000.00", "0.0500")

    markets = [
        o["marketId"] for o in read(client, f"/_sim/accounts/{trader.user_id}")["openOrders"]
    ]

    assert markets == [PERP, "BTC-USDC-SPOT"]


def test_the_ledger_is_newest_first_and_at_most_ledger_limit(
    client: ApiClient, trader: NewAccount
) -> None:
    full = read(client, f"/_sim/accounts/{trader.user_id}")["ledger"]
    two = read(client, f"/_sim/accounts/{trader.user_id}", ledgerLimit=2)["ledger"]

    assert len(full) > 2
    assert two == full[:2]
    assert [e["createdAt"] for e in full] == sorted((e["createdAt"] for e in full), reverse=True)


def test_a_ledger_limit_out_of_range_is_400_naming_it(
    client: ApiClient, trader: NewAccount
) -> None:
    for bad in ("0", "501", "x"):
        response = client.get(f"/_sim/accounts/{trader.user_id}", params={"ledgerLimit": bad})
        assert_error(response, 400, "VALIDATION_ERROR", "ledgerLimit")


def test_an_unknown_account_is_404_naming_it(client: ApiClient) -> None:
    for reference in ("01KDY02100DJ7BTB723NKV1HMC", "0x" + "12" * 20, "nobody"):
        response = client.get(f"/_sim/accounts/{reference}")
        assert_error(response, 404, "NOT_FOUND")
        assert response.json()["details"] == {"userId": reference}


def test_reading_accounts_adds_no_event(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    before = world.exchange.digest()

    read(client, "/_sim/accounts")
    read(client, f"/_sim/accounts/{trader.user_id}")

    assert world.exchange.digest() == before


def test_an_account_is_read_in_the_world_its_prefix_names(
    client: ApiClient, trader: NewAccount
) -> None:
    base = client.post("/_sim/worlds", json={"seed": 8}).json()["baseUrl"]
    made = client.post(base + "/_sim/accounts", json={}).json()

    assert [a["userId"] for a in read(client, base + "/_sim/accounts")["accounts"]] == [
        made["userId"]
    ]
    assert_error(client.get(f"{base}/_sim/accounts/{trader.user_id}"), 404, "NOT_FOUND")


# -- GET /_sim/clock: the next funding and expiry ---------------------------------------------


def test_the_clock_shows_the_next_funding_and_the_next_expiry(client: ApiClient) -> None:
    clock = read(client, "/_sim/clock")

    assert clock["now"] == "2026-01-02T00:00:00.000Z"
    assert clock["nextFundingAt"] == "2026-01-02T00:05:00.000Z"
    assert clock["nextExpiryAt"] == "2026-01-02T08:00:00.000Z"  # the first daily options


def test_advancing_to_the_next_funding_pays_it_and_shows_the_one_after(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    order(client, trader, "buy", "68000.00", "0.1000")
    order(client, other, "sell", None, "0.1000")
    assert client.post(f"/_sim/markets/{PERP}/mark", json={"price": "68100.00"}).status_code == 200
    funding = read(client, "/_sim/clock")["nextFundingAt"]

    advanced = client.post("/_sim/clock/advance", json={"to": funding}).json()

    types = {event["type"] for event in advanced["events"]}
    assert advanced["now"] == funding
    assert {"FundingPaid", "FundingSettled"} & types
    assert read(client, "/_sim/clock")["nextFundingAt"] == "2026-01-02T00:10:00.000Z"


def test_advancing_to_the_next_expiry_expires_its_markets(client: ApiClient) -> None:
    expiry = read(client, "/_sim/clock")["nextExpiryAt"]

    advanced = client.post("/_sim/clock/advance", json={"to": expiry}).json()

    expired = [e for e in advanced["events"] if e["type"] == "MarketExpired"]
    assert expired and all(e["ts"] == expiry for e in expired)
    assert read(client, "/_sim/clock")["nextExpiryAt"] > expiry


def test_switching_the_clock_mode_answers_the_next_funding_and_expiry_too(
    client: ApiClient,
) -> None:
    clock = read(client, "/_sim/clock")

    switched = client.post("/_sim/clock/mode", json={"mode": "manual"}).json()

    assert switched == clock


# -- GET /_sim/scenarios ----------------------------------------------------------------------


def test_the_bundled_scenarios_are_listed_by_name_with_their_descriptions(
    client: ApiClient,
) -> None:
    scenarios = read(client, "/_sim/scenarios")["scenarios"]

    assert [s["name"] for s in scenarios] == sorted(bundled_names())
    assert {"name": "sandbox", "description": bundled("sandbox").meta.description} in scenarios
    assert all(s["description"] for s in scenarios)


def test_listing_scenarios_and_their_status_are_two_routes(client: ApiClient) -> None:
    loaded = client.post("/_sim/scenarios", json={"name": "futures-expiry"})
    assert loaded.status_code == 200, loaded.json()

    status = read(client, "/_sim/scenarios/status")

    assert [run["scenario"] for run in status["scenarios"]] == ["futures-expiry"]
    assert "futures-expiry" in [s["name"] for s in read(client, "/_sim/scenarios")["scenarios"]]


# -- GET /_sim/snapshots ----------------------------------------------------------------------


def snapshot(client: ApiClient, base: str = "") -> str:
    response = client.post(base + "/_sim/snapshot")
    assert response.status_code == 201, response.json()
    return str(response.json()["snapshotId"])


def test_the_snapshots_are_listed_oldest_first_with_the_instant_each_was_taken(
    client: ApiClient,
) -> None:
    first = snapshot(client)
    client.post("/_sim/clock/advance", json={"ms": 90_000})
    second = snapshot(client)

    listed = read(client, "/_sim/snapshots")["snapshots"]

    assert [{k: s[k] for k in ("snapshotId", "now", "nowMs")} for s in listed] == [
        {"snapshotId": first, "now": "2026-01-02T00:00:00.000Z", "nowMs": 1_767_312_000_000},
        {"snapshotId": second, "now": "2026-01-02T00:01:30.000Z", "nowMs": 1_767_312_090_000},
    ]
    assert all(s["bytes"] > 1_000 for s in listed)  # each holds the world's whole state


def test_the_snapshots_survive_a_restore_and_a_reset_and_listing_them_changes_no_digest(
    client: ApiClient, world: World
) -> None:
    first = snapshot(client)
    client.post("/_sim/clock/advance", json={"ms": 1_000})
    second = snapshot(client)
    listed = read(client, "/_sim/snapshots")
    digest = world.exchange.digest()

    assert client.post("/_sim/restore", json={"snapshotId": first}).status_code == 200
    assert read(client, "/_sim/snapshots") == listed
    assert client.post("/_sim/reset", json={}).status_code == 200
    assert read(client, "/_sim/snapshots") == listed
    assert client.post("/_sim/restore", json={"snapshotId": second}).status_code == 200
    assert world.exchange.digest() == digest


def test_each_world_lists_its_own_snapshots(client: ApiClient) -> None:
    base = client.post("/_sim/worlds", json={}).json()["baseUrl"]
    mine = snapshot(client, base)

    assert read(client, "/_sim/snapshots") == {"snapshots": []}
    assert [s["snapshotId"] for s in read(client, base + "/_sim/snapshots")["snapshots"]] == [mine]


def test_no_expiry_is_ahead_when_nothing_listed_expires() -> None:
    listed = Exchange.create(seed=7).catalog
    undated = Catalog(listed.underlyings, {m.id: m for m in listed if m.expiry_ms is None})

    assert next_expiry_ms(Exchange(seed=7, catalog=undated)) is None
    assert next_expiry_ms(Exchange(seed=7, catalog=listed)) == 1_767_340_800_000


# -- GET and DELETE /_sim/snapshots/{snapshotId}; at most MAX_SNAPSHOTS --------------------------


def test_one_snapshot_is_read_and_deleted_and_then_unknown(client: ApiClient) -> None:
    kept = snapshot(client)
    dropped = snapshot(client)

    one = read(client, f"/_sim/snapshots/{dropped}")
    deleted = client.delete(f"/_sim/snapshots/{dropped}")

    assert one["snapshotId"] == dropped and one["bytes"] > 1_000
    assert deleted.status_code == 200
    assert deleted.json() == {"snapshotId": dropped, "deleted": True}
    assert [s["snapshotId"] for s in read(client, "/_sim/snapshots")["snapshots"]] == [kept]
    for answer in (
        client.get(f"/_sim/snapshots/{dropped}"),
        client.delete(f"/_sim/snapshots/{dropped}"),
        client.post("/_sim/restore", json={"snapshotId": dropped}),
    ):
        assert_error(answer, 404, "NOT_FOUND")
        assert answer.json()["details"]["snapshotId"] == dropped


def test_a_world_keeps_at_most_its_limit_of_snapshots_until_one_is_deleted(
    client: ApiClient,
) -> None:
    taken = [snapshot(client) for _ in range(MAX_SNAPSHOTS)]

    refused = client.post("/_sim/snapshot")

    assert_error(refused, 409, "SNAPSHOT_LIMIT")
    assert refused.json()["details"] == {"limit": MAX_SNAPSHOTS}
    assert "DELETE /_sim/snapshots/" in refused.json()["message"]
    assert client.delete(f"/_sim/snapshots/{taken[0]}").status_code == 200
    assert client.post("/_sim/snapshot").status_code == 201
