"""Worlds: one exchange each, with everything around it, and the registry that holds them.

A world is one simulated OCX: its clock, its exchange (books, accounts, event log) and its
gateway state (SIWE nonces, sessions, API keys, the order-path rate limiter, the fault rules of
faults.py and the request journal of journal.py), all built from a `WorldConfig`
(docs/control-api.md "Worlds"). Worlds share nothing: each has its own seed-derived ids, secrets
and session-signing key, so the same config and the same requests give byte-identical responses;
a config with `random_secrets` draws the secrets from the operating system instead.
The server's default world answers at `/`; every other one at `/w/{worldId}/`.

A world serves one request at a time (docs/control-api.md "Clock", "Worlds"): every request
of a world takes its `lock` (gateway/endpoint.py), so a long advance, which fires its timers in
slices of simulated time on a worker thread (`World.advance`, worlds/aside.py), never
interleaves with another request of its world while the other worlds keep answering. A request
that waited checks the world is still the one it arrived at (`resets`, `deleted`).
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from eth_account import Account

from ocx_sim.auth.keys import ApiKeys
from ocx_sim.auth.ratelimit import RateLimiter
from ocx_sim.auth.sessions import Sessions
from ocx_sim.auth.siwe import Nonces
from ocx_sim.clock import (
    Clock,
    RealTimeSource,
    SimClock,
    WallClock,
    WallTimeSource,
    real_seconds,
)
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.markets import Catalog
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.ids import ULID_TAIL_BITS, Ids, encode_ulid
from ocx_sim.scenarios.catalog import catalog_for
from ocx_sim.scenarios.model import Scenario, ScenarioError
from ocx_sim.scenarios.player import Run
from ocx_sim.worlds.accounts import AccountRequest, KeyRequest, NewAccount
from ocx_sim.worlds.aside import in_thread, pickled
from ocx_sim.worlds.config import ClockMode, WorldConfig
from ocx_sim.worlds.faults import Faults
from ocx_sim.worlds.journal import Journal
from ocx_sim.worlds.memory import TRIM_AFTER, give_back
from ocx_sim.worlds.scenario_run import Scenarios, load, open_scenario, refusal

__all__ = [
    "DEFAULT_WORLD_ID",
    "AccountRequest",
    "ClockMode",
    "KeyRequest",
    "NewAccount",
    "World",
    "WorldConfig",
    "Worlds",
]

DEFAULT_WORLD_ID = "default"
MAX_SNAPSHOTS = 32
"""Snapshots a world keeps at once (each is its whole state: a busy world's can be tens of
MiB); beyond them taking one is 409 SNAPSHOT_LIMIT until one is deleted."""
SLICE_SECONDS = 0.005
"""About how much real time a long advance spends firing timers before it looks whether its
world was deleted and forgets what has aged (`World.advance`); a long read of the event log
holds the event loop as long before it lets other requests run (control/pieces.py `Turn`)."""
_OUTSIDE_STATE = (
    "snapshots",
    "_snapshot_ids",
    "_real_time",
    "_wall_time",
    "observers",
    "lock",
    "stepping",
    "resets",
    "deleted",
)
"""What a snapshot leaves out and a restore or reset keeps: the snapshots, the stream their ids
come from (a restored world must not hand out an id again), the process's real time and
wall clock, the open streams' hub (it tells its streams the world was reset), and what the
requests waiting on the world hold (its locks, the count of resets, whether it was deleted)."""


class Observer(Protocol):
    """Something outside the world that follows it: the streams' hub (streams/hub.py)."""

    def changed(self) -> None:
        """The world may have changed (after every request and every realtime tick)."""

    def end(self, code: str, message: str, retryable: bool) -> None:
        """The world was reset or deleted: whatever follows it ends."""


class World:
    def __init__(
        self,
        world_id: str,
        config: WorldConfig,
        real_time: RealTimeSource | None = None,
        wall_time: WallTimeSource | None = None,
    ) -> None:
        self.world_id = world_id
        self.config = config
        self.start_ms = config.start_instant(wall_time)
        """The instant the world was built at: its config's start, "now" read as it was built."""
        self.clock: Clock = (
            WallClock(self.start_ms, config.speed, real_time)
            if config.clock is ClockMode.REALTIME
            else SimClock(self.start_ms)
        )
        # A file read anew each time the world is built; its catalog terms are the world's
        # before the exchange exists (scenarios/catalog.py), so a reset keeps them.
        scenario = (
            None
            if config.scenario is None
            else open_scenario(config.scenario, source=config.scenario_source)
        )
        catalog = None if scenario is None else _catalog(scenario, self.start_ms)
        self.exchange = Exchange(seed=config.seed, clock=self.clock, catalog=catalog)
        ids = self.exchange.ids
        ids.random_secrets = config.random_secrets
        self.sessions = Sessions(ids.key_bytes(32), audience=world_id)
        self.nonces = Nonces()
        self.keys = ApiKeys(ids)
        self.limiter = RateLimiter(config.order_rate_limit)
        self.invited: set[str] = set()
        """Users who redeemed an invite (only consulted when invite codes are configured)."""
        # Streams of their own: drawing for a fault, or adding one, moves no other stream.
        self.faults = Faults(self.clock, ids.stream("faults"), ids.stream("fault-ids"))
        self.journal = Journal(bodies=config.journal_bodies)
        self.scenarios = Scenarios()
        """The scenarios loaded into the world (scenario_run.py)."""
        # Outside the world's state (`_OUTSIDE_STATE`): kept by snapshot, restore and reset.
        self._real_time = real_time
        self._wall_time = wall_time
        self.snapshots: dict[str, bytes] = {}
        """Snapshot id → the world's state, pickled (`snapshot`)."""
        self._snapshot_ids = ids.stream("snapshot-ids")
        self.observers: list[Observer] = []
        self.lock = asyncio.Lock()
        """Held by every request of the world while it runs (module docstring)."""
        self.stepping = asyncio.Lock()
        """Held by a long advance while a worker thread fires the world's timers, and by
        whoever copies the world's state meanwhile (worlds/aside.py)."""
        self.resets = 0
        """How many times the world was reset: a request that waited across one sees it."""
        self.deleted = False
        """Set when the registry lets go of the world (`Worlds.delete`)."""
        self._forgotten = 0
        """Things forgotten since memory was last given back (`forget`)."""
        if scenario is not None:
            # Last, on the whole world, whose catalog has the terms already.
            self.load_scenario(scenario.without_catalog_terms(), "scenario")
        self.initial_accounts = tuple(
            self.create_account(a.wallet_address, dict(a.balances), a.api_keys)
            for a in config.accounts
        )
        """The accounts the config makes at every build (`WorldConfig.accounts`)."""

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
        """A realtime world fires every timer due by now (docs/control-api.md "Clock": a realtime
        clock fires its timers as it goes) and says how many real seconds until its next one;
        None when nothing is pending. A manual world's time moves only when told: no-op."""
        clock = self.clock
        if not isinstance(clock, WallClock):
            return None
        clock.fire_due()
        self.forget()
        self.changed()
        return clock.seconds_until_next_timer()

    @contextmanager
    def held(self) -> Iterator[int]:
        """One request's instant: a realtime world fires every timer due by now and reads that
        instant until the request is done (`Clock.hold`), so whatever the request does comes
        after every timer due by the instant it is stamped with (docs/control-api.md "Clock").
        A manual world's instant moves only when told. Yields the instant."""
        clock = self.clock
        instant = clock.hold()
        self.forget()
        try:
            yield instant
        finally:
            clock.release()

    async def advance(self, target_ms: int) -> int:
        """`Exchange.advance_to` in slices on a worker thread (worlds/aside.py `in_thread`), so
        that other worlds keep answering however long one instant takes. A slice fires timers
        until it has taken `SLICE_SECONDS` of real time (a sandbox world's market makers make
        hundreds of events at one instant, an idle world's timers a few each), so it overruns
        that by one timer at most, and forgets what has aged meanwhile. Steps fire every timer
        exactly as one advance does (clock.py), so the events made are the same whatever the
        slices. Answers the `seq` of the last event before the advance: it made those after
        it, which the world keeps until its next request whatever their age (`forget`). A
        world deleted meanwhile stops there: 404."""
        exchange = self.exchange
        real_time = self._real_time or real_seconds
        before = exchange.events.last_seq

        def step() -> bool:
            """One slice; whether timers due by the target are left."""
            exchange.advance_timers(target_ms, stop=_slice_spent(real_time))
            if not exchange.clock.due_by(target_ms):
                return False
            self.forget(keep_events_after=before)
            return True

        while True:
            async with self.stepping:
                more = await in_thread(step)
            if not more:
                return before
            if self.deleted:
                raise gone(self.world_id)

    def forget(self, keep_events_after: int | None = None) -> None:
        """Forget what ended or happened longer ago than the world's retention window
        (`Exchange.forget`, docs/fidelity.md "Retention"), before each request, each realtime
        tick and each slice of a long advance, so that a request sees exactly what is younger
        than the window. Nothing while a scenario still has expectations to judge: they read
        the run's whole history. Events after `keep_events_after` stay (an advance answers
        every event it made)."""
        retention = self.config.retention_ms
        if retention is None or self.scenarios.pending:
            return
        forgotten = self.exchange.forget(self.clock.now_ms - retention, keep_events_after)
        if forgotten:
            self._forgotten += forgotten.count
            if self._forgotten >= TRIM_AFTER:
                self._forgotten = 0
                give_back()

    def changed(self) -> None:
        """Tell the observers the world may have changed (`Observer.changed`)."""
        for observer in self.observers:
            observer.changed()

    def end(self, code: str, message: str, retryable: bool) -> None:
        for observer in self.observers:
            observer.end(code, message, retryable)

    # -- state (docs/control-api.md "State" and "Clock") -------------------------------------
    # A world changes state in place, so that whoever holds it (the registry, a test's
    # handle) sees the change; hold the world, not its parts, across these.

    def snapshot(self) -> str:
        """Keep the whole state of the world in memory (exchange, clock and timers, gateway
        state, faults, journal, scenario: everything but the snapshots themselves); answers
        the snapshot's id. The state is pickled: nothing a later command does can reach it,
        and it restores any number of times. A closure in the state (a lambda timer) would
        keep pointing into the original, so pickling refuses it rather than copy it wrong."""
        self.check_snapshot_room()
        return self.keep_snapshot(pickled(self.state()), self.now_ms)

    def check_snapshot_room(self) -> None:
        """409 SNAPSHOT_LIMIT when the world keeps as many snapshots as it may."""
        if len(self.snapshots) >= MAX_SNAPSHOTS:
            raise OcxError(
                ErrorCode.SNAPSHOT_LIMIT,
                f"This world keeps {MAX_SNAPSHOTS} snapshots at most: delete one "
                "(DELETE /_sim/snapshots/{snapshotId}) before taking another",
                {"limit": MAX_SNAPSHOTS},
            )

    def state(self) -> dict[str, Any]:
        """What a snapshot keeps: everything but what lies outside the state."""
        return {name: value for name, value in vars(self).items() if name not in _OUTSIDE_STATE}

    def keep_snapshot(self, pickled_state: bytes, taken_ms: int) -> str:
        """Keep a pickled `state()` taken at `taken_ms` as a snapshot; its id."""
        # Its own stream: taking a snapshot moves no id the world hands out.
        tail = self._snapshot_ids.getrandbits(ULID_TAIL_BITS)
        snapshot_id = encode_ulid(taken_ms, tail)
        self.snapshots[snapshot_id] = pickled_state
        return snapshot_id

    def saved(self) -> dict[str, Any]:
        """The whole world, its snapshots included, for a later process to restore, pickled,
        with `from_saved` (worlds/persistence.py): its state exactly as a snapshot keeps it."""
        return {
            "state": self.state(),
            "snapshots": self.snapshots,
            "snapshot_ids": self._snapshot_ids,
        }

    @classmethod
    def from_saved(
        cls,
        saved: bytes,
        real_time: RealTimeSource | None = None,
        wall_time: WallTimeSource | None = None,
    ) -> World:
        """A world `saved` kept, continuing where it was: the same state, sessions and keys, the
        same snapshots; a realtime clock runs on from the saved instant, from the real now."""
        kept = pickle.loads(saved)
        # Not built from its config (its scenario file may be gone): its state, and what a world
        # holds outside its state (`_OUTSIDE_STATE`) made anew or taken from what was saved.
        world = cls.__new__(cls)
        vars(world).update(kept["state"])
        world.snapshots = kept["snapshots"]
        world._snapshot_ids = kept["snapshot_ids"]
        world._real_time = real_time
        world._wall_time = wall_time
        world.observers = []
        world.lock = asyncio.Lock()
        world.stepping = asyncio.Lock()
        world.resets = 0
        world.deleted = False
        if isinstance(world.clock, WallClock):
            world.clock.resume(real_time)
        return world

    def stored_snapshot(self, snapshot_id: str) -> bytes:
        """A snapshot's pickled state; 404 NOT_FOUND naming it for an id this world does not
        keep (never answered, or deleted)."""
        stored = self.snapshots.get(snapshot_id)
        if stored is None:
            raise OcxError(
                ErrorCode.NOT_FOUND,
                f"Unknown snapshot {snapshot_id!r}",
                {"snapshotId": snapshot_id},
            )
        return stored

    def delete_snapshot(self, snapshot_id: str) -> None:
        """Drop a snapshot and the memory it held; 404 as `stored_snapshot`."""
        self.stored_snapshot(snapshot_id)
        del self.snapshots[snapshot_id]

    def restore(self, snapshot_id: str) -> None:
        """Bring the world back to a snapshot: it continues exactly as it did from there. A
        realtime clock runs on from the snapshot's instant, at its speed, from the real now.
        404 NOT_FOUND for an id this world does not keep."""
        self._adopt(pickle.loads(self.stored_snapshot(snapshot_id)))
        if isinstance(self.clock, WallClock):
            self.clock.resume(self._real_time)

    def reset(self, seed: int | None = None) -> None:
        """Rebuild the world from its config (on `seed` from now on, if given), exactly as if
        just created (docs/control-api.md "State": a reset is construction): same id, a new
        exchange, clock (in the config's mode, at its start: a start of "now" is read again),
        sessions, keys, faults and journal, and the config's accounts made again. Its snapshots
        stay, and restore as before."""
        config = self.config if seed is None else replace(self.config, seed=seed)
        fresh = World(self.world_id, config, self._real_time, self._wall_time)
        self._adopt({k: v for k, v in vars(fresh).items() if k not in _OUTSIDE_STATE})
        self.resets += 1
        self.end("WORLD_RESET", "The world was reset: reconnect for a fresh snapshot", True)

    def _adopt(self, state: dict[str, Any]) -> None:
        kept = {name: getattr(self, name) for name in _OUTSIDE_STATE}
        vars(self).clear()
        vars(self).update(state)
        vars(self).update(kept)

    def set_clock_mode(self, mode: ClockMode, speed: float | None = None) -> None:
        """Switch the clock between manual and realtime, keeping its instant and every pending
        timer. Realtime runs from the current instant at `speed` (when None: its speed if it
        runs already, else the config's). The config keeps its mode: a reset goes back to it.
        A speed for a manual clock is 400 naming `speed`; speeds are checked by the caller."""
        clock = self.clock
        if mode is ClockMode.MANUAL:
            if speed is not None:
                raise invalid("speed", "only a realtime clock has a speed")
            clock.to_manual()
            return
        if speed is None:
            speed = clock.speed if isinstance(clock, WallClock) else self.config.speed
        clock.to_realtime(speed, self._real_time)

    def load_scenario(self, scenario: Scenario, field: str = "scenario") -> Run:
        """Play a scenario in this world from now on (scenario_run.py): 400 VALIDATION_ERROR
        naming `field` when it does not fit the world (nothing changed then, unless the
        exchange refused a setup step: see docs/scenarios.md "Errors")."""
        try:
            return load(self, scenario)
        except ScenarioError as error:
            raise refusal(error, field) from None

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
        """A user with funded buckets, a session and API keys (docs/control-api.md "Accounts and
        money"). Without an address a key pair is generated from the world's seed. Balances
        arrive as a confirmed deposit to the wallet bucket, then transfers, so the ledger tells
        the truth."""
        for request in api_keys:
            ApiKeys.check(request.name, request.expires_in_days)
        private_key = None
        if wallet_address is None:
            private_key = "0x" + self.ids.key_bytes(32).hex()
            wallet_address = str(Account.from_key(private_key).address)
        exchange = self.exchange
        user = exchange.register_user(wallet_address)
        funding = {bucket: amount for bucket, amount in (balances or {}).items() if amount}
        total = sum(funding.values(), Decimal(0))
        if total:
            exchange.sim.deposit(user.user_id, total)
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


def _slice_spent(real_time: Callable[[], float]) -> Callable[[], bool]:
    """Whether a slice of a long advance begun now has had its `SLICE_SECONDS`."""
    ends = real_time() + SLICE_SECONDS
    return lambda: real_time() >= ends


def gone(world_id: str) -> OcxError:
    """404 for a world the registry does not hold (never created, or deleted)."""
    return OcxError(ErrorCode.NOT_FOUND, f"Unknown world {world_id!r}", {"worldId": world_id})


def _catalog(scenario: Scenario, start_ms: int) -> Catalog | None:
    """The catalog of a world built from `scenario`; 400 naming `scenario` when its terms
    cannot be."""
    try:
        return catalog_for(scenario, start_ms)
    except ScenarioError as error:
        raise refusal(error, "scenario") from None


@dataclass(slots=True)
class Worlds:
    """The default world and every world created beside it."""

    default_config: WorldConfig
    real_time: RealTimeSource | None = None
    """What realtime worlds read as real time (the monotonic clock unless a test fakes it)."""
    wall_time: WallTimeSource | None = None
    """The wall clock worlds starting "now" read (the system's unless a test fakes it)."""
    default: World = field(init=False)
    _worlds: dict[str, World] = field(init=False, default_factory=dict)
    _ids: Ids = field(init=False)
    created: int = field(init=False, default=0)
    """Worlds created beside the default one, deleted ones included (each took an id)."""

    def __post_init__(self) -> None:
        self.default = World(DEFAULT_WORLD_ID, self.default_config, self.real_time, self.wall_time)
        # World ids come from the server's seed, not any world's: creating a world must not
        # move another world's random streams. Their own stream: a world id is never also the
        # id of something in the default world (its first user's, say). Stamped with the
        # default world's start.
        self._ids = Ids(self.default_config.seed, lambda: self.default.start_ms, "world-ids")

    def create(self, config: WorldConfig) -> World:
        world = World(self._ids.ulid(), config, self.real_time, self.wall_time)
        self._worlds[world.world_id] = world
        self.created += 1
        return world

    def adopt(self, default: World, others: Sequence[World], created: int) -> None:
        """Take over worlds a previous server kept (worlds/persistence.py): the default world,
        the others in creation order, and how many worlds that server had created, so that a
        new world's id is not one handed out before."""
        self.default = default
        self._worlds = {world.world_id: world for world in others}
        while self.created < created:
            self._ids.ulid()
            self.created += 1

    def get(self, world_id: str) -> World | None:
        if world_id == DEFAULT_WORLD_ID:
            return self.default
        return self._worlds.get(world_id)

    def delete(self, world_id: str) -> bool:
        world = self._worlds.pop(world_id, None)
        if world is None:
            return False
        world.deleted = True
        world.end("NOT_FOUND", f"World {world_id} was deleted", False)
        return True

    def keep_time(self) -> float | None:
        """`World.keep_time` for every world not serving a request (that request fired what
        was due; the world's next request or tick fires the rest): real seconds until the
        soonest next timer."""
        waits = [
            wait
            for world in self.all()
            if not world.lock.locked() and (wait := world.keep_time()) is not None
        ]
        return min(waits, default=None)

    def all(self) -> list[World]:
        """The default world first, then the others in creation order."""
        return [self.default, *self._worlds.values()]
