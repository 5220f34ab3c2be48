"""Sign-in with Ethereum over HTTP, the session cookie, logout, invites
(https://docs.ocx.global/get-started/authentication; docs/fidelity.md "Sign-in, sessions and
keys").

Every sign-in here is real: a fresh secp256k1 key, an EIP-4361 text built by hand and an
EIP-191 signature, exactly what a wallet produces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import jwt
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from starlette.applications import Starlette
from starlette.routing import Route

from ocx_sim.app import create_app
from ocx_sim.auth.policy import Access, Profile
from ocx_sim.auth.siwe import MAX_EXPIRY_AHEAD_MS, NONCE_TTL_MS
from ocx_sim.gateway.endpoint import Call, Endpoint, serve
from ocx_sim.ids import is_ulid
from ocx_sim.testing.client import InProcessClient, Response
from ocx_sim.worlds import NewAccount, World, WorldConfig, Worlds
from ocx_sim.worlds.config import proxy_networks
from tests.api.conftest import ApiClient, OpenApi, assert_error, read_key, trade_key
from tests.auth import sign, siwe_message

COOKIE = "astra_session"
WEEK_MS = 604_800_000


@pytest.fixture
def wallet() -> LocalAccount:
    return cast(LocalAccount, Account.create())


def nonce_for(client: ApiClient, address: str, base: str = "") -> str:
    response = client.post(f"{base}/auth/nonce", json={"walletAddress": address})
    assert response.status_code == 200, response.json()
    return str(response.json()["nonce"])


def sign_in(
    client: ApiClient,
    world: World,
    wallet: LocalAccount,
    *,
    signer: LocalAccount | None = None,
    nonce: str | None = None,
    base: str = "",
    **fields: Any,
) -> Response:
    """The whole flow: a nonce for `wallet`, its message (`fields` change it), `signer`'s
    signature (the wallet's own by default), POST /auth/siwe."""
    if nonce is None:
        nonce = nonce_for(client, wallet.address, base)
    fields.setdefault("issued_at", world.now_ms)
    text = siwe_message(wallet.address, nonce, **fields)
    body = {"message": text, "signature": sign(signer or wallet, text)}
    return client.post(f"{base}/auth/siwe", json=body)


def session_of(response: Response) -> str:
    assert response.status_code == 200, response.json()
    return response.cookies[COOKIE]


def cookie_attributes(response: Response) -> dict[str, str]:
    (header,) = response.set_cookie_headers()
    _, *attributes = header.split("; ")
    return {name.lower(): value for name, _, value in (a.partition("=") for a in attributes)}


# -- nonce ------------------------------------------------------------------------------------


def test_a_nonce_is_16_hex_characters_and_new_each_time(
    client: ApiClient, wallet: LocalAccount
) -> None:
    first = nonce_for(client, wallet.address)
    second = nonce_for(client, wallet.address.lower())

    assert len(first) == 16
    assert int(first, 16) >= 0
    assert first != second


@pytest.mark.parametrize(
    "body",
    [{}, {"walletAddress": None}, {"walletAddress": 7}, {"walletAddress": "0x1234"}],
    ids=["missing", "null", "number", "short"],
)
def test_a_nonce_for_a_malformed_address_names_wallet_address(
    client: ApiClient, body: dict[str, Any]
) -> None:
    response = client.post("/auth/nonce", json=body)

    assert_error(response, 400, "VALIDATION_ERROR", "walletAddress")


def test_a_nonce_request_that_is_not_a_json_object_names_the_body(client: ApiClient) -> None:
    assert_error(client.post("/auth/nonce", content="{nope"), 400, "VALIDATION_ERROR", "body")
    assert_error(client.post("/auth/nonce", json=["0x"]), 400, "VALIDATION_ERROR", "body")


# -- sign-in ----------------------------------------------------------------------------------


def test_sign_in_answers_the_user_and_sets_the_session_cookie(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    response = sign_in(client, world, wallet)

    user = world.exchange.find_user(wallet.address)
    assert user is not None
    assert response.json() == {"userId": user.user_id, "walletAddress": wallet.address}
    assert is_ulid(user.user_id)
    assert response.cookies[COOKIE]
    attributes = cookie_attributes(response)
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "none"
    assert attributes["path"] == "/"
    assert attributes["max-age"] == "604800"


def test_the_session_cookie_is_not_secure_over_plain_http(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    response = sign_in(client, world, wallet)

    assert response.status_code == 200
    assert "secure" not in cookie_attributes(response)


def https_client(worlds: Worlds) -> ApiClient:
    """An in-process client whose requests arrive over https (the ASGI scheme)."""
    http = InProcessClient(create_app(worlds), scheme="https")
    return ApiClient(http, OpenApi(http.get("/openapi.json").json()))


def test_the_session_cookie_and_its_clearing_are_secure_over_https(
    worlds: Worlds, world: World, wallet: LocalAccount
) -> None:
    client = https_client(worlds)
    try:
        signed_in = sign_in(client, world, wallet)
        logged_out = client.post("/auth/logout", cookies={COOKIE: session_of(signed_in)})
    finally:
        client.http.close()

    assert "secure" in cookie_attributes(signed_in)
    assert "secure" in cookie_attributes(logged_out)


@pytest.mark.parametrize(
    ("trusted", "secure"), [(False, False), (True, True)], ids=["untrusted", "trusted"]
)
def test_x_forwarded_proto_https_makes_the_cookie_secure_only_behind_trusted_proxies(
    client: ApiClient, worlds: Worlds, wallet: LocalAccount, trusted: bool, secure: bool
) -> None:
    proxies = proxy_networks("127.0.0.1") if trusted else ()
    world = worlds.create(WorldConfig(seed=8, trusted_proxies=proxies))
    base = world.base_url
    nonce = nonce_for(client, wallet.address, base)
    text = siwe_message(wallet.address, nonce, issued_at=world.now_ms)
    body = {"message": text, "signature": sign(wallet, text)}

    response = client.post(f"{base}/auth/siwe", json=body, headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 200
    assert ("secure" in cookie_attributes(response)) is secure


def test_behind_trusted_proxies_x_forwarded_proto_http_wins_over_an_https_connection(
    worlds: Worlds, wallet: LocalAccount
) -> None:
    world = worlds.create(WorldConfig(seed=8, trusted_proxies=proxy_networks("127.0.0.1")))
    client = https_client(worlds)
    try:
        nonce = nonce_for(client, wallet.address, world.base_url)
        text = siwe_message(wallet.address, nonce, issued_at=world.now_ms)
        body = {"message": text, "signature": sign(wallet, text)}
        response = client.post(
            f"{world.base_url}/auth/siwe", json=body, headers={"X-Forwarded-Proto": "http"}
        )
    finally:
        client.http.close()

    assert response.status_code == 200
    assert "secure" not in cookie_attributes(response)


def test_the_session_is_a_jwt_of_seven_simulated_days_with_a_fresh_session_id(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    world.exchange.advance_by(12_345)
    token = session_of(sign_in(client, world, wallet))

    claims = jwt.decode(token, options={"verify_signature": False})
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims["sub"] == world.exchange.find_user(wallet.address).user_id  # type: ignore[union-attr]
    assert claims["iat"] == world.now_ms // 1000
    assert claims["exp"] == claims["iat"] + 604_800
    assert is_ulid(claims["jti"])


def test_the_user_is_created_on_first_sign_in_only(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    assert world.exchange.find_user(wallet.address) is None

    first = sign_in(client, world, wallet).json()
    second = sign_in(client, world, wallet).json()

    assert first == second
    assert len(world.exchange.users) == 1


def test_signing_in_with_a_known_wallet_finds_its_account(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    account = world.create_account(wallet_address=wallet.address)

    assert sign_in(client, world, wallet).json()["userId"] == account.user_id


def test_both_base_chains_are_accepted(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    assert sign_in(client, world, wallet, chain_id=8453).status_code == 200
    assert sign_in(client, world, wallet, chain_id=84532).status_code == 200


def test_a_replayed_nonce_is_nonce_mismatch(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    nonce = nonce_for(client, wallet.address)
    assert sign_in(client, world, wallet, nonce=nonce).status_code == 200

    assert_error(sign_in(client, world, wallet, nonce=nonce), 400, "NONCE_MISMATCH")


def test_a_nonce_issued_to_another_address_is_nonce_mismatch(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    nonce = nonce_for(client, Account.create().address)

    assert_error(sign_in(client, world, wallet, nonce=nonce), 400, "NONCE_MISMATCH")


def test_a_nonce_never_issued_is_nonce_mismatch(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    assert_error(sign_in(client, world, wallet, nonce="00000000deadbeef"), 400, "NONCE_MISMATCH")


def test_a_nonce_older_than_five_minutes_is_nonce_expired(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    nonce = nonce_for(client, wallet.address)
    world.exchange.advance_by(NONCE_TTL_MS + 1)

    assert_error(sign_in(client, world, wallet, nonce=nonce), 400, "NONCE_EXPIRED")


def test_a_nonce_within_five_minutes_still_signs_in(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    nonce = nonce_for(client, wallet.address)
    world.exchange.advance_by(NONCE_TTL_MS - 1)

    assert sign_in(client, world, wallet, nonce=nonce).status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        {"domain": "api.ocx.global"},
        {"chain_id": 1},
        {"expiration": -1},
        {"expiration": MAX_EXPIRY_AHEAD_MS + 1},
        {"issued_at": 5 * 60_000 + 1},
        {"version": "2"},
    ],
    ids=[
        "wrong-domain",
        "wrong-chain",
        "expired",
        "expiry-beyond-7-days",
        "issued-in-the-future",
        "wrong-version",
    ],
)
def test_a_message_failing_a_check_is_invalid_siwe_message_and_keeps_the_nonce(
    client: ApiClient, world: World, wallet: LocalAccount, fields: dict[str, Any]
) -> None:
    nonce = nonce_for(client, wallet.address)
    for name in ("expiration", "issued_at"):
        if name in fields:
            fields[name] += world.now_ms

    assert_error(sign_in(client, world, wallet, nonce=nonce, **fields), 400, "INVALID_SIWE_MESSAGE")
    assert sign_in(client, world, wallet, nonce=nonce).status_code == 200


def test_a_signature_by_another_key_is_invalid_signature(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    response = sign_in(client, world, wallet, signer=Account.create())

    assert_error(response, 401, "INVALID_SIGNATURE")
    assert world.exchange.find_user(wallet.address) is None


@pytest.mark.parametrize(
    "message",
    [
        "hello",
        "testserver wants you to sign in with your Ethereum account:\n0x1234\n",
        "\n".join(
            [
                "testserver wants you to sign in with your Ethereum account:",
                "0x" + "ab" * 20,
                "",
                "URI: https://testserver",
                "Version: 1",
                "Chain ID: 84532",
                "Issued At: 2026-01-02T00:00:00Z",
            ]
        ),
    ],
    ids=["not-siwe", "bad-address", "no-nonce"],
)
def test_a_malformed_message_is_invalid_siwe_message(
    client: ApiClient, wallet: LocalAccount, message: str
) -> None:
    response = client.post(
        "/auth/siwe", json={"message": message, "signature": sign(wallet, message)}
    )

    assert_error(response, 400, "INVALID_SIWE_MESSAGE")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"signature": "0x00"}, "message"),
        ({"message": 7, "signature": "0x00"}, "message"),
        ({"message": "x"}, "signature"),
        ({"message": "x", "signature": ["0x00"]}, "signature"),
        ({"message": "x", "signature": "deadbeef"}, "signature"),
        ({"message": "x", "signature": "0xabc"}, "signature"),
    ],
    ids=["no-message", "number-message", "no-signature", "list-signature", "no-0x", "odd-hex"],
)
def test_a_missing_or_mistyped_sign_in_field_is_named(
    client: ApiClient, body: dict[str, Any], field: str
) -> None:
    assert_error(client.post("/auth/siwe", json=body), 400, "VALIDATION_ERROR", field)


def test_a_well_formed_signature_that_recovers_nobody_is_invalid_signature(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    nonce = nonce_for(client, wallet.address)
    text = siwe_message(wallet.address, nonce, issued_at=world.now_ms)

    response = client.post("/auth/siwe", json={"message": text, "signature": "0x" + "00" * 65})

    assert_error(response, 401, "INVALID_SIGNATURE")


def test_a_configured_domain_replaces_the_host_and_the_cookie_is_scoped_to_the_world(
    client: ApiClient, worlds: Worlds, wallet: LocalAccount
) -> None:
    world = worlds.create(WorldConfig(seed=8, siwe_domain="api.ocx.global"))
    base = world.base_url

    assert_error(sign_in(client, world, wallet, base=base), 400, "INVALID_SIWE_MESSAGE")
    response = sign_in(client, world, wallet, base=base, domain="api.ocx.global")

    assert response.status_code == 200
    assert cookie_attributes(response)["path"] == base
    assert world.exchange.find_user(wallet.address) is not None
    assert worlds.default.exchange.find_user(wallet.address) is None


# -- /auth/me ---------------------------------------------------------------------------------


def test_me_answers_the_user_through_the_cookie_and_through_bearer(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    signed_in = sign_in(client, world, wallet)
    token = session_of(signed_in)

    assert client.get("/auth/me", cookies={COOKIE: token}).json() == signed_in.json()
    assert client.get("/auth/me", token=token).json() == signed_in.json()


def test_bearer_wins_over_a_stale_cookie(
    client: ApiClient, world: World, wallet: LocalAccount, trader: NewAccount
) -> None:
    fresh = session_of(sign_in(client, world, wallet))
    stale = trader.session_token
    client.post("/auth/logout", token=stale)

    me = client.get("/auth/me", token=fresh, cookies={COOKIE: stale}).json()
    assert me["walletAddress"] == wallet.address
    assert client.get("/auth/me", token=stale, cookies={COOKIE: fresh}).json() is None
    assert_error(
        client.post("/auth/logout", token=stale, cookies={COOKIE: fresh}), 401, "SESSION_EXPIRED"
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}],
    ids=["nothing", "garbage-token", "other-scheme"],
)
def test_me_is_json_null_without_a_valid_session(
    client: ApiClient, headers: dict[str, str]
) -> None:
    response = client.get("/auth/me", headers=headers)

    assert response.status_code == 200
    assert response.content == b"null"


def test_me_is_null_for_an_api_key(client: ApiClient, trader: NewAccount) -> None:
    assert client.get("/auth/me", key=trade_key(trader)).json() is None
    headers = {"Authorization": f"Bearer {read_key(trader)}"}
    assert client.get("/auth/me", headers=headers).json() is None


def test_a_session_past_seven_simulated_days_is_expired(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    token = session_of(sign_in(client, world, wallet))
    world.exchange.advance_by(WEEK_MS - 1000)
    assert client.get("/auth/me", token=token).json() is not None

    world.exchange.advance_by(1000)

    assert client.get("/auth/me", token=token).json() is None
    assert_error(client.post("/auth/logout", token=token), 401, "SESSION_EXPIRED")


def test_a_session_of_one_world_is_unauthenticated_in_another(
    client: ApiClient, worlds: Worlds, trader: NewAccount
) -> None:
    other = worlds.create(WorldConfig(seed=99))
    base = other.base_url

    assert_error(
        client.post(f"{base}/auth/logout", token=trader.session_token), 401, "UNAUTHENTICATED"
    )
    assert client.get(f"{base}/auth/me", token=trader.session_token).json() is None
    guest = other.create_account()
    assert_error(client.post("/auth/logout", token=guest.session_token), 401, "UNAUTHENTICATED")


# -- logout -----------------------------------------------------------------------------------


def test_logout_ends_this_session_and_clears_the_cookie(
    client: ApiClient, world: World, wallet: LocalAccount
) -> None:
    token = session_of(sign_in(client, world, wallet))
    other = session_of(sign_in(client, world, wallet))

    response = client.post("/auth/logout", cookies={COOKIE: token})

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.cookies[COOKIE] == ""
    assert cookie_attributes(response)["max-age"] == "0"
    assert cookie_attributes(response)["path"] == "/"
    assert_error(client.post("/auth/logout", cookies={COOKIE: token}), 401, "SESSION_EXPIRED")
    assert client.get("/auth/me", cookies={COOKIE: token}).json() is None
    assert client.get("/auth/me", token=other).json()["walletAddress"] == wallet.address
    assert client.get("/perps/me/api-keys", token=other).status_code == 200


def test_the_cookie_clearing_is_dated_at_the_epoch_so_logouts_answer_the_same_bytes(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.post("/auth/logout", token=trader.session_token)

    assert cookie_attributes(response)["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_a_valid_session_of_a_user_this_world_does_not_know_is_anonymous_on_auth_me(
    trader: NewAccount,
) -> None:
    # A world on the same seed signs with the same key for the same audience, as a world
    # rebuilt from its seed would; the token's user does not exist there.
    with InProcessClient(create_app(Worlds(WorldConfig(seed=7)))) as twin:
        bearer = {"Authorization": f"Bearer {trader.session_token}"}
        assert twin.get("/auth/me", headers=bearer).json() is None
        refused = twin.get("/perps/balances", headers=bearer)
    assert_error(refused, 401, "UNAUTHENTICATED")


def test_logout_without_credentials_is_unauthenticated(client: ApiClient) -> None:
    assert_error(client.post("/auth/logout"), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("use", [trade_key, read_key], ids=["trade-key", "read-key"])
def test_logout_refuses_api_keys_under_strict(
    client: ApiClient, trader: NewAccount, use: Any
) -> None:
    assert_error(client.post("/auth/logout", key=use(trader)), 403, "API_KEY_NOT_ACCEPTED")


@pytest.mark.parametrize(
    "config",
    [WorldConfig(seed=7, profile=Profile.PERMISSIVE), WorldConfig(seed=7, profile=Profile.GITBOOK)],
    ids=["permissive", "gitbook"],
)
def test_logout_takes_a_trade_key_but_not_a_read_key_under_permissive_profiles(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.post("/auth/logout", key=trade_key(trader))

    assert response.json() == {"ok": True}
    assert client.get("/perps/me/api-keys", token=trader.session_token).status_code == 200
    assert client.post("/auth/logout", key=trade_key(trader)).status_code == 200
    refused = client.post("/auth/logout", key=read_key(trader))
    assert refused.status_code == 403
    assert refused.json()["code"] == "INSUFFICIENT_SCOPE"


# -- invites ----------------------------------------------------------------------------------

INVITES = WorldConfig(seed=7, invite_codes=("ALPHA-1", "BETA-2"))


async def order_probe(call: Call) -> Any:
    return {"userId": call.user_id}


@pytest.fixture
def gateway(worlds: Worlds) -> Iterator[InProcessClient]:
    """A gateway with one order-path endpoint, to see invite gating without the order API."""
    probe = Endpoint(
        "POST", "/probe", order_probe, Access.SESSION, "probe", response={}, order_path=True
    )
    app = Starlette(routes=[Route("/probe", serve(probe, worlds), methods=["POST"])])
    with InProcessClient(app) as client:
        yield client


def test_any_invite_code_is_ok_when_gating_is_off(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    response = client.post(
        "/auth/redeem-invite", json={"code": "anything"}, token=trader.session_token
    )

    assert response.json() == {"ok": True}
    assert world.invited == set()


@pytest.mark.parametrize("config", [INVITES], ids=["gated"])
def test_redeeming_a_known_code_unlocks_the_order_path(
    client: ApiClient, gateway: InProcessClient, world: World, trader: NewAccount
) -> None:
    before = gateway.post("/probe", headers={"Authorization": f"Bearer {trader.session_token}"})
    assert before.status_code == 403
    assert before.json()["code"] == "INVITE_REQUIRED"

    response = client.post(
        "/auth/redeem-invite", json={"code": "BETA-2"}, token=trader.session_token
    )

    assert response.json() == {"ok": True}
    assert trader.user_id in world.invited
    after = gateway.post("/probe", headers={"Authorization": f"Bearer {trader.session_token}"})
    assert after.status_code == 200
    gateway.close()


@pytest.mark.parametrize("config", [INVITES], ids=["gated"])
def test_an_unknown_invite_code_names_code_and_unlocks_nothing(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    response = client.post(
        "/auth/redeem-invite", json={"code": "alpha-1"}, token=trader.session_token
    )

    assert_error(response, 400, "VALIDATION_ERROR", "code")
    assert world.invited == set()


@pytest.mark.parametrize(
    "body",
    [{}, {"code": 7}, {"code": ""}, {"code": None}],
    ids=["missing", "number", "empty", "null"],
)
def test_a_missing_or_mistyped_invite_code_names_code(
    client: ApiClient, trader: NewAccount, body: dict[str, Any]
) -> None:
    response = client.post("/auth/redeem-invite", json=body, token=trader.session_token)

    assert_error(response, 400, "VALIDATION_ERROR", "code")


def test_redeeming_an_invite_needs_a_session(client: ApiClient, trader: NewAccount) -> None:
    assert_error(client.post("/auth/redeem-invite", json={"code": "x"}), 401, "UNAUTHENTICATED")
    assert_error(
        client.post("/auth/redeem-invite", json={"code": "x"}, key=trade_key(trader)),
        403,
        "API_KEY_NOT_ACCEPTED",
    )
    assert_error(
        client.post("/auth/redeem-invite", content="{", token=trader.session_token),
        400,
        "VALIDATION_ERROR",
        "body",
    )
