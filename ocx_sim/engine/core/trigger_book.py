"""The book of orders that wait for the mark: untriggered stops, and take-profit/stop-loss pairs.

docs/fidelity.md "Trigger orders" has the rules; this module only keeps the records, the way
book.py keeps resting orders:
- `armed`: per market, the `untriggered` orders and the trigger each waits for, in the order
  they were armed (`Armed.seq`), which is the order crossed ones fire in;
- `entries`: orders carrying `takeProfitPrice`/`stopLossPrice` whose fills may still arm or
  grow their children;
- `brackets`: per entry, its children (take-profit first) once its first fill created them;
- `by_position`: per (user, market, margin mode), the untriggered children protecting that
  position (they go when it goes).

Invariants: every order in `by_position` is armed with its entry's id; a bracket is forgotten
once its entry is no longer watched and none of its children is armed. `version` changes with
every arming and disarming, so a reader can cache what it derives from the armed set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ocx_sim.engine.core.orders import MarginMode, Order

PositionKey = tuple[str, str, MarginMode]
"""(user id, market id, margin mode): the position a take-profit or stop-loss child closes."""


@dataclass(slots=True)
class Armed:
    """An untriggered order and the mark it waits for."""

    seq: int
    """The arming order: crossed orders fire oldest first."""
    order: Order
    trigger: Decimal
    above: bool
    """True: it fires at mark ≥ trigger; False: at mark ≤ trigger."""
    entry_id: str | None
    """For a take-profit or stop-loss child, the entry order it protects."""

    def crossed(self, mark: Decimal) -> bool:
        return mark >= self.trigger if self.above else mark <= self.trigger


@dataclass(slots=True)
class TriggerBook:
    armed: dict[str, dict[str, Armed]] = field(default_factory=dict)
    """market id → order id → its armed order, oldest first; no empty markets."""
    entries: dict[str, Order] = field(default_factory=dict)
    brackets: dict[str, list[Order]] = field(default_factory=dict)
    by_position: dict[PositionKey, dict[str, Order]] = field(default_factory=dict)
    seq: int = 0
    version: int = 0

    def arm(self, order: Order, trigger: Decimal, above: bool, entry_id: str | None) -> Armed:
        self.seq += 1
        self.version += 1
        armed = Armed(self.seq, order, trigger, above, entry_id)
        self.armed.setdefault(order.market_id, {})[order.id] = armed
        if entry_id is not None:
            key = (order.owner, order.market_id, order.margin_mode)
            self.by_position.setdefault(key, {})[order.id] = order
        return armed

    def armed_of(self, order: Order) -> Armed | None:
        return self.armed.get(order.market_id, {}).get(order.id)

    def disarm(self, armed: Armed) -> None:
        self.version += 1
        order = armed.order
        orders = self.armed[order.market_id]
        del orders[order.id]
        if not orders:
            del self.armed[order.market_id]
        if armed.entry_id is not None:
            key = (order.owner, order.market_id, order.margin_mode)
            children = self.by_position[key]
            del children[order.id]
            if not children:
                del self.by_position[key]
            self.forget_bracket_if_done(armed.entry_id)

    def drop_entry(self, entry_id: str) -> None:
        del self.entries[entry_id]
        self.forget_bracket_if_done(entry_id)

    def forget_bracket_if_done(self, entry_id: str) -> None:
        children = self.brackets.get(entry_id)
        if (
            children is not None
            and entry_id not in self.entries
            and all(self.armed_of(c) is None for c in children)
        ):
            del self.brackets[entry_id]
