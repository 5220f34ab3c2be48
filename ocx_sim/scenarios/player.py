"""Playing a scenario in a world: set it up, then run its timeline on the world's clock.

`play(scenario, host)` checks the scenario against the world first (checks.py: when that fails
nothing has changed), then sets it up in this order: market overrides, accounts, initial books,
liquidity agents; then it schedules every timeline step as an ordinary timer on the world's
clock. Relative times (`+5m`) count from the instant of loading; for a world built from the
scenario that is the world's first instant (the scenario's `meta.start` when it gives one).

At one instant things run in this order: the exchange's own timers (the price tick, funding,
expiries, keeper runs, deposit confirmations), then the scenario's actions (and the moves of its
ramps and paths), then its expectations, each kind in file order. So an expectation at a
funding boundary sees the payment, and one at the end of a ramp sees its last move. This is
done with hops: a step's timer, when it fires, schedules the step again at the same instant,
behind every timer already due there (an action takes one hop, an expectation two).

Actions go through the same `Exchange` commands as the HTTP layer. One the exchange refuses
does not stop the run: it is kept as a failed result, unless the step expected that refusal
(`expectError`, then it is an expectation). Expectations are judged at their instant
(expectations.py). Results are `{at, what, ok, detail}`, in the order they happened.

Determinism: time comes from the world's clock only; the GBM path draws from the world's seeded
stream named after the scenario and the step. A run's state is plain data and its timers are
bound methods and partials (no closures), so a snapshot (a deep copy of the world) copies a
run half-way, and the copy goes on exactly as the original does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import TypeVar

from ocx_sim.clock import format_ms
from ocx_sim.engine.core.index import INDEX_QUANTUM, shocks, walk_factor
from ocx_sim.engine.core.orders import MarginMode, OrderRequest, OrderType, Side, TimeInForce
from ocx_sim.engine.reactions.liquidity import LiquiditySpec
from ocx_sim.engine.reactions.option_liquidity import OptionLiquiditySpec
from ocx_sim.engine.reactions.takers import TakerSpec
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.scenarios import stream_expectation
from ocx_sim.scenarios.checks import FaultSwitch, Host, check, problem_of
from ocx_sim.scenarios.expectations import Names, judge
from ocx_sim.scenarios.model import (
    EXPECTATIONS,
    CancelAll,
    CancelOrder,
    ClearPrice,
    Deposit,
    FailWithdrawals,
    FaultOff,
    FaultOn,
    FundingRate,
    GbmPrice,
    Halt,
    JumpPrice,
    MarketSetup,
    OptionLiquiditySetup,
    OrderSpec,
    OutsideTrade,
    PlaceOrder,
    PriceTarget,
    RampPrice,
    Resume,
    Scenario,
    ScenarioError,
    SetPrice,
    Step,
    VaultLiquidity,
    Withdraw,
)
from ocx_sim.scenarios.options import VolKind, VolMove, publish, ramp, target
from ocx_sim.scenarios.stream_expectation import ExpectStream

__all__ = ["FaultSwitch", "Host", "Result", "Run", "play"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Result:
    """An expectation judged, or an action refused: `{at, what, ok, detail}` on the wire."""

    at_ms: int
    what: str
    ok: bool
    detail: str


def play(scenario: Scenario, host: Host) -> Run:
    """Check `scenario` against the host's world, set it up and schedule its timeline
    (module docstring). Raises `ScenarioError` naming file, line and path."""
    run = Run(scenario, host)
    run.start(host)
    return run


class Run:
    """One scenario loaded into a world: what its names stand for, and its results so far."""

    def __init__(self, scenario: Scenario, host: Host) -> None:
        exchange = host.exchange
        self.scenario = scenario
        self.exchange = exchange
        self.switch = host.faults
        self.origin_ms = exchange.now_ms
        self.origin_seq = exchange.events.last_seq
        self.markets = check(scenario, host, self.origin_ms).markets
        self.users: dict[str, str] = {}
        """Account name → userId."""
        self.orders: dict[str, tuple[str, str]] = {}
        """Order name → (userId, orderId), once placed."""
        self.faults: dict[str, str] = {}
        """Fault name → faultId, while on."""
        self.stream_views: dict[int, object] = {}
        """Timeline index of a stream expectation → its stream's view from `since`."""
        self.results: list[Result] = []
        self.pending = scenario.expectations
        """Expectations not judged yet."""

    @property
    def name(self) -> str:
        return self.scenario.meta.name

    @property
    def end_ms(self) -> int:
        """When the run is over: `meta.duration` after loading, or else when the last step
        (and the last move of a ramp or path) is done."""
        duration = self.scenario.meta.duration_ms
        if duration is not None:
            return self.origin_ms + duration
        end = self.origin_ms
        for step in self.scenario.timeline:
            action = step.action
            span = action.over_ms if isinstance(action, RampPrice | GbmPrice | VolMove) else 0
            end = max(end, step.at.resolve(self.origin_ms) + span)
        return end

    @property
    def failed(self) -> list[Result]:
        return [result for result in self.results if not result.ok]

    # -- loading ------------------------------------------------------------------------------

    def start(self, host: Host) -> None:
        s = self.scenario
        for setup in s.markets:
            self._setting_up(setup.path, partial(self._set_up_market, setup))
        for account in s.accounts:
            self.users[account.name] = self._setting_up(
                account.path, partial(host.create_account, account)
            )
        for order in s.books:
            self._setting_up(order.path, partial(self._place, order))
        for agent in s.liquidity:
            if isinstance(agent, OptionLiquiditySetup):
                options = OptionLiquiditySpec(
                    agent.underlying,
                    agent.quantity,
                    expiries=agent.expiries,
                    moneyness=agent.moneyness,
                    refresh_ms=agent.refresh_ms,
                )
                self._setting_up(
                    agent.path, partial(self.exchange.sim.add_option_liquidity, options)
                )
                continue
            spec = LiquiditySpec(
                self.markets[agent.market],
                agent.quantity,
                levels=agent.levels,
                spread_bps=agent.spread_bps,
                step_bps=agent.step_bps,
                refresh_ms=agent.refresh_ms,
            )
            self._setting_up(agent.path, partial(self.exchange.sim.add_liquidity, spec))
        for takers in s.takers:
            flow = TakerSpec(
                None if takers.market is None else self.markets[takers.market],
                takers.per_minute,
                takers.min_quantity,
                takers.max_quantity,
                buy_share=takers.buy_share,
                ioc_share=takers.ioc_share,
                limit_bps=takers.limit_bps,
                underlying=takers.underlying,
            )
            self._setting_up(takers.path, partial(self.exchange.sim.add_takers, flow))
        watching = []
        for i, step in enumerate(s.timeline):
            if isinstance(step.action, ExpectStream):
                try:
                    self._watch(i)
                except OcxError as error:
                    watching.append(problem_of(s, f"{step.path}.expect.stream", error))
        if watching:
            raise ScenarioError(watching)
        for i, step in enumerate(s.timeline):
            hops = 2 if isinstance(step.action, EXPECTATIONS) else 1
            self._at(step.at.resolve(self.origin_ms), partial(self._step, i), hops)

    # -- stream expectations (stream_expectation.py) ------------------------------------------

    def _watch(self, i: int) -> None:
        """Check a stream expectation's stream and keep its view from `since`: now (the
        scenario's load), or once everything at `since` is done."""
        step = self.scenario.timeline[i]
        e = step.action
        assert isinstance(e, ExpectStream)
        lens = stream_expectation.lens()
        if lens.private(e.path) != (e.account is not None):
            if e.account is None:
                raise invalid("account", f"is required: {e.path} is an account's stream")
            raise invalid("account", f"{e.path} is public: it takes no account")
        view = self._stream_view(e)
        if e.since is None:
            self.stream_views[i] = view
            return
        since_ms, at_ms = e.since.resolve(self.origin_ms), step.at.resolve(self.origin_ms)
        if not self.origin_ms <= since_ms <= at_ms:
            raise invalid("since", "must be from the scenario's load to the step's own time")
        self._at(since_ms, partial(self._look, i), hops=2)

    def _look(self, i: int, due_ms: int) -> None:
        e = self.scenario.timeline[i].action
        assert isinstance(e, ExpectStream)
        self.stream_views[i] = self._stream_view(e)

    def _stream_view(self, e: ExpectStream) -> object:
        user_id = None if e.account is None else self.users[e.account]
        try:
            return stream_expectation.lens().view(self.exchange, e.path, user_id, dict(e.query))
        except OcxError as error:
            # A parameter is named as a request names it: below `params` here.
            named = error.details.get("field")
            if error.code is ErrorCode.UNKNOWN_MARKET and not named:
                # The exchange's lookup names no field: it is the market parameter's.
                named = "marketId" if "marketId" in dict(e.query) else "underlying"
            if not isinstance(named, str) or named in ("", "path"):
                raise
            raise invalid(f"params.{named}", error.message.removeprefix(f"{named}: ")) from None

    def _judge_stream(self, i: int, e: ExpectStream) -> tuple[str, bool, str]:
        user_id = None if e.account is None else self.users[e.account]
        before = self.stream_views.pop(i)
        payload = stream_expectation.lens().change(
            self.exchange, e.path, user_id, dict(e.query), before
        )
        since = "load" if e.since is None else format_ms(e.since.resolve(self.origin_ms))
        return stream_expectation.judged(e, e.account, since, payload)

    def _setting_up(self, path: str, do: Callable[[], T]) -> T:
        try:
            return do()
        except OcxError as error:
            raise ScenarioError([problem_of(self.scenario, path, error)]) from None

    def _set_up_market(self, setup: MarketSetup) -> None:
        exchange, market = self.exchange, self.markets[setup.market]
        underlying = exchange.market(market).underlying
        if setup.curve is not None:
            exchange.sim.set_curve(underlying, *setup.curve)
        if setup.index is not None:
            exchange.sim.set_index(market, setup.index)
        if setup.volatility is not None:
            exchange.sim.set_volatility(underlying, setup.volatility)
        if setup.mark is not None:
            exchange.sim.pin_mark(market, setup.mark)
        if setup.halted:
            exchange.sim.halt(market)

    # -- the clock ----------------------------------------------------------------------------

    def _at(self, due_ms: int, job: Callable[[int], None], hops: int = 1) -> None:
        """Run `job` at `due_ms`, after `hops` hops (module docstring)."""
        self.exchange.clock.schedule_at(due_ms, partial(self._hop, job, hops), name="scenario")

    def _hop(self, job: Callable[[int], None], hops: int, due_ms: int) -> None:
        """Schedule `job` again at this instant, behind every timer already due at it."""
        later = job if hops == 1 else partial(self._hop, job, hops - 1)
        self.exchange.clock.schedule_at(due_ms, later, name="scenario")

    def _record(self, due_ms: int, what: str, ok: bool, detail: str) -> None:
        self.results.append(Result(due_ms, what, ok, detail))

    # -- steps --------------------------------------------------------------------------------

    def _step(self, i: int, due_ms: int) -> None:
        step = self.scenario.timeline[i]
        action = step.action
        if isinstance(action, EXPECTATIONS):
            self.pending -= 1
            if isinstance(action, ExpectStream):
                what, ok, detail = self._judge_stream(i, action)
            else:
                what, ok, detail = judge(self.exchange, action, self._names())
            self._record(due_ms, what, ok, detail)
            return
        try:
            self._act(step, due_ms)
        except OcxError as error:
            refusal = f"refused with {error.code.value}: {error.message}"
            if step.expect_error is None:
                self._record(due_ms, f"{step.path} {step.key}", False, refusal)
            else:
                self.pending -= 1
                ok = error.code.value == step.expect_error
                self._record(due_ms, self._expected_refusal(step), ok, refusal)
            return
        if step.expect_error is not None:
            self.pending -= 1
            self._record(due_ms, self._expected_refusal(step), False, "was accepted")

    @staticmethod
    def _expected_refusal(step: Step) -> str:
        return f"{step.path} {step.key} is refused with {step.expect_error}"

    def _names(self) -> Names:
        return Names(self.users, self.orders, self.markets, self.origin_ms, self.origin_seq)

    def _act(self, step: Step, due_ms: int) -> None:
        a, exchange = step.action, self.exchange
        if isinstance(a, SetPrice | RampPrice | GbmPrice | JumpPrice | ClearPrice):
            self._price(step, a, due_ms)
        elif isinstance(a, VolMove):
            self._vol(step, a, due_ms)
        elif isinstance(a, PlaceOrder):
            self._place(a.order)
        elif isinstance(a, CancelOrder):
            exchange.cancel_order(*self._placed(a.order))
        elif isinstance(a, CancelAll):
            market = None if a.market is None else self.markets[a.market]
            exchange.cancel_all(self.users[a.account], market_id=market)
        elif isinstance(a, OutsideTrade):
            exchange.sim.outside_trade(self.markets[a.market], Side(a.side), a.price, a.quantity)
        elif isinstance(a, FundingRate):
            exchange.sim.set_next_funding_rate(self.markets[a.market], a.rate)
        elif isinstance(a, Deposit):
            wallet = exchange.user(self.users[a.account]).wallet_address
            exchange.sim.submit_deposit(wallet, a.amount, a.tx_hash)
        elif isinstance(a, Withdraw):
            exchange.withdraw(self.users[a.account], a.amount)
        elif isinstance(a, FailWithdrawals):
            for _ in range(a.count):
                exchange.sim.fail_next_withdrawal()
        elif isinstance(a, VaultLiquidity):
            exchange.sim.set_vault_liquidity(a.amount)
        elif isinstance(a, Halt):
            exchange.sim.halt(self.markets[a.market])
        elif isinstance(a, Resume):
            exchange.sim.resume(self.markets[a.market])
        elif isinstance(a, FaultOn):
            self._fault_on(a)
        elif isinstance(a, FaultOff):
            fault_id = self.faults.pop(a.name, None)
            if fault_id is None:
                raise OcxError(ErrorCode.NOT_FOUND, f"Fault {a.name!r} is not on")
            self.switch.remove_fault(fault_id)

    def _place(self, order: OrderSpec) -> None:
        user_id = self.users[order.account]
        request = OrderRequest(
            self.markets[order.market],
            Side(order.side),
            order.quantity,
            type=OrderType(order.type),
            price=order.price,
            time_in_force=TimeInForce(order.time_in_force),
            post_only=order.post_only,
            reduce_only=order.reduce_only,
            margin_mode=MarginMode(order.margin_mode),
            client_order_id=order.client_order_id,
            stop_price=order.stop_price,
            take_profit_price=order.take_profit_price,
            stop_loss_price=order.stop_loss_price,
        )
        placed = self.exchange.place_order(user_id, request)
        if order.name is not None:
            self.orders[order.name] = (user_id, placed.order.id)

    def _placed(self, name: str) -> tuple[str, str]:
        placed = self.orders.get(name)
        if placed is None:
            raise OcxError(ErrorCode.ORDER_NOT_FOUND, f"Order {name!r} was not placed")
        return placed

    def _fault_on(self, a: FaultOn) -> None:
        account = a.fault.account
        spec = replace(a.fault, account=self.users.get(account, account) if account else None)
        previous = self.faults.pop(a.name, None)
        if previous is not None:
            self.switch.remove_fault(previous)
        self.faults[a.name] = self.switch.add_fault(spec)

    # -- prices -------------------------------------------------------------------------------

    def _price(
        self,
        step: Step,
        a: SetPrice | RampPrice | GbmPrice | JumpPrice | ClearPrice,
        due_ms: int,
    ) -> None:
        market = self.markets[a.market]
        if isinstance(a, SetPrice):
            self._set(a.target, market, a.price)
        elif isinstance(a, ClearPrice):
            self._set(a.target, market, None)
        elif isinstance(a, JumpPrice):
            start = self._current(a.target, market)
            moved = start * (1 + a.by / 100) if a.percent else start + a.by
            if moved <= 0:
                raise invalid("jump", f"would take the {a.target.value} to {moved}")
            self._set(a.target, market, self._rounded(a.target, market, moved))
        else:
            for at_ms, price in self._path(step, a, market, due_ms):
                self._at(at_ms, partial(self._move, step.path, step.key, a.target, market, price))

    def _path(
        self, step: Step, a: RampPrice | GbmPrice, market: str, due_ms: int
    ) -> list[tuple[int, Decimal]]:
        """The moves of a ramp (straight to `to`) or a GBM path, as (instant, price)."""
        start = self._current(a.target, market)
        moves = -(-a.over_ms // a.every_ms)
        instants = [due_ms + min(k * a.every_ms, a.over_ms) for k in range(1, moves + 1)]
        if isinstance(a, RampPrice):
            prices = [start + (a.to - start) * k / moves for k in range(1, moves + 1)]
            prices[-1] = a.to
        else:
            shock = shocks(self.exchange.ids.stream(f"scenario:{self.name}:{step.path}"))
            sigma, mu = float(a.volatility), float(a.drift)
            level, before, prices = float(start), due_ms, []
            for at_ms in instants:
                level *= walk_factor(sigma, at_ms - before, shock(), mu)
                prices.append(Decimal(repr(level)))
                before = at_ms
        return [
            (t, self._rounded(a.target, market, p)) for t, p in zip(instants, prices, strict=True)
        ]

    def _move(
        self,
        path: str,
        key: str,
        target: PriceTarget,
        market: str,
        price: Decimal,
        due_ms: int,
    ) -> None:
        """One move of a ramp or path; a refusal is kept as a failed result."""
        try:
            self._set(target, market, price)
        except OcxError as error:
            detail = f"refused with {error.code.value}: {error.message}"
            self._record(due_ms, f"{path} {key}", False, detail)

    def _current(self, target: PriceTarget, market: str) -> Decimal:
        exchange = self.exchange
        if target is PriceTarget.INDEX:
            price = exchange.index_price(market)
        else:
            price = exchange.mark_price(market)
        if price is None:
            raise OcxError(
                ErrorCode.UPSTREAM_DEGRADED, f"{market} has no {target.value} to move from"
            )
        return price

    def _rounded(self, target: PriceTarget, market: str, price: Decimal) -> Decimal:
        """An index on 8 decimals; a mark on the market's tick (at least one tick)."""
        if target is PriceTarget.INDEX:
            return max(price.quantize(INDEX_QUANTUM, ROUND_HALF_EVEN), INDEX_QUANTUM)
        tick = self.exchange.market(market).tick
        return tick * max((price / tick).to_integral_value(ROUND_HALF_EVEN), Decimal(1))

    # -- the volatility surface (options.py) --------------------------------------------------

    def _vol(self, step: Step, a: VolMove, due_ms: int) -> None:
        """A set or shock publishes at once (a refusal is the step's); a ramp schedules its
        moves, each checked when it is published."""
        current = self.exchange.surface(a.underlying).params
        if a.kind is not VolKind.RAMP:
            publish(self.exchange, a.underlying, target(current, a))
            return
        for k, values in enumerate(ramp(current, a), start=1):
            at_ms = due_ms + min(k * a.every_ms, a.over_ms)
            self._at(
                at_ms,
                partial(self._vol_move, step.path, a.underlying, tuple(values.items()), k, a.moves),
            )

    def _vol_move(
        self,
        path: str,
        underlying: str,
        values: tuple[tuple[str, Decimal], ...],
        k: int,
        moves: int,
        due_ms: int,
    ) -> None:
        """The `k`-th of a `vol` ramp's `moves`; a surface with arbitrage is a failed result
        naming the step (and the parameter), and the ramp goes on."""
        try:
            publish(self.exchange, underlying, dict(values))
        except OcxError as error:
            detail = f"refused with {error.code.value}: {error.message} (move {k} of {moves})"
            self._record(due_ms, f"{path} vol", False, detail)

    def _set(self, target: PriceTarget, market: str, price: Decimal | None) -> None:
        if target is PriceTarget.INDEX:
            self.exchange.sim.set_index(market, price)
        else:
            self.exchange.sim.pin_mark(market, price)
