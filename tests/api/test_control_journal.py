"""The journal (docs/control-api.md "State", `GET /_sim/journal`): every request a world answered,
control requests included, faulted ones with the status they got. In-process, every answer
checked against /openapi.json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ocx_sim.worlds import NewAccount, World
from ocx_sim.worlds.journal import Journal
from tests.api.conftest import ApiClient, trade_key

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


def test_a_world_starts_with_an_empty_journal_of_its_own(world: World) -> None:
    assert len(world.journal) == 0
    assert world.journal.last_seq == 0
