"""The invariants an exchange keeps, checked on demand (tests, `/_sim/invariants`).

- the ledger is conserved: every movement sums to zero, every balance equals its entries;
- the clearing account's balance is minus the sum of the open linear positions' cost bases;
- every book is uncrossed and consistent with its index;
- each user's spot locks equal the sum over the resting orders that hold them, each linear
  ladder holds exactly its resting orders that are not reduce-only, the perps order margin is
  what those ladders hold worked out from scratch, and the options bucket's position and order
  margin (cached, core/options_risk.py) are its positions' and resting orders' scenario margin
  worked out from scratch; every open order
  rests on its book, but an `untriggered` one, which is off the book and holds nothing until
  it fires (commands/execution.py);
- every open reduce-only order (an untriggered one included) could only shrink its position:
  the position is on its other side and no smaller than the order's remainder (trimming,
  commands/settlement.py), and the user's reduce-only set is exactly those orders;
- an isolated position's allocation is never negative and zero when flat; a
  cross position (and any option position) has none;
- no user bucket is negative, but the insurance fund's: it takes the bad debt and may go
  negative, since there is no ADL (reactions/liquidation.py);
- every fact a command recorded has been answered by the reaction loop before the command
  returned (reactions/__init__.py): facts left over mean a command that skipped the loop;
- funding is zero-sum (reactions/funding.py): each period's payments on a perpetual (`FundingPaid`)
  sum to zero, the payers' side to minus the total its `FundingSettled` names, none is paid without
  its settlement, and so every perpetual's positions' `funding` sums to zero.
"""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.engine.core.accounts import INSURANCE_FUND_ADDRESS, User
from ocx_sim.engine.core.events import FundingPaid, FundingSettled
from ocx_sim.engine.core.ledger import CLEARING, SYSTEM
from ocx_sim.engine.core.markets import Venue
from ocx_sim.engine.core.money import USDC, ZERO
from ocx_sim.engine.core.order_margin import Ladder
from ocx_sim.engine.core.orders import MarginMode, OrderStatus
from ocx_sim.engine.state import State


def check_invariants(state: State) -> list[str]:
    """Every broken invariant, described; empty when all hold."""
    problems = state.ledger.check_invariants()
    if state.facts:
        problems.append(f"facts left unanswered by the reaction loop: {state.facts!r}")
    for market_id, book in state.books.items():
        problems += [f"{market_id}: {p}" for p in book.check_invariants()]
    cost = sum(
        (
            p.cost
            for u in state.accounts
            for p in u.positions.values()
            if state.catalog.markets[p.market_id].venue is Venue.PERPS
        ),
        ZERO,
    )
    if state.ledger.balance(CLEARING) != -cost:
        problems.append(
            f"clearing balance {state.ledger.balance(CLEARING)} != -(sum of costs) {-cost}"
        )
    for user in state.accounts:
        locks: dict[str, Decimal] = {}
        for order in user.open_orders.values():
            spec = state.catalog.markets[order.market_id]
            asset = USDC if order.is_buy else spec.base
            locks[asset] = locks.get(asset, ZERO) + order.lock
            if order.status is OrderStatus.UNTRIGGERED:
                if order.level is not None or order.lock or order.held_lots:
                    problems.append(f"untriggered order {order.id} is on its book or holds")
            elif order.level is None:
                problems.append(f"open order {order.id} is not on its book")
        for asset, total in user.spot_locked.items():
            if total != locks.get(asset, ZERO):
                problems.append(
                    f"{user.user_id} locked {asset} {total} != {locks.get(asset, ZERO)}"
                )
        problems += _order_margin_problems(state, user)
    problems += _allocation_problems(state)
    problems += _reduce_only_problems(state)
    problems += _open_count_problems(state)
    problems += _funding_problems(state)
    fund = state.accounts.by_address.get(INSURANCE_FUND_ADDRESS)
    exempt = {SYSTEM, fund.user_id if fund is not None else SYSTEM}
    for (owner, bucket, asset), amount in state.ledger.balances.items():
        if owner not in exempt and amount < 0:
            problems.append(f"negative balance {amount} {asset} in {owner}/{bucket}")
    return problems


def _order_margin_problems(state: State, user: User) -> list[str]:
    """The options bucket's position and order margin are those worked out from scratch,
    every option's scenarios included (core/options_risk.py); each resting linear order that
    is not reduce-only has its remainder in its ladder, and nothing else does; the perps
    bucket's order margin is the ladders' worked out from scratch (core/order_margin.py)."""
    problems = []
    now, options = state.now, Venue.OPTIONS.value
    fresh = state.risk.options.compute(user, now, fresh=True)
    held = state.risk.held(user, options, now).initial
    if held != fresh.position_margin:
        problems.append(f"{user.user_id} options position margin {held} != {fresh}")
    orders = state.risk.open_order_margin(user, options, now)
    if orders != fresh.order_margin:
        problems.append(f"{user.user_id} options order margin {orders} != {fresh}")
    ladders: dict[tuple[str, MarginMode], Ladder] = {}
    for order in user.open_orders.values():
        spec = state.catalog.markets[order.market_id]
        if spec.is_option:
            continue
        resting = order.level is not None and not spec.is_spot and not order.reduce_only
        if order.held_lots != (order.remaining if resting else 0):
            problems.append(f"order {order.id} holds {order.held_lots} lots in its ladder")
        if resting:
            ladder = ladders.setdefault((spec.id, order.margin_mode), Ladder.of(spec))
            ladder.add(order.is_buy, order.ticks, order.remaining)
    kept = {key: ladder for key, ladder in user.ladders.items() if not ladder.empty}
    for key in kept.keys() | ladders.keys():
        ours, theirs = kept.get(key), ladders.get(key)
        if ours is None or theirs is None or _levels(ours) != _levels(theirs):
            problems.append(f"{user.user_id} {key} ladder does not match its resting orders")
    expected = ZERO
    # Summed in the order the risk engine sums them, so that the two agree to the last digit.
    for market_id, mode in [*kept, *(key for key in ladders if key not in kept)]:
        rebuilt = ladders.get((market_id, mode))
        if rebuilt is not None:
            position = user.positions.get((market_id, mode))
            expected += rebuilt.margin(position.size if position is not None else ZERO)
    perps = state.risk.open_order_margin(user, Venue.PERPS.value, now)
    if perps != expected:
        problems.append(f"{user.user_id} perps order margin {perps} != {expected}")
    return problems


def _levels(ladder: Ladder) -> tuple[object, ...]:
    return (
        ladder.bids,
        ladder.asks,
        ladder.bid_prices,
        ladder.ask_prices,
        ladder.bid_lots,
        ladder.ask_lots,
        ladder.bid_notional,
        ladder.ask_notional,
    )


def _allocation_problems(state: State) -> list[str]:
    problems = []
    for user in state.accounts:
        for position in user.positions.values():
            spec = state.catalog.markets[position.market_id]
            isolated = position.margin_mode is MarginMode.ISOLATED and not spec.is_option
            if isolated and (position.margin < 0 or (not position.size and position.margin)):
                problems.append(f"{user.user_id} {position!r} holds allocation {position.margin}")
            elif not isolated and position.margin:
                problems.append(f"{user.user_id} {position!r} is not isolated but holds margin")
    return problems


def _open_count_problems(state: State) -> list[str]:
    """Each user's count of open orders per market (the cap, commands/admission.py) agrees
    with its open orders."""
    problems = []
    for user in state.accounts:
        counts: dict[str, int] = {}
        for order in user.open_orders.values():
            counts[order.market_id] = counts.get(order.market_id, 0) + 1
        if counts != {m: n for m, n in user.open_counts.items() if n}:
            problems.append(f"{user.user_id} open order counts differ from its open orders")
    return problems


def _reduce_only_problems(state: State) -> list[str]:
    problems = []
    for user in state.accounts:
        reducing = [o for o in user.open_orders.values() if o.reduce_only]
        if [o.id for o in reducing] != list(user.reduce_only_orders):
            problems.append(f"{user.user_id} reduce-only set differs from its open reduce-only")
        for order in reducing:
            position = user.position(order.market_id, order.margin_mode)
            size = position.size if position is not None else ZERO
            room = abs(size) / state.catalog.markets[order.market_id].step
            if not size or (size > 0) is order.is_buy or order.remaining > room:
                problems.append(f"reduce-only {order!r} could grow the position {size}")
    return problems


def _funding_problems(state: State) -> list[str]:
    paid: dict[tuple[int, str], list[Decimal]] = {}
    settled: dict[tuple[int, str], Decimal] = {}
    for event in state.events:
        if isinstance(event, FundingPaid):
            paid.setdefault((event.ts, event.market_id), []).append(event.amount)
        elif isinstance(event, FundingSettled):
            settled[(event.ts, event.market_id)] = event.amount
    problems = [
        f"funding paid on {market_id} at {ts} without a settlement"
        for ts, market_id in paid
        if (ts, market_id) not in settled
    ]
    for (ts, market_id), total in settled.items():
        amounts = paid.get((ts, market_id), [])
        net = sum(amounts, ZERO)
        paid_out = -sum((a for a in amounts if a < 0), ZERO)
        if net or paid_out != total:
            problems.append(
                f"funding on {market_id} at {ts} is not zero-sum: payments net {net}, "
                f"payers paid {paid_out} of the {total} settled"
            )
    totals: dict[str, Decimal] = {}
    for user in state.accounts:
        for position in user.positions.values():
            totals[position.market_id] = totals.get(position.market_id, ZERO) + position.funding
    problems += [
        f"{market_id} positions' funding sums to {total}, not zero"
        for market_id, total in totals.items()
        if total
    ]
    return problems
