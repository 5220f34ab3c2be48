"""Fixture benchmark: what a test pays for a world of its own, and for each request to it.

1. Worlds: `World(...)` built from the default config (the default catalog), `POST
   /_sim/worlds` + `DELETE` through the in-process client, and the whole `ocx` fixture (a fresh
   registry and app, its world, and the teardown) per test.
2. Reset: `POST /_sim/reset` on a world that has accounts and resting orders (the world is
   dirtied again, untimed, before each reset).
3. Request latency, one simple read (`GET /perps/market-stats?marketId=BTC-PERP`) through
   ocx-sim's `InProcessClient`, Starlette's `TestClient` and httpx's `ASGITransport`, each
   beside the same client calling a trivial Starlette app in the same process (the yardstick:
   what the client itself costs), and through the `ocx` fixture's world client.

Every figure is the median of `--repeat` runs. With `--json` the last line is
`{"world_create_ms": …, "reset_ms": …, "inprocess_us": …, "testclient_us": …,
"asgitransport_us": …}` (`world_create_ms`: POST + DELETE of a world in process). Targets: a
world in under 5 ms, an in-process request in under 100 µs. Timings are printed, never
asserted: machines here are shared and noisy.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder is first on the import path, and its `http.py` would shadow the
# standard library's `http` package that httpx and Starlette use. Take that folder off first.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import asyncio
import gc
import json
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ocx_sim.app import create_app
from ocx_sim.testing.client import InProcessClient
from ocx_sim.testing.world import in_process_world
from ocx_sim.worlds import World, WorldConfig, Worlds

READ = "/perps/market-stats?marketId=BTC-PERP"
ORDER = {"marketId": "BTC-PERP", "side": "buy", "quantity": "0.01", "price": "67000"}


def trivial_app() -> Starlette:
    async def stats(request: Request) -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    return Starlette(routes=[Route("/perps/market-stats", stats)])


def median_ms(run: Callable[[], object], n: int, repeat: int) -> float:
    """Median over `repeat` runs of the mean milliseconds per call of `run` (n calls a run)."""
    runs = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for _ in range(n):
            run()
        runs.append((time.perf_counter() - start) / n * 1000)
    return statistics.median(runs)


def world_figures(n: int, repeat: int) -> dict[str, float]:
    config = WorldConfig(seed=1)
    client = InProcessClient(create_app(Worlds(config)))

    def create_and_drop() -> None:
        world_id = client.post("/_sim/worlds", json={"seed": 1}).json()["worldId"]
        client.delete(f"/_sim/worlds/{world_id}")

    def fixture() -> None:
        with in_process_world({"seed": 1}, server_seed=1):
            pass

    figures = {
        "World(...)": median_ms(lambda: World("bench", config), n, repeat),
        "POST /_sim/worlds + DELETE": median_ms(create_and_drop, n, repeat),
        "the ocx fixture per test": median_ms(fixture, n, repeat),
    }
    client.close()
    return figures


def reset_figure(n: int, repeat: int) -> float:
    """Milliseconds per `POST /_sim/reset` of a world with accounts and resting orders."""
    client = InProcessClient(create_app(Worlds(WorldConfig(seed=1))))

    def dirty() -> None:
        for _ in range(3):
            token = client.post("/_sim/accounts", json={"balances": {"perps": "10000"}}).json()[
                "sessionToken"
            ]
            client.post("/perps/orders", json=ORDER, headers={"Authorization": f"Bearer {token}"})

    runs = []
    for _ in range(repeat):
        total = 0.0
        for _ in range(n):
            dirty()
            gc.collect()
            start = time.perf_counter()
            answer = client.post("/_sim/reset", json={})
            total += time.perf_counter() - start
            if answer.status_code != 200:
                raise SystemExit(f"POST /_sim/reset answered {answer.status_code}: {answer.text}")
        runs.append(total / n * 1000)
    client.close()
    return statistics.median(runs)


def inprocess_us(app: Starlette, n: int, repeat: int) -> float:
    client = InProcessClient(app)
    client.get(READ)
    figure = median_ms(lambda: client.get(READ), n, repeat) * 1000
    client.close()
    return figure


def testclient_us(app: Starlette, n: int, repeat: int) -> float:
    with warnings.catch_warnings():
        # Starlette now nudges TestClient users toward httpx2; the figure is the same.
        warnings.simplefilter("ignore", DeprecationWarning)
        from starlette.testclient import TestClient

    with TestClient(app) as client:
        client.get(READ)
        return median_ms(lambda: client.get(READ), n, repeat) * 1000


def asgitransport_us(app: Starlette, n: int, repeat: int) -> float:
    async def measure() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await client.get(READ)
            runs = []
            for _ in range(repeat):
                gc.collect()
                start = time.perf_counter()
                for _ in range(n):
                    await client.get(READ)
                runs.append((time.perf_counter() - start) / n * 1e6)
            return statistics.median(runs)

    return asyncio.run(measure())


def fixture_client_us(n: int, repeat: int) -> float:
    with in_process_world({"seed": 1}) as world:
        client = world.client
        client.get(READ)
        return median_ms(lambda: client.get(READ), n, repeat) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=100, help="worlds per run")
    parser.add_argument("--requests", type=int, default=2000, help="requests per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()

    worlds = world_figures(args.worlds, args.repeat)
    reset_ms = reset_figure(max(args.worlds // 5, 1), args.repeat)
    latency: dict[str, tuple[float, float]] = {}
    for label, measure in (
        ("InProcessClient", inprocess_us),
        ("Starlette TestClient", testclient_us),
        ("httpx ASGITransport", asgitransport_us),
    ):
        ocx = measure(create_app(Worlds(WorldConfig(seed=1))), args.requests, args.repeat)
        trivial = measure(trivial_app(), args.requests, args.repeat)
        latency[label] = (ocx, trivial)
    via_fixture = fixture_client_us(args.requests, args.repeat)

    print(f"median of {args.repeat} runs; {args.worlds} worlds and {args.requests} requests a run")
    for label, ms in worlds.items():
        print(f"{label:30}: {ms:8.2f} ms")
    print(f"{'POST /_sim/reset (dirty world)':30}: {reset_ms:8.2f} ms")
    print(f"GET {READ}, µs per request (beside a trivial app through the same client):")
    base = latency["InProcessClient"][0]
    for label, (ocx, trivial) in latency.items():
        print(
            f"  {label:28}: {ocx:8.1f} µs   trivial app {trivial:7.1f} µs"
            f"   {ocx / base:5.1f}x InProcessClient"
        )
    print(f"  {'the ocx fixture client':28}: {via_fixture:8.1f} µs")
    print("targets: a world in under 5 ms; an in-process request in under 100 µs")
    if args.json:
        out: dict[str, Any] = {
            "world_create_ms": round(worlds["POST /_sim/worlds + DELETE"], 3),
            "reset_ms": round(reset_ms, 3),
            "inprocess_us": round(latency["InProcessClient"][0], 1),
            "testclient_us": round(latency["Starlette TestClient"][0], 1),
            "asgitransport_us": round(latency["httpx ASGITransport"][0], 1),
        }
        print(json.dumps(out))


if __name__ == "__main__":
    main()
