"""The client's address and scheme over real sockets (docs/fidelity.md "Sign-in, sessions and
keys"): uvicorn's proxy-header handling is off wherever ocx-sim runs it, the pytest plugin's
threaded server and `ocx-sim serve` alike, so `X-Forwarded-For` and `X-Forwarded-Proto` from a
local client count only when the connection's peer is one of the trusted proxies, and then the
client is the right-most forwarded hop that is not itself a trusted proxy. Over plain http the
session cookie is not `Secure`, so a cookie jar sends it back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from ocx_sim.app import create_app
from ocx_sim.auth.siwe import prepare_message, sign_message
from ocx_sim.server import ServerThread, serve_in_thread
from ocx_sim.testing.wire import HttpBackend
from ocx_sim.testing.world import OcxWorld
from ocx_sim.worlds import WorldConfig, Worlds
from ocx_sim.worlds.config import proxy_networks
from tests.served import ocx_sim_serve

ALLOWED = "203.0.113.7"
"""The only address the fenced keys accept, and the one a local client claims to be."""
FORWARDED = {"X-Forwarded-For": ALLOWED}
FENCED = {"name": "fenced", "scope": "read", "allowedIps": [ALLOWED]}
PRIVATE_KEY = "0x" + "4f" * 32
COOKIE = "astra_session"


def serving(trusted: str) -> ServerThread:
    """A threaded server whose worlds trust these proxies (`--trusted-proxies`)."""
    config = WorldConfig(trusted_proxies=proxy_networks(trusted))
    return serve_in_thread(create_app(Worlds(config)))


@pytest.fixture
def trusting() -> Iterator[ServerThread]:
    """A server that trusts the test's own address as a proxy (and a private network)."""
    with serving("127.0.0.1,10.0.0.0/8") as server:
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
    [
        ([], "127.0.0.1"),
        (["--trusted-proxies", "10.0.0.0/8"], "127.0.0.1"),
        (["--trusted-proxies", "10.0.0.0/8,127.0.0.1"], ALLOWED),
    ],
    ids=["plain", "another-proxy", "trusted-proxies"],
)
def test_ocx_sim_serve_takes_a_forwarded_address_only_from_a_trusted_peer(
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


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        (f"198.51.100.9, {ALLOWED}", ALLOWED),
        (f"{ALLOWED}, 10.0.0.5, 10.1.2.3", ALLOWED),
        (f"{ALLOWED}, 198.51.100.9", "198.51.100.9"),
        (f"{ALLOWED}, not-an-address, 10.0.0.5", "10.0.0.5"),
        ("10.0.0.7, 10.0.0.5", "10.0.0.7"),
    ],
    ids=["spoofed-left", "two-proxies", "untrusted-hop", "garbage-hop", "all-trusted"],
)
def test_the_client_is_the_right_most_forwarded_hop_that_is_not_a_trusted_proxy(
    trusting: ServerThread, forwarded: str, client: str
) -> None:
    with httpx.Client() as http:
        world = trusting_world(trusting, http)
        account = world.account(api_keys=["read"])

        used = account.key_client().get("/perps/balances", headers={"X-Forwarded-For": forwarded})

        assert used.status_code == 200
        (key,) = keys_of(world, account.session_token)
        assert key["lastUsedIp"] == client


def test_forwarded_headers_from_a_peer_outside_the_trusted_list_are_ignored() -> None:
    with serving("10.0.0.0/8") as server, httpx.Client() as http:
        world = trusting_world(server, http)
        account = world.account(api_keys=[FENCED])

        refused = account.key_client().get("/perps/balances", headers=FORWARDED)
        signed_in = sign_in(http, world, {"X-Forwarded-Proto": "https"})

    assert refused.json()["code"] == "IP_NOT_ALLOWED"
    assert "secure" not in signed_in.headers["set-cookie"].lower()


# -- the scheme and the session cookie --------------------------------------------------------


def sign_in(http: httpx.Client, world: OcxWorld, headers: dict[str, str] | None = None) -> Any:
    """SIWE as a wallet does it, through `http` (whose cookie jar keeps what it is given)."""
    address = Account.from_key(PRIVATE_KEY).address
    nonce = http.post(world.url + "/auth/nonce", json={"walletAddress": address}).json()["nonce"]
    host = httpx.URL(world.url).netloc.decode()
    text = prepare_message(host, address, nonce, world.clock.now_ms, uri=world.url)
    body = {"message": text, "signature": sign_message(PRIVATE_KEY, text)}
    return http.post(world.url + "/auth/siwe", json=body, headers=headers)


def test_a_cookie_jar_signed_in_over_plain_http_is_recognised_by_its_cookie_alone(
    ocx_server: OcxWorld,
) -> None:
    with httpx.Client() as http:
        signed_in = sign_in(http, ocx_server)
        me = http.get(ocx_server.url + "/auth/me")

    assert signed_in.status_code == 200, signed_in.text
    assert "secure" not in signed_in.headers["set-cookie"].lower()
    assert "authorization" not in me.request.headers
    assert me.request.headers["cookie"].startswith(f"{COOKIE}=")
    assert me.json() == signed_in.json()


def test_a_local_client_claiming_https_gets_no_secure_cookie(ocx_server: OcxWorld) -> None:
    with httpx.Client() as http:
        signed_in = sign_in(http, ocx_server, {"X-Forwarded-Proto": "https"})

    assert signed_in.status_code == 200, signed_in.text
    assert "secure" not in signed_in.headers["set-cookie"].lower()


def test_behind_trusted_proxies_a_forwarded_https_gets_a_secure_cookie(
    trusting: ServerThread,
) -> None:
    with httpx.Client() as http:
        world = trusting_world(trusting, http)
        signed_in = sign_in(http, world, {"X-Forwarded-Proto": "https"})

    assert signed_in.status_code == 200, signed_in.text
    attributes = [a.strip().lower() for a in signed_in.headers["set-cookie"].split(";")]
    assert "secure" in attributes
