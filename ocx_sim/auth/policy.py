"""Which credentials an endpoint accepts (docs/fidelity.md "Sign-in, sessions and keys").

Every endpoint declares an `Access`:
- `PUBLIC`: no credentials needed; any sent are ignored ("harmless but optional");
- `OPTIONAL`: a session if one is sent and valid, else anonymous (`GET /auth/me`);
- `SESSION`: a session; an API key only under the permissive profiles;
- `READ`: a session, or an API key of scope `read` or `trade` (account and wallet reads);
- `TRADE`: a session, or an API key of scope `trade` (previews, bulk quotes, cancel-all);
- `KEY_MANAGEMENT`: a session, never a key, under every profile.

Profiles: `strict` (the default) accepts keys exactly as above; `permissive` and `gitbook`
accept keys on every endpoint but key management, `read` for GETs and `trade` for writes.
"""

from __future__ import annotations

from enum import StrEnum

from ocx_sim.auth.keys import Scope
from ocx_sim.errors import ErrorCode, OcxError


class Access(StrEnum):
    PUBLIC = "public"
    OPTIONAL = "optional"
    SESSION = "session"
    READ = "read"
    TRADE = "trade"
    KEY_MANAGEMENT = "key_management"


class Profile(StrEnum):
    STRICT = "strict"
    PERMISSIVE = "permissive"
    GITBOOK = "gitbook"


def check_key(access: Access, profile: Profile, scope: Scope, is_write: bool) -> None:
    """Raise 403 unless an API key of `scope` may call an endpoint of `access`."""
    if access is Access.KEY_MANAGEMENT or (access is Access.SESSION and profile is Profile.STRICT):
        raise OcxError(ErrorCode.API_KEY_NOT_ACCEPTED)
    needs_trade = access is Access.TRADE if profile is Profile.STRICT else is_write
    if needs_trade and scope is not Scope.TRADE:
        raise OcxError(ErrorCode.INSUFFICIENT_SCOPE, "This endpoint needs a key of scope 'trade'")
