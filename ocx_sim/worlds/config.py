"""A world's configuration: everything a world is built from (and rebuilt from at a reset)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Final, Literal

from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import DEFAULT_LIMIT
from ocx_sim.auth.siwe import DEFAULT_CHAIN_IDS
from ocx_sim.clock import DEFAULT_START_MS, WallTimeSource, wall_now_ms
from ocx_sim.engine.commands.retention import SHORTEST_MS
from ocx_sim.worlds.accounts import AccountRequest

START_NOW: Final = "now"
Start = int | Literal["now"] | None
"""A world's configured start: an instant (unix ms), "now", or None for its clock's default."""
Network = IPv4Network | IPv6Network
DEFAULT_RETENTION_MS = 24 * 3_600_000
"""A world keeps what ended for a simulated day (docs/fidelity.md "Retention")."""
SHORTEST_RETENTION_MS = SHORTEST_MS
"""No shorter: an order that ended holds its clientOrderId for 24 hours."""


def proxy_networks(addresses: str | Iterable[str]) -> tuple[Network, ...]:
    """Trusted proxies from `127.0.0.1,10.0.0.0/8` (or a list of such entries): each an address
    or a network; ValueError naming the entry that is neither."""
    entries = addresses.split(",") if isinstance(addresses, str) else addresses
    networks = []
    for entry in entries:
        text = entry.strip()
        try:
            networks.append(ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network") from None
    return tuple(networks)


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
    trusted_proxies: tuple[Network, ...] = ()
    """The proxies (addresses and networks, `proxy_networks`) whose X-Forwarded-For and
    X-Forwarded-Proto are believed, when one of them is the connection's peer; none by default
    (docs/fidelity.md "Sign-in, sessions and keys")."""
    order_rate_limit: int = DEFAULT_LIMIT
    """Order-path requests per user per 60 s (docs/fidelity.md "Rate limits")."""
    journal_bodies: bool = False
    """The journal keeps each request's and answer's JSON body, credentials redacted
    (docs/control-api.md "State", `GET /_sim/journal`)."""
    scenario: str | None = None
    """A bundled scenario's name, a YAML file's path or a scenario's YAML text (a value with a
    line break), loaded when the world is built (so a reset loads it again); see
    scenario_run.py for its seed and start. Its catalog terms (docs/scenarios.md "Catalog
    terms") make the world's catalog."""
    scenario_source: str | None = None
    """What the errors of an inline `scenario` call it, in place of a file name (`<yaml>`
    when None)."""
    scenario_dir: Path | None = None
    """The one directory whose YAML files the control API may name by path (`ocx-sim serve
    --scenario-dir`); None: bundled names and inline YAML only (docs/control-api.md
    "Scenarios over HTTP")."""
    random_secrets: bool = False
    """Session-signing key, API-key secrets, SIWE nonces and generated private keys from the
    operating system's randomness instead of the seed (`ocx-sim serve --no-control`): nobody
    who knows the seed can forge a session or predict a key. Ids, events and digests stay
    seeded (docs/fidelity.md "Sign-in, sessions and keys")."""
    retention_ms: int | None = DEFAULT_RETENTION_MS
    """How long (simulated) the world keeps an order that ended, a fill, a ledger entry and an
    event before forgetting it; None: forever, as `ocx-sim run` does (docs/fidelity.md
    "Retention"). At least 24 hours."""
    accounts: tuple[AccountRequest, ...] = ()
    """Accounts made each time the world is built, after its scenario (the sandbox's demo
    account): a reset makes them again, with the same credentials when secrets are seeded."""

    def __post_init__(self) -> None:
        if self.retention_ms is not None and self.retention_ms < SHORTEST_RETENTION_MS:
            raise ValueError(
                "the retention window is at least 24 hours: an order that ended holds its "
                "clientOrderId that long"
            )

    def start_instant(self, wall_time: WallTimeSource | None = None) -> int:
        """The instant a world built now from this config starts at (`wall_time`: the wall
        clock to read for "now", the system's when None)."""
        start = self.start
        if start is None:
            start = START_NOW if self.clock is ClockMode.REALTIME else DEFAULT_START_MS
        return wall_now_ms(wall_time) if start == START_NOW else int(start)
