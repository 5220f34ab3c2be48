"""`ocx-sim run --report` in a real browser: the page draws its charts from the file alone."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

import ocx_sim.cli

DRAWN = """
canvas => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
  return false;
}
"""
"""Whether a canvas has anything drawn on it (a pixel that is not transparent)."""


def test_a_report_opens_offline_with_every_chart_drawn(page: Page, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    assert ocx_sim.cli.main(["run", "liquidation-cascade", "--report", str(report)]) == 0
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )

    page.goto(report.as_uri())

    charts = page.locator(".uplot canvas")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3
    assert all(charts.nth(i).evaluate(DRAWN) for i in range(charts.count()))
    page.screenshot(path=tmp_path / "report.png", full_page=True)
