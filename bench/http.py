"""HTTP benchmark: `POST /perps/orders` on a real server, beside a trivial endpoint.

Two servers are started as subprocesses on 127.0.0.1, each under uvicorn with httptools and
uvloop and no access log, exactly as `ocx-sim serve` runs on loopback (ocx_sim/server.py):
1. ocx-sim itself (`python -m ocx_sim serve`), with two funded accounts created through the
   control API; the load is passive limit orders on BTC-PERP from both accounts' sessions
   (authentication, parsing, the engine, rendering: the whole path);
2. a trivial Starlette app answering `POST /order` with a fixed JSON body: the yardstick, run
   in the same process setup so that the ratio says what ocx-sim costs beyond the framework.

Load comes from a second process family: `wrk` when it is installed, else several processes
each holding one keep-alive connection and sending requests back to back for `--seconds`.
The figures are printed, never asserted (machines here are shared and noisy). With `--json`
the last line is `{"orders_rps": …, "trivial_rps": …, "ratio": …, "p99_ms": …}`.
Target: ratio ≥ 0.6.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# This script is `bench/http.py`; run as a script its folder is first on the import path and
# would shadow the standard library's `http` package it uses. Take that folder off first.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import http.client
import json
import multiprocessing
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
TRIVIAL_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"ok":true}'

async def order(request):
    await request.body()
    return Response(BODY, media_type="application/json")

app = Starlette(routes=[Route("/order", order, methods=["POST"])])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def rss_kib(pid: int) -> int:
    """The resident memory of process `pid` (Linux's `VmRSS`), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@contextmanager
def server(argv: list[str], port: int, cwd: str | None = None) -> Iterator[None]:
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(port)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def call(
    port: int, method: str, path: str, body: dict[str, Any] | None = None, token: str = ""
) -> dict[str, Any]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, json.dumps(body or {}), headers)
    response = connection.getresponse()
    answer: dict[str, Any] = json.loads(response.read())
    connection.close()
    if response.status >= 300:
        raise SystemExit(f"{method} {path} answered {response.status}: {answer}")
    return answer


def order_bodies(seed: int, n: int = 2000) -> list[bytes]:
    """Passive BTC-PERP limit orders 1–2,000 ticks from the 68,000.00 mid, both sides."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        buy = rng.random() < 0.5
        offset = rng.randint(1, 2000) / 100
        price = 68000 - offset if buy else 68000 + offset
        body = {
            "marketId": "BTC-PERP",
            "side": "buy" if buy else "sell",
            "price": f"{price:.2f}",
            "quantity": f"{rng.randint(1, 50) / 10000:.4f}",
            "postOnly": True,
        }
        out.append(json.dumps(body).encode())
    return out


def client_worker(
    port: int,
    path: str,
    bodies: list[bytes],
    tokens: list[str],
    seconds: float,
    out: multiprocessing.Queue[list[int]],
) -> None:
    """One keep-alive connection sending requests back to back; reports latencies in µs."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    latencies: list[int] = []
    deadline = time.perf_counter() + seconds
    i = 0
    while True:
        start = time.perf_counter()
        if start >= deadline:
            break
        headers = {"Content-Type": "application/json"}
        if tokens:
            headers["Authorization"] = f"Bearer {tokens[i % len(tokens)]}"
        connection.request("POST", path, bodies[i % len(bodies)], headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"POST {path} answered {response.status}")
        latencies.append(int((time.perf_counter() - start) * 1e6))
        i += 1
    connection.close()
    out.put(latencies)


def python_load(
    port: int, path: str, bodies: list[bytes], tokens: list[str], seconds: float, workers: int
) -> tuple[float, float, float]:
    queue: multiprocessing.Queue[list[int]] = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=client_worker, args=(port, path, bodies, tokens, seconds, queue)
        )
        for _ in range(workers)
    ]
    for p in processes:
        p.start()
    latencies: list[int] = []
    for _ in processes:
        latencies += queue.get()
    for p in processes:
        p.join()
    latencies.sort()
    rps = len(latencies) / seconds
    p50 = statistics.median(latencies) / 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] / 1000
    return rps, p50, p99


def wrk_load(
    port: int, path: str, body: bytes, token: str, seconds: float, workers: int
) -> tuple[float, float, float]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"{auth}"
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %f %f %f\\n",'
        " summary.requests / (summary.duration / 1e6),"
        " latency:percentile(50) / 1000, latency:percentile(99) / 1000))\n"
        "end\n"
    )
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(workers),
            "-c",
            str(workers),
            "-d",
            f"{int(seconds)}s",
            "-s",
            str(script),
            f"http://{HOST}:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    script.unlink()
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    rps, p50, p99 = (float(x) for x in line.split()[1:])
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration per server")
    parser.add_argument("--workers", type=int, default=2, help="client processes/connections")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None
    python = sys.executable
    bodies = order_bodies(seed=2026)

    port = free_port()
    ocx = [
        python,
        "-m",
        "ocx_sim",
        "serve",
        "--port",
        str(port),
        "--seed",
        "1",
        "--rate-limit",
        "1000000000",
    ]
    with server(ocx, port):
        tokens: list[str] = []
        for n in range(2):
            account = call(
                port,
                "POST",
                "/_sim/accounts",
                {"balances": {"perps": "100000000"}, "walletAddress": f"0x{n + 1:040x}"},
            )
            tokens.append(account["sessionToken"])
        if use_wrk:
            orders = wrk_load(
                port, "/perps/orders", bodies[0], tokens[0], args.seconds, args.workers
            )
        else:
            orders = python_load(port, "/perps/orders", bodies, tokens, args.seconds, args.workers)

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "trivial_app.py").write_text(TRIVIAL_APP)
        port = free_port()
        trivial_cmd = [
            python,
            "-m",
            "uvicorn",
            "trivial_app:app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        with server(trivial_cmd, port, cwd=tmp):
            if use_wrk:
                trivial = wrk_load(port, "/order", bodies[0], "", args.seconds, args.workers)
            else:
                trivial = python_load(port, "/order", bodies, [], args.seconds, args.workers)

    load = "wrk" if use_wrk else f"{args.workers} keep-alive client processes"
    print(f"load: {load}, {args.seconds:g} s per server, on {os.cpu_count()} cores")
    for label, (rps, p50, p99) in (("POST /perps/orders", orders), ("trivial endpoint", trivial)):
        print(f"{label:20}: {rps:10,.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    ratio = orders[0] / trivial[0]
    print(f"ratio orders/trivial: {ratio:.2f} (target 0.6)")
    if args.json:
        print(
            json.dumps(
                {
                    "orders_rps": round(orders[0]),
                    "trivial_rps": round(trivial[0]),
                    "ratio": round(ratio, 3),
                    "p99_ms": round(orders[2], 2),
                }
            )
        )


if __name__ == "__main__":
    main()
