"""Expiries: dated futures and options reaching their end, and the listings that replace them.

DECISIONS.md "Markets and prices" and "Wire details" (SPEC.md §7.5, §7.6):
- at a market's expiry instant (08:00 UTC) its resting orders are cancelled (reason
  `market_expired`) and every position on it is settled against the underlying's index S at
  that instant, on the market's tick: a future's position gets one `settlement` entry of
  (S − entryPrice) × signed quantity, an option's the payoff max(S − K, 0) (call) or
  max(K − S, 0) (put) × signed quantity; no fee. The market then leaves `/perps/markets`
  (`Catalog.linear`) and refuses orders (409 MARKET_EXPIRED);
- then the listing rule (`markets.due_listings`) runs for that instant, so the front and next
  futures and the option expiries always exist as time passes; option strikes sit around the
  forward of the index at that moment;
- a curve whose front future expired moves on (`index.py`).

If the index is unavailable at expiry (its feed withdrawn), settlement waits: it is retried
every minute until an index is back (docs/fidelity.md); the market is closed meanwhile.

Invariant: settlement creates no money. A market's positions sum to zero, so its settlement
entries do too: they are one ledger movement against the clearing account, whose balance stays
minus the open linear positions' cost bases (ledger.py).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial

from ocx_sim.engine.clearing import CLEARING, Clearing
from ocx_sim.engine.context import Context
from ocx_sim.engine.events import MarketExpired, MarketListed, PositionSettled
from ocx_sim.engine.ledger import AccountKey, EntryType
from ocx_sim.engine.markets import MarketSpec, OptionType, due_listings
from ocx_sim.engine.money import USDC, ZERO
from ocx_sim.engine.orders import CancelReason, OrderStatus

SETTLEMENT_RETRY_MS = 60_000


class Expiries:
    def __init__(self, ctx: Context, clearing: Clearing, prices_moved: Callable[[], None]) -> None:
        self._ctx = ctx
        self._clearing = clearing
        self._prices_moved = prices_moved
        """`Lifecycle.prices_moved`: the watchers, then the tick if something now moves."""
        self._scheduled: set[int] = set()
        self.schedule()

    def schedule(self) -> None:
        """A timer at every listed market's expiry still ahead (one per instant)."""
        ctx = self._ctx
        for spec in ctx.catalog:
            due = spec.expiry_ms
            if due is not None and due > ctx.now and due not in self._scheduled:
                self._scheduled.add(due)
                ctx.clock.schedule_at(due, partial(self._expire), name=f"expiry {due}")

    def _expire(self, due_ms: int) -> None:
        ctx = self._ctx
        self._scheduled.discard(due_ms)
        expiring = [spec for spec in ctx.catalog if spec.expiry_ms == due_ms]
        for spec in expiring:
            self._cancel_orders(spec)
        self._settle_when_priced([spec.id for spec in expiring], due_ms)
        ctx.prices.process.roll_expired_fronts(due_ms)
        self._list(due_ms)
        ctx.prices.touch()
        self._prices_moved()

    def _settle_when_priced(self, market_ids: list[str], due_ms: int) -> None:
        """Settle each market whose index is available; retry the others in a minute."""
        ctx = self._ctx
        waiting = []
        for market_id in market_ids:
            spec = ctx.catalog.markets[market_id]
            index = ctx.prices.index(spec.underlying)
            if index is None:
                waiting.append(market_id)
            else:
                self._settle(spec, index)
        if waiting:
            ctx.clock.schedule_at(
                due_ms + SETTLEMENT_RETRY_MS,
                partial(self._settle_when_priced, waiting),
                name="expiry settlement retry",
            )

    def _cancel_orders(self, spec: MarketSpec) -> None:
        for user in self._ctx.accounts:
            for order in [o for o in user.open_orders.values() if o.market_id == spec.id]:
                self._clearing.end(order, OrderStatus.CANCELLED, CancelReason.MARKET_EXPIRED)

    def _settle(self, spec: MarketSpec, index: Decimal) -> None:
        ctx = self._ctx
        now = ctx.now
        price = index.quantize(spec.tick, rounding=ROUND_HALF_EVEN)
        payoff = _payoff(spec, price)
        postings: list[tuple[AccountKey, Decimal, EntryType]] = []
        for user in ctx.accounts:
            for (market_id, mode), position in user.positions.items():
                if market_id != spec.id or not position.size:
                    continue
                size = position.size
                value = payoff * size
                # A future pays its PnL against the entry; an option's premium changed hands
                # when it traded, so it receives or pays the payoff alone.
                amount = value if spec.is_option else value - position.cost
                postings.append(((user.user_id, spec.bucket, USDC), amount, EntryType.SETTLEMENT))
                position.realized_pnl += value - position.cost
                # An isolated position's allocation goes with it (accounts.py: none when flat).
                position.size = position.cost = position.margin = ZERO
                position.updated_at = now
                user.position_epoch += 1
                ctx.emit(PositionSettled, user.user_id, spec.id, mode.value, size, price, amount)
        if postings:
            total = sum((amount for _, amount, _ in postings), ZERO)
            postings.append((CLEARING, -total, EntryType.SETTLEMENT))
            ctx.ledger.post(now, postings, ref=spec.id)
        ctx.emit(MarketExpired, spec.id, price)

    def _list(self, now_ms: int) -> None:
        ctx = self._ctx
        indexes = {
            symbol: index
            for symbol in ctx.catalog.underlyings
            if (index := ctx.prices.index(symbol)) is not None
        }
        for spec in due_listings(ctx.catalog, now_ms, indexes):
            ctx.catalog.add(spec)
            ctx.emit(MarketListed, spec.id)
        self.schedule()


def _payoff(spec: MarketSpec, price: Decimal) -> Decimal:
    """An option's value per unit at expiry; a future's settlement price itself."""
    if not spec.is_option:
        return price
    assert spec.strike is not None
    if spec.option_type is OptionType.CALL:
        return max(price - spec.strike, ZERO)
    return max(spec.strike - price, ZERO)
