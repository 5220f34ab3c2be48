"""A request's body as the gateway takes it in: at most `MAX_BODY_BYTES`, and sent as JSON
(docs/fidelity.md "HTTP").

- A `Content-Length` over the bound is `413 PAYLOAD_TOO_LARGE` before a byte of the body is
  read; a body without one (chunked) is counted while it is read and refused the moment it
  passes the bound, so the server never holds more than about `MAX_BODY_BYTES` of it (uvicorn
  reads the rest off the socket and drops it, or closes the connection).
- A non-empty body needs a JSON media type: `application/json` or `application/*+json`,
  parameters allowed (`application/json; charset=utf-8`); anything else, or no
  `Content-Type`, is `415 UNSUPPORTED_MEDIA_TYPE`. A browser page on another origin can send a
  `text/plain` body without asking first, with the session cookie (`SameSite=None`), but not
  an `application/json` one: this check is what keeps such a page from trading as its visitor.
  An empty body needs no type.
"""

from __future__ import annotations

from starlette.requests import Request

from ocx_sim.errors import ErrorCode, OcxError

MAX_BODY_BYTES = 1 << 20
"""1 MiB: far above any request OCX documents (a bulk ladder of quotes is a few KiB)."""


def is_json_type(content_type: str | None) -> bool:
    """Whether a `Content-Type` names JSON: `application/json` or `application/*+json`."""
    if content_type is None:
        return False
    media = content_type.partition(";")[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def too_large() -> OcxError:
    return OcxError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"Request body is larger than {MAX_BODY_BYTES} bytes",
        {"limit": MAX_BODY_BYTES},
    )


async def take_body(request: Request) -> bytes:
    """The whole body, within the bound and of a JSON type (module docstring)."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
    raw = b"".join(chunks)
    if raw and not is_json_type(request.headers.get("content-type")):
        raise OcxError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    return raw
