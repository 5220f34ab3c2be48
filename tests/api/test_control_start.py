"""A world's first instant (docs/control-api.md "Worlds"): `start` is an instant or "now", the
wall clock's now in whole seconds; without one a world starts at 2026-01-02T00:00:00.000Z on a
manual clock and at the wall clock's now on a realtime one, so that a wallet's SIWE message,
whose `Issued At` is its own now, is accepted by a live sandbox. A scenario's `meta.start`
comes after an explicit `start` and before the server's and the clock's defaults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ocx_sim.app import create_app
from ocx_sim.clock import format_ms
from ocx_sim.testing.builders import FakeRealTime
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import WorldConfig, Worlds
from ocx_sim.worlds.config import START_NOW
from tests.api.conftest import ApiClient, OpenApi, assert_error
from tests.auth import sign, siwe_message

WALL_S = 1_796_626_260.75
"""The wall clock the tests fake: 2026-12-07T06:51:00.750Z."""
WALL_MS = 1_796_626_260_000
"""Its now in whole seconds."""
EXPIRY_START = "2026-03-27T06:30:00.000Z"
"""The `meta.start` of the bundled futures-expiry scenario."""


@pytest.fixture
def wall() -> FakeRealTime:
    return FakeRealTime(WALL_S)


@pytest.fixture
def worlds(config: WorldConfig, wall: FakeRealTime) -> Worlds:
    """The server's worlds, on a real time that stands still and a faked wall clock."""
    return Worlds(config, real_time=FakeRealTime(), wall_time=wall)


def now_of(client: ApiClient, body: dict[str, Any]) -> str:
    response = client.post("/_sim/worlds", json=body)
    assert response.status_code == 201, response.json()
    created = response.json()
    clock = client.get(created["baseUrl"] + "/_sim/clock").json()
    assert clock["now"] == created["now"]
    return str(created["now"])


def test_a_manual_world_starts_on_2026_01_02_by_default(client: ApiClient) -> None:
    assert now_of(client, {}) == "2026-01-02T00:00:00.000Z"


def test_a_realtime_world_starts_at_the_wall_clocks_now_in_whole_seconds_by_default(
    client: ApiClient,
) -> None:
    assert now_of(client, {"clock": "realtime"}) == format_ms(WALL_MS)


@pytest.mark.parametrize("clock", ["manual", "realtime"])
def test_start_now_is_the_wall_clocks_now_in_whole_seconds_on_either_clock(
    client: ApiClient, clock: str
) -> None:
    assert now_of(client, {"clock": clock, "start": "now"}) == format_ms(WALL_MS)


def test_an_explicit_instant_starts_a_realtime_world_there(client: ApiClient) -> None:
    body = {"clock": "realtime", "start": "2026-02-01T00:00:00Z"}

    assert now_of(client, body) == "2026-02-01T00:00:00.000Z"


def test_a_world_starting_now_reads_the_wall_clock_again_when_it_is_reset(
    client: ApiClient, wall: FakeRealTime
) -> None:
    base = client.post("/_sim/worlds", json={"clock": "realtime"}).json()["baseUrl"]
    wall.now += 3_600.2

    reset = client.post(base + "/_sim/reset").json()

    assert reset["nowMs"] == WALL_MS + 3_600_000


def test_a_world_given_an_instant_goes_back_to_it_when_reset(
    client: ApiClient, wall: FakeRealTime
) -> None:
    body = {"clock": "realtime", "start": "2026-02-01T00:00:00Z"}
    base = client.post("/_sim/worlds", json=body).json()["baseUrl"]
    wall.now += 3_600

    assert client.post(base + "/_sim/reset").json()["now"] == "2026-02-01T00:00:00.000Z"


# -- scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize("clock", ["manual", "realtime"])
def test_a_scenarios_meta_start_is_the_worlds_start_on_either_clock(
    client: ApiClient, clock: str
) -> None:
    assert now_of(client, {"clock": clock, "scenario": "futures-expiry"}) == EXPIRY_START


def test_a_scenario_without_a_meta_start_starts_a_realtime_world_now(client: ApiClient) -> None:
    assert now_of(client, {"clock": "realtime", "scenario": "sandbox"}) == format_ms(WALL_MS)


@pytest.mark.parametrize(
    ("start", "now"),
    [("2026-02-01T00:00:00Z", "2026-02-01T00:00:00.000Z"), ("now", format_ms(WALL_MS))],
)
def test_an_explicit_start_wins_over_the_scenarios_meta_start(
    client: ApiClient, start: str, now: str
) -> None:
    assert now_of(client, {"scenario": "futures-expiry", "start": start}) == now


# -- the server's default ---------------------------------------------------------------------


@pytest.mark.parametrize("config", [WorldConfig(seed=7, start=START_NOW)], ids=["now"])
def test_a_new_world_takes_the_servers_start_unless_the_body_gives_one(
    client: ApiClient,
) -> None:
    assert client.get("/_sim/clock").json()["nowMs"] == WALL_MS
    assert now_of(client, {}) == format_ms(WALL_MS)
    assert now_of(client, {"start": "2026-02-01T00:00:00Z"}) == "2026-02-01T00:00:00.000Z"
    assert now_of(client, {"scenario": "futures-expiry"}) == EXPIRY_START


def test_a_malformed_start_creates_no_world_and_names_start(client: ApiClient) -> None:
    for start in ("now()", "2026-13-01T00:00:00Z", 0, True):
        assert_error(client.post("/_sim/worlds", json={"start": start}), 400, "VALIDATION_ERROR")
    assert len(client.get("/_sim/worlds").json()["worlds"]) == 1


# -- a wallet's sign-in, on the real wall clock ------------------------------------------------


@pytest.fixture
def live() -> Iterator[ApiClient]:
    """An app on the system's wall clock and real time, as `ocx-sim serve` runs it."""
    http = InProcessClient(create_app(Worlds(WorldConfig())))
    yield ApiClient(http, OpenApi(http.get("/openapi.json").json()))
    http.close()


def test_a_realtime_world_made_with_defaults_accepts_a_wallets_sign_in_stamped_with_its_now(
    live: ApiClient,
) -> None:
    wallet = cast(LocalAccount, Account.from_key("0x" + "5e" * 32))
    base = live.post("/_sim/worlds", json={"clock": "realtime"}).json()["baseUrl"]
    nonce = live.post(base + "/auth/nonce", json={"walletAddress": wallet.address}).json()["nonce"]
    # A wallet writes its own clock's now, to the millisecond.
    text = siwe_message(wallet.address, nonce, issued_at=int(time.time() * 1000))

    response = live.post(
        base + "/auth/siwe", json={"message": text, "signature": sign(wallet, text)}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["walletAddress"] == wallet.address
