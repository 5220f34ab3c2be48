"""Session tokens: HS256 JWTs (PyJWT), valid 7 days of simulated time, revocable.

docs/fidelity.md "Sign-in, sessions and keys": claims `sub` (the user id), `iat` and
`exp = iat + 604800` in simulated unix seconds, plus a `jti` so that `/auth/logout` can revoke
exactly this session, and `aud`, the world's id. The signing key is per world and comes from the
world's seed, so two worlds on the same seed share it; the audience keeps a token of one world from
opening the other (the worlds of parallel tests usually share a seed). PyJWT's own time checks read
the wall clock, so they are switched off and `exp` is checked against the simulated clock here.

Decoding a JWT is most of what an authenticated request costs, so a token that verified once is
remembered with its claims; revocation and expiry are still checked on every request. Only
tokens this world signed can enter the memory, so its size is bounded by the sessions issued.
"""

from __future__ import annotations

import jwt

from ocx_sim.errors import ErrorCode, OcxError

SESSION_SECONDS = 604_800
COOKIE_NAME = "astra_session"
_ALGORITHM = "HS256"


class Sessions:
    def __init__(self, secret: bytes, audience: str) -> None:
        self._secret = secret
        self._audience = audience
        self._revoked: set[str] = set()
        self._verified: dict[str, tuple[str, str, int]] = {}

    def issue(self, user_id: str, session_id: str, now_ms: int) -> str:
        issued = now_ms // 1000
        claims = {
            "sub": user_id,
            "aud": self._audience,
            "iat": issued,
            "exp": issued + SESSION_SECONDS,
            "jti": session_id,
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str, now_ms: int) -> tuple[str, str]:
        """(user id, session id) of a valid token; 401 UNAUTHENTICATED for a token that is not
        ours, SESSION_EXPIRED past `exp` or after logout."""
        user_id, session_id, expires = self._verified.get(token) or self._decode(token)
        if session_id in self._revoked:
            raise OcxError(ErrorCode.SESSION_EXPIRED, "This session has been logged out")
        if now_ms // 1000 >= expires:
            raise OcxError(ErrorCode.SESSION_EXPIRED)
        return user_id, session_id

    def _decode(self, token: str) -> tuple[str, str, int]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=self._audience,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            raise OcxError(ErrorCode.UNAUTHENTICATED, "Invalid session token") from None
        user_id, session_id, expires = claims.get("sub"), claims.get("jti"), claims.get("exp")
        if (
            not isinstance(user_id, str)
            or not isinstance(session_id, str)
            or not isinstance(expires, int)
        ):
            raise OcxError(ErrorCode.UNAUTHENTICATED, "Invalid session token")
        verified = self._verified[token] = (user_id, session_id, expires)
        return verified

    def revoke(self, session_id: str) -> None:
        self._revoked.add(session_id)
