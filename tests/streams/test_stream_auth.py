"""Who may open a private stream: the REST reads' rules (docs/fidelity.md "Streams"). Every
refusal is the ordinary JSON error, answered before the stream starts."""

from __future__ import annotations

import pytest

from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient, assert_error, atm_call
from tests.api.test_keys import KEYS, create
from tests.streams.conftest import PERP

PRIVATE = [
    "/perps/stream/user",
    f"/perps/stream/events?marketId={PERP}",
    "/options/stream/events?marketId={call}",
    "/portfolio/balances/stream",
]


def target(world: World, template: str) -> str:
    return template.format(call=atm_call(world).id)


@pytest.mark.parametrize("stream", PRIVATE)
def test_an_anonymous_caller_is_401(client: ApiClient, world: World, stream: str) -> None:
    assert_error(client.get(target(world, stream)), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("stream", PRIVATE)
def test_a_key_from_outside_its_allowlist_is_403(
    client: ApiClient, world: World, trader: NewAccount, stream: str
) -> None:
    key = create(client, trader, scope="read", allowedIps=["203.0.113.0/24"])["secret"]

    outside = client.get(target(world, stream), key=key, client_ip="198.51.100.7")
    inside = client.get(target(world, stream), key=key, client_ip="203.0.113.7")

    assert_error(outside, 403, "IP_NOT_ALLOWED")
    assert inside.status_code == 200
    assert inside.headers["content-type"].startswith("text/event-stream")


@pytest.mark.parametrize("stream", PRIVATE)
def test_a_revoked_key_is_401(
    client: ApiClient, world: World, trader: NewAccount, stream: str
) -> None:
    created = create(client, trader, scope="trade")
    revoked = client.delete(f"{KEYS}/{created['id']}", token=trader.session_token)
    assert revoked.status_code == 200, revoked.json()

    refused = client.get(target(world, stream), key=created["secret"])

    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/json")
