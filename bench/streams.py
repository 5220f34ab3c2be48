"""Streams benchmark: fan-out over a real socket while orders flow.

`ocx-sim serve` runs in a child process on a free port (a manual clock, so each order is one
frame on every book stream). This process is the clients:

1. yardstick: `--orders` limit orders placed one after another over HTTP with nobody
   subscribed, each a new best bid (so each one changes the top of the book): orders per
   second, the mean of a run before the streams open and one after they close (the order
   client is most of the yardstick's time, and its pace drifts on a shared machine);
2. the same flow with `--book` subscribers on `/perps/book-stream` and `--user` subscribers on
   `/perps/stream/user` (each its own account, which never trades: the private fan-out still
   looks at every one of them), read by a process of their own: orders per second, and its
   ratio to the yardstick (target ≥ 0.7). Each flow starts from an empty book;
3. latency: `--samples` orders at a steady `--rate` per second; for each, the time from its HTTP
   answer to its frame reaching every book subscriber: p50, p99 and max (target p99 ≤ 50 ms),
   and the frames per second delivered (a flood's frames go out in batches, streams/sse.py,
   so that latency is the one of a steady flow). With `--clock realtime` frames are
   coalesced at each stream's `intervalMs` (100 ms for the book), as a live sandbox sends
   them: the throughput figures then show what fan-out costs there, and no frame belongs to
   one order, so the latency figures are left out;
4. the server's resident memory per subscriber (its RSS with every stream open, less its RSS
   before, over the number of streams).

Timings are printed, never asserted: machines here are shared and noisy. `--json` ends with one
line `{"orders_per_s": …, "orders_per_s_subscribed": …, "throughput_ratio": …, "p50_ms": …,
"p99_ms": …, "max_ms": …, "frames_per_s": …, "rss_kb_per_subscriber": …}`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/streams.py`, this folder comes first on the path, and its `http.py`
# would shadow the standard library's `http` package httpx uses. Take that folder off first.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from typing import Any

import httpx

PERP = "BTC-PERP"
LOWEST_BID = 61_300
"""Each order bids a dollar above the last, from here: a new best bid, inside the band."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@asynccontextmanager
async def server(clock: str) -> AsyncIterator[tuple[str, int, int]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ocx_sim",
            "serve",
            "--port",
            str(port),
            "--clock",
            clock,
            "--rate-limit",
            "1000000000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(300):
                try:
                    await http.get("/perps/markets")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield url, port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def account(http: httpx.AsyncClient) -> str:
    body = {"balances": {"perps": "100000000"}}
    created = (await http.post("/_sim/accounts", json=body)).json()
    token: str = created["sessionToken"]
    return token


class Subscribers:
    """Open streams, each recording when each of its frames arrived (by its `id:` line).

    They run in a process of their own, on its own event loop: reading 250 sockets is real
    work, and on the order flow's loop it would hold back the next order, so that the figure
    would be this process's as much as the server's. The subscribers read the raw bytes and
    pick out the `id:` lines instead of parsing every frame with an SSE client, for the same
    reason (the tests read the same streams with httpx-sse). Arrival times are
    `time.perf_counter()`, the machine's monotonic clock, which both processes share."""

    def __init__(self, port: int, targets: list[tuple[str, str | None]]) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_subscribe, args=(port, targets, child), daemon=True
        )
        self._process.start()

    def ask(self, question: str) -> Any:
        self._pipe.send(question)
        return self._pipe.recv()

    def close(self) -> tuple[list[dict[int, float]], int]:
        """Every stream's arrivals by `id:`, and every frame counted."""
        arrivals, frames = self.ask("close")
        self._process.join(timeout=10)
        return arrivals, frames


def _subscribe(port: int, targets: list[tuple[str, str | None]], pipe: Connection) -> None:
    asyncio.run(_listen_all(port, targets, pipe))


async def _listen_all(port: int, targets: list[tuple[str, str | None]], pipe: Connection) -> None:
    """The subscriber process: opens every stream, then answers the parent's questions:
    `ready` (how many streams have their snapshot), `frames` (frames so far, and the highest
    `id:` on the first stream), `close` (every arrival)."""
    arrivals: list[dict[int, float]] = [{} for _ in targets]
    frames = 0

    async def listen(seen: dict[int, float], target: str, token: str | None) -> None:
        nonlocal frames
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        writer.write(f"GET {target} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode())
        await writer.drain()
        if b" 200 " not in await reader.readline():
            raise SystemExit(f"{target}: not a stream")
        pending = b""
        try:
            while chunk := await reader.read(65536):
                now = time.perf_counter()
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line.startswith(b"id: "):
                        seen[int(line[4:])] = now
                        frames += 1
        finally:
            writer.close()

    tasks = [
        asyncio.create_task(listen(seen, target, token))
        for seen, (target, token) in zip(arrivals, targets, strict=True)
    ]
    loop = asyncio.get_running_loop()
    questions: asyncio.Queue[str] = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: questions.put_nowait(pipe.recv()))
    while True:
        question = await questions.get()
        if question == "ready":
            pipe.send(sum(1 for seen in arrivals if 1 in seen))
        elif question == "frames":
            pipe.send((frames, max(arrivals[0], default=0)))
        else:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            pipe.send((arrivals, frames))
            return


async def place(http: httpx.AsyncClient, token: str, i: int) -> float:
    body = {"marketId": PERP, "side": "buy", "quantity": "0.0010", "price": f"{LOWEST_BID + i}.00"}
    response = await http.post(
        "/perps/orders", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return time.perf_counter()


async def cancel_all(http: httpx.AsyncClient, token: str) -> None:
    """An empty book for the next phase: each phase places its orders on the same book."""
    headers = {"Authorization": f"Bearer {token}"}
    response = await http.post("/perps/orders/cancel-all", json={}, headers=headers)
    response.raise_for_status()


async def flow(http: httpx.AsyncClient, token: str, count: int) -> float:
    """Orders one after another as fast as answers come: orders per second."""
    await cancel_all(http, token)
    began = time.perf_counter()
    for i in range(count):
        await place(http, token, i)
    return count / (time.perf_counter() - began)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with server(args.clock) as (url, port, pid), httpx.AsyncClient(base_url=url) as http:
        trader = await account(http)
        before = await flow(http, trader, args.orders)
        idle_rss = rss_kb(pid)
        book: list[tuple[str, str | None]] = [(f"/perps/book-stream?marketId={PERP}", None)]
        user = [("/perps/stream/user", await account(http)) for _ in range(args.user)]
        subscribers = Subscribers(port, book * args.book + user)
        while subscribers.ask("ready") < args.book + args.user:
            await asyncio.sleep(0.01)
        rss_per = (rss_kb(pid) - idle_rss) / max(args.book + args.user, 1)
        subscribed = await flow(http, trader, args.orders)
        # Steady rate: each order's answer, then its frame on every book stream, once the
        # flow above is over and written out (frames in a flood are written in batches up
        # to 0.2 s apart: streams/sse.py).
        await asyncio.sleep(0.5)
        await cancel_all(http, trader)
        await asyncio.sleep(0.5)
        frames_before, last_seq = subscribers.ask("frames")
        began = time.perf_counter()
        answered: list[float] = []
        for k in range(args.samples):
            answered.append(await place(http, trader, k))
            await asyncio.sleep(1 / args.rate)
        await asyncio.sleep(0.5)
        frames_after, _ = subscribers.ask("frames")
        frames_per_s = (frames_after - frames_before) / (time.perf_counter() - began)
        arrivals, _ = subscribers.close()
        # The yardstick again, every stream closed: the mean of the two runs it.
        baseline = (before + await flow(http, trader, args.orders)) / 2
        latencies = []
        # On a realtime clock frames are coalesced: no frame belongs to one order.
        for k, at in enumerate(answered if args.clock == "manual" else []):
            seq = last_seq + 1 + k
            reached = [seen[seq] for seen in arrivals[: args.book] if seq in seen]
            if len(reached) == args.book:
                latencies.append((max(reached) - at) * 1000)
    latencies.sort()
    return {
        "orders_per_s": round(baseline, 1),
        "orders_per_s_subscribed": round(subscribed, 1),
        "throughput_ratio": round(subscribed / baseline, 3),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "delivered": f"{len(latencies)}/{args.samples}" if latencies else None,
        "frames_per_s": round(frames_per_s, 1),
        "rss_kb_per_subscriber": round(rss_per, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=int, default=200, help="book-stream subscribers")
    parser.add_argument("--user", type=int, default=50, help="user-stream subscribers")
    parser.add_argument("--orders", type=int, default=1000, help="orders in each throughput phase")
    parser.add_argument("--samples", type=int, default=200, help="orders timed for latency")
    parser.add_argument("--rate", type=float, default=20.0, help="orders per second (latency)")
    parser.add_argument(
        "--clock",
        choices=("manual", "realtime"),
        default="manual",
        help="manual: one frame per order on every book stream (the latency figures); "
        "realtime: frames coalesced at each stream's intervalMs, as a live sandbox sends them",
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(f"{args.book} book-stream and {args.user} user-stream subscribers, real socket")
    print(f"orders/s, nobody subscribed  : {result['orders_per_s']}")
    print(
        f"orders/s, subscribed         : {result['orders_per_s_subscribed']} "
        f"({result['throughput_ratio']}x, target >= 0.7)"
    )
    if result["p50_ms"] is None:
        print("answer -> every book frame   : n/a (frames coalesced at intervalMs)")
    else:
        print(
            f"answer -> every book frame   : p50 {result['p50_ms']} ms, p99 {result['p99_ms']} "
            f"ms (target <= 50), max {result['max_ms']} ms; {result['delivered']} orders "
            "reached all"
        )
    print(f"frames/s delivered           : {result['frames_per_s']}")
    print(f"server RSS per subscriber    : {result['rss_kb_per_subscriber']} KiB")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
