"""The bulk quote ladder (`/perps/quotes/bulk`, `/quotes/bulk`): many orders, all or nothing.

DECISIONS.md "Quotes": the whole set is validated and checked first, on the book and the
accounts as they will be once `cancelAll` has cancelled the caller's open orders on the market;
if any quote would be refused, nothing changes and the error names `quotes[i]`. Then the
cancels happen and the quotes are placed in order, each through the same path as a single
order. At most 50 quotes per call; a bulk call is one request for rate limiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.accounts import User
from ocx_sim.engine.book import Book
from ocx_sim.engine.clearing import Clearing
from ocx_sim.engine.context import Context
from ocx_sim.engine.markets import MarketSpec
from ocx_sim.engine.money import USDC, ZERO
from ocx_sim.engine.orders import (
    CancelReason,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from ocx_sim.engine.trading import Ticket, Trading
from ocx_sim.errors import ErrorCode, OcxError, invalid

MAX_BULK_QUOTES = 50
_BUY = Side.BUY


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


class Quoting:
    def __init__(self, ctx: Context, clearing: Clearing, trading: Trading) -> None:
        self._ctx = ctx
        self._clearing = clearing
        self._trading = trading

    def place_quotes(
        self,
        user_id: str,
        market_id: str,
        quotes: Sequence[QuoteRequest],
        *,
        quote_id: str | None = None,
        cancel_all: bool = False,
        replacing: Sequence[Order] = (),
        labels: Sequence[str] | None = None,
    ) -> QuotesResult:
        """Place a ladder atomically (DECISIONS.md "Quotes"): the whole set is checked first
        and, if any quote fails, nothing changes (the error names `quotes[i]`, or `labels[i]`
        when the caller's body names its quotes otherwise, e.g. `bid`/`ask`). With
        `cancel_all` the user's open orders on the market are cancelled, then the set placed;
        with `replacing`, those of them only (a liquidity agent moving some rungs)."""
        names = list(labels) if labels is not None else [f"quotes[{i}]" for i in range(len(quotes))]
        ctx = self._ctx
        user = ctx.user(user_id)
        spec = ctx.market(market_id)
        if len(quotes) > MAX_BULK_QUOTES:
            raise invalid("quotes", f"at most {MAX_BULK_QUOTES} quotes per call, got {len(quotes)}")
        tag = quote_id if quote_id is not None else ctx.ids.ulid()
        tickets = [
            self._trading.validate(spec, _quote_order(market_id, q, tag), prefix=f"{names[i]}.")
            for i, q in enumerate(quotes)
        ]
        now = ctx.now
        self._trading.check_tradable(spec, now)
        for i, ticket in enumerate(tickets):
            self._trading.price_ticket(spec, ticket, now, prefix=f"{names[i]}.")
        if cancel_all:
            doomed = [o for o in user.open_orders.values() if o.market_id == market_id]
        else:
            doomed = [
                o for o in replacing if o.market_id == market_id and user.open_orders.get(o.id) is o
            ]
        self._admit(user, spec, tickets, doomed, now, names)

        for order in doomed:
            self._clearing.end(order, OrderStatus.CANCELLED, CancelReason.QUOTE_REPLACED)
        orders = [self._trading.execute(user, spec, ticket, now).order for ticket in tickets]
        return QuotesResult(tag, [o.id for o in doomed], orders)

    def _admit(
        self,
        user: User,
        spec: MarketSpec,
        tickets: list[Ticket],
        doomed: list[Order],
        now: int,
        names: list[str],
    ) -> None:
        """The single-order checks, applied to the set as a whole on the book as it will be
        once `doomed` is cancelled; errors name each quote by `names[i]`."""
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
                    f"{names[i]}.clientOrderId repeats {names[seen[cid]]}",
                    {"field": f"{names[i]}.clientOrderId"},
                )
            seen[cid] = i
            self._trading.check_client_order_id(user, cid, doomed_ids)

        best_bid: tuple[int, int] | None = None
        best_ask: tuple[int, int] | None = None
        book = ctx.book(spec.id)
        for i, ticket in enumerate(tickets):
            request = ticket.request
            ticks = ticket.limit_ticks
            if request.side is _BUY:
                if best_ask is not None and ticks >= best_ask[0]:
                    raise _self_cross(names[i], names[best_ask[1]])
                best_bid = max(best_bid or (ticks, i), (ticks, i))
            else:
                if best_bid is not None and ticks <= best_bid[0]:
                    raise _self_cross(names[i], names[best_bid[1]])
                best_ask = min(best_ask or (ticks, i), (ticks, i))
            if request.post_only and _crosses_excluding(
                book, request.side is _BUY, ticks, doomed_ids
            ):
                raise OcxError(
                    ErrorCode.POST_ONLY_WOULD_TAKE,
                    f"{names[i]} is post-only and would take liquidity",
                    {"field": names[i]},
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
                refusal.details["field"] = f"{names[i]}.reduceOnly"
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
                self._trading.check_spot_available(user, asset, amount)
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
                self._trading.worst_fee(
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


def _self_cross(name: str, other: str) -> OcxError:
    return OcxError(
        ErrorCode.SELF_TRADE,
        f"{name} would trade against {other} of the same set",
        {"field": name},
    )


def _crosses_excluding(book: Book, is_buy: bool, ticks: int, excluded: set[str]) -> bool:
    """Would an order at `ticks` meet a resting order other than the `excluded` ones?"""
    for level in book.levels(not is_buy, through=ticks):
        for resting in level:
            if resting.id not in excluded:
                return True
    return False
