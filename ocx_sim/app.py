"""`create_app`: the Starlette application over a set of worlds; the only module that wires the
OCX API and the /_sim control API together (docs/architecture.md "Layers")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from importlib.metadata import version

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from ocx_sim.api import routes as api_routes
from ocx_sim.control import routes as control_routes
from ocx_sim.gateway.endpoint import Endpoint, serve, unknown_world
from ocx_sim.gateway.openapi import document
from ocx_sim.gateway.responses import error_response, json_response, status_error
from ocx_sim.streams import endpoints as stream_routes
from ocx_sim.ui import api_docs, dashboard
from ocx_sim.worlds import WorldConfig, Worlds
from ocx_sim.worlds.persistence import Keeper

VERSION = version("ocx-sim")
"""The installed package's version, as pyproject.toml states it (the only place it is written)."""
TICK_SECONDS = 0.25
"""The longest the realtime ticker sleeps: a timer scheduled while it sleeps (a new deposit's
confirmations) is seen within this much real time. Requests never wait for it: each fires
its world's due timers first (gateway/endpoint.py)."""
MIN_TICK_SECONDS = 0.001
"""The shortest the realtime ticker sleeps. At a high speed the next timer is often due in less
than a millisecond of real time, and a shorter sleep returns at once (the event loop's timers
have millisecond resolution): the ticker would spin. Each wake fires every timer due by then,
and a request fires its world's own first, so nothing is late but an open stream's frame, by
at most this much."""

log = logging.getLogger("ocx_sim")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(status_error(exc.status_code))
    # Routing's own headers (a 405's `Allow`) survive the catalog body.
    response.headers.update(exc.headers or {})
    return response


def _route_path(scope: Scope) -> str:
    """The path below the mount this router serves (`/perps/orders` of `/w/{id}/perps/orders`)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


class _Router(Router):
    """Starlette's router tries every route's pattern in turn, which was a tenth of the cost of
    an order request (bench/http.py). A request for a fixed path (most of the API) is found
    by (method, path) in one look-up; anything else, including a wrong method, a path
    parameter or a trailing slash, takes Starlette's own scan, so 404, 405 and redirects are
    unchanged."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        super().__init__(routes)
        self._fixed = {
            (method, route.path): route
            for route in routes
            if isinstance(route, Route) and "{" not in route.path
            for method in route.methods or ()
        }

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._fixed.get((scope["method"], _route_path(scope)))
            if route is not None:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


async def keep_saving(
    worlds: Worlds, keeper: Keeper, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
) -> None:
    """Save the worlds every `keeper.every_s` seconds, until cancelled; a failed save is logged
    and the next one tried (the previous complete save stays on disk)."""
    while True:
        await sleep(keeper.every_s)
        try:
            await keeper.save(worlds)
        except Exception:
            log.exception("saving the worlds to %s failed", keeper.directory)


Handler = Callable[[Request], Awaitable[Response]]


def _by_method(handlers: dict[str, Handler]) -> Handler:
    """One route per path, whatever the number of methods it serves: a wrong method is then
    Starlette's 405 with an `Allow` naming every method of the path (and HEAD beside GET,
    which Starlette answers as GET), not only the method of whichever route it met first."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return dispatch


async def keep_time(
    worlds: Worlds, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
) -> None:
    """Fire the timers of realtime worlds as real time passes, until cancelled: sleep until the
    next timer is due, at least `MIN_TICK_SECONDS` and at most `TICK_SECONDS`."""
    while True:
        try:
            wait = worlds.keep_time()
        except Exception:
            # A failing timer is already off its clock; the others must keep running.
            log.exception("a timer failed")
            wait = 0.0
        await sleep(
            TICK_SECONDS if wait is None else max(MIN_TICK_SECONDS, min(wait, TICK_SECONDS))
        )


def create_app(
    worlds: Worlds | None = None, *, control: bool = True, keeper: Keeper | None = None
) -> Starlette:
    """The OCX REST API over `worlds` (a default world on the default config when omitted):
    every endpoint at `/` for the default world and under `/w/{worldId}` for the others. With
    a `keeper`, the worlds are saved to its directory now and then and as the server stops."""
    if worlds is None:
        worlds = Worlds(WorldConfig())
    endpoints: list[Endpoint] = [*api_routes.ENDPOINTS, *stream_routes.ENDPOINTS]
    components = {**api_routes.COMPONENTS, **stream_routes.COMPONENTS}
    if control:
        endpoints += [*control_routes.ENDPOINTS, *stream_routes.CONTROL_ENDPOINTS]
        components.update(control_routes.COMPONENTS)
    # One document per app: its security is what the default world's profile accepts.
    spec = document(
        endpoints,
        components,
        title="ocx-sim: the OCX REST API",
        version=VERSION,
        profile=worlds.default.config.profile,
    )

    async def openapi(request: Request) -> Response:
        world_id = request.path_params.get("world_id")
        if world_id is not None and worlds.get(world_id) is None:
            return error_response(unknown_world(world_id))
        return json_response(spec)

    def table() -> list[BaseRoute]:
        by_path: dict[str, dict[str, Handler]] = {}
        for endpoint in endpoints:
            handler = serve(endpoint, worlds)
            for path in (endpoint.path, *endpoint.aliases):
                by_path.setdefault(path, {})[endpoint.method] = handler
        out: list[BaseRoute] = [
            Route(path, _by_method(handlers), methods=list(handlers))
            for path, handlers in by_path.items()
        ]
        out.append(Route("/openapi.json", openapi, methods=["GET"]))
        if control:
            out += dashboard.routes(worlds)
        return out

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(keep_time(worlds))]
        if keeper is not None:
            tasks.append(asyncio.create_task(keep_saving(worlds, keeper)))
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        if keeper is not None:
            await keeper.save(worlds)

    # Starlette takes no router class, so ours is mounted at the root and holds everything.
    # The mount goes first: a world's request would otherwise be tried against every root
    # route's pattern before reaching it (a root request with a fixed path never scans).
    routes = _Router([Mount("/w/{world_id}", app=_Router(table())), *table(), *api_docs.routes()])
    app = Starlette(
        routes=[Mount("", app=routes)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.worlds = worlds
    return app
