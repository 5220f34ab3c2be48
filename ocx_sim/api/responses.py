"""JSON responses (orjson) and the one place error bodies are built (DESIGN.md rule 4)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from ocx_sim.errors import ErrorCode, OcxError


class OrjsonResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_body(error: OcxError) -> dict[str, object]:
    """`{error, code, message, details?}` (DECISIONS.md "Errors")."""
    body: dict[str, object] = {
        "error": error.code.value,
        "code": error.code.value,
        "message": error.message,
    }
    if error.details:
        body["details"] = error.details
    return body


def error_response(error: OcxError) -> OrjsonResponse:
    return OrjsonResponse(error_body(error), status_code=error.status)


def status_error(status: int) -> OcxError:
    """The catalog error for routing's own refusals: 405 for a wrong method, else 404."""
    return OcxError(ErrorCode.METHOD_NOT_ALLOWED if status == 405 else ErrorCode.NOT_FOUND)
