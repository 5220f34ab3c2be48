"""JSON answers (orjson) and the one place error bodies are built: the engine and the handlers
raise `OcxError`, never build error JSON (docs/architecture.md "A request's path")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import Verdict
from ocx_sim.errors import CATALOG, ErrorCode, OcxError

JSON_TYPE = "application/json"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type=JSON_TYPE)


class Piecewise(Response):
    """A JSON answer sent as the parts it was written in, never joined into one string: a long
    answer (a long advance's events, a whole event log) is tens of MiB, and joining it would
    hold the event loop while it is copied and double its memory. Each part goes out in turn
    (the server waits for a slow client between them); its length is known, so the client sees
    an ordinary body with a Content-Length."""

    def __init__(self, parts: Sequence[bytes]) -> None:
        super().__init__(media_type=JSON_TYPE)
        self.parts = parts
        self.headers["content-length"] = str(sum(map(len, parts)))

    def whole(self) -> bytes:
        """The answer in one string (for the journal)."""
        return b"".join(self.parts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        for part in self.parts:
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        if self.background is not None:
            await self.background()


def error_body(
    error: OcxError, profile: Profile = Profile.STRICT, verdict: Verdict | None = None
) -> dict[str, object]:
    """`{error, code, message, details?}` (docs/fidelity.md "Errors"): `error` is the code, or the
    error family under the `gitbook` profile; a rate-limit refusal adds `retryAfterMs`."""
    body: dict[str, object] = {
        "error": error.family if profile is Profile.GITBOOK else error.code.value,
        "code": error.code.value,
        "message": error.message,
    }
    if error.details:
        body["details"] = error.details
    if error.code is ErrorCode.ORDER_RATE_LIMIT and verdict is not None:
        body["retryAfterMs"] = verdict.retry_after_ms
    return body


def error_response(
    error: OcxError, profile: Profile = Profile.STRICT, verdict: Verdict | None = None
) -> Response:
    return json_response(error_body(error, profile, verdict), error.status)


def status_error(status: int) -> OcxError:
    """The catalog error for routing's own refusals: 405 for a wrong method, else 404."""
    return OcxError(ErrorCode.METHOD_NOT_ALLOWED if status == 405 else ErrorCode.NOT_FOUND)


def _families_by_status() -> dict[int, str]:
    """Each status whose catalog codes all share one GitBook family → that family."""
    families: defaultdict[int, set[str]] = defaultdict(set)
    for entry in CATALOG.values():
        families[entry.status].add(entry.family)
    return {status: next(iter(named)) for status, named in families.items() if len(named) == 1}


_FAMILY_OF_STATUS = _families_by_status()
_CODES = {code.value: code for code in ErrorCode}


def injected_error_body(
    code: str, status: int, message: str | None, profile: Profile = Profile.STRICT
) -> dict[str, object]:
    """The body of an error a fault injects (docs/control-api.md "Faults"), whose code may lie
    outside the catalog. A catalog code keeps its message and family; another code gets the
    status's reason phrase as its message and, under `gitbook`, the family the catalog gives
    every code of that status (`AuthError` for 401 and 403, …), else `RequestError` for a 4xx
    and `ServerError` for a 5xx."""
    known = _CODES.get(code)
    if known is not None:
        error = OcxError(known, message)
        error.status = status
        return error_body(error, profile)
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Request failed"
    family = _FAMILY_OF_STATUS.get(status, "ServerError" if status >= 500 else "RequestError")
    return {
        "error": family if profile is Profile.GITBOOK else code,
        "code": code,
        "message": reason if message is None else message,
    }
