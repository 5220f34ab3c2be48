"""Retention benchmark: a server's memory after a burst of orders, once its retention window
has passed (docs/fidelity.md "Retention").

`ocx-sim serve` runs as a subprocess (manual clock, order rate limit off). One account places
`--orders` orders (200,000 by default) as bulk ladders of 50 post-only quotes, each ladder
cancelling the one before (`cancelAll`), so every order is placed and cancelled; then the clock
is advanced 25 simulated hours and one request lets the world forget. That is one round;
`--rounds` of them (3) run one after the other. The server's RSS (`VmRSS`) is read at the start
and, each round, after the burst and after the window.

The same runs on a server started with `--retention forever` (the baseline, what every world
did before it had a window): the ratio is the growth left after the last round with the window
over the growth without it. `--json` ends with one line: `{"orders_per_round": …, "rounds": …,
"rss_start_mib": …, "rss_after_first_window_mib": …, "rss_after_last_window_mib": …,
"forever_after_last_mib": …, "after_first_vs_start": …, "last_vs_first": …, "ratio": …}`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder is first on the import path and its http.py would shadow the
# standard library's `http` (which httpx imports): the repository's root takes its place, so
# that bench/http.py's server helpers are `bench.http`.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import subprocess

import httpx

from bench import http as bench_http

PERP = "BTC-PERP"
LADDER = 50
DAY_AND_AN_HOUR_MS = 25 * 3_600_000


def rss_mib(pid: int) -> float:
    return float(bench_http.rss_kib(pid)) / 1024


def _ladder(round_: int) -> list[dict[str, object]]:
    """50 bids well below the market, their prices moving each round."""
    return [
        {
            "side": "buy",
            "price": f"{62_000 + (round_ * LADDER + rung) % 4_000}.00",
            "quantity": "0.001",
            "postOnly": True,
        }
        for rung in range(LADDER)
    ]


def bursts(retention: str, orders: int, rounds: int) -> tuple[float, list[tuple[float, float]]]:
    """(RSS at the start, [(RSS after the burst, after the window that follows) per round],
    of a server with `--retention retention`."""
    port = bench_http.free_port()
    command = [sys.executable, "-m", "ocx_sim", "serve", "--port", str(port), "--seed", "1"]
    command += ["--rate-limit", "1000000000", "--retention", retention]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bench_http.wait_until_up(port)
        with httpx.Client(base_url=f"http://{bench_http.HOST}:{port}", timeout=120) as http:
            token = http.post(
                "/_sim/accounts",
                json={"walletAddress": "0x" + "11" * 20, "balances": {"perps": "100000000"}},
            ).json()["sessionToken"]
            headers = {"authorization": f"Bearer {token}"}
            http.get("/perps/markets")
            start = rss_mib(server.pid)
            figures = []
            for _ in range(rounds):
                for ladder in range(orders // LADDER):
                    answer = http.post(
                        "/perps/quotes/bulk",
                        json={"marketId": PERP, "quotes": _ladder(ladder), "cancelAll": True},
                        headers=headers,
                    )
                    answer.raise_for_status()
                burst = rss_mib(server.pid)
                advance = {"ms": DAY_AND_AN_HOUR_MS}
                http.post("/_sim/clock/advance", json=advance).raise_for_status()
                http.get("/perps/markets")  # a request: the world forgets before it
                figures.append((burst, rss_mib(server.pid)))
            return start, figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000, help="orders per round")
    parser.add_argument("--rounds", type=int, default=3, help="bursts, a day apart")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()

    start, kept = bursts("24", args.orders, args.rounds)
    forever_start, forever = bursts("forever", args.orders, args.rounds)
    print(f"{args.rounds} rounds of {args.orders:,} orders placed and cancelled, a day apart")
    for name, first, rounds in (("24 h", start, kept), ("forever", forever_start, forever)):
        steps = ", ".join(f"{burst:.0f} → {after:.0f}" for burst, after in rounds)
        print(f"retention {name:8} RSS MiB: start {first:.0f}; burst → a day later: {steps}")
    after, last = kept[0][1], kept[-1][1]
    growth = (last - start) / max(forever[-1][1] - forever_start, 1e-9)
    print(
        f"after the first window {after / start - 1:+.1%} of the start; the rounds after it "
        f"{last / after - 1:+.1%} more; growth left with the window / without it: {growth:.3f}"
    )
    if args.json:
        figures = {
            "orders_per_round": args.orders,
            "rounds": args.rounds,
            "rss_start_mib": round(start, 1),
            "rss_after_first_window_mib": round(after, 1),
            "rss_after_last_window_mib": round(last, 1),
            "forever_after_last_mib": round(forever[-1][1], 1),
            "after_first_vs_start": round(after / start, 3),
            "last_vs_first": round(last / after, 3),
            "ratio": round(growth, 3),
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
