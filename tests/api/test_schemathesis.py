"""Schemathesis over `/openapi.json`: every operation of the document, requests drawn by
Schemathesis from the document alone, every answer checked with all of its default checks
(no 5xx, a documented status, content type, headers and body schema, invalid data refused,
valid data accepted, auth not ignored, a wrong method answered 405 with `Allow`).

It complements tests/api/test_fuzz.py, whose requests are drawn by this project's own
strategies (real market and order ids, prices about the mark): here an independent tool reads
the document as any client generator would, so a document that says less or more than the
server does is found even where this project's strategies agree with it.

Each operation gets a fresh server whose default world holds a funded account made through the
control API (`POST /_sim/accounts`), whose session is the Bearer token Schemathesis sends, so
a logout or a halted market in one operation's examples never leaks into another's. The run is
bounded (a few examples per operation, derandomized, so CI is reproducible) to stay well under
three minutes on two cores; `HYPOTHESIS_PROFILE` does not apply here.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import AuthContext, Case
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ocx_sim.app import create_app
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import WorldConfig, Worlds

EXAMPLES = 15
"""Examples per operation, beside Schemathesis's own examples and coverage phases."""

ACCOUNT = {
    "balances": {"wallet": "100000", "perps": "100000", "spot": "100000", "options": "100000"},
    "apiKeys": [{"name": "fuzz", "scope": "trade"}],
}


def _app() -> Any:
    return create_app(Worlds(WorldConfig(seed=7)))


SLOW = SchemathesisConfig.from_dict(
    {"operations": [{"include-name": "POST /_sim/clock/advance", "request-timeout": 120}]}
)
"""Seconds an answer may take where Schemathesis's default 10 is not enough: an advance of up
to 366 days (the schema's bound, which the coverage phase sends) fires a year of timers, seconds
of work that a 2-core machine under load stretches past 10."""

SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", _app(), config=SLOW)


SEATS: dict[str, tuple[Any, str]] = {}
"""Per operation: its server and the session token of a funded account in its default world."""


def _seat(case: Case[Any]) -> tuple[Any, str]:
    label = case.operation.label
    if label not in SEATS:
        app = _app()
        http = InProcessClient(app)
        try:
            response = http.post("/_sim/accounts", json=ACCOUNT)
            assert response.status_code == 201, response.text
            SEATS[label] = app, response.json()["sessionToken"]
        finally:
            http.close()
    return SEATS[label]


@SCHEMA.auth(refresh_interval=None)
class Session:
    """The operation's funded account's session as a Bearer token: told to Schemathesis as the
    credential (not sent beside its own), so its `ignored_auth` check knows what to take away."""

    def get(self, case: Case[Any], ctx: AuthContext) -> str:
        return _seat(case)[1]

    def set(self, case: Case[Any], data: str, ctx: AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


STREAMS = [
    path
    for path, methods in SCHEMA.raw_schema["paths"].items()
    for operation in methods.values()
    for answer in operation["responses"].values()
    if "text/event-stream" in answer["content"]
]
"""Event streams are left to tests/streams and test_fuzz.py: the document's stream schema is
each event's `data` (the JSON an `EventSource` hands over, as tests/api/conftest.py checks),
while Schemathesis 4 reads it as the schema of the whole event (`{event, id, data}`, OpenAPI
3.2's `itemSchema` reading), and a stream answers for as long as it is read."""

OPERATIONS = SCHEMA.exclude(path=STREAMS)


LOOSER_THAN_THE_SERVER = {
    "GET /perps/ohlc": "`from`..`to` spans at most 90 days (arithmetic across two fields)",
    "POST /wallet/transfer": "the amount is within what `from` holds (the account's state)",
    "POST /wallet/withdraw": "the amount is within the wallet bucket (the account's state)",
    "POST /auth/siwe": "`message` is an EIP-4361 message (a grammar, not a pattern)",
    "POST /_sim/scenarios": "`name` names a bundled scenario (or a file under --scenario-dir), "
    "`yaml` is a scenario (a grammar)",
    "POST /_sim/worlds": "`scenario` is a bundled scenario or a scenario's YAML (a grammar)",
    "POST /_sim/clock/advance": "`to` is what `datetime.fromisoformat` reads (week dates, "
    "leap days), at most 366 days ahead of the clock (the world's state)",
    "POST /perps/me/api-keys": "`allowedIps` are what `ipaddress.ip_network` reads (every "
    "IPv6 spelling, scope ids, netmask and hostmask prefixes): no readable pattern says that",
    "POST /_sim/accounts": "`apiKeys[].allowedIps`, as for POST /perps/me/api-keys",
    "POST /_sim/faults": "its integers refuse a fraction (`7.0`), which JSON Schema reads as 7",
}
"""Operations whose request schema is looser than the server, by the rule named: a request the
schema allows can still be a 400, so Schemathesis's `positive_data_acceptance` check (a
schema-valid request must not be refused) is off for them, and only it. Every rule JSON Schema
can state is in the schemas (tests/api/test_openapi.py checks some directly); these are the ones
it cannot."""


@OPERATIONS.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_meets_schemathesis_checks(case: Case[Any]) -> None:
    looser = case.operation.label in LOOSER_THAN_THE_SERVER
    case.call_and_validate(
        app=_seat(case)[0], excluded_checks=[positive_data_acceptance] if looser else None
    )
