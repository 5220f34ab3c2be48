"""A world's configuration: everything a world is built from (and rebuilt from at a reset)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import DEFAULT_LIMIT
from ocx_sim.auth.siwe import DEFAULT_CHAIN_IDS
from ocx_sim.clock import DEFAULT_START_MS, WallTimeSource, wall_now_ms
from ocx_sim.worlds.accounts import AccountRequest

START_NOW: Final = "now"
Start = int | Literal["now"] | None
"""A world's configured start: an instant (unix ms), "now", or None for its clock's default."""


class ClockMode(StrEnum):
    MANUAL = "manual"
    REALTIME = "realtime"


@dataclass(frozen=True, slots=True)
class WorldConfig:
    seed: int = 0
    clock: ClockMode = ClockMode.MANUAL
    speed: float = 1.0
    start: Start = None
    """The world's first instant (unix ms); "now": the wall clock's now in whole seconds, read
    each time the world is built (created or reset); None: the clock's default, 2026-01-02 on a
    manual clock and "now" on a realtime one, so that a wallet's SIWE message, whose `Issued At`
    is its own now, is accepted by a live sandbox (docs/control-api.md "Worlds")."""
    profile: Profile = Profile.STRICT
    siwe_domain: str | None = None
    """The SIWE domain sign-ins must name; None: the request's Host header."""
    chain_ids: tuple[int, ...] = DEFAULT_CHAIN_IDS
    invite_codes: tuple[str, ...] | None = None
    """Codes that unlock trading; None: no invite gating (docs/fidelity.md "Sign-in, sessions and
    keys")."""
    trusted_proxies: bool = False
    """Take the client's address from X-Forwarded-For and its scheme from X-Forwarded-Proto
    (only behind a proxy you run; docs/fidelity.md "Sign-in, sessions and keys")."""
    order_rate_limit: int = DEFAULT_LIMIT
    """Order-path requests per user per 60 s (docs/fidelity.md "Rate limits")."""
    journal_bodies: bool = False
    """The journal keeps each request's and answer's JSON body, credentials redacted
    (docs/control-api.md "State", `GET /_sim/journal`)."""
    scenario: str | None = None
    """A bundled scenario's name or a YAML file's path, loaded when the world is built (so a
    reset loads it again); see scenario_run.py for its seed and start. Its catalog terms
    (docs/scenarios.md "Catalog terms") make the world's catalog."""
    random_secrets: bool = False
    """Session-signing key, API-key secrets, SIWE nonces and generated private keys from the
    operating system's randomness instead of the seed (`ocx-sim serve --no-control`): nobody
    who knows the seed can forge a session or predict a key. Ids, events and digests stay
    seeded (docs/fidelity.md "Sign-in, sessions and keys")."""
    accounts: tuple[AccountRequest, ...] = ()
    """Accounts made each time the world is built, after its scenario (the sandbox's demo
    account): a reset makes them again, with the same credentials when secrets are seeded."""

    def start_instant(self, wall_time: WallTimeSource | None = None) -> int:
        """The instant a world built now from this config starts at (`wall_time`: the wall
        clock to read for "now", the system's when None)."""
        start = self.start
        if start is None:
            start = START_NOW if self.clock is ClockMode.REALTIME else DEFAULT_START_MS
        return wall_now_ms(wall_time) if start == START_NOW else int(start)
