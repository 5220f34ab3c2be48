"""Running the app under uvicorn: in the foreground (`ocx-sim serve`) or on a thread (the pytest
plugin's `ocx_sandbox`, and anything else that wants a real socket inside its own process).

A threaded server binds its socket before the thread starts, so the port (0 picks a free one) is
known and listening by the time `serve_in_thread` returns: a client may connect at once, and two
servers in one process, or in two pytest-xdist workers, can never race for a port. The app runs
on the thread's own event loop; every request, and so every mutation of every world, happens on
that one thread (the single writer that lets the engine do without locks, docs/architecture.md
"Time"), however many client threads call it.

Both run uvicorn with its proxy-header handling off (`PROXY_HEADERS`). By default uvicorn trusts
`X-Forwarded-For` and `X-Forwarded-Proto` from loopback peers and rewrites the client address and
scheme before the app sees them, so any local client could name its own address, slip past an API
key's IP allowlist and set the key's `lastUsedIp`. The gateway reads those headers itself, and
only when the world is configured with trusted proxies (docs/fidelity.md "Sign-in, sessions and
keys", the client address).

Both also bound what one client can hold of a shared sandbox, through uvicorn's own settings
(docs/quickstart.md "The standalone sandbox"): a request's head (line and headers) still
unfinished after `MAX_HEADER_BYTES` is refused (h11's `max_incomplete_event_size`: uvicorn
answers 400 and closes; h11 checks what it holds between reads, so a head that arrives whole in
one read, at most the event loop's read size, passes),
an idle keep-alive connection is closed after `KEEP_ALIVE_S`, and past `max_connections` open
connections uvicorn answers 503 at once. Only h11 bounds a request's head (httptools takes a
head of any size), but h11 is pure Python and costs about a quarter of the order throughput
(bench/http.py): so a server others can reach (bound beyond loopback) runs h11, and one on
loopback, where only its own machine's clients can reach it, httptools (`http_for`; `ocx-sim
serve --http` chooses). A body's bound is the gateway's (gateway/body.py), whichever runs.
"""

from __future__ import annotations

import gc
import ipaddress
import socket
import threading
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

PROXY_HEADERS = False
"""uvicorn's `proxy_headers`: off wherever ocx-sim runs uvicorn (module docstring)."""
HTTP_CHOICES = ("auto", "h11", "httptools")
"""`ocx-sim serve --http`: auto is `http_for` the host."""
MAX_HEADER_BYTES = 32 * 1024
"""A request head unfinished after this many bytes is refused (a cookie and a key are < 1 KiB)."""
KEEP_ALIVE_S = 15
"""An idle keep-alive connection is closed after this many seconds."""
MAX_CONNECTIONS = 512
"""Open connections (SSE streams included) before uvicorn answers 503; the default of
`ocx-sim serve --max-connections`."""
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
SHUTDOWN_GRACE_S = 2
"""How long `ocx-sim serve` lets requests in flight finish once told to stop (SIGTERM, Ctrl-C)
before uvicorn cancels them (`timeout_graceful_shutdown`): a request held by a latency fault,
or an open stream, never keeps the server up."""


def is_loopback(host: str) -> bool:
    """Whether only this machine's clients can reach `host` (`localhost`, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def http_for(host: str) -> str:
    """uvicorn's HTTP implementation for a server bound to `host` (module docstring)."""
    return "httptools" if is_loopback(host) else "h11"


def serve(
    app: Starlette,
    host: str = "127.0.0.1",
    port: int = 8000,
    access_log: bool = False,
    max_connections: int = MAX_CONNECTIONS,
    http: str | None = None,
) -> None:
    """Serve in the foreground until interrupted (`http`: uvicorn's HTTP implementation,
    `http_for(host)` when None)."""
    # What exists now (the code, the catalog, the worlds built or restored) lives as long as
    # the server: out of the collector's full passes, which then walk only what came after.
    # A full pass over it all paused every world for up to 90 ms (bench/isolation.py).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=http or http_for(host),
        loop="uvloop",
        access_log=access_log,
        log_level="info",
        proxy_headers=PROXY_HEADERS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=max_connections,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, saying when it has started (or given up) instead of being polled."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.settled = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            # Set on failure too (a lifespan error sets should_exit): the caller then reports
            # that the server did not start rather than waiting out the timeout.
            self.settled.set()


class ServerThread:
    """An app served by uvicorn on a daemon thread, on `host` and an already-bound port.

    Use it as a context manager, or call `stop()`; a stopped server has released its port."""

    def __init__(
        self,
        app: Starlette,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connections: int = MAX_CONNECTIONS,
        http: str | None = None,
    ) -> None:
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()  # a port in use: nothing else will ever close it
            raise
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            http=http or http_for(host),
            loop="auto",
            access_log=False,
            log_level="warning",
            lifespan="on",
            proxy_headers=PROXY_HEADERS,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_keep_alive=KEEP_ALIVE_S,
            limit_concurrency=max_connections,
            timeout_graceful_shutdown=int(STOP_TIMEOUT_S),
        )
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._run,
            name=f"ocx-sim {host}:{self.port}",
            daemon=True,
        )

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except SystemExit:
            # uvicorn exits the process when the app fails to start (its lifespan raised); on a
            # thread that is only this server's end: `start` reports it, uvicorn logged why.
            self._server.settled.set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self._server.started

    def start(self) -> ServerThread:
        """Start serving; returns once the server accepts requests (RuntimeError if it cannot)."""
        self._thread.start()
        if not self._server.settled.wait(STARTUP_TIMEOUT_S) or not self._server.started:
            self.stop()
            raise RuntimeError(f"ocx-sim did not start on {self.url}")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread; idempotent."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S + 5)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    app: Starlette,
    host: str = "127.0.0.1",
    port: int = 0,
    max_connections: int = MAX_CONNECTIONS,
    http: str | None = None,
) -> ServerThread:
    """Serve `app` on a thread (port 0: a free one) and return once it accepts requests."""
    return ServerThread(app, host, port, max_connections, http).start()
