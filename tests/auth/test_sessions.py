"""Session JWTs: HS256, claims in simulated seconds, 7 days of simulated time, revocable."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from ocx_sim.auth.sessions import SESSION_SECONDS, Sessions
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.errors import ErrorCode, OcxError

SECRET = b"s" * 32
NOW = DEFAULT_START_MS + 123  # not on a second boundary: claims are whole seconds
USER = "01KDY021007B774W0D899A5E5Y"
SESSION = "01KDY021007B774W0D899A5E60"


@pytest.fixture
def sessions() -> Sessions:
    return Sessions(SECRET, audience="world-a")


def refused(sessions: Sessions, token: str, now: int = NOW) -> OcxError:
    with pytest.raises(OcxError) as caught:
        sessions.verify(token, now)
    return caught.value


def test_a_token_carries_sub_iat_exp_and_jti_in_simulated_seconds(sessions: Sessions) -> None:
    token = sessions.issue(USER, SESSION, NOW)

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], audience="world-a", options={"verify_exp": False}
    )
    assert header["alg"] == "HS256"
    assert claims == {
        "sub": USER,
        "aud": "world-a",
        "iat": NOW // 1000,
        "exp": NOW // 1000 + SESSION_SECONDS,
        "jti": SESSION,
    }


def test_a_token_verifies_to_its_user_and_session(sessions: Sessions) -> None:
    token = sessions.issue(USER, SESSION, NOW)

    assert sessions.verify(token, NOW) == (USER, SESSION)


def test_a_token_is_valid_until_the_last_second_of_its_seven_days(sessions: Sessions) -> None:
    token = sessions.issue(USER, SESSION, NOW)
    expires_ms = (NOW // 1000 + SESSION_SECONDS) * 1000

    assert sessions.verify(token, expires_ms - 1) == (USER, SESSION)
    error = refused(sessions, token, expires_ms)
    assert error.code is ErrorCode.SESSION_EXPIRED
    assert error.status == 401


def test_validity_follows_the_simulated_clock_not_the_wall_clock(sessions: Sessions) -> None:
    long_ago = 978_307_200_000  # 2001-01-01: long expired by the wall clock
    far_ahead = 4_102_444_800_000  # 2100-01-01: issued in the wall clock's future

    for now in (long_ago, far_ahead):
        assert sessions.verify(sessions.issue(USER, SESSION, now), now + 1000) == (USER, SESSION)


def test_a_revoked_session_is_expired_and_other_sessions_are_not(sessions: Sessions) -> None:
    ended = sessions.issue(USER, SESSION, NOW)
    other = sessions.issue(USER, "01KDY021007B774W0D899A5E61", NOW)

    sessions.revoke(SESSION)

    assert refused(sessions, ended).code is ErrorCode.SESSION_EXPIRED
    assert sessions.verify(other, NOW) == (USER, "01KDY021007B774W0D899A5E61")


def test_a_token_signed_with_another_secret_is_unauthenticated(sessions: Sessions) -> None:
    token = Sessions(b"t" * 32, audience="world-a").issue(USER, SESSION, NOW)

    error = refused(sessions, token)

    assert error.code is ErrorCode.UNAUTHENTICATED
    assert error.status == 401


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_a_token_that_is_not_a_jwt_is_unauthenticated(sessions: Sessions, token: str) -> None:
    assert refused(sessions, token).code is ErrorCode.UNAUTHENTICATED


def test_an_unsigned_token_is_unauthenticated(sessions: Sessions) -> None:
    claims = {"sub": USER, "iat": NOW // 1000, "exp": NOW // 1000 + 60, "jti": SESSION}
    token = jwt.encode(claims, None, algorithm="none")

    assert refused(sessions, token).code is ErrorCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": 0, "exp": 2_000_000_000, "jti": SESSION},
        {"sub": USER, "iat": 0, "exp": 2_000_000_000},
        {"sub": USER, "iat": 0, "jti": SESSION},
        {"sub": USER, "iat": 0, "exp": "2000000000", "jti": SESSION},
        {"sub": 7, "iat": 0, "exp": 2_000_000_000, "jti": SESSION},
    ],
    ids=["no-sub", "no-jti", "no-exp", "string-exp", "integer-sub"],
)
def test_a_signed_token_without_usable_claims_is_unauthenticated(
    sessions: Sessions, claims: dict[str, Any]
) -> None:
    token = jwt.encode(claims, SECRET, algorithm="HS256")

    assert refused(sessions, token).code is ErrorCode.UNAUTHENTICATED


def test_a_token_for_another_worlds_audience_is_unauthenticated(sessions: Sessions) -> None:
    token = Sessions(SECRET, audience="world-b").issue(USER, SESSION, NOW)

    with pytest.raises(OcxError) as refused:
        sessions.verify(token, NOW)

    assert refused.value.code is ErrorCode.UNAUTHENTICATED
