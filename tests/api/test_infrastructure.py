"""The API test harness itself: answers are checked against /openapi.json, worlds route."""

from __future__ import annotations

from tests.api.conftest import ApiClient, assert_error


def test_the_market_list_validates_against_the_openapi_document(client: ApiClient) -> None:
    response = client.get("/perps/markets")

    assert response.status_code == 200
    assert "/perps/markets" in client.openapi.document["paths"]


def test_an_unknown_world_is_a_404_with_the_error_body(client: ApiClient) -> None:
    assert_error(client.get("/w/01NOSUCHWORLD0000000000000/perps/markets"), 404, "NOT_FOUND")


def test_an_unknown_worlds_openapi_document_is_a_404_naming_the_world(client: ApiClient) -> None:
    response = client.get("/w/01NOSUCHWORLD0000000000000/openapi.json")

    assert_error(response, 404, "NOT_FOUND")
    assert response.json()["details"] == {"worldId": "01NOSUCHWORLD0000000000000"}


def test_the_default_world_serves_the_document_at_its_prefix_too(client: ApiClient) -> None:
    # The raw client: the document does not describe itself.
    same = client.http.get("/w/default/openapi.json").json() == client.openapi.document
    assert same
