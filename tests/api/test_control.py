"""The /_sim control API's first slice (docs/control-api.md): worlds, the clock, accounts,
deposits and market moves. Every answer is also checked against /openapi.json by the client."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account

from ocx_sim.app import create_app
from ocx_sim.auth.keys import KeyStatus, Scope
from ocx_sim.engine.core.orders import OrderRequest, OrderStatus, Side
from ocx_sim.engine.core.settlements import SettlementStatus
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import World, WorldConfig, Worlds
from tests.api.conftest import ApiClient, OpenApi, assert_error

START = "2026-01-02T00:00:00.000Z"
START_MS = 1_767_312_000_000
WALLET = "0x" + "ab" * 20
WALLET_CHECKSUMMED = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
PERPS_100 = {"balances": {"perps": "100"}}


def new_world(client: ApiClient, **body: Any) -> str:
    """Create a world and answer its base URL."""
    response = client.post("/_sim/worlds", json=body)
    assert response.status_code == 201, response.json()
    return str(response.json()["baseUrl"])


def world_of(worlds: Worlds, base: str) -> World:
    world = worlds.get(base.removeprefix("/w/"))
    assert world is not None
    return world


def bid(world: World, user_id: str, price: str = "67990.00", quantity: str = "0.5") -> str:
    """A resting BTC-PERP bid of the user; answers its order id."""
    request = OrderRequest("BTC-PERP", Side.BUY, Decimal(quantity), price=Decimal(price))
    return world.exchange.place_order(user_id, request).order.id


# -- worlds -----------------------------------------------------------------------------------


def test_creating_a_world_answers_201_with_its_id_base_url_and_the_servers_seed(
    client: ApiClient, worlds: Worlds
) -> None:
    response = client.post("/_sim/worlds", json={})

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "worldId": body["worldId"],
        "baseUrl": f"/w/{body['worldId']}",
        "seed": 7,
        "now": START,
    }
    assert worlds.get(body["worldId"]) is not None


def test_creating_a_world_needs_no_body(client: ApiClient) -> None:
    response = client.post("/_sim/worlds")

    assert response.status_code == 201
    assert response.json()["seed"] == 7


def test_a_new_world_takes_the_bodys_seed_start_clock_and_profile(
    client: ApiClient, worlds: Worlds
) -> None:
    response = client.post(
        "/_sim/worlds",
        json={
            "seed": 42,
            "start": "2026-03-01T12:00:00Z",
            "clock": "manual",
            "profile": "permissive",
        },
    )

    body = response.json()
    assert (body["seed"], body["now"]) == (42, "2026-03-01T12:00:00.000Z")
    config = world_of(worlds, body["baseUrl"]).config
    assert (config.seed, config.profile.value, config.clock.value) == (42, "permissive", "manual")
    assert client.get(body["baseUrl"] + "/_sim/clock").json()["nowMs"] == 1_772_366_400_000


def test_a_realtime_world_reports_its_mode_and_speed(client: ApiClient) -> None:
    base = new_world(client, clock="realtime", speed=2.5)

    body = client.get(base + "/_sim/clock").json()

    assert (body["mode"], body["speed"]) == ("realtime", 2.5)


def test_creating_a_world_with_an_unknown_scenario_is_400_naming_scenario(
    client: ApiClient,
) -> None:
    response = client.post("/_sim/worlds", json={"scenario": "no-such-scenario"})

    assert_error(response, 400, "VALIDATION_ERROR", "scenario")
    assert "no bundled scenario is named 'no-such-scenario'" in response.json()["message"]
    assert len(client.get("/_sim/worlds").json()["worlds"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seed": "1"}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"clock": "fast"}, "clock"),
        ({"clock": 1}, "clock"),
        ({"speed": 0}, "speed"),
        ({"speed": -1}, "speed"),
        ({"speed": "2"}, "speed"),
        ({"speed": True}, "speed"),
        ({"speed": 1e9}, "speed"),
        ({"start": "yesterday"}, "start"),
        ({"start": 1767312000000}, "start"),
        ({"start": "1969-12-31T23:59:59Z"}, "start"),
        ({"start": "NOW"}, "start"),
        ({"start": " now"}, "start"),
        ({"start": ""}, "start"),
        ({"profile": "loose"}, "profile"),
        ([1, 2], "body"),
    ],
)
def test_creating_a_world_refuses_a_malformed_body_naming_the_field(
    client: ApiClient, body: Any, field: str
) -> None:
    response = client.post("/_sim/worlds", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert len(client.get("/_sim/worlds").json()["worlds"]) == 1


def test_a_world_can_start_as_late_as_the_end_of_9998(client: ApiClient) -> None:
    response = client.post("/_sim/worlds", json={"start": "9998-12-31T23:59:59.999Z"})

    assert response.status_code == 201, response.json()
    assert response.json()["now"] == "9998-12-31T23:59:59.999Z"


@pytest.mark.parametrize("start", ["9999-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"])
def test_a_world_starting_in_9999_is_a_400_naming_start_not_a_500(
    client: ApiClient, start: str
) -> None:
    # Its catalog would list futures expiring after 9999, which no instant can express.
    response = client.post("/_sim/worlds", json={"start": start})

    assert_error(response, 400, "VALIDATION_ERROR", "start")
    assert len(client.get("/_sim/worlds").json()["worlds"]) == 1


def test_creating_a_world_refuses_bad_json_naming_body(client: ApiClient) -> None:
    assert_error(client.post("/_sim/worlds", content="{"), 400, "VALIDATION_ERROR", "body")


def test_listing_worlds_shows_the_default_world_first_then_the_others_in_creation_order(
    client: ApiClient,
) -> None:
    first = new_world(client, seed=1)
    second = new_world(client, seed=2, start="2026-02-01T00:00:00.000Z")

    worlds = client.get("/_sim/worlds").json()["worlds"]

    assert worlds == [
        {"worldId": "default", "baseUrl": "/", "seed": 7, "now": START},
        {"worldId": first.removeprefix("/w/"), "baseUrl": first, "seed": 1, "now": START},
        {
            "worldId": second.removeprefix("/w/"),
            "baseUrl": second,
            "seed": 2,
            "now": "2026-02-01T00:00:00.000Z",
        },
    ]


def test_each_world_lists_the_same_registry(client: ApiClient) -> None:
    base = new_world(client)

    assert client.get(base + "/_sim/worlds").content == client.get("/_sim/worlds").content


def test_deleting_a_world_answers_deleted_and_its_paths_404_from_then_on(
    client: ApiClient,
) -> None:
    base = new_world(client)
    world_id = base.removeprefix("/w/")
    assert client.get(base + "/_sim/clock").status_code == 200

    response = client.delete(f"/_sim/worlds/{world_id}")

    assert response.status_code == 200
    assert response.json() == {"worldId": world_id, "deleted": True}
    assert_error(client.get(base + "/_sim/clock"), 404, "NOT_FOUND")
    assert_error(client.get(base + "/perps/markets"), 404, "NOT_FOUND")
    assert_error(client.post(base + "/_sim/accounts", json={}), 404, "NOT_FOUND")
    assert [w["worldId"] for w in client.get("/_sim/worlds").json()["worlds"]] == ["default"]
    assert_error(client.delete(f"/_sim/worlds/{world_id}"), 404, "NOT_FOUND")


def test_deleting_an_unknown_world_is_404_not_found(client: ApiClient) -> None:
    assert_error(client.delete("/_sim/worlds/01NOSUCHWORLD0000000000000"), 404, "NOT_FOUND")


def test_the_default_world_cannot_be_deleted(client: ApiClient) -> None:
    response = client.delete("/_sim/worlds/default")

    assert_error(response, 400, "VALIDATION_ERROR", "worldId")
    assert client.get("/_sim/clock").status_code == 200


def test_a_control_path_with_the_wrong_method_is_405(client: ApiClient) -> None:
    assert_error(client.get("/_sim/clock/advance"), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.delete("/_sim/worlds"), 405, "METHOD_NOT_ALLOWED")


def test_every_control_endpoint_is_listed_under_the_control_tag(client: ApiClient) -> None:
    paths = client.openapi.document["paths"]
    control = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if operation["tags"] == ["control"]
    }

    assert {
        ("POST", "/_sim/worlds"),
        ("GET", "/_sim/worlds"),
        ("DELETE", "/_sim/worlds/{worldId}"),
        ("GET", "/_sim/clock"),
        ("POST", "/_sim/clock/advance"),
        ("POST", "/_sim/accounts"),
        ("POST", "/_sim/deposits"),
        ("POST", "/_sim/markets/{marketId}/index"),
        ("POST", "/_sim/markets/{marketId}/mark"),
        ("POST", "/_sim/markets/{marketId}/trade"),
        ("POST", "/_sim/markets/{marketId}/halt"),
        ("POST", "/_sim/markets/{marketId}/resume"),
    } <= control
    assert "201" in paths["/_sim/worlds"]["post"]["responses"]
    assert "201" in paths["/_sim/accounts"]["post"]["responses"]
    assert "201" in paths["/_sim/deposits"]["post"]["responses"]


# -- worlds are isolated ----------------------------------------------------------------------


def test_an_account_created_in_one_world_does_not_exist_in_another(
    client: ApiClient, worlds: Worlds
) -> None:
    a, b = new_world(client, seed=1), new_world(client, seed=2)

    account = client.post(a + "/_sim/accounts", json={"walletAddress": WALLET}).json()

    assert world_of(worlds, a).exchange.has_user(account["userId"])
    for other in (world_of(worlds, b), worlds.default):
        assert not other.exchange.has_user(account["userId"])
        assert other.exchange.find_user(WALLET) is None


def test_a_session_of_one_world_is_refused_by_another(client: ApiClient) -> None:
    other = new_world(client, seed=8)
    token = client.post("/_sim/accounts", json={}).json()["sessionToken"]

    assert client.get("/auth/me", token=token).json() is not None
    assert client.get("/auth/me", cookies={"astra_session": token}).json() is not None
    assert client.get(other + "/auth/me", token=token).json() is None
    assert client.get(other + "/auth/me", cookies={"astra_session": token}).json() is None


def test_a_worlds_sessions_are_signed_with_its_own_key(client: ApiClient, worlds: Worlds) -> None:
    a, b = new_world(client, seed=1), new_world(client, seed=2)
    token = client.post(a + "/_sim/accounts", json={}).json()["sessionToken"]
    world_a, world_b = world_of(worlds, a), world_of(worlds, b)

    world_a.sessions.verify(token, world_a.now_ms)
    with pytest.raises(OcxError) as refused:
        world_b.sessions.verify(token, world_b.now_ms)
    assert refused.value.code is ErrorCode.UNAUTHENTICATED
    assert (world_a.cookie_path, worlds.default.cookie_path) == (a, "/")


def _script(client: ApiClient, worlds: Worlds, base: str) -> list[bytes]:
    """One sequence of control requests (and one engine order between them) in a world."""
    answers = []

    def keep(response: Any) -> Any:
        answers.append(response.content)
        return response.json()

    account = keep(
        client.post(
            base + "/_sim/accounts",
            json={"balances": {"perps": "50000"}, "apiKeys": [{"name": "bot", "scope": "trade"}]},
        )
    )
    bid(world_of(worlds, base), account["userId"])
    keep(client.post(base + "/_sim/markets/BTC-PERP/trade", json=_sell("0.2000")))
    keep(client.post(base + "/_sim/deposits", json={"walletAddress": WALLET, "amount": "25"}))
    keep(client.post(base + "/_sim/markets/BTC-PERP/index", json={"price": "68100.00"}))
    keep(client.post(base + "/_sim/clock/advance", json={"ms": 5_000}))
    keep(client.get(base + "/_sim/clock"))
    return answers


def _sell(quantity: str, price: str = "67990.00") -> dict[str, str]:
    return {"side": "sell", "price": price, "quantity": quantity}


def _run_on_a_new_server(config: WorldConfig) -> tuple[list[bytes], World]:
    """`_script` in a world made on seed 11 of a server of its own, built from `config`."""
    worlds = Worlds(config)
    http = InProcessClient(create_app(worlds))
    client = ApiClient(http, OpenApi(http.get("/openapi.json").json()))
    world_id = new_world(client, seed=11)
    answers = _script(client, worlds, world_id)
    http.close()
    return answers, world_of(worlds, world_id)


def test_the_same_seed_and_requests_give_byte_identical_answers_on_two_servers(
    config: WorldConfig,
) -> None:
    (first, world_a), (second, world_b) = (_run_on_a_new_server(config) for _ in range(2))

    assert first == second
    # Secrets included: the account's private key, session token and API-key secret.
    made = json.loads(first[0])
    assert made["privateKey"] and made["sessionToken"] and made["apiKeys"][0]["secret"]
    assert b'"fills":[{' in first[1]
    assert b"FundsDeposited" in first[4]
    assert world_a.exchange.digest() == world_b.exchange.digest()


def test_random_secrets_change_every_secret_of_a_new_world_and_no_id_or_event(
    config: WorldConfig,
) -> None:
    seeded, _ = _run_on_a_new_server(config)
    runs = [_run_on_a_new_server(replace(config, random_secrets=True)) for _ in range(2)]
    (first, _), (second, _) = runs

    made = [json.loads(answers[0]) for answers in (seeded, first, second)]
    for name in ("privateKey", "walletAddress", "sessionToken"):
        assert len({account[name] for account in made}) == 3, name
    assert len({account["apiKeys"][0]["secret"] for account in made}) == 3
    # Ids stay the seed's; so do fills, tx hashes and events (the answers after the account's).
    assert len({account["userId"] for account in made}) == 1
    assert len({account["apiKeys"][0]["id"] for account in made}) == 1
    assert first[1:] == second[1:] == seeded[1:]


def test_two_worlds_on_one_seed_keep_the_same_ids_but_not_each_others_sessions(
    client: ApiClient, worlds: Worlds
) -> None:
    a, b = new_world(client, seed=11), new_world(client, seed=11)

    first, second = _script(client, worlds, a), _script(client, worlds, b)

    # Everything but the session token (whose audience is its world) is byte for byte equal.
    assert first[1:] == second[1:]
    assert world_of(worlds, a).exchange.digest() == world_of(worlds, b).exchange.digest()


def test_another_seed_gives_other_ids(client: ApiClient, worlds: Worlds) -> None:
    a, b = new_world(client, seed=11), new_world(client, seed=12)

    assert _script(client, worlds, a)[0] != _script(client, worlds, b)[0]


# -- the clock --------------------------------------------------------------------------------


def test_the_clock_reads_now_now_ms_mode_speed_and_the_next_funding_and_expiry(
    client: ApiClient,
) -> None:
    response = client.get("/_sim/clock")

    assert response.status_code == 200
    assert response.json() == {
        "now": START,
        "nowMs": START_MS,
        "mode": "manual",
        "speed": 1.0,
        "nextFundingAt": "2026-01-02T00:05:00.000Z",
        "nextExpiryAt": "2026-01-02T08:00:00.000Z",
    }


def test_advancing_by_ms_moves_the_clock_and_answers_no_events_when_nothing_is_due(
    client: ApiClient, world: World
) -> None:
    response = client.post("/_sim/clock/advance", json={"ms": 1_500})

    assert response.status_code == 200
    assert response.json() == {
        "now": "2026-01-02T00:00:01.500Z",
        "nowMs": START_MS + 1_500,
        "events": [],
    }
    assert world.now_ms == START_MS + 1_500


def test_advancing_by_zero_ms_is_allowed(client: ApiClient) -> None:
    response = client.post("/_sim/clock/advance", json={"ms": 0})

    assert response.json()["nowMs"] == START_MS


def test_advancing_to_an_instant_moves_the_clock_there(client: ApiClient, world: World) -> None:
    response = client.post("/_sim/clock/advance", json={"to": "2026-01-03T00:00:00+00:00"})

    assert response.json()["now"] == "2026-01-03T00:00:00.000Z"
    assert world.now_ms == START_MS + 86_400_000


def test_advancing_answers_the_events_of_the_timers_it_fired_camel_cased(
    client: ApiClient,
) -> None:
    record = client.post(
        "/_sim/deposits", json={"walletAddress": WALLET, "amount": "12.5", "txHash": "0xfeed"}
    ).json()

    events = client.post("/_sim/clock/advance", json={"ms": 4_000}).json()["events"]

    user_id = events[0]["userId"]
    assert events == [
        {
            "seq": events[0]["seq"],
            "ts": "2026-01-02T00:00:04.000Z",
            "type": "FundsDeposited",
            "userId": user_id,
            "amount": "12.5",
            "txHash": "0xfeed",
        },
        {
            "seq": events[0]["seq"] + 1,
            "ts": "2026-01-02T00:00:04.000Z",
            "type": "SettlementChanged",
            "settlementId": record["id"],
            "userId": user_id,
            "kind": "deposit",
            "status": "confirmed",
            "amount": "12.5",
            "txHash": "0xfeed",
        },
    ]


def test_advancing_backwards_is_400_and_changes_nothing(client: ApiClient, world: World) -> None:
    client.post("/_sim/clock/advance", json={"ms": 10_000})
    digest = world.exchange.digest()

    response = client.post("/_sim/clock/advance", json={"to": START})

    assert_error(response, 400, "VALIDATION_ERROR", "to")
    assert world.now_ms == START_MS + 10_000
    assert world.exchange.digest() == digest


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ms"),
        ({"ms": 1, "to": START}, "to"),
        ({"ms": -1}, "ms"),
        ({"ms": "5"}, "ms"),
        ({"ms": 1.5}, "ms"),
        ({"ms": True}, "ms"),
        ({"ms": 300_000_000_000_000}, "ms"),
        ({"ms": 366 * 86_400_000 + 1}, "ms"),
        ({"to": "2027-01-04T00:00:00.001Z"}, "to"),
        ({"to": "tomorrow"}, "to"),
        ({"to": 1767312005000}, "to"),
        ({"to": "10000-01-01T00:00:00Z"}, "to"),
        ([], "body"),
    ],
)
def test_advancing_refuses_a_malformed_body_naming_the_field(
    client: ApiClient, world: World, body: Any, field: str
) -> None:
    response = client.post("/_sim/clock/advance", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert world.now_ms == START_MS


def test_advancing_refuses_bad_json_naming_body(client: ApiClient) -> None:
    assert_error(
        client.post("/_sim/clock/advance", content="ms=5"), 400, "VALIDATION_ERROR", "body"
    )


def test_advancing_a_realtime_clock_is_400_naming_mode(client: ApiClient) -> None:
    base = new_world(client, clock="realtime")

    response = client.post(base + "/_sim/clock/advance", json={"ms": 1_000})

    assert_error(response, 400, "VALIDATION_ERROR", "mode")


def test_each_world_advances_its_own_clock(client: ApiClient, worlds: Worlds) -> None:
    base = new_world(client)

    client.post(base + "/_sim/clock/advance", json={"ms": 60_000})

    assert world_of(worlds, base).now_ms == START_MS + 60_000
    assert client.get("/_sim/clock").json()["nowMs"] == START_MS


# -- accounts ---------------------------------------------------------------------------------


def test_creating_an_account_generates_a_key_pair_and_answers_its_private_key(
    client: ApiClient, world: World
) -> None:
    response = client.post("/_sim/accounts", json={"apiKeys": [{"name": "bot", "scope": "trade"}]})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"userId", "walletAddress", "privateKey", "sessionToken", "apiKeys"}
    assert Account.from_key(body["privateKey"]).address == body["walletAddress"]
    assert world.exchange.user(body["userId"]).wallet_address == body["walletAddress"]
    assert world.sessions.verify(body["sessionToken"], world.now_ms)[0] == body["userId"]
    [key] = body["apiKeys"]
    assert set(key) == {"id", "name", "scope", "secret"}
    assert (key["name"], key["scope"]) == ("bot", "trade")
    found = world.keys.authenticate(key["secret"], "127.0.0.1", world.now_ms)
    assert (found.id, found.user_id) == (key["id"], body["userId"])


def test_an_account_with_a_wallet_address_answers_a_null_private_key(
    client: ApiClient, world: World
) -> None:
    body = client.post("/_sim/accounts", json={"walletAddress": WALLET}).json()

    assert body["privateKey"] is None
    assert body["walletAddress"] == WALLET_CHECKSUMMED
    assert body["apiKeys"] == []
    assert world.exchange.find_user(WALLET) is not None


def test_an_account_for_a_known_wallet_is_its_user_with_a_fresh_session(
    client: ApiClient, world: World
) -> None:
    first = client.post("/_sim/accounts", json={"walletAddress": WALLET, **PERPS_100}).json()

    again = client.post("/_sim/accounts", json={"walletAddress": WALLET, **PERPS_100})

    body = again.json()
    assert again.status_code == 201
    assert (body["userId"], body["privateKey"]) == (first["userId"], None)
    assert body["sessionToken"] != first["sessionToken"]
    assert world.exchange.balances(body["userId"]).perps == Decimal(200)
    for token in (first["sessionToken"], body["sessionToken"]):
        assert client.get("/auth/me", token=token).json()["userId"] == first["userId"]


def test_after_seven_simulated_days_the_same_wallet_gets_a_session_that_works(
    client: ApiClient,
) -> None:
    first = client.post("/_sim/accounts", json={"walletAddress": WALLET}).json()
    client.post("/_sim/clock/advance", json={"ms": 7 * 86_400_000})
    assert_error(client.get("/wallet/balance", token=first["sessionToken"]), 401, "SESSION_EXPIRED")

    fresh = client.post("/_sim/accounts", json={"walletAddress": WALLET}).json()

    assert fresh["userId"] == first["userId"]
    assert client.get("/wallet/balance", token=fresh["sessionToken"]).status_code == 200


def test_creating_an_account_needs_no_body(client: ApiClient, world: World) -> None:
    response = client.post("/_sim/accounts")

    assert response.status_code == 201
    balances = world.exchange.balances(response.json()["userId"])
    assert (balances.wallet, balances.perps) == (Decimal(0), Decimal(0))


def test_account_balances_credit_each_bucket_through_the_ledger(
    client: ApiClient, world: World
) -> None:
    body = client.post(
        "/_sim/accounts",
        json={"balances": {"wallet": "100", "perps": "2500.5", "options": "0", "spot": "0.000001"}},
    ).json()

    balances = world.exchange.balances(body["userId"])
    assert (balances.wallet, balances.perps, balances.options, balances.spot) == (
        Decimal("100"),
        Decimal("2500.5"),
        Decimal("0"),
        Decimal("0.000001"),
    )
    types = [e.type for e in world.exchange.ledger_entries(body["userId"])]
    assert sorted(types) == [
        "deposit",
        "transfer_in",
        "transfer_in",
        "transfer_out",
        "transfer_out",
    ]
    assert world.exchange.check_invariants() == []


def test_account_api_keys_carry_their_allowlist_and_expiry(client: ApiClient, world: World) -> None:
    body = client.post(
        "/_sim/accounts",
        json={
            "apiKeys": [
                {"name": "reader", "scope": "read", "allowedIps": ["10.0.0.0/8", "127.0.0.1"]},
                {"name": "short", "scope": "trade", "expiresInDays": 1},
            ]
        },
    ).json()

    reader, short = world.keys.of_user(body["userId"])[::-1]
    assert (reader.scope, reader.allowed_ips) == (Scope.READ, ("10.0.0.0/8", "127.0.0.1"))
    assert short.expires_at == START_MS + 86_400_000
    world.exchange.advance_by(86_400_000)
    assert short.status(world.now_ms) is KeyStatus.EXPIRED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"walletAddress": 5}, "walletAddress"),
        ({"walletAddress": "0x1234"}, "walletAddress"),
        ({"walletAddress": "ab" * 20}, "walletAddress"),
        ({"balances": ["100"]}, "balances"),
        ({"balances": {"perps": 100}}, "balances.perps"),
        ({"balances": {"perps": "-1"}}, "balances.perps"),
        ({"balances": {"spot": "1e3"}}, "balances.spot"),
        ({"balances": {"wallet": "ten"}}, "balances.wallet"),
        ({"balances": {"options": "0.0000001"}}, "balances.options"),
        ({"apiKeys": {"name": "bot"}}, "apiKeys"),
        ({"apiKeys": ["bot"]}, "apiKeys[0]"),
        ({"apiKeys": [{"scope": "trade"}]}, "apiKeys[0].name"),
        ({"apiKeys": [{"name": "x" * 65, "scope": "trade"}]}, "apiKeys[0].name"),
        ({"apiKeys": [{"name": "a", "scope": "trade"}, {"name": "b"}]}, "apiKeys[1].scope"),
        ({"apiKeys": [{"name": "a", "scope": "admin"}]}, "apiKeys[0].scope"),
        (
            {"apiKeys": [{"name": "a", "scope": "read", "allowedIps": "1.2.3.4"}]},
            "apiKeys[0].allowedIps",
        ),
        (
            {"apiKeys": [{"name": "a", "scope": "read", "allowedIps": ["1.2.3.4", "nope"]}]},
            "apiKeys[0].allowedIps[1]",
        ),
        (
            {"apiKeys": [{"name": "a", "scope": "read", "expiresInDays": 0}]},
            "apiKeys[0].expiresInDays",
        ),
        (
            {"apiKeys": [{"name": "a", "scope": "read", "expiresInDays": "7"}]},
            "apiKeys[0].expiresInDays",
        ),
        ("[]", "body"),
        ("{", "body"),
    ],
)
def test_creating_an_account_refuses_a_malformed_body_naming_the_field_and_creates_nothing(
    client: ApiClient, world: World, body: Any, field: str
) -> None:
    digest = world.exchange.digest()

    if isinstance(body, str):
        response = client.post("/_sim/accounts", content=body)
    else:
        response = client.post("/_sim/accounts", json={"walletAddress": WALLET, **body})

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert world.exchange.users == []
    assert world.exchange.digest() == digest


@pytest.mark.parametrize("amount", ["1000000000000000", "9" * 40])
def test_account_balances_of_1e15_or_more_are_a_400_naming_the_bucket_not_a_500(
    client: ApiClient, world: World, amount: str
) -> None:
    response = client.post("/_sim/accounts", json={"balances": {"perps": amount}})

    assert_error(response, 400, "VALIDATION_ERROR", "balances.perps")
    assert world.exchange.users == []


# -- deposits ---------------------------------------------------------------------------------


def test_a_deposit_answers_a_pending_settlement_record(client: ApiClient) -> None:
    response = client.post(
        "/_sim/deposits", json={"walletAddress": WALLET, "amount": "250.125", "txHash": "0xabc"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "kind": "deposit",
        "status": "pending",
        "asset": "USDC",
        "amount": "250.125",
        "txHash": "0xabc",
        "withdrawalId": None,
        "walletAddress": WALLET_CHECKSUMMED,
        "network": "base-sepolia",
        "chainId": 84532,
        "confirmations": 0,
        "settledAt": None,
        "createdAt": START,
        "updatedAt": START,
    }


def test_a_deposit_without_a_tx_hash_gets_one(client: ApiClient) -> None:
    body = client.post("/_sim/deposits", json={"walletAddress": WALLET, "amount": "1"}).json()

    assert body["amount"] == "1.00"
    assert body["txHash"].startswith("0x") and len(body["txHash"]) == 66


def test_a_deposit_confirms_after_two_confirmations_two_seconds_apart(
    client: ApiClient, world: World
) -> None:
    record = client.post("/_sim/deposits", json={"walletAddress": WALLET, "amount": "40"}).json()
    user = world.exchange.find_user(WALLET)
    assert user is not None

    first = client.post("/_sim/clock/advance", json={"ms": 2_000}).json()
    settlement = world.exchange.settlement(user.user_id, record["id"])
    assert (settlement.status, settlement.confirmations) == (SettlementStatus.PENDING, 1)
    assert first["events"] == []
    assert world.exchange.balances(user.user_id).wallet == 0

    second = client.post("/_sim/clock/advance", json={"ms": 2_000}).json()

    assert [e["type"] for e in second["events"]] == ["FundsDeposited", "SettlementChanged"]
    assert (settlement.status, settlement.confirmations) == (SettlementStatus.CONFIRMED, 2)
    assert world.exchange.balances(user.user_id).wallet == Decimal(40)


def test_the_same_tx_hash_answers_the_same_record_and_credits_once(
    client: ApiClient, world: World
) -> None:
    body = {"walletAddress": WALLET, "amount": "10", "txHash": "0x01"}
    first = client.post("/_sim/deposits", json=body)

    again = client.post("/_sim/deposits", json=body)
    client.post("/_sim/clock/advance", json={"ms": 10_000})
    late = client.post("/_sim/deposits", json=body)

    assert again.content == first.content
    assert late.json()["id"] == first.json()["id"]
    assert late.json()["status"] == "confirmed"
    user = world.exchange.find_user(WALLET)
    assert user is not None
    assert world.exchange.balances(user.user_id).wallet == Decimal(10)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "5"}, "walletAddress"),
        ({"walletAddress": 5, "amount": "5"}, "walletAddress"),
        ({"walletAddress": "0xnothex", "amount": "5"}, "walletAddress"),
        ({"walletAddress": WALLET}, "amount"),
        ({"walletAddress": WALLET, "amount": 5}, "amount"),
        ({"walletAddress": WALLET, "amount": "-5"}, "amount"),
        ({"walletAddress": WALLET, "amount": "0"}, "amount"),
        ({"walletAddress": WALLET, "amount": "1e3"}, "amount"),
        ({"walletAddress": WALLET, "amount": ".5"}, "amount"),
        ({"walletAddress": WALLET, "amount": "five"}, "amount"),
        ({"walletAddress": WALLET, "amount": "5", "txHash": 5}, "txHash"),
    ],
)
def test_a_deposit_refuses_a_malformed_body_naming_the_field(
    client: ApiClient, world: World, body: dict[str, Any], field: str
) -> None:
    response = client.post("/_sim/deposits", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert world.exchange.users == []


def test_a_deposit_of_more_than_six_decimals_is_400_naming_amount(client: ApiClient) -> None:
    response = client.post("/_sim/deposits", json={"walletAddress": WALLET, "amount": "1.0000001"})

    assert_error(response, 400, "VALIDATION_ERROR", "amount")


@pytest.mark.parametrize("amount", ["1000000000000000", "9" * 40])
def test_a_deposit_of_1e15_or_more_is_a_400_naming_amount_not_a_500(
    client: ApiClient, world: World, amount: str
) -> None:
    response = client.post("/_sim/deposits", json={"walletAddress": WALLET, "amount": amount})

    assert_error(response, 400, "VALIDATION_ERROR", "amount")
    assert world.exchange.users == []


def test_a_deposit_refuses_bad_json_naming_body(client: ApiClient) -> None:
    assert_error(client.post("/_sim/deposits", content="{"), 400, "VALIDATION_ERROR", "body")


# -- markets ----------------------------------------------------------------------------------


def test_setting_the_index_moves_every_market_on_the_underlying(
    client: ApiClient, world: World
) -> None:
    response = client.post("/_sim/markets/BTC-PERP/index", json={"price": "70000"})

    assert response.status_code == 200
    assert response.json() == {"marketId": "BTC-PERP", "index": "70000.00", "mark": "70000.00"}
    assert world.exchange.mark_price("BTC-USDC-SPOT") == Decimal(70000)


def test_an_index_off_the_tick_is_shown_on_the_markets_decimals(client: ApiClient) -> None:
    body = client.post("/_sim/markets/BTC-PERP/index", json={"price": "70000.125"}).json()

    assert (body["index"], body["mark"]) == ("70000.12", "70000.12")


def test_pinning_the_mark_keeps_the_index(client: ApiClient, world: World) -> None:
    response = client.post("/_sim/markets/BTC-PERP/mark", json={"price": "69000.50"})

    assert response.status_code == 200
    assert response.json() == {"marketId": "BTC-PERP", "index": "68000.00", "mark": "69000.50"}
    client.post("/_sim/markets/BTC-PERP/index", json={"price": "60000"})
    assert world.exchange.mark_price("BTC-PERP") == Decimal("69000.50")


@pytest.mark.parametrize("action", ["index", "mark"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "price"),
        ({"price": 70000}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "0"}, "price"),
        ({"price": "7e4"}, "price"),
        ({"price": "+70000"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "1" * 16}, "price"),
        ([], "body"),
    ],
)
def test_setting_a_price_refuses_a_malformed_body_naming_the_field(
    client: ApiClient, world: World, action: str, body: Any, field: str
) -> None:
    response = client.post(f"/_sim/markets/BTC-PERP/{action}", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert world.exchange.mark_price("BTC-PERP") == Decimal("68000.00")


def test_a_mark_off_the_tick_is_400_naming_price(client: ApiClient, world: World) -> None:
    response = client.post("/_sim/markets/BTC-PERP/mark", json={"price": "69000.005"})

    assert_error(response, 400, "VALIDATION_ERROR", "price")
    assert world.exchange.mark_price("BTC-PERP") == Decimal("68000.00")


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("index", {"price": "1"}),
        ("mark", {"price": "1"}),
        ("trade", _sell("1")),
        ("halt", None),
        ("resume", None),
    ],
)
def test_market_control_of_an_unknown_market_is_404_unknown_market(
    client: ApiClient, action: str, body: dict[str, str] | None
) -> None:
    response = client.post(f"/_sim/markets/NOPE-PERP/{action}", json=body)

    assert_error(response, 404, "UNKNOWN_MARKET")


def test_an_outside_trade_fills_a_resting_order_of_an_account(
    client: ApiClient, world: World, trader: Any
) -> None:
    order_id = bid(world, trader.user_id, "67990.00", "0.5")

    response = client.post("/_sim/markets/BTC-PERP/trade", json=_sell("0.3", "67980.00"))

    assert response.status_code == 200
    [fill] = response.json()["fills"]
    assert fill == {
        "tradeId": fill["tradeId"],
        "price": "67990.00",
        "quantity": "0.3000",
        "fee": "10.1985",
        "feeRole": "taker",
        "createdAt": START,
    }
    order = world.exchange.order(trader.user_id, order_id)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    position = world.exchange.position(trader.user_id, "BTC-PERP")
    assert position is not None and position.size == Decimal("0.3")


def test_an_outside_trade_with_nothing_to_take_answers_no_fills(
    client: ApiClient, world: World, trader: Any
) -> None:
    bid(world, trader.user_id, "67990.00")

    response = client.post("/_sim/markets/BTC-PERP/trade", json=_sell("0.1", "68000.00"))

    assert response.status_code == 200
    assert response.json() == {"fills": []}
    assert world.exchange.depth("BTC-PERP").asks == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": "68000.00", "quantity": "1"}, "side"),
        ({"side": "hold", "price": "68000.00", "quantity": "1"}, "side"),
        ({"side": "sell", "quantity": "1"}, "price"),
        ({"side": "sell", "price": 68000, "quantity": "1"}, "price"),
        ({"side": "sell", "price": "-68000", "quantity": "1"}, "price"),
        ({"side": "sell", "price": "68000.001", "quantity": "1"}, "price"),
        ({"side": "sell", "price": "68000.00"}, "quantity"),
        ({"side": "sell", "price": "68000.00", "quantity": "0"}, "quantity"),
        ({"side": "sell", "price": "68000.00", "quantity": "1e1"}, "quantity"),
        ({"side": "sell", "price": "68000.00", "quantity": "0.00001"}, "quantity"),
        ([], "body"),
    ],
)
def test_an_outside_trade_refuses_a_malformed_body_naming_the_field(
    client: ApiClient, body: Any, field: str
) -> None:
    response = client.post("/_sim/markets/BTC-PERP/trade", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)


def test_halting_refuses_new_orders_while_cancels_still_work(
    client: ApiClient, world: World, trader: Any
) -> None:
    resting = bid(world, trader.user_id)

    response = client.post("/_sim/markets/BTC-PERP/halt")

    assert response.status_code == 200
    assert response.json() == {"marketId": "BTC-PERP", "tradingStatus": "halted"}
    with pytest.raises(OcxError) as refused:
        bid(world, trader.user_id)
    assert (refused.value.code, refused.value.status) == (ErrorCode.MARKET_HALTED, 409)
    assert_error(
        client.post("/_sim/markets/BTC-PERP/trade", json=_sell("0.1")), 409, "MARKET_HALTED"
    )
    assert world.exchange.cancel_order(trader.user_id, resting).status is OrderStatus.CANCELLED
    market = next(m for m in client.get("/perps/markets").json() if m["id"] == "BTC-PERP")
    assert market["tradingStatus"] == "halted"


def test_halting_twice_keeps_the_market_halted(client: ApiClient) -> None:
    client.post("/_sim/markets/BTC-PERP/halt")

    response = client.post("/_sim/markets/BTC-PERP/halt")

    assert response.json() == {"marketId": "BTC-PERP", "tradingStatus": "halted"}


def test_resuming_a_halted_market_accepts_orders_again(
    client: ApiClient, world: World, trader: Any
) -> None:
    client.post("/_sim/markets/BTC-PERP/halt")

    response = client.post("/_sim/markets/BTC-PERP/resume")

    assert response.json() == {"marketId": "BTC-PERP", "tradingStatus": "active"}
    assert world.exchange.order(trader.user_id, bid(world, trader.user_id)).status is (
        OrderStatus.OPEN
    )


def test_a_halt_applies_to_its_own_world_only(client: ApiClient, worlds: Worlds) -> None:
    base = new_world(client)

    client.post(base + "/_sim/markets/BTC-PERP/halt")

    assert world_of(worlds, base).exchange.is_halted("BTC-PERP")
    assert not worlds.default.exchange.is_halted("BTC-PERP")
