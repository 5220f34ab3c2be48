"""API-key management over HTTP (https://ocx.gitbook.io/ocx-doc/ocx/authentication/api-keys;
docs/fidelity.md "Sign-in, sessions and keys"): session only, secret shown once, SHA-256 at
rest, status active/expired/revoked, allowlists, audit fields, and one user's keys hidden from
another."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ocx_sim.auth.policy import Profile
from ocx_sim.clock import format_ms
from ocx_sim.worlds import NewAccount, World, WorldConfig
from tests.api.conftest import ApiClient, assert_error, read_key, trade_key

KEYS = "/perps/me/api-keys"
DAY_MS = 86_400_000
MESSAGE = "Copy this secret now — it will not be shown again."
PERMISSIVE = WorldConfig(seed=7, profile=Profile.PERMISSIVE)


def create(client: ApiClient, account: NewAccount, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "mm-bot-1")
    body.setdefault("scope", "trade")
    response = client.post(KEYS, json=body, token=account.session_token)
    assert response.status_code == 200, response.json()
    return dict(response.json())


def listed(client: ApiClient, account: NewAccount) -> list[dict[str, Any]]:
    response = client.get(KEYS, token=account.session_token)
    assert response.status_code == 200, response.json()
    return list(response.json())


# -- create -----------------------------------------------------------------------------------


def test_create_answers_the_metadata_the_secret_and_the_warning(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    world.exchange.advance_by(1_500)

    created = create(client, trader, name="delta-neutral bot", scope="read")

    secret = created.pop("secret")
    assert secret.startswith("ocx_sk_")
    assert len(secret) == 47
    assert created.pop("message") == MESSAGE
    assert created == {
        "id": created["id"],
        "name": "delta-neutral bot",
        "scope": "read",
        "allowedIps": [],
        "expiresAt": None,
        "createdAt": format_ms(world.now_ms),
        "revokedAt": None,
        "lastUsedAt": None,
        "lastUsedIp": None,
        "status": "active",
    }


def test_create_with_expiry_and_allowlist_records_both(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    created = create(client, trader, allowedIps=["10.0.0.0/8", "2001:db8::/32"], expiresInDays=90)

    assert created["expiresAt"] == format_ms(world.now_ms + 90 * DAY_MS)
    assert created["allowedIps"] == ["10.0.0.0/8", "2001:db8::/32"]


def test_the_secret_is_shown_once_and_only_its_sha256_is_kept(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    created = create(client, trader)
    secret = created["secret"]

    listing = client.get(KEYS, token=trader.session_token)

    assert secret not in listing.text
    assert all("secret" not in key and "message" not in key for key in listing.json())
    stored = next(key for key in world.keys.of_user(trader.user_id) if key.id == created["id"])
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(vars(world.keys))
    assert secret not in repr(world.keys.of_user(trader.user_id))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "trade"}, "name"),
        ({"name": "", "scope": "trade"}, "name"),
        ({"name": "x" * 65, "scope": "trade"}, "name"),
        ({"name": 7, "scope": "trade"}, "name"),
        ({"name": "bot"}, "scope"),
        ({"name": "bot", "scope": "admin"}, "scope"),
        ({"name": "bot", "scope": "TRADE"}, "scope"),
        ({"name": "bot", "scope": 1}, "scope"),
        ({"name": "bot", "scope": "read", "allowedIps": "10.0.0.1"}, "allowedIps"),
        ({"name": "bot", "scope": "read", "allowedIps": [10]}, "allowedIps"),
        ({"name": "bot", "scope": "read", "allowedIps": ["10.0.0.1", "nope"]}, "allowedIps[1]"),
        ({"name": "bot", "scope": "read", "expiresInDays": 0}, "expiresInDays"),
        ({"name": "bot", "scope": "read", "expiresInDays": -5}, "expiresInDays"),
        ({"name": "bot", "scope": "read", "expiresInDays": 3651}, "expiresInDays"),
        ({"name": "bot", "scope": "read", "expiresInDays": "90"}, "expiresInDays"),
        ({"name": "bot", "scope": "read", "expiresInDays": 1.5}, "expiresInDays"),
        ({"name": "bot", "scope": "read", "expiresInDays": True}, "expiresInDays"),
    ],
)
def test_a_bad_key_request_names_the_field_and_creates_nothing(
    client: ApiClient, world: World, trader: NewAccount, body: dict[str, Any], field: str
) -> None:
    before = len(world.keys.of_user(trader.user_id))

    response = client.post(KEYS, json=body, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert len(world.keys.of_user(trader.user_id)) == before


@pytest.mark.parametrize("content", ["{nope", "[]", ""], ids=["bad-json", "array", "empty"])
def test_a_key_request_that_is_not_a_json_object_names_the_body(
    client: ApiClient, trader: NewAccount, content: str
) -> None:
    response = client.post(KEYS, content=content, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", "body")


# -- list -------------------------------------------------------------------------------------


def test_the_list_is_newest_first_with_active_expired_and_revoked(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    expiring = create(client, trader, name="expiring", expiresInDays=1)
    revoked = create(client, trader, name="revoked")
    active = create(client, trader, name="active")
    client.delete(f"{KEYS}/{revoked['id']}", token=trader.session_token)
    world.exchange.advance_by(DAY_MS)

    keys = listed(client, trader)

    assert [(k["name"], k["status"]) for k in keys[:3]] == [
        ("active", "active"),
        ("revoked", "revoked"),
        ("expiring", "expired"),
    ]
    assert [k["id"] for k in keys[:3]] == [active["id"], revoked["id"], expiring["id"]]
    assert [k["name"] for k in keys[3:]] == ["reader", "trade-bot"]


def test_the_list_is_empty_for_a_user_without_keys(client: ApiClient, world: World) -> None:
    account = world.create_account()

    assert listed(client, account) == []


@pytest.mark.parametrize("config", [WorldConfig(seed=7, profile=Profile.GITBOOK)], ids=["gitbook"])
def test_the_gitbook_profile_wraps_the_list_in_keys(client: ApiClient, trader: NewAccount) -> None:
    body = client.get(KEYS, token=trader.session_token).json()

    assert list(body) == ["keys"]
    assert [k["name"] for k in body["keys"]] == ["reader", "trade-bot"]


# -- revoke -----------------------------------------------------------------------------------


def test_revoking_answers_the_metadata_as_revoked_and_again_the_same(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    created = create(client, trader)
    world.exchange.advance_by(2_000)
    revoked_at = format_ms(world.now_ms)

    first = client.delete(f"{KEYS}/{created['id']}", token=trader.session_token)
    world.exchange.advance_by(2_000)
    second = client.delete(f"{KEYS}/{created['id']}", token=trader.session_token)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["status"] == "revoked"
    assert first.json()["revokedAt"] == revoked_at
    assert first.json()["id"] == created["id"]
    assert "secret" not in first.json()


def test_a_revoked_key_stops_authenticating_at_once(client: ApiClient, trader: NewAccount) -> None:
    created = create(client, trader)
    client.delete(f"{KEYS}/{created['id']}", token=trader.session_token)

    assert_error(client.get(KEYS, key=created["secret"]), 401, "API_KEY_REVOKED")
    assert_error(client.post("/auth/logout", key=created["secret"]), 401, "API_KEY_REVOKED")


def test_an_unknown_key_id_is_not_found(client: ApiClient, trader: NewAccount) -> None:
    for key_id in ("01KDY021007B774W0D899A5E99", "nope"):
        response = client.delete(f"{KEYS}/{key_id}", token=trader.session_token)
        assert_error(response, 404, "NOT_FOUND")


def test_a_user_can_neither_see_nor_revoke_another_users_keys(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    mine = create(client, trader)

    assert mine["id"] not in [k["id"] for k in listed(client, other)]
    response = client.delete(f"{KEYS}/{mine['id']}", token=other.session_token)

    assert_error(response, 404, "NOT_FOUND")
    assert listed(client, trader)[0]["status"] == "active"
    assert world.keys.authenticate(mine["secret"], None, world.now_ms).revoked_at is None


# -- credentials ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("GET", KEYS), ("POST", KEYS), ("DELETE", f"{KEYS}/x")]
)
def test_key_management_needs_credentials(client: ApiClient, method: str, path: str) -> None:
    response = client.request(method, path, json={"name": "bot", "scope": "read"})

    assert_error(response, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "config",
    [WorldConfig(seed=7), PERMISSIVE, WorldConfig(seed=7, profile=Profile.GITBOOK)],
    ids=["strict", "permissive", "gitbook"],
)
@pytest.mark.parametrize("how", ["x-api-key", "bearer"])
@pytest.mark.parametrize("use", [trade_key, read_key], ids=["trade", "read"])
def test_no_api_key_can_manage_keys_under_any_profile(
    client: ApiClient, world: World, trader: NewAccount, how: str, use: Any
) -> None:
    secret = use(trader)
    headers = {"x-api-key": secret} if how == "x-api-key" else {"Authorization": f"Bearer {secret}"}
    key_id = trader.api_keys[0][0].id

    for method, path in (("GET", KEYS), ("POST", KEYS), ("DELETE", f"{KEYS}/{key_id}")):
        response = client.request(
            method, path, json={"name": "x", "scope": "trade"}, headers=headers
        )
        assert response.status_code == 403
        assert response.json()["code"] == "API_KEY_NOT_ACCEPTED"
    keys = world.keys.of_user(trader.user_id)
    assert [(key.name, key.revoked_at) for key in keys] == [("reader", None), ("trade-bot", None)]


def test_an_unknown_key_is_api_key_invalid(client: ApiClient) -> None:
    assert_error(client.get(KEYS, key="ocx_sk_" + "A" * 40), 401, "API_KEY_INVALID")
    headers = {"Authorization": "Bearer ocx_sk_nope"}
    assert_error(client.get(KEYS, headers=headers), 401, "API_KEY_INVALID")


def test_a_key_past_its_expiry_is_api_key_expired(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    created = create(client, trader, expiresInDays=2)
    world.exchange.advance_by(2 * DAY_MS - 1)
    assert_error(client.get(KEYS, key=created["secret"]), 403, "API_KEY_NOT_ACCEPTED")

    world.exchange.advance_by(1)

    assert_error(client.get(KEYS, key=created["secret"]), 401, "API_KEY_EXPIRED")
    assert listed(client, trader)[0]["status"] == "expired"


def test_a_key_from_outside_its_allowlist_is_ip_not_allowed(
    client: ApiClient, trader: NewAccount
) -> None:
    created = create(client, trader, allowedIps=["203.0.113.0/24"])

    outside = client.get(KEYS, key=created["secret"], client_ip="198.51.100.7")
    inside = client.get(KEYS, key=created["secret"], client_ip="203.0.113.7")

    assert_error(outside, 403, "IP_NOT_ALLOWED")
    # From inside the allowlist the key gets as far as the policy, which refuses key management.
    assert_error(inside, 403, "API_KEY_NOT_ACCEPTED")


@pytest.mark.parametrize("config", [PERMISSIVE], ids=["permissive"])
def test_using_a_key_records_when_and_from_where(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    created = create(client, trader, allowedIps=["203.0.113.0/24"])
    world.exchange.advance_by(5_000)

    assert client.post("/auth/logout", key=created["secret"], client_ip="203.0.113.9").json() == {
        "ok": True
    }

    key = listed(client, trader)[0]
    assert key["lastUsedAt"] == format_ms(world.now_ms)
    assert key["lastUsedIp"] == "203.0.113.9"
    assert key["status"] == "active"


@pytest.mark.parametrize("config", [PERMISSIVE], ids=["permissive"])
def test_a_revoked_or_expired_key_is_refused_under_permissive_too(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    revoked = create(client, trader)
    expiring = create(client, trader, expiresInDays=1)
    client.delete(f"{KEYS}/{revoked['id']}", token=trader.session_token)
    world.exchange.advance_by(DAY_MS)

    assert_error(client.post("/auth/logout", key=revoked["secret"]), 401, "API_KEY_REVOKED")
    assert_error(client.post("/auth/logout", key=expiring["secret"]), 401, "API_KEY_EXPIRED")
    assert client.post("/auth/logout", key=trade_key(trader)).status_code == 200
