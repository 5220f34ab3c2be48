"""The options bucket's margin figures: the scenario margin of positions and resting orders.

docs/fidelity.md "Fees and risk" and "Margin and liquidation":
- position initial margin = Σ over underlyings of SPAN(the positions) (core/span.py: the
  worst of sixteen scenarios, every option revalued in full); maintenance is 2/3 of it
  (risk.py);
- order margin = Σ over underlyings of max(0, SPAN(positions + every resting sell as if
  filled) − SPAN(positions)), plus every resting bid's remaining premium (quantity × limit
  price). Bids are left out of the scenarios: a long can lose at most its value, which enters
  equity once it is bought, so filling a bid can lower the available margin by no more than
  the premium it holds; holding the premium keeps "long options need only their premium".
  A resting order never frees margin (the max with zero): it may not fill;
- reduce-only orders hold nothing (they can only shrink a position), and neither does an
  order off the book (an `untriggered` stop).

SPAN is not additive, so the order margin cannot be a running per-order sum: it is worked out
on demand and cached per user on (instant, the marks' inputs' version, the user's position
epoch, the user's option-orders epoch: `User.option_orders_epoch`, bumped by
commands/records.py whenever a resting option order changes). An order's own effect is the
figure with it less the figure without it (`change`), worked out on its underlying only: the
figures of the others are the same in both.

Without an index an underlying's options cannot be revalued: they add no scenario risk, as
their marks fall back to the entry prices and order entry on them is refused meanwhile
(pricing.py, "no price is better than a wrong price").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from ocx_sim.engine.core import span
from ocx_sim.engine.core.accounts import Position, User
from ocx_sim.engine.core.markets import Catalog, MarketSpec
from ocx_sim.engine.core.money import ZERO, usdc
from ocx_sim.engine.core.orders import MarginMode, Order, Side
from ocx_sim.engine.core.pricing import Prices

_BUY = Side.BUY
Sizes = dict[str, Decimal]
"""Signed sizes by option market, of one underlying, in the order they were first met."""


class OptionLeg(NamedTuple):
    """An option order (or a strategy's leg): `quantity` on `side` at `price`."""

    spec: MarketSpec
    side: Side
    quantity: Decimal
    price: Decimal


class OptionFigures(NamedTuple):
    """A user's options bucket figures (USDC, each SPAN rounded once)."""

    position_margin: Decimal
    """Σ over underlyings of SPAN(positions)."""
    order_margin: Decimal
    """What the resting orders hold: the sells' scenario margin and the bids' premium."""
    bids: Decimal
    """The resting bids' premium (part of `order_margin`): cash they will pay if they fill."""


class OptionNeed(NamedTuple):
    """What a change of the resting orders does to the options bucket (`change`)."""

    margin: Decimal
    """The growth of the order margin."""
    bids: Decimal
    """The growth of the resting bids' premium."""


class OptionsRisk:
    def __init__(self, catalog: Catalog, prices: Prices) -> None:
        self._catalog = catalog
        self._prices = prices
        # An option's scenario values change only with its inputs: the instant and the marks'
        # version (an index, a surface, a future's mark).
        self._units: dict[str, tuple[int, int, span.Unit | None]] = {}
        self._spans: dict[tuple[tuple[str, Decimal], ...], Decimal] = {}
        """SPAN of a portfolio (its signed sizes in order), at `_spans_at`. The options market
        maker's look asks about the same portfolios over and over at one instant (the
        positions alone; the set it just placed is the next set's "before"), and each is
        sixteen scenarios over every option: worked out once per instant and marks."""
        self._expiries: dict[tuple[tuple[str, float], ...], span.Losses] = {}
        """One expiry's part of a risk array (`span.expiry_losses`) by its options and sizes
        in order, at `_spans_at`: a set placed on one book changes one expiry's part only."""
        self._spans_at: tuple[int, int] = (0, -1)
        self._figures: dict[str, tuple[int, int, int, int, OptionFigures]] = {}
        self._held: dict[str, tuple[int, list[Position]]] = {}
        """Per user, its option positions that may still hold anything (`_option_positions`),
        as of when it had that many positions."""

    def figures(self, user: User, now_ms: int) -> OptionFigures:
        """The user's options figures, cached until the instant, the marks, the positions or
        the resting option orders change."""
        version = self._prices.version
        cached = self._figures.get(user.user_id)
        if (
            cached is not None
            and cached[0] == now_ms
            and cached[1] == version
            and cached[2] == user.position_epoch
            and cached[3] == user.option_orders_epoch
        ):
            return cached[4]
        figures = self.compute(user, now_ms)
        self._figures[user.user_id] = (
            now_ms,
            version,
            user.position_epoch,
            user.option_orders_epoch,
            figures,
        )
        return figures

    def change(
        self,
        user: User,
        now_ms: int,
        added: Sequence[OptionLeg] = (),
        without: Collection[Order] = (),
    ) -> OptionNeed:
        """What resting `added` (and no longer resting `without`: the order a modify
        changes, the quotes a set replaces) does to the order margin and the bids' premium.
        Both sides are worked out over every underlying, so "before" is the user's cached
        `figures` (the admission reads them next): the other underlyings add the same exact
        decimal terms to both sides, so the difference is theirs alone."""
        before = self.figures(user, now_ms)
        ids = {order.id for order in without}
        after = self.compute(user, now_ms, added=added, without=ids)
        return OptionNeed(after.order_margin - before.order_margin, after.bids - before.bids)

    def compute(
        self,
        user: User,
        now_ms: int,
        *,
        fills: Iterable[tuple[MarketSpec, Decimal]] = (),
        added: Iterable[OptionLeg] = (),
        without: Collection[str] = (),
        only: Collection[str] | None = None,
        fresh: bool = False,
    ) -> OptionFigures:
        """The figures worked out now (module docstring): with `fills` (market, signed
        quantity) added to the positions, `added` resting and the orders whose ids are in
        `without` not; on the underlyings in `only` (None: all). `fresh` works every option's
        scenarios out again rather than reading them from the cache (invariants.py)."""
        markets = self._catalog.markets
        positions: dict[str, Sizes] = {}
        for position in self._option_positions(user, now_ms):
            size = position.size
            if not size:
                continue
            spec = markets[position.market_id]
            if only is None or spec.underlying in only:
                _add(positions, spec, size)
        for spec, signed in fills:
            _add(positions, spec, signed)
        sells: dict[str, Sizes] = {}
        bids = ZERO
        for order in user.open_orders.values():
            if order.level is None or order.reduce_only or order.id in without:
                continue
            spec = markets[order.market_id]
            if not spec.is_option or (only is not None and spec.underlying not in only):
                continue
            assert order.price is not None
            remaining = spec.quantity(order.remaining)
            if order.is_buy:
                bids += remaining * order.price
            else:
                _add(sells, spec, -remaining)
        for leg in added:
            if leg.side is _BUY:
                bids += leg.quantity * leg.price
            else:
                _add(sells, leg.spec, -leg.quantity)
        position_margin = ZERO
        order_margin = bids
        for underlying in [*positions, *(u for u in sells if u not in positions)]:
            held = positions.get(underlying, {})
            alone = self._span(held, now_ms, fresh)
            position_margin += alone
            selling = sells.get(underlying)
            if selling is not None:
                filled = dict(held)
                for market_id, size in selling.items():
                    filled[market_id] = filled.get(market_id, ZERO) + size
                order_margin += max(ZERO, self._span(filled, now_ms, fresh) - alone)
        return OptionFigures(position_margin, order_margin, bids)

    def _option_positions(self, user: User, now_ms: int) -> list[Position]:
        """The user's option positions in the order they were opened, but those of expired
        markets that are flat (settled: they can never hold anything again). A market maker's
        positions pile up over the days, one per option it ever traded, and `compute` runs on
        every quote; the list is made again only when the user has a position more."""
        count = len(user.positions)
        cached = self._held.get(user.user_id)
        if cached is not None and cached[0] == count:
            return cached[1]
        markets = self._catalog.markets
        held = [
            position
            for position in user.positions.values()
            if (spec := markets[position.market_id]).is_option
            and (position.size or not spec.expired_at(now_ms))
        ]
        self._held[user.user_id] = (count, held)
        return held

    def legs_requirement(
        self, user: User, legs: Sequence[tuple[MarketSpec, Side, Decimal, Decimal]], now_ms: int
    ) -> Decimal:
        """`Risk.options_requirement`: the drop in available margin if the legs filled at
        once, on the legs' underlyings only (the others' figures do not change)."""
        fills = []
        equity = ZERO
        for spec, side, quantity, price in legs:
            signed = quantity if side is _BUY else -quantity
            fills.append((spec, signed))
            equity += signed * (self._prices.require_mark(spec, now_ms) - price)
        only = {spec.underlying for spec, *_ in legs}
        before = self.compute(user, now_ms, only=only)
        after = self.compute(user, now_ms, fills=fills, only=only)
        held = after.position_margin + after.order_margin
        return usdc(held - before.position_margin - before.order_margin - equity)

    def requirement(self, sizes: Sizes, now_ms: int) -> Decimal:
        """SPAN of one underlying's options, signed sizes by market, in USDC."""
        return self._span(sizes, now_ms, False)

    def _span(self, sizes: Sizes, now_ms: int, fresh: bool) -> Decimal:
        """SPAN of `sizes`, remembered for the instant and the marks' inputs (`_spans`): a
        pure function of the sizes in their order and of the units, which change only with
        those, so a figure read back is the one worked out again, to the bit."""
        if fresh:
            return self._work_out_span(sizes, now_ms, fresh)
        at = (now_ms, self._prices.version)
        if at != self._spans_at:
            self._spans.clear()
            self._expiries.clear()
            self._spans_at = at
        key = tuple(sizes.items())
        known = self._spans.get(key)
        if known is None:
            known = self._spans[key] = self._work_out_span(sizes, now_ms, fresh)
        return known

    def _work_out_span(self, sizes: Sizes, now_ms: int, fresh: bool) -> Decimal:
        markets = self._catalog.markets
        rows: list[tuple[span.Unit, float, str]] = []
        for market_id, size in sizes.items():
            if not size:
                continue
            option = self.unit(markets[market_id], now_ms, fresh)
            if option is not None:
                rows.append((option, float(size), market_id))
        if not rows:
            return ZERO
        return usdc(Decimal(repr(span.worst(span.total(self._parts(rows, fresh))))))

    def _parts(self, rows: list[tuple[span.Unit, float, str]], fresh: bool) -> list[span.Losses]:
        """Each expiry's part of the risk array (`span.combine`, expiry by expiry), those
        already worked out at this instant and marks read back (`_expiries`)."""
        expiries: dict[float, list[tuple[span.Unit, float, str]]] = {}
        for row in rows:
            expiries.setdefault(row[0].t, []).append(row)
        parts = []
        for t, group in expiries.items():
            options = [(option, size) for option, size, _ in group]
            if fresh:
                parts.append(span.expiry_losses(t, options))
                continue
            key = tuple((market_id, size) for _, size, market_id in group)
            part = self._expiries.get(key)
            if part is None:
                part = self._expiries[key] = span.expiry_losses(t, options)
            parts.append(part)
        return parts

    def unit(self, spec: MarketSpec, now_ms: int, fresh: bool = False) -> span.Unit | None:
        """The option's value and weighted loss per long unit in each scenario
        (core/span.py); None without an index."""
        version = self._prices.version
        cached = None if fresh else self._units.get(spec.id)
        if cached is not None and cached[0] == now_ms and cached[1] == version:
            return cached[2]
        inputs = self._prices.option_inputs(spec, now_ms)
        option = None if inputs is None else span.unit(inputs)
        if not fresh:
            self._units[spec.id] = (now_ms, version, option)
        return option


def _add(book: dict[str, Sizes], spec: MarketSpec, size: Decimal) -> None:
    sizes = book.setdefault(spec.underlying, {})
    sizes[spec.id] = sizes.get(spec.id, ZERO) + size


def closes(
    user: User,
    spec: MarketSpec,
    side: Side,
    margin_mode: MarginMode,
    quantity: Decimal,
    without: Collection[str] = (),
) -> bool:
    """Whether an option order of `quantity` on `side` would only close the position: the
    position is on its other side and still holds `quantity` once the user's other resting
    orders on `side` of the market (but those in `without`, reduce-only ones aside) have
    closed their share of it (docs/fidelity.md "Fees and risk")."""
    position = user.positions.get((spec.id, margin_mode))
    if position is None or not position.size or (position.size > 0) is (side is _BUY):
        return False
    left = abs(position.size)
    for order in user.open_orders.values():
        if (
            order.market_id == spec.id
            and order.side is side
            and order.margin_mode is margin_mode
            and order.level is not None
            and not order.reduce_only
            and order.id not in without
        ):
            left -= spec.quantity(order.remaining)
    return quantity <= left
