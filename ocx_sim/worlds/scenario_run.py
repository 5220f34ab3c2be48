"""A world's scenarios: loading one into the world, and what the runs hold (docs/scenarios.md).

`load(world, scenario)` plays a scenario in a world (`ocx_sim.scenarios.player`) through the
player's `Host` protocol, implemented here: accounts are made as `POST /_sim/accounts` makes
them (`World.create_account`) and their credentials kept for the control API; fault rules go
to `world.faults` (faults.py) and are checked by the same `check_rule` as `POST /_sim/faults`,
so the two refuse the same values with the same field names.

`Scenarios` (`world.scenarios`) is plain data: the runs and the accounts' credentials. Neither
it nor a run holds the world, only its parts (the exchange, the fault rules), because a
snapshot pickles the world's state and must not find the world itself inside it.

A world built from a config with a `scenario` loads it when built (so a reset loads it again);
its `meta.seed` and `meta.start` become the config's seed and start unless the caller gives its
own (`with_scenario`). A scenario loaded into a running world (`POST /_sim/scenarios`) keeps
the world's seed and clock: relative times count from now.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ocx_sim.auth.keys import ApiKeys, Scope, normalize_ips
from ocx_sim.engine.core.accounts import Bucket, checksum_address
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.scenarios.library import find
from ocx_sim.scenarios.loader import load_text
from ocx_sim.scenarios.model import AccountSpec, FaultSpec, Scenario, ScenarioError
from ocx_sim.scenarios.player import Result, Run, play
from ocx_sim.worlds.accounts import KeyRequest, NewAccount
from ocx_sim.worlds.config import Start, WorldConfig
from ocx_sim.worlds.faults import FaultAction, FaultMatch, Faults, FaultType, check_rule


class ScenarioWorld(Protocol):
    """What loading a scenario needs of a world (`World` is one)."""

    @property
    def exchange(self) -> Exchange: ...

    @property
    def faults(self) -> Faults: ...

    @property
    def scenarios(self) -> Scenarios: ...

    def create_account(
        self,
        wallet_address: str | None = None,
        balances: Mapping[Bucket, Decimal] | None = None,
        api_keys: Sequence[KeyRequest] = (),
    ) -> NewAccount: ...


@dataclass(slots=True)
class Scenarios:
    """The scenarios loaded into one world, in loading order."""

    runs: list[Run] = field(default_factory=list)
    accounts: dict[str, NewAccount] = field(default_factory=dict)
    """Each scenario account's user and credentials, by its name (a later scenario's account
    of the same name replaces it here)."""

    def results(self) -> list[Result]:
        """Every run's results, in the order of their instants (loading order at one)."""
        return sorted((r for run in self.runs for r in run.results), key=lambda r: r.at_ms)

    @property
    def pending(self) -> int:
        """Expectations not judged yet."""
        return sum(run.pending for run in self.runs)


class WorldFaults:
    """The player's `FaultSwitch` over a world's fault rules."""

    def __init__(self, faults: Faults) -> None:
        self._faults = faults

    def check_fault(self, spec: FaultSpec) -> None:
        check_rule(*_rule(spec))

    def add_fault(self, spec: FaultSpec) -> str:
        return self._faults.add(*_rule(spec))

    def remove_fault(self, fault_id: str) -> bool:
        return self._faults.remove(fault_id)


def _rule(spec: FaultSpec) -> tuple[FaultMatch, FaultAction, int | None, float | None]:
    kind = spec.type
    if kind not in tuple(t.value for t in FaultType):
        raise invalid("action.type", f"must be one of {', '.join(t.value for t in FaultType)}")
    action = FaultAction(
        FaultType(kind),
        spec.status,
        spec.code,
        spec.message,
        spec.ms,
        spec.drop,
        after_frames=spec.after_frames,
    )
    return FaultMatch(spec.method, spec.path, spec.account), action, spec.times, spec.probability


class _Host:
    """The player's `Host` while a scenario loads (never kept: see the module docstring)."""

    def __init__(self, world: ScenarioWorld) -> None:
        self._world = world
        self.faults = WorldFaults(world.faults)

    @property
    def exchange(self) -> Exchange:
        return self._world.exchange

    def check_account(self, spec: AccountSpec) -> None:
        _account_parts(spec)

    def create_account(self, spec: AccountSpec) -> str:
        world = self._world
        balances, keys = _account_parts(spec)
        made = world.create_account(spec.wallet, balances, keys)
        world.scenarios.accounts[spec.name] = made
        return made.user_id


def _account_parts(spec: AccountSpec) -> tuple[dict[Bucket, Decimal], list[KeyRequest]]:
    """The account's balances and key requests, checked as `POST /_sim/accounts` checks them
    (400 naming the field below the account)."""
    if spec.wallet is not None:
        checksum_address(spec.wallet, "wallet")
    keys = []
    for i, key in enumerate(spec.api_keys):
        prefix = f"apiKeys[{i}]."
        if key.scope not in tuple(s.value for s in Scope):
            raise invalid(prefix + "scope", f"must be one of {', '.join(s.value for s in Scope)}")
        try:
            ApiKeys.check(key.name, key.expires_in_days)
            ips = normalize_ips(list(key.allowed_ips))
        except OcxError as error:
            named = str(error.details.get("field", "name"))
            raise invalid(prefix + named, error.message.removeprefix(f"{named}: ")) from None
        keys.append(KeyRequest(key.name, Scope(key.scope), ips, key.expires_in_days))
    return {Bucket(bucket): amount for bucket, amount in spec.balances}, keys


def load(world: ScenarioWorld, scenario: Scenario) -> Run:
    """Play `scenario` in `world` from now on (module docstring); 400 VALIDATION_ERROR naming
    `field` when it does not fit the world (its message names file, line and path)."""
    run = play(scenario, _Host(world))
    world.scenarios.runs.append(run)
    return run


def refusal(error: ScenarioError, field: str) -> OcxError:
    """A scenario's problems as a 400 naming `field`; `details.problems` lists each one's
    line, path and message."""
    return OcxError(
        ErrorCode.VALIDATION_ERROR,
        f"{field}: " + "; ".join(str(p) for p in error.problems),
        {
            "field": field,
            "problems": [
                {"source": p.source, "line": p.line, "path": p.path, "message": p.message}
                for p in error.problems
            ],
        },
    )


INLINE_SOURCE = "<yaml>"
"""What errors call a scenario's inline text when no source name comes with it."""


def is_inline(reference: str) -> bool:
    """Whether a scenario reference is the YAML itself: a name or a path has no line break."""
    return "\n" in reference or "\r" in reference


def open_scenario(reference: str, field: str = "scenario", source: str | None = None) -> Scenario:
    """A bundled scenario by name, a file by path, or inline YAML (errors calling it `source`);
    400 naming `field` when it cannot be read or loaded."""
    try:
        if is_inline(reference):
            return load_text(reference, source or INLINE_SOURCE)
        return find(reference)
    except ScenarioError as error:
        raise refusal(error, field) from None


def with_scenario(
    config: WorldConfig,
    reference: str,
    seed: int | None = None,
    start: Start = None,
    source: str | None = None,
) -> WorldConfig:
    """`config` for a world built from the scenario (400 naming `scenario` when it does not
    load). Its seed: `seed`, else the scenario's `meta.seed`, else the config's. Its start:
    `start` (an instant or "now"), else the scenario's `meta.start`, else the config's (whose
    None is the clock's default: 2026-01-02 on a manual clock, the wall clock's now on a
    realtime one; docs/control-api.md "Worlds"). A scenario that names its start keeps it on
    either clock, because its timeline counts from there. `source`: the name an inline
    scenario's errors give it."""
    meta = open_scenario(reference, source=source).meta
    return dataclasses.replace(
        config,
        scenario=reference,
        scenario_source=source,
        seed=seed if seed is not None else meta.seed if meta.seed is not None else config.seed,
        start=(
            start
            if start is not None
            else meta.start_ms
            if meta.start_ms is not None
            else config.start
        ),
    )
