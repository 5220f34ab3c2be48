"""The price tick: once a simulated second, everything that moves with time alone.

Each second boundary, while anything can move (`Ticker.active`), in this order:

1. funding accrues the premium that held over the second that ends (funding.py);
2. every walking underlying's curve takes one step of its seeded random walk, and a curve in
   its roll window moves along it (index.py);
3. every perpetual's basis moves toward its target by the EWMA's decay, a 10 s half-life: the
   healthy book's mid − index, or zero (docs/fidelity.md "Prices, funding and expiries"); within
   half a tick of the target it arrives, so a still book lets the tick stop;
4. the price watchers (stop triggers, then liquidation) are owed a look, unless every mark
   they care about stayed strictly inside the interval they declared quiet (`quiet_marks`):
   the batch then stops at that second and records that marks moved (`facts.marks`); the
   exchange's reaction loop runs the watchers, and its last step wakes the tick again for the
   next second if anything still moves.

Between seconds, the refreshers' deferrable timers (the liquidity agents) fall due. Each sees the
state the last second left; the batch asks it (`QuietRefresh.stands`) whether its look would change
anything, and if not defers it to its next look, as if it had fired; otherwise the batch stops
before it so that it fires.

A still world schedules no tick; `wake()` (after orders on a perpetual and after every index
or mark change, from the reaction loop) starts it again when something can move.

Why batches: a walking sandbox ticks 86 400 times a simulated day, and a timer per second
would cost more than the work. So one tick timer works through every second up to the clock's
horizon (the advance target or the next ordinary timer, `Clock.horizon_ms`): nothing else can
happen in between, and at equal instants the tick is scheduled `first`, so the result is the
same as one timer a second, however the clock is advanced. The seconds are worked in floats
(the walk, the basis and the premium are floats; marks read them rounded, core/pricing.py);
when a watcher must run, the state is written back and the clock moved to that second first
(`Clock.run_ahead_to`), so the watcher sees exactly what a tick at that second would show.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Protocol

from ocx_sim.clock import Timer
from ocx_sim.engine.core.index import YEAR_MS, Curve, shocks, walk_factor
from ocx_sim.engine.core.markets import DAY_MS, YEAR_DAYS, MarketSpec, MarketType
from ocx_sim.engine.core.pricing import premium_of
from ocx_sim.engine.reactions.funding import Funding
from ocx_sim.engine.state import State

TICK_MS = 1_000
BASIS_HALF_LIFE_MS = 10_000
HEALTHY_SPREAD = Decimal("0.005")
"""A book is healthy when its spread is under 0.5 % of the mid …"""
HEALTHY_DEVIATION = 0.005
"""… and its mid within 0.5 % of the index (docs/fidelity.md "Prices, funding and expiries")."""

MARK_ERROR_TICKS = 1.0
MARK_ERROR_RELATIVE = 1e-9
"""How far a mark computed in floats here (`_mark_f`) may be from the real one: the index and
basis are rounded to 8 decimals and a future's mark to its tick (half a tick at most), and
floats add a relative error near 1e-16. Quiet intervals are narrowed by this much."""

_INF = math.inf
_YEAR_DAYS = float(YEAR_DAYS)

QuietMarks = Mapping[str, tuple[float, float]]
"""Per market id, the open interval of marks within which a watcher has nothing to do."""


class PriceWatcher(Protocol):
    def quiet_marks(self) -> QuietMarks | None:
        """While every listed market's mark stays strictly inside its interval (and nothing
        but marks changes), the watcher's look would do nothing: the tick need not stop for
        it. Markets not listed do not concern the watcher; None: it must look on every
        move."""


@dataclass(frozen=True, slots=True)
class QuietRefresh:
    """How the tick can tell, in floats, that a refresher's look at its instant would change
    nothing, so that it may defer the refresher's timer instead of stopping there."""

    underlying: str
    """The refresher's fair value is this underlying's index (`Prices.index_f`)."""
    period_ms: int
    stands: Callable[[float | None], bool]
    """Given the fair value at the instant of a look: whether the look would do nothing but
    schedule the next one `period_ms` later."""


class Refresher(Protocol):
    """Something that looks at a market on a deferrable timer (`Clock.schedule_deferrable`,
    its `order` its place among the refreshers): a liquidity agent."""

    def quiet_refresh(self) -> QuietRefresh | None:
        """How its looks can be judged ahead; None: they cannot, its timer must fire. Asked
        when the tick plans a batch: the answer holds until the next order or ordinary
        timer, either of which ends the batch."""


def _keep(elapsed_ms: int) -> float:
    """What part of the basis's gap to its target is left after `elapsed_ms`."""
    return float(2.0 ** (-elapsed_ms / BASIS_HALF_LIFE_MS))


@dataclass(slots=True)
class _Underlying:
    """One underlying's index as the batch steps it."""

    curve: Curve
    walking: bool
    rolling: bool
    unwalked: float
    """The curve's level before the walk (recomputed each second while rolling)."""
    factor: float
    index: float | None


@dataclass(slots=True)
class _Perp:
    spec: MarketSpec
    underlying: _Underlying
    half_tick: float
    pinned: float | None
    """A pinned mark: no basis, and its premium is against the pin."""
    mid: float | None
    """The book's mid when two-sided with a spread under 0.5 % (the deviation is checked
    against the index every second)."""
    basis: float
    premium: float
    """The premium in effect until the next change: what funding accrues."""


@dataclass(slots=True)
class _Watched:
    """A market a watcher cares about, and the marks between which all of them are quiet,
    already narrowed by how far `_mark_f` may be from the mark."""

    spec: MarketSpec
    underlying: _Underlying
    perp: _Perp | None
    pinned: float | None
    carry: float
    """A future's carry APR."""
    point: float | None
    """A future's curve point before the walk, when its curve is quoted (core/index.py)."""
    low: float
    high: float


class Ticker:
    def __init__(
        self,
        state: State,
        funding: Funding,
        watchers: Sequence[PriceWatcher],
        refreshers: Sequence[Refresher],
    ) -> None:
        self._state = state
        self._funding = funding
        self._watchers = watchers
        """The price watchers, in the order they look (the reaction loop's)."""
        self._refreshers = refreshers
        """The liquidity agents, each at its deferrable timer's `order`."""
        self._perps = funding.perps
        self._timer: Timer | None = None
        self._last_tick = state.now
        """The instant the walk and the basis were last stepped to."""
        self._books: dict[str, tuple[int, float | None]] = {}
        """Per perpetual: (book sequence, the mid when the spread is healthy)."""
        self._half_ticks = {p.id: float(p.tick) / 2 for p in self._perps}

    # -- starting ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Start the tick if something can now move with time and it is not scheduled."""
        if self._timer is None and self.active():
            self._last_tick = self._state.now
            self._schedule(self._state.now)

    def active(self) -> bool:
        """Whether anything moves with time: a walk, a roll, or a basis not at its target."""
        now = self._state.now
        underlyings = self._underlyings(now)
        if any(u.walking or u.rolling for u in underlyings.values()):
            return True
        return any(
            _target(p.underlying.index, p.mid) != p.basis for p in self._perp_states(underlyings)
        )

    def _schedule(self, after_ms: int) -> None:
        due = (after_ms // TICK_MS + 1) * TICK_MS
        self._timer = self._state.clock.schedule_at(
            due, partial(self._tick), name="price tick", first=True
        )

    # -- the batch ---------------------------------------------------------------------------

    def _tick(self, due_ms: int) -> None:
        self._timer = None
        if self._batch(due_ms):
            self._schedule(self._last_tick)

    def _batch(self, second: int) -> bool:
        """Every second from `second` up to the horizon while something moves, until the
        watchers are owed a look (module docstring); whether the tick goes on by itself."""
        underlyings = self._underlyings(second)
        perps = self._perp_states(underlyings)
        watched, always = self._watched(underlyings, perps)
        refreshes = self._refreshes(underlyings)
        horizon = self._state.clock.horizon_ms()
        last, watch, moving = self._run(
            second, horizon, underlyings, perps, watched, always, refreshes
        )
        self._write_back(last, underlyings, perps)
        if watch:
            # The watchers look at `last`, where the clock now stands, and the reaction loop
            # wakes the tick afterwards if anything still moves: whatever they do (orders,
            # fills) is seen by the seconds after it.
            self._state.facts.marks = True
            return False
        return moving

    def _run(
        self,
        second: int,
        horizon: int,
        underlyings: dict[str, _Underlying],
        perps: list[_Perp],
        watched: list[_Watched],
        always: bool,
        refreshes: list[tuple[_Underlying, QuietRefresh] | None],
    ) -> tuple[int, bool, bool]:
        """Step every second from `second` to `horizon`, in floats, until one needs the
        watchers, a refresher will act, or nothing moves any more. Returns the last second
        stepped, whether the watchers must run there, and whether anything still moves."""
        clock = self._state.clock
        process = self._state.prices.process
        unit_years = TICK_MS / YEAR_MS
        # Per walking curve: its factor's step over a whole second is exp(scale × shock −
        # drift), `walk_factor` with its constants worked out once (in the same order, so the
        # floats are the same as for any other elapsed time below).
        walkers = [
            (u, shocks(process.walk(symbol)), u.curve.volatility)
            for symbol, u in underlyings.items()
            if u.walking
        ]
        unit_steps = [
            (u, shock, sigma * math.sqrt(unit_years), 0.5 * sigma * sigma * unit_years)
            for u, shock, sigma in walkers
        ]
        rollers = [u for u in underlyings.values() if u.rolling]
        index_moves = bool(walkers or rollers)
        unit_keep = _keep(TICK_MS)
        accrued_to = self._funding.accrued_to
        sums = self._funding.sums()
        last = self._last_tick
        exp = math.exp
        refresh = clock.next_deferrable()
        while True:
            # 0. the refreshers due since the last second: they see the state it left.
            while refresh is not None and refresh.due_ms < second:
                due = refresh.due_ms
                plan = refreshes[refresh.order] if refresh.order < len(refreshes) else None
                if plan is None or not plan[1].stands(_index_at(plan[0], due)):
                    self._funding.store(accrued_to, sums)
                    return last, False, True
                clock.defer(refresh, due + plan[1].period_ms)
                refresh = clock.next_deferrable()
            elapsed = second - last
            since = second - accrued_to
            accrued_to = second
            # 2. the index. (1., funding, is in the perpetuals' loop below: it accrues the
            # premium from before this second, which nothing here changes.)
            if elapsed == TICK_MS:
                for u, shock, scale, drift in unit_steps:
                    u.factor *= exp(scale * shock() - drift)
                    u.index = u.unwalked * u.factor
            else:
                for u, shock, sigma in walkers:
                    u.factor *= walk_factor(sigma, elapsed, shock())
                    u.index = u.unwalked * u.factor
            for u in rollers:
                u.unwalked = u.curve.unwalked_f(second)
                u.rolling = u.curve.rolling(second)
                u.index = u.unwalked * u.factor
            # 1. funding accrues the premium in effect since the last accrual; 3. the basis
            # moves, and with it the premium. (`_target` and `premium_of` written out: this
            # runs for every perpetual every simulated second.)
            moved = index_moves
            unsettled = False
            keep = unit_keep if elapsed == TICK_MS else _keep(elapsed)
            for i, perp in enumerate(perps):
                if perp.premium:
                    sums[i] += perp.premium * since
                index = perp.underlying.index
                mid = perp.mid
                target = 0.0
                if index is not None and mid is not None:
                    gap = mid - index
                    if abs(gap) < HEALTHY_DEVIATION * index:
                        target = gap
                basis = perp.basis
                if basis != target:
                    basis = target + (basis - target) * keep
                    if abs(basis - target) < perp.half_tick:
                        basis = target
                    else:
                        unsettled = True
                    perp.basis = basis
                    moved = True
                if not index:
                    perp.premium = 0.0
                elif perp.pinned is None:
                    perp.premium = basis / index
                else:
                    perp.premium = (perp.pinned - index) / index
            last = second
            # 4. the watchers, unless every mark they follow is inside its quiet interval.
            if moved:
                crossed = always
                for w in watched:
                    mark = _mark_f(w, second)
                    if mark is None or not w.low < mark < w.high:
                        crossed = True
                        break
                if crossed:
                    self._funding.store(accrued_to, sums)
                    return last, True, True
            if rollers and not all(u.rolling for u in rollers):
                rollers = [u for u in rollers if u.rolling]
                index_moves = bool(walkers or rollers)
            second += TICK_MS
            moving = index_moves or unsettled
            if second > horizon or not moving:
                self._funding.store(accrued_to, sums)
                return last, False, moving

    def _write_back(
        self, last: int, underlyings: dict[str, _Underlying], perps: list[_Perp]
    ) -> None:
        """Leave the batch's state where the rest of the engine reads it, at `last`."""
        state = self._state
        state.clock.run_ahead_to(max(last, state.now))
        for u in underlyings.values():
            u.curve.factor = u.factor
        for perp in perps:
            # Pinned or not: a pin hides the basis but does not stop it.
            state.prices.set_basis_f(perp.spec.id, perp.basis)
        state.prices.touch()
        self._last_tick = last

    # -- what moves --------------------------------------------------------------------------

    def _refreshes(
        self, underlyings: dict[str, _Underlying]
    ) -> list[tuple[_Underlying, QuietRefresh] | None]:
        """Per refresher (by its deferrable timer's `order`): how to judge its looks."""
        plans: list[tuple[_Underlying, QuietRefresh] | None] = []
        for refresher in self._refreshers:
            quiet = refresher.quiet_refresh()
            plans.append(None if quiet is None else (underlyings[quiet.underlying], quiet))
        return plans

    def _underlyings(self, now: int) -> dict[str, _Underlying]:
        states = {}
        for symbol, curve in self._state.prices.process.curves.items():
            unwalked = curve.unwalked_f(now)
            if curve.withdrawn:
                index = None
            elif curve.pinned is not None:
                index = float(curve.pinned)
            else:
                index = unwalked * curve.factor  # as Curve.level_f
            states[symbol] = _Underlying(
                curve, curve.walks(), curve.rolling(now), unwalked, curve.factor, index
            )
        return states

    def _perp_states(self, underlyings: dict[str, _Underlying]) -> list[_Perp]:
        prices = self._state.prices
        states = []
        for spec in self._perps:
            pinned_mark = prices.pinned_mark(spec.id)
            pinned = None if pinned_mark is None else float(pinned_mark)
            underlying = underlyings[spec.underlying]
            basis = prices.basis_f(spec.id)
            states.append(
                _Perp(
                    spec,
                    underlying,
                    self._half_ticks[spec.id],
                    pinned,
                    self._healthy_mid(spec),
                    basis,
                    premium_of(underlying.index, basis, pinned),
                )
            )
        return states

    def _healthy_mid(self, spec: MarketSpec) -> float | None:
        """The book's mid when it is two-sided and its spread under 0.5 % (remembered per
        book sequence: the book changes far less often than the tick runs)."""
        book = self._state.books.get(spec.id)
        if book is None:
            return None
        cached = self._books.get(spec.id)
        if cached is not None and cached[0] == book.sequence:
            return cached[1]
        mid = None
        if book.best_bid is not None and book.best_ask is not None:
            bid, ask = spec.price(book.best_bid), spec.price(book.best_ask)
            middle = (bid + ask) / 2
            if (ask - bid) / middle < HEALTHY_SPREAD:
                mid = float(middle)
        self._books[spec.id] = (book.sequence, mid)
        return mid

    def _watched(
        self, underlyings: dict[str, _Underlying], perps: list[_Perp]
    ) -> tuple[list[_Watched], bool]:
        """The markets the watchers follow, each with the intersection of their quiet
        intervals; and whether some watcher must run on every move."""
        state = self._state
        bounds: dict[str, tuple[float, float]] = {}
        for watcher in self._watchers:
            quiet = watcher.quiet_marks()
            if quiet is None:
                return [], True
            for market_id, (low, high) in quiet.items():
                was_low, was_high = bounds.get(market_id, (-_INF, _INF))
                bounds[market_id] = (max(low, was_low), min(high, was_high))
        by_id = {p.spec.id: p for p in perps}
        watched = []
        for market_id, (low, high) in bounds.items():
            spec = state.catalog.markets[market_id]
            pinned = state.prices.pinned_mark(market_id)
            if spec.is_option and pinned is None:
                # An option's mark is not followed in floats: any move wakes the watchers.
                return [], True
            error = MARK_ERROR_TICKS * float(spec.tick)
            if low > -_INF:
                low += error + MARK_ERROR_RELATIVE * abs(low)
            if high < _INF:
                high -= error + MARK_ERROR_RELATIVE * abs(high)
            watched.append(
                _Watched(
                    spec,
                    underlyings[spec.underlying],
                    by_id.get(market_id),
                    float(pinned) if pinned is not None else None,
                    float(state.catalog.underlyings[spec.underlying].carry_apr),
                    _point_f(underlyings[spec.underlying].curve, spec),
                    low,
                    high,
                )
            )
        return watched, False


def _target(index: float | None, mid: float | None) -> float:
    """Where a perpetual's basis is heading: the healthy book's mid − index, or zero. (A
    pinned mark hides the basis but does not stop it: unpinned, the mark is the model's.)"""
    if index is None or mid is None:
        return 0.0
    gap = mid - index
    return gap if abs(gap) < HEALTHY_DEVIATION * index else 0.0


def _index_at(u: _Underlying, now_ms: int) -> float | None:
    """The index at `now_ms` from the batch's state, as `Prices.index_f` will read it then
    (the roll moves it between seconds; the walk does not)."""
    if u.index is None or u.curve.pinned is not None:
        return u.index
    return u.curve.unwalked_f(now_ms) * u.factor


def _point_f(curve: Curve, spec: MarketSpec) -> float | None:
    level = curve.level_of(spec.expiry_ms) if spec.type is MarketType.FUTURE else None
    return None if level is None else float(level)


def _mark_f(w: _Watched, now_ms: int) -> float | None:
    """The market's mark in floats, from the batch's state (pricing.py has the rules)."""
    if w.pinned is not None:
        return w.pinned
    u = w.underlying
    index = u.index
    if index is None:
        return None
    if w.perp is not None:
        return index + w.perp.basis
    if w.point is not None:
        # A curve point: walked with the curve, or carried by a pinned index (index.py).
        if u.curve.pinned is not None:
            return w.point * index / u.curve.unwalked_f(now_ms)
        return w.point * u.factor
    expiry = w.spec.expiry_ms
    if w.spec.type is MarketType.FUTURE and expiry is not None:
        return index * (1 + w.carry * (max(0, expiry - now_ms) / DAY_MS) / _YEAR_DAYS)
    return index
