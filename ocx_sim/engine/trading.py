"""Order commands: place, preview, cancel, modify, cancel-all and the bulk quote ladder.

Every command checks in DECISIONS.md's order (validation 400, lookup 404, then business rules
409/422) and refuses before it changes anything: a refused order is in no list, no ledger
entry and no event. An accepted order is matched (`matching.py`) and the result settled
(`clearing.py`).

Where the docs are silent (docs/fidelity.md): a market order may carry `price` as the worst
price it accepts (inside the band); on option markets, which have no band yet, it must.

An order with `stopPrice`, `takeProfitPrice` or `stopLossPrice` passes the same checks here and
is then handed to `triggers.py`, which keeps it `untriggered` (or watches its fills) and, when
the mark crosses, brings it back through `activate`: the checks again, then matching.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from ocx_sim.engine.accounts import User
from ocx_sim.engine.clearing import Clearing
from ocx_sim.engine.context import Context
from ocx_sim.engine.events import OrderAccepted, OrderModified
from ocx_sim.engine.markets import MarketSpec, Venue
from ocx_sim.engine.matching import MatchResult, crosses, match
from ocx_sim.engine.money import ZERO
from ocx_sim.engine.orders import (
    CancelReason,
    FeeRole,
    Fill,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from ocx_sim.errors import ErrorCode, OcxError, invalid

if TYPE_CHECKING:
    from ocx_sim.engine.triggers import Triggers

MAX_BULK_QUOTES = 50
CLIENT_ORDER_ID_MAX_LENGTH = 64
# Module aliases for the enum members compared on every order: a global read is several times
# cheaper than an enum class-attribute lookup.
_BUY = Side.BUY
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_GTC = TimeInForce.GTC
_FOK = TimeInForce.FOK
_OPEN = OrderStatus.OPEN
_UNTRIGGERED = OrderStatus.UNTRIGGERED


class Placement(NamedTuple):
    """An accepted order as it stands after matching, and the fills it took."""

    order: Order
    fills: list[Fill]


@dataclass(slots=True)
class Ticket:
    """A validated order, ready for the admission checks and the book."""

    request: OrderRequest
    lots: int
    limit_ticks: int
    """The limit price, or for a market order the furthest price it may sweep to."""
    reference_price: Decimal
    """The price its margin or spot lock is computed at."""
    triggered: bool = False
    """It carries a stopPrice, takeProfitPrice or stopLossPrice (`triggers.py` takes it)."""


class Trading:
    """Single orders. Its checks (`validate`, `price_ticket`, `admit`, …) are shared with the
    preview (`preview.py`) and the bulk ladder (`quotes.py`), so all three refuse alike."""

    def __init__(self, ctx: Context, clearing: Clearing) -> None:
        self.ctx = ctx
        self.clearing = clearing
        self.triggers: Triggers | None = None
        """Set by `Triggers` itself when the exchange builds it (it needs this object)."""

    # -- new orders ----------------------------------------------------------------------

    def place_order(self, user_id: str, request: OrderRequest) -> Placement:
        ctx = self.ctx
        now = ctx.clock.now_ms
        user = ctx.user(user_id)
        spec = ctx.market(request.market_id)
        ticket = self.validate(spec, request)
        self.check_tradable(spec, now)
        self.price_ticket(spec, ticket, now)
        if request.client_order_id is not None:
            self.check_client_order_id(user, request.client_order_id)
        if request.reduce_only:
            ctx.risk.check_reduce_only(
                user, spec, request.side, request.quantity, request.margin_mode
            )
        self.admit(user, spec, ticket, now)
        if ticket.triggered:
            assert self.triggers is not None, "trigger orders need a Triggers (exchange.py)"
            return self.triggers.place(user, spec, ticket, now)
        return self.execute(user, spec, ticket, now)

    def validate(self, spec: MarketSpec, request: OrderRequest, prefix: str = "") -> Ticket:
        """Every 400 an order can earn, from the request and its market's terms alone."""
        triggered = (
            request.stop_price is not None
            or request.take_profit_price is not None
            or request.stop_loss_price is not None
        )
        if triggered:
            self.validate_triggers(spec, request, prefix)
        lots = spec.to_lots(request.quantity, prefix + "quantity")
        cid = request.client_order_id
        if cid is not None and not 0 < len(cid) <= CLIENT_ORDER_ID_MAX_LENGTH:
            raise invalid(
                prefix + "clientOrderId", f"must be 1 to {CLIENT_ORDER_ID_MAX_LENGTH} characters"
            )
        if request.reduce_only and spec.is_spot:
            raise invalid(prefix + "reduceOnly", "spot markets have no position to reduce")
        price_ticks = None
        if request.price is not None:
            price_ticks = spec.to_ticks(request.price, prefix + "price")
        if request.type is _LIMIT:
            if price_ticks is None:
                raise invalid(prefix + "price", "is required for limit orders")
        elif request.post_only:
            raise invalid(prefix + "postOnly", "applies to limit orders only")
        elif price_ticks is None and spec.band is None:
            raise invalid(
                prefix + "price",
                "market orders on a market without a price band (options, or a band lifted "
                "by a scenario) need a price: the worst price accepted",
            )

        return Ticket(
            request,
            lots,
            price_ticks if price_ticks is not None else 0,
            request.price if request.price is not None else ZERO,
            triggered,
        )

    @staticmethod
    def validate_triggers(spec: MarketSpec, request: OrderRequest, prefix: str = "") -> None:
        """The 400s of `stopPrice`, `takeProfitPrice` and `stopLossPrice` (DECISIONS.md "Orders
        and matching": stops; docs/fidelity.md "Trigger orders"): each on the tick; TP/SL only
        on an entry that can open a position on a linear market, with the take-profit on the
        profitable side of the stop-loss."""
        if request.stop_price is not None:
            spec.to_ticks(request.stop_price, prefix + "stopPrice")
        tp, sl = request.take_profit_price, request.stop_loss_price
        if tp is None and sl is None:
            return
        name = prefix + ("takeProfitPrice" if tp is not None else "stopLossPrice")
        if spec.is_spot or spec.is_option:
            # Spot has no position; an option exit would be a market order without the
            # worst price option market orders need (validate, above).
            raise invalid(name, "take-profit/stop-loss apply to perpetuals and futures only")
        if request.reduce_only:
            raise invalid(name, "take-profit/stop-loss cannot be attached to a reduce-only order")
        if tp is not None:
            spec.to_ticks(tp, prefix + "takeProfitPrice")
        if sl is not None:
            spec.to_ticks(sl, prefix + "stopLossPrice")
        if tp is not None and sl is not None:
            if request.side is _BUY and not tp > sl:
                raise invalid(name, "must be above stopLossPrice for a buy")
            if request.side is not _BUY and not tp < sl:
                raise invalid(name, "must be below stopLossPrice for a sell")

    def price_ticket(self, spec: MarketSpec, ticket: Ticket, now: int, prefix: str = "") -> None:
        """The checks that need reference prices: 503 without a mark, 422 for a limit price
        outside the band. Sets a market order's sweep limit (the band's edge, or its own
        price if that is nearer) and the price its margin or lock is held at."""
        ctx = self.ctx
        request = ticket.request
        mark, band = ctx.prices.mark_and_band(spec, now)
        if request.type is _LIMIT:
            self.check_band(spec, band, ticket.limit_ticks, prefix)
            return
        is_buy = request.side is _BUY
        limit = ticket.limit_ticks if request.price is not None else None
        if band is not None:
            edge = band[1] if is_buy else band[0]
            nearer = min if is_buy else max
            limit = edge if limit is None else nearer(limit, edge)
        assert limit is not None
        ticket.limit_ticks = limit
        # Margin is held at the mark; a spot bid locks, and an option bid pays, the worst price.
        worst_case = spec.is_option or (spec.is_spot and is_buy)
        ticket.reference_price = spec.price(limit) if worst_case else mark

    @staticmethod
    def check_band(
        spec: MarketSpec, band: tuple[int, int] | None, ticks: int, prefix: str = ""
    ) -> None:
        if band is None or band[0] <= ticks <= band[1]:
            return
        low, high = spec.format_price(spec.price(band[0])), spec.format_price(spec.price(band[1]))
        raise OcxError(
            ErrorCode.PRICE_OUT_OF_BAND,
            f"{prefix}price {spec.format_price(spec.price(ticks))} is outside the band "
            f"{low}–{high}",
            {"field": prefix + "price", "priceBandLow": low, "priceBandHigh": high},
        )

    def check_tradable(self, spec: MarketSpec, now: int) -> None:
        ctx = self.ctx
        if spec.expired_at(now):
            raise OcxError(
                ErrorCode.MARKET_EXPIRED, f"{spec.id} has expired", {"marketId": spec.id}
            )
        if spec.id in ctx.halted:
            raise OcxError(ErrorCode.MARKET_HALTED, f"{spec.id} is halted", {"marketId": spec.id})

    def check_client_order_id(
        self, user: User, cid: str | None, ignore: Collection[str] = ()
    ) -> None:
        if cid is None:
            return
        existing = user.client_order_ids.get(cid)
        if existing is not None and existing.id not in ignore:
            raise OcxError(
                ErrorCode.DUPLICATE_CLIENT_ORDER_ID,
                f"clientOrderId {cid!r} is in use by open order {existing.id}",
                {"orderId": existing.id, "clientOrderId": cid},
            )

    def admit(self, user: User, spec: MarketSpec, ticket: Ticket, now: int) -> None:
        """Margin (422) or, on spot, the inventory to lock (400 INSUFFICIENT_BALANCE)."""
        request = ticket.request
        if spec.is_spot:
            asset, lock = self.clearing.spot_lock(
                spec, request.side, request.quantity, ticket.reference_price
            )
            self.check_spot_available(user, asset, lock)
            return
        if request.reduce_only:
            # It can only shrink a position, which frees more margin than its fee costs.
            return
        price = ticket.reference_price
        required = self.ctx.risk.order_margin(spec, request.side, request.quantity, price, False)
        fee = self.worst_fee(user, spec, request.quantity, price, request.post_only, now)
        self.ctx.risk.approve(user, spec, required, now, fee)

    def worst_fee(
        self,
        user: User,
        spec: MarketSpec,
        quantity: Decimal,
        price: Decimal,
        post_only: bool,
        now: int,
    ) -> Decimal:
        """The most an order's fills could pay in fees: the user's taker rate (the maker rate
        for post-only orders, which never take) at `price`."""
        ctx = self.ctx
        if spec.is_option:
            index = ctx.prices.index(spec.underlying) or price
            role = FeeRole.MAKER if post_only else FeeRole.TAKER
            return ctx.fees.options_for(spec).fee(role, quantity, price, index)
        tier = ctx.fees.tier_of(spec, ctx.volume.volume(user.user_id, now))
        # Not quantized: it only bounds what the fills could cost.
        return quantity * price * (tier.maker_rate if post_only else tier.taker_rate)

    def check_spot_available(self, user: User, asset: str, amount: Decimal) -> None:
        available = self.ctx.risk.spot_available(user, asset)
        if amount > available:
            raise OcxError(
                ErrorCode.INSUFFICIENT_BALANCE,
                f"Order needs {amount} {asset} in the spot bucket; {available} available",
                {"asset": asset, "required": str(amount), "available": str(available)},
            )

    def execute(
        self,
        user: User,
        spec: MarketSpec,
        ticket: Ticket,
        now: int,
        watch: Callable[[Order], None] | None = None,
    ) -> Placement:
        """Match an admitted order, then record it and settle what happened (`watch`, when
        given, sees the recorded order before its fills are settled)."""
        ctx = self.ctx
        request = ticket.request
        order = Order(
            ctx.ids.ulid(now), user.user_id, request, ticket.limit_ticks, ticket.lots, now
        )
        is_limit = request.type is _LIMIT
        result = match(
            ctx.book(spec.id),
            order,
            ticket.limit_ticks,
            rest=is_limit and request.time_in_force is _GTC,
            fok=request.time_in_force is _FOK,
            post_only=request.post_only,
            market=not is_limit,
        )
        self._accept(user, spec, order, request, now)
        if request.reduce_only:
            user.reduce_only_orders[order.id] = order
        if watch is not None:
            watch(order)
        fills = self.clearing.settle(spec, order, result)
        return Placement(order, fills)

    def record_untriggered(
        self, user: User, spec: MarketSpec, request: OrderRequest, lots: int, now: int
    ) -> Order:
        """Create an `untriggered` order: in the user's lists (its clientOrderId taken) and
        the `OrderAccepted` event, but not on the book and holding nothing (docs/fidelity.md
        "Trigger orders": margin is checked at placement, not held)."""
        ctx = self.ctx
        order = Order(ctx.ids.ulid(now), user.user_id, request, 0, lots, now)
        order.status = _UNTRIGGERED
        # Untriggered, it rests nowhere: it stays out of the reduce-only set until it fires.
        self._accept(user, spec, order, request, now)
        return order

    def _accept(
        self, user: User, spec: MarketSpec, order: Order, request: OrderRequest, now: int
    ) -> None:
        """Put a new order in the exchange's and the user's lists (its clientOrderId taken)
        and log `OrderAccepted`, trigger prices included (they decide when a stop fires)."""
        ctx = self.ctx
        ctx.orders[order.id] = order
        user.orders.append(order)
        user.open_orders[order.id] = order
        if request.client_order_id is not None:
            user.client_order_ids[request.client_order_id] = order
        ctx.events.record(
            OrderAccepted,
            now,
            order.id,
            user.user_id,
            spec.id,
            request.side._value_,
            request.type._value_,
            request.price,
            request.quantity,
            request.time_in_force._value_,
            request.post_only,
            request.reduce_only,
            request.margin_mode._value_,
            request.client_order_id,
            request.quote_id,
            request.stop_price,
            request.take_profit_price,
            request.stop_loss_price,
        )

    def activate(self, order: Order) -> tuple[MarketSpec, MatchResult]:
        """Bring a fired `untriggered` order to the market (DECISIONS.md "Wire details": it
        keeps its id and enters the book as its type and price): every check a new order meets
        (halt, expiry, mark, band, reduce-only, margin), then matching. Raises the refusal and
        changes nothing when one fails; else the order is open, matched and ready to settle."""
        ctx = self.ctx
        now = ctx.now
        user = ctx.user(order.owner)
        spec = ctx.market(order.market_id)
        request = _request_of(order)
        price = order.price
        ticket = Ticket(
            request,
            order.lots,
            spec.to_ticks(price) if price is not None else 0,
            price if price is not None else ZERO,
        )
        self.check_tradable(spec, now)
        self.price_ticket(spec, ticket, now)
        if order.reduce_only:
            ctx.risk.check_reduce_only(user, spec, order.side, order.quantity, order.margin_mode)
        self.admit(user, spec, ticket, now)
        is_limit = order.type is _LIMIT
        order.ticks = ticket.limit_ticks
        result = match(
            ctx.book(spec.id),
            order,
            ticket.limit_ticks,
            rest=is_limit and order.time_in_force is _GTC,
            fok=order.time_in_force is _FOK,
            post_only=order.post_only,
            market=not is_limit,
        )
        order.status = _OPEN
        order.updated_at = now
        if order.reduce_only:
            # Only now: an untriggered order rests nowhere, so it is no "other" reduce-only
            # order (Risk.check_reduce_only) and no position change trims it.
            user.reduce_only_orders[order.id] = order
        return spec, result

    def fill_estimate(self, user: User, spec: MarketSpec, ticket: Ticket) -> tuple[int, Decimal]:
        """(lots others would fill, their average price) for a market order, without
        touching the book."""
        book = self.ctx.book(spec.id)
        is_buy = ticket.request.side is _BUY
        wanted, filled, cost = ticket.lots, 0, 0
        for level in book.levels(not is_buy, through=ticket.limit_ticks):
            for resting in level:
                if resting.owner != user.user_id and filled < wanted:
                    lots = min(resting.remaining, wanted - filled)
                    filled += lots
                    cost += lots * level.ticks
            if filled >= wanted:
                break
        if not filled:
            return 0, ZERO
        return filled, spec.tick * Decimal(cost) / filled

    # -- existing orders -----------------------------------------------------------------

    def close_position(
        self,
        user_id: str,
        market_id: str,
        *,
        quantity: Decimal | None = None,
        margin_mode: MarginMode = MarginMode.CROSS,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> Placement:
        """`/perps/positions/close`: a reduce-only order against the position, for all of it
        or `quantity` of it; 404 NOT_FOUND when there is no position to close."""
        ctx = self.ctx
        user = ctx.user(user_id)
        spec = ctx.market(market_id)
        held = user.position(spec.id, margin_mode)
        size = held.size if held is not None else ZERO
        request = OrderRequest(
            market_id=spec.id,
            side=Side.SELL if size > 0 else Side.BUY,
            quantity=quantity if quantity is not None else abs(size) or spec.min_quantity,
            type=order_type,
            price=price,
            time_in_force=time_in_force,
            reduce_only=True,
            margin_mode=margin_mode,
        )
        # Bad input is 400 before the missing position is 404 (DECISIONS.md check order).
        self.validate(spec, request)
        if not size:
            raise OcxError(
                ErrorCode.NOT_FOUND,
                f"No open {margin_mode.value} position in {spec.id}",
                {"marketId": spec.id},
            )
        return self.place_order(user_id, request)

    def cancel_order(self, user_id: str, order_id: str) -> Order:
        """Cancel one open order (works on halted markets too)."""
        user = self.ctx.user(user_id)
        order = self.ctx.users_order(user, order_id)
        self.require_open(order)
        self.clearing.end(order, OrderStatus.CANCELLED, CancelReason.USER)
        return order

    def cancel_all(
        self,
        user_id: str,
        *,
        market_id: str | None = None,
        quote_id: str | None = None,
        client_order_id: str | None = None,
        margin_mode: MarginMode | None = None,
        venues: Collection[Venue] | None = None,
    ) -> list[str]:
        """Cancel the user's open orders that match every given scope; their ids, oldest
        first."""
        ctx = self.ctx
        user = ctx.user(user_id)
        if market_id is not None:
            ctx.market(market_id)
        doomed = [
            o
            for o in user.open_orders.values()
            if (market_id is None or o.market_id == market_id)
            and (quote_id is None or o.quote_id == quote_id)
            and (client_order_id is None or o.client_order_id == client_order_id)
            and (margin_mode is None or o.margin_mode is margin_mode)
            and (venues is None or ctx.catalog.markets[o.market_id].venue in venues)
        ]
        for order in doomed:
            self.clearing.end(order, OrderStatus.CANCELLED, CancelReason.CANCEL_ALL)
        return [o.id for o in doomed]

    def modify_order(
        self,
        user_id: str,
        order_id: str,
        price: Decimal | None = None,
        quantity: Decimal | None = None,
    ) -> Placement:
        """Change a resting order's price and/or total quantity (DECISIONS.md): a smaller
        quantity at the same price keeps its place in the queue; a new price or a larger
        quantity sends it to the back, and a new price that crosses trades at once."""
        if price is None and quantity is None:
            raise invalid("price", "give a new price, a new quantity, or both")
        ctx = self.ctx
        user = ctx.user(user_id)
        order = ctx.users_order(user, order_id)
        spec = ctx.market(order.market_id)
        ticks = spec.to_ticks(price) if price is not None else order.ticks
        lots = spec.to_lots(quantity) if quantity is not None else order.lots
        self.require_open(order)
        if order.status is _UNTRIGGERED:
            raise OcxError(
                ErrorCode.ORDER_NOT_OPEN,
                f"Order {order.id} is untriggered: cancel it and place a new one",
                {"orderId": order.id, "status": order.status.value},
            )
        now = ctx.now
        filled = order.filled_lots
        if lots <= filled:
            raise invalid(
                "quantity",
                f"must exceed the filled quantity {spec.format_quantity(spec.quantity(filled))}",
            )
        self.check_tradable(spec, now)
        new_price = spec.price(ticks)
        if ticks != order.ticks:
            ctx.prices.require_mark(spec, ctx.now)
            self.check_band(spec, ctx.prices.band(spec, ctx.now), ticks)
        remaining = spec.quantity(lots - filled)
        if order.reduce_only:
            ctx.risk.check_reduce_only(
                user, spec, order.side, remaining, order.margin_mode, ignore=(order.id,)
            )
        if spec.is_spot:
            asset, lock = self.clearing.spot_lock(spec, order.side, remaining, new_price)
            self.check_spot_available(user, asset, lock - order.lock)
        elif not order.reduce_only:
            needed = ctx.risk.order_margin(spec, order.side, remaining, new_price, False)
            added = max(ZERO, remaining - spec.quantity(order.remaining))
            fee = self.worst_fee(user, spec, added, new_price, order.post_only, now)
            ctx.risk.approve(user, spec, needed - order.margin, now, fee)
        book = ctx.book(spec.id)
        keeps_priority = ticks == order.ticks and lots <= order.lots
        if not keeps_priority and order.post_only and crosses(book, order.is_buy, ticks):
            raise OcxError(ErrorCode.POST_ONLY_WOULD_TAKE)

        if keeps_priority:
            if lots < order.lots:
                book.reduce(order, order.lots - lots)
            self._resize(order, spec, lots)
            ctx.emit(
                OrderModified, order.id, user.user_id, spec.id, order.price, order.quantity, True
            )
            self.clearing.reserve(user, spec, order)
            return Placement(order, [])
        book.remove(order)
        order.ticks = ticks
        order.price = new_price
        order.lot_margin = None
        order.remaining = lots - filled
        self._resize(order, spec, lots)
        ctx.emit(OrderModified, order.id, user.user_id, spec.id, order.price, order.quantity, False)
        result = match(book, order, ticks, rest=True)
        return Placement(order, self.clearing.settle(spec, order, result))

    def _resize(self, order: Order, spec: MarketSpec, lots: int) -> None:
        order.lots = lots
        order.quantity = spec.quantity(lots)
        order.updated_at = self.ctx.now

    @staticmethod
    def require_open(order: Order) -> None:
        if not order.is_open:
            raise OcxError(
                ErrorCode.ORDER_NOT_OPEN,
                f"Order {order.id} is {order.status.value}",
                {"orderId": order.id, "status": order.status.value},
            )


def _request_of(order: Order) -> OrderRequest:
    """The request an order stands for now (its current quantity), for the checks it meets
    again when it fires."""
    return OrderRequest(
        market_id=order.market_id,
        side=order.side,
        quantity=order.quantity,
        type=order.type,
        price=order.price,
        time_in_force=order.time_in_force,
        post_only=order.post_only,
        reduce_only=order.reduce_only,
        margin_mode=order.margin_mode,
        client_order_id=order.client_order_id,
        stop_price=order.stop_price,
        take_profit_price=order.take_profit_price,
        stop_loss_price=order.stop_loss_price,
        quote_id=order.quote_id,
    )
