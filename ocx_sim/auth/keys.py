"""API keys: created once with a secret shown once, stored as a SHA-256 of the secret only.

docs/fidelity.md "Sign-in, sessions and keys": `id` is a ULID, secrets are `ocx_sk_` + 40
characters from the world's seeded generator, scopes are `read` and `trade`, `allowedIps` empty
means any address, `expiresInDays` sets `expiresAt`. A key's status is `revoked` once revoked,
`expired` past its expiry, else `active`; revoked and expired keys answer 401, an address outside
the allowlist 403. Each successful use records `lastUsedAt` and `lastUsedIp`.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.ids import Ids

DAY_MS = 86_400_000
MAX_EXPIRY_DAYS = 3650
MAX_NAME_LENGTH = 64


class Scope(StrEnum):
    READ = "read"
    TRADE = "trade"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(slots=True)
class ApiKey:
    id: str
    user_id: str
    name: str
    scope: Scope
    allowed_ips: tuple[str, ...]
    created_at: int
    expires_at: int | None
    secret_hash: str
    revoked_at: int | None = None
    last_used_at: int | None = None
    last_used_ip: str | None = None

    def status(self, now_ms: int) -> KeyStatus:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is not None and now_ms >= self.expires_at:
            return KeyStatus.EXPIRED
        return KeyStatus.ACTIVE


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_ips(values: list[str]) -> tuple[str, ...]:
    """Each entry an IPv4/IPv6 address or network (`203.0.113.0/24`), kept as the client wrote
    it; 400 naming the entry otherwise."""
    for i, value in enumerate(values):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise invalid(f"allowedIps[{i}]", f"{value!r} is not an IP address") from None
    return tuple(values)


def ip_allowed(key: ApiKey, ip: str | None) -> bool:
    if not key.allowed_ips:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in key.allowed_ips)


class ApiKeys:
    """Every key of one world, by id and by the hash of its secret."""

    def __init__(self, ids: Ids) -> None:
        self._ids = ids
        self._by_id: dict[str, ApiKey] = {}
        self._by_hash: dict[str, ApiKey] = {}

    @staticmethod
    def check(name: str, expires_in_days: int | None) -> None:
        """The 400s `create` would raise, for callers that must check before they act."""
        if not 0 < len(name) <= MAX_NAME_LENGTH:
            raise invalid("name", f"must be 1 to {MAX_NAME_LENGTH} characters")
        if expires_in_days is not None and not 0 < expires_in_days <= MAX_EXPIRY_DAYS:
            raise invalid("expiresInDays", f"must be between 1 and {MAX_EXPIRY_DAYS}")

    def create(
        self,
        user_id: str,
        name: str,
        scope: Scope,
        allowed_ips: tuple[str, ...],
        expires_in_days: int | None,
        now_ms: int,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (the only time the secret exists outside the caller)."""
        self.check(name, expires_in_days)
        secret = self._ids.secret()
        key = ApiKey(
            id=self._ids.ulid(),
            user_id=user_id,
            name=name,
            scope=scope,
            allowed_ips=allowed_ips,
            created_at=now_ms,
            expires_at=None if expires_in_days is None else now_ms + expires_in_days * DAY_MS,
            secret_hash=hash_secret(secret),
        )
        self._by_id[key.id] = key
        self._by_hash[key.secret_hash] = key
        return key, secret

    def of_user(self, user_id: str) -> list[ApiKey]:
        """The user's keys, newest first."""
        return [k for k in reversed(self._by_id.values()) if k.user_id == user_id]

    def revoke(self, user_id: str, key_id: str, now_ms: int) -> ApiKey:
        """Revoke one of the user's keys (again: no change); 404 for anyone else's."""
        key = self._by_id.get(key_id)
        if key is None or key.user_id != user_id:
            raise OcxError(ErrorCode.NOT_FOUND, f"API key {key_id!r} not found")
        if key.revoked_at is None:
            key.revoked_at = now_ms
        return key

    def authenticate(self, secret: str, ip: str | None, now_ms: int) -> ApiKey:
        """The key whose secret this is, in use from `ip`; 401 for an unknown, revoked or
        expired key, 403 from an address outside its allowlist. Use is recorded separately
        (`record_use`), once the endpoint's policy has accepted the key."""
        key = self._by_hash.get(hash_secret(secret))
        if key is None:
            raise OcxError(ErrorCode.API_KEY_INVALID)
        status = key.status(now_ms)
        if status is KeyStatus.REVOKED:
            raise OcxError(ErrorCode.API_KEY_REVOKED)
        if status is KeyStatus.EXPIRED:
            raise OcxError(ErrorCode.API_KEY_EXPIRED)
        if not ip_allowed(key, ip):
            raise OcxError(
                ErrorCode.IP_NOT_ALLOWED, f"Requests from {ip} are not allowed for this key"
            )
        return key

    @staticmethod
    def record_use(key: ApiKey, ip: str | None, now_ms: int) -> None:
        """Note a successful use (once the endpoint has accepted the key, not before)."""
        key.last_used_at = now_ms
        key.last_used_ip = ip
