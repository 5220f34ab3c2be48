"""A world's configuration: everything a world is built from (and rebuilt from at a reset)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import DEFAULT_LIMIT
from ocx_sim.auth.siwe import DEFAULT_CHAIN_IDS
from ocx_sim.clock import DEFAULT_START_MS


class ClockMode(StrEnum):
    MANUAL = "manual"
    REALTIME = "realtime"


@dataclass(frozen=True, slots=True)
class WorldConfig:
    seed: int = 0
    clock: ClockMode = ClockMode.MANUAL
    speed: float = 1.0
    start_ms: int = DEFAULT_START_MS
    profile: Profile = Profile.STRICT
    siwe_domain: str | None = None
    """The SIWE domain sign-ins must name; None: the request's Host header."""
    chain_ids: tuple[int, ...] = DEFAULT_CHAIN_IDS
    invite_codes: tuple[str, ...] | None = None
    """Codes that unlock trading; None: no invite gating (docs/fidelity.md "Sign-in, sessions and
    keys")."""
    trusted_proxies: bool = False
    """Take the client address from X-Forwarded-For (only behind a proxy you run)."""
    order_rate_limit: int = DEFAULT_LIMIT
    """Order-path requests per user per 60 s (docs/fidelity.md "Rate limits")."""
    scenario: str | None = None
    """A bundled scenario's name or a YAML file's path, loaded when the world is built (so a
    reset loads it again); see scenario_run.py for its seed and start. Its catalog terms
    (docs/scenarios.md "Catalog terms") make the world's catalog."""
