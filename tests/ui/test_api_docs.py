"""`/docs`: Swagger UI over the server's own `/openapi.json`, its assets inside the package."""

from __future__ import annotations

from pathlib import Path

import httpx

import ocx_sim
from ocx_sim.app import create_app
from ocx_sim.testing.client import InProcessClient
from ocx_sim.testing.sandbox import Sandbox

ASSETS = Path(ocx_sim.__file__).parent / "assets" / "swagger-ui"


def test_the_page_loads_swagger_ui_from_the_server_and_points_it_at_the_openapi_document() -> None:
    with InProcessClient(create_app(control=False)) as http:
        page = http.get("/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/docs/assets/swagger-ui-bundle.js">' in page.text
    assert 'href="/docs/assets/swagger-ui.css"' in page.text
    assert 'url: "/openapi.json"' in page.text
    assert "https://" not in page.text  # nothing from a CDN: the page works offline


def test_the_assets_are_served_from_the_package_with_their_licence(
    ocx_sandbox: Sandbox,
) -> None:
    with httpx.Client(base_url=ocx_sandbox.url) as http:
        bundle = http.get("/docs/assets/swagger-ui-bundle.js")
        css = http.get("/docs/assets/swagger-ui.css")
        missing = http.get("/docs/assets/nothing.js")

    assert bundle.status_code == css.status_code == 200
    assert bundle.content == (ASSETS / "swagger-ui-bundle.js").read_bytes()
    assert css.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404
    assert "Apache License" in (ASSETS / "LICENSE").read_text()
