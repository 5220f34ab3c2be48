"""API-key management (docs/fidelity.md "Sign-in, sessions and keys"): session only, never a
key.

Create answers the key's metadata plus its `secret` (the only time it is shown; auth/keys.py
keeps a SHA-256 of it) and a `message` saying so. The list is newest first, a bare array, or
`{keys: [...]}` under the `gitbook` profile. Revoking answers the metadata with status
`revoked`, again on a repeat; another user's key is 404 NOT_FOUND, as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from ocx_sim.auth.keys import MAX_EXPIRY_DAYS, MAX_NAME_LENGTH, Scope, normalize_ips
from ocx_sim.auth.policy import Access, Profile
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import Schema, array, enum, obj, ref

SECRET_MESSAGE = "Copy this secret now — it will not be shown again."


async def list_api_keys(call: Call) -> Any:
    """The caller's keys, newest first, with their status now."""
    world = call.world
    now = world.now_ms
    keys = [render.api_key(key, now) for key in world.keys.of_user(call.user_id)]
    return {"keys": keys} if world.config.profile is Profile.GITBOOK else keys


async def create_api_key(call: Call) -> Any:
    """A new key; its secret is in this answer and nowhere else, ever."""
    body = call.body
    name = parse.string(body, "name", max_length=MAX_NAME_LENGTH)
    scope = parse.choice(body, "scope", Scope)
    allowed_ips = normalize_ips(parse.strings(body, "allowedIps"))
    days = parse.integer(body, "expiresInDays", low=1, high=MAX_EXPIRY_DAYS)
    world = call.world
    now = world.now_ms
    key, secret = world.keys.create(call.user_id, name, scope, allowed_ips, days, now)
    return {**render.api_key(key, now), "secret": secret, "message": SECRET_MESSAGE}


async def revoke_api_key(call: Call) -> Any:
    """Revoke one of the caller's keys at once (a repeat changes nothing)."""
    world = call.world
    now = world.now_ms
    key = world.keys.revoke(call.user_id, call.path_param("id"), now)
    return render.api_key(key, now)


COMPONENTS: dict[str, Schema] = {
    "ApiKeyCreated": {
        "allOf": [
            ref("ApiKey"),
            obj(
                {
                    "secret": {"type": "string", "pattern": "^ocx_sk_[A-Za-z0-9_-]{40}$"},
                    "message": {"type": "string"},
                }
            ),
        ]
    },
}
_KEYS = array(ref("ApiKey"))
ENDPOINTS = [
    Endpoint(
        "GET",
        "/perps/me/api-keys",
        list_api_keys,
        Access.KEY_MANAGEMENT,
        "List your API keys, newest first (a bare array; {keys: [...]} under gitbook)",
        response={"oneOf": [_KEYS, obj({"keys": _KEYS})]},
        tag="keys",
    ),
    Endpoint(
        "POST",
        "/perps/me/api-keys",
        create_api_key,
        Access.KEY_MANAGEMENT,
        "Create an API key; the secret is shown in this answer only",
        response=ref("ApiKeyCreated"),
        request=obj(
            {
                "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
                "scope": enum(*(scope.value for scope in Scope)),
                "allowedIps": array({"type": "string"}),
                "expiresInDays": {"type": "integer", "minimum": 1, "maximum": MAX_EXPIRY_DAYS},
            },
            optional=("allowedIps", "expiresInDays"),
        ),
        tag="keys",
    ),
    Endpoint(
        "DELETE",
        "/perps/me/api-keys/{id}",
        revoke_api_key,
        Access.KEY_MANAGEMENT,
        "Revoke an API key; it stops authenticating at once",
        response=ref("ApiKey"),
        tag="keys",
    ),
]
