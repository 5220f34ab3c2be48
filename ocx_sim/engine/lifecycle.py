"""The market's clockwork: what happens to prices and positions as simulated time passes.

Three kinds of timer, all on the world's clock, so a manual world moves only when told and
every run of the same commands fires the same timers at the same instants:

- the price tick, once a second while anything can move with time (`ticker.py`): a random
  walk or a roll moving an index (`index.py`), or a perpetual's basis on its way to the
  healthy book's mid (`pricing.py`). A still world schedules none; `wake()` (after orders,
  and index changes) starts it again when needed;
- funding, at every 300 000 ms boundary (`funding.py`);
- expiries, at every listed market's expiry instant (`expiry.py`).

Every change of an index, a mark or a basis goes through `change_prices`: funding first
accrues the premium that held until now, the change is made, and then `Context.prices_moved`
runs the watchers (stop triggers, then liquidations) against the new marks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ocx_sim.engine.clearing import Clearing
from ocx_sim.engine.context import Context
from ocx_sim.engine.expiry import Expiries
from ocx_sim.engine.funding import Funding, next_boundary
from ocx_sim.engine.ticker import Ticker


class Lifecycle:
    def __init__(self, ctx: Context, clearing: Clearing) -> None:
        self._ctx = ctx
        self.funding = Funding(ctx)
        self.ticker = Ticker(ctx, self.funding)
        self.expiries = Expiries(ctx, clearing, self.prices_moved)
        ctx.clock.schedule_at(next_boundary(ctx.now), partial(self._fund), name="funding")

    # -- price changes ---------------------------------------------------------------------

    def change_prices(self, change: Callable[[], None], announce: Callable[[], None]) -> None:
        """Make one change of an index, mark or basis, with funding accrued up to it; log it
        (`announce`), then run the watchers, so what they do follows its cause in the log."""
        ctx = self._ctx
        self.funding.accrue(ctx.now)
        change()
        announce()
        self.prices_moved()

    def prices_moved(self) -> None:
        """Run the watchers (`Context.prices_moved`), then start the tick if the change, or
        the orders the watchers placed, give it something to move."""
        self._ctx.prices_moved()
        self.wake()

    def wake(self) -> None:
        """Start the price tick if something can now move with time."""
        self.ticker.wake()

    def wake_for(self, market_id: str) -> None:
        """`wake` after an order on `market_id` (only a perpetual's book moves a mark)."""
        self.ticker.wake_for(market_id)

    # -- funding -------------------------------------------------------------------------

    def _fund(self, due_ms: int) -> None:
        self.funding.settle(due_ms)
        self._ctx.clock.schedule_at(next_boundary(due_ms), partial(self._fund), name="funding")
        # No price moved, but funding erodes collateral (SPEC.md §8.4): the liquidation
        # pass must see the new balances.
        self.prices_moved()
