"""The edges of a connection over a real socket: a client that leaves mid-body is journaled as
499 CLIENT_CLOSED_REQUEST, with no 500 and no traceback (docs/control-api.md
"`GET /_sim/journal`"); `ocx-sim serve` stops promptly on SIGTERM even while a latency fault
holds a request (server.py `SHUTDOWN_GRACE_S`)."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ocx_sim.testing.world import OcxWorld
from tests.served import free_port

STOP_WITHIN_S = 5.0


def _journal(world: OcxWorld, path: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = world.control("GET", f"/_sim/journal?path={path}")["entries"]
    return entries


def test_a_client_that_closes_mid_body_is_journaled_as_499_without_a_traceback(
    ocx_server: OcxWorld, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = httpx.URL(ocx_server.url).host, httpx.URL(ocx_server.url).port
    assert port is not None
    head = (
        f"POST {ocx_server.base}/_sim/accounts HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with caplog.at_level(logging.INFO):
        with socket.create_connection((host, port)) as sock:
            sock.sendall(head.encode() + b'{"balances": ')
            time.sleep(0.1)  # the server is reading the body
        deadline = time.monotonic() + 5
        # (The world answers meanwhile: the body is awaited before the world is taken.)
        while not (entries := _journal(ocx_server, "/_sim/accounts")):
            assert time.monotonic() < deadline
            time.sleep(0.05)

    assert [(e["path"], e["status"]) for e in entries] == [("/_sim/accounts", 499)]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("closed POST /_sim/accounts" in r.getMessage() for r in caplog.records)


def test_sigterm_stops_the_server_while_a_latency_fault_holds_a_request(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with subprocess.Popen(
        [sys.executable, "-m", "ocx_sim", "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as server:
        try:
            _wait_until_listening(port, server)
            fault = {
                "match": {"method": "GET", "path": "/perps/markets"},
                "action": {"type": "latency", "ms": 60_000},
            }
            assert httpx.post(f"{url}/_sim/faults", json=fault).status_code == 201
            held = threading.Thread(target=_get_quietly, args=(f"{url}/perps/markets",))
            held.start()
            _let_the_held_request_arrive(url)
            began = time.monotonic()
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=30)
            took = time.monotonic() - began
            held.join(timeout=10)
        finally:
            if server.poll() is None:
                server.kill()

    print(f"ocx-sim serve exited {took:.2f} s after SIGTERM")
    assert code in (0, -signal.SIGTERM)  # uvicorn raises the signal again once it has stopped
    assert took < STOP_WITHIN_S


def _wait_until_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert server.poll() is None, "ocx-sim serve exited"
            assert time.monotonic() < deadline, "ocx-sim serve did not start"
            time.sleep(0.05)


def _get_quietly(url: str) -> None:
    """The held request: the server goes away under it, which is the point."""
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(url, timeout=60)


def _let_the_held_request_arrive(url: str) -> None:
    """Give the held request time to reach the server and start its fault's delay (the journal
    shows it only once answered, so a short wait it is)."""
    time.sleep(0.5)
    assert httpx.get(f"{url}/_sim/clock").status_code == 200
