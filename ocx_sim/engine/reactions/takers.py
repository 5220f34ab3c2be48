"""House takers: a seeded flow of market and IOC orders on a market, so that resting quotes
get filled in a sandbox nobody else trades in.

Orders arrive at random, a Poisson flow of `per_minute` orders a simulated minute on average
(exponential gaps, at least 1 ms). Each takes, in this order, from the agent's own random
stream (seeded from the world's seed and the agent's name, so the same seed gives the same
flow whatever happens to the orders): its side (a buy with probability `buy_share`), its size
(uniform in whole lots from `min_quantity` to `max_quantity`), its kind (an IOC limit order
with probability `ioc_share`, `limit_bps` beyond the fair value, else a market order; an
option, which has no price band, takes a market order as an IOC at the best opposite price)
and, for
an options agent, its option (uniform among the underlying's listed options whose book has
the side it takes).

The orders go through the ordinary order command, so they match, pay fees and hold margin like
anyone's. One the exchange refuses (an empty book side, a halt, no mark) is simply not placed:
the flow goes on. The agent's account (`Sim.add_takers`) is funded once with enough for
years of trading. A linear market's flow ends when the market expires.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ocx_sim.engine.commands.trading import place_order
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.markets import MarketSpec, MarketType
from ocx_sim.engine.core.money import BPS
from ocx_sim.engine.core.orders import OrderRequest, OrderType, Side, TimeInForce
from ocx_sim.engine.state import State
from ocx_sim.errors import OcxError

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class TakerSpec:
    """A flow of taking orders on `market_id`, or on the options of `underlying`."""

    market_id: str | None
    per_minute: Decimal
    min_quantity: Decimal
    max_quantity: Decimal
    buy_share: Decimal = Decimal("0.5")
    ioc_share: Decimal = Decimal(0)
    limit_bps: Decimal = Decimal(10)
    underlying: str | None = None

    @property
    def name(self) -> str:
        """The agent's name: its random stream's, and its timers'."""
        return f"takers:{self.market_id or f'{self.underlying} options'}"


class TakerAgent:
    def __init__(self, state: State, user: User, spec: TakerSpec) -> None:
        self._state = state
        self.user = user
        self.spec = spec
        self._random = state.ids.stream(spec.name)
        self._rate = float(spec.per_minute) / MINUTE_MS
        """Orders per simulated millisecond."""

    def start(self) -> None:
        self._next(self._state.now)

    def _next(self, after_ms: int) -> None:
        gap = max(1, round(self._random.expovariate(self._rate)))
        self._state.clock.schedule_at(after_ms + gap, self._arrive, self.spec.name)

    def _arrive(self, due_ms: int) -> None:
        spec, draw = self.spec, self._random
        side = Side.BUY if draw.random() < spec.buy_share else Side.SELL
        fraction, ioc, pick = draw.random(), draw.random() < spec.ioc_share, draw.random()
        market = self._market(side, pick)
        if market is not None:
            low, high = market.to_lots(spec.min_quantity), market.to_lots(spec.max_quantity)
            lots = low + min(high - low, int(fraction * (high - low + 1)))
            request = self._request(market, side, market.step * lots, ioc)
            if request is not None:
                # Refused (an empty side, a halt, no mark): not placed, and the flow goes on.
                with contextlib.suppress(OcxError):
                    place_order(self._state, self.user.user_id, request)
        linear = None if spec.market_id is None else self._state.catalog.markets[spec.market_id]
        if linear is None or not linear.expired_at(due_ms):
            self._next(due_ms)

    def _market(self, side: Side, pick: float) -> MarketSpec | None:
        """The market this order goes to: the agent's, or one of its underlying's options
        with something to take on `side`."""
        state = self._state
        if self.spec.market_id is not None:
            return state.catalog.markets[self.spec.market_id]
        now = state.now
        takeable = [
            option
            for option in state.catalog.options(self.spec.underlying)
            if not option.expired_at(now)
            and (
                state.book(option.id).best_ask
                if side is Side.BUY
                else state.book(option.id).best_bid
            )
            is not None
        ]
        return takeable[int(pick * len(takeable))] if takeable else None

    def _request(
        self, market: MarketSpec, side: Side, quantity: Decimal, ioc: bool
    ) -> OrderRequest | None:
        if not ioc and market.is_option:
            # An option has no price band, so a market order must name its worst price: the
            # taker takes the best level there is.
            book = self._state.book(market.id)
            touch = book.best_ask if side is Side.BUY else book.best_bid
            if touch is None:
                return None
            price = market.price(touch)
            return OrderRequest(
                market.id, side, quantity, price=price, time_in_force=TimeInForce.IOC
            )
        if not ioc:
            return OrderRequest(market.id, side, quantity, type=OrderType.MARKET)
        fair = self._fair_value(market)
        if fair is None:
            return None
        beyond = 1 + (self.spec.limit_bps / BPS if side is Side.BUY else -self.spec.limit_bps / BPS)
        rounding = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
        ticks = (fair * beyond / market.tick).to_integral_value(rounding)
        if ticks < 1:
            return None
        return OrderRequest(
            market.id, side, quantity, price=market.tick * ticks, time_in_force=TimeInForce.IOC
        )

    def _fair_value(self, market: MarketSpec) -> Decimal | None:
        """A perpetual's index (as the house market maker quotes around it), another market's
        mark."""
        prices = self._state.prices
        if market.type is MarketType.PERP:
            return prices.index(market.underlying)
        return prices.mark(market, self._state.now)
