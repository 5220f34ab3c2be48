"""The journal (docs/control-api.md "State", `GET /_sim/journal`): every request a world answered,
control requests included, faulted ones with the status they got. In-process, every answer
checked against /openapi.json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ocx_sim.worlds import NewAccount, World, Worlds
from ocx_sim.worlds.journal import Journal
from tests.api.conftest import ApiClient, assert_error, trade_key


def world_of(worlds: Worlds, base: str) -> World:
    world = worlds.get(base.removeprefix("/w/"))
    assert world is not None
    return world


ORDER = {"marketId": "BTC-PERP", "side": "buy", "quantity": "0.1", "price": "68000"}
START = "2026-01-02T00:00:00.000Z"


def journal(client: ApiClient, base: str = "", since: int | None = None) -> list[dict[str, Any]]:
    params = None if since is None else {"since": since}
    response = client.get(base + "/_sim/journal", params=params)
    assert response.status_code == 200, response.json()
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def brief(entries: list[dict[str, Any]]) -> list[tuple[str, str, int | None]]:
    return [(e["method"], e["path"], e["status"]) for e in entries]


def add_fault(client: ApiClient, action: dict[str, Any], path: str = "/perps/orders") -> None:
    body = {"match": {"method": "*", "path": path}, "action": action}
    assert client.post("/_sim/faults", json=body).status_code == 201


def test_a_new_world_has_an_empty_journal(client: ApiClient) -> None:
    assert journal(client) == []


def test_every_request_answered_is_an_entry_with_its_status_and_caller(
    client: ApiClient, trader: NewAccount
) -> None:
    placed = client.post("/perps/orders", json=ORDER, token=trader.session_token)
    client.get("/perps/markets")
    client.get("/perps/orderbook/NOPE-PERP")
    client.post("/perps/orders", json=ORDER)

    entries = journal(client)

    assert placed.status_code == 200
    assert entries[0] == {
        "seq": 1,
        "time": START,
        "method": "POST",
        "path": "/perps/orders",
        "account": trader.user_id,
        "status": 200,
        "latencyMs": entries[0]["latencyMs"],
    }
    assert entries[0]["latencyMs"] >= 0
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert brief(entries)[1:] == [
        ("GET", "/perps/markets", 200),
        ("GET", "/perps/orderbook/NOPE-PERP", 404),
        ("POST", "/perps/orders", 401),
    ]
    assert [e["account"] for e in entries[1:]] == [None, None, None]


def test_an_api_key_caller_is_journaled_as_its_user(client: ApiClient, trader: NewAccount) -> None:
    client.get("/perps/orders", key=trade_key(trader))

    assert journal(client)[0]["account"] == trader.user_id


def test_control_requests_are_journaled_and_a_read_sees_the_reads_before_it(
    client: ApiClient,
) -> None:
    client.post("/_sim/clock/advance", json={"ms": 1000})
    first = journal(client)
    second = journal(client)

    assert brief(first) == [("POST", "/_sim/clock/advance", 200)]
    assert brief(second) == [
        ("POST", "/_sim/clock/advance", 200),
        ("GET", "/_sim/journal", 200),
    ]


def test_an_entrys_time_is_the_worlds_instant_when_the_request_arrived(
    client: ApiClient,
) -> None:
    client.post("/_sim/clock/advance", json={"ms": 90_000})
    client.get("/perps/markets")

    assert [e["time"] for e in journal(client)] == [START, "2026-01-02T00:01:30.000Z"]


def test_the_path_is_journaled_without_the_query_string(client: ApiClient) -> None:
    client.get("/perps/markets?marketType=perp")

    assert journal(client)[0]["path"] == "/perps/markets"


def test_each_world_journals_its_own_requests_without_its_prefix(client: ApiClient) -> None:
    base = client.post("/_sim/worlds", json={}).json()["baseUrl"]
    client.get(base + "/perps/markets")

    assert brief(journal(client, base)) == [("GET", "/perps/markets", 200)]
    assert brief(journal(client)) == [("POST", "/_sim/worlds", 201)]


def test_since_lists_only_later_entries(client: ApiClient) -> None:
    for _ in range(4):
        client.get("/_sim/clock")

    assert [e["seq"] for e in journal(client, since=2)] == [3, 4]
    assert journal(client, since=100) == []


# -- faulted requests -------------------------------------------------------------------------


def test_an_error_fault_is_journaled_with_the_status_it_answered(
    client: ApiClient, trader: NewAccount
) -> None:
    add_fault(client, {"type": "error", "status": 503, "code": "UPSTREAM_DEGRADED"})
    client.post("/perps/orders", json=ORDER, token=trader.session_token)

    entry = journal(client)[-1]

    assert (entry["path"], entry["account"], entry["status"]) == (
        "/perps/orders",
        trader.user_id,
        503,
    )


def test_an_ambiguous_fault_is_journaled_as_504(client: ApiClient, trader: NewAccount) -> None:
    add_fault(client, {"type": "ambiguous"})
    client.post("/perps/orders", json=ORDER, token=trader.session_token)

    assert journal(client)[-1]["status"] == 504


@pytest.mark.parametrize("action", [{"type": "drop"}, {"type": "ambiguous", "drop": True}])
def test_a_dropped_connection_is_journaled_with_a_null_status(
    client: ApiClient, trader: NewAccount, action: dict[str, Any]
) -> None:
    add_fault(client, action)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/perps/orders", json=ORDER, token=trader.session_token)

    entry = journal(client)[-1]

    assert (entry["path"], entry["account"], entry["status"]) == (
        "/perps/orders",
        trader.user_id,
        None,
    )


def test_injected_latency_is_in_the_entrys_latency(client: ApiClient) -> None:
    add_fault(client, {"type": "latency", "ms": 25}, path="/perps/markets")
    client.get("/perps/markets")
    client.get("/perps/markets")

    slow, fast = journal(client)[-2:]

    assert slow["latencyMs"] >= 25 > fast["latencyMs"]


# -- the journal itself -----------------------------------------------------------------------


def test_the_journal_keeps_the_latest_entries_and_their_seqs() -> None:
    kept = Journal(capacity=3)
    for i in range(5):
        kept.record(i, "GET", f"/{i}", None, 200, 0.1)

    assert [e.seq for e in kept.entries()] == [3, 4, 5]
    assert [e.seq for e in kept.entries(since=1)] == [3, 4, 5]
    assert [e.seq for e in kept.entries(since=4)] == [5]
    assert kept.last_seq == 5


def test_latency_is_kept_in_milliseconds_to_three_decimals() -> None:
    journal = Journal()

    entry = journal.record(0, "GET", "/perps/markets", None, 200, 1.23456789)

    assert entry.latency_ms == 1.235  # whole microseconds (docs/control-api.md)


def test_every_journaled_latency_has_at_most_three_decimals(client: ApiClient) -> None:
    for _ in range(5):
        client.get("/perps/markets")

    latencies = [e["latencyMs"] for e in client.get("/_sim/journal").json()["entries"]]

    assert all(round(latency, 3) == latency for latency in latencies)


def test_a_world_starts_with_an_empty_journal_of_its_own(world: World) -> None:
    assert len(world.journal) == 0
    assert world.journal.last_seq == 0


def test_the_journal_keeps_the_latest_ten_thousand_entries_by_default() -> None:
    kept = Journal()
    for i in range(10_001):
        kept.record(i, "GET", "/", None, 200, 0.1)

    entries = kept.entries()
    assert (len(entries), entries[0].seq, entries[-1].seq) == (10_000, 2, 10_001)


# -- limit ------------------------------------------------------------------------------------


def test_limit_keeps_the_oldest_entries_after_since(client: ApiClient) -> None:
    for _ in range(6):
        client.get("/_sim/clock")

    first = client.get("/_sim/journal", params={"limit": 2}).json()["entries"]
    after = client.get("/_sim/journal", params={"since": 2, "limit": 3}).json()["entries"]

    assert [e["seq"] for e in first] == [1, 2]
    assert [e["seq"] for e in after] == [3, 4, 5]


def test_a_reader_pages_forward_with_since_the_last_seq_it_saw(client: ApiClient) -> None:
    for _ in range(5):
        client.get("/_sim/clock")
    seen: list[int] = []
    since = 0
    for _ in range(3):
        page = client.get("/_sim/journal", params={"since": since, "limit": 2}).json()["entries"]
        seen += [e["seq"] for e in page]
        since = page[-1]["seq"]

    # The sixth entry is the first page's read.
    assert seen == [1, 2, 3, 4, 5, 6]


def test_a_limit_of_ten_thousand_is_accepted(client: ApiClient) -> None:
    client.get("/_sim/clock")

    assert len(journal_page(client, "limit=10000")) == 1


def journal_page(client: ApiClient, query: str) -> list[dict[str, Any]]:
    response = client.get("/_sim/journal?" + query)
    assert response.status_code == 200, response.json()
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=-1", "limit"),
        ("limit=1.5", "limit"),
        ("limit=ten", "limit"),
        ("since=x&limit=5", "since"),
    ],
)
def test_a_bad_journal_query_is_400_naming_the_field(
    client: ApiClient, query: str, field: str
) -> None:
    assert_error(client.get("/_sim/journal?" + query), 400, "VALIDATION_ERROR", field)


# -- bodies -----------------------------------------------------------------------------------

SECRETS = {"balances": {"perps": "100"}, "apiKeys": [{"name": "bot", "scope": "trade"}]}


def bodies_world(client: ApiClient, **body: Any) -> str:
    response = client.post("/_sim/worlds", json={"journalBodies": True, **body})
    assert response.status_code == 201, response.json()
    return str(response.json()["baseUrl"])


def test_without_journal_bodies_entries_have_no_request_or_response(client: ApiClient) -> None:
    client.post("/_sim/accounts", json=SECRETS)

    (entry,) = journal(client)

    assert "request" not in entry
    assert "response" not in entry


def test_journal_bodies_adds_the_parsed_request_and_response(client: ApiClient) -> None:
    base = bodies_world(client)
    client.post(base + "/_sim/clock/advance", json={"ms": 1000})

    (entry,) = journal(client, base)

    assert entry["request"] == {"ms": 1000}
    assert entry["response"] == {
        "now": "2026-01-02T00:00:01.000Z",
        "nowMs": 1_767_312_001_000,
        "events": [],
    }


def test_journal_bodies_are_null_when_there_is_none_or_it_is_not_json(
    client: ApiClient,
) -> None:
    base = bodies_world(client)
    client.get(base + "/_sim/clock")
    client.post(base + "/_sim/clock/advance", content="{not json")

    read, refused = journal(client, base)

    assert read["request"] is None
    assert read["response"]["mode"] == "manual"
    assert refused["request"] is None
    assert refused["response"]["details"] == {"field": "body"}


def test_every_session_token_secret_and_private_key_is_redacted_at_any_depth(
    client: ApiClient,
) -> None:
    base = bodies_world(client)
    made = client.post(base + "/_sim/accounts", json=SECRETS).json()
    scenario = "accounts:\n  carol: {apiKeys: [{name: k, scope: read}]}\n"
    client.post(base + "/_sim/scenarios", json={"yaml": scenario})
    key = {"name": "second", "scope": "read"}
    client.post(base + "/perps/me/api-keys", json=key, token=made["sessionToken"])

    account, loaded, created = journal(client, base)

    assert account["request"] == SECRETS
    assert account["response"]["sessionToken"] == "***"
    assert account["response"]["privateKey"] == "***"
    assert account["response"]["apiKeys"][0]["secret"] == "***"
    assert account["response"]["userId"] == made["userId"]
    carol = loaded["response"]["accounts"]["carol"]
    assert (carol["sessionToken"], carol["privateKey"]) == ("***", "***")
    assert carol["apiKeys"][0]["secret"] == "***"
    assert created["response"]["secret"] == "***"
    assert created["response"]["name"] == "second"
    assert made["sessionToken"] not in str(journal(client, base))


def test_a_null_private_key_is_journaled_as_null(client: ApiClient) -> None:
    base = bodies_world(client)
    client.post(base + "/_sim/accounts", json={"walletAddress": "0x" + "ab" * 20})

    (entry,) = journal(client, base)

    assert entry["response"]["privateKey"] is None
    assert entry["response"]["sessionToken"] == "***"


def test_a_dropped_connection_is_journaled_with_its_request_and_a_null_response(
    client: ApiClient,
) -> None:
    base = bodies_world(client)
    body = {"match": {"method": "POST", "path": "/perps/orders"}, "action": {"type": "drop"}}
    assert client.post(base + "/_sim/faults", json=body).status_code == 201
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(base + "/perps/orders", json=ORDER)

    entry = journal(client, base)[-1]

    assert (entry["status"], entry["request"], entry["response"]) == (None, ORDER, None)


def test_journal_bodies_survive_a_snapshot_and_restore(client: ApiClient) -> None:
    base = bodies_world(client)
    client.post(base + "/_sim/clock/advance", json={"ms": 1000})
    snapshot_id = client.post(base + "/_sim/snapshot").json()["snapshotId"]
    kept = journal(client, base)
    client.post(base + "/_sim/clock/advance", json={"ms": 5000})

    client.post(base + "/_sim/restore", json={"snapshotId": snapshot_id})

    # The snapshot holds the journal as it was before the snapshot request was written.
    restored = journal(client, base)
    assert [e["request"] for e in restored] == [{"ms": 1000}, {"snapshotId": snapshot_id}]
    assert restored[0] == kept[0]
    assert restored[0]["response"]["nowMs"] == 1_767_312_001_000


def test_journal_bodies_survive_a_reset_of_the_world(client: ApiClient) -> None:
    base = bodies_world(client)
    client.post(base + "/_sim/reset")
    client.get(base + "/_sim/clock")

    reset, read = journal(client, base)

    assert reset["request"] is None
    assert read["response"]["mode"] == "manual"


def test_a_new_world_takes_the_servers_journal_bodies_unless_the_body_says(
    client: ApiClient, worlds: Worlds
) -> None:
    on = bodies_world(client)
    off = client.post("/_sim/worlds", json={"journalBodies": False}).json()["baseUrl"]
    default = client.post("/_sim/worlds").json()["baseUrl"]

    assert [world_of(worlds, b).config.journal_bodies for b in (on, off, default)] == [
        True,
        False,
        False,
    ]


@pytest.mark.parametrize("value", ["yes", 1, [], {}])
def test_a_bad_journal_bodies_is_400_naming_it(client: ApiClient, value: Any) -> None:
    response = client.post("/_sim/worlds", json={"journalBodies": value})

    assert_error(response, 400, "VALIDATION_ERROR", "journalBodies")


# -- filters ----------------------------------------------------------------------------------


def test_the_journal_keeps_only_the_entries_whose_path_contains_the_filter(
    client: ApiClient, trader: NewAccount
) -> None:
    client.get("/perps/orders", token=trader.session_token)
    client.get("/_sim/clock")
    client.post("/perps/orders", json=ORDER, token=trader.session_token)

    assert brief(journal_page(client, "path=/perps/")) == [
        ("GET", "/perps/orders", 200),
        ("POST", "/perps/orders", 200),
    ]


def test_the_journal_filters_by_a_status_or_a_status_class(
    client: ApiClient, trader: NewAccount
) -> None:
    client.get("/_sim/clock")
    client.get("/perps/orders")  # 401
    client.get("/_sim/accounts/nobody")  # 404
    client.post("/_sim/clock/advance", json={})  # 400

    assert [e["path"] for e in journal_page(client, "status=2xx")] == ["/_sim/clock"]
    assert brief(journal_page(client, "status=404")) == [("GET", "/_sim/accounts/nobody", 404)]
    assert [e["status"] for e in journal_page(client, "status=4xx")] == [401, 404, 400]


@pytest.mark.parametrize("status", ["4XX", "40", "4000", "6xx", "ok", "x4x"])
def test_a_status_filter_that_is_neither_a_code_nor_a_class_is_400_naming_it(
    client: ApiClient, status: str
) -> None:
    response = client.get("/_sim/journal", params={"status": status})
    assert_error(response, 400, "VALIDATION_ERROR", "status")


def test_the_journal_filters_by_account_named_by_user_id_or_wallet_address(
    client: ApiClient, trader: NewAccount, other: NewAccount
) -> None:
    client.get("/perps/orders", token=trader.session_token)
    client.get("/perps/orders", token=other.session_token)
    client.get("/perps/positions", key=trade_key(trader))

    by_id = journal_page(client, f"account={trader.user_id}")
    by_wallet = journal_page(client, f"account={trader.wallet_address.lower()}")

    assert brief(by_id) == [("GET", "/perps/orders", 200), ("GET", "/perps/positions", 200)]
    assert by_wallet == by_id
    assert journal_page(client, "account=0x" + "12" * 20) == []


def test_the_filters_apply_together_and_before_the_limit(
    client: ApiClient, trader: NewAccount
) -> None:
    for _ in range(3):
        client.get("/_sim/clock")
        client.get("/perps/orders", token=trader.session_token)
    client.get("/perps/orders")  # 401: no account

    page = journal_page(client, f"path=orders&status=200&account={trader.user_id}&limit=2")

    assert [e["seq"] for e in page] == [2, 4]
    assert [e["seq"] for e in journal_page(client, "path=orders&since=2&limit=2")] == [4, 6]


def test_a_body_larger_than_16_kib_is_kept_as_a_note_of_its_size() -> None:
    journal = Journal(bodies=True)
    small = b'{"marketId": "BTC-PERP"}'
    large = b'{"quotes": "' + b"x" * (16 * 1024) + b'"}'

    entry = journal.record(0, "POST", "/perps/quotes/bulk", None, 400, 1.0, (large, small))

    request, answer = entry.bodies or (None, None)
    assert request == f"({len(large)} bytes, not kept: the journal keeps bodies of at most 16384)"
    assert answer == {"marketId": "BTC-PERP"}
