"""Funding: every perpetual's periodic payment between longs and shorts.

docs/fidelity.md "Prices, funding and expiries":
- every 300 000 ms on clock boundaries (unix ms multiples of the interval);
- the rate of a period = clamp(P × 300 000 / H, ±0.0025), kept to 10 decimals (half-even),
  where P is the time-weighted average of (mark − index) / index over the period and H the
  premium's convergence horizon in ms: the underlying's `funding_horizon_hours`, 8 by default
  (a scenario's catalog term `fundingHorizonHours`). A premium held for H costs about itself,
  whatever the period: 0.1 % over 8 hours, not 0.1 % every five minutes;
- each position pays rate × size × mark (the mark at the boundary); longs pay when the rate is
  positive, shorts when it is negative; OCX takes no side;
- `funding1hPct` = rate × 12 × 100.

The premium is piecewise constant between price changes, so `accrue` (called before every change of
an index, mark or basis, and at each boundary) adds premium × elapsed time to the period's sum: the
average is not sampled. Like the walk and the basis it follows every second, the premium is a float
(not money: docs/architecture.md "The engine"); the average is read into a Decimal once, scaled and
rounded once to 10 decimals, and the payments are Decimal. Reading the running rate accrues nothing,
so that what a client looks at never changes what is paid.

The boundary also records every listed linear market's mark on the tape (core/tape.py), and so
does the world's first instant (a timer at it, so a scenario set up at that instant is in it):
the 24-hour ticker compares a mark with the one recorded 24 h earlier.

Invariant (zero-sum): a period's payments sum to exactly zero. Longs and shorts hold the same
open interest, so both sides owe the same total before rounding; that total is rounded once to
USDC's 6 decimals and shared out within each side by the largest-remainder method, so every
payment is on the USDC quantum and the two sides' sums are equal to the last micro-dollar.
Payments are one ledger movement per market and period (type `funding`); each position keeps
the signed sum of its payments in `funding` (`fundingPayment` on the wire).

An override (`override_next`: a scenario's or a test's "the next settlement pays rate r")
replaces the computed rate of one perpetual's next settlement only, within the same cap and on
the same 10 decimals; the premium still accrues, and the period after it is computed as usual.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from functools import partial

from ocx_sim.engine.core import emit
from ocx_sim.engine.core.accounts import Position
from ocx_sim.engine.core.ledger import AccountKey, EntryType
from ocx_sim.engine.core.markets import (
    FUNDING_INTERVAL_MS,
    FUNDING_MAX_RATE_BPS,
    MarketSpec,
    MarketType,
)
from ocx_sim.engine.core.money import BPS, USDC, USDC_QUANTUM, ZERO
from ocx_sim.engine.core.orders import MarginMode
from ocx_sim.engine.state import State
from ocx_sim.errors import invalid

MAX_RATE = FUNDING_MAX_RATE_BPS / BPS
RATE_DECIMALS = 10
RATE_QUANTUM = Decimal(1).scaleb(-RATE_DECIMALS)
PERIODS_PER_HOUR = 3_600_000 // FUNDING_INTERVAL_MS
HOUR_MS = 3_600_000


def next_boundary(now_ms: int) -> int:
    """The first funding instant strictly after `now_ms`."""
    return (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


def period_rate(average_premium: Decimal, horizon_ms: int) -> Decimal:
    """A period's rate from its average premium P: clamp(P × interval / H, ±cap), on 10
    decimals, half-even (module docstring)."""
    rate = average_premium * FUNDING_INTERVAL_MS / horizon_ms
    rate = max(-MAX_RATE, min(MAX_RATE, rate))
    return rate.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


def check_rate(rate: Decimal, field: str = "rate") -> Decimal:
    """A funding rate a settlement could pay: within the ±25 bps cap, on 10 decimals, as a
    computed rate is (400 naming `field` otherwise)."""
    if not (rate.is_finite() and -MAX_RATE <= rate <= MAX_RATE):
        raise invalid(field, f"must be between -{MAX_RATE} and {MAX_RATE} (the cap a period)")
    if rate != rate.quantize(RATE_QUANTUM):
        raise invalid(field, f"has more than {RATE_DECIMALS} decimals")
    return rate


_ISOLATED = MarginMode.ISOLATED


class Funding:
    def __init__(self, state: State) -> None:
        self._state = state
        self._perps = [m for m in state.catalog if m.type is MarketType.PERP]
        self._horizons = {
            spec.id: state.catalog.underlyings[spec.underlying].funding_horizon_hours * HOUR_MS
            for spec in self._perps
        }
        """Per perpetual, H: its underlying's convergence horizon in ms."""
        self._period_start = state.now
        self._accrued_to = state.now
        self._premium_ms: dict[str, float] = {}
        """Per perpetual, Σ premium × ms over the period so far."""
        self.last_rates: dict[str, Decimal] = {}
        """Per perpetual, the rate of the last settled period."""
        self._overrides: dict[str, Decimal] = {}
        """Per perpetual, the rate its next settlement pays instead of the computed one."""
        self._catalog_size = 0
        self._linear: list[MarketSpec] = []
        """The catalog's linear markets, as of when it had `_catalog_size` markets."""

    def start(self) -> None:
        """Schedule the first settlement, at the next boundary, and the first record of the
        marks, at once."""
        clock = self._state.clock
        clock.schedule_at(clock.now_ms, partial(self._record_marks), name="marks")
        self._schedule(next_boundary(self._state.now))

    def _schedule(self, due_ms: int) -> None:
        self._state.clock.schedule_at(due_ms, partial(self._settle_due), name="funding")

    def _settle_due(self, due_ms: int) -> None:
        self.settle(due_ms)
        self._record_marks(due_ms)
        self._schedule(next_boundary(due_ms))
        # No price moved, but funding erodes collateral (docs/fidelity.md "Margin and
        # liquidation"): the liquidation must look at the new balances.
        self._state.facts.marks = True

    def _record_marks(self, now_ms: int) -> None:
        """The listed linear markets' marks, on the tape (those without one are left out)."""
        state = self._state
        catalog = state.catalog
        if len(catalog) != self._catalog_size:
            # Markets are only ever added (listings): the linear ones are picked out again
            # then, not at every boundary from among the options.
            self._catalog_size = len(catalog)
            self._linear = [spec for spec in catalog if spec.is_linear]
        prices = state.prices
        marks = []
        for spec in self._linear:
            if not spec.expired_at(now_ms) and (mark := prices.mark(spec, now_ms)) is not None:
                marks.append((spec.id, mark))
        state.tape.record_marks(now_ms, marks)

    @property
    def next_at(self) -> int:
        return next_boundary(self._state.now)

    @property
    def perps(self) -> list[MarketSpec]:
        return self._perps

    def accrue(self, now_ms: int) -> None:
        """Add the premium that held since the last accrual up to `now_ms`. Call it before
        anything changes a perpetual's mark or index."""
        elapsed = now_ms - self._accrued_to
        if elapsed <= 0:
            return
        prices = self._state.prices
        sums = self._premium_ms
        for spec in self._perps:
            premium = prices.premium_f(spec)
            if premium:
                sums[spec.id] = sums.get(spec.id, 0.0) + premium * elapsed
        self._accrued_to = now_ms

    def sums(self) -> list[float]:
        """Each perpetual's Σ premium × ms so far this period, in the order of `perps`: the
        ticker accrues second by second on these (the same additions `accrue` would make,
        in the same order, so floats round the same) and `store`s them back."""
        return [self._premium_ms.get(spec.id, 0.0) for spec in self._perps]

    def store(self, accrued_to: int, sums: list[float]) -> None:
        self._premium_ms = {s.id: v for s, v in zip(self._perps, sums, strict=True) if v}
        self._accrued_to = accrued_to

    @property
    def accrued_to(self) -> int:
        return self._accrued_to

    def override_next(self, spec: MarketSpec, rate: Decimal) -> None:
        """Make the perpetual's next settlement pay `rate` (checked by `check_rate`) instead
        of the computed one; a second call before it replaces the first."""
        self._overrides[spec.id] = check_rate(rate)

    def current_rate(self, spec: MarketSpec) -> Decimal:
        """The rate the running period would settle at now (`fundingRate` in the stats): an
        override if one is set, since that is what the period will pay."""
        override = self._overrides.get(spec.id)
        if override is not None:
            return override
        now = self._state.now
        premium = self._state.prices.premium_f(spec)
        horizon = self._horizons[spec.id]
        elapsed = now - self._period_start
        if elapsed <= 0:
            return _rate(premium, horizon)
        pending = premium * (now - self._accrued_to)
        return _rate((self._premium_ms.get(spec.id, 0.0) + pending) / elapsed, horizon)

    def settle(self, boundary_ms: int) -> None:
        """Close the period ending at `boundary_ms`: every perpetual's rate, and its payments."""
        self.accrue(boundary_ms)
        elapsed = boundary_ms - self._period_start
        sums, self._premium_ms = self._premium_ms, {}
        self._period_start = boundary_ms
        if elapsed <= 0:
            return
        for spec in self._perps:
            rate = self._overrides.pop(spec.id, None)
            if rate is None:
                rate = _rate(sums.get(spec.id, 0.0) / elapsed, self._horizons[spec.id])
            self.last_rates[spec.id] = rate
            self._pay(spec, rate)

    def _pay(self, spec: MarketSpec, rate: Decimal) -> None:
        state = self._state
        mark = state.prices.mark(spec, state.now)
        held: list[tuple[str, Position]] = [
            (user.user_id, position)
            for user in state.accounts
            for (market_id, _), position in user.positions.items()
            if market_id == spec.id and position.size
        ]
        if not rate or mark is None or not held:
            return
        longs = [(u, p) for u, p in held if p.size > 0]
        shorts = [(u, p) for u, p in held if p.size < 0]
        open_interest = sum((p.size for _, p in longs), ZERO)
        total = (open_interest * mark * abs(rate)).quantize(USDC_QUANTUM, ROUND_HALF_EVEN)
        payers, receivers = (longs, shorts) if rate > 0 else (shorts, longs)
        postings: list[tuple[AccountKey, Decimal, EntryType]] = []
        for side, sign in ((payers, -1), (receivers, 1)):
            for (user_id, position), amount in zip(side, _shares(total, side), strict=True):
                signed = sign * amount
                position.funding += signed
                if position.margin_mode is _ISOLATED:
                    # An isolated position's allocation pays and earns its funding, so its
                    # equity (allocation + unrealized PnL) follows it to liquidation. What
                    # an exhausted allocation cannot pay (a position whose profit kept it
                    # above maintenance) falls to the cross part (docs/fidelity.md "Prices,
                    # funding and expiries").
                    position.margin = max(ZERO, position.margin + signed)
                postings.append(((user_id, spec.bucket, USDC), signed, EntryType.FUNDING))
                emit.funding_paid(
                    state.events,
                    ts=state.now,
                    user_id=user_id,
                    market_id=spec.id,
                    margin_mode=position.margin_mode.value,
                    amount=signed,
                )
        for user_id, _ in held:
            state.accounts.by_id[user_id].position_epoch += 1
        state.ledger.post(state.now, postings, ref=f"funding:{spec.id}:{state.now}")
        emit.funding_settled(
            state.events,
            ts=state.now,
            market_id=spec.id,
            rate=rate,
            mark=mark,
            open_interest=open_interest,
            amount=total,
        )


def _rate(average_premium: float, horizon_ms: int) -> Decimal:
    return period_rate(Decimal(repr(average_premium)), horizon_ms)


def _shares(total: Decimal, side: list[tuple[str, Position]]) -> list[Decimal]:
    """`total` split in proportion to the positions' sizes, each share on the USDC quantum
    and the shares summing to `total` exactly (largest remainder; ties to the earlier)."""
    sizes = [abs(p.size) for _, p in side]
    whole = sum(sizes, ZERO)
    exact = [total * size / whole for size in sizes]
    shares = [e.quantize(USDC_QUANTUM, rounding=ROUND_FLOOR) for e in exact]
    left = int((total - sum(shares, ZERO)) / USDC_QUANTUM)
    by_remainder = sorted(range(len(side)), key=lambda i: shares[i] - exact[i])
    for i in by_remainder[:left]:
        shares[i] += USDC_QUANTUM
    return shares
