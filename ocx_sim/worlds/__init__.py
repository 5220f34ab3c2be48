"""Worlds: one exchange each, with everything around it, and the registry that holds them.

A world is one simulated OCX: its clock, its exchange (books, accounts, event log) and its
gateway state (SIWE nonces, sessions, API keys, the order-path rate limiter), all built from a
`WorldConfig` (CONTROL-API.md "Worlds"). Worlds share nothing: each has its own seed-derived ids,
secrets and session-signing key, so the same config and the same requests give byte-identical
responses. The server's default world answers at `/`; every other one at `/w/{worldId}/`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from eth_account import Account

from ocx_sim.auth.keys import ApiKey, ApiKeys, Scope
from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import DEFAULT_LIMIT, RateLimiter
from ocx_sim.auth.sessions import Sessions
from ocx_sim.auth.siwe import DEFAULT_CHAIN_IDS, Nonces
from ocx_sim.clock import DEFAULT_START_MS, Clock, RealTimeSource, SimClock, WallClock
from ocx_sim.engine.accounts import Bucket
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import invalid
from ocx_sim.ids import Ids

DEFAULT_WORLD_ID = "default"


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
    """Codes that unlock trading; None: no invite gating (DECISIONS.md)."""
    trusted_proxies: bool = False
    """Take the client address from X-Forwarded-For (only behind a proxy you run)."""
    order_rate_limit: int = DEFAULT_LIMIT
    """Order-path requests per user per 60 s (DECISIONS.md "Rate limits")."""


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


class World:
    def __init__(
        self, world_id: str, config: WorldConfig, real_time: RealTimeSource | None = None
    ) -> None:
        self.world_id = world_id
        self.config = config
        self.clock: Clock = (
            WallClock(config.start_ms, config.speed, real_time)
            if config.clock is ClockMode.REALTIME
            else SimClock(config.start_ms)
        )
        self.exchange = Exchange(seed=config.seed, clock=self.clock)
        ids = self.exchange.ids
        self.sessions = Sessions(ids.token_bytes(32), audience=world_id)
        self.nonces = Nonces()
        self.keys = ApiKeys(ids)
        self.limiter = RateLimiter(config.order_rate_limit)
        self.invited: set[str] = set()
        """Users who redeemed an invite (only consulted when invite codes are configured)."""

    @property
    def base_url(self) -> str:
        return "" if self.world_id == DEFAULT_WORLD_ID else f"/w/{self.world_id}"

    @property
    def cookie_path(self) -> str:
        return self.base_url or "/"

    @property
    def ids(self) -> Ids:
        return self.exchange.ids

    @property
    def now_ms(self) -> int:
        return self.clock.now_ms

    def keep_time(self) -> float | None:
        """A realtime world fires every timer due by now (CONTROL-API.md "Clock": "a realtime
        clock ... fires timers as it goes") and says how many real seconds until its next one;
        None when nothing is pending. A manual world's time moves only when told: no-op."""
        clock = self.clock
        if not isinstance(clock, WallClock):
            return None
        clock.fire_due()
        return clock.seconds_until_next_timer()

    def redeem_invite(self, user_id: str, code: str) -> None:
        """Unlock trading for the user (only consulted when invite codes are configured; then an
        unknown code is 400 naming `code`). Codes may be redeemed by any number of users."""
        codes = self.config.invite_codes
        if codes is None:
            return
        if code not in codes:
            raise invalid("code", "is not a valid invite code")
        self.invited.add(user_id)

    def sign_in(self, user_id: str) -> str:
        """A new session token for the user, exactly what a SIWE sign-in gives."""
        return self.sessions.issue(user_id, self.ids.ulid(), self.now_ms)

    def create_account(
        self,
        wallet_address: str | None = None,
        balances: Mapping[Bucket, Decimal] | None = None,
        api_keys: Sequence[KeyRequest] = (),
    ) -> NewAccount:
        """A user with funded buckets, a session and API keys (CONTROL-API.md "Accounts").
        Without an address a key pair is generated from the world's seed. Balances arrive as a
        confirmed deposit to the wallet bucket, then transfers, so the ledger tells the truth."""
        for request in api_keys:
            ApiKeys.check(request.name, request.expires_in_days)
        private_key = None
        if wallet_address is None:
            private_key = "0x" + self.ids.token_bytes(32).hex()
            wallet_address = str(Account.from_key(private_key).address)
        exchange = self.exchange
        user = exchange.register_user(wallet_address)
        funding = {bucket: amount for bucket, amount in (balances or {}).items() if amount}
        total = sum(funding.values(), Decimal(0))
        if total:
            exchange.deposit(user.user_id, total)
        for bucket, amount in funding.items():
            if bucket is not Bucket.WALLET:
                exchange.transfer(user.user_id, Bucket.WALLET, bucket, amount)
        keys = tuple(
            self.keys.create(
                user.user_id,
                request.name,
                request.scope,
                request.allowed_ips,
                request.expires_in_days,
                self.now_ms,
            )
            for request in api_keys
        )
        return NewAccount(
            user.user_id, user.wallet_address, private_key, self.sign_in(user.user_id), keys
        )


@dataclass(slots=True)
class Worlds:
    """The default world and every world created beside it."""

    default_config: WorldConfig
    real_time: RealTimeSource | None = None
    """What realtime worlds read as real time (the monotonic clock unless a test fakes it)."""
    default: World = field(init=False)
    _worlds: dict[str, World] = field(init=False, default_factory=dict)
    _ids: Ids = field(init=False)

    def __post_init__(self) -> None:
        self.default = World(DEFAULT_WORLD_ID, self.default_config, self.real_time)
        # World ids come from the server's seed, not any world's: creating a world must not
        # move another world's random streams.
        self._ids = Ids(self.default_config.seed, lambda: self.default_config.start_ms)

    def create(self, config: WorldConfig) -> World:
        world = World(self._ids.ulid(), config, self.real_time)
        self._worlds[world.world_id] = world
        return world

    def get(self, world_id: str) -> World | None:
        if world_id == DEFAULT_WORLD_ID:
            return self.default
        return self._worlds.get(world_id)

    def delete(self, world_id: str) -> bool:
        return self._worlds.pop(world_id, None) is not None

    def keep_time(self) -> float | None:
        """`World.keep_time` for every world: real seconds until the soonest next timer."""
        waits = [wait for world in self.all() if (wait := world.keep_time()) is not None]
        return min(waits, default=None)

    def all(self) -> list[World]:
        """The default world first, then the others in creation order."""
        return [self.default, *self._worlds.values()]
