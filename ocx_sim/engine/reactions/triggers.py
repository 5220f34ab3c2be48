"""The trigger watcher: fire the untriggered orders the marks now cross.

After any index or mark may have moved, every armed order (core/trigger_book.py) whose mark
crosses its trigger fires, oldest armed first, through the same path a stop crossed at
placement takes (commands/execution.py): a buy stop at the first mark ≥ stopPrice, a sell stop
at ≤, a take-profit or stop-loss on its side (docs/fidelity.md "Trigger orders"). Orders that
ended meanwhile are forgotten, and children whose position is gone cancelled. It runs before
the liquidation, so a stop-loss may spare its account.

For the price tick (ticker.py) it declares the marks between which it has nothing to do.
"""

from __future__ import annotations

import math

from ocx_sim.engine.commands import brackets
from ocx_sim.engine.commands.execution import fire_if_crossed
from ocx_sim.engine.core.orders import OrderStatus
from ocx_sim.engine.core.trigger_book import Armed
from ocx_sim.engine.reactions.ticker import QuietMarks
from ocx_sim.engine.state import State

_UNTRIGGERED = OrderStatus.UNTRIGGERED


class TriggerWatcher:
    def __init__(self, state: State) -> None:
        self._state = state
        self._quiet: tuple[tuple[int, int], QuietMarks | None] | None = None

    def check(self) -> None:
        """Fire every untriggered order the marks now cross, oldest first (a firing's own
        children that are born crossed fire within it, execution.py)."""
        book = self._state.triggers
        if not book.armed and not book.entries:
            return
        brackets.prune_entries(self._state)
        for armed in self._due():
            fire_if_crossed(self._state, armed)

    def quiet_marks(self) -> QuietMarks | None:
        """Per market with untriggered orders: between the highest fire-on-fall trigger and
        the lowest fire-on-rise one, no order fires. None while `check` has cleaning up to do
        (an order ended elsewhere, a child whose position went). Remembered until an order is
        armed or disarmed or the ledger moves (a position may have gone)."""
        token = (len(self._state.ledger), self._state.triggers.version)
        if self._quiet is None or self._quiet[0] != token:
            self._quiet = (token, self._quiet_marks())
        return self._quiet[1]

    def _quiet_marks(self) -> QuietMarks | None:
        quiet = {}
        for market_id, armed_orders in self._state.triggers.armed.items():
            low, high = -math.inf, math.inf
            for armed in armed_orders.values():
                order = armed.order
                if order.status is not _UNTRIGGERED:
                    return None
                if armed.entry_id is not None and brackets.position_gone(self._state, order):
                    return None
                if armed.above:
                    high = min(high, float(armed.trigger))
                else:
                    low = max(low, float(armed.trigger))
            quiet[market_id] = (low, high)
        return quiet

    def _due(self) -> list[Armed]:
        """The armed orders their market's mark crosses, in arming order. Orders ended
        meanwhile are forgotten, and children whose position is gone cancelled."""
        state = self._state
        now = state.now
        due: list[Armed] = []
        for market_id, armed_orders in list(state.triggers.armed.items()):
            mark = state.prices.mark(state.catalog.markets[market_id], now)
            for armed in list(armed_orders.values()):
                if (
                    brackets.still_waiting(state, armed)
                    and mark is not None
                    and armed.crossed(mark)
                ):
                    due.append(armed)
        due.sort(key=_by_seq)
        return due


def _by_seq(armed: Armed) -> int:
    return armed.seq
