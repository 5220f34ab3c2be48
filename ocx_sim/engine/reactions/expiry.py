"""Expiries: dated futures and options reaching their end, and the listings that replace them.

docs/fidelity.md "Prices, funding and expiries":
- at a market's expiry instant (08:00 UTC) its resting orders are cancelled (reason
  `market_expired`) and every position on it is settled, on the market's tick, at a price P:
  a future with a curve point (its underlying's curve quoted, core/index.py) at that point,
  F1 at the front's level (never F2's, where the index has rolled to); any other market at
  the underlying's index S at that instant. A future's position gets one `settlement` entry
  of (P − entryPrice) × signed quantity, an option's the payoff max(S − K, 0) (call) or
  max(K − S, 0) (put) × signed quantity; no fee. The market then leaves `/perps/markets`
  (`Catalog.linear`) and refuses orders (409 MARKET_EXPIRED);
- then the listing rule (`markets.due_listings`) runs for that instant, so the front and next
  futures and the option expiries always exist as time passes; option strikes sit around the
  forward of the index at that moment;
- a curve whose front future expired moves on (`index.py`).

If the index is unavailable at expiry (its feed withdrawn), settlement waits: it is retried
every minute until an index is back (docs/fidelity.md); the market is closed meanwhile. A
future with a curve point then settles at its point as it stood at expiry (the curve has
rolled on since); the others at the index that came back.

Invariant: settlement creates no money. A market's positions sum to zero, so its settlement
entries do too: they are one ledger movement against the clearing account, whose balance stays
minus the open linear positions' cost bases (core/ledger.py).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial

from ocx_sim.engine.commands import records
from ocx_sim.engine.core import emit
from ocx_sim.engine.core.ledger import CLEARING, AccountKey, EntryType
from ocx_sim.engine.core.markets import MarketSpec, MarketType, OptionType, due_listings
from ocx_sim.engine.core.money import USDC, ZERO
from ocx_sim.engine.core.orders import CancelReason, OrderStatus
from ocx_sim.engine.state import State

SETTLEMENT_RETRY_MS = 60_000


class Expiries:
    def __init__(self, state: State) -> None:
        self._state = state
        self._scheduled: set[int] = set()
        self.schedule()

    def schedule(self) -> None:
        """A timer at every listed market's expiry still ahead (one per instant)."""
        state = self._state
        for spec in state.catalog:
            due = spec.expiry_ms
            if due is not None and due > state.now and due not in self._scheduled:
                self._scheduled.add(due)
                state.clock.schedule_at(due, partial(self._expire), name=f"expiry {due}")

    def _expire(self, due_ms: int) -> None:
        state = self._state
        self._scheduled.discard(due_ms)
        expiring = [spec for spec in state.catalog if spec.expiry_ms == due_ms]
        for spec in expiring:
            self._cancel_orders(spec)
        curves = state.prices.process.curves
        points = {
            spec.id: point
            for spec in expiring
            if spec.type is MarketType.FUTURE
            and (point := curves[spec.underlying].point(spec.expiry_ms, due_ms, feed=False))
            is not None
        }
        self._settle_when_priced([spec.id for spec in expiring], due_ms, points)
        state.prices.process.roll_expired_fronts(due_ms)
        self._list(due_ms)
        state.prices.touch()
        state.facts.marks = True

    def _settle_when_priced(
        self, market_ids: list[str], due_ms: int, points: dict[str, Decimal]
    ) -> None:
        """Settle each market whose index is available, at its curve point (`points`, taken
        at expiry) or the index; retry the others in a minute."""
        state = self._state
        waiting = []
        for market_id in market_ids:
            spec = state.catalog.markets[market_id]
            index = state.prices.index(spec.underlying)
            if index is None:
                waiting.append(market_id)
            else:
                self._settle(spec, points.get(market_id, index))
        if waiting:
            state.clock.schedule_at(
                due_ms + SETTLEMENT_RETRY_MS,
                partial(self._settle_when_priced, waiting, points=points),
                name="expiry settlement retry",
            )

    def _cancel_orders(self, spec: MarketSpec) -> None:
        for user in self._state.accounts:
            for order in [o for o in user.open_orders.values() if o.market_id == spec.id]:
                records.end(self._state, order, OrderStatus.CANCELLED, CancelReason.MARKET_EXPIRED)

    def _settle(self, spec: MarketSpec, reference: Decimal) -> None:
        state = self._state
        now = state.now
        price = reference.quantize(spec.tick, rounding=ROUND_HALF_EVEN)
        payoff = _payoff(spec, price)
        postings: list[tuple[AccountKey, Decimal, EntryType]] = []
        for user in state.accounts:
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
                emit.position_settled(
                    state.events,
                    ts=now,
                    user_id=user.user_id,
                    market_id=spec.id,
                    margin_mode=mode.value,
                    quantity=size,
                    price=price,
                    amount=amount,
                )
        if postings:
            total = sum((amount for _, amount, _ in postings), ZERO)
            postings.append((CLEARING, -total, EntryType.SETTLEMENT))
            state.ledger.post(now, postings, ref=spec.id)
        emit.market_expired(state.events, ts=now, market_id=spec.id, price=price)

    def _list(self, now_ms: int) -> None:
        state = self._state
        indexes = {
            symbol: index
            for symbol in state.catalog.underlyings
            if (index := state.prices.index(symbol)) is not None
        }
        for spec in due_listings(state.catalog, now_ms, indexes):
            state.catalog.add(spec)
            emit.market_listed(state.events, ts=now_ms, market_id=spec.id)
        self.schedule()


def _payoff(spec: MarketSpec, price: Decimal) -> Decimal:
    """An option's value per unit at expiry; a future's settlement price itself."""
    if not spec.is_option:
        return price
    assert spec.strike is not None
    if spec.option_type is OptionType.CALL:
        return max(price - spec.strike, ZERO)
    return max(spec.strike - price, ZERO)
