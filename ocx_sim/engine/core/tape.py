"""The tape: every trade of every market in time order, and what is read off it.

Candles (`/perps/ohlc`, TradingView UDF) and the 24-hour ticker (`/perps/market-stats`) are
built from it on request. docs/fidelity.md "Market data": candles start at multiples of the
resolution and `v` is base quantity; `volume24hUsd` sums price × quantity once per trade.
Trades are kept as plain `(ts, price, quantity)` tuples (see events.py on why plain tuples).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
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
