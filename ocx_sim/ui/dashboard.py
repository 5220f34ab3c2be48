"""`/_sim/ui/`: the dashboard, a window into a world for people.

One static page (ocx_sim/assets/dashboard) that reads and drives its world through the same
calls a test makes: the `/_sim` control API, the OCX market data and the streams. It has no
route of its own beyond its files, so anything it shows or does, a test can show or do too. It
is served wherever the control API is (at the root for the default world and under
`/w/{worldId}` for the others; absent with `--no-control`) and finds its world from its own
address. Its chart library, uPlot, ships inside the package too (ocx_sim/assets/uplot): the
page works offline.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ocx_sim.gateway.endpoint import unknown_world
from ocx_sim.gateway.responses import error_response
from ocx_sim.worlds import Worlds

ROOT = "/_sim/ui"


def routes(worlds: Worlds) -> list[BaseRoute]:
    """The page, its files and uPlot's; mounted at the root and under each world's prefix."""
    page = (files("ocx_sim") / "assets" / "dashboard" / "index.html").read_text()

    async def index(request: Request) -> Response:
        world_id = request.path_params.get("world_id")
        if world_id is not None and worlds.get(world_id) is None:
            return error_response(unknown_world(world_id))
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    async def to_index(request: Request) -> Response:
        return RedirectResponse(f"{request.url.path}/", status_code=308)

    return [
        Route(ROOT, to_index, methods=["GET"]),
        Route(f"{ROOT}/", index, methods=["GET"]),
        Mount(f"{ROOT}/assets", app=StaticFiles(packages=[("ocx_sim", "assets/dashboard")])),
        Mount(f"{ROOT}/uplot", app=StaticFiles(packages=[("ocx_sim", "assets/uplot")])),
    ]
