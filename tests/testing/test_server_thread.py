"""`ocx_sim.server.serve_in_thread`: uvicorn on a thread, on a port bound before it starts."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette

from ocx_sim.app import create_app
from ocx_sim.server import ServerThread, serve_in_thread
from ocx_sim.worlds import WorldConfig, Worlds


def test_a_threaded_server_answers_on_its_port_as_soon_as_it_returns() -> None:
    with serve_in_thread(create_app(Worlds(WorldConfig(seed=3)))) as server:
        clock = httpx.get(f"{server.url}/_sim/clock", timeout=10)

        assert server.running
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert clock.status_code == 200
        assert clock.json()["now"] == "2026-01-02T00:00:00.000Z"


def test_two_threaded_servers_have_their_own_ports_and_their_own_worlds() -> None:
    with (
        serve_in_thread(create_app(Worlds(WorldConfig(seed=1)))) as first,
        serve_in_thread(create_app(Worlds(WorldConfig(seed=1)))) as second,
    ):
        httpx.post(f"{first.url}/_sim/clock/advance", json={"ms": 60_000}, timeout=10)

        assert first.port != second.port
        assert httpx.get(f"{first.url}/_sim/clock").json()["nowMs"] == (
            httpx.get(f"{second.url}/_sim/clock").json()["nowMs"] + 60_000
        )


def test_a_stopped_server_has_ended_its_thread_and_released_its_port() -> None:
    server = serve_in_thread(create_app())
    server.stop()
    server.stop()

    assert not server.running
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", server.port))
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/_sim/clock", timeout=2)


def test_a_server_whose_app_fails_to_start_raises_instead_of_hanging() -> None:
    @asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    with pytest.raises(RuntimeError, match="did not start"):
        serve_in_thread(Starlette(lifespan=broken))


def test_a_port_in_use_is_refused_when_the_server_is_made() -> None:
    with serve_in_thread(create_app()) as running, pytest.raises(OSError):
        ServerThread(create_app(), port=running.port)
