"""JSON answers (orjson) and the one place error bodies are built: the engine and the handlers
raise `OcxError`, never build error JSON (docs/architecture.md "A request's path")."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import Verdict
from ocx_sim.errors import ErrorCode, OcxError

JSON_TYPE = "application/json"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type=JSON_TYPE)


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
