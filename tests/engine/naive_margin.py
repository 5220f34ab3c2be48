"""The open-order margin rule written the plain way, for the state machines to check the
engine's ladders against (docs/fidelity.md "Fees and risk"): per market and margin mode, the
position absorbs the resting orders on its closing side, the best price first, and only the
rest holds price × quantity / maxLeverage. Reduce-only orders hold nothing."""

from __future__ import annotations

from decimal import Decimal

from ocx_sim import Exchange, MarginMode, Side


def naive_order_margin(exchange: Exchange, user: str, market_id: str) -> Decimal:
    """What `user`'s resting orders on the linear market `market_id` hold, all margin modes."""
    spec = exchange.market(market_id)
    by_mode: dict[MarginMode, list[tuple[Side, Decimal, Decimal]]] = {}
    for order in exchange.open_orders(user):
        if order.market_id != market_id or order.reduce_only or order.level is None:
            continue
        assert order.price is not None
        by_mode.setdefault(order.margin_mode, []).append(
            (order.side, order.price, spec.quantity(order.remaining))
        )
    margin = Decimal(0)
    for mode, orders in by_mode.items():
        held = exchange.position(user, market_id, mode)
        position = held.size if held is not None else Decimal(0)
        margin += _ladder_margin(orders, position) / spec.max_leverage
    return margin


def _ladder_margin(orders: list[tuple[Side, Decimal, Decimal]], position: Decimal) -> Decimal:
    closing = Side.SELL if position > 0 else Side.BUY
    # The closing side's best price first: the lowest ask, the highest bid.
    ordered = sorted(orders, key=lambda o: o[1] if closing is Side.SELL else -o[1])
    left = abs(position)
    notional = Decimal(0)
    for side, price, quantity in ordered:
        if side is closing and left:
            absorbed = min(quantity, left)
            left -= absorbed
            quantity -= absorbed
        notional += quantity * price
    return notional
