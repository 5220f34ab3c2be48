"""Events: immutable, past-tense facts about every change of state, in one append-only log.

Each event type is a `NamedTuple` whose first two fields are `seq` (1, 2, 3, … per exchange)
and `ts` (the simulated instant, unix ms); the other fields are plain values (wire strings,
numbers, decimals). Streams, the control API's journal and the determinism digest read the log;
nothing reads state back out of it, and nothing ever changes an event once appended.

The log stores each event as a plain tuple `(type code, seq, ts, *fields)` and hands out the
NamedTuple when read. Python's garbage collector stops tracking a plain tuple of atomic values
(it never untracks tuple subclasses), so a log of millions of events costs later collections
nothing; the ledger and the users' fill lists keep their records the same way.

The digest is a SHA-256 over a canonical text of every event in order (type name and field
values, decimals as their exact strings), so two runs agree on it exactly when they produced
the same facts at the same instants.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple, Protocol

from ocx_sim.engine.core.sha256 import RESUMABLE, Sha256


class Event(Protocol):
    """What every event has; each concrete event is a NamedTuple below."""

    @property
    def seq(self) -> int: ...

    @property
    def ts(self) -> int: ...

    def _asdict(self) -> dict[str, Any]: ...


def event_type(event: Event) -> str:
    """The event's name on the wire and in the digest: its class name."""
    return type(event).__name__


def event_dict(event: Event) -> dict[str, object]:
    """`{"type": name, field: value, …}`; decimals stay `Decimal`."""
    out: dict[str, object] = {"type": event_type(event)}
    for name, value in event._asdict().items():
        out[name] = value.value if isinstance(value, Enum) else value
    return out


def canonical(event: Event) -> str:
    parts = [event_type(event)]
    for name, value in event._asdict().items():
        if isinstance(value, Enum):
            value = value.value
        parts.append(f"{name}={value!s}" if isinstance(value, Decimal) else f"{name}={value!r}")
    return "|".join(parts)


class UserRegistered(NamedTuple):
    seq: int
    ts: int
    user_id: str
    wallet_address: str


class FundsDeposited(NamedTuple):
    seq: int
    ts: int
    user_id: str
    amount: Decimal
    tx_hash: str | None


class FundsTransferred(NamedTuple):
    seq: int
    ts: int
    user_id: str
    source: str
    target: str
    amount: Decimal


class OrderAccepted(NamedTuple):
    """A new order entered the exchange's lists (resting, matching or `untriggered`). The
    trigger prices come last (None when absent) so that the older fields keep their places."""

    seq: int
    ts: int
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
    stop_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    stop_loss_price: Decimal | None = None


class TradeExecuted(NamedTuple):
    """One fill. For markets with positions it also says where each side's position stands
    after it (`*_position`, signed; None on spot) and the PnL it realized."""

    seq: int
    ts: int
    trade_id: str
    market_id: str
    price: Decimal
    quantity: Decimal
    taker_side: str
    maker_order_id: str
    maker_user_id: str
    maker_fee: Decimal
    maker_position: Decimal | None
    maker_realized_pnl: Decimal
    taker_order_id: str
    taker_user_id: str
    taker_fee: Decimal
    taker_position: Decimal | None
    taker_realized_pnl: Decimal


class OrderCancelled(NamedTuple):
    seq: int
    ts: int
    order_id: str
    user_id: str
    market_id: str
    reason: str
    remaining: Decimal


class OrderExpired(NamedTuple):
    """An IOC, FOK or market remainder that could not fill."""

    seq: int
    ts: int
    order_id: str
    user_id: str
    market_id: str
    remaining: Decimal


class OrderModified(NamedTuple):
    seq: int
    ts: int
    order_id: str
    user_id: str
    market_id: str
    price: Decimal | None
    quantity: Decimal
    priority_kept: bool


class SettlementChanged(NamedTuple):
    """A deposit or withdrawal record was created or changed status."""

    seq: int
    ts: int
    settlement_id: str
    user_id: str
    kind: str
    status: str
    amount: Decimal
    tx_hash: str | None


class MarketHalted(NamedTuple):
    seq: int
    ts: int
    market_id: str


class MarketResumed(NamedTuple):
    seq: int
    ts: int
    market_id: str


class IndexSet(NamedTuple):
    """An underlying's index was set (`price` None: withdrawn, so its markets have no mark)."""

    seq: int
    ts: int
    underlying: str
    price: Decimal | None


class MarkPinned(NamedTuple):
    """A market's mark was pinned (`price` None: released to the model)."""

    seq: int
    ts: int
    market_id: str
    price: Decimal | None


class FundingPaid(NamedTuple):
    """One position's funding payment (`amount` signed: negative = paid)."""

    seq: int
    ts: int
    user_id: str
    market_id: str
    margin_mode: str
    amount: Decimal


class FundingSettled(NamedTuple):
    """A perpetual's funding period closed with open interest: its rate, the mark it was paid
    on, and the total each side paid or received."""

    seq: int
    ts: int
    market_id: str
    rate: Decimal
    mark: Decimal
    open_interest: Decimal
    amount: Decimal


class MarketExpired(NamedTuple):
    """A dated market reached its expiry: orders cancelled, positions settled at `price`."""

    seq: int
    ts: int
    market_id: str
    price: Decimal


class MarketListed(NamedTuple):
    seq: int
    ts: int
    market_id: str


class PositionSettled(NamedTuple):
    """A position closed at its market's expiry; `amount` is its `settlement` entry."""

    seq: int
    ts: int
    user_id: str
    market_id: str
    margin_mode: str
    quantity: Decimal
    price: Decimal
    amount: Decimal


class AccountLiquidated(NamedTuple):
    """A liquidation began (docs/fidelity.md "Margin and liquidation"): a bucket's cross part
    (`market_id` None) or one isolated position fell below maintenance. Its steps follow as
    their own events."""

    seq: int
    ts: int
    user_id: str
    bucket: str
    margin_mode: str
    market_id: str | None
    equity: Decimal
    maintenance: Decimal


class PositionLiquidated(NamedTuple):
    """What the book did not take of a liquidated position, taken over by the insurance fund at
    the mark (a bookless trade, no trading fee); `side` is the liquidated user's."""

    seq: int
    ts: int
    user_id: str
    market_id: str
    margin_mode: str
    side: str
    quantity: Decimal
    price: Decimal
    realized_pnl: Decimal


class LiquidationFeeCharged(NamedTuple):
    """1 % of the notional a liquidation closed (book and fund alike), paid to the fund."""

    seq: int
    ts: int
    user_id: str
    bucket: str
    closed_notional: Decimal
    fee: Decimal


class InsurancePaid(NamedTuple):
    """The fund made good a liquidated account's negative equity (bad debt)."""

    seq: int
    ts: int
    user_id: str
    bucket: str
    amount: Decimal


class OrderTriggered(NamedTuple):
    """An untriggered stop, take-profit or stop-loss order fired at `mark` (docs/fidelity.md
    "Trigger orders"); what it then did follows as trades, a cancel (`trigger_rejected`) or
    nothing (it rests)."""

    seq: int
    ts: int
    order_id: str
    user_id: str
    market_id: str
    mark: Decimal


class CurveSet(NamedTuple):
    """An underlying's reference futures curve was quoted (F1, F2); its index follows it."""

    seq: int
    ts: int
    underlying: str
    front: Decimal
    following: Decimal


class VolatilitySet(NamedTuple):
    """An underlying's curve now walks at this annualized volatility (0: still)."""

    seq: int
    ts: int
    underlying: str
    volatility: Decimal


class SurfaceSet(NamedTuple):
    """An underlying's implied-volatility surface was set (core/surface.py); option marks,
    the board and option margin follow it."""

    seq: int
    ts: int
    underlying: str
    atm_vol: Decimal
    term_slope: Decimal
    skew: Decimal
    smile: Decimal


class VaultLiquiditySet(NamedTuple):
    """The vault's USDC for withdrawals was set (`amount` None: unlimited); the keeper pays
    from it from now on (wallet.py)."""

    seq: int
    ts: int
    amount: Decimal | None


class WithdrawalFailureArmed(NamedTuple):
    """One more failure was armed (fail-next): the next send the keeper tries fails.
    `armed` is how many are armed now."""

    seq: int
    ts: int
    armed: int


_HASHED_AT_ONCE = 4096
"""Events whose lines are joined into one update of the hash (each update is a call into
OpenSSL; a whole long log at once would be one string of its size)."""


class EventLog:
    """The append-only log, and its digest: the SHA-256 of every event's canonical line, kept
    as the log grows. The hash runs over the events appended since it last ran, never over the
    whole log again, so that reading the digest of a long log costs only what is new, and a
    reader can catch it up a slice at a time (`hash_some`) between other work.

    A world may forget the oldest events (`forget_before`, docs/fidelity.md "Retention"): they
    are hashed first, so the digest still covers every event ever appended, and their `seq`
    numbers are never reused. The hash's state pickles with the log (sha256.py); where it
    cannot, the log never forgets and a restored log hashes its events anew."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        """`(code, seq, ts, *fields)` per event, `code` its type's place in `EVENT_TYPES` and
        `seq` one more than the last: appended only by the typed emitters (emit.py). The
        first `start` are forgotten (None) until the list is compacted."""
        self.offset = 0
        """How many events came before `rows[0]`: the event `seq` is `rows[seq - offset - 1]`."""
        self.start = 0
        """`rows[:start]` are forgotten."""
        self._hash = Sha256()
        self._hashed = 0
        """The `seq` the hash covers up to."""

    def __getstate__(self) -> dict[str, Any]:
        state = {"rows": self.rows, "offset": self.offset, "start": self.start}
        if RESUMABLE:
            state.update(hash=self._hash, hashed=self._hashed)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.rows, self.offset, self.start = state["rows"], state["offset"], state["start"]
        self._hash = state.get("hash") or Sha256()
        self._hashed = state.get("hashed", 0)

    @property
    def last_seq(self) -> int:
        return self.offset + len(self.rows)

    @property
    def first_seq(self) -> int:
        """The `seq` of the oldest event still held (one more than `last_seq` when none)."""
        return self.offset + self.start + 1

    def _index(self, seq: int) -> int:
        """The place in `rows` of the first event after `seq` still held."""
        return max(seq - self.offset, self.start)

    def _held(self, after: int, through: int | None = None) -> list[Any]:
        rows = self.rows
        end = len(rows) if through is None else max(through - self.offset, self.start)
        return rows[self._index(after) : end]

    def since(self, seq: int) -> list[Event]:
        """Events still held with `seq` greater than the given one, oldest first."""
        return [_materialize(row) for row in self._held(seq)]

    def between(self, after: int, through: int) -> list[Event]:
        """Events still held with `after` < `seq` <= `through`, oldest first."""
        return [_materialize(row) for row in self._held(after, through)]

    def newest(
        self, seq: int, most: int, codes: frozenset[int] | None = None
    ) -> tuple[list[Event], int]:
        """The newest `most` events held with `seq` greater than the given one (only those
        whose type code is in `codes`, when given), oldest first, and how many more matched.
        Only the events answered are materialised: a reader of a long log's tail reads no
        more."""
        rows = self.rows
        picked: list[Event] = []
        matched = 0
        for index in range(len(rows) - 1, self._index(seq) - 1, -1):
            row = rows[index]
            if codes is not None and row[0] not in codes:
                continue
            matched += 1
            if len(picked) < most:
                picked.append(_materialize(row))
        picked.reverse()
        return picked, matched - len(picked)

    def of_type(self, seq: int, name: str) -> Iterator[Event]:
        """The events held with `seq` greater than the given one whose type is `name`
        (`EVENT_TYPE_NAMES`), oldest first; only those are materialised, so a reader after
        one kind in a long log reads no more of it."""
        if name not in EVENT_TYPE_NAMES:
            return
        code = EVENT_TYPE_NAMES.index(name)
        for row in self._held(seq):
            if row[0] == code:
                yield _materialize(row)

    def row(self, seq: int) -> tuple[Any, ...] | None:
        """The stored row of the event `seq` (None when not held): equal rows are the same
        event, so a reader can tell whether the log still holds what it saw."""
        index = seq - self.offset - 1
        return self.rows[index] if self.start <= index < len(self.rows) else None

    def last(self) -> Event:
        return _materialize(self.rows[-1])

    def __iter__(self) -> Iterator[Event]:
        return (_materialize(row) for row in self._held(0))

    def __len__(self) -> int:
        """How many events the log holds (`last_seq` counts every one ever appended)."""
        return len(self.rows) - self.start

    def hash_some(self, most: int) -> bool:
        """Hash at most `most` more events; whether the digest now covers the whole log."""
        rows, offset, update = self.rows, self.offset, self._hash.update
        end = min(self.last_seq, self._hashed + most)
        for first in range(self._hashed, end, _HASHED_AT_ONCE):
            last = min(first + _HASHED_AT_ONCE, end)
            lines = [canonical(_materialize(rows[seq - offset])) for seq in range(first, last)]
            lines.append("")
            update("\n".join(lines).encode())
        self._hashed = end
        return end == self.last_seq

    @property
    def hashed(self) -> int:
        """The `seq` the hash covers up to."""
        return self._hashed

    def digest(self) -> str:
        """The SHA-256 of the whole log's canonical lines, one per event ever appended, each
        ended by a line feed (the events not hashed yet are hashed now)."""
        self.hash_some(self.last_seq)
        return self._hash.hexdigest()

    def hashed_digest(self) -> str:
        """The digest of the events hashed so far (of the first `hashed` events)."""
        return self._hash.hexdigest()

    def forget_before(self, ts: int, keep_after: int | None = None) -> int:
        """Forget the oldest events stamped before `ts` (none after the event `keep_after`),
        hashing them first; how many were forgotten. Nothing is forgotten where the hash's
        state cannot be saved (sha256.py). The list is compacted once more than half of it
        is forgotten, so forgetting costs what it forgets."""
        if not RESUMABLE:
            return 0
        rows, start = self.rows, self.start
        stop = len(rows) if keep_after is None else max(keep_after - self.offset, start)
        end = start
        while end < stop and rows[end][2] < ts:
            end += 1
        if end == start:
            return 0
        self.hash_some(self.offset + end - self._hashed)
        rows[start:end] = [None] * (end - start)
        self.start = end
        if end * 2 > len(rows):
            del rows[:end]
            self.offset += end
            self.start = 0
        return end - start


EVENT_TYPES: tuple[type[Any], ...] = (
    UserRegistered,
    FundsDeposited,
    FundsTransferred,
    OrderAccepted,
    TradeExecuted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    MarketHalted,
    MarketResumed,
    IndexSet,
    MarkPinned,
    SettlementChanged,
    FundingPaid,
    FundingSettled,
    MarketExpired,
    MarketListed,
    PositionSettled,
    CurveSet,
    VolatilitySet,
    AccountLiquidated,
    PositionLiquidated,
    LiquidationFeeCharged,
    InsurancePaid,
    OrderTriggered,
    VaultLiquiditySet,
    WithdrawalFailureArmed,
    SurfaceSet,
)
"""Each type's code is its index here, so new types are only ever appended."""


EVENT_TYPE_NAMES: tuple[str, ...] = tuple(kind.__name__ for kind in EVENT_TYPES)
"""Each type's wire name (`event_type`), by code."""


def code_of(event_type: type[Event]) -> int:
    """The code the log stores `event_type` under."""
    return EVENT_TYPES.index(event_type)


def _materialize(row: tuple[Any, ...]) -> Event:
    event: Event = EVENT_TYPES[row[0]]._make(row[1:])
    return event
