"""Options benchmark: the BTC board and an options margin check, beside a Black-76 yardstick.

1. yardstick: a plain Black-76 loop written here the obvious way (`math` only): the value and
   the four greeks of every option on the board, from inputs prepared beforehand — run in this
   same process, so the ratios compare across machines;
2. board: `Exchange.board("BTC")`, every listed option (seven expiries, about 190 options at
   the default start) with its mark, bid and ask, iv and greeks. Each build is at a fresh
   instant (the clock advanced 1 ms, untimed, before it), so no per-instant cache of marks or
   forwards helps;
3. margin: a user holding 20 option positions (calls and puts, long and short, on five strikes
   near the money of each of the four nearest expiries) asks for one more option order:
   `Exchange.preview_order`, the order path's own checks (terms, prices, fee, the options
   bucket's margin) as a dry run, each at a fresh instant (so every position is marked and
   margined again). Beside it, `Exchange.margin(user, Venue.OPTIONS)`, the bucket's figures
   alone. Both go through the public `Exchange`, so they measure whatever margin rule is in
   place.

Every figure is the median of `--repeat` runs, in milliseconds per board, per check and per
yardstick loop, with each one's ratio to the yardstick. With `--json` the last line is
`{"board_ms": …, "margin_ms": …, "margin_view_ms": …, "yardstick_ms": …,
"board_vs_yardstick": …, "margin_vs_yardstick": …}`. Targets: a full board in at most 20 ms, a
margin check in at most 2 ms. Timings are printed, never asserted: machines here are shared and
noisy.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from ocx_sim import Bucket, Exchange, OrderRequest, Side, TimeInForce
from ocx_sim.engine.core.board import Board
from ocx_sim.engine.core.markets import Venue

UNDERLYING = "BTC"
POSITIONS = 20
RATE = 0.05
"""r of the exchange's Black-76 (docs/fidelity.md "Options")."""
YEAR_MS = 365 * 86_400_000
FUNDS = Decimal(1_000_000)
SIZE = Decimal("0.25")

Inputs = tuple[bool, float, float, float, float]
"""(is_call, forward, strike, vol, years): one option's Black-76 inputs."""


def black76(is_call: bool, f: float, k: float, vol: float, t: float) -> tuple[float, ...]:
    """Value, delta, gamma, vega (per vol point) and theta (per day) the obvious way."""
    discount = math.exp(-RATE * t)
    sqrt_t = math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * vol * vol * t) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    n1, n2 = 0.5 * math.erfc(-d1 / math.sqrt(2)), 0.5 * math.erfc(-d2 / math.sqrt(2))
    density = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    if is_call:
        value = discount * (f * n1 - k * n2)
        delta = discount * n1
    else:
        value = discount * (k * (1 - n2) - f * (1 - n1))
        delta = -discount * (1 - n1)
    gamma = discount * density / (f * vol * sqrt_t)
    vega = discount * f * density * sqrt_t / 100
    theta = (RATE * value - discount * f * density * vol / (2 * sqrt_t)) / 365
    return value, delta, gamma, vega, theta


def yardstick_inputs(board: Board, now_ms: int) -> list[Inputs]:
    inputs = []
    for entry in board.entries:
        spec = entry.spec
        assert spec.expiry_ms is not None and spec.strike is not None
        forward = board.forwards[spec.expiry_ms].price
        t = (spec.expiry_ms - now_ms) / YEAR_MS
        is_call = spec.id.endswith("-C")
        inputs.append((is_call, forward, float(spec.strike), float(entry.iv), t))
    return inputs


def timed_ms(run: Callable[[], object], n: int, repeat: int, before: Callable[[], object]) -> float:
    """Median over `repeat` runs of the mean milliseconds of `run`, each call after an untimed
    `before` (a fresh instant)."""
    runs = []
    for _ in range(repeat):
        gc.collect()
        total = 0.0
        for _ in range(n):
            before()
            start = time.perf_counter()
            run()
            total += time.perf_counter() - start
        runs.append(total / n * 1000)
    return statistics.median(runs)


def portfolio(exchange: Exchange) -> tuple[str, OrderRequest]:
    """A user with `POSITIONS` option positions, and the one more order it previews.

    Each position is the user's resting limit order at the board's mark, filled by the
    simulator's outside trader (`Sim.outside_trade`), alternately long and short."""
    user = exchange.register_user("0x" + "c3" * 20).user_id
    exchange.sim.deposit(user, FUNDS)
    exchange.transfer(user, Bucket.WALLET, Bucket.OPTIONS, FUNDS)
    board = exchange.board(UNDERLYING)
    chosen = []
    for expiry in board.expiries[:4]:
        forward = board.forwards[expiry].price
        nearest = sorted(
            (e for e in board.entries if e.spec.expiry_ms == expiry),
            key=lambda e: abs(float(e.spec.strike or 0) - forward),
        )
        chosen += nearest[: POSITIONS // 4]
    for n, entry in enumerate(chosen):
        side = Side.BUY if n % 2 == 0 else Side.SELL
        request = OrderRequest(entry.spec.id, side, SIZE, price=entry.mark)
        exchange.place_order(user, request)
        other = Side.SELL if side is Side.BUY else Side.BUY
        exchange.sim.outside_trade(entry.spec.id, other, entry.mark, SIZE)
    held = [p for p in exchange.positions(user) if exchange.market(p.market_id).is_option]
    if len(held) != POSITIONS:
        raise SystemExit(f"the portfolio holds {len(held)} option positions, not {POSITIONS}")
    last = chosen[0]
    one_more = OrderRequest(
        last.spec.id, Side.SELL, SIZE, price=last.ask, time_in_force=TimeInForce.GTC
    )
    return user, one_more


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=40, help="boards per run")
    parser.add_argument("--checks", type=int, default=400, help="margin checks per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()

    exchange = Exchange.create(seed=1)
    board = exchange.board(UNDERLYING)
    options = len(board.entries)
    inputs = yardstick_inputs(board, exchange.now_ms)

    def loop() -> None:
        for option in inputs:
            black76(*option)

    def tick() -> None:
        exchange.advance_by(1)

    yardstick = timed_ms(loop, args.boards, args.repeat, lambda: None)
    board_ms = timed_ms(lambda: exchange.board(UNDERLYING), args.boards, args.repeat, tick)
    user, one_more = portfolio(exchange)
    preview = exchange.preview_order(user, one_more)
    if not preview.approved:
        raise SystemExit(f"the preview was refused: {preview.reason}")
    margin_ms = timed_ms(
        lambda: exchange.preview_order(user, one_more), args.checks, args.repeat, tick
    )
    view_ms = timed_ms(lambda: exchange.margin(user, Venue.OPTIONS), args.checks, args.repeat, tick)

    print(f"median of {args.repeat} runs; {options} options on the {UNDERLYING} board")
    rows = [
        ("yardstick: Black-76 loop", yardstick, "value and greeks of every board option"),
        ("Exchange.board", board_ms, f"{board_ms / yardstick:.2f}x yardstick"),
        (
            f"preview, {POSITIONS} positions",
            margin_ms,
            f"{margin_ms / yardstick:.3f}x yardstick",
        ),
        ("Exchange.margin (options)", view_ms, f"{view_ms / yardstick:.3f}x yardstick"),
    ]
    for label, ms, note in rows:
        print(f"{label:28}: {ms:8.3f} ms   ({note})")
    print("targets: a full board ≤ 20 ms, a margin check ≤ 2 ms")
    if args.json:
        print(
            json.dumps(
                {
                    "board_ms": round(board_ms, 3),
                    "margin_ms": round(margin_ms, 3),
                    "margin_view_ms": round(view_ms, 3),
                    "yardstick_ms": round(yardstick, 3),
                    "board_vs_yardstick": round(board_ms / yardstick, 3),
                    "margin_vs_yardstick": round(margin_ms / yardstick, 4),
                }
            )
        )


if __name__ == "__main__":
    main()
