"""Isolation benchmark: how long another world waits while a world with a long event log has its
digest, a page of its events and a snapshot taken, and while a world running the sandbox
advances a long span of simulated time.

`ocx-sim serve` runs as a subprocess. World A gets `--events` events (400,000 by default) from
bulk quote ladders (`cancelAll`: each call cancels one ladder and places another, some hundred
events a call). Then, for each of A's reads in turn (its digest, taken for the first time; a
page of its events; a snapshot), a process of its own asks world B for its market list every
10 ms while the read runs, and the longest and the median of those answers are printed beside a
baseline taken with A idle.

The advance (`--advance-days`, 30 by default), in a server of its own (world A's heap would
lengthen the garbage collector's passes, which pause every world): world C runs, on a manual
clock, the bundled `sandbox` scenario cut to its perpetuals (walking indexes and the market
maker's ladders on each perpetual: `--advance-world perpetuals`, the default) or the whole of
it (every market quoted, the BTC options board quoted, house takers: `--advance-world sandbox`,
whose options agent makes a simulated day take minutes), and is advanced that many simulated
days in one `POST /_sim/clock/advance`, which fires its timers in slices on a worker thread
while the event loop answers other worlds, and sends its answer a part at a time
(docs/control-api.md "Worlds"). World B is asked for its market list every 10 ms meanwhile;
its answers' median, 99th percentile and longest are printed with the advance's duration,
beside the same requests with nothing running (the baseline, in the same server) and their
ratio. Either part is left out with `--events 0` or `--advance-days 0`. Figures are printed,
never asserted. With `--json` the last line is one JSON object.
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
import math
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import yaml

from bench import http as bench_http

REPO = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000
LADDER = 50
"""Quotes per bulk call (the most OCX takes)."""


def _fill(http: httpx.Client, base: str, events: int) -> int:
    """Bulk ladders in world `base` until its log holds `events` events; how many it holds."""
    made = http.post(f"{base}/_sim/accounts", json={"balances": {"perps": "100000000"}}).json()
    headers = {"Authorization": f"Bearer {made['sessionToken']}"}
    added = 0
    step = 0
    while added < events:
        step += 1
        # Far from the mid (no trade), moved a little each call (each quote a new order).
        quotes = [
            {
                "side": "buy" if i % 2 else "sell",
                "price": f"{66_000 - i - step % 7 if i % 2 else 70_000 + i + step % 7}.00",
                "quantity": "0.0010",
            }
            for i in range(LADDER)
        ]
        body = {"marketId": "BTC-PERP", "quotes": quotes, "cancelAll": True}
        answer = http.post(f"{base}/perps/quotes/bulk", json=body, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"bulk quotes answered {answer.status_code}: {answer.text}")
        ladder = answer.json()
        added += len(ladder["cancelled"]) + len(ladder["orders"])
    return _last_seq(http, base)


def _last_seq(http: httpx.Client, base: str) -> int:
    """The log's last seq, read cheaply: the newest event of a one-event page from the end."""
    low, high = 0, 1 << 30
    while low < high:  # the last seq is the largest `since` whose page is not empty
        middle = (low + high + 1) // 2
        page = http.get(f"{base}/_sim/events", params={"since": middle - 1, "limit": 1}).json()
        if page["events"]:
            low = middle
        else:
            high = middle - 1
    return low


def _probe(url: str, stop: Any, out: Any) -> None:
    """World B's market list every 10 ms until `stop`: each answer's start (the system's
    monotonic clock, the same in every process) and latency in ms, put on `out` as one list
    at the end. It runs in a process of its own, so that nothing this one does (reading a long
    advance's answer, say) delays it."""
    answers: list[tuple[float, float]] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        while not stop.is_set():
            start = time.monotonic()
            http.get("/perps/markets")
            answers.append((start, (time.monotonic() - start) * 1000))
            time.sleep(0.01)
    out.put(answers)


def _while(url: str, action: Callable[[], object]) -> dict[str, float]:
    """World B's latencies while `action` runs (and how long it took), in ms."""
    processes = multiprocessing.get_context("spawn")
    stop = processes.Event()
    out = processes.Queue()
    probe = processes.Process(target=_probe, args=(url, stop, out))
    probe.start()
    time.sleep(1.0)  # the probe's process is up and asking
    start = time.monotonic()
    action()
    end = time.monotonic()
    stop.set()
    answers: list[tuple[float, float]] = out.get()
    probe.join()
    latencies = [took for began, took in answers if start <= began <= end]
    return {
        "took_ms": round((end - start) * 1000, 1),
        "other_max_ms": round(max(latencies), 1),
        "other_p99_ms": round(_percentile(latencies, 0.99), 1),
        "other_median_ms": round(statistics.median(latencies), 1),
        "other_answers": len(latencies),
    }


def _percentile(values: list[float], share: float) -> float:
    """The value `share` of `values` are at or below (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _reads(http: httpx.Client, url: str, events: int) -> dict[str, Any]:
    """World A's log filled with `events` events, then B's answers during A's long reads."""
    base = http.post("/_sim/worlds", json={}).json()["baseUrl"]
    started = time.perf_counter()
    events = _fill(http, base, events)
    results: dict[str, Any] = {"events": events}
    results["fill_s"] = round(time.perf_counter() - started, 1)
    results["digest"] = _while(url, lambda: http.get(f"{base}/_sim/digest"))
    page = {"since": events // 2, "limit": 10_000}
    results["events_page"] = _while(url, lambda: http.get(f"{base}/_sim/events", params=page))
    results["snapshot"] = _while(url, lambda: http.post(f"{base}/_sim/snapshot"))
    return results


def _perpetuals_scenario() -> str:
    """The bundled sandbox cut to its perpetuals and their market maker: the same walking
    indexes, and the ladders on the perpetuals (re-quoted as the indexes move, funded every
    funding interval), with no futures, spot markets, options board or house takers, as inline
    YAML. The takers are left out because an advance answers every event it made: with them
    the perpetuals make some 240,000 events a simulated day, and thirty days' answer would be
    gigabytes."""
    sandbox = yaml.safe_load((REPO / "scenarios" / "sandbox.yaml").read_text())
    return yaml.safe_dump(
        {
            "meta": {"name": "sandbox-perpetuals", "description": "The sandbox's perpetuals"},
            "markets": sandbox["markets"],
            "liquidity": [e for e in sandbox["liquidity"] if e.get("market", "").endswith("-PERP")],
        }
    )


def _advance(http: httpx.Client, url: str, days: float, world: str) -> dict[str, Any]:
    """B's answers while world C advances `days` simulated days, running the bundled sandbox
    (`world` "sandbox") or its perpetuals ("perpetuals")."""
    scenario = "sandbox" if world == "sandbox" else _perpetuals_scenario()
    made = http.post("/_sim/worlds", json={"scenario": scenario, "clock": "manual"})
    if made.status_code != 201:
        raise SystemExit(f"making world C answered {made.status_code}: {made.text}")
    base = made.json()["baseUrl"]
    body = {"ms": int(days * DAY_MS)}
    made_events: list[int] = []

    def advance() -> None:
        answer = http.post(f"{base}/_sim/clock/advance", json=body, timeout=None)
        if answer.status_code != 200:
            raise SystemExit(f"the advance answered {answer.status_code}: {answer.text}")
        made_events.append(len(answer.json()["events"]))

    results: dict[str, Any] = _while(url, advance)
    results["events"] = made_events[0]
    return results


@contextmanager
def _server() -> Iterator[tuple[httpx.Client, str]]:
    """`ocx-sim serve` on a free port, and a client of it, until the block ends."""
    port = bench_http.free_port()
    command = [sys.executable, "-m", "ocx_sim", "serve", "--port", str(port)]
    command += ["--rate-limit", "1000000000"]
    with bench_http.server(command, port):
        url = f"http://{bench_http.HOST}:{port}"
        with httpx.Client(base_url=url, timeout=600) as http:
            yield http, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000, help="events in world A (0: none)")
    parser.add_argument(
        "--advance-days", type=float, default=30.0, help="simulated days world C advances (0: none)"
    )
    parser.add_argument(
        "--advance-world",
        choices=("perpetuals", "sandbox"),
        default="perpetuals",
        help="world C: the sandbox's perpetuals (a simulated day in a second or two), or the "
        "whole sandbox with its options board (minutes a simulated day)",
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()

    results: dict[str, Any] = {}
    with _server() as (http, url):
        results["idle"] = _while(url, lambda: time.sleep(1))
        if args.events:
            results.update(_reads(http, url, args.events))
    if args.advance_days:
        # A server of its own: world A's orders (some 200,000, each an object the garbage
        # collector's full pass walks) would lengthen every pause of the server's.
        with _server() as (http, url):
            idle = _while(url, lambda: time.sleep(1))
            advanced = _advance(http, url, args.advance_days, args.advance_world)
        advanced["ratio_p99"] = round(advanced["other_p99_ms"] / idle["other_p99_ms"], 1)
        results["advance"] = advanced
        results["advance_days"] = args.advance_days
        results["advance_world"] = args.advance_world

    if args.events:
        print(f"world A: {results['events']:,} events (made in {results['fill_s']:g} s)")
    for name in ("idle", "digest", "events_page", "snapshot", "advance"):
        if name not in results:
            continue
        r = results[name]
        print(
            f"{name:12}: took {r['took_ms']:11,.1f} ms; world B meanwhile: "
            f"median {r['other_median_ms']:6.1f} ms, p99 {r['other_p99_ms']:7.1f} ms, "
            f"max {r['other_max_ms']:7.1f} ms over {r['other_answers']} answers"
        )
    if "advance" in results:
        ratio = results["advance"]["ratio_p99"]
        print(
            f"advance: {results['advance_days']:g} simulated days of the "
            f"{results['advance_world']} world ({results['advance']['events']:,} events); "
            f"world B's p99 {ratio:g} × its idle p99"
        )
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
