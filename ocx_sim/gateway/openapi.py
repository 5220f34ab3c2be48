"""`/openapi.json`: an OpenAPI 3.1 document built from the declared endpoints.

Every endpoint already declares its method, paths, access, request and answer schemas; this
turns that list into the document, so the document cannot drift from what is served. What the
gateway refuses (credentials, the key policy, the rate limit, a bad body, an unknown world) and
what an endpoint accepts are derived from the declaration and auth/policy.py, never written per
endpoint; only the codes a handler itself answers are declared (`Endpoint.errors`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from ocx_sim.auth.keys import Scope
from ocx_sim.auth.policy import Access, Profile, check_key
from ocx_sim.errors import CATALOG, ErrorCode, OcxError
from ocx_sim.gateway.endpoint import Endpoint
from ocx_sim.gateway.schemas import Schema, ref

_SESSION: dict[str, list[str]] = {"session": []}
_BEARER: dict[str, list[str]] = {"bearer": []}
_KEY: dict[str, list[str]] = {"apiKey": []}

_CREDENTIAL_REFUSALS = (
    ErrorCode.UNAUTHENTICATED,
    ErrorCode.SESSION_EXPIRED,
    ErrorCode.API_KEY_INVALID,
    ErrorCode.API_KEY_EXPIRED,
    ErrorCode.API_KEY_REVOKED,
    ErrorCode.IP_NOT_ALLOWED,
)
"""What authenticating a session or a key can refuse (auth/sessions.py, auth/keys.py)."""

_WINDOW_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": {
        "description": "Order-path requests allowed per user per 60 s",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the window, this one counted",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "The unix second at which the oldest request leaves the window",
        "schema": {"type": "integer"},
    },
}
"""docs/fidelity.md "Rate limits": on every order-path answer once the caller is known."""
_RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds until a request would be counted again (rounded up)",
        "schema": {"type": "integer"},
    }
}

_DESCRIPTION = """The OCX REST API as ocx-sim serves it, with its `/_sim` control API (tag \
`control`) unless the server runs with `--no-control`.

**Worlds.** Every path is served at the root, for the default world, and under \
`/w/{worldId}` for any other world (the second server entry); an unknown world is \
`404 NOT_FOUND`.

**Credentials.** Each operation's `security` is what the default world's key-policy profile \
(`%(profile)s`) accepts. The profiles differ only on endpoints that take a session: under \
`strict` they refuse API keys (`403 API_KEY_NOT_ACCEPTED`); under `permissive` and `gitbook` \
they take a key of scope `read` for a GET and `trade` for a write. Key management takes a \
session under every profile (docs/fidelity.md "Sign-in, sessions and keys").

**Errors.** Every error is `{error, code, message, details?}` (`Error`); each operation lists \
the statuses and codes it can answer under any profile. Under the `gitbook` profile `error` \
holds the code's family instead of the code. A fault rule (`POST /_sim/faults`) can answer any \
status and code on any OCX path: that answer is the load balancer's, not the exchange's, and \
is outside what an operation lists."""


def security(endpoint: Endpoint, profile: Profile) -> list[dict[str, list[str]]]:
    """What the endpoint accepts under `profile`: an API key where the key policy
    (auth/policy.py `check_key`) lets a key of scope `trade` through; `bearer` carries a
    session token or, there, a key."""
    if endpoint.access is Access.PUBLIC:
        return []
    if endpoint.access is Access.OPTIONAL:
        return [{}, _SESSION, _BEARER]
    try:
        check_key(endpoint.access, profile, Scope.TRADE, endpoint.is_write)
    except OcxError:
        return [_SESSION, _BEARER]
    return [_SESSION, _BEARER, _KEY]


def error_codes(endpoint: Endpoint, path: str) -> dict[int, list[ErrorCode]]:
    """The codes an operation can answer, by status: the handler's own (`Endpoint.errors`)
    and the gateway's, derived from the declaration in the order of gateway/endpoint.py."""
    codes = {ErrorCode.NOT_FOUND, *endpoint.errors}  # an unknown world under /w/{worldId}
    if endpoint.access not in (Access.PUBLIC, Access.OPTIONAL):
        codes.update(_CREDENTIAL_REFUSALS)
        codes.update(_policy_refusals(endpoint))
    if endpoint.order_path:
        codes.update((ErrorCode.INVITE_REQUIRED, ErrorCode.ORDER_RATE_LIMIT))
    if endpoint.query or endpoint.request is not None:
        codes.add(ErrorCode.VALIDATION_ERROR)
    if endpoint.request is not None:  # gateway/body.py: a body too big, or not sent as JSON
        codes.update((ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.UNSUPPORTED_MEDIA_TYPE))
    if _names_a_market(endpoint, path):
        codes.add(ErrorCode.UNKNOWN_MARKET)
    by_status: dict[int, list[ErrorCode]] = {}
    for code in ErrorCode:  # the catalog's order
        if code in codes:
            by_status.setdefault(CATALOG[code].status, []).append(code)
    return dict(sorted(by_status.items()))


def _policy_refusals(endpoint: Endpoint) -> set[ErrorCode]:
    """What the key policy refuses an API key here, under any profile, whatever its scope."""
    refused: set[ErrorCode] = set()
    for profile in Profile:
        for scope in Scope:
            try:
                check_key(endpoint.access, profile, scope, endpoint.is_write)
            except OcxError as error:
                refused.add(error.code)
    return refused


_MARKET_NAMES = ("marketId", "underlying", "symbol")
"""Parameters and body fields that name a market or an underlying (404 UNKNOWN_MARKET)."""


def _names_a_market(endpoint: Endpoint, path: str) -> bool:
    fields = {*endpoint.query, *(endpoint.request or {}).get("properties", {})}
    return any(name in fields or f"{{{name}}}" in path for name in _MARKET_NAMES)


def document(
    endpoints: Iterable[Endpoint],
    components: Mapping[str, Schema],
    *,
    title: str,
    version: str,
    profile: Profile = Profile.STRICT,
) -> dict[str, Any]:
    """The document for a server whose default world runs under `profile`."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        for path in (endpoint.path, *endpoint.aliases):
            paths.setdefault(path, {})[endpoint.method.lower()] = _operation(
                endpoint, path, profile
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": _DESCRIPTION % {"profile": profile.value},
        },
        "servers": [
            {"url": "/", "description": "The default world"},
            {
                "url": "/w/{worldId}",
                "description": "Any world, by its id (`default` is the default world)",
                "variables": {"worldId": {"default": "default"}},
            },
        ],
        "paths": paths,
        "components": {
            "schemas": dict(components),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "astra_session"},
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A session token, or an API key (`ocx_sk_…`) where keys "
                    "are accepted",
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }


def _operation(endpoint: Endpoint, path: str, profile: Profile) -> dict[str, Any]:
    alias = path != endpoint.path
    success: dict[str, Any] = {
        "description": "Success",
        "content": {endpoint.media_type: {"schema": endpoint.response}},
    }
    if endpoint.order_path:
        success["headers"] = _WINDOW_HEADERS
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id + ("_alias_" + _slug(path) if alias else ""),
        "summary": endpoint.summary + (f" (alias of {endpoint.path})" if alias else ""),
        "tags": [endpoint.tag],
        "security": security(endpoint, profile),
        "responses": {
            str(endpoint.status): success,
            **{
                str(status): _error_response(status, codes, endpoint.order_path)
                for status, codes in error_codes(endpoint, path).items()
            },
            "default": {
                "description": 'Any other error of the catalog (docs/fidelity.md "Errors")',
                "content": {"application/json": {"schema": ref("Error")}},
            },
        },
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]
    parameters += [_query_parameter(name, schema) for name, schema in endpoint.query.items()]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.request is not None:
        operation["requestBody"] = {
            "required": not endpoint.body_optional,
            "content": {"application/json": {"schema": _nullable_optionals(endpoint.request)}},
        }
    return operation


def _query_parameter(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """A query parameter. The parsers read an empty value as an absent one (gateway/parse.py):
    an optional one may be empty, a required one may not (`?symbol=` is 400 naming `symbol`)."""
    required = bool(schema.get("x-required"))
    described = {k: v for k, v in schema.items() if k != "x-required"}
    if not required:
        # `?kind=` is the same as no `kind` (gateway/parse.py), whatever the schema's values.
        return {
            "name": name,
            "in": "query",
            "required": False,
            "allowEmptyValue": True,
            "schema": described,
        }
    if described.get("type") == "string":
        described.setdefault("minLength", 1)
    return {"name": name, "in": "query", "required": True, "schema": described}


def _nullable_optionals(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The request schema with `null` allowed for every optional field of each object: the
    parsers read a `null` field as an absent one (gateway/parse.py). A field the object itself
    requires keeps its type; a rule that needs an optional field (a limit order's `price`, a
    modify's new `price` or `quantity`) says it is not null where it says it is required
    (gateway/schemas.py `not_null`)."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: walk(value) for key, value in node.items()}
        if node.get("type") == "object" and isinstance(node.get("properties"), dict):
            required = set(node.get("required", ()))
            out["properties"] = {
                name: sub if name in required else {"anyOf": [sub, {"type": "null"}]}
                for name, sub in out["properties"].items()
            }
        return out

    nullable: dict[str, Any] = walk(schema)
    return nullable


def _error_response(status: int, codes: list[ErrorCode], order_path: bool) -> dict[str, Any]:
    """The catalog's body with `code` one of `codes`; on the order path, the caller's window
    (docs/fidelity.md "Rate limits": every answer once the user is known, so not a 401)."""
    code = {"enum": [c.value for c in codes]}
    response: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "content": {
            "application/json": {
                "schema": {"allOf": [ref("Error"), {"properties": {"code": code}}]}
            }
        },
    }
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        response["headers"] = {**_RETRY_AFTER, **_WINDOW_HEADERS}
    elif order_path and status != HTTPStatus.UNAUTHORIZED:
        response["headers"] = _WINDOW_HEADERS
    return response


def _slug(path: str) -> str:
    return re.sub(r"\W+", "_", path).strip("_")
