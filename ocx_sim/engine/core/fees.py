"""Trading fees: the tier schedule, each user's rolling 30-day volume, maker and taker roles.

Linear markets (spot, perpetuals, futures) charge by the tier the user's rolling 30-day USD volume
reaches (docs/fidelity.md "Fees and risk": 0 → 2/5 bps, 1 M → 1/4.5, 10 M → 0/4, 50 M → −0.5/3.5,
maker/taker). A negative maker rate is a rebate paid to the maker. Options charge 2 bps (maker) or 3
bps (taker) of the underlying notional, capped at 12.5 % of the premium. Fees are USDC, quantized
once (money.py), and charged to the venue bucket of the market. A market whose terms fix its fees
(`MarketSpec.flat_fees`, a world's catalog terms) charges its own maker and taker rates at every
tier (options: capped as above).

Volume is the USD notional (price × quantity) of every fill the user took part in, as maker or
taker, on the simulated clock; a fill leaves the window 30 days after it happened.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.money import BPS, ZERO, bps_of, usdc
from ocx_sim.engine.core.orders import FeeRole

WINDOW_MS = 30 * 86_400_000
_MAKER = FeeRole.MAKER


@dataclass(frozen=True, slots=True)
class FeeTier:
    min_30d_volume_usd: Decimal
    maker_bps: Decimal
    taker_bps: Decimal
    maker_rate: Decimal = field(init=False, repr=False, compare=False)
    """`maker_bps` as a fraction, computed once (fees are charged on every fill)."""
    taker_rate: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "maker_rate", self.maker_bps / BPS)
        object.__setattr__(self, "taker_rate", self.taker_bps / BPS)

    def bps(self, role: FeeRole) -> Decimal:
        return self.maker_bps if role is FeeRole.MAKER else self.taker_bps


PERP_FEE_TIERS: tuple[FeeTier, ...] = (
    FeeTier(Decimal(0), Decimal(2), Decimal(5)),
    FeeTier(Decimal(1_000_000), Decimal(1), Decimal("4.5")),
    FeeTier(Decimal(10_000_000), Decimal(0), Decimal(4)),
    FeeTier(Decimal(50_000_000), Decimal("-0.5"), Decimal("3.5")),
)


@dataclass(frozen=True, slots=True)
class OptionFees:
    maker_bps: Decimal = Decimal(2)
    taker_bps: Decimal = Decimal(3)
    premium_cap: Decimal = Decimal("0.125")
    """The fee never exceeds this fraction of the premium."""

    def bps(self, role: FeeRole) -> Decimal:
        return self.maker_bps if role is FeeRole.MAKER else self.taker_bps

    def fee(
        self, role: FeeRole, quantity: Decimal, premium: Decimal, underlying: Decimal | None
    ) -> Decimal:
        """bps of the underlying notional (quantity × the index), capped at a fraction of the
        premium; without an index the premium stands in for it."""
        index = premium if underlying is None else underlying
        by_notional = bps_of(quantity * index, self.bps(role))
        return min(by_notional, usdc(quantity * premium * self.premium_cap))


class VolumeTracker:
    """Each user's rolling 30-day traded notional."""

    def __init__(self) -> None:
        self._fills: dict[str, deque[tuple[int, Decimal]]] = {}
        self._totals: dict[str, Decimal] = {}
        # The last answer per user, by instant: read for every order and both sides of every
        # fill, while it changes only when the user trades or time passes.
        self._answers: dict[str, tuple[int, Decimal]] = {}

    def record(self, user_id: str, now_ms: int, notional: Decimal) -> None:
        fills = self._fills.get(user_id)
        if fills is None:
            fills = self._fills[user_id] = deque()
        if fills and fills[-1][0] == now_ms:
            # Fills of one instant share an entry, which keeps busy users' windows short.
            fills[-1] = (now_ms, fills[-1][1] + notional)
        else:
            fills.append((now_ms, notional))
        self._totals[user_id] = self._totals.get(user_id, ZERO) + notional
        answer = self._answers.get(user_id)
        if answer is not None and answer[0] == now_ms:
            # Same instant, same window: the answer grows by the fill.
            self._answers[user_id] = (now_ms, answer[1] + notional)
        else:
            self._answers.pop(user_id, None)

    def volume(self, user_id: str, now_ms: int) -> Decimal:
        """The notional of the user's fills in the 30 days up to `now_ms` (exclusive start)."""
        answer = self._answers.get(user_id)
        if answer is not None and answer[0] == now_ms:
            return answer[1]
        fills = self._fills.get(user_id)
        if not fills:
            return ZERO
        horizon = now_ms - WINDOW_MS
        total = self._totals[user_id]
        while fills and fills[0][0] <= horizon:
            total -= fills.popleft()[1]
        self._totals[user_id] = total
        self._answers[user_id] = (now_ms, total)
        return total


class FeeSchedule:
    """The tier table for linear markets and the options schedule."""

    def __init__(
        self, tiers: tuple[FeeTier, ...] = PERP_FEE_TIERS, options: OptionFees | None = None
    ) -> None:
        if not tiers or tiers[0].min_30d_volume_usd != 0:
            raise ValueError("the first fee tier must start at zero volume")
        self.tiers = tuple(sorted(tiers, key=lambda t: t.min_30d_volume_usd))
        self._thresholds = [t.min_30d_volume_usd for t in self.tiers]
        self.options = options or OptionFees()
        self._flat: dict[str, FeeTier] = {}
        """A market's fixed rates as a tier, by market id (made at its first fill)."""
        self._lock_factor = 1 + max(t.taker_bps for t in self.tiers) / BPS

    def tier_for(self, volume_30d: Decimal) -> FeeTier:
        return self.tiers[max(0, bisect_right(self._thresholds, volume_30d) - 1)]

    def tier_of(self, spec: MarketSpec, volume_30d: Decimal) -> FeeTier:
        """The rates a linear fill on `spec` pays: the market's own when its terms fix them,
        else the tier the user's volume reaches."""
        if not spec.flat_fees:
            return self.tier_for(volume_30d)
        tier = self._flat.get(spec.id)
        if tier is None:
            tier = self._flat[spec.id] = FeeTier(ZERO, spec.maker_bps, spec.taker_bps)
        return tier

    def options_for(self, spec: MarketSpec) -> OptionFees:
        """The options schedule, or the option market's own rates (capped alike)."""
        if not spec.flat_fees:
            return self.options
        return OptionFees(spec.maker_bps, spec.taker_bps, self.options.premium_cap)

    def dearest_taker_bps(self, spec: MarketSpec) -> Decimal:
        """The most a taker can pay on `spec`, at any tier."""
        if spec.flat_fees:
            return max(spec.taker_bps, ZERO)
        return max(t.taker_bps for t in self.tiers)

    def spot_lock_factor(self, spec: MarketSpec) -> Decimal:
        """What a spot bid locks per USDC of cost: 1 + the dearest taker rate on `spec`, so no
        later tier change can leave a fill unpaid."""
        if spec.flat_fees:
            return 1 + self.dearest_taker_bps(spec) / BPS
        return self._lock_factor

    def linear_fee(self, notional: Decimal, role: FeeRole, tier: FeeTier) -> Decimal:
        """The fee of a linear fill (negative: a rebate), quantized to USDC."""
        return usdc(notional * (tier.maker_rate if role is _MAKER else tier.taker_rate))
