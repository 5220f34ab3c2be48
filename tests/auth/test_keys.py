"""API keys: seeded secrets shown once, SHA-256 at rest, status, allowlists and the audit fields."""

from __future__ import annotations

import hashlib
import re

import pytest

from ocx_sim.auth.keys import (
    DAY_MS,
    MAX_EXPIRY_DAYS,
    MAX_NAME_LENGTH,
    ApiKey,
    ApiKeys,
    KeyStatus,
    Scope,
    hash_secret,
    ip_allowed,
    normalize_ips,
)
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.ids import Ids, decode_ulid_time, is_ulid

NOW = DEFAULT_START_MS
ALICE = "01KDY021007B774W0D899A5E5Y"
BOB = "01KDY021007B774W0D899A5E60"


@pytest.fixture
def keys() -> ApiKeys:
    return ApiKeys(Ids(3, lambda: NOW))


def make(
    keys: ApiKeys,
    user: str = ALICE,
    *,
    name: str = "bot",
    scope: Scope = Scope.TRADE,
    ips: tuple[str, ...] = (),
    days: int | None = None,
    now: int = NOW,
) -> tuple[ApiKey, str]:
    return keys.create(user, name, scope, ips, days, now)


def refusal(action: object) -> OcxError:
    assert callable(action)
    with pytest.raises(OcxError) as caught:
        action()
    return caught.value


def test_a_new_key_has_a_ulid_id_and_an_ocx_sk_secret(keys: ApiKeys) -> None:
    key, secret = make(keys, name="mm-bot-1")

    assert is_ulid(key.id)
    assert decode_ulid_time(key.id) == NOW
    assert re.fullmatch(r"ocx_sk_[A-Za-z0-9_-]{40}", secret)
    assert (key.user_id, key.name, key.scope) == (ALICE, "mm-bot-1", Scope.TRADE)
    assert (key.created_at, key.expires_at, key.allowed_ips) == (NOW, None, ())
    assert (key.revoked_at, key.last_used_at, key.last_used_ip) == (None, None, None)
    assert key.status(NOW) is KeyStatus.ACTIVE


def test_only_the_sha256_of_the_secret_is_kept(keys: ApiKeys) -> None:
    key, secret = make(keys)

    assert key.secret_hash == hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(vars(keys))


def test_secrets_and_ids_come_from_the_seed(keys: ApiKeys) -> None:
    twin = ApiKeys(Ids(3, lambda: NOW))
    stranger = ApiKeys(Ids(4, lambda: NOW))

    first, first_secret = make(keys)
    second, second_secret = make(twin)
    third, third_secret = make(stranger)

    assert (first.id, first_secret) == (second.id, second_secret)
    assert third.id != first.id
    assert third_secret != first_secret


def test_each_key_gets_its_own_id_and_secret(keys: ApiKeys) -> None:
    made = [make(keys) for _ in range(5)]

    assert len({key.id for key, _ in made}) == 5
    assert len({secret for _, secret in made}) == 5


def test_expires_in_days_sets_the_expiry_and_the_status_follows_it(keys: ApiKeys) -> None:
    key, _ = make(keys, days=90)

    assert key.expires_at == NOW + 90 * DAY_MS
    assert key.status(NOW + 90 * DAY_MS - 1) is KeyStatus.ACTIVE
    assert key.status(NOW + 90 * DAY_MS) is KeyStatus.EXPIRED


@pytest.mark.parametrize("name", ["", "x" * (MAX_NAME_LENGTH + 1)])
def test_a_name_outside_1_to_64_characters_names_the_field(keys: ApiKeys, name: str) -> None:
    error = refusal(lambda: make(keys, name=name))

    assert error.code is ErrorCode.VALIDATION_ERROR
    assert error.details == {"field": "name"}


@pytest.mark.parametrize("days", [0, -1, MAX_EXPIRY_DAYS + 1])
def test_expires_in_days_outside_its_range_names_the_field(keys: ApiKeys, days: int) -> None:
    error = refusal(lambda: make(keys, days=days))

    assert error.code is ErrorCode.VALIDATION_ERROR
    assert error.details == {"field": "expiresInDays"}


def test_a_refused_creation_stores_nothing(keys: ApiKeys) -> None:
    refusal(lambda: make(keys, name=""))

    assert keys.of_user(ALICE) == []


def test_a_users_keys_are_listed_newest_first_and_nobody_elses(keys: ApiKeys) -> None:
    first, _ = make(keys, name="first")
    make(keys, BOB, name="bobs")
    second, _ = make(keys, name="second", now=NOW + 1)

    assert keys.of_user(ALICE) == [second, first]
    assert [key.name for key in keys.of_user(BOB)] == ["bobs"]


def test_revoking_is_immediate_and_a_repeat_changes_nothing(keys: ApiKeys) -> None:
    key, secret = make(keys)

    assert keys.revoke(ALICE, key.id, NOW + 5) is key
    assert keys.revoke(ALICE, key.id, NOW + 9).revoked_at == NOW + 5
    assert key.status(NOW + 5) is KeyStatus.REVOKED
    assert refusal(lambda: keys.authenticate(secret, None, NOW + 5)).code is (
        ErrorCode.API_KEY_REVOKED
    )


def test_another_users_key_or_an_unknown_id_cannot_be_revoked(keys: ApiKeys) -> None:
    key, secret = make(keys)

    for user, key_id in ((BOB, key.id), (ALICE, "01KDY021007B774W0D899A5E99")):
        error = refusal(lambda user=user, key_id=key_id: keys.revoke(user, key_id, NOW))
        assert error.code is ErrorCode.NOT_FOUND
        assert error.status == 404
    assert keys.authenticate(secret, None, NOW) is key


def test_a_revoked_key_stays_revoked_after_its_expiry(keys: ApiKeys) -> None:
    key, _ = make(keys, days=1)
    keys.revoke(ALICE, key.id, NOW)

    assert key.status(NOW + 2 * DAY_MS) is KeyStatus.REVOKED


def test_authentication_finds_the_key_and_use_is_recorded_apart(keys: ApiKeys) -> None:
    key, secret = make(keys)

    assert keys.authenticate(secret, "203.0.113.9", NOW + 10) is key
    assert (key.last_used_at, key.last_used_ip) == (None, None)

    keys.record_use(key, "203.0.113.9", NOW + 10)

    assert (key.last_used_at, key.last_used_ip) == (NOW + 10, "203.0.113.9")


@pytest.mark.parametrize(
    ("days", "revoke", "at", "code"),
    [
        (None, False, NOW, ErrorCode.API_KEY_INVALID),
        (1, False, NOW + DAY_MS, ErrorCode.API_KEY_EXPIRED),
        (None, True, NOW, ErrorCode.API_KEY_REVOKED),
    ],
    ids=["unknown", "expired", "revoked"],
)
def test_an_unknown_expired_or_revoked_key_is_401_and_its_use_is_not_recorded(
    keys: ApiKeys, days: int | None, revoke: bool, at: int, code: ErrorCode
) -> None:
    key, secret = make(keys, days=days)
    if revoke:
        keys.revoke(ALICE, key.id, NOW)
    presented = "ocx_sk_" + "A" * 40 if code is ErrorCode.API_KEY_INVALID else secret

    error = refusal(lambda: keys.authenticate(presented, "10.0.0.1", at))

    assert error.code is code
    assert error.status == 401
    assert key.last_used_at is None


def test_an_address_outside_the_allowlist_is_403_and_not_recorded(keys: ApiKeys) -> None:
    key, secret = make(keys, ips=normalize_ips(["10.0.0.0/8", "2001:db8::/32"]))

    for ip in ("192.168.1.1", None, "not-an-ip"):
        error = refusal(lambda ip=ip: keys.authenticate(secret, ip, NOW))
        assert error.code is ErrorCode.IP_NOT_ALLOWED
        assert error.status == 403
    assert key.last_used_at is None
    assert keys.authenticate(secret, "10.20.30.40", NOW) is key
    assert keys.authenticate(secret, "2001:db8::1", NOW) is key


def test_ip_entries_are_kept_as_the_client_wrote_them() -> None:
    assert normalize_ips(["203.0.113.7", "10.1.2.3/8", "2001:db8::1"]) == (
        "203.0.113.7",
        "10.1.2.3/8",
        "2001:db8::1",
    )


def test_a_malformed_ip_entry_names_its_index() -> None:
    error = refusal(lambda: normalize_ips(["10.0.0.1", "10.0.0.300"]))

    assert error.code is ErrorCode.VALIDATION_ERROR
    assert error.details == {"field": "allowedIps[1]"}


def test_an_empty_allowlist_allows_every_address(keys: ApiKeys) -> None:
    key, _ = make(keys)

    assert ip_allowed(key, "198.51.100.1")
    assert ip_allowed(key, None)
