"""`Sandbox`: an ocx-sim server on a thread of this process, on 127.0.0.1 and a free port (the
plugin's session-wide `ocx_sandbox`), and the worlds tests make on it (`ocx_server`).

The server is real uvicorn on a real socket, so client code that speaks HTTP (in any language,
through any library) can be pointed at `world.url`. Each test gets a world of its own, created
with `POST /_sim/worlds` and deleted after it, so tests share the server and nothing else. Under
pytest-xdist every worker process starts its own sandbox on its own port.

The sandbox's own client keeps no cookies: every request says who it is by its headers, exactly
as the in-process client does, so one test's sign-in never follows another's requests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any

import httpx

from ocx_sim.app import create_app
from ocx_sim.server import ServerThread, serve_in_thread
from ocx_sim.testing.wire import HttpBackend
from ocx_sim.testing.world import OcxWorld
from ocx_sim.worlds import WorldConfig, Worlds

TIMEOUT_S = 30.0
"""Generous: a latency fault may hold an answer back for seconds."""


class Sandbox:
    def __init__(self, seed: int = 0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.seed = seed
        self.server: ServerThread = serve_in_thread(
            create_app(Worlds(WorldConfig(seed=seed))), host, port
        )
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self.http = httpx.Client(cookies=no_cookies, timeout=TIMEOUT_S)
        self.backend = HttpBackend(self.http, self.server.url)

    @property
    def url(self) -> str:
        """The server's root: its default world, and `/_sim/worlds`."""
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def new_world(self, config: Mapping[str, Any] | None = None) -> OcxWorld:
        """A world of its own on this server; `close()` it (or use `world()`)."""
        return OcxWorld.create(self.backend, config)

    @contextmanager
    def world(self, config: Mapping[str, Any] | None = None) -> Iterator[OcxWorld]:
        """A world of its own on this server, deleted on leaving the block."""
        world = self.new_world(config)
        try:
            yield world
        finally:
            world.close()

    def close(self) -> None:
        self.http.close()
        self.server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Sandbox {self.url} seed={self.seed}>"
