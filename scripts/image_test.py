"""The image's smoke test (`make image-test`): run it as a user would and check that the world
outlives its container.

It starts a container on a fresh named volume, waits for Docker to call it healthy, signs in as
the demo account the banner printed (SIWE, the message written and signed by the image's own
`ocx-sim siwe`), places an order and cancels it, places a second one that rests, then removes
the container and runs a new one on the same volume: the server must say it restored the world,
print the same demo account, and show the same session, both orders and the book. It prints
the image's size and fails when it is over --max-mb. Every container and volume it made is
removed, whether it passed or not.

Not a pytest test: it needs a Docker engine and a built image, which `make test` does not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

HEALTHY_WITHIN_S = 90.0
DEMO_LINES = {
    "wallet": "wallet address",
    "private_key": "private key",
    "session_token": "session token",
    "api_key": "trade API key",
}


class Failed(Exception):
    """The image does not do what it must; the message says what."""


@dataclass(frozen=True)
class Demo:
    wallet: str
    private_key: str
    session_token: str
    api_key: str


class Docker:
    def __init__(self, command: str, image: str, network: str | None) -> None:
        self.command = command
        self.image = image
        self.network = network
        self.tag = f"ocx-sim-image-test-{os.getpid()}"
        self.containers: list[str] = []
        self.volume: str | None = None

    def __call__(self, *args: str, check: bool = True) -> str:
        run = subprocess.run(
            [self.command, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if check and run.returncode != 0:
            raise Failed(f"docker {' '.join(args)}: exit {run.returncode}\n{run.stderr}")
        return run.stdout.strip()

    def run(self, port: int) -> str:
        """A new container of the image on the test's volume; its name."""
        if self.volume is None:
            self.volume = self("volume", "create", self.tag)
        name = f"{self.tag}-{len(self.containers) + 1}"
        self.containers.append(name)
        if self.network == "host":
            # The host's own network (CI's engine has no bridge): the server listens on a free
            # port of the loopback, chosen with --port like any other flag.
            where = ["--network", "host"]
            flags = ["--host", "127.0.0.1", "--port", str(port)]
        else:
            where = ["--publish", f"127.0.0.1:{port}:8000"]
            where += ["--network", self.network] if self.network else []
            flags = []
        self("run", "--detach", "--name", name, "--volume", f"{self.volume}:/data", *where,
             self.image, *flags)  # fmt: skip
        return name

    def remove_everything(self) -> None:
        for name in self.containers:
            self("rm", "--force", "--volumes", name, check=False)
        if self.volume is not None:
            self("volume", "rm", "--force", self.volume, check=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_healthy(docker: Docker, name: str) -> float:
    """Seconds until Docker's health check calls the container healthy."""
    started = time.perf_counter()
    while time.perf_counter() - started < HEALTHY_WITHIN_S:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name))
        if not state["Running"]:
            raise Failed(f"{name} stopped (exit {state['ExitCode']}):\n{docker('logs', name)}")
        if state["Health"]["Status"] == "healthy":
            return time.perf_counter() - started
        time.sleep(0.5)
    raise Failed(f"{name} not healthy after {HEALTHY_WITHIN_S:g} s:\n{docker('logs', name)}")


def banner(docker: Docker, name: str) -> tuple[str, Demo]:
    """The server's banner from the container's log, and the demo account it prints."""
    log = subprocess.run(
        [docker.command, "logs", name], capture_output=True, text=True, check=True
    ).stdout
    values = {}
    for field, label in DEMO_LINES.items():
        found = re.search(rf"^  {label} *: (\S+)", log, flags=re.M)
        if found is None:
            raise Failed(f"{name}'s log has no {label!r} line:\n{log}")
        values[field] = found.group(1)
    return log, Demo(**values)


def sign_in(docker: Docker, name: str, http: httpx.Client, port: int, demo: Demo) -> str:
    """The demo wallet's session cookie, from a SIWE sign-in the image's CLI writes and signs."""
    nonce = http.post("/auth/nonce", json={"walletAddress": demo.wallet})
    expect(nonce, 200)
    inside = "http://127.0.0.1:8000" if docker.network != "host" else f"http://127.0.0.1:{port}"
    body = docker(
        "exec", name, "ocx-sim", "siwe", "--url", inside, "--private-key", demo.private_key,
        # The message names the Host this client sends, which the server checks it against.
        "--domain", f"127.0.0.1:{port}", "--nonce", nonce.json()["nonce"],
    )  # fmt: skip
    signed = http.post("/auth/siwe", content=body, headers={"content-type": "application/json"})
    expect(signed, 200)
    if signed.json()["walletAddress"].lower() != demo.wallet.lower():
        raise Failed(f"signed in as {signed.json()}, not the demo wallet {demo.wallet}")
    cookie = http.cookies.get("astra_session")
    if cookie is None:
        raise Failed("POST /auth/siwe set no astra_session cookie")
    return cookie


def expect(answer: httpx.Response, status: int) -> None:
    if answer.status_code != status:
        raise Failed(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code}, "
            f"not {status}: {answer.text}"
        )


def order(price: str) -> dict[str, object]:
    return {
        "marketId": "BTC-PERP",
        "side": "buy",
        "price": price,
        "quantity": "0.0100",
        "postOnly": True,
    }


@contextmanager
def client(port: int) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield http


def smoke(docker: Docker) -> dict[str, float]:
    timings: dict[str, float] = {}
    port = free_port()
    first = docker.run(port)
    timings["first start healthy"] = wait_healthy(docker, first)
    _, demo = banner(docker, first)
    python = docker("exec", first, "sh", "-c", "id -un; tr '\\0' '\\n' < /proc/1/environ")
    if not python.startswith("ocx-sim\n") or "PYTHONMALLOC=malloc" not in python.splitlines():
        raise Failed(f"the server runs as root or not under the C allocator:\n{python}")

    with client(port) as http:
        cookie = sign_in(docker, first, http, port, demo)
        placed = http.post("/perps/orders", json=order("67000.00"))
        expect(placed, 200)
        cancelled_id = placed.json()["id"]
        cancelled = http.post(f"/perps/orders/{cancelled_id}/cancel")
        expect(cancelled, 200)
        if cancelled.json()["status"] != "cancelled":
            raise Failed(f"the cancel answered {cancelled.json()}")
        resting = http.post("/perps/orders", json=order("66000.00"))
        expect(resting, 200)
        resting_id = resting.json()["id"]
        balances = http.get("/perps/balances", headers={"x-api-key": demo.api_key})
        expect(balances, 200)

    started = time.perf_counter()
    # SIGTERM, as `docker stop` sends it: the server saves its worlds into the volume and exits.
    docker("stop", first)
    exit_code = docker("inspect", "--format", "{{.State.ExitCode}}", first)
    if exit_code != "0":
        raise Failed(f"{first} exited {exit_code} on docker stop:\n{docker('logs', first)}")
    docker("rm", first)
    timings["stop"] = time.perf_counter() - started

    second = docker.run(port)
    timings["restart healthy"] = wait_healthy(docker, second)
    log, again = banner(docker, second)
    if "restored 1 worlds from /data, as last saved" not in log:
        raise Failed(f"the new container restored nothing from the volume:\n{log}")
    if again != demo:
        raise Failed(f"the restored demo account differs: {again} != {demo}")
    with client(port) as http:
        http.cookies.set("astra_session", cookie)
        me = http.get("/auth/me")
        expect(me, 200)
        if me.json() is None or me.json()["walletAddress"].lower() != demo.wallet.lower():
            raise Failed(f"the session did not survive the restart: /auth/me is {me.json()}")
        history = http.get("/perps/orders")
        expect(history, 200)
        statuses = {o["id"]: o["status"] for o in history.json()}
        if statuses != {cancelled_id: "cancelled", resting_id: "open"}:
            raise Failed(f"the orders after the restart are {statuses}")
        book = http.get("/perps/orderbook/BTC-PERP", params={"depth": 1})
        expect(book, 200)
        if book.json()["bids"] != [["66000.00", "0.0100"]]:
            raise Failed(f"the restored book is {book.json()}")
        after = http.get("/perps/balances", headers={"x-api-key": demo.api_key})
        expect(after, 200)
        if after.json() != balances.json():
            raise Failed(
                f"the balances changed across the restart: {balances.json()} -> {after.json()}"
            )
    return timings


def image_mb(docker: Docker) -> float:
    return int(docker("image", "inspect", "--format", "{{.Size}}", docker.image)) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker", default="docker", help="the docker command")
    parser.add_argument("--image", default="ocx-sim:latest")
    parser.add_argument("--network", help="host: containers on the host's network (no bridge)")
    parser.add_argument("--max-mb", type=float, default=250.0, help="the image's size limit")
    args = parser.parse_args(argv)
    docker = Docker(args.docker, args.image, args.network)
    started = time.perf_counter()
    try:
        size = image_mb(docker)
        timings = smoke(docker)
    except Failed as failure:
        print(f"image-test: FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        docker.remove_everything()
    print("image-test: healthy, signed in, ordered, restarted on its volume: the world was there")
    print(
        "image-test: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items())
    )
    print(f"image-test: {args.image} is {size:.1f} MB (limit {args.max_mb:g} MB)")
    if size > args.max_mb:
        print(f"image-test: FAILED: the image is over {args.max_mb:g} MB", file=sys.stderr)
        return 1
    print(f"image-test: passed in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
