"""The invariants an exchange keeps, checked on demand (tests, `/_sim/invariants`).

- the ledger is conserved: every movement sums to zero, every balance equals its entries;
- the clearing account's balance is minus the sum of the open linear positions' cost bases;
- every book is uncrossed and consistent with its index;
- each user's open-order margin and spot locks equal the sum over the resting orders that
  hold them, and every open order rests on its book;
- no user bucket is negative.
"""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.engine.clearing import CLEARING
from ocx_sim.engine.context import Context
from ocx_sim.engine.ledger import SYSTEM
from ocx_sim.engine.markets import Venue
from ocx_sim.engine.money import USDC, ZERO


def check_invariants(ctx: Context) -> list[str]:
    """Every broken invariant, described; empty when all hold."""
    problems = ctx.ledger.check_invariants()
    for market_id, book in ctx.books.items():
        problems += [f"{market_id}: {p}" for p in book.check_invariants()]
    cost = sum(
        (
            p.cost
            for u in ctx.accounts
            for p in u.positions.values()
            if ctx.catalog.markets[p.market_id].venue is Venue.PERPS
        ),
        ZERO,
    )
    if ctx.ledger.balance(CLEARING) != -cost:
        problems.append(
            f"clearing balance {ctx.ledger.balance(CLEARING)} != -(sum of costs) {-cost}"
        )
    for user in ctx.accounts:
        margins: dict[str, Decimal] = {}
        locks: dict[str, Decimal] = {}
        for order in user.open_orders.values():
            spec = ctx.catalog.markets[order.market_id]
            margins[spec.bucket] = margins.get(spec.bucket, ZERO) + order.margin
            asset = USDC if order.is_buy else spec.base
            locks[asset] = locks.get(asset, ZERO) + order.lock
            if order.level is None:
                problems.append(f"open order {order.id} is not on its book")
        for venue, total in user.order_margin.items():
            if total != margins.get(venue, ZERO):
                problems.append(
                    f"{user.user_id} {venue} order margin {total} != {margins.get(venue, ZERO)}"
                )
        for asset, total in user.spot_locked.items():
            if total != locks.get(asset, ZERO):
                problems.append(
                    f"{user.user_id} locked {asset} {total} != {locks.get(asset, ZERO)}"
                )
    for (owner, bucket, asset), amount in ctx.ledger.balances.items():
        if owner != SYSTEM and amount < 0:
            problems.append(f"negative balance {amount} {asset} in {owner}/{bucket}")
    return problems
