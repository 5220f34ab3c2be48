"""The client's address and scheme over real sockets (docs/fidelity.md "Sign-in, sessions and
keys"): uvicorn's proxy-header handling is off wherever ocx-sim runs it, the pytest plugin's
threaded server and `ocx-sim serve` alike, so `X-Forwarded-For` and `X-Forwarded-Proto` from a
local client count only when the server trusts proxies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ocx_sim.app import create_app
from ocx_sim.server import ServerThread, serve_in_thread
from ocx_sim.testing.wire import HttpBackend
from ocx_sim.testing.world import OcxWorld
from ocx_sim.worlds import WorldConfig, Worlds
from tests.served import ocx_sim_serve

ALLOWED = "203.0.113.7"
"""The only address the fenced keys accept, and the one a local client claims to be."""
FORWARDED = {"X-Forwarded-For": ALLOWED}
FENCED = {"name": "fenced", "scope": "read", "allowedIps": [ALLOWED]}


@pytest.fixture
def trusting() -> Iterator[ServerThread]:
    """A threaded server whose worlds trust proxies (`--trusted-proxies`)."""
    with serve_in_thread(create_app(Worlds(WorldConfig(trusted_proxies=True)))) as server:
        yield server


def trusting_world(server: ServerThread, http: httpx.Client) -> OcxWorld:
    return OcxWorld(
        HttpBackend(http, server.url), {"worldId": "default", "baseUrl": "/", "seed": 0}
    )


def keys_of(world: OcxWorld, token: str) -> list[dict[str, Any]]:
    answer = world.client.get("/perps/me/api-keys", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    keys: list[dict[str, Any]] = answer.json()
    return keys


# -- the client's address -------------------------------------------------------------------


def test_a_local_client_forwarding_an_allowed_address_is_refused_by_the_key_allowlist(
    ocx_server: OcxWorld,
) -> None:
    account = ocx_server.account(api_keys=[FENCED])

    answer = account.key_client().get("/perps/balances", headers=FORWARDED)

    assert answer.status_code == 403
    assert answer.json()["code"] == "IP_NOT_ALLOWED"


def test_a_forwarded_address_from_a_local_client_is_not_the_keys_last_used_ip(
    ocx_server: OcxWorld,
) -> None:
    account = ocx_server.account(api_keys=["read"])

    assert account.key_client().get("/perps/balances", headers=FORWARDED).status_code == 200

    (key,) = keys_of(ocx_server, account.session_token)
    assert key["lastUsedIp"] == "127.0.0.1"


def test_behind_trusted_proxies_the_forwarded_address_passes_the_allowlist_and_is_recorded(
    trusting: ServerThread,
) -> None:
    with httpx.Client() as http:
        world = trusting_world(trusting, http)
        account = world.account(api_keys=[FENCED])

        refused = account.key_client().get("/perps/balances")
        answer = account.key_client().get("/perps/balances", headers=FORWARDED)

        assert refused.json()["code"] == "IP_NOT_ALLOWED"
        assert answer.status_code == 200
        (key,) = keys_of(world, account.session_token)
        assert key["lastUsedIp"] == ALLOWED


@pytest.mark.parametrize(
    ("flags", "recorded"),
    [([], "127.0.0.1"), (["--trusted-proxies"], ALLOWED)],
    ids=["plain", "trusted-proxies"],
)
def test_ocx_sim_serve_takes_a_forwarded_address_only_with_trusted_proxies(
    tmp_path: Path, flags: list[str], recorded: str
) -> None:
    with ocx_sim_serve(flags, tmp_path) as served, httpx.Client(base_url=served.url) as http:
        key = served.demo("trade API key")
        token = served.demo("session token")

        used = http.get("/perps/balances", headers={"x-api-key": key, **FORWARDED})
        keys = http.get("/perps/me/api-keys", headers={"Authorization": f"Bearer {token}"})

    assert used.status_code == 200
    (demo,) = keys.json()
    assert demo["lastUsedIp"] == recorded
