"""Liquidation and the insurance fund (docs/fidelity.md "Margin and liquidation").

A margin account is liquidated when its maintenance margin is positive and its equity is below
it. The accounts are, per user (risk.py):
- the cross part of the `perps` bucket: balance − isolated allocations + cross unrealized PnL,
  against 2/3 of the cross positions' initial margin;
- each isolated linear position on its own: its allocation + its unrealized PnL, against 2/3 of
  its initial margin at the mark;
- the `options` bucket: balance + the positions' value at the mark, against 2/3 of the
  positions' scenario margin (core/span.py, core/options_risk.py: the worst of sixteen price and
  volatility scenarios per underlying), so a volatility shock (a new surface) that raises the
  shorts' marks and their scenario losses can liquidate it.

`check()` runs after every price move (after the trigger watcher, so a stop-loss may spare its
account); `check_users()` after fills, for the users whose positions they changed. It visits
the users holding positions in registration order,
and per user the perps cross part, its isolated positions (in the order first opened) and the
options bucket. It repeats until a pass finds nothing, since a liquidation's fills may leave
one of its makers short. A liquidation is always full; its steps, each an event and ledger
entries:

1. `AccountLiquidated` (equity and maintenance when it began);
2. the account's open orders are cancelled (reason `liquidation`, status `untriggered` ones
   too): for a cross part, every order of the bucket (an isolated order filling later would
   draw on the cross part's cash); for an isolated position, its market's isolated orders;
3. each position is closed by an IOC reduce-only order through the normal order path
   (commands/trading.py), paying the normal taker fee: a market order on linear markets (it sweeps
   to the band's edge), an IOC limit at the mark ± the same 10 % on options (a market order there
   needs a price);
4. whatever the book did not take (or all of it, when the order is refused: no liquidity, a
   halted or expired market, no mark) is taken over by the insurance fund at the mark on the
   tick: a bookless trade without trading fee (`PositionLiquidated`; ledger `liquidation`: the
   PnL each side realizes against the clearing account, or the option premium at the mark);
5. the liquidation fee, 1 % of all notional closed in 3 and 4, goes to the fund
   (`LiquidationFeeCharged`, ledger `liquidation_fee`);
6. if the account's equity is then negative, the fund pays the shortfall back
   (`InsurancePaid`, ledger `insurance`). For an isolated position the account is its
   allocation: a loss beyond it never reaches the cross part, the fund covers it. There is no
   ADL: the fund's balance may go negative.

The fund is a reserved user (`INSURANCE_FUND_ADDRESS`), registered by the first liquidation,
so it can hold the positions it takes over: its `perps` and `options` buckets are the fund's
cash, its positions pay and receive funding and settle like anyone's, it is never liquidated
and invariants.py lets its buckets go negative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_EVEN, Decimal

from ocx_sim.engine.commands import records
from ocx_sim.engine.commands.trading import place_order
from ocx_sim.engine.core import emit
from ocx_sim.engine.core.accounts import INSURANCE_FUND_ADDRESS, Position, User
from ocx_sim.engine.core.ledger import CLEARING, EntryType
from ocx_sim.engine.core.markets import PRICE_BAND, MarketSpec, Venue
from ocx_sim.engine.core.money import USDC, ZERO, usdc
from ocx_sim.engine.core.orders import (
    CancelReason,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from ocx_sim.engine.core.risk import MAINTENANCE_FRACTION
from ocx_sim.engine.reactions.ticker import QuietMarks
from ocx_sim.engine.state import State
from ocx_sim.errors import OcxError

LIQUIDATION_FEE_RATE = Decimal("0.01")
"""Of the closed notional, to the insurance fund."""
_PERPS = Venue.PERPS.value
_OPTIONS = Venue.OPTIONS.value
_CROSS = MarginMode.CROSS
_ISOLATED = MarginMode.ISOLATED


class Liquidation:
    def __init__(self, state: State) -> None:
        self._state = state
        self._quiet: tuple[int, QuietMarks | None] | None = None

    # -- the fund ----------------------------------------------------------------------------

    def fund(self) -> User | None:
        """The insurance fund's user, once a liquidation has needed it."""
        return self._state.accounts.by_address.get(INSURANCE_FUND_ADDRESS)

    def _fund(self) -> User:
        state = self._state
        fund = self.fund()
        if fund is None:
            fund = User(state.ids.ulid(), INSURANCE_FUND_ADDRESS, state.now)
            state.accounts.add(fund)
            emit.user_registered(
                state.events,
                ts=state.now,
                user_id=fund.user_id,
                wallet_address=INSURANCE_FUND_ADDRESS,
            )
        return fund

    # -- finding accounts under maintenance --------------------------------------------------

    def check(self) -> None:
        """Liquidate every account under maintenance (module docstring), until none is."""
        while self._pass():
            pass

    def check_users(self, user_ids: Iterable[str]) -> None:
        """After fills: liquidate the accounts they left under maintenance (a market order
        sweeping a thin book, a limit far from the mark). Only these users are looked at; a
        liquidation's own fills then get the full pass."""
        state = self._state
        fund = self.fund()
        # Ids are ULIDs from one monotonic generator: sorted is registration order, the
        # order the full pass visits users in.
        users = [state.accounts.by_id[user_id] for user_id in sorted(user_ids)]
        for user in users:
            if user is not fund and self._check_user(user):
                # Its closing fills may have left others short: look at everyone.
                self.check()
                return

    def quiet_marks(self) -> QuietMarks | None:
        """Per market someone holds: how far its mark may move before any account could fall
        under maintenance (None when someone holds options: their value is not linear in a
        mark). Remembered until the ledger moves: every change of a balance or a position
        (a fill, funding, a transfer, a settlement) posts to it."""
        token = len(self._state.ledger)
        if self._quiet is None or self._quiet[0] != token:
            self._quiet = (token, self._quiet_marks())
        return self._quiet[1]

    def _quiet_marks(self) -> QuietMarks | None:
        """An account's equity − maintenance moves by at most |size| × (1 + 2/3 / maxLeverage)
        per unit of a linear position's mark (its PnL, and its maintenance at the mark). So an
        isolated position is safe while its mark moves less than its slack over that weight,
        and a cross part while each of its n markets moves less than 1/n of its slack over
        the weight: together they cannot use more than the slack."""
        state = self._state
        risk, now, markets = state.risk, state.now, state.catalog.markets
        fund = self.fund()
        room: dict[str, Decimal] = {}
        for user in state.accounts.by_id.values():
            if user is fund:
                continue
            cross: list[tuple[MarketSpec, Position]] = []
            for position in user.positions.values():
                if not position.size:
                    continue
                spec = markets[position.market_id]
                if spec.is_option:
                    return None
                if position.margin_mode is _ISOLATED:
                    own = risk.isolated(spec, position, now)
                    _narrow(room, spec, position, own.equity - own.maintenance)
                else:
                    cross.append((spec, position))
            if cross:
                slack = risk.cross_slack(user, _PERPS, now)
                assert slack is not None  # cross positions hold initial margin
                for spec, position in cross:
                    _narrow(room, spec, position, slack / len(cross))
        quiet = {}
        for market_id, distance in room.items():
            mark = state.prices.mark(markets[market_id], now)
            if mark is None or distance <= 0:
                # Valued at entry while there is no mark, or already at the edge: any move
                # needs a look.
                quiet[market_id] = (math.inf, -math.inf)
            else:
                quiet[market_id] = (float(mark - distance), float(mark + distance))
        return quiet

    def _pass(self) -> bool:
        fund = self.fund()
        liquidated = False
        # A snapshot: the first liquidation registers the fund.
        for user in list(self._state.accounts.by_id.values()):
            if user is fund or not user.positions:
                continue
            liquidated |= self._check_user(user)
        return liquidated

    def _check_user(self, user: User) -> bool:
        state = self._state
        risk, now = state.risk, state.now
        held = [p for p in user.positions.values() if p.size]
        if not held:
            return False
        liquidated = False
        if risk.cross_shortfall(user, _PERPS, now):
            self._liquidate_bucket(user, _PERPS)
            liquidated = True
        markets = state.catalog.markets
        options = False
        for position in held:
            spec = markets[position.market_id]
            if spec.is_option:
                options = True
            elif position.size and position.margin_mode is _ISOLATED:
                own = risk.isolated(spec, position, now)
                if own.equity < own.maintenance:
                    self._liquidate_isolated(user, spec, position, own.equity, own.maintenance)
                    liquidated = True
        # Without an option position the options bucket has nothing to maintain.
        if options and risk.cross_shortfall(user, _OPTIONS, now):
            self._liquidate_bucket(user, _OPTIONS)
            liquidated = True
        return liquidated

    # -- liquidating ---------------------------------------------------------------------------

    def _liquidate_bucket(self, user: User, bucket: str) -> None:
        """The cross part of `bucket`: every cross position in it (for options, every one)."""
        state = self._state
        view = state.risk.margin(user, Venue(bucket), state.now)
        emit.account_liquidated(
            state.events,
            ts=state.now,
            user_id=user.user_id,
            bucket=bucket,
            margin_mode=_CROSS._value_,
            market_id=None,
            equity=view.cross_equity,
            maintenance=view.cross_maintenance,
        )
        markets = state.catalog.markets
        self._cancel(user, lambda o: markets[o.market_id].bucket == bucket)
        notional = ZERO
        for position in list(user.positions.values()):
            spec = markets[position.market_id]
            in_cross = position.margin_mode is _CROSS or spec.is_option
            if position.size and spec.bucket == bucket and in_cross:
                notional += self._close(user, spec, position)
        self._charge_fee(user, bucket, notional)
        # What is left is the cross part's equity: the cash less the isolated allocations.
        balance = state.ledger.balance((user.user_id, bucket, USDC))
        allocated = _allocations(user) if bucket == _PERPS else ZERO
        self._cover(user, bucket, allocated - balance)

    def _liquidate_isolated(
        self,
        user: User,
        spec: MarketSpec,
        position: Position,
        equity: Decimal,
        maintenance: Decimal,
    ) -> None:
        state = self._state
        bucket = spec.bucket
        emit.account_liquidated(
            state.events,
            ts=state.now,
            user_id=user.user_id,
            bucket=bucket,
            margin_mode=_ISOLATED._value_,
            market_id=spec.id,
            equity=usdc(equity),
            maintenance=usdc(maintenance),
        )
        cross_before = self._cross_cash(user, bucket)
        self._cancel(user, lambda o: o.market_id == spec.id and o.margin_mode is _ISOLATED)
        notional = self._close(user, spec, position)
        self._charge_fee(user, bucket, notional)
        # The allocation has been released into the cross part's cash along with the losses
        # and fees: whatever that took from the cross part beyond the allocation is bad debt.
        # So is a bucket left below zero: a maker fee of the position's fills may have come
        # out of cross cash that was all allocated (fees are checked at placement, not held
        # while an order rests), and the allocation no longer stands behind it.
        balance = state.ledger.balance((user.user_id, bucket, USDC))
        self._cover(user, bucket, max(cross_before - self._cross_cash(user, bucket), -balance))

    def _cross_cash(self, user: User, bucket: str) -> Decimal:
        return self._state.ledger.balance((user.user_id, bucket, USDC)) - _allocations(user)

    def _cancel(self, user: User, doomed: Callable[[Order], bool]) -> None:
        for order in [o for o in user.open_orders.values() if doomed(o)]:
            records.end(self._state, order, OrderStatus.CANCELLED, CancelReason.LIQUIDATION)

    def _close(self, user: User, spec: MarketSpec, position: Position) -> Decimal:
        """Close the position, on the book as far as it goes, the rest to the fund; returns
        the notional closed."""
        notional = ZERO
        try:
            placed = place_order(self._state, user.user_id, self._closing_order(spec, position))
        except OcxError:
            # No liquidity, a halted or expired market, no mark: the fund takes it all.
            pass
        else:
            notional = sum((f.price * f.quantity for f in placed.fills), ZERO)
        if position.size:
            notional += self._fund_takes(user, spec, position)
        return notional

    def _closing_order(self, spec: MarketSpec, position: Position) -> OrderRequest:
        side = Side.SELL if position.size > 0 else Side.BUY
        quantity = abs(position.size)
        if not spec.is_option:
            return OrderRequest(
                spec.id,
                side,
                quantity,
                type=OrderType.MARKET,
                time_in_force=TimeInForce.IOC,
                reduce_only=True,
                margin_mode=position.margin_mode,
            )
        # Options have no band, so a market order must name its worst price: the linear
        # band's 10 % from the mark, on the tick.
        mark = self._state.risk.mark_or_entry(spec, position, self._state.now)
        if side is Side.SELL:
            ticks = max(spec.ticks_ceil(mark * (1 - PRICE_BAND)), 1)
        else:
            ticks = spec.ticks_floor(mark * (1 + PRICE_BAND))
        return OrderRequest(
            spec.id,
            side,
            quantity,
            price=spec.price(ticks),
            time_in_force=TimeInForce.IOC,
            reduce_only=True,
            margin_mode=position.margin_mode,
        )

    def _fund_takes(self, user: User, spec: MarketSpec, position: Position) -> Decimal:
        """The fund takes the position over at the mark on the tick (an index may fall between
        ticks; the tick keeps every amount in whole USDC quanta): a bookless trade, no fee."""
        state = self._state
        now, ledger = state.now, state.ledger
        fund = self._fund()
        mark = self._state.risk.mark_or_entry(spec, position, now)
        price = spec.price(int((mark / spec.tick).to_integral_value(rounding=ROUND_HALF_EVEN)))
        before = position.size
        signed = -before
        quantity = abs(before)
        realized = position.apply(signed, price, now)
        if position.margin_mode is _ISOLATED and not spec.is_option:
            position.reallocate(before, price, spec.max_leverage)
        fund_position = fund.position_for_update(spec.id, _CROSS, now)
        fund_realized = fund_position.apply(before, price, now)
        user.position_epoch += 1
        fund.position_epoch += 1
        ref = state.ids.ulid(now)
        user_account = (user.user_id, spec.bucket, USDC)
        fund_account = (fund.user_id, spec.bucket, USDC)
        notional = quantity * price
        if spec.is_option:
            # Premiums move in cash, as on the book (commands/settlement.py).
            payer, payee = (
                (user_account, fund_account) if signed > 0 else (fund_account, user_account)
            )
            ledger.move(now, payer, payee, notional, EntryType.LIQUIDATION, ref=ref)
        else:
            ledger.post(
                now,
                [
                    (user_account, realized, EntryType.LIQUIDATION),
                    (fund_account, fund_realized, EntryType.LIQUIDATION),
                    (CLEARING, -realized - fund_realized, EntryType.LIQUIDATION),
                ],
                ref=ref,
            )
        side = Side.BUY if signed > 0 else Side.SELL
        emit.position_liquidated(
            state.events,
            ts=now,
            user_id=user.user_id,
            market_id=spec.id,
            margin_mode=position.margin_mode._value_,
            side=side._value_,
            quantity=quantity,
            price=price,
            realized_pnl=realized,
        )
        return notional

    def _charge_fee(self, user: User, bucket: str, notional: Decimal) -> None:
        fee = usdc(notional * LIQUIDATION_FEE_RATE)
        if not fee:
            return
        state = self._state
        fund = self._fund()
        state.ledger.move(
            state.now,
            (user.user_id, bucket, USDC),
            (fund.user_id, bucket, USDC),
            fee,
            EntryType.LIQUIDATION_FEE,
        )
        emit.liquidation_fee_charged(
            state.events,
            ts=state.now,
            user_id=user.user_id,
            bucket=bucket,
            closed_notional=notional,
            fee=fee,
        )

    def _cover(self, user: User, bucket: str, shortfall: Decimal) -> None:
        """The fund pays a positive `shortfall` (negative equity left over) into the bucket."""
        if shortfall <= 0:
            return
        state = self._state
        fund = self._fund()
        state.ledger.move(
            state.now,
            (fund.user_id, bucket, USDC),
            (user.user_id, bucket, USDC),
            shortfall,
            EntryType.INSURANCE,
        )
        emit.insurance_paid(
            state.events, ts=state.now, user_id=user.user_id, bucket=bucket, amount=shortfall
        )


def _narrow(room: dict[str, Decimal], spec: MarketSpec, position: Position, slack: Decimal) -> None:
    weight = abs(position.size) * (1 + MAINTENANCE_FRACTION / spec.max_leverage)
    distance = slack / weight
    room[spec.id] = min(room.get(spec.id, distance), distance)


def _allocations(user: User) -> Decimal:
    """The isolated positions' allocations, all in the perps bucket (`Position.margin` is zero
    for every other position)."""
    return sum((p.margin for p in user.positions.values()), ZERO)
