"""Which API keys each endpoint accepts, per profile (`strict`, `permissive`, `gitbook`; see
docs/fidelity.md "Sign-in, sessions and keys").

The expectations are written out as tables, one row per access, rather than derived, so that a
change to the policy shows up as a changed row here.
"""

from __future__ import annotations

import itertools

import pytest

from ocx_sim.auth.keys import Scope
from ocx_sim.auth.policy import Access, Profile, check_key
from ocx_sim.errors import ErrorCode, OcxError

OK = None
NOT_ACCEPTED = ErrorCode.API_KEY_NOT_ACCEPTED
SCOPE = ErrorCode.INSUFFICIENT_SCOPE

# strict (the default, Mintlify): the endpoint's access decides; GET or write does not matter.
STRICT: dict[Access, dict[Scope, ErrorCode | None]] = {
    Access.PUBLIC: {Scope.READ: OK, Scope.TRADE: OK},
    Access.OPTIONAL: {Scope.READ: OK, Scope.TRADE: OK},
    Access.SESSION: {Scope.READ: NOT_ACCEPTED, Scope.TRADE: NOT_ACCEPTED},
    Access.READ: {Scope.READ: OK, Scope.TRADE: OK},
    Access.TRADE: {Scope.READ: SCOPE, Scope.TRADE: OK},
    Access.KEY_MANAGEMENT: {Scope.READ: NOT_ACCEPTED, Scope.TRADE: NOT_ACCEPTED},
}

# permissive and gitbook (GitBook): keys anywhere but key management; writes need `trade`.
LOOSE_GET: dict[Access, dict[Scope, ErrorCode | None]] = {
    Access.PUBLIC: {Scope.READ: OK, Scope.TRADE: OK},
    Access.OPTIONAL: {Scope.READ: OK, Scope.TRADE: OK},
    Access.SESSION: {Scope.READ: OK, Scope.TRADE: OK},
    Access.READ: {Scope.READ: OK, Scope.TRADE: OK},
    Access.TRADE: {Scope.READ: OK, Scope.TRADE: OK},
    Access.KEY_MANAGEMENT: {Scope.READ: NOT_ACCEPTED, Scope.TRADE: NOT_ACCEPTED},
}
LOOSE_WRITE: dict[Access, dict[Scope, ErrorCode | None]] = {
    Access.PUBLIC: {Scope.READ: SCOPE, Scope.TRADE: OK},
    Access.OPTIONAL: {Scope.READ: SCOPE, Scope.TRADE: OK},
    Access.SESSION: {Scope.READ: SCOPE, Scope.TRADE: OK},
    Access.READ: {Scope.READ: SCOPE, Scope.TRADE: OK},
    Access.TRADE: {Scope.READ: SCOPE, Scope.TRADE: OK},
    Access.KEY_MANAGEMENT: {Scope.READ: NOT_ACCEPTED, Scope.TRADE: NOT_ACCEPTED},
}


def expected(access: Access, profile: Profile, scope: Scope, write: bool) -> ErrorCode | None:
    if profile is Profile.STRICT:
        return STRICT[access][scope]
    return (LOOSE_WRITE if write else LOOSE_GET)[access][scope]


COMBINATIONS = list(itertools.product(Access, Profile, Scope, (False, True)))


def test_the_tables_cover_every_access() -> None:
    assert set(STRICT) == set(LOOSE_GET) == set(LOOSE_WRITE) == set(Access)
    assert len(COMBINATIONS) == len(Access) * len(Profile) * len(Scope) * 2


@pytest.mark.parametrize(
    ("access", "profile", "scope", "write"),
    COMBINATIONS,
    ids=[f"{a}-{p}-{s}-{'write' if w else 'get'}" for a, p, s, w in COMBINATIONS],
)
def test_check_key_follows_the_profile_table(
    access: Access, profile: Profile, scope: Scope, write: bool
) -> None:
    outcome = expected(access, profile, scope, write)

    if outcome is None:
        check_key(access, profile, scope, write)
        return
    with pytest.raises(OcxError) as caught:
        check_key(access, profile, scope, write)
    assert caught.value.code is outcome
    assert caught.value.status == 403
