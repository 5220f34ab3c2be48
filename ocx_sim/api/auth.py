"""Sign-in with Ethereum and the session around it (docs/fidelity.md "Sign-in, sessions and
keys").

`POST /auth/nonce` issues a one-time nonce to a wallet address; `POST /auth/siwe` checks an
EIP-4361 message and its `personal_sign` signature (auth/siwe.py holds every check), creates
the user on first sign-in and sets the `astra_session` cookie; `GET /auth/me` says who the
session belongs to (JSON `null` when anonymous, never 401); `POST /auth/logout` revokes exactly
the session it was called with; `POST /auth/redeem-invite` unlocks trading when the world gates
it with invite codes.
"""

from __future__ import annotations

import re
from typing import Any

from ocx_sim.auth import siwe
from ocx_sim.auth.policy import Access
from ocx_sim.auth.sessions import COOKIE_NAME
from ocx_sim.engine.core.accounts import User, checksum_address
from ocx_sim.errors import ErrorCode, invalid
from ocx_sim.gateway import parse
from ocx_sim.gateway.endpoint import Call, Endpoint, Reply
from ocx_sim.gateway.schemas import ADDRESS, ULID, Schema, nullable, obj, ref, text

MAX_MESSAGE_LENGTH = 8192
"""Far above any real SIWE message (a statement, a URI and a few resources)."""
MAX_SIGNATURE_LENGTH = 4096
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})+")

_OK: Schema = obj({"ok": {"const": True}})


def _user(user: User) -> dict[str, str]:
    return {"userId": user.user_id, "walletAddress": user.wallet_address}


async def auth_nonce(call: Call) -> Any:
    """A fresh single-use nonce for this address, valid for 5 minutes of simulated time."""
    address = checksum_address(parse.string(call.body, "walletAddress"))
    world = call.world
    nonce = world.ids.nonce()
    world.nonces.issue(nonce, address, world.now_ms)
    return {"nonce": nonce}


async def auth_siwe(call: Call) -> Any:
    """Verify the signed EIP-4361 message, create the user on first sign-in, start a session."""
    text = parse.string(call.body, "message", max_length=MAX_MESSAGE_LENGTH)
    signature = parse.string(call.body, "signature", max_length=MAX_SIGNATURE_LENGTH)
    if _HEX.fullmatch(signature) is None:
        raise invalid("signature", "must be a 0x-prefixed hex string")
    world = call.world
    message = siwe.parse_message(text)
    # Unless one is configured, the domain is the Host the client called: its wallet wrote the
    # domain it was on into the message.
    domain = world.config.siwe_domain or call.request.headers.get("host") or call.request.url.netloc
    address = siwe.verify(
        message,
        text,
        signature,
        domain=domain,
        chain_ids=world.config.chain_ids,
        nonces=world.nonces,
        now_ms=world.now_ms,
    )
    user = call.exchange.register_user(address)
    token = world.sign_in(user.user_id)
    return Reply(_user(user), cookies={COOKIE_NAME: token})


async def auth_me(call: Call) -> Any:
    """The signed-in user, or `null` (200) without a valid session."""
    if call.principal is None:
        return None
    return _user(call.exchange.user(call.principal.user_id))


async def auth_logout(call: Call) -> Any:
    """Revoke this session (other sessions of the user stay valid) and clear the cookie."""
    principal = call.principal
    if principal is not None and principal.session_id is not None:
        call.world.sessions.revoke(principal.session_id)
    return Reply({"ok": True}, cookies={COOKIE_NAME: None})


async def auth_redeem_invite(call: Call) -> Any:
    """Unlock the order path for this user when the world gates trading with invite codes;
    any code is accepted when it does not (docs/fidelity.md "Sign-in, sessions and keys": gating
    is off unless configured)."""
    call.world.redeem_invite(call.user_id, parse.string(call.body, "code"))
    return {"ok": True}


COMPONENTS: dict[str, Schema] = {
    "AuthUser": obj({"userId": ULID, "walletAddress": ADDRESS}),
}
ENDPOINTS = [
    Endpoint(
        "POST",
        "/auth/nonce",
        auth_nonce,
        Access.PUBLIC,
        "Request a one-time SIWE nonce for a wallet address",
        response=obj({"nonce": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}),
        request=obj({"walletAddress": ADDRESS}),
        tag="auth",
    ),
    Endpoint(
        "POST",
        "/auth/siwe",
        auth_siwe,
        Access.PUBLIC,
        "Sign in with Ethereum (EIP-4361): sets the astra_session cookie",
        response=ref("AuthUser"),
        request=obj(
            {
                "message": text(MAX_MESSAGE_LENGTH),
                "signature": {**text(MAX_SIGNATURE_LENGTH), "pattern": f"^{_HEX.pattern}$"},
            }
        ),
        tag="auth",
        errors=(
            ErrorCode.INVALID_SIWE_MESSAGE,
            ErrorCode.NONCE_MISMATCH,
            ErrorCode.NONCE_EXPIRED,
            ErrorCode.INVALID_SIGNATURE,
        ),
    ),
    Endpoint(
        "GET",
        "/auth/me",
        auth_me,
        Access.OPTIONAL,
        "The signed-in user, or null",
        response=nullable(ref("AuthUser")),
        tag="auth",
    ),
    Endpoint(
        "POST",
        "/auth/logout",
        auth_logout,
        Access.SESSION,
        "End the current session",
        response=_OK,
        tag="auth",
    ),
    Endpoint(
        "POST",
        "/auth/redeem-invite",
        auth_redeem_invite,
        Access.SESSION,
        "Redeem an invite code to enable trading",
        response=_OK,
        request=obj({"code": text()}),
        tag="auth",
    ),
]
