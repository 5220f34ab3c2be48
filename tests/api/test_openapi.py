"""`/openapi.json` as strict as the server: the errors each operation can answer, request
schemas that refuse what the parsers refuse, the `/w/{worldId}` prefix, and the security the
default world's profile accepts."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ocx_sim.app import create_app
from ocx_sim.auth.policy import Profile
from ocx_sim.errors import CATALOG, ErrorCode
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import NewAccount, WorldConfig, Worlds
from tests.api.conftest import ApiClient

ORDER = {"marketId": "BTC-PERP", "side": "buy", "quantity": "0.01", "price": "67000.00"}
RATE_LIMIT_HEADERS = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}


def document_of(config: WorldConfig) -> dict[str, Any]:
    with InProcessClient(create_app(Worlds(config))) as http:
        document: dict[str, Any] = http.get("/openapi.json").json()
    return document


def operation(client: ApiClient, method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = client.openapi.document["paths"][path][method]
    return found


def codes(client: ApiClient, method: str, path: str, status: int) -> list[str]:
    schema = operation(client, method, path)["responses"][str(status)]["content"]
    listed: list[str] = schema["application/json"]["schema"]["allOf"][1]["properties"]["code"][
        "enum"
    ]
    return listed


def accepts(client: ApiClient, method: str, path: str, body: dict[str, Any]) -> bool:
    schema = operation(client, method, path)["requestBody"]["content"]["application/json"]
    root = {**schema["schema"], "components": client.openapi.document["components"]}
    return Draft202012Validator(root).is_valid(body)


# -- errors ---------------------------------------------------------------------------------------


def test_an_order_path_lists_its_429_with_retry_after_and_the_window_headers(
    client: ApiClient,
) -> None:
    refused = operation(client, "post", "/perps/orders")["responses"]["429"]

    assert set(refused["headers"]) == {"Retry-After"} | RATE_LIMIT_HEADERS
    assert codes(client, "post", "/perps/orders", 429) == ["ORDER_RATE_LIMIT"]


@pytest.mark.parametrize("config", [WorldConfig(seed=7, order_rate_limit=1)])
def test_a_429_carries_every_header_the_document_lists_for_it(
    client: ApiClient, trader: NewAccount
) -> None:
    first = client.post("/perps/orders", json=ORDER, token=trader.session_token)
    assert first.status_code == 200
    response = client.post("/perps/orders", json=ORDER, token=trader.session_token)

    assert response.status_code == 429
    listed = operation(client, "post", "/perps/orders")["responses"]["429"]["headers"]
    assert {name.lower() for name in listed} <= set(response.headers.keys())


def test_an_order_lists_the_gateways_refusals_and_the_engines_by_status(
    client: ApiClient,
) -> None:
    assert codes(client, "post", "/perps/orders", 400) == [
        "VALIDATION_ERROR",
        "INSUFFICIENT_BALANCE",
    ]
    assert "API_KEY_REVOKED" in codes(client, "post", "/perps/orders", 401)
    assert codes(client, "post", "/perps/orders", 403) == [
        "INSUFFICIENT_SCOPE",
        "IP_NOT_ALLOWED",
        "API_KEY_NOT_ACCEPTED",
        "INVITE_REQUIRED",
    ]
    assert codes(client, "post", "/perps/orders", 404) == ["UNKNOWN_MARKET", "NOT_FOUND"]
    assert "INSUFFICIENT_MARGIN" in codes(client, "post", "/perps/orders", 422)
    assert codes(client, "post", "/perps/orders/{id}/cancel", 404) == [
        "ORDER_NOT_FOUND",
        "NOT_FOUND",
    ]


def test_a_public_read_without_parameters_lists_only_an_unknown_world(client: ApiClient) -> None:
    responses = operation(client, "get", "/perps/markets")["responses"]

    assert set(responses) == {"200", "404", "default"}
    assert codes(client, "get", "/perps/markets", 404) == ["NOT_FOUND"]


def test_every_listed_code_is_the_catalogs_at_its_status_in_the_shared_error_body(
    client: ApiClient,
) -> None:
    document = client.openapi.document
    assert set(document["components"]["schemas"]["Error"]["properties"]) >= {
        "error",
        "code",
        "message",
        "details",
    }
    for methods in document["paths"].values():
        for spec in methods.values():
            for status, response in spec["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}
                    for code in schema["allOf"][1]["properties"]["code"]["enum"]:
                        assert CATALOG[ErrorCode(code)].status == int(status)


# -- request schemas ------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", ["-1", "0", "0.000", "１"])
def test_a_quantity_that_is_not_a_positive_ascii_decimal_is_outside_the_order_schema(
    client: ApiClient, quantity: str
) -> None:
    assert accepts(client, "post", "/perps/orders", ORDER)
    assert not accepts(client, "post", "/perps/orders", {**ORDER, "quantity": quantity})


def test_a_limit_order_without_a_price_is_outside_the_schema_and_a_market_order_is_not(
    client: ApiClient,
) -> None:
    bare = {k: v for k, v in ORDER.items() if k != "price"}

    assert not accepts(client, "post", "/perps/orders", bare)
    assert not accepts(client, "post", "/orders", {**bare, "type": "limit"})
    assert accepts(client, "post", "/perps/orders", {**bare, "type": "market"})


def test_strings_longer_than_the_parsers_take_are_outside_the_schema(client: ApiClient) -> None:
    assert accepts(client, "post", "/perps/orders", {**ORDER, "clientOrderId": "c" * 64})
    assert not accepts(client, "post", "/perps/orders", {**ORDER, "clientOrderId": "c" * 65})
    assert not accepts(client, "post", "/perps/orders", {**ORDER, "clientOrderId": ""})
    assert not accepts(client, "post", "/perps/orders", {**ORDER, "marketId": "M" * 65})


def test_a_zero_transfer_is_outside_the_schema(client: ApiClient) -> None:
    transfer = {"from": "wallet", "to": "perps", "amount": "10"}

    assert accepts(client, "post", "/wallet/transfer", transfer)
    assert not accepts(client, "post", "/wallet/transfer", {**transfer, "amount": "0.00"})


def test_a_schema_refusal_is_the_servers_too(client: ApiClient, trader: NewAccount) -> None:
    # The document refuses no request the server takes, and the other way round, here.
    for body in ({**ORDER, "quantity": "-1"}, {k: v for k, v in ORDER.items() if k != "price"}):
        assert not accepts(client, "post", "/perps/orders", body)
        response = client.post("/perps/orders", json=body, token=trader.session_token)
        assert response.status_code == 400


def test_an_empty_required_query_parameter_is_outside_the_schema_and_refused(
    client: ApiClient,
) -> None:
    # The parser reads `?symbol=` as no symbol at all, so the document does not call "" valid.
    parameter = operation(client, "get", "/perps/ohlc")["parameters"][0]
    schema = {**parameter["schema"], "components": client.openapi.document["components"]}

    assert parameter["name"] == "symbol" and parameter["required"]
    assert Draft202012Validator(schema).is_valid("BTC-PERP")
    assert not Draft202012Validator(schema).is_valid("")
    response = client.get("/perps/ohlc", params={"symbol": "", "resolution": "1"})
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "symbol"


def test_an_optional_query_parameter_may_be_empty_as_the_parser_reads_it_as_absent(
    client: ApiClient, trader: NewAccount
) -> None:
    kind = next(
        p
        for p in operation(client, "get", "/wallet/settlements")["parameters"]
        if p["name"] == "kind"
    )

    assert kind["allowEmptyValue"] is True and not kind["required"]
    response = client.get("/wallet/settlements", params={"kind": ""}, token=trader.session_token)
    assert response.status_code == 200


def test_an_optional_body_field_may_be_null_and_one_a_branch_requires_may_not(
    client: ApiClient, trader: NewAccount
) -> None:
    cancel_all = {"marketId": None, "marginMode": "cross"}

    assert accepts(client, "post", "/perps/orders/cancel-all", cancel_all)
    response = client.post("/perps/orders/cancel-all", json=cancel_all, token=trader.session_token)
    assert response.status_code == 200
    # A limit order requires its price: null is no price.
    assert not accepts(client, "post", "/perps/orders", {**ORDER, "price": None})


# -- worlds and security --------------------------------------------------------------------------


def test_the_document_states_the_world_prefix_as_a_server(client: ApiClient) -> None:
    servers = client.openapi.document["servers"]

    assert servers[0]["url"] == "/"
    assert servers[1]["url"] == "/w/{worldId}"
    assert servers[1]["variables"]["worldId"]["default"] == "default"


def test_a_session_endpoint_takes_an_api_key_only_under_a_permissive_default_world() -> None:
    strict = document_of(WorldConfig())
    permissive = document_of(WorldConfig(profile=Profile.PERMISSIVE))

    def schemes(document: dict[str, Any], method: str, path: str) -> set[str]:
        return {name for option in document["paths"][path][method]["security"] for name in option}

    assert "apiKey" not in schemes(strict, "post", "/perps/orders")
    assert "apiKey" in schemes(permissive, "post", "/perps/orders")
    # Key management takes a session under every profile; a read takes a key under each.
    assert "apiKey" not in schemes(permissive, "post", "/perps/me/api-keys")
    assert "apiKey" in schemes(strict, "get", "/perps/positions")
    assert "profile (`permissive`)" in permissive["info"]["description"]


def test_an_operation_with_a_body_lists_413_and_415_and_one_without_lists_neither(
    client: ApiClient,
) -> None:
    assert codes(client, "post", "/perps/orders", 413) == ["PAYLOAD_TOO_LARGE"]
    assert codes(client, "post", "/perps/orders", 415) == ["UNSUPPORTED_MEDIA_TYPE"]
    assert {"413", "415"}.isdisjoint(operation(client, "get", "/perps/markets")["responses"])


def test_a_siwe_signature_outside_0x_hex_is_outside_the_request_schema(
    client: ApiClient,
) -> None:
    assert accepts(client, "post", "/auth/siwe", {"message": "m", "signature": "0xabcd"})
    assert not accepts(client, "post", "/auth/siwe", {"message": "m", "signature": "abcd"})
    assert not accepts(client, "post", "/auth/siwe", {"message": "m", "signature": "0xabc"})


# -- rules across fields and values, in the schema as the server checks them ---------------------

UNKNOWN_ORDER = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
ADDRESS = "0x" + "ab" * 20
AGREEMENT: list[tuple[str, dict[str, Any], bool]] = [
    # A modify needs a new price, a new quantity, or both; null is neither.
    (f"/perps/orders/{UNKNOWN_ORDER}/modify", {}, False),
    (f"/perps/orders/{UNKNOWN_ORDER}/modify", {"price": None, "quantity": None}, False),
    (f"/orders/{UNKNOWN_ORDER}/modify", {"quantity": "2", "price": None}, True),
    (f"/options/orders/{UNKNOWN_ORDER}/modify", {"price": "5"}, True),
    # A two-sided quote needs a bid, an ask, or both.
    ("/perps/quotes", {"marketId": "BTC-PERP", "bid": None}, False),
    # A market order may send a null price; a limit order may not.
    ("/perps/orders", {**ORDER, "type": "market", "price": None}, True),
    ("/perps/orders", {**ORDER, "type": None, "price": None}, False),
    # Only a realtime clock takes a speed.
    ("/_sim/clock/mode", {"mode": "manual", "speed": 2}, False),
    ("/_sim/clock/mode", {"mode": "manual", "speed": None}, True),
    ("/_sim/clock/mode", {"mode": "realtime", "speed": 2}, True),
    # Exactly one of ms and to.
    ("/_sim/clock/advance", {"ms": 1000, "to": "2026-04-24T12:00:00.000Z"}, False),
    ("/_sim/clock/advance", {"ms": 1000, "to": None}, True),
    ("/_sim/clock/advance", {"ms": 367 * 86_400_000}, False),
    # Exactly one of name and yaml.
    ("/_sim/scenarios", {"name": "calm-market", "yaml": "meta: {}\n"}, False),
    ("/_sim/scenarios", {"source": "s.yaml"}, False),
    # USDC amounts: positive (or zero where a balance may be), at most 6 decimal places
    # (zeros past the sixth change nothing), below 1e15.
    ("/wallet/withdraw", {"amount": "1.1234567"}, False),
    ("/wallet/withdraw", {"amount": "1.123456000"}, True),
    ("/wallet/withdraw", {"amount": "0.000000"}, False),
    ("/_sim/deposits", {"walletAddress": ADDRESS, "amount": "1" + "0" * 15}, False),
    ("/_sim/deposits", {"walletAddress": ADDRESS, "amount": "00999999999999999.9"}, True),
    ("/_sim/vault/liquidity", {"amount": "-0"}, True),
    ("/_sim/vault/liquidity", {"amount": "-0.5"}, False),
    ("/_sim/accounts", {"balances": {"perps": "0.0000001"}}, False),
    # A wallet address is 0x and 20 bytes of hex.
    ("/_sim/deposits", {"walletAddress": "0X" + "ab" * 20, "amount": "1"}, False),
    ("/_sim/accounts", {"walletAddress": ADDRESS[:-1]}, False),
    # A transfer moves between two distinct buckets.
    ("/wallet/transfer", {"from": "perps", "to": "perps", "amount": "1"}, False),
    ("/wallet/transfer", {"from": "perps", "to": "spot", "amount": "1"}, True),
    # An inline scenario's name for its errors is 1 to 256 characters.
    ("/_sim/worlds", {"scenarioSource": ""}, False),
    ("/_sim/worlds", {"scenarioSource": "s" * 256}, True),
]


def _fault(path: str = "/perps/orders", **action: Any) -> dict[str, Any]:
    return {"match": {"method": "POST", "path": path}, "action": {"type": "error", **action}}


ERROR: dict[str, Any] = {"status": 503, "code": "UPSTREAM_DEGRADED"}
AGREEMENT += [
    # A fault matches an OCX path, never a /_sim one nor one under a world's prefix.
    ("/_sim/faults", _fault("/perps/orders/{id}/cancel", **ERROR), True),
    ("/_sim/faults", _fault("/_sim/faults", **ERROR), False),
    ("/_sim/faults", _fault("/w/abc/perps/orders", **ERROR), False),
    ("/_sim/faults", _fault("/perps/orders/", **ERROR), False),
    # An action takes the fields its type uses, and needs those it cannot do without.
    ("/_sim/faults", _fault(status=503), False),
    ("/_sim/faults", _fault(**ERROR, ms=5), False),
    ("/_sim/faults", _fault(type="ambiguous", drop=True, status=503), False),
    ("/_sim/faults", _fault(type="ambiguous", drop=True), True),
    # A stream fault matches GET.
    ("/_sim/faults", _fault(type="stream_gap"), False),
    (
        "/_sim/faults",
        {"match": {"method": "GET", "path": "/perps/stream"}, "action": {"type": "stream_gap"}},
        True,
    ),
    # An account is a userId (in either case) or a wallet address.
    ("/_sim/faults", {**_fault(**ERROR), "match": {**_fault()["match"], "account": "me"}}, False),
    (
        "/_sim/faults",
        {**_fault(**ERROR), "match": {**_fault()["match"], "account": UNKNOWN_ORDER.lower()}},
        True,
    ),
]


@pytest.mark.parametrize(("path", "body", "valid"), AGREEMENT)
def test_the_request_schema_and_the_server_agree_on_what_is_refused(
    client: ApiClient, trader: NewAccount, path: str, body: dict[str, Any], valid: bool
) -> None:
    template = path.replace(UNKNOWN_ORDER, "{id}")
    assert accepts(client, "post", template, body) is valid
    response = client.post(path, json=body, token=trader.session_token)
    # An unknown order is 404 once its body is read: the body was taken.
    assert (response.status_code != 400) is valid, response.text


def test_a_journal_since_past_the_largest_seq_is_outside_the_schema_and_refused(
    client: ApiClient,
) -> None:
    since = next(
        p for p in operation(client, "get", "/_sim/journal")["parameters"] if p["name"] == "since"
    )
    validator = Draft202012Validator(since["schema"])

    assert validator.is_valid(2**63 - 1)
    assert not validator.is_valid(2**63)
    assert client.get("/_sim/journal", params={"since": str(2**63)}).status_code == 400
    assert client.get("/_sim/journal", params={"since": str(2**63 - 1)}).status_code == 200
