"""The house options market maker: the board's bid and ask on the options near the money.

docs/fidelity.md "Sandbox". One agent per underlying that lists options (`Sim.add_option_liquidity`;
the bundled `sandbox` scenario runs one on BTC) so that a client can buy and sell options, and
strategies of them, against a live book. It quotes the options of its nearest `expiries`
listed expiries whose strike lies within ± `moneyness` of that expiry's forward
(`Prices.forward`): on each, one bid at the board's bid and one ask at the board's ask
(core/board.py: Black-76 at the mark's iv ∓ 1 vol point, rounded half-even onto the tick),
`quantity` each. A side under one tick is left out, and so is a bid that is not below the ask
(deep in or out of the money, where both round to the same price), so a book never quotes a
crossed or a zero price.

Every `refresh_ms` of simulated time it looks again, book by book, and touches only what moved:
- a side whose price moved with the board (the index, the clock, the surface), or whose order
  was taken, even in part, or cancelled, is replaced at the board's price with a whole
  `quantity`: a partial fill is topped up on the next look, never left stranded;
- a side still resting untouched at the board's price stands (no churn);
- a book that left the set (its strike drifted out of the window, or a nearer expiry took its
  expiry's place) has its quotes cancelled. An expired market's orders were cancelled by its
  expiry (reactions/expiry.py), and a newly listed expiry enters the set by itself.

A kept side rests at its board price, and the new bid is always below the new ask, so the
agent never meets its own order. Without an index there is no forward and no board: the quotes
stand until the next look (order entry on options answers 503 meanwhile anyway).

It goes through the ordinary bulk-quote command (commands/quotes.py, one call per book that
changed, replacing only the sides that moved), so its orders match, pay fees and hold margin
like anyone's; its account is the house market maker's (`Sim.add_liquidity`), whose `options`
bucket is funded for years of quoting. A halted book, or a refusal of any kind, is sat out
until the next look.

Cost: the set is a few dozen books (3 expiries × the strikes within ±10 % × call and put),
priced one by one (`Prices.option_inputs` and two Black-76 values each: the whole board, with
greeks, is not built). The board moves by a cent or more on most books between looks (time
decay alone moves the short expiries), so a look replaces some sixty orders: about 5 ms and 130
events. Its looks cannot be judged in floats by the price tick (an option's price is not a
linear function of the index), so its refresh timer, deferrable like the other agents' (they
fire after the ordinary timers at their instant, in the agents' order), stops the tick's batch
at every look (`quiet_refresh` answers None). `Sim.start_sandbox` leaves it out unless asked
(`options=True`), so the lifecycle benchmark and the pinned sandbox week measure the
perpetuals' agents alone.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from ocx_sim.engine.commands.quotes import QuoteRequest, place_quotes
from ocx_sim.engine.commands.trading import cancel_order
from ocx_sim.engine.core.accounts import User
from ocx_sim.engine.core.board import bid_ask, listed
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.orders import Order, OrderStatus, Side
from ocx_sim.engine.reactions.ticker import QuietRefresh
from ocx_sim.engine.state import State
from ocx_sim.errors import OcxError

_OPEN = OrderStatus.OPEN
"""An order in this status has not been filled at all (a partial fill changes it)."""
_SIDES = (Side.BUY, Side.SELL)


@dataclass(frozen=True, slots=True)
class OptionLiquiditySpec:
    underlying: str
    quantity: Decimal = Decimal(1)
    """Contracts per side."""
    expiries: int = 3
    """How many of the nearest listed expiries it quotes."""
    moneyness: Decimal = Decimal("0.10")
    """Strikes within forward × (1 ± moneyness)."""
    refresh_ms: int = 10_000


Quote = tuple[Decimal | None, Decimal | None]
"""A book's (bid, ask), None for a side left out."""


class OptionLiquidityAgent:
    def __init__(self, state: State, user: User, spec: OptionLiquiditySpec, order: int) -> None:
        self._state = state
        self.user = user
        self.spec = spec
        self._books: dict[str, list[Order]] = {}
        """Per option market in the set, its resting quotes (bid, then ask), in board order."""
        self._order = order
        """Its place among the agents (its deferrable timer's order among theirs)."""

    def start(self) -> None:
        self._refresh(self._state.now)

    def quiet_refresh(self) -> QuietRefresh | None:
        """Its looks cannot be judged ahead from the index (module docstring): the tick
        stops at each."""
        return None

    def quotes(self) -> dict[str, Quote] | None:
        """What the board wants quoted now, per option market of the set (board order); None
        without an index."""
        state, spec = self._state, self.spec
        now = state.now
        options = listed(state.catalog, spec.underlying, now)
        forwards: dict[int, float] = {}
        for option in options:
            expiry = option.expiry_ms
            assert expiry is not None
            if expiry in forwards:
                continue
            if len(forwards) == spec.expiries:
                break
            forward = state.prices.forward(spec.underlying, expiry, now)
            if forward is None:
                return None
            forwards[expiry] = forward.price
        band = float(spec.moneyness)
        wanted: dict[str, Quote] = {}
        for option in options:
            forward_price = forwards.get(option.expiry_ms or 0)
            if forward_price is None:
                break  # board order: every later option is of a later expiry
            assert option.strike is not None
            if abs(float(option.strike) - forward_price) <= band * forward_price:
                wanted[option.id] = self._board_quote(option)
        return wanted

    def _board_quote(self, option: MarketSpec) -> Quote:
        """The board's bid and ask of `option` (core/board.py), with the sides the agent
        cannot quote left out (module docstring)."""
        inputs = self._state.prices.option_inputs(option, self._state.now)
        if inputs is None:
            return None, None
        tick = option.tick
        bid, ask = bid_ask(option, inputs)
        if ask < tick:
            return None, None
        return (bid if tick <= bid < ask else None), ask

    def _refresh(self, due_ms: int) -> None:
        wanted = self.quotes()
        if wanted is not None:
            for market_id in [m for m in self._books if m not in wanted]:
                self._withdraw(market_id)
            markets = self._state.catalog.markets
            for market_id, quote in wanted.items():
                self._quote(markets[market_id], quote)
        self._state.clock.schedule_deferrable(
            due_ms + self.spec.refresh_ms, partial(self._refresh), "liquidity", self._order
        )

    def _quote(self, option: MarketSpec, quote: Quote) -> None:
        """Bring the book's quotes to `quote`, replacing only the sides that moved or were
        taken."""
        resting = self._books.get(option.id, [])
        kept: list[Order] = []
        doomed: list[Order] = []
        new: list[QuoteRequest] = []
        for side, price in zip(_SIDES, quote, strict=True):
            order = next((o for o in resting if o.side is side), None)
            if order is not None and order.status is _OPEN and order.price == price:
                kept.append(order)
                continue
            if order is not None and order.is_open:
                doomed.append(order)
            if price is not None:
                new.append(QuoteRequest(side, price, self.spec.quantity))
        if not new and not doomed:
            self._books[option.id] = kept
            return
        # Halted, or out of margin after a run of fills: sit this one out rather than stop
        # quoting the book for good.
        with contextlib.suppress(OcxError):
            placed = place_quotes(self._state, self.user.user_id, option.id, new, replacing=doomed)
            self._books[option.id] = kept + placed.orders

    def _withdraw(self, market_id: str) -> None:
        """Cancel the quotes of a book that left the set (cancels work on halted books)."""
        for order in self._books.pop(market_id):
            if order.is_open:
                cancel_order(self._state, self.user.user_id, order.id)
