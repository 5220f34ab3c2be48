"""`create_app`: the Starlette application over a set of worlds; the only module that wires the
OCX API and the /_sim control API together (DESIGN.md)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ocx_sim.api import routes as api_routes
from ocx_sim.control import routes as control_routes
from ocx_sim.gateway.endpoint import Endpoint, serve
from ocx_sim.gateway.openapi import document
from ocx_sim.gateway.responses import error_response, json_response, status_error
from ocx_sim.worlds import WorldConfig, Worlds

VERSION = "0.1.0"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(status_error(exc.status_code))
    # Routing's own headers (a 405's `Allow`) survive the catalog body.
    response.headers.update(exc.headers or {})
    return response


def create_app(worlds: Worlds | None = None, *, control: bool = True) -> Starlette:
    """The OCX REST API over `worlds` (a default world on the default config when omitted):
    every endpoint at `/` for the default world and under `/w/{worldId}` for the others."""
    if worlds is None:
        worlds = Worlds(WorldConfig())
    endpoints: list[Endpoint] = list(api_routes.ENDPOINTS)
    components = dict(api_routes.COMPONENTS)
    if control:
        endpoints += control_routes.ENDPOINTS
        components.update(control_routes.COMPONENTS)
    spec = document(endpoints, components, title="ocx-sim: the OCX REST API", version=VERSION)

    async def openapi(request: Request) -> Response:
        return json_response(spec)

    def table() -> list[BaseRoute]:
        out: list[BaseRoute] = []
        for endpoint in endpoints:
            handler = serve(endpoint, worlds)
            for path in (endpoint.path, *endpoint.aliases):
                out.append(Route(path, handler, methods=[endpoint.method]))
        out.append(Route("/openapi.json", openapi, methods=["GET"]))
        return out

    app = Starlette(
        routes=[*table(), Mount("/w/{world_id}", routes=table())],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.worlds = worlds
    return app
