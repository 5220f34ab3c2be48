"""Reference prices: each underlying's index and each market's mark.

docs/fidelity.md "Prices, funding and expiries": each underlying has one index S (`index.py`: a
reference futures curve with its roll, pinned, withdrawn or walking), the perpetual's and the spot
pair's reference. Marks derive from it:

- spot: the index;
- perpetual: the index plus a smoothed basis. The basis follows the book's mid only while the
  book is healthy (two-sided, spread under 0.5 %, mid within 0.5 % of the index) and decays to
  zero otherwise, with a 10 s half-life either way (`ticker.py` samples it every second).
  So the mark moves with the index at once, and a wick in a thin book never moves it
  (https://docs.ocx.global/methodology/perpetuals: "anchored to the index", "smoothed");
- dated future: its curve point when the underlying's curve is quoted (F1 for the nearest,
  F2 for the next: OCX marks a future from its own CME contract, no carry on top; index.py),
  else the carry fair value F = S × (1 + APR × t/365); a pinned mark (a scenario setting the
  future's reference price) wins over both;
- option: Black-76 (core/black76.py) on its expiry's forward at the underlying's volatility
  surface (core/surface.py) at its strike: the board's mark (docs/fidelity.md "Options"). The
  forward is the mark of the future expiring at the same instant, else S·e^(rT); floats are
  allowed only here (docs/architecture.md "The engine"), rounded once to the tick.

A pinned mark (`pin_mark`) overrides the model until it is unpinned. No index means no mark: order
entry on that underlying answers 503 UPSTREAM_DEGRADED (OCX's methodology, "no price is better than
a wrong price").
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

from ocx_sim.clock import Clock
from ocx_sim.engine.core import black76
from ocx_sim.engine.core.index import IndexProcess
from ocx_sim.engine.core.markets import (
    Catalog,
    MarketSpec,
    MarketType,
    OptionType,
    carry_forward,
)
from ocx_sim.engine.core.money import ZERO
from ocx_sim.engine.core.surface import DEFAULT_SURFACE, Surface, SurfaceParams, build, years
from ocx_sim.errors import ErrorCode, OcxError

BASIS_QUANTUM = Decimal("1e-8")
OPTION_RATE = 0.05
"""r in the synthetic forward and the discount factor (docs/fidelity.md "Options")."""


class Forward(NamedTuple):
    """An option expiry's forward: the mark of the future expiring at that instant (its id),
    else the synthetic S·e^(rT) (no id)."""

    price: float
    futures_market_id: str | None


class OptionInputs(NamedTuple):
    """What an option's Black-76 value is made of at an instant."""

    is_call: bool
    forward: float
    strike: float
    t: float
    """Years to expiry (docs/fidelity.md "Options")."""
    iv: float

    def value(self, forward: float | None = None, iv: float | None = None) -> float:
        """The discounted value, or at another forward or volatility (a risk scenario's)."""
        f = self.forward if forward is None else forward
        vol = self.iv if iv is None else iv
        return black76.value(self.is_call, f, self.strike, vol, self.t, OPTION_RATE)

    def greeks(self) -> black76.Greeks:
        return black76.greeks(self.is_call, self.forward, self.strike, self.iv, self.t, OPTION_RATE)


class Prices:
    def __init__(self, catalog: Catalog, process: IndexProcess, clock: Clock) -> None:
        self._catalog = catalog
        self.process = process
        self._clock = clock
        self._basis: dict[str, float] = {}
        """Per perpetual, the smoothed mark − index (absent: zero)."""
        self._pinned_marks: dict[str, Decimal] = {}
        # Indexes, marks and bands are read on every order; they change only when an input
        # does (an index, a pin, a basis, a random-walk step) or with time (a roll, a future's
        # carry, an option's decay). Cache them per instant and input version.
        self._version = 0
        self._index_version = 0
        """Changes with the indexes' inputs only (not with a basis or a pinned mark)."""
        self._indexes: dict[str, tuple[int, int, Decimal | None]] = {}
        self._marks: dict[str, tuple[int, int, Decimal | None]] = {}
        self._bands: dict[str, tuple[int, int, tuple[int, int] | None, Decimal | None]] = {}
        self.surfaces: dict[str, Surface] = {
            u.symbol: build(DEFAULT_SURFACE)
            for u in catalog.underlyings.values()
            if u.strike_step is not None
        }
        """Per underlying listing options, its volatility surface (core/surface.py)."""

    @property
    def version(self) -> int:
        """Changes whenever an input of the marks does."""
        return self._version

    def touch(self) -> None:
        """Note that an index input changed outside these methods (a random-walk step)."""
        self._version += 1
        self._index_version += 1

    # -- index ----------------------------------------------------------------------------

    def index(self, underlying: str) -> Decimal | None:
        now = self._clock.now_ms
        cached = self._indexes.get(underlying)
        if cached is not None and cached[0] == now and cached[1] == self._index_version:
            return cached[2]
        value = self.process.index(underlying, now)
        self._indexes[underlying] = (now, self._index_version, value)
        return value

    def set_index(self, underlying: str, price: Decimal | None) -> None:
        """Pin an underlying's index at `price`, or with None withdraw it (no mark)."""
        curve = self.process.curves[underlying]
        curve.pinned, curve.withdrawn = price, price is None
        self.touch()

    def set_curve(self, underlying: str, f1: Decimal, f2: Decimal) -> None:
        """New reference levels for the front and next futures, which are marked at them from
        now on (index.py); releases a pin."""
        curve = self.process.curves[underlying]
        curve.f1, curve.f2, curve.factor = f1, f2, 1.0
        curve.pinned, curve.withdrawn, curve.quoted = None, False, True
        self.touch()

    def set_volatility(self, underlying: str, volatility: float) -> None:
        self.process.curves[underlying].volatility = volatility
        self.touch()

    def index_f(self, underlying: str) -> float | None:
        """The index in floats (the per-second work's, ticker.py): `index` before rounding."""
        return self.process.curves[underlying].level_f(self._clock.now_ms)

    # -- volatility -------------------------------------------------------------------------

    def surface(self, underlying: str) -> Surface:
        """The underlying's surface; 404 UNKNOWN_MARKET naming `underlying` when it lists no
        options."""
        surface = self.surfaces.get(underlying)
        if surface is None:
            known = underlying in self._catalog.underlyings
            raise OcxError(
                ErrorCode.UNKNOWN_MARKET,
                f"No options are listed on {underlying}"
                if known
                else f"Unknown underlying {underlying!r}",
                {"field": "underlying", "underlying": underlying},
            )
        return surface

    def set_surface(self, underlying: str, params: SurfaceParams, blame: str) -> Surface:
        """Publish a new surface for `underlying`, checked for arbitrage at every listed
        expiry (core/surface.py; 422 naming `blame`, the parameter the caller changed, and
        nothing changes)."""
        self.surface(underlying)
        now = self._clock.now_ms
        listed = tuple(
            years(m.expiry_ms - now)
            for m in self._catalog.options(underlying)
            if m.expiry_ms is not None and m.expiry_ms > now
        )
        surface = self.surfaces[underlying] = build(params, listed, blame)
        self._version += 1
        return surface

    def forward(self, underlying: str, expiry_ms: int, now_ms: int) -> Forward | None:
        """The forward an option expiry is priced on (docs/fidelity.md "Options"); None
        without an index."""
        for future in self._catalog.futures(underlying):
            if future.expiry_ms == expiry_ms:
                mark = self.mark(future, now_ms)
                return None if mark is None else Forward(float(mark), future.id)
        index = self.index(underlying)
        if index is None:
            return None
        t = years(max(expiry_ms - now_ms, 0))
        return Forward(float(index) * math.exp(OPTION_RATE * t), None)

    def option_inputs(self, spec: MarketSpec, now_ms: int) -> OptionInputs | None:
        """An option's Black-76 inputs at `now_ms`; None without an index."""
        assert spec.strike is not None and spec.expiry_ms is not None
        forward = self.forward(spec.underlying, spec.expiry_ms, now_ms)
        if forward is None:
            return None
        t = years(max(spec.expiry_ms - now_ms, 0))
        strike = float(spec.strike)
        iv = self.surfaces[spec.underlying].iv(t, math.log(strike / forward.price)) if t else 0.0
        return OptionInputs(spec.option_type is OptionType.CALL, forward.price, strike, t, iv)

    # -- basis ----------------------------------------------------------------------------
    # The basis is a float: it is an exponential average sampled every second (ticker.py),
    # like the index's walk; a mark reads it rounded to 8 decimals.

    def basis(self, market_id: str) -> Decimal:
        basis = self._basis.get(market_id)
        if basis is None:
            return ZERO
        return Decimal(repr(basis)).quantize(BASIS_QUANTUM, ROUND_HALF_EVEN)

    def basis_f(self, market_id: str) -> float:
        return self._basis.get(market_id, 0.0)

    def set_basis_f(self, market_id: str, basis: float) -> None:
        if basis:
            self._basis[market_id] = basis
        else:
            self._basis.pop(market_id, None)
        self._version += 1

    def premium_f(self, spec: MarketSpec) -> float:
        """(mark − index) / index of a perpetual, in floats (funding.py accrues it); zero
        without both prices."""
        pinned = self._pinned_marks.get(spec.id)
        basis = self._basis.get(spec.id)
        if pinned is None and basis is None:
            return 0.0
        index = self.index_f(spec.underlying)
        return premium_of(index, basis or 0.0, None if pinned is None else float(pinned))

    # -- mark -----------------------------------------------------------------------------

    def pinned_mark(self, market_id: str) -> Decimal | None:
        return self._pinned_marks.get(market_id)

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
        index = self.index(spec.underlying)
        if index is None:
            return None
        if spec.type is MarketType.PERP:
            return index + self.basis(spec.id)
        if spec.is_spot:
            return index
        expiry = spec.expiry_ms if spec.expiry_ms is not None else now_ms
        if spec.type is MarketType.FUTURE:
            point = self.process.curves[spec.underlying].point(spec.expiry_ms, now_ms)
            if point is not None:
                return _on_tick(point, spec)
            apr = self._catalog.underlyings[spec.underlying].carry_apr
            return _on_tick(carry_forward(index, apr, now_ms, expiry), spec)
        inputs = self.option_inputs(spec, now_ms)
        if inputs is None:
            return None
        return _on_tick(Decimal(repr(inputs.value())), spec, at_least_one_tick=True)

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


def premium_of(index: float | None, basis: float, pinned_mark: float | None) -> float:
    """A perpetual's premium (mark − index) / index, in floats, from its index, its basis
    and its pinned mark if any; zero without an index."""
    if not index:
        return 0.0
    if pinned_mark is not None:
        return (pinned_mark - index) / index
    return basis / index


def _on_tick(price: Decimal, spec: MarketSpec, at_least_one_tick: bool = False) -> Decimal:
    ticks = (price / spec.tick).to_integral_value(rounding=ROUND_HALF_EVEN)
    if at_least_one_tick and ticks < 1:
        ticks = Decimal(1)
    return spec.tick * ticks
