"""`/docs`: the API reference, Swagger UI rendering the server's own `/openapi.json`.

Swagger UI ships inside the package (ocx_sim/assets/swagger-ui, with its licence), so the page
works offline and behind any firewall, as the sandbox does. It is served at the root only:
every world serves the same API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ocx-sim: the OCX REST API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  docExpansion: "none",
  tryItOutEnabled: true,
}});
</script>
</body>
</html>
"""


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


def routes() -> list[BaseRoute]:
    assets = StaticFiles(packages=[("ocx_sim", "assets/swagger-ui")])
    return [Route("/docs", page, methods=["GET"]), Mount(ASSETS, app=assets)]
