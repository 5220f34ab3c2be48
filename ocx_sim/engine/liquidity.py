"""Liquidity agents: a house market maker that keeps a ladder around each mark it is given.

The sandbox (`Exchange.start_sandbox`) puts one on every perpetual so that a client meets a
live book. Every `refresh_ms` of simulated time, if a rung was taken or the fair value moved
half a step, the agent replaces its orders on the market with `levels` bids and asks: the
first `spread_bps / 2` from the fair value (the mark; a perpetual's index) and each further one
`step_bps` beyond, `quantity` each, rounded away from it onto the tick. It goes through the
ordinary bulk-quote command (`quotes.py`, with cancel-all), so its orders match, pay fees and
hold margin like anyone's; its account (`Exchange.add_liquidity`) is funded once with enough
for years of quoting. A market without a mark (no index), halted or expired is skipped until
the next refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import partial

from ocx_sim.engine.accounts import User
from ocx_sim.engine.context import Context
from ocx_sim.engine.markets import MarketType
from ocx_sim.engine.money import BPS
from ocx_sim.engine.orders import Side
from ocx_sim.engine.quotes import QuoteRequest, Quoting
from ocx_sim.errors import OcxError


@dataclass(frozen=True, slots=True)
class LiquiditySpec:
    market_id: str
    quantity: Decimal
    levels: int = 3
    spread_bps: Decimal = Decimal(10)
    step_bps: Decimal = Decimal(5)
    refresh_ms: int = 10_000


class LiquidityAgent:
    def __init__(self, ctx: Context, quoting: Quoting, user: User, spec: LiquiditySpec) -> None:
        self._ctx = ctx
        self._quoting = quoting
        self.user = user
        self.spec = spec
        self._center: Decimal | None = None
        """Where the standing ladder was quoted around."""

    def start(self) -> None:
        self._refresh(self._ctx.now)

    def _refresh(self, due_ms: int) -> None:
        ctx, spec = self._ctx, self.spec
        market = ctx.catalog.markets[spec.market_id]
        ladder = self.ladder() if self._stale() else []
        if ladder:
            try:
                self._quoting.place_quotes(self.user.user_id, market.id, ladder, cancel_all=True)
                self._center = self._fair_value()
            except OcxError:
                # Halted, expired, or out of margin after a run of fills: sit this one out
                # rather than stop quoting for good.
                pass
        if not market.expired_at(due_ms + spec.refresh_ms):
            ctx.clock.schedule_at(
                due_ms + spec.refresh_ms, partial(self._refresh), name="liquidity"
            )

    def _fair_value(self) -> Decimal | None:
        """The price the ladder is centred on. A perpetual's is its index: quoting around the
        mark would feed the book's mid back into the mark's basis and hold it off the index."""
        ctx = self._ctx
        market = ctx.catalog.markets[self.spec.market_id]
        if market.type is MarketType.PERP:
            return ctx.prices.index(market.underlying)
        return ctx.prices.mark(market, ctx.now)

    def _stale(self) -> bool:
        """Whether the standing ladder needs replacing: a rung was taken, or the fair value
        moved more than half a step away from its centre. Re-quoting an unchanged ladder
        would only churn the book."""
        center, now = self._center, self._fair_value()
        if center is None or now is None:
            return True
        standing = sum(
            1 for o in self.user.open_orders.values() if o.market_id == self.spec.market_id
        )
        if standing < 2 * self.spec.levels:
            return True
        return abs(now - center) / center * BPS >= self.spec.step_bps / 2

    def ladder(self) -> list[QuoteRequest]:
        """The rungs around the fair value (none without one)."""
        spec = self.spec
        market = self._ctx.catalog.markets[spec.market_id]
        mark = self._fair_value()
        if mark is None:
            return []
        rungs = []
        for level in range(spec.levels):
            distance = (spec.spread_bps / 2 + spec.step_bps * level) / BPS
            bid = (mark * (1 - distance) / market.tick).to_integral_value(ROUND_FLOOR)
            ask = (mark * (1 + distance) / market.tick).to_integral_value(ROUND_CEILING)
            rungs.append(QuoteRequest(Side.BUY, market.tick * bid, spec.quantity))
            rungs.append(QuoteRequest(Side.SELL, market.tick * ask, spec.quantity))
        return rungs
