"""What making an account in a world takes and gives (`World.create_account`, `POST
/_sim/accounts`, a scenario's accounts)."""

from __future__ import annotations

from dataclasses import dataclass

from ocx_sim.auth.keys import ApiKey, Scope


@dataclass(frozen=True, slots=True)
class KeyRequest:
    name: str
    scope: Scope
    allowed_ips: tuple[str, ...] = ()
    expires_in_days: int | None = None


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A user made ready to trade: what `POST /_sim/accounts` and the sandbox's demo show."""

    user_id: str
    wallet_address: str
    private_key: str | None
    """Hex, only when the key pair was generated here."""
    session_token: str
    api_keys: tuple[tuple[ApiKey, str], ...]
    """Each key with its secret (shown once)."""
