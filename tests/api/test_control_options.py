"""`GET` and `POST /_sim/options/{underlying}/surface` (docs/control-api.md "Options"): the
surface's parameters and each listed expiry's raw-SVI slice, set at once and refused with 422
when arbitrageable. Every answer is also checked against /openapi.json by the client."""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from ocx_sim.engine.core.surface import years
from ocx_sim.worlds import World
from tests.api.conftest import ApiClient, assert_error

D = Decimal
SURFACE = "/_sim/options/BTC/surface"
DEFAULTS = {"atmVol": "0.55", "skew": "-0.15", "smile": "1.5", "termSlope": "0.10"}
SVI_VALUE = re.compile(r"-?\d+\.\d{10}")
HOUR_MS = 3_600_000


def expiry_ms(day: str) -> int:
    """An expiry's instant: 08:00 UTC on its day."""
    return int(datetime.fromisoformat(f"{day}T08:00:00+00:00").timestamp() * 1000)


def board_iv(svi: dict[str, str], strike: Decimal, forward: Decimal, t: float) -> float:
    """√(w(k)/T) at k = ln(K/F), from a slice as the endpoint writes it."""
    a, b, rho, m, sigma = (float(svi[name]) for name in ("a", "b", "rho", "m", "sigma"))
    x = math.log(float(strike) / float(forward)) - m
    return math.sqrt((a + b * (rho * x + math.sqrt(x * x + sigma * sigma))) / t)


def events(client: ApiClient, base: str = "") -> list[dict[str, Any]]:
    return list(client.get(base + "/_sim/events").json()["events"])


# -- reading ----------------------------------------------------------------------------------


def test_the_surface_answers_its_parameters_and_a_slice_for_every_expiry_still_trading(
    client: ApiClient,
) -> None:
    body = client.get(SURFACE).json()

    assert {k: body[k] for k in ("underlying", *DEFAULTS)} == {"underlying": "BTC", **DEFAULTS}
    board = client.get("/markets/board").json()
    assert [e["expiry"] for e in body["expiries"]] == board["expiries"]
    assert board["expiries"] == sorted(board["expiries"]) and len(board["expiries"]) == 7
    for entry in body["expiries"]:
        assert list(entry["svi"]) == ["a", "b", "rho", "m", "sigma"]
        assert all(SVI_VALUE.fullmatch(value) for value in entry["svi"].values()), entry


def test_each_slice_gives_the_boards_iv_at_the_log_moneyness_of_every_strike(
    client: ApiClient, world: World
) -> None:
    client.post("/_sim/clock/advance", json={"ms": 5 * HOUR_MS})  # a fractional T
    body = client.get(SURFACE).json()
    board = client.get("/markets/board").json()
    slices = {e["expiry"]: e["svi"] for e in body["expiries"]}
    now = world.exchange.now_ms

    for option in board["options"]:
        day = option["expiry"]
        t = years(expiry_ms(day) - now)
        forward = D(board["expiryForwards"][day]["forwardPrice"])
        iv = board_iv(slices[day], D(option["strike"]), forward, t)
        assert abs(D(repr(iv)) - D(option["iv"])) <= D("0.00005"), option["marketId"]


def test_an_expiry_leaves_the_surface_when_its_options_stop_trading(client: ApiClient) -> None:
    before = [e["expiry"] for e in client.get(SURFACE).json()["expiries"]]

    client.post("/_sim/clock/advance", json={"ms": 8 * HOUR_MS})  # 2026-01-02 08:00 expires

    after = [e["expiry"] for e in client.get(SURFACE).json()["expiries"]]
    assert before[0] == "2026-01-02" and "2026-01-02" not in after
    assert set(before[1:]) <= set(after) and after == sorted(after)
    assert after == client.get("/markets/board").json()["expiries"]  # the next Friday listed


def test_the_surface_needs_no_index(client: ApiClient, world: World) -> None:
    world.exchange.sim.set_index("BTC-PERP", None)  # the index feed is lost
    assert client.get("/markets/dvol").status_code == 503

    response = client.get(SURFACE)

    assert response.status_code == 200 and len(response.json()["expiries"]) == 7


# -- setting ----------------------------------------------------------------------------------


def test_setting_the_surface_moves_dvol_and_the_board_marks_at_once(client: ApiClient) -> None:
    call = "BTC-2026-01-09-68000-C"
    marks = {o["marketId"]: D(o["mark"]) for o in client.get("/markets/board").json()["options"]}
    assert client.get("/markets/dvol").json()["dvol"] == "55.04"

    response = client.post(SURFACE, json={"atmVol": "0.85"})

    assert response.status_code == 200
    assert client.get("/markets/dvol").json()["dvol"] == "85.04"
    board = {o["marketId"]: o for o in client.get("/markets/board").json()["options"]}
    assert D(board[call]["mark"]) > marks[call] + 1000
    assert D("0.84") < D(board[call]["iv"]) < D("0.85")


def test_a_post_answers_the_get_body_of_the_new_surface(client: ApiClient) -> None:
    before = client.get(SURFACE).json()

    answer = client.post(SURFACE, json={"atmVol": "0.80", "skew": "-0.25"}).json()

    assert answer == client.get(SURFACE).json()
    assert (answer["atmVol"], answer["skew"]) == ("0.80", "-0.25")
    assert (answer["smile"], answer["termSlope"]) == (DEFAULTS["smile"], DEFAULTS["termSlope"])
    assert answer["expiries"] != before["expiries"]


def test_the_four_parameters_are_set_together_and_logged_once(client: ApiClient) -> None:
    body = {"atmVol": "0.6", "termSlope": "0.05", "skew": "-0.1", "smile": "2"}

    answer = client.post(SURFACE, json=body).json()

    assert {k: answer[k] for k in body} == body
    (event,) = [e for e in events(client) if e["type"] == "SurfaceSet"]
    assert event == {**event, "underlying": "BTC", **body}


def test_an_empty_object_changes_nothing_and_answers_the_surface(client: ApiClient) -> None:
    before = client.get(SURFACE).json()

    response = client.post(SURFACE, json={})

    assert response.status_code == 200 and response.json() == before
    assert [e for e in events(client) if e["type"] == "SurfaceSet"] == []


def test_a_null_parameter_is_left_as_it_is(client: ApiClient) -> None:
    answer = client.post(SURFACE, json={"atmVol": None, "skew": "-0.2"}).json()

    assert (answer["atmVol"], answer["skew"]) == ("0.55", "-0.2")


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"atmVol": 0.8}, "atmVol"),
        ({"atmVol": "80%"}, "atmVol"),
        ({"skew": "-1e-1"}, "skew"),
        ({"smile": True}, "smile"),
        ({"termSlope": ".1"}, "termSlope"),
        ({"atmVol": "0.8", "smile": "NaN"}, "smile"),
    ],
)
def test_a_value_that_is_not_a_decimal_string_is_400_naming_it_and_changes_nothing(
    client: ApiClient, body: dict[str, Any], field: str
) -> None:
    before = client.get(SURFACE).json()

    response = client.post(SURFACE, json=body)

    assert_error(response, 400, "VALIDATION_ERROR", field)
    assert client.get(SURFACE).json() == before


def test_a_key_that_is_not_a_parameter_is_400_naming_it(client: ApiClient) -> None:
    response = client.post(SURFACE, json={"atmvol": "0.8"})

    assert_error(response, 400, "VALIDATION_ERROR", "atmvol")
    assert "atmVol, termSlope, skew, smile" in response.json()["message"]
    assert client.get(SURFACE).json()["atmVol"] == "0.55"


def test_a_body_that_is_not_a_json_object_is_400_naming_body(client: ApiClient) -> None:
    assert_error(client.post(SURFACE, content=b""), 400, "VALIDATION_ERROR", "body")
    assert_error(client.post(SURFACE, json=["0.8"]), 400, "VALIDATION_ERROR", "body")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"atmVol": "0"}, "atmVol"),
        ({"atmVol": "-0.2"}, "atmVol"),
        ({"smile": "-5"}, "smile"),
        ({"smile": "40"}, "smile"),
        ({"termSlope": "-3"}, "termSlope"),
        # Several given: the first in the order atmVol, termSlope, skew, smile is named.
        ({"smile": "-5", "skew": "-0.15"}, "skew"),
        ({"smile": "-5", "atmVol": "0.55"}, "atmVol"),
    ],
)
def test_a_surface_with_arbitrage_is_422_naming_the_parameter_and_changes_nothing(
    client: ApiClient, body: dict[str, str], field: str
) -> None:
    before = client.get(SURFACE).json()
    board = client.get("/markets/board").json()
    seq = client.get("/_sim/digest").json()

    response = client.post(SURFACE, json=body)

    assert_error(response, 422, "VALIDATION_ERROR", field)
    assert client.get(SURFACE).json() == before
    assert client.get("/markets/board").json() == board
    assert client.get("/_sim/digest").json() == seq


@pytest.mark.parametrize("underlying", ["NOPE", "XAUT", "WTIOIL", "btc"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_underlying_or_one_without_options_is_404_naming_it(
    client: ApiClient, method: str, underlying: str
) -> None:
    response = client.request(
        method, f"/_sim/options/{underlying}/surface", json={} if method == "POST" else None
    )

    assert_error(response, 404, "UNKNOWN_MARKET", "underlying")
    assert response.json()["details"]["underlying"] == underlying


def test_bad_input_is_refused_before_the_underlying_is_looked_up(client: ApiClient) -> None:
    response = client.post("/_sim/options/XAUT/surface", json={"atmVol": 0.5})

    assert_error(response, 400, "VALIDATION_ERROR", "atmVol")


# -- worlds and the document ------------------------------------------------------------------


def test_a_worlds_surface_is_set_and_read_under_its_prefix_and_its_alone(
    client: ApiClient,
) -> None:
    base = client.post("/_sim/worlds", json={}).json()["baseUrl"]

    answer = client.post(f"{base}{SURFACE}", json={"atmVol": "0.45"}).json()

    assert answer == client.get(f"{base}{SURFACE}").json()
    assert answer["atmVol"] == "0.45"
    assert client.get(f"{base}/markets/dvol").json()["dvol"] == "45.04"
    assert client.get(SURFACE).json()["atmVol"] == "0.55"
    assert client.get("/markets/dvol").json()["dvol"] == "55.04"
    assert [e["type"] for e in events(client, base)] == ["SurfaceSet"]


def test_the_surface_endpoints_are_control_operations_in_the_openapi_document(
    client: ApiClient,
) -> None:
    path = client.http.get("/openapi.json").json()["paths"]["/_sim/options/{underlying}/surface"]

    assert set(path) >= {"get", "post"}
    assert path["get"]["tags"] == path["post"]["tags"] == ["control"]
