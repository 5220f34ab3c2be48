"""`/docs` in a real browser: Swagger UI draws the API from `/openapi.json`, offline."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from ocx_sim.testing.sandbox import Sandbox


def test_the_api_reference_lists_the_operations(
    page: Page, ocx_sandbox: Sandbox, tmp_path: Path
) -> None:
    # Any request off the server fails: the page must not need the network.
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(ocx_sandbox.url) else route.abort()
        ),
    )

    page.goto(f"{ocx_sandbox.url}/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ocx-sim: the OCX REST API")
    page.locator(".opblock-tag", has_text="perps").first.click()
    # (Swagger UI breaks a path's text where a slash is; its data-path is whole.)
    orders = page.locator('.opblock-summary-path[data-path="/perps/orders"]').first
    expect(orders).to_be_visible()
    page.screenshot(path=tmp_path / "api-docs.png")
