"""Events: frozen, past-tense facts about every change of state, in one append-only log.

Each event carries `seq` (1, 2, 3, … per exchange) and `ts` (the simulated instant, unix ms).
Streams, the control API's journal and the determinism digest read the log; nothing reads
state back out of it, and nothing ever changes an event once appended.

The digest is a SHA-256 over a canonical text of every event in order (type name and field
values, decimals as their exact strings), so two runs agree on it exactly when they produced
the same facts at the same instants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    ts: int

    @property
    def type(self) -> str:
        """The event's name on the wire and in the digest: its class name."""
        return self.__class__.__name__

    def to_dict(self) -> dict[str, object]:
        """Field values by name, `type` first; decimals stay `Decimal`."""
        out: dict[str, object] = {"type": self.type}
        for f in fields(self):
            out[f.name] = getattr(self, f.name)
        return out

    def canonical(self) -> str:
        parts = [self.type]
        for f in fields(self):
            value = getattr(self, f.name)
            parts.append(
                f"{f.name}={value!s}" if isinstance(value, Decimal) else f"{f.name}={value!r}"
            )
        return "|".join(parts)


@dataclass(frozen=True, slots=True)
class UserRegistered(Event):
    user_id: str
    wallet_address: str


@dataclass(frozen=True, slots=True)
class FundsDeposited(Event):
    user_id: str
    amount: Decimal
    tx_hash: str | None


@dataclass(frozen=True, slots=True)
class FundsTransferred(Event):
    user_id: str
    source: str
    target: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class OrderAccepted(Event):
    order_id: str
    user_id: str
    market_id: str
    side: str
    order_type: str
    price: Decimal | None
    quantity: Decimal
    time_in_force: str
    post_only: bool
    reduce_only: bool
    margin_mode: str
    client_order_id: str | None
    quote_id: str | None


@dataclass(frozen=True, slots=True)
class TradeExecuted(Event):
    trade_id: str
    market_id: str
    price: Decimal
    quantity: Decimal
    taker_side: str
    maker_order_id: str
    maker_user_id: str
    maker_fee: Decimal
    taker_order_id: str
    taker_user_id: str
    taker_fee: Decimal


@dataclass(frozen=True, slots=True)
class PositionChanged(Event):
    user_id: str
    market_id: str
    margin_mode: str
    size: Decimal
    entry_price: Decimal
    realized_pnl: Decimal
    """PnL realized by this change (not the running total)."""


@dataclass(frozen=True, slots=True)
class OrderCancelled(Event):
    order_id: str
    user_id: str
    market_id: str
    reason: str
    remaining: Decimal


@dataclass(frozen=True, slots=True)
class OrderExpired(Event):
    """An IOC, FOK or market remainder that could not fill."""

    order_id: str
    user_id: str
    market_id: str
    remaining: Decimal


@dataclass(frozen=True, slots=True)
class OrderModified(Event):
    order_id: str
    user_id: str
    market_id: str
    price: Decimal | None
    quantity: Decimal
    priority_kept: bool


class EventLog:
    """The append-only log. `next_seq()` is taken by the code that builds the next event."""

    def __init__(self) -> None:
        self._events: list[Event] = []

    def next_seq(self) -> int:
        return len(self._events) + 1

    def append(self, event: Event) -> None:
        if event.seq != len(self._events) + 1:
            raise ValueError(f"event seq {event.seq} out of order (log has {len(self._events)})")
        self._events.append(event)

    @property
    def last_seq(self) -> int:
        return len(self._events)

    def since(self, seq: int) -> list[Event]:
        """Events with `seq` greater than the given one, oldest first."""
        return self._events[max(seq, 0) :]

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def digest(self) -> str:
        h = hashlib.sha256()
        for event in self._events:
            h.update(event.canonical().encode())
            h.update(b"\n")
        return h.hexdigest()
