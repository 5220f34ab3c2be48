"""Black-76: a European option's value and greeks on its forward.

OCX prices options with Black-76 on each expiry's forward (https://docs.ocx.global/methodology/
options); docs/fidelity.md "Options" fixes the conventions the exchange does not publish:

- value = e^(−rT)·Black(F, K, σ, T): discounted, premium per 1 unit of the underlying;
- greeks with respect to the forward, discounted: call delta = e^(−rT)N(d1), put delta =
  −e^(−rT)N(−d1); gamma = ∂²V/∂F²; vega = ∂V/∂σ per vol point (÷ 100); theta per calendar day
  (÷ 365), holding F and σ fixed: (r·V − e^(−rT)F·φ(d1)σ/(2√T)) / 365.

Floats: option maths is the one place money-like numbers are floats (docs/architecture.md "The
engine"); whatever reaches a balance or the wire is rounded once, by the caller.
"""

from __future__ import annotations

import math
from typing import NamedTuple

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
DAYS_PER_YEAR = 365.0
VOL_POINT = 100.0
"""Vega is quoted per vol point: ∂V/∂σ ÷ 100."""


def cdf(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * math.erfc(-x / _SQRT2)


def pdf(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


class Greeks(NamedTuple):
    value: float
    delta: float
    gamma: float
    vega: float
    theta: float


def value(is_call: bool, forward: float, strike: float, vol: float, t: float, rate: float) -> float:
    """The discounted Black-76 value; at or after expiry (or with no volatility) the
    discounted intrinsic value."""
    discount = math.exp(-rate * t) if t > 0 else 1.0
    if t <= 0 or vol <= 0:
        intrinsic = forward - strike if is_call else strike - forward
        return discount * intrinsic if intrinsic > 0 else 0.0
    vol_sqrt_t = vol * math.sqrt(t)
    d1 = math.log(forward / strike) / vol_sqrt_t + 0.5 * vol_sqrt_t
    d2 = d1 - vol_sqrt_t
    if is_call:
        return discount * (forward * cdf(d1) - strike * cdf(d2))
    return discount * (strike * cdf(-d2) - forward * cdf(-d1))


def greeks(
    is_call: bool, forward: float, strike: float, vol: float, t: float, rate: float
) -> Greeks:
    """The value and its greeks (module docstring); an expired option's greeks are its
    intrinsic delta and zero."""
    if t <= 0 or vol <= 0:
        worth = value(is_call, forward, strike, vol, t, rate)
        discount = math.exp(-rate * t) if t > 0 else 1.0
        in_the_money = forward > strike if is_call else forward < strike
        delta = (discount if is_call else -discount) if in_the_money else 0.0
        return Greeks(worth, delta, 0.0, 0.0, rate * worth / DAYS_PER_YEAR)
    sqrt_t = math.sqrt(t)
    vol_sqrt_t = vol * sqrt_t
    discount = math.exp(-rate * t)
    d1 = math.log(forward / strike) / vol_sqrt_t + 0.5 * vol_sqrt_t
    d2 = d1 - vol_sqrt_t
    density = pdf(d1)
    if is_call:
        worth = discount * (forward * cdf(d1) - strike * cdf(d2))
        delta = discount * cdf(d1)
    else:
        worth = discount * (strike * cdf(-d2) - forward * cdf(-d1))
        delta = -discount * cdf(-d1)
    gamma = discount * density / (forward * vol_sqrt_t)
    vega = discount * forward * density * sqrt_t / VOL_POINT
    decay = discount * forward * density * vol / (2.0 * sqrt_t)
    theta = (rate * worth - decay) / DAYS_PER_YEAR
    return Greeks(worth, delta, gamma, vega, theta)
