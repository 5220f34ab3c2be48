"""Lifecycle benchmark: simulated days of the sandbox replayed as fast as the engine can.

The default world with the sandbox on (`Exchange.start_sandbox`): every underlying's index
walks once a simulated second, a liquidity agent keeps a ladder on every perpetual, and two
traders hold opposite BTC-PERP positions so that funding pays every five minutes and the
liquidation pass has accounts to watch. Futures and options expire and relist on the way.

The baseline, run in this same process, is the same span of a still world (no walk, no
agents): the cost of the clock's own timers (funding, expiries), so the ratio says what the
moving market costs on this machine. With `--json` the last line is
`{"sim_days_per_wall_s": …}`; the target is ≥ 1. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal

from ocx_sim import Bucket, Exchange, OrderRequest, Side

DAY_MS = 86_400_000


def _traders(exchange: Exchange) -> None:
    long = exchange.register_user("0x" + "a1" * 20).user_id
    short = exchange.register_user("0x" + "b2" * 20).user_id
    for user in (long, short):
        exchange.sim.deposit(user, Decimal(50_000))
        exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, Decimal(50_000))
    price = exchange.mark_price("BTC-PERP")
    assert price is not None
    price = price.quantize(Decimal("0.01"))
    exchange.place_order(short, OrderRequest("BTC-PERP", Side.SELL, Decimal("0.1"), price=price))
    exchange.place_order(long, OrderRequest("BTC-PERP", Side.BUY, Decimal("0.1"), price=price))


def run(days: float, sandbox: bool, seed: int) -> float:
    """Wall seconds to advance `days` simulated days."""
    exchange = Exchange.create(seed=seed)
    if sandbox:
        exchange.sim.start_sandbox()
        _traders(exchange)
    target = exchange.now_ms + int(days * DAY_MS)
    started = time.perf_counter()
    while exchange.now_ms < target:
        # Hour by hour, as a client polling a realtime world would see it.
        exchange.advance_to(min(target, exchange.now_ms + 3_600_000))
    elapsed = time.perf_counter() - started
    problems = exchange.check_invariants()
    if problems:
        raise SystemExit(f"invariants broken after the run: {problems[:3]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    baseline = run(args.days, sandbox=False, seed=args.seed)
    moving = run(args.days, sandbox=True, seed=args.seed)
    per_second = args.days / moving
    print(f"still world:   {args.days:g} simulated days in {baseline:.2f} s")
    print(f"sandbox world: {args.days:g} simulated days in {moving:.2f} s")
    print(f"sandbox: {per_second:.3f} simulated days per wall second (target ≥ 1)")
    print(f"ratio to the still world: {baseline / moving:.3f}")
    if args.json:
        print(json.dumps({"sim_days_per_wall_s": round(per_second, 3)}))


if __name__ == "__main__":
    main()
