"""The implied-volatility surface of one underlying: four parameters, a raw-SVI slice per expiry.

OCX fits a parametric, arbitrage-checked surface (https://docs.ocx.global/methodology/options)
without naming its form; docs/fidelity.md "Options" states ours. A person sets four numbers:

- `atm_vol`: the 30-day at-the-money implied volatility (a fraction, 0.55 = 55 %);
- `term_slope`: how the at-the-money iv changes with maturity, per year: σ_atm(T) = atm_vol +
  term_slope × (T − 30/365);
- `skew`: the slope dσ/dk of the 30-day smile at the money, k = ln(K/F) (−0.15: a strike 10 %
  below the forward trades about 1.5 vol points over the money);
- `smile`: its curvature d²σ/dk² at the money (the wings' lift).

Each expiry's slice is an SSVI slice (Gatheral & Jacquier, "Arbitrage-free SVI volatility
surfaces", 2014) of total variance w(k) = θ/2·(1 + ρφk + √((φk + ρ)² + 1 − ρ²)) with θ =
σ_atm(T)²·T and φ = η/√θ, which is a raw-SVI slice w(k) = a + b(ρ(k − m) + √((k − m)² + σ²)).
ρ and η are solved once from `skew` and `smile` at 30 days: at the money the slope is ρη/(2√T)
and the curvature η²(1 − 2ρ²)/(4σ_atm·T).

A surface is published only when it is free of arbitrage on a grid of log-moneyness and
maturities (`build`): Gatheral's density condition g(k) ≥ 0 on every slice and wings no steeper
than Roger Lee's bound (no butterfly arbitrage), and total variance non-decreasing in maturity
at every k (no calendar arbitrage).
The maturities checked cover an hour to a year and every listed expiry, so a surface accepted
now stays arbitrage-free as its expiries draw near.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from ocx_sim.engine.core.markets import DAY_MS
from ocx_sim.errors import OcxError, invalid, unprocessable

YEAR_MS = 365 * DAY_MS
T30 = 30 / 365
"""DVOL's and `atm_vol`'s tenor: 30 days, in years."""
_CHECK_MATURITIES = (1 / 24 / 365, 1 / 365, 7 / 365, T30, 90 / 365, 180 / 365, 1.0)
_CHECK_LOG_MONEYNESS = tuple(i / 50 for i in range(-150, 151))
"""k from −3 to 3 in steps of 0.02: strikes from 5 % to 20 times the forward."""
_SHARPEST = 4.0
_LEE_BOUND = 2.0
"""Roger Lee's moment formula: total variance grows at most 2k in either wing."""
_TOLERANCE = 1e-12
PARAMETERS = ("atmVol", "termSlope", "skew", "smile")
"""The wire names, in the order a refusal blames them."""


def years(ms: int) -> float:
    """T of docs/fidelity.md "Options": milliseconds / (365 × 86 400 000)."""
    return ms / YEAR_MS


@dataclass(frozen=True, slots=True)
class SurfaceParams:
    atm_vol: Decimal
    term_slope: Decimal
    skew: Decimal
    smile: Decimal

    def as_wire(self) -> dict[str, Decimal]:
        return {
            "atmVol": self.atm_vol,
            "termSlope": self.term_slope,
            "skew": self.skew,
            "smile": self.smile,
        }


DEFAULT_SURFACE = SurfaceParams(
    atm_vol=Decimal("0.55"), term_slope=Decimal("0.10"), skew=Decimal("-0.15"), smile=Decimal("1.5")
)
"""A BTC-like surface: 55 % at 30 days, rising ten vol points a year, puts over calls."""


class Svi(NamedTuple):
    """A raw-SVI slice of total variance in log-moneyness."""

    a: float
    b: float
    rho: float
    m: float
    sigma: float

    def w(self, k: float) -> float:
        x = k - self.m
        return self.a + self.b * (self.rho * x + math.sqrt(x * x + self.sigma * self.sigma))

    def g(self, k: float) -> float:
        """Gatheral's density function: the slice has no butterfly arbitrage where g ≥ 0."""
        x = k - self.m
        root = math.sqrt(x * x + self.sigma * self.sigma)
        w = self.a + self.b * (self.rho * x + root)
        if w <= 0:
            return -1.0
        w1 = self.b * (self.rho + x / root) if root else self.b * self.rho
        w2 = self.b * self.sigma * self.sigma / root**3 if root else 0.0
        return (1 - k * w1 / (2 * w)) ** 2 - w1 * w1 / 4 * (1 / w + 0.25) + w2 / 2


class Shape(NamedTuple):
    """The smile's SSVI constants, solved from `skew` and `smile`."""

    rho: float
    eta: float


class Surface:
    """A checked surface (`build` refuses an arbitrageable one)."""

    __slots__ = ("_atm", "_shape", "_slope", "params")

    def __init__(self, params: SurfaceParams, shape: Shape) -> None:
        self.params = params
        self._atm = float(params.atm_vol)
        self._slope = float(params.term_slope)
        self._shape = shape

    def atm_vol(self, t: float) -> float:
        """σ_atm(T): the at-the-money iv at maturity T (years)."""
        return self._atm + self._slope * (t - T30)

    def slice(self, t: float) -> Svi:
        """The raw-SVI slice of maturity T > 0."""
        atm = self.atm_vol(t)
        theta = atm * atm * t
        rho, eta = self._shape
        if eta == 0 or theta <= 0:
            return Svi(max(theta, 0.0), 0.0, 0.0, 0.0, 0.0)
        phi = eta / math.sqrt(theta)
        return Svi(
            a=theta / 2 * (1 - rho * rho),
            b=theta * phi / 2,
            rho=rho,
            m=-rho / phi,
            sigma=math.sqrt(1 - rho * rho) / phi,
        )

    def iv(self, t: float, k: float) -> float:
        """The implied volatility at maturity T and log-moneyness k = ln(K/F)."""
        w = self.slice(t).w(k)
        return math.sqrt(w / t) if w > 0 and t > 0 else 0.0


def build(params: SurfaceParams, listed: tuple[float, ...] = (), blame: str = "atmVol") -> Surface:
    """The surface of `params`, checked at the maturities `listed` (years) and the fixed
    grid (module docstring); 422 VALIDATION_ERROR naming `blame` (the parameter the caller
    changed) when it has arbitrage or is not a surface at all."""
    if not all(v.is_finite() for v in params.as_wire().values()):
        raise invalid(blame, "surface parameters must be finite")
    if params.atm_vol <= 0:
        raise _arbitrage(blame, "atmVol must be positive")
    shape = _shape(params, blame)
    if shape.eta**2 * (1 + abs(shape.rho)) > _SHARPEST:
        # θφ(θ)² = η²: the second condition of theorem 4.2 of the module docstring's paper,
        # with the wings' bound below the first. Past it the density fails far in a wing,
        # where no grid looks.
        raise _arbitrage(blame, "butterfly arbitrage: the smile is too sharp")
    surface = Surface(params, shape)
    maturities = sorted({*_CHECK_MATURITIES, *(t for t in listed if t > 0)})
    longest = maturities[-1]
    if min(surface.atm_vol(0.0), surface.atm_vol(longest)) <= 0:
        raise _arbitrage(blame, "the at-the-money iv would not be positive at every maturity")
    # dθ/dT = σ_atm(T)·(σ_atm(T) + 2·term_slope·T): with σ_atm > 0, θ never falls where the
    # second factor, linear in T, is not negative at either end. With θ non-decreasing these
    # slices are free of calendar arbitrage between any two maturities, not only the grid's
    # (Gatheral & Jacquier, theorem 4.1: θφ(θ) = η√θ meets its conditions for any ρ).
    if min(surface.atm_vol(t) + 2 * float(params.term_slope) * t for t in (0.0, longest)) < 0:
        raise _arbitrage(
            blame, "calendar arbitrage: at-the-money total variance falls with maturity"
        )
    previous: Svi | None = None
    for t in maturities:
        svi = surface.slice(t)
        if svi.b * (1 + abs(svi.rho)) > _LEE_BOUND:
            raise _arbitrage(
                blame, f"butterfly arbitrage: the wings rise faster than 2k at T={t:.4f}"
            )
        for k in _CHECK_LOG_MONEYNESS:
            if svi.g(k) < -_TOLERANCE:
                raise _arbitrage(
                    blame, f"butterfly arbitrage: negative density at k={k:g}, T={t:.4f}"
                )
            if previous is not None and svi.w(k) < previous.w(k) - _TOLERANCE:
                raise _arbitrage(
                    blame,
                    f"calendar arbitrage: total variance falls with maturity at k={k:g}, T={t:.4f}",
                )
        previous = svi
    return surface


def _shape(params: SurfaceParams, blame: str) -> Shape:
    """ρ and η from the 30-day slope and curvature (module docstring)."""
    skew_term = 2 * math.sqrt(T30) * float(params.skew)  # = ρη
    eta_squared = 4 * float(params.atm_vol) * T30 * float(params.smile) + 2 * skew_term**2
    if eta_squared <= skew_term**2 or eta_squared < 0:
        if skew_term == 0 and eta_squared == 0:
            return Shape(0.0, 0.0)  # a flat smile
        raise _arbitrage(blame, "smile too negative for the skew: no SVI slice has that shape")
    eta = math.sqrt(eta_squared)
    return Shape(skew_term / eta, eta)


def _arbitrage(field: str, message: str) -> OcxError:
    return unprocessable(field, message)
