"""`/_sim/ui/`: the dashboard's page and files, served wherever the control API is and nowhere
else, from inside the package (tests/browser/test_dashboard.py drives it in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

import ocx_sim
from ocx_sim.app import create_app
from ocx_sim.testing.client import InProcessClient
from ocx_sim.testing.sandbox import Sandbox

ASSETS = Path(ocx_sim.__file__).parent / "assets" / "dashboard"
MODULES = sorted(path.name for path in ASSETS.glob("*.js"))


def test_the_page_is_served_for_the_default_world_and_under_a_worlds_prefix(
    ocx_sandbox: Sandbox,
) -> None:
    with httpx.Client(base_url=ocx_sandbox.url) as http:
        world = http.post("/_sim/worlds", json={}).json()["baseUrl"]
        root = http.get("/_sim/ui/")
        other = http.get(f"{world}/_sim/ui/")
        bare = http.get("/_sim/ui", follow_redirects=False)

    assert root.status_code == other.status_code == 200
    assert root.headers["content-type"].startswith("text/html")
    assert root.text == other.text  # the page finds its world from its own address
    assert '<script type="module" src="assets/app.js">' in root.text
    assert bare.status_code == 308
    assert bare.headers["location"].endswith("/_sim/ui/")


def test_an_unknown_world_has_no_dashboard() -> None:
    with InProcessClient(create_app()) as http:
        answer = http.get("/w/01KDY021004RDHQ3V3TQWCG0G6/_sim/ui/")

    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"


def test_without_the_control_api_there_is_no_dashboard() -> None:
    with InProcessClient(create_app(control=False)) as http:
        page = http.get("/_sim/ui/")
        script = http.get("/_sim/ui/assets/app.js")

    assert page.status_code == script.status_code == 404


def test_every_file_the_page_loads_is_served_from_the_package(ocx_sandbox: Sandbox) -> None:
    # (A file answer is streamed from disk: served for real, not in process.)
    with httpx.Client(base_url=ocx_sandbox.url) as http:
        page = http.get("/_sim/ui/").text
        wanted = re.findall(r'(?:src|href)="(?!data:)([^"#]+)"', page)
        answers = {path: http.get(f"/_sim/ui/{path}") for path in wanted}

    assert {"assets/app.js", "assets/app.css", "uplot/uPlot.iife.min.js"} <= set(answers)
    assert {path: a.status_code for path, a in answers.items()} == dict.fromkeys(answers, 200)
    assert answers["assets/app.js"].content == (ASSETS / "app.js").read_bytes()


def test_the_scripts_import_only_each_other_and_nothing_from_the_network() -> None:
    for name in MODULES:
        text = (ASSETS / name).read_text()
        imported = re.findall(r'from "([^"]+)"', text)
        assert all(re.fullmatch(r"\./[a-z]+\.js", path) for path in imported), name
        assert {path[2:] for path in imported} <= set(MODULES), name
        assert "http://" not in text and "https://" not in text, name
