"""`create_app`: the Starlette application over one exchange; the only module that wires the
web layers together (DESIGN.md)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ocx_sim.api import market
from ocx_sim.api.responses import error_response, status_error
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import OcxError


async def _ocx_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OcxError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(status_error(exc.status_code))
    # Routing's own headers (a 405's `Allow`) survive the catalog body.
    response.headers.update(exc.headers or {})
    return response


def create_app(exchange: Exchange | None = None) -> Starlette:
    """The OCX REST API over `exchange` (a fresh default-catalog exchange when omitted)."""
    app = Starlette(
        routes=[
            Route("/perps/markets", market.list_markets, methods=["GET"]),
            Route("/markets/linear", market.list_markets, methods=["GET"]),
        ],
        exception_handlers={OcxError: _ocx_error, HTTPException: _http_error},
    )
    app.state.exchange = exchange if exchange is not None else Exchange.create()
    return app
