"""Browser tests: Playwright driving Debian's Chromium (`/usr/bin/chromium`) against a real
server. Marked `browser`; without Chromium they are skipped, saying so (`.ci/run` installs it,
so CI always runs them)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Chromium for one test. Playwright's sync API runs an event loop on this thread while it
    is started, which the in-process tests' own loops cannot share: so it stops after each
    test rather than lasting the session."""
    if not Path(CHROMIUM).exists():
        pytest.skip("browser tests need Chromium: apt-get install -y chromium (CI installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()
