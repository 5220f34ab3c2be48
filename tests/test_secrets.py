"""Secrets on a served sandbox (docs/fidelity.md "Sign-in, sessions and keys"): drawn from the
operating system under `ocx-sim serve --no-control`, so that nobody who knows the seed can forge
a session or predict a key; from the seed with `--deterministic-secrets` and with the control
API on, where the demo account the banner prints survives a reset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from ocx_sim.auth.siwe import prepare_message, sign_message
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.worlds import DEFAULT_WORLD_ID, World, WorldConfig
from tests.served import Served, ocx_sim_serve

PRIVATE_KEY = "0x" + "5e" * 32
"""The wallet every run signs in with: the same requests on every server."""
FORGED_SESSION_ID = "01KDY02100AAAAAAAAAAAAAAAA"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Served]]]:
    """Two `--no-control` servers on seed 0, and two more with `--deterministic-secrets`."""
    cwd = tmp_path_factory.mktemp("served")
    runs = {"random": ["--no-control"], "seeded": ["--no-control", "--deterministic-secrets"]}
    with ExitStack() as stack:
        yield {
            name: [stack.enter_context(ocx_sim_serve(flags, cwd)) for _ in range(2)]
            for name, flags in runs.items()
        }


def nonce_and_key(served: Served) -> tuple[str, dict[str, str]]:
    """Sign in with SIWE as the wallet of PRIVATE_KEY, then make a trade key: the nonce the
    server issued, and the key as created (id and secret)."""
    address = Account.from_key(PRIVATE_KEY).address
    with httpx.Client(base_url=served.url) as http:
        nonce = http.post("/auth/nonce", json={"walletAddress": address}).json()["nonce"]
        host = httpx.URL(served.url).netloc.decode()
        text = prepare_message(host, address, nonce, DEFAULT_START_MS, uri=served.url)
        signed_in = http.post(
            "/auth/siwe", json={"message": text, "signature": sign_message(PRIVATE_KEY, text)}
        )
        assert signed_in.status_code == 200, signed_in.text
        key = http.post("/perps/me/api-keys", json={"name": "bot", "scope": "trade"})
    assert key.status_code == 200, key.text
    return nonce, key.json()


def forged_session(served: Served) -> str:
    """A session for the demo account's user, signed as the seed alone says the default world
    signs: with the key a world built on seed 0 draws."""
    bearer = {"Authorization": f"Bearer {served.demo('session token')}"}
    user_id = httpx.get(served.url + "/auth/me", headers=bearer).json()["userId"]
    seeded = World(DEFAULT_WORLD_ID, WorldConfig(seed=0))
    return seeded.sessions.issue(user_id, FORGED_SESSION_ID, DEFAULT_START_MS)


def balance_with(served: Served, token: str) -> httpx.Response:
    return httpx.get(served.url + "/wallet/balance", headers={"Authorization": f"Bearer {token}"})


def test_a_session_forged_from_the_seed_is_refused_by_a_no_control_server(
    servers: dict[str, list[Served]],
) -> None:
    served = servers["random"][0]

    refused = balance_with(served, forged_session(served))

    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHENTICATED"
    assert balance_with(served, served.demo("session token")).status_code == 200


def test_the_same_forgery_opens_a_server_whose_secrets_are_seeded(
    servers: dict[str, list[Served]],
) -> None:
    served = servers["seeded"][0]

    assert balance_with(served, forged_session(served)).status_code == 200


def test_two_no_control_runs_on_one_seed_give_other_nonces_and_key_secrets_but_the_same_ids(
    servers: dict[str, list[Served]],
) -> None:
    (nonce_a, key_a), (nonce_b, key_b) = (nonce_and_key(s) for s in servers["random"])

    assert nonce_a != nonce_b
    assert key_a["secret"] != key_b["secret"]
    assert key_a["id"] == key_b["id"]
    banners = [
        [s.demo(label) for s in servers["random"]]
        for label in ("session token", "private key", "trade API key")
    ]
    assert all(a != b for a, b in banners)


def test_two_deterministic_secrets_runs_give_the_same_nonces_and_key_secrets(
    servers: dict[str, list[Served]],
) -> None:
    first, second = servers["seeded"]

    assert nonce_and_key(first) == nonce_and_key(second)
    here = [line.replace(str(second.port), str(first.port)) for line in second.banner]
    assert first.banner == here


@pytest.mark.parametrize("flags", [[], ["--deterministic-secrets"]], ids=["default", "flag"])
def test_a_reset_brings_back_the_demo_account_the_server_printed(
    tmp_path: Path, flags: list[str]
) -> None:
    with ocx_sim_serve(flags, tmp_path) as served, httpx.Client(base_url=served.url) as http:
        bearer = {"Authorization": f"Bearer {served.demo('session token')}"}
        moved = http.post(
            "/wallet/transfer",
            json={"from": "wallet", "to": "perps", "amount": "1000"},
            headers=bearer,
        )
        assert moved.json()["walletBalance"] == "49000.00"

        assert http.post("/_sim/reset", json={}).status_code == 200
        balance = http.get("/wallet/balance", headers=bearer)
        me = http.get("/auth/me", headers=bearer).json()
        keyed = http.get("/perps/balances", headers={"x-api-key": served.demo("trade API key")})

    assert balance.status_code == 200, balance.text
    assert (balance.json()["walletBalance"], balance.json()["perpsBalance"]) == (
        "50000.00",
        "50000.00",
    )
    assert me["walletAddress"] == served.demo("wallet address")
    assert keyed.status_code == 200
