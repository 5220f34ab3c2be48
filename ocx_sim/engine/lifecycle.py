"""The market's clockwork: what happens to prices and positions as simulated time passes.

Three kinds of timer, all on the world's clock, so a manual world moves only when told and
every run of the same commands fires the same timers at the same instants:

- the price tick, once a second (on second boundaries) while anything can move with time:
  a random walk or a roll moving an index (`index.py`), or a perpetual whose book is healthy
  or whose basis has not yet decayed to zero (`pricing.py`). A still world schedules none;
  `wake()` (after orders, and index changes) starts it again when needed;
- funding, at every 300 000 ms boundary (`funding.py`);
- expiries, at every listed market's expiry instant (`expiry.py`).

Every change of an index, a mark or a basis goes through `change_prices`: funding first
accrues the premium that held until now, the change is made, and then `Context.prices_moved`
runs the watchers (stop triggers, then liquidations) against the new marks.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache, partial

from ocx_sim.clock import Timer
from ocx_sim.engine.clearing import Clearing
from ocx_sim.engine.context import Context
from ocx_sim.engine.expiry import Expiries
from ocx_sim.engine.funding import Funding, next_boundary
from ocx_sim.engine.markets import MarketSpec, MarketType
from ocx_sim.engine.money import ZERO

TICK_MS = 1_000
BASIS_HALF_LIFE_MS = 10_000
HEALTHY_SPREAD = Decimal("0.005")
"""A book is healthy when its spread is under 0.5 % of the mid …"""
HEALTHY_DEVIATION = Decimal("0.005")
"""… and its mid within 0.5 % of the index (DECISIONS.md "Markets and prices")."""
BASIS_QUANTUM = Decimal("1e-8")


@lru_cache(maxsize=64)
def _decay(elapsed_ms: int) -> Decimal:
    """What part of the basis's gap to its target is left after `elapsed_ms` (almost always
    one tick's worth, so remembered)."""
    return Decimal(2) ** (Decimal(-elapsed_ms) / BASIS_HALF_LIFE_MS)


class Lifecycle:
    def __init__(self, ctx: Context, clearing: Clearing) -> None:
        self._ctx = ctx
        self.funding = Funding(ctx)
        self.expiries = Expiries(ctx, clearing)
        self._perps = [m for m in ctx.catalog if m.type is MarketType.PERP]
        self._perp_ids = frozenset(m.id for m in self._perps)
        self._tick_timer: Timer | None = None
        self._last_tick = ctx.now
        ctx.clock.schedule_at(next_boundary(ctx.now), partial(self._fund), name="funding")

    # -- price changes ---------------------------------------------------------------------

    def change_prices(self, change: Callable[[], None], announce: Callable[[], None]) -> None:
        """Make one change of an index, mark or basis, with funding accrued up to it; log it
        (`announce`), then run the watchers, so what they do follows its cause in the log."""
        ctx = self._ctx
        self.funding.accrue(ctx.now)
        change()
        announce()
        self.wake()
        ctx.prices_moved()

    def wake(self) -> None:
        """Start the price tick if something can now move with time and it is not running."""
        if self._tick_timer is None and self._active():
            self._last_tick = self._ctx.now
            self._schedule_tick()

    def wake_for(self, market_id: str) -> None:
        """`wake` after an order on `market_id` (only a perpetual's book moves a mark)."""
        if self._tick_timer is None and market_id in self._perp_ids:
            self.wake()

    def _active(self) -> bool:
        ctx = self._ctx
        if ctx.prices.process.drifts(ctx.now):
            return True
        return any(ctx.prices.basis(p.id) or self._healthy_mid(p) is not None for p in self._perps)

    def _schedule_tick(self) -> None:
        due = (self._ctx.now // TICK_MS + 1) * TICK_MS
        self._tick_timer = self._ctx.clock.schedule_at(due, partial(self._tick), name="price tick")

    def _tick(self, due_ms: int) -> None:
        ctx = self._ctx
        self._tick_timer = None
        elapsed, self._last_tick = due_ms - self._last_tick, due_ms
        self.funding.accrue(due_ms)
        prices = ctx.prices
        moved = prices.process.step(elapsed)
        if moved:
            prices.touch()
        for perp in self._perps:
            moved = self._smooth_basis(perp, elapsed) or moved
        if moved or prices.process.drifts(due_ms):
            ctx.prices_moved()
        if self._active():
            self._schedule_tick()

    # -- the perpetual's basis -----------------------------------------------------------

    def _smooth_basis(self, perp: MarketSpec, elapsed_ms: int) -> bool:
        """Move the basis toward the healthy book's mid − index (or zero) by the EWMA's
        decay over `elapsed_ms`; whether it changed."""
        prices = self._ctx.prices
        basis = prices.basis(perp.id)
        mid = self._healthy_mid(perp)
        index = prices.index(perp.underlying)
        target = mid - index if mid is not None and index is not None else ZERO
        if basis == target:
            return False
        keep = _decay(elapsed_ms)
        smoothed = (target + (basis - target) * keep).quantize(BASIS_QUANTUM, ROUND_HALF_EVEN)
        if abs(smoothed - target) < perp.tick / 2:
            # Within half a tick the mark cannot show the difference: arrive, and let a
            # still book stop the tick.
            smoothed = target
        prices.set_basis(perp.id, smoothed)
        return True

    def _healthy_mid(self, perp: MarketSpec) -> Decimal | None:
        """The book's mid when the book is healthy enough for the mark to follow it."""
        ctx = self._ctx
        book = ctx.books.get(perp.id)
        if book is None or book.best_bid is None or book.best_ask is None:
            return None
        index = ctx.prices.index(perp.underlying)
        if index is None:
            return None
        bid, ask = perp.price(book.best_bid), perp.price(book.best_ask)
        mid = (bid + ask) / 2
        if (ask - bid) / mid >= HEALTHY_SPREAD or abs(mid - index) / index >= HEALTHY_DEVIATION:
            return None
        return mid

    # -- funding -------------------------------------------------------------------------

    def _fund(self, due_ms: int) -> None:
        self.funding.settle(due_ms)
        self._ctx.clock.schedule_at(next_boundary(due_ms), partial(self._fund), name="funding")
        # No price moved, but funding erodes collateral (SPEC.md §8.4): the liquidation
        # pass must see the new balances.
        self._ctx.prices_moved()
