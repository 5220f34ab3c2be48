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
(that sum less what the position absorbs) × tick × step / maxLeverage, integers until the last
step. A position at least as large as its closing side absorbs all of it (no walk); a smaller
one walks the closing side from its best level until it is covered.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.money import ZERO


@dataclass(slots=True, eq=False)
class Ladder:
    unit: Decimal
    """The margin of one tick × lot: its market's tick × step / maxLeverage."""
    step: Decimal
    bids: dict[int, int] = field(default_factory=dict)
    """Ticks → the lots resting there."""
    asks: dict[int, int] = field(default_factory=dict)
    bid_prices: list[int] = field(default_factory=list)
    """The bids' ticks, ascending (kept with `bisect`: a level is added or removed far less
    often than its lots change)."""
    ask_prices: list[int] = field(default_factory=list)
    bid_lots: int = 0
    ask_lots: int = 0
    bid_notional: int = 0
    """Σ ticks × lots over the bids."""
    ask_notional: int = 0
    held: Decimal = ZERO
    """The margin the ladder held when last worked out (`Risk.open_order_margin`)."""
    size: Decimal = ZERO
    """The position it was worked out against, and that in lots."""
    position_lots: int = 0
    dirty: bool = False
    """Changed since then."""

    @classmethod
    def of(cls, spec: MarketSpec) -> Ladder:
        return cls(spec.tick * spec.step / spec.max_leverage, spec.step)

    def add(self, is_buy: bool, ticks: int, lots: int) -> None:
        """Add `lots` (negative: remove them) at `ticks`."""
        if is_buy:
            levels, prices = self.bids, self.bid_prices
            self.bid_lots += lots
            self.bid_notional += ticks * lots
        else:
            levels, prices = self.asks, self.ask_prices
            self.ask_lots += lots
            self.ask_notional += ticks * lots
        held = levels.get(ticks)
        if held is None:
            levels[ticks] = lots
            insort(prices, ticks)
        elif held + lots:
            levels[ticks] = held + lots
        else:
            del levels[ticks]
            del prices[bisect_left(prices, ticks)]
        self.dirty = True

    def copy(self) -> Ladder:
        return Ladder(
            self.unit,
            self.step,
            self.bids.copy(),
            self.asks.copy(),
            self.bid_prices.copy(),
            self.ask_prices.copy(),
            self.bid_lots,
            self.ask_lots,
            self.bid_notional,
            self.ask_notional,
            dirty=True,
        )

    @property
    def empty(self) -> bool:
        return not self.bids and not self.asks

    def margin(self, position: Decimal) -> Decimal:
        """What the ladder holds next to a position of `position` (signed)."""
        return self.margin_at(int(position / self.step) if position else 0)

    def margin_at(self, position_lots: int) -> Decimal:
        """What the ladder holds next to a position of `position_lots` (signed: a long one
        absorbs asks, a short one bids): Σ ticks × lots of what it does not absorb (module
        docstring) × `unit`."""
        notional = self.bid_notional + self.ask_notional
        if position_lots:
            if position_lots < 0:
                capacity, closing, levels = -position_lots, self.bid_lots, self.bids
                prices: Iterable[int] = reversed(self.bid_prices)  # the highest bid first
            else:
                capacity, closing, levels = position_lots, self.ask_lots, self.asks
                prices = self.ask_prices  # the lowest ask first
            if capacity >= closing:
                notional -= self.bid_notional if position_lots < 0 else self.ask_notional
            else:
                for ticks in prices:
                    lots = levels[ticks]
                    if lots >= capacity:
                        notional -= capacity * ticks
                        break
                    notional -= lots * ticks
                    capacity -= lots
        return self.unit * notional if notional else ZERO


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
