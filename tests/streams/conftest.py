"""The API tests' fixtures (a world, its in-process client, funded accounts) for the streams, and
the helpers the stream tests share: orders over HTTP, a stream's frames parsed."""

from __future__ import annotations

import json
from typing import Any

from ocx_sim.streams.hub import Frame, Subscriber
from ocx_sim.worlds import NewAccount
from tests.api.conftest import ApiClient, client, config, other, trader, world, worlds

__all__ = ["client", "config", "other", "trader", "world", "worlds"]

PERP = "BTC-PERP"


def order(
    client: ApiClient,
    account: NewAccount,
    side: str,
    price: str | None,
    size: str,
    market: str = PERP,
    path: str = "/perps/orders",
) -> Any:
    """A limit order (a market order when `price` is None); its answer."""
    body: dict[str, Any] = {"marketId": market, "side": side, "quantity": size}
    body.update({"type": "market"} if price is None else {"price": price})
    response = client.post(path, json=body, token=account.session_token)
    assert response.status_code == 200, response.json()
    return response.json()


def get(client: ApiClient, account: NewAccount, path: str) -> Any:
    response = client.get(path, token=account.session_token)
    assert response.status_code == 200, response.json()
    return response.json()


def post(client: ApiClient, path: str, body: Any, account: NewAccount | None = None) -> Any:
    token = None if account is None else account.session_token
    response = client.post(path, json=body, token=token)
    assert response.status_code == 200, response.json()
    return response.json()


def parsed(frames: list[Frame]) -> list[tuple[str, int | None, dict[str, Any]]]:
    return [(f.event, f.seq, json.loads(f.data)) for f in frames]


def payloads(stream: Subscriber) -> list[dict[str, Any]]:
    """The payloads of every frame waiting."""
    return [envelope["payload"] for _, _, envelope in parsed(stream.take())]
