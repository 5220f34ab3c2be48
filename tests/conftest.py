"""Shared test setup: Hypothesis profiles, and fixtures for an exchange and its users built on
`ocx_sim.testing.builders`."""

from __future__ import annotations

import os
from functools import partial

# httpx imports httpcore on its first request. pytester's inline runs (the plugin and
# quickstart tests) forget every module first imported inside them, so were that first request
# made there, a later request would meet a second httpcore whose errors httpx no longer
# recognises (a refused connection escaping as httpcore.ConnectError). Imported here, once.
import httpcore  # noqa: F401
import pytest
from hypothesis import HealthCheck, settings

from ocx_sim import Exchange
from ocx_sim.testing.builders import UserFactory, funded_user

# `ci` (the default) bounds every property test so `make test` stays within its time budget;
# `dev` digs deeper: HYPOTHESIS_PROFILE=dev make test.
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def exchange() -> Exchange:
    """A fresh exchange on the default catalog, clock at 2026-01-02T00:00:00.000Z."""
    return Exchange.create(seed=1)


@pytest.fixture
def make_user(exchange: Exchange) -> UserFactory:
    """`make_user(perps="5000", spot="0", options="0", wallet="0")` → a new funded user's id
    on the test's `exchange` (`funded_user`)."""
    return partial(funded_user, exchange)
