"""A request's body at the gateway's door (docs/fidelity.md "HTTP"): at most 1 MiB (413) and
JSON only under a JSON media type (415), checked on every endpoint before anything else."""

from __future__ import annotations

import orjson
import pytest

from ocx_sim.gateway.body import MAX_BODY_BYTES
from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient, assert_error

JSON_TYPE = {"content-type": "application/json"}
ORDER = {
    "marketId": "BTC-PERP",
    "side": "buy",
    "type": "limit",
    "price": "60000.00",
    "quantity": "0.0100",
}


def padded(size: int) -> bytes:
    """A JSON object of exactly `size` bytes (an unknown field, which endpoints ignore)."""
    empty = len(orjson.dumps({"pad": ""}))
    return orjson.dumps({"pad": "a" * (size - empty)})


def test_a_2_mib_body_is_refused_with_413(client: ApiClient) -> None:
    response = client.post("/_sim/accounts", content=padded(2 << 20), headers=JSON_TYPE)

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert response.json()["details"] == {"limit": MAX_BODY_BYTES}


def test_a_body_of_exactly_1_mib_is_read(client: ApiClient) -> None:
    response = client.post("/_sim/accounts", content=padded(MAX_BODY_BYTES), headers=JSON_TYPE)

    assert response.status_code == 201


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.ocx+json",
    ],
)
def test_json_bodies_are_read_under_a_json_media_type(client: ApiClient, content_type: str) -> None:
    response = client.post(
        "/_sim/worlds", content=b'{"seed": 4}', headers={"content-type": content_type}
    )

    assert response.status_code == 201
    assert response.json()["seed"] == 4


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        None,
    ],
    ids=["text", "form", "multipart", "lookalike", "none"],
)
def test_a_body_of_another_type_or_none_is_415(client: ApiClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}

    response = client.http.request("POST", "/_sim/worlds", content=b'{"seed": 4}', headers=headers)

    assert response.status_code == 415
    assert response.json() == {
        "error": "UNSUPPORTED_MEDIA_TYPE",
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "message": "Request body must be JSON (Content-Type: application/json)",
    }
    assert len(client.get("/_sim/worlds").json()["worlds"]) == 1


def test_an_empty_body_needs_no_content_type(client: ApiClient) -> None:
    response = client.http.request("POST", "/_sim/worlds", content=b"", headers={})

    assert response.status_code == 201


def test_a_cross_site_text_plain_order_with_the_session_cookie_places_nothing(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    response = client.http.request(
        "POST",
        "/perps/orders",
        content=orjson.dumps(ORDER),
        headers={"content-type": "text/plain"},
        cookies={"astra_session": trader.session_token},
    )

    assert response.status_code == 415
    assert world.exchange.orders(trader.user_id) == []


def test_a_whole_number_written_with_a_fraction_is_read_as_that_integer(
    client: ApiClient, world: World
) -> None:
    # JSON Schema, and so /openapi.json's `integer`, counts 7.0 as the integer 7.
    assert client.post("/_sim/reset", json={"seed": 7.0}).json()["seed"] == 7
    assert client.post("/_sim/reset", json={"seed": -3.0}).json()["seed"] == -3
    assert_error(client.post("/_sim/reset", json={"seed": 7.5}), 400, "VALIDATION_ERROR", "seed")
    # Past 2**53 the parsed float is no longer the number written: refused, not rounded.
    past = {"seed": -9223372036854775809.0}
    assert_error(client.post("/_sim/reset", json=past), 400, "VALIDATION_ERROR", "seed")


def test_a_body_of_whitespace_is_not_json_even_where_a_body_may_be_left_out(
    client: ApiClient, trader: NewAccount
) -> None:
    response = client.http.request(
        "POST",
        "/perps/orders/cancel-all",
        content=b"\n",
        headers={**JSON_TYPE, "authorization": f"Bearer {trader.session_token}"},
    )

    assert_error(response, 400, "VALIDATION_ERROR")
    assert response.json()["details"] == {"field": "body"}
