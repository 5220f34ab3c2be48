"""Orders, fills and the vocabulary of order requests (docs/fidelity.md "Orders").

Enum values are the wire strings. An `Order` is the one mutable record of an order's life; the
book sees it through its `BookOrder` base (id, owner, side, ticks, remaining lots).
Quantities: `lots` is the order's total and `remaining` what is still unfilled (resting, or
left over when the order ended), so `lots - remaining` is always the filled quantity.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from ocx_sim.engine.core.book import BookOrder


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class MarginMode(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"


class OrderStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNTRIGGERED = "untriggered"

    def __init__(self, value: str) -> None:
        # A plain attribute, not a property: it is read on every order's every step.
        self.is_terminal = value in ("filled", "cancelled", "expired")


class FeeRole(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class CancelReason(StrEnum):
    """Why an order left the book without filling (carried by `OrderCancelled`)."""

    USER = "user"
    CANCEL_ALL = "cancel_all"
    QUOTE_REPLACED = "quote_replaced"
    SELF_TRADE_PREVENTION = "self_trade_prevention"
    REDUCE_ONLY = "reduce_only"
    """A reduce-only order that the position's change left able to grow it."""
    TRIGGER_REJECTED = "trigger_rejected"
    """A stop, take-profit or stop-loss order that the checks refused when it fired."""
    ONE_CANCELS_OTHER = "one_cancels_other"
    """A take-profit or stop-loss order whose sibling fired (docs/fidelity.md "Trigger orders")."""
    POSITION_CLOSED = "position_closed"
    """An untriggered take-profit or stop-loss order whose position went flat (or flipped)."""
    LIQUIDATION = "liquidation"
    """Its bucket was liquidated (docs/fidelity.md "Margin and liquidation": resting orders
    are cancelled first)."""
    MARKET_EXPIRED = "market_expired"
    """Its dated market reached expiry."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as the API states it, already parsed into types (not yet validated against
    its market: ticks, steps and the band are the exchange's to check)."""

    market_id: str
    side: Side
    quantity: Decimal
    type: OrderType = OrderType.LIMIT
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    margin_mode: MarginMode = MarginMode.CROSS
    client_order_id: str | None = None
    stop_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    stop_loss_price: Decimal | None = None
    quote_id: str | None = None


_ZERO = Decimal(0)
_BUY = Side.BUY
_OPEN = OrderStatus.OPEN


class Order(BookOrder):
    """An order and everything that happened to it. Mutated only by the exchange."""

    __slots__ = (
        "client_order_id",
        "created_at",
        "filled_notional",
        "held_lots",
        "lock",
        "lots",
        "margin_mode",
        "market_id",
        "post_only",
        "price",
        "quantity",
        "quote_id",
        "reduce_only",
        "side",
        "status",
        "stop_loss_price",
        "stop_price",
        "take_profit_price",
        "time_in_force",
        "type",
        "updated_at",
    )

    def __init__(
        self,
        order_id: str,
        owner: str,
        request: OrderRequest,
        ticks: int,
        lots: int,
        now_ms: int,
    ) -> None:
        super().__init__(order_id, owner, request.side is _BUY, ticks, lots)
        self.market_id = request.market_id
        self.side = request.side
        self.type = request.type
        self.time_in_force = request.time_in_force
        self.price = request.price
        self.quantity = request.quantity
        self.lots = lots
        self.post_only = request.post_only
        self.reduce_only = request.reduce_only
        self.margin_mode = request.margin_mode
        self.client_order_id = request.client_order_id
        self.stop_price = request.stop_price
        self.take_profit_price = request.take_profit_price
        self.stop_loss_price = request.stop_loss_price
        self.quote_id = request.quote_id
        self.status = _OPEN
        self.created_at = now_ms
        self.updated_at = now_ms
        self.filled_notional = _ZERO
        self.held_lots = 0
        """On a linear market, the lots its owner's ladder holds for it (its remainder while it
        rests, unless reduce-only)."""
        self.lock = _ZERO
        """What this order holds locked in the spot bucket (USDC for a bid, base for an ask)."""

    @property
    def filled_lots(self) -> int:
        return self.lots - self.remaining

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    def request(self) -> OrderRequest:
        """The request the order stands for now (its current quantity): what a fired stop,
        take-profit or stop-loss is checked as again."""
        return OrderRequest(
            market_id=self.market_id,
            side=self.side,
            quantity=self.quantity,
            type=self.type,
            price=self.price,
            time_in_force=self.time_in_force,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            margin_mode=self.margin_mode,
            client_order_id=self.client_order_id,
            stop_price=self.stop_price,
            take_profit_price=self.take_profit_price,
            stop_loss_price=self.stop_loss_price,
            quote_id=self.quote_id,
        )

    def __repr__(self) -> str:
        return (
            f"Order({self.id}, {self.market_id} {self.side} {self.quantity}@{self.price}, "
            f"{self.status}, remaining={self.remaining})"
        )


class Fill(NamedTuple):
    """One side of one trade, as the owner of `order_id` sees it. A NamedTuple of plain values
    (`side` and `fee_role` are the wire strings), like the events (events.py)."""

    trade_id: str
    order_id: str
    user_id: str
    market_id: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_role: str
    created_at: int
    realized_pnl: Decimal = Decimal(0)


FillRow = tuple[str, str, str, str, str, Decimal, Decimal, Decimal, str, int, Decimal]
"""A `Fill`'s fields as a plain tuple: how users' fill lists store them (events.py says why)."""
