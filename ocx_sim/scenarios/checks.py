"""What a scenario must agree with in the world it is loaded into, checked before anything
changes: markets exist (and resolve the `-F1`/`-F2` aliases), prices and quantities sit on
their market's tick and step, every account, order and fault a step names is declared, fault
rules and account keys are ones the world accepts, and no step is due before the scenario
starts. Every problem is reported with its file, line and path (`ScenarioError`).

Catalog terms (a market's tick, step, minimum, leverage and band; an underlying's index, carry,
leverage and funding horizon) are refused here: a world built from the scenario takes them into
its catalog before its exchange exists (catalog.py) and plays the scenario without them; a
running world cannot change terms that resting orders and positions were made on.

The aliases name dated futures by their place on the curve when the scenario is loaded:
`BTC-USDC-F1` is the nearest unexpired `BTC-USDC-…` future, `-F2` the one after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import Protocol

from ocx_sim.engine.core.markets import Catalog, MarketSpec, MarketType
from ocx_sim.engine.core.money import usdc_amount
from ocx_sim.engine.exchange import Exchange
from ocx_sim.engine.reactions.funding import check_rate
from ocx_sim.errors import OcxError
from ocx_sim.scenarios.model import (
    AccountSpec,
    CancelAll,
    CancelOrder,
    ClearPrice,
    Deposit,
    ExpectBalance,
    ExpectEvent,
    ExpectOrder,
    ExpectPosition,
    ExpectPrice,
    FaultOff,
    FaultOn,
    FaultSpec,
    FundingRate,
    GbmPrice,
    Halt,
    JumpPrice,
    OptionLiquiditySetup,
    OrderSpec,
    OutsideTrade,
    PlaceOrder,
    PriceTarget,
    Problem,
    RampPrice,
    Resume,
    Scenario,
    ScenarioError,
    SetPrice,
    Step,
    Withdraw,
)
from ocx_sim.scenarios.options import ExpectBoard, ExpectMargin, ExpectVol, VolMove, planned

_ALIAS = re.compile(r"(?P<prefix>.+)-F(?P<n>[12])")
MAX_VOLATILITY = Decimal(10)
BUILD_ONLY = (
    "a catalog term applies only when a world is built from the scenario (POST /_sim/worlds "
    "{scenario}, ocx-sim serve --scenario, ocx-sim run), never to a running world: a tick "
    "cannot change under resting orders"
)


class FaultSwitch(Protocol):
    """Turns a scenario's fault rules on and off in its world (world.faults). The check
    raises `OcxError` naming the field as the HTTP body would (`match.path`,
    `action.status`, `times`)."""

    def check_fault(self, spec: FaultSpec) -> None: ...

    def add_fault(self, spec: FaultSpec) -> str:
        """The new fault's id; `spec.account` is a userId or wallet address by now."""
        ...

    def remove_fault(self, fault_id: str) -> bool: ...


class Host(Protocol):
    """What loading a scenario needs of its world beyond the exchange; `ocx_sim/worlds`
    implements it. A run keeps only the exchange and the fault switch: a snapshot pickles a
    run with its world's state, and must not find the world itself in it."""

    @property
    def exchange(self) -> Exchange: ...

    @property
    def faults(self) -> FaultSwitch: ...

    def check_account(self, spec: AccountSpec) -> None:
        """Raises `OcxError` naming the field below the account (`wallet`,
        `apiKeys[0].scope`)."""
        ...

    def create_account(self, spec: AccountSpec) -> str:
        """The new user's id."""
        ...


@dataclass(slots=True)
class Resolved:
    """What the checks learned: each market id as written → the world's market."""

    markets: dict[str, str] = field(default_factory=dict)
    order_owners: dict[str, str] = field(default_factory=dict)
    """Order name → the account that places it."""


def check(scenario: Scenario, host: Host, origin_ms: int) -> Resolved:
    """Every problem of `scenario` in this world, raised together; else what was resolved."""
    checker = _Checker(scenario, host, origin_ms)
    checker.run()
    if checker.problems:
        raise ScenarioError(checker.problems)
    return checker.resolved


class _Checker:
    def __init__(self, scenario: Scenario, host: Host, origin_ms: int) -> None:
        self.s = scenario
        self.host = host
        self.exchange = host.exchange
        self.origin_ms = origin_ms
        self.problems: list[Problem] = []
        self.resolved = Resolved()
        self.accounts = {a.name for a in scenario.accounts}
        self.faults = {
            step.action.name for step in scenario.timeline if isinstance(step.action, FaultOn)
        }
        self.vol_moves: list[tuple[int, str, VolMove]] = []
        """(due instant, path of its values, move) of every `vol` step on an underlying with
        options."""

    def fail(self, path: str, message: str) -> None:
        self.problems.append(self.s.problem(path, message))

    def engine(self, path: str, check: Callable[[], object]) -> bool:
        """Run an engine check; its refusal becomes a problem at `path` (or the field it
        names below `path`)."""
        try:
            check()
        except OcxError as error:
            self.problems.append(problem_of(self.s, path, error))
            return False
        return True

    def run(self) -> None:
        s = self.s
        for underlying in s.underlyings:
            self.fail(underlying.path, BUILD_ONLY)
        for setup in s.markets:
            for key in setup.term_keys:
                self.fail(f"{setup.path}.{key}", BUILD_ONLY)
            spec = self.market(setup.market, setup.path)
            if spec is not None and setup.mark is not None:
                self.tick(spec, setup.mark, "mark", setup.path)
            if setup.volatility is not None and setup.volatility > MAX_VOLATILITY:
                self.fail(f"{setup.path}.volatility", f"must be at most {MAX_VOLATILITY}")
        for account in s.accounts:
            for bucket, amount in account.balances:
                field = f"balances.{bucket}"
                self.engine(account.path, partial(usdc_amount, amount, field, zero_ok=True))
            self.engine(account.path, partial(self.host.check_account, account))
        for order in s.books:
            self.order(order)
        for liquidity in s.liquidity:
            if isinstance(liquidity, OptionLiquiditySetup):
                self.option_liquidity(liquidity)
                continue
            spec = self.market(liquidity.market, f"{liquidity.path}.market")
            if spec is not None:
                self.engine(liquidity.path, partial(spec.to_lots, liquidity.quantity))
        for agent in s.takers:
            if agent.market is not None:
                spec = self.market(agent.market, f"{agent.path}.market")
                if spec is not None and spec.is_option:
                    message = "an option's takers are its underlying's (options: the underlying)"
                    self.fail(f"{agent.path}.market", message)
            else:
                self.lists_options(agent.underlying or "", f"{agent.path}.options")
        for step in s.timeline:
            if isinstance(step.action, PlaceOrder):
                self.order(step.action.order)
        for step in s.timeline:
            self.step(step)
        for path, error in planned(self.exchange, self.vol_moves):
            self.problems.append(problem_of(s, path, error))

    def option_liquidity(self, agent: OptionLiquiditySetup) -> None:
        """The underlying lists options, and the quantity sits on their step."""
        options = self.lists_options(agent.underlying, f"{agent.path}.options")
        if options:
            self.engine(agent.path, partial(options[0].to_lots, agent.quantity))

    def lists_options(self, underlying: str, path: str) -> list[MarketSpec]:
        """The underlying's options; a problem at `path` when it is unknown or lists none."""
        catalog = self.exchange.catalog
        if underlying not in catalog.underlyings:
            known = ", ".join(catalog.underlyings)
            self.fail(path, f"unknown underlying {underlying!r} ({known})")
            return []
        options = catalog.options(underlying)
        if not options:
            self.fail(path, f"{underlying} lists no options")
        return options

    def market(self, written: str, path: str) -> MarketSpec | None:
        """The world's market for an id or alias as written; a problem when there is none."""
        known = self.resolved.markets.get(written)
        if known is not None:
            return self.exchange.market(known)
        spec = resolve_market(self.exchange, written)
        if spec is None:
            self.fail(path, f"unknown market {written!r}")
            return None
        self.resolved.markets[written] = spec.id
        return spec

    def account(self, name: str, path: str) -> None:
        if name not in self.accounts:
            declared = ", ".join(sorted(self.accounts)) or "none"
            self.fail(path, f"unknown account {name!r} (declared: {declared})")

    def named_order(self, name: str, path: str) -> None:
        if name not in self.resolved.order_owners:
            self.fail(path, f"no order is named {name!r}")

    def order(self, order: OrderSpec) -> None:
        path = order.path
        self.account(order.account, f"{path}.account")
        if order.name is not None:
            if order.name in self.resolved.order_owners:
                self.fail(f"{path}.name", f"another order is named {order.name!r}")
            self.resolved.order_owners[order.name] = order.account
        spec = self.market(order.market, f"{path}.market")
        if spec is None:
            return
        self.engine(path, partial(spec.to_lots, order.quantity))
        for key, price in (
            ("price", order.price),
            ("stopPrice", order.stop_price),
            ("takeProfitPrice", order.take_profit_price),
            ("stopLossPrice", order.stop_loss_price),
        ):
            if price is not None:
                self.tick(spec, price, key, path)

    def tick(self, spec: MarketSpec, price: Decimal, key: str, path: str) -> None:
        """`price` (the value of `key` below `path`) on the market's tick."""
        self.engine(path, partial(spec.to_ticks, price, key))

    def step(self, step: Step) -> None:
        at_ms = step.at.resolve(self.origin_ms)
        if at_ms < self.origin_ms:
            self.fail(f"{step.path}.at", "is before the scenario starts")
        path, action = f"{step.path}.{step.key}", step.action
        if isinstance(action, SetPrice | RampPrice | GbmPrice | JumpPrice | ClearPrice):
            self.price_move(action, path)
        elif isinstance(action, CancelOrder):
            self.named_order(action.order, path)
        elif isinstance(action, CancelAll):
            self.account(action.account, f"{path}.account")
            if action.market is not None:
                self.market(action.market, f"{path}.market")
        elif isinstance(action, OutsideTrade):
            spec = self.market(action.market, f"{path}.market")
            if spec is not None:
                self.tick(spec, action.price, "price", path)
                self.engine(path, partial(spec.to_lots, action.quantity))
        elif isinstance(action, FundingRate):
            self.funding(action, path)
        elif isinstance(action, Deposit | Withdraw):
            self.account(action.account, f"{path}.account")
            self.engine(path, partial(usdc_amount, action.amount, "amount"))
        elif isinstance(action, Halt | Resume):
            self.market(action.market, path)
        elif isinstance(action, FaultOn):
            self.fault(action.fault, f"{path}")
        elif isinstance(action, FaultOff) and action.name not in self.faults:
            self.fail(path, f"no fault is named {action.name!r}")
        elif isinstance(action, ExpectBalance | ExpectPosition | ExpectOrder | ExpectEvent):
            self.expectation(action, path)
        elif isinstance(action, ExpectPrice):
            self.market(action.market, f"{path}.{action.target.value}.market")
        elif isinstance(action, VolMove):
            if self.engine(path, partial(self.exchange.surface, action.underlying)):
                self.vol_moves.append((at_ms, f"{path}.{action.key}", action))
        elif isinstance(action, ExpectVol | ExpectBoard | ExpectMargin):
            self.option_expectation(action, path)

    def option_expectation(self, action: ExpectVol | ExpectBoard | ExpectMargin, path: str) -> None:
        """The `vol`, `board` and `margin` expectations name what exists."""
        if isinstance(action, ExpectVol):
            self.engine(f"{path}.vol", partial(self.exchange.surface, action.underlying))
        elif isinstance(action, ExpectBoard):
            spec = self.market(action.market, f"{path}.board.market")
            if spec is not None and spec.option_type is None:
                self.fail(f"{path}.board.market", f"{spec.id} is not an option")
        else:
            self.account(action.account, f"{path}.margin.account")

    def price_move(
        self, action: SetPrice | RampPrice | GbmPrice | JumpPrice | ClearPrice, path: str
    ) -> None:
        spec = self.market(action.market, f"{path}.market")
        if spec is None or action.target is not PriceTarget.MARK:
            return
        # A mark is pinned on the tick; moves that compute a price round onto it.
        if isinstance(action, SetPrice):
            self.tick(spec, action.price, "set", path)
        elif isinstance(action, RampPrice):
            self.tick(spec, action.to, "to", f"{path}.ramp")

    def funding(self, action: FundingRate, path: str) -> None:
        spec = self.market(action.market, f"{path}.market")
        if spec is not None and spec.type is not MarketType.PERP:
            self.fail(
                f"{path}.market", f"{spec.id} is not a perpetual: only perpetuals pay funding"
            )
        self.engine(path, partial(check_rate, action.rate))

    def fault(self, fault: FaultSpec, path: str) -> None:
        account = fault.account
        if account is not None and account in self.accounts:
            # A declared account is a userId once created; the rule's other values are the
            # world's to judge now.
            fault = replace(fault, account=None)
        self.engine(path, partial(self.host.faults.check_fault, fault))

    def expectation(
        self, action: ExpectBalance | ExpectPosition | ExpectOrder | ExpectEvent, path: str
    ) -> None:
        if isinstance(action, ExpectOrder):
            self.named_order(action.order, f"{path}.order.order")
            return
        kind = {
            ExpectBalance: "balance",
            ExpectPosition: "position",
            ExpectEvent: "event",
        }[type(action)]
        if action.account is not None:
            self.account(action.account, f"{path}.{kind}.account")
        if isinstance(action, ExpectPosition):
            self.market(action.market, f"{path}.{kind}.market")
        if isinstance(action, ExpectEvent):
            # An alias resolves now; another id may name a market listed later.
            for name, wanted in action.where:
                spec = resolve_market(self.exchange, wanted or "") if name == "market_id" else None
                if wanted is not None and spec is not None:
                    self.resolved.markets[wanted] = spec.id
        since = action.since if isinstance(action, ExpectEvent) else None
        if since is not None and since.resolve(self.origin_ms) < self.origin_ms:
            self.fail(f"{path}.{kind}.since", "is before the scenario starts")


def resolve_market(exchange: Exchange, written: str) -> MarketSpec | None:
    """The market `written` names: an id of the catalog, or a future's alias (`-F1`, `-F2`)."""
    return resolve_in(exchange.catalog, exchange.now_ms, written)


def resolve_in(catalog: Catalog, now: int, written: str) -> MarketSpec | None:
    """`resolve_market` in `catalog` at the instant `now` (a catalog not yet traded on)."""
    if written in catalog:
        return catalog.get(written)
    alias = _ALIAS.fullmatch(written)
    if alias is None:
        return None
    prefix, n = alias["prefix"] + "-", int(alias["n"])
    dated = sorted(
        (
            m
            for m in catalog
            if m.type is MarketType.FUTURE and m.id.startswith(prefix) and not m.expired_at(now)
        ),
        key=lambda m: m.expiry_ms or 0,
    )
    return dated[n - 1] if len(dated) >= n else None


def problem_of(scenario: Scenario, path: str, error: OcxError) -> Problem:
    """An engine or world refusal as a problem at `path`, or at the field it names below it
    (its message without the `field: ` prefix `invalid` gives it)."""
    named = error.details.get("field")
    if isinstance(named, str) and named:
        message = error.message.removeprefix(f"{named}: ")
        return scenario.problem(f"{path}.{named}", message)
    return scenario.problem(path, f"{error.code.value}: {error.message}")
