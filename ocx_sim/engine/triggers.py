"""Trigger orders: stops, take-profits and stop-losses, fired by the mark.

DECISIONS.md "Orders and matching" and "Wire details" (Stops) give the rules; docs/fidelity.md
"Trigger orders" the choices they leave open:

- A stop order (`stopPrice`) meets every check of a new order at placement (margin included),
  then waits `untriggered`: in the user's lists and cancellable, but off the book and holding no
  margin. A buy stop fires at the first mark ≥ stopPrice, a sell stop at the first mark ≤
  stopPrice, at placement already if the mark crosses then.
- Firing records `OrderTriggered`; the order keeps its id and meets the checks of a new order
  again, then is matched as its type and price (`Trading.activate`). If a check refuses it, it
  ends `cancelled` with reason `trigger_rejected` and nothing else changes.
- `takeProfitPrice`/`stopLossPrice` on an entry: at its first fill, one reduce-only,
  opposite-side market order per price is created `untriggered`, its trigger in `stopPrice`,
  sized to the entry's filled quantity and grown as the entry fills more. A long's take-profit
  fires at mark ≥ TP and its stop-loss at mark ≤ SL (a short's mirrored). When one fires, the
  other is cancelled (`one_cancels_other`); when their position goes flat or flips, by any
  means, they are cancelled (`position_closed`).

`check` is the first of `Context.price_watchers` (a stop-loss may spare its account the
liquidation pass that follows). It fires every crossed order in the order the orders were
created; the untriggered orders are kept per market, so a check with none costs one test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.accounts import User
from ocx_sim.engine.clearing import Clearing
from ocx_sim.engine.context import Context, QuietMarks
from ocx_sim.engine.events import OrderModified, OrderTriggered
from ocx_sim.engine.markets import MarketSpec
from ocx_sim.engine.matching import MatchResult
from ocx_sim.engine.orders import (
    CancelReason,
    Fill,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from ocx_sim.engine.trading import Placement, Ticket, Trading
from ocx_sim.errors import OcxError

_UNTRIGGERED = OrderStatus.UNTRIGGERED
_CANCELLED = OrderStatus.CANCELLED

PositionKey = tuple[str, str, MarginMode]
"""(user id, market id, margin mode): one position."""


@dataclass(slots=True, eq=False)
class Armed:
    """An untriggered order and what fires it."""

    seq: int
    """Creation order: crossed orders fire in this order."""
    order: Order
    trigger: Decimal
    above: bool
    """True: fires at mark ≥ trigger; False: at mark ≤ trigger."""
    entry_id: str | None
    """For a take-profit or stop-loss child, the entry order it protects."""

    def crossed(self, mark: Decimal) -> bool:
        return mark >= self.trigger if self.above else mark <= self.trigger


class Triggers:
    """Keeps the untriggered orders and the TP/SL entries, and fires them when the mark
    crosses. Built by the exchange after `Trading`, which it then serves (`Trading.triggers`)."""

    def __init__(self, ctx: Context, trading: Trading, clearing: Clearing) -> None:
        self._ctx = ctx
        self._trading = trading
        self._clearing = clearing
        trading.triggers = self
        self._armed: dict[str, dict[str, Armed]] = {}
        """market id → order id → its untriggered order, oldest first; no empty markets."""
        self._seq = 0
        self._entries: dict[str, Order] = {}
        """Orders with takeProfitPrice/stopLossPrice whose fills may still arm or grow
        children (terminal ones are dropped when next seen)."""
        self._brackets: dict[str, list[Order]] = {}
        """entry id → its children (take-profit first), once its first fill created them."""
        self._by_position: dict[PositionKey, dict[str, Order]] = {}
        """The untriggered children of each position (they go with it)."""
        self._busy = False
        self._rescan = False
        self._version = 0
        """Changes whenever an order is armed or disarmed."""
        self._quiet: tuple[tuple[int, int], QuietMarks | None] | None = None

    # -- placement -----------------------------------------------------------------------

    def place(self, user: User, spec: MarketSpec, ticket: Ticket, now: int) -> Placement:
        """An admitted order that carries a trigger: a stop waits `untriggered` (firing at
        once if the mark already crosses it); an entry with TP/SL only is placed as usual and
        its fills watched."""
        request = ticket.request
        if request.stop_price is None:
            return self._trading.execute(user, spec, ticket, now, watch=self._watch_entry)
        order = self._trading.record_untriggered(user, spec, request, ticket.lots, now)
        armed = self._arm(order, request.stop_price, order.is_buy, None)
        return Placement(order, self._fire_guarded(armed))

    def _watch_entry(self, order: Order) -> None:
        self._entries[order.id] = order
        self._sync_hook()

    # -- the price watcher ---------------------------------------------------------------

    def check(self) -> None:
        """Fire every untriggered order the marks now cross, oldest first; then again for
        what the firings armed or moved, until nothing more fires."""
        if not self._armed and not self._entries:
            return
        if self._busy:
            # Called back while firing (a fill moved a mark): the loop below looks again.
            self._rescan = True
            return
        self._busy = True
        try:
            self._prune_entries()
            self._rescan = True
            while self._rescan:
                self._rescan = False
                for armed in self._scan():
                    self._fire_if_crossed(armed)
        finally:
            self._busy = False

    def quiet_marks(self) -> QuietMarks | None:
        """Per market with untriggered orders: between the highest fire-on-fall trigger and
        the lowest fire-on-rise one, no order fires. None while `check` has cleaning up to do
        (an order ended elsewhere, a child whose position went). Remembered until an order is
        armed or disarmed or the ledger moves (a position may have gone)."""
        token = (len(self._ctx.ledger), self._version)
        if self._quiet is None or self._quiet[0] != token:
            self._quiet = (token, self._quiet_marks())
        return self._quiet[1]

    def _quiet_marks(self) -> QuietMarks | None:
        quiet = {}
        for market_id, armed_orders in self._armed.items():
            low, high = -math.inf, math.inf
            for armed in armed_orders.values():
                order = armed.order
                if order.status is not _UNTRIGGERED:
                    return None
                if armed.entry_id is not None and self._position_gone(order):
                    return None
                if armed.above:
                    high = min(high, float(armed.trigger))
                else:
                    low = max(low, float(armed.trigger))
            quiet[market_id] = (low, high)
        return quiet

    def _scan(self) -> list[Armed]:
        """The armed orders their market's mark crosses, in creation order. Orders ended
        meanwhile (cancelled) are forgotten, and children whose position is gone cancelled."""
        ctx = self._ctx
        now = ctx.now
        due: list[Armed] = []
        for market_id, armed_orders in list(self._armed.items()):
            mark = ctx.prices.mark(ctx.catalog.markets[market_id], now)
            for armed in list(armed_orders.values()):
                if self._still_waiting(armed) and mark is not None and armed.crossed(mark):
                    due.append(armed)
        due.sort(key=_by_seq)
        return due

    def _still_waiting(self, armed: Armed) -> bool:
        """Is `armed` still untriggered and wanted? Forgets it if it ended elsewhere (user
        cancel, cancel-all, expiry) and cancels a child whose position is gone."""
        order = armed.order
        if order.status is not _UNTRIGGERED:
            self._disarm(armed)
            return False
        if armed.entry_id is not None and self._position_gone(order):
            self._cancel(order, CancelReason.POSITION_CLOSED)
            return False
        return True

    # -- firing --------------------------------------------------------------------------

    def _fire_guarded(self, armed: Armed) -> list[Fill]:
        """Fire `armed` if the mark crosses it, outside a `check` (placement, a fresh child);
        then whatever that firing left due."""
        if self._busy:
            return self._fire_if_crossed(armed)
        self._busy = True
        try:
            fills = self._fire_if_crossed(armed)
        finally:
            self._busy = False
        if self._rescan:
            self.check()
        return fills

    def _fire_if_crossed(self, armed: Armed) -> list[Fill]:
        """Fire `armed` if it is still armed and its market's mark crosses it now (an earlier
        firing may have cancelled it, or moved the mark)."""
        order = armed.order
        if self._armed.get(order.market_id, {}).get(order.id) is not armed:
            return []
        if not self._still_waiting(armed):
            return []
        ctx = self._ctx
        mark = ctx.prices.mark(ctx.catalog.markets[order.market_id], ctx.now)
        if mark is None or not armed.crossed(mark):
            return []
        return self._fire(armed, mark)

    def _fire(self, armed: Armed, mark: Decimal) -> list[Fill]:
        """The order leaves the untriggered set and goes to market as its type and price;
        refused, it is cancelled (`trigger_rejected`) and nothing else changes."""
        order = armed.order
        self._disarm(armed)
        self._ctx.emit(OrderTriggered, order.id, order.owner, order.market_id, mark)
        try:
            spec, result = self._trading.activate(order)
        except OcxError:
            self._clearing.end(order, _CANCELLED, CancelReason.TRIGGER_REJECTED)
            return []
        if armed.entry_id is not None:
            self._cancel_siblings(armed.entry_id, order)
        elif order.take_profit_price is not None or order.stop_loss_price is not None:
            self._watch_entry(order)
        return self._clearing.settle(spec, order, result)

    def _cancel_siblings(self, entry_id: str, fired: Order) -> None:
        """One-cancels-other (DECISIONS.md "Wire details"): the fired child's sibling goes."""
        for child in self._brackets.get(entry_id, []):
            if child is not fired and child.status is _UNTRIGGERED:
                self._cancel(child, CancelReason.ONE_CANCELS_OTHER)

    # -- take-profit / stop-loss upkeep (Clearing.after_settle) --------------------------

    def _after_settle(
        self,
        spec: MarketSpec,
        taker: Order,
        result: MatchResult,
        touched: list[tuple[User, MarginMode]],
    ) -> None:
        """Arm or grow the children of the entries that filled; cancel the children of
        positions the fills closed; fire fresh children the mark already crosses."""
        fresh: list[Armed] = []
        entries = self._entries
        if entries:
            if taker.id in entries:
                self._track(spec, taker, fresh)
            for maker, _, _ in result.fills:
                entry = entries.get(maker.id)
                if entry is not None:
                    self._track(spec, entry, fresh)
        if self._by_position:
            for user, mode in touched:
                self._close_with_position((user.user_id, spec.id, mode))
        for armed in fresh:
            self._fire_guarded(armed)

    def _track(self, spec: MarketSpec, entry: Order, fresh: list[Armed]) -> None:
        filled = entry.filled_lots
        if filled:
            children = self._brackets.get(entry.id)
            if children is None:
                self._brackets[entry.id] = self._open_children(spec, entry, filled, fresh)
            else:
                for child in children:
                    if child.status is _UNTRIGGERED and child.lots < filled:
                        self._grow(spec, child, filled)
        if not entry.is_open:
            self._drop_entry(entry.id)

    def _open_children(
        self, spec: MarketSpec, entry: Order, lots: int, fresh: list[Armed]
    ) -> list[Order]:
        """The entry's TP and/or SL: reduce-only opposite-side market orders for its filled
        quantity, each carrying its trigger in stopPrice and its own parent field copied (so
        a client tells them apart)."""
        ctx = self._ctx
        user = ctx.accounts.by_id[entry.owner]
        children: list[Order] = []
        for tp, sl in ((entry.take_profit_price, None), (None, entry.stop_loss_price)):
            trigger = tp if tp is not None else sl
            if trigger is None:
                continue
            request = OrderRequest(
                market_id=spec.id,
                side=entry.side.opposite,
                quantity=spec.quantity(lots),
                type=OrderType.MARKET,
                reduce_only=True,
                margin_mode=entry.margin_mode,
                stop_price=trigger,
                take_profit_price=tp,
                stop_loss_price=sl,
            )
            child = self._trading.record_untriggered(user, spec, request, lots, ctx.now)
            # A long's take-profit fires on a rise and its stop-loss on a fall; a short's
            # the other way round.
            above = (tp is not None) is entry.is_buy
            fresh.append(self._arm(child, trigger, above, entry.id))
            children.append(child)
        return children

    def _grow(self, spec: MarketSpec, child: Order, lots: int) -> None:
        """Size an untriggered child to its entry's filled quantity (it holds nothing, so
        nothing else changes)."""
        ctx = self._ctx
        child.lots = child.remaining = lots
        child.quantity = spec.quantity(lots)
        child.updated_at = ctx.now
        ctx.emit(OrderModified, child.id, child.owner, spec.id, None, child.quantity, True)

    def _close_with_position(self, key: PositionKey) -> None:
        """Cancel the position's untriggered children if it is flat or flipped."""
        children = self._by_position.get(key)
        if not children:
            return
        for child in list(children.values()):
            armed = self._armed_of(child)
            if armed is not None:
                self._still_waiting(armed)

    def _position_gone(self, child: Order) -> bool:
        """Is the position a reduce-only child would close flat, or on the other side?"""
        user = self._ctx.accounts.by_id[child.owner]
        position = user.position(child.market_id, child.margin_mode)
        size = position.size if position is not None else 0
        return not size or (size > 0) is (child.side is Side.BUY)

    # -- bookkeeping ---------------------------------------------------------------------

    def _arm(self, order: Order, trigger: Decimal, above: bool, entry_id: str | None) -> Armed:
        self._seq += 1
        armed = Armed(self._seq, order, trigger, above, entry_id)
        self._version += 1
        self._armed.setdefault(order.market_id, {})[order.id] = armed
        if entry_id is not None:
            key = (order.owner, order.market_id, order.margin_mode)
            self._by_position.setdefault(key, {})[order.id] = order
            self._sync_hook()
        return armed

    def _armed_of(self, order: Order) -> Armed | None:
        return self._armed.get(order.market_id, {}).get(order.id)

    def _disarm(self, armed: Armed) -> None:
        self._version += 1
        order = armed.order
        orders = self._armed[order.market_id]
        del orders[order.id]
        if not orders:
            del self._armed[order.market_id]
        if armed.entry_id is not None:
            key = (order.owner, order.market_id, order.margin_mode)
            children = self._by_position[key]
            del children[order.id]
            if not children:
                del self._by_position[key]
            self._forget_bracket_if_done(armed.entry_id)
            self._sync_hook()

    def _cancel(self, order: Order, reason: CancelReason) -> None:
        armed = self._armed_of(order)
        if armed is not None:
            self._disarm(armed)
        self._clearing.end(order, _CANCELLED, reason)

    def _prune_entries(self) -> None:
        """Forget entries that ended without a fill we saw (cancelled, expired)."""
        for entry_id in [i for i, e in self._entries.items() if not e.is_open]:
            self._drop_entry(entry_id)

    def _drop_entry(self, entry_id: str) -> None:
        del self._entries[entry_id]
        self._forget_bracket_if_done(entry_id)
        self._sync_hook()

    def _forget_bracket_if_done(self, entry_id: str) -> None:
        children = self._brackets.get(entry_id)
        if (
            children is not None
            and entry_id not in self._entries
            and all(self._armed_of(c) is None for c in children)
        ):
            del self._brackets[entry_id]

    def _sync_hook(self) -> None:
        """Clearing calls back after a settle only while there is something to look after."""
        wanted = bool(self._entries or self._by_position)
        self._clearing.after_settle = self._after_settle if wanted else None


def _by_seq(armed: Armed) -> int:
    return armed.seq
