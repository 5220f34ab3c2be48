"""Reference prices: each underlying's index and each market's mark (first version).

DECISIONS.md "Markets and prices": each underlying has one index S, the perpetual's and the
spot pair's reference. This version holds the index still at its catalog default (or where a
command sets it) and derives marks from it:

- spot and perpetual: the index;
- dated future: the carry fair value F = S × (1 + APR × t/365), unless a mark is pinned;
- option: Black-76 on the synthetic forward S·e^(rT) at a flat volatility, a static reference
  until the options issue brings the volatility surface (floats are allowed only here,
  DESIGN.md rule 1, and the result is rounded once to the tick).

A pinned mark (`pin_mark`) overrides the model until it is unpinned. No index means no mark:
order entry on that underlying answers 503 UPSTREAM_DEGRADED (SPEC.md §7.1, "no price is better
than a wrong price").
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

from ocx_sim.engine.markets import (
    DAY_MS,
    Catalog,
    MarketSpec,
    MarketType,
    OptionType,
    carry_forward,
)
from ocx_sim.errors import ErrorCode, OcxError

REFERENCE_VOL = 0.55
"""The flat implied volatility of the static option reference marks."""
OPTION_RATE = 0.05
"""r in the synthetic forward and the discount factor (DECISIONS.md "Markets and prices")."""


class Prices:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._index: dict[str, Decimal | None] = {
            symbol: u.index_price for symbol, u in catalog.underlyings.items()
        }
        self._pinned_marks: dict[str, Decimal] = {}
        # Marks and bands are read on every order; they change only when an input does (an
        # index, a pin) or, for futures and options, with time. Cache them per instant.
        self._version = 0
        self._marks: dict[str, tuple[int, int, Decimal | None]] = {}
        self._bands: dict[str, tuple[int, int, tuple[int, int] | None, Decimal | None]] = {}

    @property
    def version(self) -> int:
        """Changes whenever an input of the marks does (an index or a pin)."""
        return self._version

    # -- index ----------------------------------------------------------------------------

    def index(self, underlying: str) -> Decimal | None:
        return self._index.get(underlying)

    def set_index(self, underlying: str, price: Decimal | None) -> None:
        """Set (or, with None, withdraw) an underlying's index."""
        if underlying not in self._index:
            raise KeyError(underlying)
        self._index[underlying] = price
        self._version += 1

    # -- mark -----------------------------------------------------------------------------

    def pin_mark(self, market_id: str, price: Decimal | None) -> None:
        """Pin a market's mark at `price` (None releases it to the model)."""
        if price is None:
            self._pinned_marks.pop(market_id, None)
        else:
            self._pinned_marks[market_id] = price
        self._version += 1

    def mark(self, spec: MarketSpec, now_ms: int) -> Decimal | None:
        """The market's mark, on its tick; None when its underlying has no index."""
        cached = self._marks.get(spec.id)
        if cached is not None and cached[0] == now_ms and cached[1] == self._version:
            return cached[2]
        mark = self._model_mark(spec, now_ms)
        self._marks[spec.id] = (now_ms, self._version, mark)
        return mark

    def _model_mark(self, spec: MarketSpec, now_ms: int) -> Decimal | None:
        pinned = self._pinned_marks.get(spec.id)
        if pinned is not None:
            return pinned
        index = self._index.get(spec.underlying)
        if index is None:
            return None
        if spec.type is MarketType.SPOT or spec.type is MarketType.PERP:
            return index
        expiry = spec.expiry_ms if spec.expiry_ms is not None else now_ms
        if spec.type is MarketType.FUTURE:
            apr = self._catalog.underlyings[spec.underlying].carry_apr
            return _on_tick(carry_forward(index, apr, now_ms, expiry), spec)
        return _on_tick(_black76(spec, float(index), now_ms, expiry), spec, at_least_one_tick=True)

    def require_mark(self, spec: MarketSpec, now_ms: int) -> Decimal:
        """The mark, or 503 UPSTREAM_DEGRADED when reference data is missing."""
        mark = self.mark(spec, now_ms)
        if mark is None:
            raise OcxError(
                ErrorCode.UPSTREAM_DEGRADED,
                f"No mark price for {spec.id}: its index is unavailable",
                {"marketId": spec.id},
            )
        return mark

    def mark_and_band(
        self, spec: MarketSpec, now_ms: int
    ) -> tuple[Decimal, tuple[int, int] | None]:
        """`require_mark` and `band` in one look-up (order entry reads both)."""
        cached = self._bands.get(spec.id)
        if cached is None or cached[0] != now_ms or cached[1] != self._version:
            self.band(spec, now_ms)
            cached = self._bands[spec.id]
        mark = cached[3]
        if mark is None:
            return self.require_mark(spec, now_ms), None
        return mark, cached[2]

    def band(self, spec: MarketSpec, now_ms: int) -> tuple[int, int] | None:
        """The price band in ticks, (low, high) inclusive: mark × (1 ∓ band) on the tick;
        None when the market has no band or no mark."""
        cached = self._bands.get(spec.id)
        if cached is not None and cached[0] == now_ms and cached[1] == self._version:
            return cached[2]
        mark = self.mark(spec, now_ms)
        band = None
        if mark is not None and spec.band is not None:
            band = spec.ticks_ceil(mark * (1 - spec.band)), spec.ticks_floor(mark * (1 + spec.band))
        self._bands[spec.id] = (now_ms, self._version, band, mark)
        return band


def _on_tick(price: Decimal, spec: MarketSpec, at_least_one_tick: bool = False) -> Decimal:
    ticks = (price / spec.tick).to_integral_value(rounding=ROUND_HALF_EVEN)
    if at_least_one_tick and ticks < 1:
        ticks = Decimal(1)
    return spec.tick * ticks


def _black76(spec: MarketSpec, index: float, now_ms: int, expiry_ms: int) -> Decimal:
    assert spec.strike is not None and spec.option_type is not None
    t = max(expiry_ms - now_ms, 0) / DAY_MS / 365.0
    f, k = index * math.exp(OPTION_RATE * t), float(spec.strike)
    if t <= 0:
        value = max(f - k, 0.0) if spec.option_type is OptionType.CALL else max(k - f, 0.0)
        return Decimal(repr(value))
    vol_sqrt_t = REFERENCE_VOL * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * vol_sqrt_t * vol_sqrt_t) / vol_sqrt_t
    d2 = d1 - vol_sqrt_t
    discount = math.exp(-OPTION_RATE * t)
    if spec.option_type is OptionType.CALL:
        value = discount * (f * _cdf(d1) - k * _cdf(d2))
    else:
        value = discount * (k * _cdf(-d2) - f * _cdf(-d1))
    return Decimal(repr(max(value, 0.0)))


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
