"""The same seed and the same requests give the same frames on every stream, byte for byte:
a scripted session (trades, an option trade, a transfer, a mark and an index move, a funding
payment and a clock advance) recorded on all six streams at once, twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ocx_sim.app import create_app
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.streams import endpoints
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import WorldConfig, Worlds
from tests.api.conftest import atm_call
from tests.streams.conftest import PERP

FUNDS = {Bucket.PERPS: Decimal(100_000), Bucket.OPTIONS: Decimal(100_000)}


def session() -> dict[str, list[bytes]]:
    worlds = Worlds(WorldConfig(seed=11))
    world = worlds.default
    http = InProcessClient(create_app(worlds))
    alice, bob = world.create_account(balances=FUNDS), world.create_account(balances=FUNDS)
    call = atm_call(world).id
    streams = {
        "book": endpoints.subscribe_book(world, {"marketId": PERP}),
        "board": endpoints.subscribe_board(world, {}),
        "user": endpoints.subscribe_user(world, alice.user_id, {}),
        "perps events": endpoints.subscribe_events(world, alice.user_id, {"marketId": PERP}),
        "options events": endpoints.subscribe_events(
            world, alice.user_id, {"marketId": call}, options=True
        ),
        "balances": endpoints.subscribe_balances(world, alice.user_id),
    }

    def post(path: str, body: Any, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = http.post(path, json=body, headers=headers)
        assert answer.status_code in (200, 201), (path, answer.json())

    order = {"marketId": PERP, "quantity": "0.5000"}
    post("/perps/orders", {**order, "side": "sell", "price": "68000.00"}, bob.session_token)
    post("/perps/orders", {**order, "side": "buy", "type": "market"}, alice.session_token)
    option = {"marketId": call, "quantity": "1.00"}
    post("/orders", {**option, "side": "sell", "price": "2500.00"}, bob.session_token)
    post("/orders", {**option, "side": "buy", "price": "2500.00"}, alice.session_token)
    transfer = {"from": "perps", "to": "wallet", "amount": "100"}
    post("/wallet/transfer", transfer, alice.session_token)
    post(f"/_sim/markets/{PERP}/mark", {"price": "68500.00"})
    post(f"/_sim/markets/{PERP}/index", {"price": "68400.00"})  # the board moves with it
    post("/_sim/clock/advance", {"ms": 8 * 3_600_000})  # a funding boundary, the board's decay
    http.close()
    return {name: [frame.data for frame in s.take()] for name, s in streams.items()}


def test_the_same_seed_and_requests_give_byte_identical_frames_on_every_stream() -> None:
    first = session()

    assert {name: len(frames) > 2 for name, frames in first.items()} == dict.fromkeys(first, True)
    assert session() == first
