"""Open-order margin on a linear market: only what would increase the position pays.

docs/fidelity.md "Fees and risk", as Binance, Bybit and Deribit net open orders: the position
absorbs the user's resting orders on its closing side in price priority (the best price first,
as they would fill; at one price, the older first). Those lots would shrink the position, so
they hold nothing; the rest (the closing side beyond the position, the other side whole) holds
price × quantity / maxLeverage. Reduce-only orders hold nothing and absorb nothing: they can
only shrink the position, and are trimmed to it.

A new order comes after the resting ones: its increasing part is what the position has left
once they have absorbed their share (`increasing_lots`), so an order that only closes needs no
margin (and no fee room), whatever the account's margin usage.

A `Ladder` keeps one user's resting orders on one market and margin mode that are not
reduce-only, as lots per price level, with Σ lots and Σ ticks × lots per side: the margin is
tick × step × (that sum less what the position absorbs) / maxLeverage, integers until the last
step. Working out what the position absorbs walks the closing side from its best level until
the position is covered, so it costs the levels within the position's size, not the whole
ladder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sortedcontainers import SortedDict

from ocx_sim.engine.core.money import ZERO


@dataclass(slots=True, eq=False)
class Ladder:
    bids: SortedDict = field(default_factory=SortedDict)
    """Ticks → the lots resting there."""
    asks: SortedDict = field(default_factory=SortedDict)
    bid_lots: int = 0
    ask_lots: int = 0
    bid_notional: int = 0
    """Σ ticks × lots over the bids."""
    ask_notional: int = 0
    held: Decimal = ZERO
    """The margin the ladder held when last worked out (`Risk.open_order_margin`)."""
    size: Decimal = ZERO
    """The position it was worked out against."""
    dirty: bool = False
    """Changed since then."""

    def add(self, is_buy: bool, ticks: int, lots: int) -> None:
        """Add `lots` (negative: remove them) at `ticks`."""
        levels = self.bids if is_buy else self.asks
        left = levels.get(ticks, 0) + lots
        if left:
            levels[ticks] = left
        else:
            del levels[ticks]
        if is_buy:
            self.bid_lots += lots
            self.bid_notional += ticks * lots
        else:
            self.ask_lots += lots
            self.ask_notional += ticks * lots
        self.dirty = True

    def copy(self) -> Ladder:
        return Ladder(
            self.bids.copy(),
            self.asks.copy(),
            self.bid_lots,
            self.ask_lots,
            self.bid_notional,
            self.ask_notional,
            dirty=True,
        )

    @property
    def empty(self) -> bool:
        return not self.bids and not self.asks

    def unabsorbed(self, position_lots: int) -> int:
        """Σ ticks × lots of what `position_lots` (signed: a long position absorbs asks, a
        short one bids) does not absorb (module docstring)."""
        total = self.bid_notional + self.ask_notional
        if not position_lots:
            return total
        capacity = abs(position_lots)
        # The closing side from its best price: the lowest ask, the highest bid.
        levels = reversed(self.bids.items()) if position_lots < 0 else self.asks.items()
        for ticks, lots in levels:
            taken = min(lots, capacity)
            total -= taken * ticks
            capacity -= taken
            if not capacity:
                break
        return total


def increasing_lots(capacity: int, orders: Iterable[tuple[tuple[int, int], int]]) -> list[int]:
    """Each new order's increasing lots, for new orders on the closing side given as (their
    priority, lots), when the position has `capacity` lots left to absorb: they absorb it in
    priority order (the lower first: the better price, then the earlier). The answer is in
    the orders' given order."""
    orders = list(orders)
    increasing = [lots for _, lots in orders]
    for i in sorted(range(len(orders)), key=lambda i: orders[i][0]):
        if not capacity:
            break
        taken = min(increasing[i], capacity)
        increasing[i] -= taken
        capacity -= taken
    return increasing
