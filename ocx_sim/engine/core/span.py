"""The SPAN-style scenario margin of one underlying's options: pure functions, no state.

docs/fidelity.md "Margin and liquidation" states the rule; OCX margins options as a portfolio
(https://docs.ocx.global/concepts/margin) without publishing its scenarios, so these are ours,
after CME's SPAN:

- sixteen scenarios. The underlying and every expiry's forward move together by f × the scan
  range of 15 %, f ∈ {0, +1/3, −1/3, +2/3, −2/3, +1, −1}, each with every option's implied
  volatility × 1.25 and × 0.75 (fourteen); and two extremes, f = ±2 (±30 %) with the
  volatility unchanged, whose loss counts at 35 % (two);
- sticky strike: each option keeps its own current iv, scaled, whatever the forward does; the
  time to expiry does not change;
- every option is revalued in full (Black-76, core/black76.py) on its model inputs
  (`OptionInputs`, core/pricing.py), not on its rounded mark: a scenario's loss is
  Σ size × (value now − value in the scenario), positive when the portfolio loses;
- an expiry's options never count a loss beyond the most they can lose: their value now less
  their worst payoff at expiry, discounted (the payoff is piecewise linear in the price at
  expiry, so its minimum is at zero or at a strike, or unbounded below when the calls are
  net short). A smile scaled and shifted by a scenario need not be free of arbitrage any
  more, and without this bound a call spread could count more than its maximum loss;
- the requirement is the worst weighted loss over the sixteen scenarios, and never below
  zero (a portfolio that gains in every scenario needs nothing).

So a long option needs at most its value, a vertical spread at most its maximum loss (a
debit spread its value, a credit spread the strikes' difference discounted less its value),
and a portfolio never more than the sum of its options' requirements.

Floats: this is option maths (docs/architecture.md "The engine"); the caller rounds the
requirement once into USDC. The same exposures in the same order give the same floats, so a
figure worked out again from scratch (engine/invariants.py) agrees to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from ocx_sim.engine.core.pricing import OPTION_RATE, OptionInputs

SCAN_RANGE = 0.15
"""The price scan range: the forwards' largest ordinary move."""
VOL_SHIFT = 0.25
"""The volatility scan: every iv × (1 ± this)."""
EXTREME_MOVE = 2.0
"""The extreme scenarios' move, in scan ranges (±30 %)."""
EXTREME_WEIGHT = 0.35
"""The fraction of an extreme scenario's loss that counts."""


class Scenario(NamedTuple):
    move: float
    """The forwards' relative move (−0.15 is 15 % down)."""
    vol: float
    """What every option's iv is multiplied by."""
    weight: float
    """The fraction of the scenario's loss that counts."""


def _scenarios() -> tuple[Scenario, ...]:
    fractions = (0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0)
    ordinary = tuple(
        Scenario(f * SCAN_RANGE, vol, 1.0)
        for f in fractions
        for vol in (1.0 + VOL_SHIFT, 1.0 - VOL_SHIFT)
    )
    extremes = tuple(
        Scenario(f * EXTREME_MOVE * SCAN_RANGE, 1.0, EXTREME_WEIGHT) for f in (1.0, -1.0)
    )
    return ordinary + extremes


SCENARIOS = _scenarios()
"""The sixteen scenarios, in the order of a risk array."""
_WEIGHTS = tuple(s.weight for s in SCENARIOS)

Losses = tuple[float, ...]
"""One number per scenario, in the order of `SCENARIOS`."""


class Unit(NamedTuple):
    """One long unit of an option: what a portfolio's risk array is made of."""

    value: float
    """Its value now."""
    losses: Losses
    """Its weighted loss in each scenario: weight × (value now − value in the scenario)."""
    is_call: bool
    strike: float
    t: float
    """Years to expiry: the options of one expiry (one underlying) share it."""


def unit(inputs: OptionInputs) -> Unit:
    """An option's value and unit losses: the sixteen revaluations, done once per option
    (a portfolio's array is these scaled by the sizes, `combine`)."""
    now = inputs.value()
    forward, iv = inputs.forward, inputs.iv
    value = inputs.value
    losses = tuple(
        s.weight * (now - value(forward=forward * (1.0 + s.move), iv=iv * s.vol)) for s in SCENARIOS
    )
    return Unit(now, losses, inputs.is_call, inputs.strike, inputs.t)


def combine(rows: Iterable[tuple[Unit, float]]) -> Losses:
    """The risk array of a portfolio of one underlying, each option's `Unit` with its signed
    size: per expiry, Σ size × unit loss in each scenario, bounded by the expiry's maximum
    loss (module docstring); then summed over the expiries in the order first met."""
    return total(expiry_losses(t, options) for t, options in by_expiry(rows).items())


def by_expiry(rows: Iterable[tuple[Unit, float]]) -> dict[float, list[tuple[Unit, float]]]:
    """The rows of each expiry (by years to it), expiries and rows in the order first met."""
    expiries: dict[float, list[tuple[Unit, float]]] = {}
    for row in rows:
        expiries.setdefault(row[0].t, []).append(row)
    return expiries


def expiry_losses(t: float, options: list[tuple[Unit, float]]) -> Losses:
    """One expiry's part of the risk array: Σ size × unit loss in each scenario, each bounded
    by the expiry's maximum loss. Whole arrays at a time (comprehensions over zip), each
    element summed with the same operations in the same order as one scenario at a time."""
    raw = [0.0] * len(SCENARIOS)
    for option, size in options:
        raw = [r + size * loss for r, loss in zip(raw, option.losses, strict=True)]
    most = _maximum_loss(t, options)
    return tuple(min(loss, weight * most) for loss, weight in zip(raw, _WEIGHTS, strict=True))


def total(parts: Iterable[Losses]) -> Losses:
    """The expiries' parts summed in the order given, from zero."""
    array = [0.0] * len(SCENARIOS)
    for part in parts:
        array = [a + loss for a, loss in zip(array, part, strict=True)]
    return tuple(array)


def _maximum_loss(t: float, options: list[tuple[Unit, float]]) -> float:
    """Value now − the worst payoff at expiry, discounted; infinite when the payoff has no
    floor (net short calls)."""
    if sum(size for option, size in options if option.is_call) < 0:
        return math.inf
    worst = math.inf
    for price in [0.0, *(option.strike for option, _ in options)]:
        payoff = 0.0
        for option, size in options:
            intrinsic = price - option.strike if option.is_call else option.strike - price
            if intrinsic > 0:
                payoff += size * intrinsic
        worst = min(worst, payoff)
    discount = math.exp(-OPTION_RATE * t) if t > 0 else 1.0
    value = sum(size * option.value for option, size in options)
    return value - discount * worst


def worst(array: Losses) -> float:
    """The requirement of a risk array: its worst weighted loss, at least zero."""
    return max(0.0, *array)


def risk_array(exposures: Iterable[tuple[OptionInputs, float]]) -> Losses:
    """The weighted loss of a portfolio of one underlying's options, each `(inputs, signed
    size)`, in each of the sixteen scenarios."""
    return combine((unit(inputs), size) for inputs, size in exposures)


def requirement(exposures: Iterable[tuple[OptionInputs, float]]) -> float:
    """The portfolio's scenario margin: the worst of its risk array, at least zero."""
    return worst(risk_array(exposures))
