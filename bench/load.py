"""Load benchmark: many clients trading at once on a real server, then every acknowledged order
and fill reconciled against what the server kept.

`ocx-sim serve` runs as a subprocess (manual clock, seed 1, order rate limit off). `--clients`
accounts (32 by default), spread over `--processes` client processes, each send back to back
for `--seconds`: crossing limit orders on BTC-PERP, cancels and modifies of their own resting
orders, bulk quote ladders (`cancelAll`), and crossing spot orders on BTC-USDC-SPOT (selling
what their buys got). Then the books are read back through the control API's event log and
each account's own reads:

- lost: an order the server acknowledged (200) that the log never accepted, or a fill an
  answer reported that the log has not; duplicated: an order or fill in the log twice;
- both sides of every fill: each account's BTC-PERP position equals the sum of its fills in
  the log, as taker and as maker; its spot BTC equals its spot fills likewise;
- the invariants (`GET /_sim/invariants`) hold, and no request answered 5xx.

It prints requests/s, p50/p99 latency and the server's RSS before and after, beside the
trivial-endpoint yardstick of bench/http.py (a bare Starlette app under the same load setup).
Figures are printed, never asserted. With `--json` the last line is one JSON object.
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
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import httpx

from bench import http as bench_http

PERP = "BTC-PERP"
SPOT = "BTC-USDC-SPOT"
MID = 68_000


# -- the clients --------------------------------------------------------------------------------


class Trader:
    """One account's client: what it sent, what the server acknowledged, what it was told."""

    def __init__(self, http: httpx.AsyncClient, token: str, seed: int) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(seed)
        self.open: list[str] = []
        """Its BTC-PERP orders that may still rest (cancelled and modified at random)."""
        self.btc = Decimal(0)
        """The spot bitcoin its own orders' fills brought it."""
        self.acked: list[str] = []
        """Ids of the orders the server acknowledged, in order."""
        self.fills: dict[str, tuple[str, str]] = {}
        """tradeId → (price, quantity) of every fill an answer reported."""
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()

    async def send(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        start = time.perf_counter()
        answer = await self.http.post(path, json=body, headers=self.headers)
        self.latencies.append(time.perf_counter() - start)
        self.statuses[answer.status_code] += 1
        return answer.json() if answer.status_code == 200 else None

    def price(self, spread: int = 20) -> str:
        return f"{MID + self.rng.randint(-spread * 100, spread * 100) / 100:.2f}"

    def _took(self, order: dict[str, Any]) -> None:
        self.acked.append(order["id"])
        for fill in order.get("fills") or ():
            self.fills[fill["tradeId"]] = (fill["price"], fill["quantity"])
        if order["status"] in ("open", "partially_filled"):
            self.open.append(order["id"])

    async def step(self) -> None:
        roll = self.rng.random()
        side = self.rng.choice(("buy", "sell"))
        if roll < 0.45:
            body = {"marketId": PERP, "side": side, "type": "limit", "price": self.price()}
            body["quantity"] = f"{self.rng.randint(1, 50) / 10_000:.4f}"
            order = await self.send("/perps/orders", body)
            if order is not None:
                self._took(order)
        elif roll < 0.60 and self.open:
            order_id = self.open.pop(self.rng.randrange(len(self.open)))
            await self.send(f"/perps/orders/{order_id}/cancel", {})
        elif roll < 0.75 and self.open:
            order_id = self.rng.choice(self.open)
            modified = await self.send(f"/perps/orders/{order_id}/modify", {"price": self.price()})
            if modified is not None:
                for fill in modified.get("fills") or ():
                    self.fills[fill["tradeId"]] = (fill["price"], fill["quantity"])
        elif roll < 0.85:
            quotes = [
                {"side": s, "price": self.price(40), "quantity": "0.0010", "postOnly": True}
                for s in ("buy", "buy", "sell", "sell")
            ]
            ladder = await self.send(
                "/perps/quotes/bulk", {"marketId": PERP, "quotes": quotes, "cancelAll": True}
            )
            if ladder is not None:
                self.open = [i for i in self.open if i not in set(ladder["cancelled"])]
                for order in ladder["orders"]:
                    self._took(order)
        else:
            # Spot: it sells only the bitcoin its own buys brought it (as far as it was told).
            quantity = Decimal(self.rng.randint(1, 20)) / 10_000
            if side == "sell" and quantity > self.btc:
                side = "buy"
            body = {"marketId": SPOT, "side": side, "type": "limit", "price": self.price()}
            order = await self.send("/orders", {**body, "quantity": f"{quantity:.4f}"})
            if order is not None:
                self.acked.append(order["id"])
                for fill in order["fills"]:
                    self.fills[fill["tradeId"]] = (fill["price"], fill["quantity"])
                    moved = Decimal(fill["quantity"])
                    self.btc += moved if side == "buy" else -moved


async def _trade(url: str, tokens: list[tuple[int, str]], seconds: float) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=len(tokens))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        traders = [Trader(http, token, seed) for seed, token in tokens]
        deadline = time.perf_counter() + seconds

        async def run(trader: Trader) -> None:
            while time.perf_counter() < deadline:
                await trader.step()

        await asyncio.gather(*(run(t) for t in traders))
    return [
        {
            "acked": t.acked,
            "fills": t.fills,
            "latencies": t.latencies,
            "statuses": dict(t.statuses),
        }
        for t in traders
    ]


def _client_process(
    url: str, tokens: list[tuple[int, str]], seconds: float, out: multiprocessing.Queue[Any]
) -> None:
    out.put(asyncio.run(_trade(url, tokens, seconds)))


# -- reconciling ------------------------------------------------------------------------------


def _events(http: httpx.Client) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        page = http.get("/_sim/events", params={"since": len(events), "limit": 10_000}).json()
        if not page["events"]:
            return events
        events += page["events"]


def reconcile(
    http: httpx.Client, accounts: list[dict[str, Any]], results: list[dict[str, Any]]
) -> dict[str, Any]:
    events = _events(http)
    accepted = Counter(e["orderId"] for e in events if e["type"] == "OrderAccepted")
    trades = [e for e in events if e["type"] == "TradeExecuted"]
    traded = {t["tradeId"]: t for t in trades}
    acked = [order_id for r in results for order_id in r["acked"]]
    told = {trade_id: fill for r in results for trade_id, fill in r["fills"].items()}

    lost_orders = sum(1 for order_id in set(acked) if order_id not in accepted)
    lost_fills = sum(1 for trade_id in told if trade_id not in traded)
    wrong_fills = sum(
        1
        for trade_id, (price, quantity) in told.items()
        if trade_id in traded
        and (
            Decimal(traded[trade_id]["price"]) != Decimal(price)
            or Decimal(traded[trade_id]["quantity"]) != Decimal(quantity)
        )
    )
    duplicated = sum(n - 1 for n in accepted.values() if n > 1) + len(trades) - len(traded)

    held: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in trades:
        size = Decimal(t["quantity"])
        taker = size if t["takerSide"] == "buy" else -size
        held[(t["takerUserId"], t["marketId"])] += taker
        held[(t["makerUserId"], t["marketId"])] -= taker
    mismatched = []
    for account in accounts:
        headers = {"Authorization": f"Bearer {account['sessionToken']}"}
        positions = http.get("/perps/positions", headers=headers).json()
        perp = sum(
            (Decimal(p["quantity"]) * (1 if p["side"] == "long" else -1))
            for p in positions
            if p["marketId"] == PERP
        )
        assets = http.get("/portfolio/balances", headers=headers).json()["assets"]
        spot = sum((Decimal(a["total"]) for a in assets if a["asset"] == "BTC"), Decimal(0))
        user = account["userId"]
        if perp != held[(user, PERP)] or spot != held[(user, SPOT)]:
            mismatched.append(user)
    invariants = http.get("/_sim/invariants").json()
    return {
        "orders_acked": len(acked),
        "fills_logged": len(trades),
        "lost": lost_orders + lost_fills,
        "duplicated": duplicated,
        "fills_differing": wrong_fills,
        "accounts_mismatched": len(mismatched),
        "invariants_ok": invariants["ok"],
        "events": len(events),
    }


# -- the run ----------------------------------------------------------------------------------


def load(
    url: str, tokens: list[tuple[int, str]], seconds: float, processes: int
) -> list[dict[str, Any]]:
    queue: multiprocessing.Queue[Any] = multiprocessing.Queue()
    shares = [tokens[i::processes] for i in range(processes)]
    workers = [
        multiprocessing.Process(target=_client_process, args=(url, share, seconds, queue))
        for share in shares
        if share
    ]
    for worker in workers:
        worker.start()
    results: list[dict[str, Any]] = []
    for _ in workers:
        results += queue.get()
    for worker in workers:
        worker.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="accounts trading at once")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration")
    parser.add_argument("--yardstick-seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()

    port = bench_http.free_port()
    url = f"http://{bench_http.HOST}:{port}"
    command = [sys.executable, "-m", "ocx_sim", "serve", "--port", str(port), "--seed", "1"]
    command += ["--rate-limit", "1000000000"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bench_http.wait_until_up(port)
        with httpx.Client(base_url=url, timeout=120) as http:
            rss_before, rss_after, elapsed, results, checked = _run(http, url, server.pid, args)
    finally:
        server.terminate()
        server.wait(timeout=30)
    _report(args, rss_before, rss_after, elapsed, results, checked)


def _run(
    http: httpx.Client, url: str, pid: int, args: argparse.Namespace
) -> tuple[int, int, float, list[dict[str, Any]], dict[str, Any]]:
    """Accounts, the load, and the reconciliation, on the running server."""
    accounts = [
        http.post(
            "/_sim/accounts",
            json={
                "walletAddress": f"0x{n + 1:040x}",
                "balances": {"perps": "10000000", "spot": "10000000"},
            },
        ).json()
        for n in range(args.clients)
    ]
    rss_before = bench_http.rss_kib(pid)
    tokens = [(n, a["sessionToken"]) for n, a in enumerate(accounts)]
    started = time.perf_counter()
    results = load(url, tokens, args.seconds, args.processes)
    elapsed = time.perf_counter() - started
    rss_after = bench_http.rss_kib(pid)
    return rss_before, rss_after, elapsed, results, reconcile(http, accounts, results)


def _report(
    args: argparse.Namespace,
    rss_before: int,
    rss_after: int,
    elapsed: float,
    results: list[dict[str, Any]],
    checked: dict[str, Any],
) -> None:
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: Counter[int] = Counter()
    for r in results:
        statuses.update({int(k): v for k, v in r["statuses"].items()})
    requests = len(latencies)
    rps = requests / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(requests * 0.99) - 1)] * 1000
    errors = sum(n for status, n in statuses.items() if status >= 500)
    trivial_rps = _yardstick(args.yardstick_seconds, args.processes)

    print(
        f"{args.clients} clients in {args.processes} processes for {args.seconds:g} s "
        f"on {os.cpu_count()} cores"
    )
    print(f"requests: {requests:,} ({rps:,.0f}/s), p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"answers: {dict(sorted(statuses.items()))}; 5xx: {errors}")
    print(
        f"orders acknowledged {checked['orders_acked']:,}, fills {checked['fills_logged']:,}, "
        f"events {checked['events']:,}"
    )
    print(
        f"lost {checked['lost']}, duplicated {checked['duplicated']}, "
        f"fills differing {checked['fills_differing']}, "
        f"accounts whose positions differ from their fills {checked['accounts_mismatched']}, "
        f"invariants {'ok' if checked['invariants_ok'] else 'BROKEN'}"
    )
    print(f"server RSS: {rss_before / 1024:.1f} MiB before, {rss_after / 1024:.1f} MiB after")
    print(
        f"trivial endpoint (same load setup): {trivial_rps:,.0f} req/s; "
        f"ratio {rps / trivial_rps:.3f}"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "requests_per_s": round(rps, 1),
                    "p50_ms": round(p50, 2),
                    "p99_ms": round(p99, 2),
                    "errors_5xx": errors,
                    **checked,
                    "rss_before_kib": rss_before,
                    "rss_after_kib": rss_after,
                    "trivial_rps": round(trivial_rps, 1),
                    "ratio": round(rps / trivial_rps, 3),
                }
            )
        )


def _yardstick(seconds: float, processes: int) -> float:
    """Requests per second a bare Starlette app answers under bench/http.py's client load."""
    bodies = bench_http.order_bodies(seed=2026)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "trivial_app.py").write_text(bench_http.TRIVIAL_APP)
        port = bench_http.free_port()
        command = [sys.executable, "-m", "uvicorn", "trivial_app:app", "--port", str(port)]
        command += ["--host", bench_http.HOST, "--no-access-log", "--log-level", "warning"]
        command += ["--http", "httptools", "--loop", "uvloop"]  # as ocx-sim serve on loopback
        with bench_http.server(command, port, cwd=tmp):
            rps, _, _ = bench_http.python_load(port, "/order", bodies, [], seconds, processes)
    return float(rps)


if __name__ == "__main__":
    main()
