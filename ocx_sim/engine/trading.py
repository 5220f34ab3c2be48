"""Order commands: place, preview, cancel, modify, cancel-all and the bulk quote ladder.

Every command checks in DECISIONS.md's order (validation 400, lookup 404, then business rules
409/422) and refuses before it changes anything: a refused order is in no list, no ledger
entry and no event. An accepted order is matched (`matching.py`) and the result settled
(`clearing.py`).

Where the docs are silent (docs/fidelity.md): a market order may carry `price` as the worst
price it accepts (inside the band); on option markets, which have no band yet, it must.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from ocx_sim.engine.accounts import User
from ocx_sim.engine.book import Book
from ocx_sim.engine.clearing import Clearing
from ocx_sim.engine.context import Context
from ocx_sim.engine.events import OrderAccepted, OrderModified
from ocx_sim.engine.markets import MarketSpec, Venue
from ocx_sim.engine.matching import crosses, match
from ocx_sim.engine.money import USDC, ZERO, bps_of
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

MAX_BULK_QUOTES = 50
CLIENT_ORDER_ID_MAX_LENGTH = 64
# Module aliases for the enum members compared on every order: a global read is several times
# cheaper than an enum class-attribute lookup.
_BUY = Side.BUY
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_GTC = TimeInForce.GTC
_FOK = TimeInForce.FOK


class Placement(NamedTuple):
    """An accepted order as it stands after matching, and the fills it took."""

    order: Order
    fills: list[Fill]


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """One rung of a bulk quote ladder (`/perps/quotes/bulk`, `quotes[]`)."""

    side: Side
    price: Decimal
    quantity: Decimal
    client_order_id: str | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    margin_mode: MarginMode = MarginMode.CROSS


@dataclass(frozen=True, slots=True)
class QuotesResult:
    quote_id: str
    cancelled: list[str]
    orders: list[Order]


@dataclass(frozen=True, slots=True)
class Preview:
    """`/perps/orders/preview`: what the order would cost, with no side effects."""

    notional: Decimal
    margin_required: Decimal
    est_fee: Decimal
    fee_bps: Decimal
    fee_role: FeeRole
    user_30d_volume: Decimal
    approved: bool
    reason: str | None = None
    reason_code: str | None = None


@dataclass(slots=True)
class _Ticket:
    """A validated order, ready for the admission checks and the book."""

    request: OrderRequest
    lots: int
    limit_ticks: int
    """The limit price, or for a market order the furthest price it may sweep to."""
    reference_price: Decimal
    """The price its margin or spot lock is computed at."""


class Trading:
    def __init__(self, ctx: Context, clearing: Clearing) -> None:
        self._ctx = ctx
        self._clearing = clearing

    # -- new orders ----------------------------------------------------------------------

    def place_order(self, user_id: str, request: OrderRequest) -> Placement:
        ctx = self._ctx
        now = ctx.clock.now_ms
        user = ctx.user(user_id)
        spec = ctx.market(request.market_id)
        ticket = self._validate(spec, request)
        self._tradable(spec, now)
        self._price(spec, ticket, now)
        if request.client_order_id is not None:
            self._check_client_order_id(user, request.client_order_id)
        if request.reduce_only:
            ctx.risk.check_reduce_only(
                user, spec, request.side, request.quantity, request.margin_mode
            )
        self._admit(user, spec, ticket, now)
        return self._execute(user, spec, ticket, now)

    def preview_order(self, user_id: str, request: OrderRequest) -> Preview:
        """Price the order and run every check an order would meet, changing nothing.
        Bad input still answers 400 and an unknown market 404; a business refusal comes
        back as `approved: false` with its reason."""
        ctx = self._ctx
        user = ctx.user(user_id)
        spec = ctx.market(request.market_id)
        ticket = self._validate(spec, request)
        book = ctx.book(spec.id)
        is_buy = request.side is _BUY
        approved, reason, reason_code = True, None, None
        priced = False
        try:
            self._tradable(spec, ctx.now)
            self._price(spec, ticket, ctx.now)
            priced = True
            self._check_client_order_id(user, request.client_order_id)
            if request.reduce_only:
                ctx.risk.check_reduce_only(
                    user, spec, request.side, request.quantity, request.margin_mode
                )
            self._admit(user, spec, ticket, ctx.now)
            if request.post_only and crosses(book, is_buy, ticket.limit_ticks):
                raise OcxError(ErrorCode.POST_ONLY_WOULD_TAKE)
            if request.type is _MARKET and not self._fill_estimate(user, spec, ticket)[0]:
                raise OcxError(ErrorCode.NO_LIQUIDITY)
        except OcxError as refusal:
            if refusal.code is ErrorCode.VALIDATION_ERROR or refusal.status == 404:
                raise
            approved, reason, reason_code = False, refusal.message, refusal.code.value

        takes = request.type is _MARKET or (
            not request.post_only and priced and crosses(book, is_buy, ticket.limit_ticks)
        )
        role = FeeRole.TAKER if takes else FeeRole.MAKER
        # Margin (or a spot lock) is held at the ticket's price; notional and fee are what the
        # order would trade at: its limit, or for a market order the book's average within
        # reach (the mark when there is nothing to estimate from).
        held_at = price = ticket.reference_price
        if request.type is _MARKET and priced:
            filled, estimate = self._fill_estimate(user, spec, ticket)
            if filled:
                price = estimate
        notional = price * request.quantity
        volume = ctx.volume.volume(user.user_id, ctx.now)
        if spec.is_option:
            fee_bps = ctx.fees.options.bps(role)
            index = ctx.prices.index(spec.underlying) or price
            est_fee = ctx.fees.options.fee(role, request.quantity, price, index)
        else:
            fee_bps = ctx.fees.tier_for(volume).bps(role)
            est_fee = bps_of(notional, fee_bps)
        if spec.is_spot:
            margin = self._clearing.spot_lock(spec, request.side, request.quantity, held_at)[1]
            margin = margin if request.side is _BUY else ZERO
        else:
            margin = ctx.risk.order_margin(
                spec, request.side, request.quantity, held_at, request.reduce_only
            )
        return Preview(
            notional=notional,
            margin_required=margin,
            est_fee=est_fee,
            fee_bps=fee_bps,
            fee_role=role,
            user_30d_volume=volume,
            approved=approved,
            reason=reason,
            reason_code=reason_code,
        )

    def _validate(self, spec: MarketSpec, request: OrderRequest, prefix: str = "") -> _Ticket:
        """Every 400 an order can earn, from the request and its market's terms alone."""
        for name, value in (
            ("stopPrice", request.stop_price),
            ("takeProfitPrice", request.take_profit_price),
            ("stopLossPrice", request.stop_loss_price),
        ):
            if value is not None:
                raise invalid(
                    prefix + name,
                    "stop, take-profit and stop-loss orders are not supported by this version "
                    "of ocx-sim (see the README's status table)",
                )
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
                "market orders on option markets need a price: the worst premium accepted",
            )

        return _Ticket(
            request,
            lots,
            price_ticks if price_ticks is not None else 0,
            request.price if request.price is not None else ZERO,
        )

    def _price(self, spec: MarketSpec, ticket: _Ticket, now: int, prefix: str = "") -> None:
        """The checks that need reference prices: 503 without a mark, 422 for a limit price
        outside the band. Sets a market order's sweep limit (the band's edge, or its own
        price if that is nearer) and the price its margin or lock is held at."""
        ctx = self._ctx
        request = ticket.request
        mark, band = ctx.prices.mark_and_band(spec, now)
        if request.type is _LIMIT:
            self._check_band(spec, band, ticket.limit_ticks, prefix)
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
    def _check_band(
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

    def _tradable(self, spec: MarketSpec, now: int) -> None:
        ctx = self._ctx
        if spec.expired_at(now):
            raise OcxError(
                ErrorCode.MARKET_EXPIRED, f"{spec.id} has expired", {"marketId": spec.id}
            )
        if spec.id in ctx.halted:
            raise OcxError(ErrorCode.MARKET_HALTED, f"{spec.id} is halted", {"marketId": spec.id})

    def _check_client_order_id(
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

    def _admit(self, user: User, spec: MarketSpec, ticket: _Ticket, now: int) -> None:
        """Margin (422) or, on spot, the inventory to lock (400 INSUFFICIENT_BALANCE)."""
        request = ticket.request
        if spec.is_spot:
            asset, lock = self._clearing.spot_lock(
                spec, request.side, request.quantity, ticket.reference_price
            )
            self._check_spot_available(user, asset, lock)
            return
        if request.reduce_only:
            # It can only shrink a position, which frees more margin than its fee costs.
            return
        price = ticket.reference_price
        required = self._ctx.risk.order_margin(spec, request.side, request.quantity, price, False)
        fee = self._worst_fee(user, spec, request.quantity, price, request.post_only, now)
        self._ctx.risk.approve(user, spec, required, now, fee)

    def _worst_fee(
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
        ctx = self._ctx
        if spec.is_option:
            index = ctx.prices.index(spec.underlying) or price
            role = FeeRole.MAKER if post_only else FeeRole.TAKER
            return ctx.fees.options.fee(role, quantity, price, index)
        tier = ctx.fees.tier_for(ctx.volume.volume(user.user_id, now))
        # Not quantized: it only bounds what the fills could cost.
        return quantity * price * (tier.maker_rate if post_only else tier.taker_rate)

    def _check_spot_available(self, user: User, asset: str, amount: Decimal) -> None:
        available = self._ctx.risk.spot_available(user, asset)
        if amount > available:
            raise OcxError(
                ErrorCode.INSUFFICIENT_BALANCE,
                f"Order needs {amount} {asset} in the spot bucket; {available} available",
                {"asset": asset, "required": str(amount), "available": str(available)},
            )

    def _execute(self, user: User, spec: MarketSpec, ticket: _Ticket, now: int) -> Placement:
        """Match an admitted order, then record it and settle what happened."""
        ctx = self._ctx
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
        ctx.orders[order.id] = order
        user.orders.append(order)
        user.open_orders[order.id] = order
        if request.reduce_only:
            user.reduce_only_orders[order.id] = order
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
        )
        fills = self._clearing.settle(spec, order, result)
        return Placement(order, fills)

    def _fill_estimate(self, user: User, spec: MarketSpec, ticket: _Ticket) -> tuple[int, Decimal]:
        """(lots others would fill, their average price) for a market order, without
        touching the book."""
        book = self._ctx.book(spec.id)
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

    def cancel_order(self, user_id: str, order_id: str) -> Order:
        """Cancel one open order (works on halted markets too)."""
        user = self._ctx.user(user_id)
        order = self._ctx.users_order(user, order_id)
        self._require_open(order)
        self._clearing.end(order, OrderStatus.CANCELLED, CancelReason.USER)
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
        ctx = self._ctx
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
            self._clearing.end(order, OrderStatus.CANCELLED, CancelReason.CANCEL_ALL)
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
        ctx = self._ctx
        user = ctx.user(user_id)
        order = ctx.users_order(user, order_id)
        if price is None and quantity is None:
            raise invalid("price", "give a new price, a new quantity, or both")
        spec = ctx.market(order.market_id)
        ticks = spec.to_ticks(price) if price is not None else order.ticks
        lots = spec.to_lots(quantity) if quantity is not None else order.lots
        self._require_open(order)
        now = ctx.now
        filled = order.filled_lots
        if lots <= filled:
            raise invalid(
                "quantity",
                f"must exceed the filled quantity {spec.format_quantity(spec.quantity(filled))}",
            )
        self._tradable(spec, now)
        new_price = spec.price(ticks)
        if ticks != order.ticks:
            ctx.prices.require_mark(spec, ctx.now)
            self._check_band(spec, ctx.prices.band(spec, ctx.now), ticks)
        remaining = spec.quantity(lots - filled)
        if order.reduce_only:
            ctx.risk.check_reduce_only(
                user, spec, order.side, remaining, order.margin_mode, ignore=(order.id,)
            )
        if spec.is_spot:
            asset, lock = self._clearing.spot_lock(spec, order.side, remaining, new_price)
            self._check_spot_available(user, asset, lock - order.lock)
        elif not order.reduce_only:
            needed = ctx.risk.order_margin(spec, order.side, remaining, new_price, False)
            added = max(ZERO, remaining - spec.quantity(order.remaining))
            fee = self._worst_fee(user, spec, added, new_price, order.post_only, now)
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
            self._clearing.reserve(user, spec, order)
            return Placement(order, [])
        book.remove(order)
        order.ticks = ticks
        order.price = new_price
        order.lot_margin = None
        order.remaining = lots - filled
        self._resize(order, spec, lots)
        ctx.emit(OrderModified, order.id, user.user_id, spec.id, order.price, order.quantity, False)
        result = match(book, order, ticks, rest=True)
        return Placement(order, self._clearing.settle(spec, order, result))

    def _resize(self, order: Order, spec: MarketSpec, lots: int) -> None:
        order.lots = lots
        order.quantity = spec.quantity(lots)
        order.updated_at = self._ctx.now

    @staticmethod
    def _require_open(order: Order) -> None:
        if not order.is_open:
            raise OcxError(
                ErrorCode.ORDER_NOT_OPEN,
                f"Order {order.id} is {order.status.value}",
                {"orderId": order.id, "status": order.status.value},
            )

    # -- the bulk ladder -----------------------------------------------------------------

    def place_quotes(
        self,
        user_id: str,
        market_id: str,
        quotes: Sequence[QuoteRequest],
        *,
        quote_id: str | None = None,
        cancel_all: bool = False,
    ) -> QuotesResult:
        """Place a ladder atomically (DECISIONS.md "Quotes"): the whole set is checked first
        and, if any quote fails, nothing changes (the error names `quotes[i]`). With
        `cancel_all` the user's open orders on the market are cancelled, then the set placed."""
        ctx = self._ctx
        user = ctx.user(user_id)
        spec = ctx.market(market_id)
        if len(quotes) > MAX_BULK_QUOTES:
            raise invalid("quotes", f"at most {MAX_BULK_QUOTES} quotes per call, got {len(quotes)}")
        tag = quote_id if quote_id is not None else ctx.ids.ulid()
        tickets = [
            self._validate(spec, _quote_order(market_id, q, tag), prefix=f"quotes[{i}].")
            for i, q in enumerate(quotes)
        ]
        now = ctx.now
        self._tradable(spec, now)
        for i, ticket in enumerate(tickets):
            self._price(spec, ticket, now, prefix=f"quotes[{i}].")
        doomed = (
            [o for o in user.open_orders.values() if o.market_id == market_id] if cancel_all else []
        )
        self._admit_ladder(user, spec, tickets, doomed, now)

        for order in doomed:
            self._clearing.end(order, OrderStatus.CANCELLED, CancelReason.QUOTE_REPLACED)
        orders = [self._execute(user, spec, ticket, now).order for ticket in tickets]
        return QuotesResult(tag, [o.id for o in doomed], orders)

    def _admit_ladder(
        self,
        user: User,
        spec: MarketSpec,
        tickets: list[_Ticket],
        doomed: list[Order],
        now: int,
    ) -> None:
        """The single-order checks, applied to the set as a whole on the book as it will be
        once `doomed` is cancelled."""
        ctx = self._ctx
        doomed_ids = {o.id for o in doomed}
        seen: dict[str, int] = {}
        for i, ticket in enumerate(tickets):
            cid = ticket.request.client_order_id
            if cid is None:
                continue
            if cid in seen:
                raise OcxError(
                    ErrorCode.DUPLICATE_CLIENT_ORDER_ID,
                    f"quotes[{i}].clientOrderId repeats quotes[{seen[cid]}]",
                    {"field": f"quotes[{i}].clientOrderId"},
                )
            seen[cid] = i
            self._check_client_order_id(user, cid, doomed_ids)

        best_bid: tuple[int, int] | None = None
        best_ask: tuple[int, int] | None = None
        book = ctx.book(spec.id)
        for i, ticket in enumerate(tickets):
            request = ticket.request
            ticks = ticket.limit_ticks
            if request.side is _BUY:
                if best_ask is not None and ticks >= best_ask[0]:
                    raise _self_cross(i, best_ask[1])
                best_bid = max(best_bid or (ticks, i), (ticks, i))
            else:
                if best_bid is not None and ticks <= best_bid[0]:
                    raise _self_cross(i, best_bid[1])
                best_ask = min(best_ask or (ticks, i), (ticks, i))
            if request.post_only and _crosses_excluding(
                book, request.side is _BUY, ticks, doomed_ids
            ):
                raise OcxError(
                    ErrorCode.POST_ONLY_WOULD_TAKE,
                    f"quotes[{i}] is post-only and would take liquidity",
                    {"field": f"quotes[{i}]"},
                )

        reducing: dict[tuple[Side, MarginMode], Decimal] = {}
        for i, ticket in enumerate(tickets):
            request = ticket.request
            if not request.reduce_only:
                continue
            key = (request.side, request.margin_mode)
            total = reducing.get(key, ZERO) + request.quantity
            reducing[key] = total
            try:
                ctx.risk.check_reduce_only(
                    user, spec, request.side, total, request.margin_mode, ignore=doomed_ids
                )
            except OcxError as refusal:
                refusal.details["field"] = f"quotes[{i}].reduceOnly"
                raise

        if spec.is_spot:
            needs: dict[str, Decimal] = {}
            for ticket in tickets:
                request = ticket.request
                asset, lock = self._clearing.spot_lock(
                    spec, request.side, request.quantity, ticket.reference_price
                )
                needs[asset] = needs.get(asset, ZERO) + lock
            for order in doomed:
                asset = USDC if order.is_buy else spec.base
                needs[asset] = needs.get(asset, ZERO) - order.lock
            for asset, amount in needs.items():
                self._check_spot_available(user, asset, amount)
            return
        required = sum(
            (
                ctx.risk.order_margin(
                    spec,
                    t.request.side,
                    t.request.quantity,
                    t.reference_price,
                    t.request.reduce_only,
                )
                for t in tickets
            ),
            ZERO,
        )
        fees = sum(
            (
                self._worst_fee(
                    user, spec, t.request.quantity, t.reference_price, t.request.post_only, now
                )
                for t in tickets
                if not t.request.reduce_only
            ),
            ZERO,
        )
        freed = sum((o.margin for o in doomed), ZERO)
        ctx.risk.approve(user, spec, required - freed, now, fees)


def _quote_order(market_id: str, quote: QuoteRequest, quote_id: str) -> OrderRequest:
    return OrderRequest(
        market_id=market_id,
        side=quote.side,
        quantity=quote.quantity,
        type=OrderType.LIMIT,
        price=quote.price,
        time_in_force=quote.time_in_force,
        post_only=quote.post_only,
        reduce_only=quote.reduce_only,
        margin_mode=quote.margin_mode,
        client_order_id=quote.client_order_id,
        quote_id=quote_id,
    )


def _self_cross(index: int, other: int) -> OcxError:
    return OcxError(
        ErrorCode.SELF_TRADE,
        f"quotes[{index}] would trade against quotes[{other}] of the same set",
        {"field": f"quotes[{index}]"},
    )


def _crosses_excluding(book: Book, is_buy: bool, ticks: int, excluded: set[str]) -> bool:
    """Would an order at `ticks` meet a resting order other than the `excluded` ones?"""
    for level in book.levels(not is_buy, through=ticks):
        for resting in level:
            if resting.id not in excluded:
                return True
    return False
