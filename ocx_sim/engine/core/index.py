"""Each underlying's index: a reference futures curve (F1, F2) and the roll between them.

OCX's methodology (https://docs.ocx.global/methodology/perpetuals; docs/fidelity.md "Prices,
funding and expiries"): the index tracks the front-month future F1.
Over the five days that end at the options expiry before F1's expiry (the Friday a week
earlier) it moves to the next future F2; from then on it is F2, and when F1 expires the curve
moves on: F2 becomes the front and a new F2 is quoted with the same spread ratio (so a flat
curve stays flat, and a still index stays still).

The docs give no blend formula. Ours, the weight of F2 across the window's fraction τ ∈ [0, 1]:
w(τ) = (1 − e^(−kτ)) / (1 − e^(−k)), k = ROLL_SHARPNESS: an exponentially weighted ramp that
is continuous, moves most at the start and reaches 1 exactly when the window ends
(docs/fidelity.md).

Curve points (docs/fidelity.md "Prices, funding and expiries"): once a curve is quoted
(`set_curve`, a scenario's `markets.<id>.curve {front, next}`), its two levels are the marks
of the underlying's two nearest futures, as OCX marks a future from its own CME contract:
the future expiring at F1's expiry is marked at F1, the next at F2, with no carry on top
(`point`), and the nearest settles at F1 at its expiry. The catalog's default curve (both
levels at the default index) is not quoted: its futures keep the carry fair value.

What moves an index:
- `pin`: a test, a scenario or the control API sets it; it stays exactly there, whatever the
  curve, the roll or the random walk do, until set again (docs/control-api.md "Markets"). A
  pin moves a quoted curve's points with it, by the ratio of the pin to the curve's own level
  at that instant: outside the roll window F1 is the pinned index, and the curve keeps its
  shape;
- `set_curve`: new F1 and F2 levels (this releases a pin);
- `withdraw`: the reference feed is gone; no index means no mark (OCX's methodology: "no
  price is better than a wrong price");
- a volatility: a seeded geometric Brownian motion moves both curve points by one common factor
  every second (the sandbox: `walk_factor`, stepped by ticker.py), and so both futures' marks
  when the curve is quoted. The walk runs in floats, like the
  option pricing math (docs/architecture.md "The engine"), and the index is rounded once to 8
  decimals when read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import NormalDist

from ocx_sim.engine.core.markets import DAY_MS, Catalog, quarterly_expiries
from ocx_sim.ids import Ids, RandomStream

ROLL_DAYS = 5
ROLL_END_BEFORE_EXPIRY_MS = 7 * DAY_MS
"""The roll ends at the options expiry on the Friday before the future's expiry."""
ROLL_SHARPNESS = Decimal(3)
INDEX_QUANTUM = Decimal("1e-8")
YEAR_MS = 365 * DAY_MS
_NORMALIZER = 1 - (-ROLL_SHARPNESS).exp()


def roll_weight(now_ms: int, front_expiry_ms: int) -> Decimal:
    """The weight of F2 in the index at `now_ms`: 0 before the window, 1 after it."""
    end = front_expiry_ms - ROLL_END_BEFORE_EXPIRY_MS
    start = end - ROLL_DAYS * DAY_MS
    if now_ms <= start:
        return Decimal(0)
    if now_ms >= end:
        return Decimal(1)
    fraction = Decimal(now_ms - start) / (ROLL_DAYS * DAY_MS)
    return (1 - (-ROLL_SHARPNESS * fraction).exp()) / _NORMALIZER


_SHARPNESS_F = float(ROLL_SHARPNESS)
_NORMALIZER_F = float(_NORMALIZER)


_STANDARD_NORMAL = NormalDist()
_UNIFORM_BITS = 52
"""k + 0.5 for k < 2**52 is exact in a float, so (k + 0.5) / 2**52 is strictly inside (0, 1)."""
_UNIFORM_SCALE = 2.0**-_UNIFORM_BITS


def shocks(stream: RandomStream) -> Callable[[], float]:
    """Standard normal shocks drawn from `stream`, for the walk. By inverse transform of a
    uniform strictly inside (0, 1) through `NormalDist.inv_cdf`, whose core is C: a third of
    what `random.gauss` (pure Python) costs, and the walk draws one per underlying every
    simulated second. Make it where it is used; the world keeps only the stream."""
    bits = stream.getrandbits
    inv_cdf = _STANDARD_NORMAL.inv_cdf

    def shock() -> float:
        return inv_cdf((bits(_UNIFORM_BITS) + 0.5) * _UNIFORM_SCALE)

    return shock


def walk_factor(volatility: float, dt_ms: int, shock: float, drift: float = 0.0) -> float:
    """One step of the geometric Brownian motion: the factor a standard normal `shock` moves
    the level by over `dt_ms`, growing at the annual `drift` in expectation (the index's walk
    has none; a scenario's GBM path may)."""
    years = dt_ms / YEAR_MS
    return math.exp(
        volatility * math.sqrt(years) * shock
        - 0.5 * volatility * volatility * years
        + drift * years
    )


@dataclass(slots=True)
class Curve:
    """One underlying's reference curve and how its index is being driven."""

    underlying: str
    front_ms: int
    """F1's expiry."""
    next_ms: int
    """F2's expiry."""
    f1: Decimal
    f2: Decimal
    factor: float = 1.0
    """The random walk's cumulative move of both curve points since they were last set."""
    volatility: float = 0.0
    """Annualized; 0 keeps the curve still."""
    pinned: Decimal | None = None
    withdrawn: bool = False
    quoted: bool = False
    """F1 and F2 were given (`set_curve`): the two nearest futures are marked at them."""

    def index(self, now_ms: int) -> Decimal | None:
        if self.withdrawn:
            return None
        if self.pinned is not None:
            return self.pinned
        level = self._unwalked(now_ms)
        if self.factor != 1.0:
            level *= Decimal(repr(self.factor))
        return level.quantize(INDEX_QUANTUM, rounding=ROUND_HALF_EVEN)

    def _unwalked(self, now_ms: int) -> Decimal:
        weight = roll_weight(now_ms, self.front_ms)
        return self.f1 + (self.f2 - self.f1) * weight if weight else self.f1

    def level_of(self, expiry_ms: int | None) -> Decimal | None:
        """The unwalked level of the curve point a future expiring at `expiry_ms` is marked
        at: F1 for the front's expiry, F2 for the next's; None when the curve is not quoted or
        the future is neither."""
        if not self.quoted:
            return None
        if expiry_ms == self.front_ms:
            return self.f1
        if expiry_ms == self.next_ms:
            return self.f2
        return None

    def point(self, expiry_ms: int | None, now_ms: int, *, feed: bool = True) -> Decimal | None:
        """The curve point, walked (or carried by a pin), of the future expiring at
        `expiry_ms` (module docstring); None when it has none, or when the feed is withdrawn
        (with `feed` False: the point as the feed last gave it, which a withdrawn curve
        keeps: a contract's price at its expiry, settled once the feed is back)."""
        level = self.level_of(expiry_ms)
        if level is None or (self.withdrawn and feed):
            return None
        if self.pinned is not None:
            return level * self.pinned / self._unwalked(now_ms)
        if self.factor != 1.0:
            level *= Decimal(repr(self.factor))
        return level

    def level_f(self, now_ms: int) -> float | None:
        """The index in floats, for the per-second work (ticker.py): the same value as `index`
        but for its rounding to 8 decimals; None when withdrawn."""
        if self.withdrawn:
            return None
        if self.pinned is not None:
            return float(self.pinned)
        return self.unwalked_f(now_ms) * self.factor

    def unwalked_f(self, now_ms: int) -> float:
        """The curve's level with its roll, before the walk's factor, in floats."""
        end = self.front_ms - ROLL_END_BEFORE_EXPIRY_MS
        start = end - ROLL_DAYS * DAY_MS
        if now_ms <= start:
            level = float(self.f1)
        elif now_ms >= end:
            level = float(self.f2)
        else:
            fraction = (now_ms - start) / (ROLL_DAYS * DAY_MS)
            weight = (1 - math.exp(-_SHARPNESS_F * fraction)) / _NORMALIZER_F
            level = float(self.f1) + float(self.f2 - self.f1) * weight
        return level

    def walks(self) -> bool:
        """Whether the random walk moves it (a volatility, not pinned, not withdrawn)."""
        return bool(self.volatility) and self.pinned is None and not self.withdrawn

    def rolling(self, now_ms: int) -> bool:
        """Whether the roll moves it at `now_ms` (inside the window, between two levels)."""
        if self.withdrawn or self.pinned is not None or self.f1 == self.f2:
            return False
        end = self.front_ms - ROLL_END_BEFORE_EXPIRY_MS
        return end - ROLL_DAYS * DAY_MS < now_ms < end

    def roll_over(self, next_ms: int) -> None:
        """F1 has expired: F2 becomes the front and a new F2 keeps the curve's spread ratio."""
        ratio = self.f2 / self.f1
        self.f1, self.front_ms = self.f2, self.next_ms
        self.f2 = (self.f1 * ratio).quantize(INDEX_QUANTUM, rounding=ROUND_HALF_EVEN)
        self.next_ms = next_ms


class IndexProcess:
    """Every underlying's curve, and the seeded random walk that moves them."""

    def __init__(self, catalog: Catalog, ids: Ids, now_ms: int) -> None:
        self.curves: dict[str, Curve] = {}
        self._walks: dict[str, RandomStream] = {}
        for symbol, u in catalog.underlyings.items():
            front, after = quarterly_expiries(now_ms, 2)
            self.curves[symbol] = Curve(symbol, front, after, u.index_price, u.index_price)
            self._walks[symbol] = ids.stream(f"index:{symbol}")

    def index(self, underlying: str, now_ms: int) -> Decimal | None:
        return self.curves[underlying].index(now_ms)

    def walk(self, underlying: str) -> RandomStream:
        """The underlying's own stream of shocks: a walk added on one never shifts another's."""
        return self._walks[underlying]

    def roll_expired_fronts(self, now_ms: int) -> list[str]:
        """Move on every curve whose front has expired by `now_ms`; their underlyings."""
        rolled = []
        for symbol, curve in self.curves.items():
            while curve.front_ms <= now_ms:
                curve.roll_over(quarterly_expiries(curve.next_ms, 1)[0])
                rolled.append(symbol)
        return rolled
