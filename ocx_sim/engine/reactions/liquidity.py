"""Liquidity agents: a house market maker that keeps a ladder around each market's fair value.

The sandbox (`Sim.start_sandbox`) puts one on every perpetual so that a client meets a
live book. The ladder has `levels` bids and asks, `quantity` each: the first `spread_bps / 2`
from its centre and each further one a step (`step_bps`) beyond, rounded away from the centre
onto the tick. It is quoted around the fair value (a perpetual's index, another market's
mark), with the step and the half-spread fixed in price when it is quoted.

Every `refresh_ms` of simulated time the agent looks again:
- a rung was taken (filled, even in part, or cancelled), the step has drifted more than 10 %
  from `step_bps` of the fair value, or the fair value is `levels` steps or more away: the
  whole ladder is quoted afresh around the fair value (a rung taken in part is replaced by a
  whole one, so nothing the agent quoted is left stranded on the book);
- the fair value is k whole steps away (0 < |k| < levels): the centre moves k steps. Every
  rung is then where a rung of the old ladder was, or beyond it, so only the rungs that fall
  off are replaced: 2|k| orders rather than all of them;
- otherwise the ladder stands: re-quoting it would only churn the book.

A refresh that finds nothing to do changes nothing, so on a perpetual its timer is deferrable
(`Clock.schedule_deferrable`): the price tick passes it when `quiet_refresh` says so of the index
it has computed for that instant, and stops there only when the agent will act. A short
`refresh_ms` therefore costs little.

It goes through the ordinary bulk-quote command (commands/quotes.py, replacing the rungs it
moves), so its orders match, pay fees and hold margin like anyone's, and the exchange's
reactions answer its fills as they answer anyone's; its account (`Sim.add_liquidity`) is
funded once with enough for years of quoting. A market without
a mark (no index), halted or expired is skipped until the next refresh.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import partial

from ocx_sim.engine.commands.quotes import QuoteRequest, place_quotes
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketType
from ocx_sim.engine.core.money import BPS
from ocx_sim.engine.core.orders import Order, OrderStatus, Side
from ocx_sim.engine.reactions.ticker import QuietRefresh
from ocx_sim.engine.state import State
from ocx_sim.errors import OcxError


@dataclass(frozen=True, slots=True)
class LiquiditySpec:
    market_id: str
    quantity: Decimal
    levels: int = 3
    spread_bps: Decimal = Decimal(10)
    step_bps: Decimal = Decimal(5)
    refresh_ms: int = 10_000


_OPEN = OrderStatus.OPEN
"""An order in this status has not been filled at all (a partial fill changes it)."""
_PARTLY_FILLED = OrderStatus.PARTIALLY_FILLED
STEP_DRIFT = 0.1
"""How far the step, fixed in price, may drift from `step_bps` of the fair value before the
ladder is quoted afresh."""


@dataclass(slots=True)
class _Ladder:
    center: Decimal
    step: Decimal
    half_spread: Decimal
    fair_range: tuple[float, float]
    """The fair values at which `step` is still within `STEP_DRIFT` of `step_bps` of them."""
    _center_f: float = field(init=False)
    _step_f: float = field(init=False)
    """`center` and `step` as floats, for `steps_to` on every look."""

    def __post_init__(self) -> None:
        self._center_f, self._step_f = float(self.center), float(self.step)

    def moved(self, steps: int) -> _Ladder:
        return _Ladder(
            self.center + steps * self.step, self.step, self.half_spread, self.fair_range
        )

    def stands_at(self, fair: float | None) -> bool:
        """Whether an untouched ladder stays as it is at fair value `fair`: there is none, or
        it is less than a step from the centre."""
        return fair is None or self.steps_to(fair) == 0

    def steps_to(self, fair: float) -> int | None:
        """Whole steps (toward zero) from the centre to `fair`; None when `fair` is out of
        `fair_range`."""
        low, high = self.fair_range
        if not low <= fair <= high:
            return None
        return int((fair - self._center_f) / self._step_f)


class LiquidityAgent:
    def __init__(self, state: State, user: User, spec: LiquiditySpec, order: int) -> None:
        self._state = state
        self.user = user
        self.spec = spec
        self._ladder: _Ladder | None = None
        self._standing: list[Order] = []
        """The ladder's orders."""
        self._order = order
        """Its place among the agents: it orders its deferrable timer among theirs, and the
        tick finds how to judge its looks there."""
        market = state.catalog.markets[spec.market_id]
        # A perpetual's fair value is its index, which the tick has in floats at every
        # instant; another market's is its mark, which it does not (module docstring).
        self._follows = market.underlying if market.type is MarketType.PERP else None

    def start(self) -> None:
        self._refresh(self._state.now)

    def quiet_refresh(self) -> QuietRefresh | None:
        """Whether its looks would act, until the next order or timer: only the fair value
        decides, once the ladder is known untouched (only orders can touch it)."""
        if self._follows is None:
            return None
        ladder = self._ladder
        stands = ladder.stands_at if ladder is not None and self._untouched() else _no_fair
        return QuietRefresh(self._follows, self.spec.refresh_ms, stands)

    def _refresh(self, due_ms: int) -> None:
        state, spec = self._state, self.spec
        market = state.catalog.markets[spec.market_id]
        ladder = self._next_ladder(self._fair_value_f())
        if ladder is not None:
            # Halted, expired, or out of margin after a run of fills: sit this one out rather
            # than stop quoting for good.
            with contextlib.suppress(OcxError):
                self._quote(ladder)
        if not market.expired_at(due_ms + spec.refresh_ms):
            state.clock.schedule_deferrable(
                due_ms + spec.refresh_ms, partial(self._refresh), "liquidity", self._order
            )

    def _next_ladder(self, fair: float | None) -> _Ladder | None:
        """The ladder to quote at fair value `fair` (module docstring), or None to leave
        things as they are. Decided in floats: it runs every refresh, and quoting is what
        needs the decimals."""
        if fair is None:
            return None
        ladder = self._ladder
        if ladder is None or not self._untouched():
            return self._fresh()
        steps = ladder.steps_to(fair)
        if steps == 0:
            return None
        if steps is None or abs(steps) >= self.spec.levels:
            return self._fresh()
        return ladder.moved(steps)

    def _untouched(self) -> bool:
        """No rung of the ladder was taken, even in part, or cancelled."""
        return all(o.status is _OPEN for o in self._standing)

    def _fresh(self) -> _Ladder | None:
        """A ladder centred on the fair value, its step and half-spread in price from it."""
        fair = self._fair_value()
        if fair is None:
            return None
        spec = self.spec
        tick = self._state.catalog.markets[spec.market_id].tick
        rate = spec.step_bps / BPS
        step = max(tick, fair * rate)
        # step / fair within (1 ± STEP_DRIFT) × rate.
        low, high = float(step / rate) / (1 + STEP_DRIFT), float(step / rate) / (1 - STEP_DRIFT)
        return _Ladder(fair, step, fair * spec.spread_bps / 2 / BPS, (low, high))

    def _quote(self, ladder: _Ladder) -> None:
        """Place the rungs of `ladder` the standing orders do not already hold, replacing
        the standing orders it has no rung for."""
        market_id = self.spec.market_id
        standing = {(o.side, o.price): o for o in self._standing if o.status is _OPEN}
        # A rung taken in part still rests with what is left of it: it is replaced by a whole
        # one, never left behind on the book (those filled or cancelled are gone already).
        stranded = [o for o in self._standing if o.status is _PARTLY_FILLED]
        kept, new = [], []
        for rung in self.rungs(ladder):
            order = standing.pop((rung.side, rung.price), None)
            if order is None:
                new.append(rung)
            else:
                kept.append(order)
        # What is left of `standing` has no rung any more.
        replacing = [*standing.values(), *stranded]
        placed = place_quotes(self._state, self.user.user_id, market_id, new, replacing=replacing)
        self._ladder = ladder
        self._standing = kept + placed.orders

    def rungs(self, ladder: _Ladder) -> list[QuoteRequest]:
        """The ladder's orders: bids rounded down onto the tick, asks up."""
        spec = self.spec
        tick = self._state.catalog.markets[spec.market_id].tick
        rungs = []
        for level in range(spec.levels):
            distance = ladder.half_spread + ladder.step * level
            bid = ((ladder.center - distance) / tick).to_integral_value(ROUND_FLOOR)
            ask = ((ladder.center + distance) / tick).to_integral_value(ROUND_CEILING)
            rungs.append(QuoteRequest(Side.BUY, tick * bid, spec.quantity))
            rungs.append(QuoteRequest(Side.SELL, tick * ask, spec.quantity))
        return rungs

    def _fair_value(self) -> Decimal | None:
        """The price the ladder is centred on. A perpetual's is its index: quoting around the
        mark would feed the book's mid back into the mark's basis and hold it off the index."""
        state = self._state
        market = state.catalog.markets[self.spec.market_id]
        if market.type is MarketType.PERP:
            return state.prices.index(market.underlying)
        return state.prices.mark(market, state.now)

    def _fair_value_f(self) -> float | None:
        """`_fair_value` in floats: checked every refresh, so cheaply."""
        state = self._state
        market = state.catalog.markets[self.spec.market_id]
        if market.type is MarketType.PERP:
            return state.prices.index_f(market.underlying)
        mark = state.prices.mark(market, state.now)
        return None if mark is None else float(mark)


def _no_fair(fair: float | None) -> bool:
    """A look stands only without a fair value (a missing or touched ladder is requoted)."""
    return fair is None
