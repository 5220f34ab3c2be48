"""In-process API tests: a world, its app, and a client that checks every answer against
`/openapi.json` (the issue's "every response in the API tests validates against it")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from ocx_sim.app import create_app
from ocx_sim.auth.keys import Scope
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.markets import MarketSpec, OptionType
from ocx_sim.testing.client import InProcessClient, Response
from ocx_sim.worlds import KeyRequest, NewAccount, World, WorldConfig, Worlds

FUNDS = {
    Bucket.WALLET: Decimal(100_000),
    Bucket.PERPS: Decimal(100_000),
    Bucket.SPOT: Decimal(100_000),
    Bucket.OPTIONS: Decimal(100_000),
}


class OpenApi:
    """Finds the operation a request hit and validates the answer against its schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._routes: list[tuple[re.Pattern[str], str]] = []
        for path in document["paths"]:
            pattern = "^" + re.sub(r"{\w+}", "[^/]+", path) + "$"
            self._routes.append((re.compile(pattern), path))

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        bare = re.sub(r"^/w/[^/]+", "", path.split("?")[0]) or "/"
        for pattern, template in self._routes:
            if pattern.match(bare):
                operation = self.document["paths"][template].get(method.lower())
                if operation is not None:
                    return dict(operation)
        return None

    def check_stream(self, method: str, path: str, text: str) -> None:
        """An event stream (the in-process client reads it until it disconnects): a documented
        stream, and each frame's data valid against the operation's schema."""
        operation = self.operation(method, path)
        assert operation is not None, f"{method} {path} streams but is not documented"
        schema = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]
        root = {**schema, "components": self.document["components"]}
        for frame in _stream_frames(text):
            errors = sorted(Draft202012Validator(root).iter_errors(frame), key=str)
            assert not errors, f"{method} {path}: {errors[0].message} in {frame!r}"

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        operation = self.operation(method, path)
        if operation is None:
            schema: dict[str, Any] = {"$ref": "#/components/schemas/Error"}
        else:
            responses = operation["responses"]
            chosen = responses.get(str(status), responses["default"])
            schema = chosen["content"]["application/json"]["schema"]
        if status >= 400:
            assert set(body) >= {"error", "code", "message"}, body
        root = {**schema, "components": self.document["components"]}
        errors = sorted(Draft202012Validator(root).iter_errors(body), key=str)
        assert not errors, f"{method} {path} → {status}: {errors[0].message} in {body!r}"


def _stream_frames(text: str) -> list[Any]:
    """The JSON `data:` of every frame of an event stream's body (comments skipped)."""
    return [orjson.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


class ApiClient:
    """A synchronous in-process client; every answer is checked against `/openapi.json`."""

    def __init__(self, client: InProcessClient, openapi: OpenApi) -> None:
        self.http = client
        self.openapi = openapi

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        token: str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        cookies: dict[str, str] | None = None,
        client_ip: str | None = None,
    ) -> Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if key is not None:
            sent["x-api-key"] = key
        if content and not any(name.lower() == "content-type" for name in sent):
            # Raw bytes are sent as a JSON client sends them: malformed JSON, not another type.
            sent["content-type"] = "application/json"
        response = self.http.request(
            method,
            path,
            json=json,
            content=content,
            headers=sent,
            params=params,
            cookies=cookies,
            client_ip=client_ip,
        )
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            self.openapi.check_stream(method, path, response.text)
            return response
        body = response.json()
        self.openapi.check(method, path, response.status_code, body)
        return response

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def config() -> WorldConfig:
    """The default world's config; override the fixture to test another profile."""
    return WorldConfig(seed=7)


@pytest.fixture
def worlds(config: WorldConfig) -> Worlds:
    return Worlds(config)


@pytest.fixture
def world(worlds: Worlds) -> World:
    return worlds.default


@pytest.fixture
def client(worlds: Worlds) -> Iterator[ApiClient]:
    http = InProcessClient(create_app(worlds))
    document = http.get("/openapi.json").json()
    yield ApiClient(http, OpenApi(document))
    http.close()


@pytest.fixture
def trader(world: World) -> NewAccount:
    """A user with 100,000 USDC in every bucket, a session, a trade key and a read key."""
    return world.create_account(
        balances=FUNDS,
        api_keys=[KeyRequest("trade-bot", Scope.TRADE), KeyRequest("reader", Scope.READ)],
    )


@pytest.fixture
def other(world: World) -> NewAccount:
    """A second funded user, for counterparties and isolation tests."""
    return world.create_account(balances=FUNDS, api_keys=[KeyRequest("other-bot", Scope.TRADE)])


def trade_key(account: NewAccount) -> str:
    return next(secret for key, secret in account.api_keys if key.scope is Scope.TRADE)


def read_key(account: NewAccount) -> str:
    return next(secret for key, secret in account.api_keys if key.scope is Scope.READ)


def assert_error(response: Response, status: int, code: str, field: str | None = None) -> None:
    """The catalog's error body with this status and code (and `details.field`)."""
    body = response.json()
    assert response.status_code == status, body
    assert body["error"] == body["code"] == code, body
    if field is not None:
        assert body.get("details", {}).get("field") == field, body


def atm_call(world: World) -> MarketSpec:
    """The BTC 68000 call of the first expiry at least three days away (premium tick 0.01,
    size step 0.01)."""
    now = world.exchange.now_ms
    return next(
        spec
        for spec in world.exchange.catalog.options("BTC")
        if spec.strike == 68000
        and spec.option_type is OptionType.CALL
        and (spec.expiry_ms or 0) > now + 3 * 86_400_000
    )
