"""A world's state over HTTP (docs/control-api.md "State" and "Clock"): reset, snapshot and restore,
events since a sequence number, invariants, the digest, and switching the clock's mode. Every answer
is also checked against /openapi.json by the client; tests/test_snapshot.py covers the same
behaviour below HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.engine.core import emit
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.book import BookOrder
from ocx_sim.engine.core.ledger import EntryType, SystemBucket, system_account
from ocx_sim.engine.core.orders import MarginMode, OrderRequest, Side
from ocx_sim.ids import is_ulid
from ocx_sim.testing.builders import FakeRealTime
from ocx_sim.testing.client import Response
from ocx_sim.worlds import ClockMode, World, WorldConfig, Worlds
from tests.api.conftest import FUNDS, ApiClient, assert_error
from tests.test_snapshot import MIDWAY_MS, busy

PERP = "BTC-PERP"
START = "2026-01-02T00:00:00.000Z"
START_MS = 1_767_312_000_000
WALLET = "0x" + "ab" * 20


@pytest.fixture
def real() -> FakeRealTime:
    return FakeRealTime()


@pytest.fixture
def worlds(config: WorldConfig, real: FakeRealTime) -> Worlds:
    """The server's worlds, reading a real time the tests move by hand."""
    return Worlds(config, real_time=real)


def script(client: ApiClient, base: str = "") -> list[bytes]:
    """A client's session: an account, an order, time passing (stops, liquidations, funding
    in a busy world) and what it then reads. Answers every body, byte for byte."""
    answers: list[bytes] = []

    def keep(response: Response) -> Response:
        assert response.status_code in (200, 201), response.json()
        answers.append(response.content)
        return response

    body = {"balances": {"perps": "50000"}, "apiKeys": [{"name": "bot", "scope": "trade"}]}
    account = keep(client.post(base + "/_sim/accounts", json=body)).json()
    token, key = account["sessionToken"], account["apiKeys"][0]["secret"]
    order = {"marketId": PERP, "side": "buy", "quantity": "0.05", "type": "market"}
    keep(client.post(base + "/perps/orders", token=token, json=order))
    keep(client.post(base + "/_sim/clock/advance", json={"ms": 50 * 60_000}))
    for path in ("/perps/positions", "/perps/balances", "/perps/orders", "/perps/trades"):
        keep(client.get(base + path, key=key))
    keep(client.get(base + "/perps/orderbook/" + PERP))
    keep(client.get(base + "/perps/market-stats"))
    keep(client.get(base + "/_sim/digest"))
    return answers


def snapshot(client: ApiClient, base: str = "") -> str:
    response = client.post(base + "/_sim/snapshot")
    assert response.status_code == 201, response.json()
    return str(response.json()["snapshotId"])


# -- snapshot and restore ---------------------------------------------------------------------


def test_a_restored_world_answers_the_same_requests_with_the_same_bytes(
    client: ApiClient, world: World
) -> None:
    busy(world)
    world.exchange.advance_by(MIDWAY_MS)
    at = client.get("/_sim/clock").json()
    snapshot_id = snapshot(client)

    original = script(client)
    restored = client.post("/_sim/restore", json={"snapshotId": snapshot_id})

    assert restored.status_code == 200
    assert restored.json() == {"now": at["now"], "nowMs": at["nowMs"]}
    assert script(client) == original
    assert b'"type":"AccountLiquidated"' in client.get("/_sim/events").content


def test_a_snapshot_answers_201_with_a_ulid(client: ApiClient) -> None:
    response = client.post("/_sim/snapshot")

    assert response.status_code == 201
    assert list(response.json()) == ["snapshotId"]
    assert is_ulid(response.json()["snapshotId"])


def test_restoring_an_unknown_snapshot_is_404_not_found_naming_it(client: ApiClient) -> None:
    snapshot(client)
    response = client.post("/_sim/restore", json={"snapshotId": "01KDY3FWM0V0F1D2RHKKZZ1F46"})

    assert_error(response, 404, "NOT_FOUND")
    assert response.json()["details"] == {"snapshotId": "01KDY3FWM0V0F1D2RHKKZZ1F46"}


def test_a_snapshot_of_one_world_is_unknown_to_another(client: ApiClient) -> None:
    other = client.post("/_sim/worlds", json={}).json()["baseUrl"]
    snapshot_id = snapshot(client, other)

    response = client.post("/_sim/restore", json={"snapshotId": snapshot_id})

    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "snapshotId"), ({"snapshotId": 7}, "snapshotId"), ({"snapshotId": ""}, "snapshotId")],
)
def test_restoring_refuses_a_malformed_body_naming_the_field(
    client: ApiClient, body: dict[str, Any], field: str
) -> None:
    assert_error(client.post("/_sim/restore", json=body), 400, "VALIDATION_ERROR", field)


@pytest.mark.parametrize("content", ["", "{", "[]"])
def test_restoring_refuses_a_body_that_is_not_a_json_object_naming_body(
    client: ApiClient, content: str
) -> None:
    response = client.post("/_sim/restore", content=content)
    assert_error(response, 400, "VALIDATION_ERROR", "body")


def test_a_restored_realtime_world_runs_on_from_the_snapshots_instant(
    client: ApiClient, real: FakeRealTime
) -> None:
    body = {"clock": "realtime", "speed": 2, "start": START}
    base = client.post("/_sim/worlds", json=body).json()["baseUrl"]
    real.now += 5.0
    snapshot_id = snapshot(client, base)
    real.now += 60.0

    restored = client.post(base + "/_sim/restore", json={"snapshotId": snapshot_id}).json()
    real.now += 1.0

    assert restored["nowMs"] == START_MS + 10_000
    assert client.get(base + "/_sim/clock").json()["nowMs"] == START_MS + 12_000


# -- reset ------------------------------------------------------------------------------------


def test_a_reset_world_answers_exactly_as_the_world_just_created(
    client: ApiClient, world: World
) -> None:
    busy(world)
    fresh = script(client)
    client.post("/_sim/markets/BTC-PERP/halt")

    response = client.post("/_sim/reset")

    assert response.status_code == 200
    assert response.json() == {"now": START, "nowMs": START_MS, "seed": 7}
    assert world.exchange.events.last_seq == 0
    busy(world)
    assert script(client) == fresh


def test_a_reset_forgets_the_worlds_users_and_their_sessions(client: ApiClient) -> None:
    account = client.post("/_sim/accounts", json={"walletAddress": WALLET}).json()
    client.post("/_sim/reset")

    response = client.get("/perps/balances", token=account["sessionToken"])

    assert_error(response, 401, "UNAUTHENTICATED")
    assert client.get("/auth/me", token=account["sessionToken"]).json() is None


def test_a_reset_on_a_new_seed_answers_it_and_keeps_it(client: ApiClient) -> None:
    before = client.post("/_sim/accounts").json()["userId"]

    response = client.post("/_sim/reset", json={"seed": 99})

    assert response.json()["seed"] == 99
    assert client.get("/_sim/worlds").json()["worlds"][0]["seed"] == 99
    assert client.post("/_sim/accounts").json()["userId"] != before
    assert client.post("/_sim/reset").json()["seed"] == 99


def test_a_reset_keeps_the_worlds_id_and_its_snapshots(client: ApiClient, worlds: Worlds) -> None:
    base = client.post("/_sim/worlds", json={"seed": 3}).json()["baseUrl"]
    client.post(base + "/_sim/clock/advance", json={"ms": 60_000})
    snapshot_id = snapshot(client, base)

    client.post(base + "/_sim/reset")

    assert client.get(base + "/_sim/clock").json()["now"] == START
    restored = client.post(base + "/_sim/restore", json={"snapshotId": snapshot_id})
    assert restored.json()["nowMs"] == START_MS + 60_000
    assert worlds.get(base.removeprefix("/w/")) is not None


def test_a_reset_goes_back_to_the_configs_clock_mode(client: ApiClient) -> None:
    base = client.post("/_sim/worlds", json={"clock": "realtime", "speed": 3}).json()["baseUrl"]
    client.post(base + "/_sim/clock/mode", json={"mode": "manual"})

    client.post(base + "/_sim/reset")

    clock = client.get(base + "/_sim/clock").json()
    assert (clock["mode"], clock["speed"]) == ("realtime", 3.0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seed": "7"}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"seed": 2**63}, "seed"),
    ],
)
def test_a_reset_refuses_a_malformed_seed_and_changes_nothing(
    client: ApiClient, world: World, body: dict[str, Any], field: str
) -> None:
    client.post("/_sim/accounts")
    assert_error(client.post("/_sim/reset", json=body), 400, "VALIDATION_ERROR", field)
    assert len(world.exchange.users) == 1


def test_a_reset_refuses_bad_json_naming_body(client: ApiClient) -> None:
    assert_error(client.post("/_sim/reset", content="{"), 400, "VALIDATION_ERROR", "body")


# -- events -----------------------------------------------------------------------------------


def test_events_since_n_are_the_later_ones_oldest_first(client: ApiClient) -> None:
    client.post("/_sim/deposits", json={"walletAddress": WALLET, "amount": "5"})
    client.post("/_sim/clock/advance", json={"ms": 4_000})

    every = client.get("/_sim/events").json()["events"]
    later = client.get("/_sim/events", params={"since": 1}).json()["events"]

    assert [e["seq"] for e in every] == [1, 2, 3, 4]
    assert [e["type"] for e in every] == [
        "UserRegistered",
        "SettlementChanged",
        "FundsDeposited",
        "SettlementChanged",
    ]
    assert every[0] == {
        "seq": 1,
        "ts": START,
        "type": "UserRegistered",
        "userId": every[1]["userId"],
        "walletAddress": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB",
    }
    assert later == every[1:]
    assert client.get("/_sim/events", params={"since": 4}).json() == {"events": []}
    assert client.get("/_sim/events", params={"since": 10**9}).json() == {"events": []}


@pytest.mark.parametrize("since", ["-1", "1.5", "two", str(2**63)])
def test_events_refuse_a_bad_since_naming_it(client: ApiClient, since: str) -> None:
    response = client.get("/_sim/events", params={"since": since})
    assert_error(response, 400, "VALIDATION_ERROR", "since")


# -- invariants -------------------------------------------------------------------------------


def invariants(client: ApiClient) -> dict[str, Any]:
    response = client.get("/_sim/invariants")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_busy_world_keeps_every_invariant(client: ApiClient, world: World) -> None:
    busy(world)
    client.post("/_sim/clock/advance", json={"ms": 3_600_000})
    assert invariants(client) == {"ok": True, "failures": []}


def test_invariants_find_a_ledger_that_is_not_conserved(client: ApiClient, world: World) -> None:
    user = world.create_account(balances=FUNDS).user_id
    world.exchange.ledger.balances[(user, "perps", "USDC")] += Decimal("0.01")

    body = invariants(client)

    assert body["ok"] is False
    assert "USDC balances sum to 0.01, not zero" in body["failures"]


def test_invariants_find_a_crossed_book(client: ApiClient, world: World) -> None:
    book = world.exchange._state.book(PERP)
    book.add(BookOrder("bid", "someone", True, 6_800_000, 1))
    book.add(BookOrder("ask", "someone", False, 6_700_000, 1))

    failures = invariants(client)["failures"]

    assert "BTC-PERP: crossed: best bid 6800000 >= best ask 6700000" in failures


def test_invariants_find_funding_paid_without_its_settlement(
    client: ApiClient, world: World
) -> None:
    user = world.create_account(balances=FUNDS).user_id
    exchange = world.exchange
    emit.funding_paid(
        exchange.events,
        ts=exchange.now_ms,
        user_id=user,
        market_id=PERP,
        margin_mode="cross",
        amount=Decimal("1.5"),
    )

    failures = invariants(client)["failures"]

    assert f"funding paid on BTC-PERP at {START_MS} without a settlement" in failures


def test_invariants_find_positions_whose_funding_is_not_zero_sum(
    client: ApiClient, world: World
) -> None:
    buyer, seller = (world.create_account(balances=FUNDS).user_id for _ in range(2))
    exchange = world.exchange
    price = Decimal("68000.00")
    exchange.place_order(seller, OrderRequest(PERP, Side.SELL, Decimal("0.1"), price=price))
    exchange.place_order(buyer, OrderRequest(PERP, Side.BUY, Decimal("0.1"), price=price))
    client.post("/_sim/clock/advance", json={"ms": 600_000})
    assert invariants(client)["ok"] is True
    exchange.user(buyer).positions[(PERP, MarginMode.CROSS)].funding += Decimal("0.000001")

    failures = invariants(client)["failures"]

    assert any(f.startswith("BTC-PERP positions' funding sums to") for f in failures)


def test_invariants_find_a_negative_bucket(client: ApiClient, world: World) -> None:
    user = world.create_account(balances={Bucket.PERPS: Decimal(100)}).user_id
    # A conserved movement that overdraws the bucket: only the no-negative rule catches it.
    world.exchange.ledger.move(
        world.now_ms,
        (user, "perps", "USDC"),
        system_account(SystemBucket.EXTERNAL),
        Decimal(150),
        EntryType.WITHDRAW,
    )

    body = invariants(client)

    assert body == {"ok": False, "failures": [f"negative balance -50 USDC in {user}/perps"]}


# -- digest -----------------------------------------------------------------------------------


def test_the_digest_is_the_event_logs_sha256_and_its_last_seq(
    client: ApiClient, world: World
) -> None:
    empty = client.get("/_sim/digest").json()
    client.post("/_sim/accounts")

    body = client.get("/_sim/digest").json()

    assert empty["seq"] == 0
    assert body == {"digest": world.exchange.digest(), "seq": world.exchange.events.last_seq}
    assert body["digest"] != empty["digest"]


def test_two_worlds_on_one_seed_given_the_same_requests_have_the_same_digest(
    client: ApiClient,
) -> None:
    bases = [client.post("/_sim/worlds", json={"seed": 5}).json()["baseUrl"] for _ in range(2)]
    for base in bases:
        client.post(base + "/_sim/deposits", json={"walletAddress": WALLET, "amount": "5"})
        client.post(base + "/_sim/clock/advance", json={"ms": 4_000})

    first, second = (client.get(base + "/_sim/digest").json() for base in bases)

    assert first == second
    assert first["seq"] == 4


# -- clock mode -------------------------------------------------------------------------------


def test_switching_to_realtime_runs_from_now_and_fires_the_pending_timers(
    client: ApiClient, real: FakeRealTime
) -> None:
    client.post("/_sim/clock/advance", json={"ms": 60_000})
    record = client.post("/_sim/deposits", json={"walletAddress": WALLET, "amount": "5"}).json()

    response = client.post("/_sim/clock/mode", json={"mode": "realtime", "speed": 2})

    assert response.status_code == 200
    assert response.json() == {
        "now": "2026-01-02T00:01:00.000Z",
        "nowMs": START_MS + 60_000,
        "mode": "realtime",
        "speed": 2.0,
        "nextFundingAt": "2026-01-02T00:05:00.000Z",
        "nextExpiryAt": "2026-01-02T08:00:00.000Z",
    }
    real.now += 2.0  # 4 simulated seconds: both confirmations are due
    events = client.get("/_sim/events", params={"since": 2}).json()["events"]
    assert [(e["type"], e.get("status")) for e in events] == [
        ("FundsDeposited", None),
        ("SettlementChanged", "confirmed"),
    ]
    assert events[-1]["settlementId"] == record["id"]
    assert client.get("/_sim/clock").json()["nowMs"] == START_MS + 64_000


def test_switching_back_to_manual_stops_the_clock_where_it_is(
    client: ApiClient, real: FakeRealTime
) -> None:
    client.post("/_sim/clock/mode", json={"mode": "realtime"})
    real.now += 3.0

    response = client.post("/_sim/clock/mode", json={"mode": "manual"})
    real.now += 30.0

    assert response.json() == {
        "now": "2026-01-02T00:00:03.000Z",
        "nowMs": START_MS + 3_000,
        "mode": "manual",
        "speed": 1.0,
        "nextFundingAt": "2026-01-02T00:05:00.000Z",
        "nextExpiryAt": "2026-01-02T08:00:00.000Z",
    }
    assert client.get("/_sim/clock").json()["nowMs"] == START_MS + 3_000
    assert client.post("/_sim/clock/advance", json={"ms": 1_000}).status_code == 200


def test_a_realtime_clock_without_a_speed_runs_at_its_worlds(client: ApiClient) -> None:
    base = client.post("/_sim/worlds", json={"speed": 4}).json()["baseUrl"]

    response = client.post(base + "/_sim/clock/mode", json={"mode": "realtime"})

    assert response.json()["speed"] == 4.0
    changed = client.post(base + "/_sim/clock/mode", json={"mode": "realtime", "speed": 8})
    assert changed.json()["speed"] == 8.0


def test_the_default_worlds_config_keeps_its_mode(client: ApiClient, world: World) -> None:
    client.post("/_sim/clock/mode", json={"mode": "realtime"})
    assert world.config.clock is ClockMode.MANUAL


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "mode"),
        ({"mode": "fast"}, "mode"),
        ({"mode": 1}, "mode"),
        ({"mode": "realtime", "speed": 0}, "speed"),
        ({"mode": "realtime", "speed": -1}, "speed"),
        ({"mode": "realtime", "speed": 10_001}, "speed"),
        ({"mode": "realtime", "speed": "2"}, "speed"),
        ({"mode": "realtime", "speed": True}, "speed"),
        ({"mode": "manual", "speed": 2}, "speed"),
    ],
)
def test_switching_mode_refuses_bad_input_naming_the_field_and_changes_nothing(
    client: ApiClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/_sim/clock/mode", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert client.get("/_sim/clock").json()["mode"] == "manual"


def test_switching_mode_refuses_bad_json_naming_body(client: ApiClient) -> None:
    response = client.post("/_sim/clock/mode", content="nope")
    assert_error(response, 400, "VALIDATION_ERROR", "body")


# -- the OpenAPI document ---------------------------------------------------------------------


def test_the_state_endpoints_are_listed_under_the_control_tag(client: ApiClient) -> None:
    paths = client.openapi.document["paths"]
    for method, path in [
        ("post", "/_sim/reset"),
        ("post", "/_sim/snapshot"),
        ("post", "/_sim/restore"),
        ("get", "/_sim/events"),
        ("get", "/_sim/invariants"),
        ("get", "/_sim/digest"),
        ("post", "/_sim/clock/mode"),
    ]:
        assert paths[path][method]["tags"] == ["control"], path
    assert "201" in paths["/_sim/snapshot"]["post"]["responses"]


def test_every_state_path_works_under_a_worlds_prefix(client: ApiClient) -> None:
    base = client.post("/_sim/worlds", json={}).json()["baseUrl"]
    snapshot_id = snapshot(client, base)
    for method, path, body in [
        ("POST", "/_sim/restore", {"snapshotId": snapshot_id}),
        ("POST", "/_sim/reset", {}),
        ("GET", "/_sim/events", None),
        ("GET", "/_sim/invariants", None),
        ("GET", "/_sim/digest", None),
        ("POST", "/_sim/clock/mode", {"mode": "manual"}),
    ]:
        response = client.request(method, base + path, json=body)
        assert response.status_code == 200, (path, response.json())
    assert_error(client.post("/w/nope/_sim/snapshot"), 404, "NOT_FOUND")
