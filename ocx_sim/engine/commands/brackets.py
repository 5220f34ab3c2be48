"""Arming untriggered orders, and the take-profit/stop-loss bookkeeping of every settle.

docs/fidelity.md "Trigger orders":
- a stop order is armed at placement and waits `untriggered` for its mark;
- an entry that carries `takeProfitPrice`/`stopLossPrice` is watched: at its first fill one
  reduce-only, opposite-side market order per price is created `untriggered` for the filled
  quantity, or the position if that is smaller (each with its trigger in `stopPrice` and its
  own parent field copied, so a client tells them apart), and as the entry fills more they
  grow to match (`OrderModified`); like any reduce-only order they are trimmed when the
  position shrinks (settlement.py) and close no more than the position when they fire;
- untriggered children go with their position: when a fill leaves it flat or flipped they are
  cancelled (`position_closed`).

The records are kept in `state.triggers` (core/trigger_book.py). Firing is execution.py's
(a stop or child the mark already crosses when armed fires at once) and the price watcher's
(reactions/triggers.py).
"""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.engine.commands import records
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.matching import MatchResult
from ocx_sim.engine.core.money import ZERO
from ocx_sim.engine.core.orders import (
    CancelReason,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from ocx_sim.engine.core.trigger_book import Armed, PositionKey
from ocx_sim.engine.state import State

_UNTRIGGERED = OrderStatus.UNTRIGGERED
_CANCELLED = OrderStatus.CANCELLED


def arm_stop(state: State, order: Order, stop_price: Decimal) -> Armed:
    """Arm an accepted `untriggered` stop: a buy fires at mark ≥ stopPrice, a sell at ≤."""
    return state.triggers.arm(order, stop_price, order.is_buy, None)


def watch_entry(state: State, order: Order) -> None:
    """Follow the fills of an order with take-profit/stop-loss prices (before they settle)."""
    state.triggers.entries[order.id] = order


def after_fills(
    state: State,
    spec: MarketSpec,
    taker: Order,
    result: MatchResult,
    touched: list[tuple[User, MarginMode]],
) -> list[Armed]:
    """Arm or grow the children of the entries that filled; cancel the children of positions
    the fills closed. Returns the children armed now."""
    book = state.triggers
    fresh: list[Armed] = []
    entries = book.entries
    if entries:
        if taker.id in entries:
            _track(state, spec, taker, fresh)
        for maker, _, _ in result.fills:
            entry = entries.get(maker.id)
            if entry is not None:
                _track(state, spec, entry, fresh)
    if book.by_position:
        for user, mode in touched:
            _close_with_position(state, (user.user_id, spec.id, mode))
    return fresh


def still_waiting(state: State, armed: Armed) -> bool:
    """Is `armed` still untriggered and wanted? Forgets it if it ended elsewhere (user cancel,
    cancel-all, expiry, liquidation) and cancels a child whose position is gone."""
    order = armed.order
    if order.status is not _UNTRIGGERED:
        state.triggers.disarm(armed)
        return False
    if armed.entry_id is not None and position_gone(state, order):
        cancel(state, order, CancelReason.POSITION_CLOSED)
        return False
    return True


def position_gone(state: State, child: Order) -> bool:
    """Is the position a reduce-only child would close flat, or on the other side?"""
    user = state.accounts.by_id[child.owner]
    position = user.position(child.market_id, child.margin_mode)
    size = position.size if position is not None else 0
    return not size or (size > 0) is (child.side is Side.BUY)


def cancel(state: State, order: Order, reason: CancelReason) -> None:
    armed = state.triggers.armed_of(order)
    if armed is not None:
        state.triggers.disarm(armed)
    records.end(state, order, _CANCELLED, reason)


def cancel_siblings(state: State, entry_id: str, fired: Order) -> None:
    """One-cancels-other: the fired child's sibling goes (docs/fidelity.md "Trigger orders")."""
    for child in state.triggers.brackets.get(entry_id, []):
        if child is not fired and child.status is _UNTRIGGERED:
            cancel(state, child, CancelReason.ONE_CANCELS_OTHER)


def prune_entries(state: State) -> None:
    """Forget entries that ended without a fill seen here (cancelled, expired)."""
    book = state.triggers
    for entry_id in [i for i, e in book.entries.items() if not e.is_open]:
        book.drop_entry(entry_id)


def _track(state: State, spec: MarketSpec, entry: Order, fresh: list[Armed]) -> None:
    book = state.triggers
    # The children close the entry's filled quantity, but never more than the position they
    # find (an entry that first closed an opposite position opened less than it filled).
    lots = min(entry.filled_lots, _position_lots(state, entry))
    if lots:
        children = book.brackets.get(entry.id)
        if children is None:
            book.brackets[entry.id] = _open_children(state, spec, entry, lots, fresh)
        else:
            for child in children:
                if child.status is _UNTRIGGERED and child.lots < lots:
                    _grow(state, spec, child, lots)
    if not entry.is_open:
        book.drop_entry(entry.id)


def _position_lots(state: State, entry: Order) -> int:
    """The lots of the entry owner's position on the entry's side (0 when flat or opposite)."""
    user = state.accounts.by_id[entry.owner]
    position = user.position(entry.market_id, entry.margin_mode)
    size = position.size if position is not None else ZERO
    if not size or (size > 0) is not entry.is_buy:
        return 0
    spec = state.catalog.markets[entry.market_id]
    return int(abs(size) / spec.step)


def _open_children(
    state: State, spec: MarketSpec, entry: Order, lots: int, fresh: list[Armed]
) -> list[Order]:
    """The entry's TP and/or SL, sized to its filled quantity (module docstring)."""
    user = state.accounts.by_id[entry.owner]
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
        child = records.accept_untriggered(state, user, spec, request, lots, state.now)
        # A long's take-profit fires on a rise and its stop-loss on a fall; a short's the
        # other way round.
        above = (tp is not None) is entry.is_buy
        fresh.append(state.triggers.arm(child, trigger, above, entry.id))
        children.append(child)
    return children


def _grow(state: State, spec: MarketSpec, child: Order, lots: int) -> None:
    """Size an untriggered child to its entry's filled quantity (it holds nothing, so nothing
    else changes)."""
    child.lots = child.remaining = lots
    child.quantity = spec.quantity(lots)
    child.updated_at = state.now
    records.order_modified(state, spec, child, price=None, priority_kept=True)


def _close_with_position(state: State, key: PositionKey) -> None:
    """Cancel the position's untriggered children if it is flat or flipped."""
    children = state.triggers.by_position.get(key)
    if not children:
        return
    for child in list(children.values()):
        armed = state.triggers.armed_of(child)
        if armed is not None:
            still_waiting(state, armed)
