"""The tape: every trade of every market in time order, the marks recorded along the way,
and what is read off them.

Candles (`/perps/ohlc`, TradingView UDF) and the 24-hour ticker (`/perps/market-stats`) are
built from it on request. docs/fidelity.md "Market data": candles start at multiples of the
resolution and `v` is base quantity; `volume24hUsd` sums price × quantity once per trade.
Trades are kept as plain `(ts, price, quantity)` tuples (see events.py on why plain tuples).

Marks: a window without trades shows the mark, and its change compares the mark with the mark
24 h earlier. Marks move every simulated second in a walking world, so they are recorded at
fixed instants instead (every funding boundary, and the world's first instant: funding.py),
which costs nothing on the per-second tick; `mark_at` answers the mark recorded last at or
before an instant, so "24 h earlier" is read at five-minute resolution, the way a rolling
window moves in steps. What no read can reach any more is dropped as marks are recorded.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.core.money import ZERO

DAY_MS = 86_400_000

Print = tuple[int, Decimal, Decimal]
"""(ts ms, price, quantity) of one trade."""


@dataclass(frozen=True, slots=True)
class Candle:
    start_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    """Base quantity traded."""


@dataclass(frozen=True, slots=True)
class DayStats:
    """The 24 hours up to now; prices None when nothing traded in the window."""

    last: Decimal | None
    """The latest trade's price, whenever it was."""
    open: Decimal | None
    """The first trade's price in the window."""
    high: Decimal | None
    low: Decimal | None
    volume: Decimal
    """Base quantity."""
    volume_usd: Decimal
    """Σ price × quantity."""
    trades: int


class Tape:
    def __init__(self) -> None:
        self._prints: dict[str, list[Print]] = {}
        self._times: dict[str, list[int]] = {}
        self._mark_times: dict[str, list[int]] = {}
        self._marks: dict[str, list[Decimal]] = {}
        """Per market, the marks recorded (`record_marks`) and their instants, oldest first."""

    def record(self, market_id: str, ts_ms: int, price: Decimal, quantity: Decimal) -> None:
        prints = self._prints.get(market_id)
        if prints is None:
            prints = self._prints[market_id] = []
            self._times[market_id] = []
        prints.append((ts_ms, price, quantity))
        self._times[market_id].append(ts_ms)

    def between(self, market_id: str, start_ms: int, end_ms: int) -> list[Print]:
        """Trades with start_ms <= ts < end_ms, oldest first."""
        times = self._times.get(market_id)
        if not times:
            return []
        lo, hi = bisect_left(times, start_ms), bisect_left(times, end_ms)
        return self._prints[market_id][lo:hi]

    def last(self, market_id: str, at_or_before_ms: int) -> Print | None:
        times = self._times.get(market_id)
        if not times:
            return None
        i = bisect_right(times, at_or_before_ms)
        return self._prints[market_id][i - 1] if i else None

    def record_marks(self, ts_ms: int, marks: Iterable[tuple[str, Decimal]]) -> None:
        """Record each market's mark at `ts_ms` (instants never go back). Only the last mark
        at or before `ts_ms` − 24 h is kept of the older ones: reads come later, so none can
        need an earlier one."""
        horizon = ts_ms - DAY_MS
        for market_id, mark in marks:
            times = self._mark_times.get(market_id)
            if times is None:
                self._mark_times[market_id] = [ts_ms]
                self._marks[market_id] = [mark]
                continue
            times.append(ts_ms)
            self._marks[market_id].append(mark)
            stale = bisect_right(times, horizon) - 1
            if stale > 0:
                del times[:stale]
                del self._marks[market_id][:stale]

    def mark_at(self, market_id: str, at_ms: int) -> Decimal | None:
        """The mark recorded last at or before `at_ms`; the first one recorded when none was
        that early (the market, or the world, is younger); None when none was recorded."""
        times = self._mark_times.get(market_id)
        if not times:
            return None
        i = bisect_right(times, at_ms)
        return self._marks[market_id][i - 1 if i else 0]

    def candles(
        self, market_id: str, resolution_ms: int, start_ms: int, end_ms: int
    ) -> list[Candle]:
        """Candles covering [start_ms, end_ms): buckets start at multiples of the resolution;
        buckets without trades are left out (TradingView fills gaps itself)."""
        first = start_ms - start_ms % resolution_ms
        out: list[Candle] = []
        bucket: list[Print] = []
        bucket_start = None
        for print_ in self.between(market_id, first, end_ms):
            start = print_[0] - print_[0] % resolution_ms
            if start != bucket_start:
                if bucket and bucket_start is not None:
                    out.append(_candle(bucket_start, bucket))
                bucket, bucket_start = [], start
            bucket.append(print_)
        if bucket and bucket_start is not None:
            out.append(_candle(bucket_start, bucket))
        return out

    def day(self, market_id: str, now_ms: int) -> DayStats:
        window = self.between(market_id, now_ms - DAY_MS + 1, now_ms + 1)
        latest = self.last(market_id, now_ms)
        if not window:
            return DayStats(latest[1] if latest else None, None, None, None, ZERO, ZERO, 0)
        prices = [p for _, p, _ in window]
        return DayStats(
            last=latest[1] if latest else None,
            open=prices[0],
            high=max(prices),
            low=min(prices),
            volume=sum((q for _, _, q in window), ZERO),
            volume_usd=sum((p * q for _, p, q in window), ZERO),
            trades=len(window),
        )


def _candle(start_ms: int, prints: list[Print]) -> Candle:
    prices = [p for _, p, _ in prints]
    return Candle(
        start_ms,
        prices[0],
        max(prices),
        min(prices),
        prices[-1],
        sum((q for _, _, q in prints), ZERO),
    )
