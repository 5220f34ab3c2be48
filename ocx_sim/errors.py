"""The one error catalog: every code ocx-sim can answer, with its HTTP status and message.

The engine raises `OcxError`; the gateway renders it, in one place (gateway/responses.py), so no
handler builds error JSON. The codes and statuses are docs/fidelity.md "Errors": OCX's docs name
only five of these codes, the others are ours for cases they describe without a name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class ErrorCode(StrEnum):
    # 400
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    INVALID_SIWE_MESSAGE = "INVALID_SIWE_MESSAGE"
    NONCE_MISMATCH = "NONCE_MISMATCH"
    NONCE_EXPIRED = "NONCE_EXPIRED"
    # 401
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    API_KEY_INVALID = "API_KEY_INVALID"
    API_KEY_EXPIRED = "API_KEY_EXPIRED"
    API_KEY_REVOKED = "API_KEY_REVOKED"
    # 403
    INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    API_KEY_NOT_ACCEPTED = "API_KEY_NOT_ACCEPTED"
    INVITE_REQUIRED = "INVITE_REQUIRED"
    # 404
    UNKNOWN_MARKET = "UNKNOWN_MARKET"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    # 405
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    # 409
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    MARKET_HALTED = "MARKET_HALTED"
    MARKET_EXPIRED = "MARKET_EXPIRED"
    ORDER_NOT_OPEN = "ORDER_NOT_OPEN"
    SNAPSHOT_LIMIT = "SNAPSHOT_LIMIT"
    WORLD_RESET = "WORLD_RESET"
    # 413
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    # 415
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    # 422
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    REDUCE_ONLY_WOULD_INCREASE = "REDUCE_ONLY_WOULD_INCREASE"
    PRICE_OUT_OF_BAND = "PRICE_OUT_OF_BAND"
    NO_LIQUIDITY = "NO_LIQUIDITY"
    STRATEGY_NOT_FILLED = "STRATEGY_NOT_FILLED"
    SELF_TRADE = "SELF_TRADE"
    TOO_MANY_OPEN_ORDERS = "TOO_MANY_OPEN_ORDERS"
    # 429
    ORDER_RATE_LIMIT = "ORDER_RATE_LIMIT"
    # 499: the client went away before its request was read (never sent; journaled)
    CLIENT_CLOSED_REQUEST = "CLIENT_CLOSED_REQUEST"
    # 500: always a bug; the web layer's last resort
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # 503
    UPSTREAM_DEGRADED = "UPSTREAM_DEGRADED"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    status: int
    message: str
    family: str
    """The GitBook error family (`error` under the `gitbook` profile, docs/fidelity.md "HTTP")."""


_E = CatalogEntry
CATALOG: Mapping[ErrorCode, CatalogEntry] = MappingProxyType(
    {
        ErrorCode.VALIDATION_ERROR: _E(400, "The request is invalid", "RequestError"),
        ErrorCode.INSUFFICIENT_BALANCE: _E(
            400, "Insufficient balance in the source bucket", "BalanceError"
        ),
        ErrorCode.INVALID_SIWE_MESSAGE: _E(400, "Malformed or invalid SIWE message", "AuthError"),
        ErrorCode.NONCE_MISMATCH: _E(400, "Nonce was not issued by this server", "AuthError"),
        ErrorCode.NONCE_EXPIRED: _E(400, "Nonce has expired", "AuthError"),
        ErrorCode.UNAUTHENTICATED: _E(401, "Authentication required", "AuthError"),
        ErrorCode.INVALID_SIGNATURE: _E(
            401, "Signature does not match the claimed address", "AuthError"
        ),
        ErrorCode.SESSION_EXPIRED: _E(401, "Session has expired; sign in again", "AuthError"),
        ErrorCode.API_KEY_INVALID: _E(401, "API key is invalid", "AuthError"),
        ErrorCode.API_KEY_EXPIRED: _E(401, "API key has expired", "AuthError"),
        ErrorCode.API_KEY_REVOKED: _E(401, "API key has been revoked", "AuthError"),
        ErrorCode.INSUFFICIENT_SCOPE: _E(
            403, "API key scope does not allow this action", "AuthError"
        ),
        ErrorCode.IP_NOT_ALLOWED: _E(403, "Request IP is not in the key's allowlist", "AuthError"),
        ErrorCode.API_KEY_NOT_ACCEPTED: _E(
            403, "This endpoint requires a session; API keys are not accepted", "AuthError"
        ),
        ErrorCode.INVITE_REQUIRED: _E(
            403, "An invite code must be redeemed before trading", "AuthError"
        ),
        ErrorCode.UNKNOWN_MARKET: _E(404, "Unknown market", "ResourceError"),
        ErrorCode.ORDER_NOT_FOUND: _E(404, "Order not found", "ResourceError"),
        ErrorCode.NOT_FOUND: _E(404, "Not found", "ResourceError"),
        ErrorCode.METHOD_NOT_ALLOWED: _E(405, "Method not allowed", "RequestError"),
        ErrorCode.DUPLICATE_CLIENT_ORDER_ID: _E(
            409, "An open order already uses this clientOrderId", "ConflictError"
        ),
        ErrorCode.MARKET_HALTED: _E(409, "Market is halted", "ConflictError"),
        ErrorCode.MARKET_EXPIRED: _E(409, "Market has expired", "ConflictError"),
        ErrorCode.ORDER_NOT_OPEN: _E(409, "Order is no longer open", "ConflictError"),
        ErrorCode.WORLD_RESET: _E(
            409, "The world was reset while the request waited; send it again", "ConflictError"
        ),
        ErrorCode.SNAPSHOT_LIMIT: _E(
            409, "The world keeps no more snapshots; delete one first", "ConflictError"
        ),
        ErrorCode.PAYLOAD_TOO_LARGE: _E(413, "Request body is too large", "RequestError"),
        ErrorCode.UNSUPPORTED_MEDIA_TYPE: _E(
            415, "Request body must be JSON (Content-Type: application/json)", "RequestError"
        ),
        ErrorCode.INSUFFICIENT_MARGIN: _E(422, "Insufficient initial margin", "MarginError"),
        ErrorCode.POST_ONLY_WOULD_TAKE: _E(
            422, "Post-only order would take liquidity", "OrderError"
        ),
        ErrorCode.REDUCE_ONLY_WOULD_INCREASE: _E(
            422, "Reduce-only order would increase the position", "OrderError"
        ),
        ErrorCode.PRICE_OUT_OF_BAND: _E(
            422, "Price is outside the market's price band", "OrderError"
        ),
        ErrorCode.NO_LIQUIDITY: _E(422, "No liquidity to fill the market order", "OrderError"),
        ErrorCode.STRATEGY_NOT_FILLED: _E(
            422, "Strategy could not be filled in full", "OrderError"
        ),
        ErrorCode.SELF_TRADE: _E(422, "Order would trade against your own order", "OrderError"),
        ErrorCode.TOO_MANY_OPEN_ORDERS: _E(
            422, "Too many open orders on this market", "OrderError"
        ),
        ErrorCode.ORDER_RATE_LIMIT: _E(429, "Order rate limit exceeded", "RateLimitError"),
        ErrorCode.CLIENT_CLOSED_REQUEST: _E(
            499, "The client closed the connection before its request was read", "RequestError"
        ),
        ErrorCode.INTERNAL_ERROR: _E(500, "Internal error", "ServerError"),
        ErrorCode.UPSTREAM_DEGRADED: _E(
            503, "Reference data unavailable; retry shortly", "ServerError"
        ),
    }
)


class OcxError(Exception):
    """An error OCX answers: a catalog code, its status, a human message and optional details.

    `details` holds machine-readable context: `field` for validation errors, `requiredIm` and
    `availableIm` for INSUFFICIENT_MARGIN, `orderId` for DUPLICATE_CLIENT_ORDER_ID, ...
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        details: Mapping[str, object] | None = None,
        status: int | None = None,
    ) -> None:
        entry = CATALOG[code]
        self.code = code
        self.status = entry.status if status is None else status
        self.message = message if message is not None else entry.message
        self.details: dict[str, object] = dict(details) if details else {}
        super().__init__(f"{code}: {self.message}")

    @property
    def family(self) -> str:
        return CATALOG[self.code].family

    def __repr__(self) -> str:
        return f"OcxError({self.code!s}, {self.message!r}, {self.details!r})"


def invalid(field: str, message: str) -> OcxError:
    """A 400 VALIDATION_ERROR naming the offending field (docs/fidelity.md "Wire conventions")."""
    return OcxError(ErrorCode.VALIDATION_ERROR, f"{field}: {message}", {"field": field})


def unprocessable(field: str, message: str) -> OcxError:
    """A well-formed value the rules refuse: 422 VALIDATION_ERROR naming the field (the control
    API's answer to an arbitrageable volatility surface, docs/control-api.md "Options")."""
    return OcxError(ErrorCode.VALIDATION_ERROR, f"{field}: {message}", {"field": field}, 422)
