"""Matching benchmark: one seeded 200,000-operation workload, three ways.

The workload (seeded, generated before timing): 60 % passive limit orders 1–50 ticks behind the
mid, 25 % cancels of a random live order, 10 % crossing IOC limit orders reaching 1–60 ticks
through the mid, 5 % market orders. Bids always rest below the mid and asks above it, so a
passive order is passive whatever happened before it.

1. baseline: the same workload on a plain reference book written here the obvious way (a
   bisect-sorted price list, a list per level, linear cancel within a level) — the yardstick
   run in this same process, so ratios are comparable across machines;
2. book: `ocx_sim.engine.core.book.Book` + `matching.match` alone;
3. exchange: `Exchange.place_order` / `cancel_order` for 8 funded users on BTC-PERP, with
   validation, risk, fees, the ledger and the event log.

Each is run `--repeat` times (default 5) and the median reported, with each figure's ratio to the
baseline. With `--json` the last line is `{"book_ops_per_s": …, "exchange_orders_per_s": …,
"book_vs_baseline": …, "exchange_vs_baseline": …}` (the exchange figure counts every operation of
the run, cancels included; the ratios are what compare across machines and runs). Targets on a
2-core machine: book ≥ 500,000 ops/s, exchange ≥ 50,000 orders/s. Timings are printed, never
asserted: machines here are shared and noisy.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ocx_sim import Bucket, Exchange, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from ocx_sim.engine.core.book import Book, BookOrder
from ocx_sim.engine.core.matching import match
from ocx_sim.engine.core.orders import Order
from ocx_sim.errors import OcxError

MID_TICKS = 6_800_000  # BTC-PERP at 68000.00 with a 0.01 tick
TICK = Decimal("0.01")
STEP = Decimal("0.0001")
USERS = 8

PASSIVE, CANCEL, CROSS, MARKET = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Op:
    kind: int
    owner: int
    is_buy: bool
    ticks: int
    lots: int
    pick: float
    """For a cancel: which live order, as a fraction of the live list."""


def workload(n: int, seed: int) -> list[Op]:
    rng = random.Random(seed)
    ops = []
    for _ in range(n):
        r = rng.random()
        owner = rng.randrange(USERS)
        is_buy = rng.random() < 0.5
        sign = 1 if is_buy else -1
        if r < 0.60:
            ops.append(
                Op(
                    PASSIVE,
                    owner,
                    is_buy,
                    MID_TICKS - sign * rng.randint(1, 50),
                    rng.randint(1, 100),
                    0.0,
                )
            )
        elif r < 0.85:
            ops.append(Op(CANCEL, owner, is_buy, 0, 0, rng.random()))
        elif r < 0.95:
            ops.append(
                Op(
                    CROSS,
                    owner,
                    is_buy,
                    MID_TICKS + sign * rng.randint(1, 60),
                    rng.randint(1, 100),
                    0.0,
                )
            )
        else:
            ops.append(Op(MARKET, owner, is_buy, 0, rng.randint(1, 200), 0.0))
    return ops


# The band for market orders: 5 % either side of the mid (docs/fidelity.md "Markets").
BAND_HIGH = MID_TICKS * 105 // 100
BAND_LOW = MID_TICKS * 95 // 100


def _pick(live: list[object], fraction: float) -> object:
    """Swap-remove a live entry chosen by `fraction`."""
    i = int(fraction * len(live))
    chosen = live[i]
    live[i] = live[-1]
    live.pop()
    return chosen


# -- 1. the reference book ---------------------------------------------------------------


class ReferenceBook:
    """The obvious implementation: sorted price lists (bisect) and a list of orders per level."""

    def __init__(self) -> None:
        self.bid_prices: list[int] = []  # ascending; best is last
        self.ask_prices: list[int] = []  # ascending; best is first
        self.levels: dict[tuple[bool, int], list[list[int]]] = {}  # [order id, lots]
        self.where: dict[int, tuple[bool, int]] = {}

    def add(self, oid: int, is_buy: bool, ticks: int, lots: int) -> None:
        key = (is_buy, ticks)
        level = self.levels.get(key)
        if level is None:
            level = self.levels[key] = []
            bisect.insort(self.bid_prices if is_buy else self.ask_prices, ticks)
        level.append([oid, lots])
        self.where[oid] = key

    def cancel(self, oid: int) -> None:
        key = self.where.pop(oid, None)
        if key is None:
            return
        level = self.levels[key]
        for i, entry in enumerate(level):
            if entry[0] == oid:
                del level[i]
                break
        if not level:
            self._drop(key)

    def _drop(self, key: tuple[bool, int]) -> None:
        del self.levels[key]
        prices = self.bid_prices if key[0] else self.ask_prices
        prices.pop(bisect.bisect_left(prices, key[1]))

    def take(self, is_buy: bool, limit: int, lots: int) -> int:
        filled = 0
        while lots:
            prices = self.ask_prices if is_buy else self.bid_prices
            if not prices:
                break
            best = prices[0] if is_buy else prices[-1]
            if (best > limit) if is_buy else (best < limit):
                break
            key = (not is_buy, best)
            level = self.levels[key]
            while level and lots:
                entry = level[0]
                q = min(lots, entry[1])
                entry[1] -= q
                lots -= q
                filled += q
                if not entry[1]:
                    level.pop(0)
                    del self.where[entry[0]]
            if not level:
                self._drop(key)
        return filled


def run_reference(ops: list[Op]) -> tuple[float, int]:
    book = ReferenceBook()
    live: list[object] = []
    filled = 0
    start = time.perf_counter()
    for oid, op in enumerate(ops):
        kind = op.kind
        if kind == PASSIVE:
            book.add(oid, op.is_buy, op.ticks, op.lots)
            live.append(oid)
        elif kind == CANCEL:
            if live:
                book.cancel(_pick(live, op.pick))  # type: ignore[arg-type]
        elif kind == CROSS:
            filled += book.take(op.is_buy, op.ticks, op.lots)
        else:
            filled += book.take(op.is_buy, BAND_HIGH if op.is_buy else BAND_LOW, op.lots)
    return time.perf_counter() - start, filled


# -- 2. the engine's book ----------------------------------------------------------------


def run_book(ops: list[Op]) -> tuple[float, int]:
    book = Book("BTC-PERP")
    # Each order is its own owner, so no self-trade prevention happens and the fills can be
    # checked against the reference book's (the exchange run below has 8 real owners).
    ids = [f"o{i}" for i in range(len(ops))]
    live: list[object] = []
    filled = 0
    start = time.perf_counter()
    for oid, op in enumerate(ops):
        kind = op.kind
        if kind == PASSIVE:
            order = BookOrder(ids[oid], ids[oid], op.is_buy, op.ticks, op.lots)
            match(book, order, op.ticks, rest=True)
            live.append(order)
        elif kind == CANCEL:
            if live:
                chosen = _pick(live, op.pick)
                assert isinstance(chosen, BookOrder)
                if chosen.level is not None:
                    book.remove(chosen)
        else:
            limit = op.ticks if kind == CROSS else (BAND_HIGH if op.is_buy else BAND_LOW)
            order = BookOrder(ids[oid], ids[oid], op.is_buy, limit, op.lots)
            try:
                match(book, order, limit, rest=False, market=kind == MARKET)
            except OcxError:
                continue
            filled += op.lots - order.remaining
    return time.perf_counter() - start, filled


# -- 3. the whole exchange ---------------------------------------------------------------


def exchange_requests(ops: list[Op]) -> list[OrderRequest | None]:
    """The workload as OrderRequests, built before timing (None for a cancel)."""
    out: list[OrderRequest | None] = []
    for op in ops:
        side = Side.BUY if op.is_buy else Side.SELL
        quantity = STEP * op.lots
        if op.kind == PASSIVE:
            out.append(OrderRequest("BTC-PERP", side, quantity, price=TICK * op.ticks))
        elif op.kind == CROSS:
            out.append(
                OrderRequest(
                    "BTC-PERP", side, quantity, price=TICK * op.ticks, time_in_force=TimeInForce.IOC
                )
            )
        elif op.kind == MARKET:
            out.append(OrderRequest("BTC-PERP", side, quantity, type=OrderType.MARKET))
        else:
            out.append(None)
    return out


def run_exchange(ops: list[Op], requests: list[OrderRequest | None]) -> tuple[float, int]:
    ex = Exchange.create(seed=1)
    users = []
    for i in range(USERS):
        user = ex.register_user(f"0x{i + 1:040x}")
        ex.sim.deposit(user.user_id, Decimal(100_000_000))
        ex.transfer(user.user_id, Bucket.WALLET, Bucket.PERPS, Decimal(100_000_000))
        users.append(user.user_id)
    live: list[object] = []
    place, cancel = ex.place_order, ex.cancel_order
    filled = 0
    start = time.perf_counter()
    for op, request in zip(ops, requests, strict=True):
        if request is None:
            if live:
                chosen = _pick(live, op.pick)
                assert isinstance(chosen, Order)
                if chosen.is_open:
                    cancel(chosen.owner, chosen.id)
            continue
        try:
            placed = place(users[op.owner], request)
        except OcxError:
            continue
        if op.kind == PASSIVE and placed.order.status is OrderStatus.OPEN:
            live.append(placed.order)
        filled += placed.order.filled_lots if op.kind != PASSIVE else 0
    elapsed = time.perf_counter() - start
    problems = ex.check_invariants()
    if problems:
        raise SystemExit(f"exchange invariants broken after the run: {problems[:3]}")
    return elapsed, filled


def median_rate(run: Callable[[], tuple[float, int]], n_ops: int, repeat: int) -> tuple[float, int]:
    times, filled = [], 0
    for _ in range(repeat):
        # The pre-built workload (hundreds of thousands of objects) is frozen out of the garbage
        # collector, so that it does not slow the collections the code under test causes.
        gc.collect()
        gc.freeze()
        try:
            elapsed, filled = run()
        finally:
            gc.unfreeze()
        times.append(elapsed)
    return n_ops / statistics.median(times), filled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()

    ops = workload(args.ops, args.seed)
    requests = exchange_requests(ops)
    baseline, baseline_filled = median_rate(lambda: run_reference(ops), args.ops, args.repeat)
    book, book_filled = median_rate(lambda: run_book(ops), args.ops, args.repeat)
    exchange, _ = median_rate(lambda: run_exchange(ops, requests), args.ops, args.repeat)

    print(f"workload: {args.ops} ops (seed {args.seed}), median of {args.repeat} runs")
    rows = [
        ("baseline reference book", baseline, "ops/s", f"filled {baseline_filled} lots"),
        ("ocx_sim book + matching", book, "ops/s", f"{book / baseline:.3f}x baseline"),
        ("ocx_sim Exchange", exchange, "orders/s", f"{exchange / baseline:.4f}x baseline"),
    ]
    for label, rate, unit, note in rows:
        print(f"{label:24}: {rate:12,.0f} {unit:9} ({note})")
    print("targets on a 2-core machine: book 500,000 ops/s, exchange 50,000 orders/s")
    if book_filled != baseline_filled:
        raise SystemExit(
            f"book filled {book_filled} lots but the reference filled {baseline_filled}"
        )
    if args.json:
        print(
            json.dumps(
                {
                    "book_ops_per_s": round(book),
                    "exchange_orders_per_s": round(exchange),
                    "book_vs_baseline": round(book / baseline, 3),
                    "exchange_vs_baseline": round(exchange / baseline, 4),
                }
            )
        )


if __name__ == "__main__":
    main()
