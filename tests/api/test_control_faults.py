"""Fault injection (docs/control-api.md "Faults"): the rules, what each action does to an OCX
request, and the control endpoints that add, list and remove them. In-process, every answer checked
against /openapi.json; the last tests drop connections over a real uvicorn socket."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import pickle
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from ocx_sim.app import create_app
from ocx_sim.auth.keys import Scope
from ocx_sim.auth.policy import Profile
from ocx_sim.errors import OcxError
from ocx_sim.testing.client import Response
from ocx_sim.worlds import NewAccount, World, WorldConfig, Worlds
from ocx_sim.worlds.faults import FaultAction, FaultMatch, FaultType
from tests.api.conftest import FUNDS, ApiClient, assert_error, read_key, trade_key

ORDER = {"marketId": "BTC-PERP", "side": "buy", "quantity": "0.1", "price": "68000"}
OUTAGE = {"type": "error", "status": 503, "code": "UPSTREAM_DEGRADED"}


def add(client: ApiClient, match: dict[str, Any], action: dict[str, Any], **extra: Any) -> Any:
    response = client.post("/_sim/faults", json={"match": match, "action": action, **extra})
    assert response.status_code == 201, response.json()
    return response.json()


def place(client: ApiClient, account: NewAccount, base: str = "") -> Response:
    return client.post(base + "/perps/orders", json=ORDER, token=account.session_token)


def orders_of(client: ApiClient, account: NewAccount) -> list[str]:
    response = client.get("/perps/orders", token=account.session_token)
    assert response.status_code == 200, response.json()
    return [order["id"] for order in response.json()]


def statuses(client: ApiClient, path: str, count: int) -> list[int]:
    return [client.get(path).status_code for _ in range(count)]


# -- adding, listing, removing ----------------------------------------------------------------


def test_adding_a_fault_answers_201_with_the_rule_and_one_request_remaining(
    client: ApiClient,
) -> None:
    body = add(client, {"method": "POST", "path": "/perps/orders"}, OUTAGE)

    assert body == {
        "faultId": body["faultId"],
        "match": {"method": "POST", "path": "/perps/orders", "account": None},
        "action": {
            "type": "error",
            "status": 503,
            "code": "UPSTREAM_DEGRADED",
            "message": None,
            "ms": None,
            "drop": False,
            "afterFrames": None,
        },
        "times": 1,
        "probability": None,
        "remaining": 1,
    }


def test_an_ambiguous_fault_shows_the_504_it_will_answer(client: ApiClient) -> None:
    body = add(client, {"method": "*", "path": "/perps/orders"}, {"type": "ambiguous"})

    action = body["action"]
    assert (action["status"], action["code"], action["drop"]) == (504, "UPSTREAM_DEGRADED", False)
    assert "may have been processed" in action["message"]


def test_listing_shows_the_rules_in_force_in_creation_order(client: ApiClient) -> None:
    first = add(client, {"method": "GET", "path": "/perps/markets"}, {"type": "drop"}, times=3)
    second = add(client, {"method": "*", "path": "/perps/orders/{id}/cancel"}, {"type": "drop"})

    listed = client.get("/_sim/faults").json()["faults"]

    assert [f["faultId"] for f in listed] == [first["faultId"], second["faultId"]]
    assert listed[0] == {k: first[k] for k in ("faultId", "match", "action", "remaining")}
    assert listed[0]["action"]["drop"] is True


def test_a_removed_fault_no_longer_applies(client: ApiClient) -> None:
    fault = add(client, {"method": "GET", "path": "/perps/markets"}, OUTAGE, times=None)

    response = client.delete(f"/_sim/faults/{fault['faultId']}")

    assert response.json() == {"faultId": fault["faultId"], "deleted": True}
    assert client.get("/perps/markets").status_code == 200
    assert client.get("/_sim/faults").json() == {"faults": []}


def test_removing_an_unknown_fault_is_404(client: ApiClient) -> None:
    assert_error(client.delete("/_sim/faults/01JNOSUCHFAULT000000000000"), 404, "NOT_FOUND")


def body_of(match: Any = None, action: Any = None, **extra: Any) -> dict[str, Any]:
    """A fault body: GET /perps/markets and OUTAGE unless given."""
    match = {"method": "GET", "path": "/perps/markets"} if match is None else match
    return {"match": match, "action": OUTAGE if action is None else action, **extra}


def at(path: Any, **fields: Any) -> dict[str, Any]:
    return {"method": "GET", "path": path, **fields}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": OUTAGE}, "match"),
        (body_of(match="/perps/orders"), "match"),
        (body_of(match={"path": "/perps/orders"}), "match.method"),
        (body_of(match={"method": "post", "path": "/perps/orders"}), "match.method"),
        (body_of(match={"method": "TRACE", "path": "/perps/orders"}), "match.method"),
        (body_of(match={"method": "GET"}), "match.path"),
        (body_of(match=at("perps/orders")), "match.path"),
        (body_of(match=at("/perps/orders/")), "match.path"),
        (body_of(match=at("/perps//orders")), "match.path"),
        (body_of(match=at("/perps/orders?status=open")), "match.path"),
        (body_of(match=at("/perps/orders/{id")), "match.path"),
        (body_of(match=at("/_sim/faults")), "match.path"),
        (body_of(match=at("/w/01JNOWORLD/perps/markets")), "match.path"),
        (body_of(match=at(5)), "match.path"),
        (body_of(match=at("/perps/orders", account="bob")), "match.account"),
        ({"match": at("/perps/orders")}, "action"),
        (body_of(action={}), "action.type"),
        (body_of(action={"type": "slow"}), "action.type"),
        (body_of(action={"type": "error", "code": "NOT_FOUND"}), "action.status"),
        (body_of(action={"type": "error", "status": 503}), "action.code"),
        (body_of(action={**OUTAGE, "code": "broken"}), "action.code"),
        (body_of(action={**OUTAGE, "code": "Not_Found"}), "action.code"),
        (body_of(action={**OUTAGE, "code": "1_BAD"}), "action.code"),
        (body_of(action={**OUTAGE, "code": "_BAD"}), "action.code"),
        (body_of(action={**OUTAGE, "code": "BAD-CODE"}), "action.code"),
        (body_of(action={**OUTAGE, "code": "BAD CODE"}), "action.code"),
        (body_of(action={**OUTAGE, "code": "A" * 65}), "action.code"),
        (body_of(action={**OUTAGE, "code": ""}), "action.code"),
        (body_of(action={**OUTAGE, "code": 503}), "action.code"),
        (body_of(action={"type": "ambiguous", "code": "lower"}), "action.code"),
        (body_of(action={**OUTAGE, "status": 399}), "action.status"),
        (body_of(action={**OUTAGE, "status": 600}), "action.status"),
        (body_of(action={**OUTAGE, "status": True}), "action.status"),
        (body_of(action={**OUTAGE, "status": 200}), "action.status"),
        (body_of(action={**OUTAGE, "status": "503"}), "action.status"),
        (body_of(action={**OUTAGE, "message": ""}), "action.message"),
        (body_of(action={**OUTAGE, "ms": 5}), "action.ms"),
        (body_of(action={**OUTAGE, "ms": 0}), "action.ms"),
        (body_of(action={"type": "latency"}), "action.ms"),
        (body_of(action={"type": "latency", "ms": 0}), "action.ms"),
        (body_of(action={"type": "latency", "ms": 1.5}), "action.ms"),
        (body_of(action={"type": "latency", "ms": 10**6}), "action.ms"),
        (body_of(action={"type": "drop", "status": 503}), "action.status"),
        (body_of(action={"type": "ambiguous", "drop": "yes"}), "action.drop"),
        (body_of(action={"type": "ambiguous", "status": 502, "drop": True}), "action.drop"),
        (body_of(times=0), "times"),
        (body_of(times=2.5), "times"),
        (body_of(times=True), "times"),
        (body_of(probability=0), "probability"),
        (body_of(probability=1.5), "probability"),
        (body_of(probability="0.5"), "probability"),
        ([], "body"),
    ],
)
def test_a_bad_fault_is_400_naming_the_field_and_adds_nothing(
    client: ApiClient, body: Any, field: str
) -> None:
    assert_error(client.post("/_sim/faults", json=body), 400, "VALIDATION_ERROR", field)
    assert client.get("/_sim/faults").json() == {"faults": []}


def test_reading_the_journal_with_a_bad_since_is_400_naming_since(client: ApiClient) -> None:
    assert_error(client.get("/_sim/journal?since=-1"), 400, "VALIDATION_ERROR", "since")


# -- what each action does --------------------------------------------------------------------


def test_an_error_fault_answers_its_error_and_touches_nothing(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    add(client, {"method": "POST", "path": "/perps/orders"}, {**OUTAGE, "message": "LB down"})
    events_before = world.exchange.events.last_seq

    response = place(client, trader)

    assert_error(response, 503, "UPSTREAM_DEGRADED")
    assert response.json()["message"] == "LB down"
    assert "x-ratelimit-limit" not in response.headers
    assert world.exchange.events.last_seq == events_before
    assert orders_of(client, trader) == []
    assert place(client, trader).headers["x-ratelimit-remaining"] == "119"


def test_an_error_fault_takes_a_status_other_than_its_codes(client: ApiClient) -> None:
    add(client, {"method": "GET", "path": "/perps/markets"}, {**OUTAGE, "status": 502})

    assert_error(client.get("/perps/markets"), 502, "UPSTREAM_DEGRADED")


@pytest.mark.parametrize("code", ["CIRCUIT_OPEN", "X", "A" * 64, "E2E_TIMEOUT_9"])
def test_an_error_fault_answers_any_upper_case_code_outside_the_catalog(
    client: ApiClient, code: str
) -> None:
    action = {"type": "error", "status": 599, "code": code, "message": "try later"}
    added = add(client, {"method": "GET", "path": "/perps/markets"}, action)

    response = client.get("/perps/markets")

    assert added["action"]["code"] == code
    assert response.status_code == 599
    assert response.json() == {"error": code, "code": code, "message": "try later"}


@pytest.mark.parametrize(
    ("status", "message"),
    [(503, "Service Unavailable"), (418, "I'm a Teapot"), (599, "Request failed")],
)
def test_an_error_fault_outside_the_catalog_without_a_message_answers_a_generic_one(
    client: ApiClient, status: int, message: str
) -> None:
    action = {"type": "error", "status": status, "code": "CIRCUIT_OPEN"}
    add(client, {"method": "GET", "path": "/perps/markets"}, action)

    # Unchecked against the document: a fault's answer is the load balancer's, outside what
    # an operation lists (a 404 of /perps/markets is otherwise only an unknown world).
    body = client.http.get("/perps/markets").json()

    assert body == {"error": "CIRCUIT_OPEN", "code": "CIRCUIT_OPEN", "message": message}


def test_an_error_fault_with_a_catalog_code_and_no_message_answers_the_catalogs_message(
    client: ApiClient,
) -> None:
    action = {"type": "error", "status": 429, "code": "ORDER_RATE_LIMIT"}
    add(client, {"method": "GET", "path": "/perps/markets"}, action)

    assert client.get("/perps/markets").json()["message"] == "Order rate limit exceeded"


def test_an_ambiguous_fault_may_answer_a_code_outside_the_catalog(
    client: ApiClient, trader: NewAccount
) -> None:
    action = {"type": "ambiguous", "status": 502, "code": "BAD_GATEWAY"}
    add(client, {"method": "POST", "path": "/perps/orders"}, action)

    response = place(client, trader)

    assert response.status_code == 502
    assert response.json() == {
        "error": "BAD_GATEWAY",
        "code": "BAD_GATEWAY",
        "message": "Bad Gateway",
    }
    assert len(orders_of(client, trader)) == 1


@pytest.mark.parametrize("config", [WorldConfig(seed=7, profile=Profile.GITBOOK)], ids=["gitbook"])
@pytest.mark.parametrize(
    ("status", "family"),
    [(401, "AuthError"), (404, "ResourceError"), (422, "RequestError"), (599, "ServerError")],
)
def test_under_gitbook_a_code_outside_the_catalog_takes_its_statuses_family(
    client: ApiClient, status: int, family: str
) -> None:
    action = {"type": "error", "status": status, "code": "CIRCUIT_OPEN"}
    add(client, {"method": "GET", "path": "/perps/markets"}, action)

    # Unchecked against the document: a fault's answer is the load balancer's, outside what
    # an operation lists (a 404 of /perps/markets is otherwise only an unknown world).
    body = client.http.get("/perps/markets").json()

    assert (body["error"], body["code"]) == (family, "CIRCUIT_OPEN")


def test_an_error_fault_answers_before_credentials_are_checked(
    client: ApiClient, trader: NewAccount
) -> None:
    add(client, {"method": "POST", "path": "/perps/orders"}, OUTAGE, times=2)

    anonymous = client.post("/perps/orders", json=ORDER)
    refused_key = client.post("/perps/orders", json=ORDER, key=trade_key(trader))

    assert_error(anonymous, 503, "UPSTREAM_DEGRADED")
    assert_error(refused_key, 503, "UPSTREAM_DEGRADED")
    assert_error(client.post("/perps/orders", json=ORDER), 401, "UNAUTHENTICATED")


def test_an_error_fault_marks_no_api_key_used(client: ApiClient, trader: NewAccount) -> None:
    add(client, {"method": "GET", "path": "/perps/orders"}, OUTAGE)
    key = next(key for key, _ in trader.api_keys if key.scope is Scope.READ)

    assert_error(client.get("/perps/orders", key=read_key(trader)), 503, "UPSTREAM_DEGRADED")
    assert key.last_used_at is None
    assert client.get("/perps/orders", key=read_key(trader)).status_code == 200
    assert key.last_used_at is not None


def test_an_ambiguous_fault_commits_the_order_yet_answers_504(
    client: ApiClient, trader: NewAccount
) -> None:
    add(client, {"method": "POST", "path": "/perps/orders"}, {"type": "ambiguous"})

    response = place(client, trader)

    assert_error(response, 504, "UPSTREAM_DEGRADED")
    assert "x-ratelimit-limit" not in response.headers
    assert len(orders_of(client, trader)) == 1


def test_an_ambiguous_fault_may_drop_the_connection_after_committing(
    client: ApiClient, trader: NewAccount
) -> None:
    add(client, {"method": "POST", "path": "/perps/orders"}, {"type": "ambiguous", "drop": True})

    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        place(client, trader)

    assert len(orders_of(client, trader)) == 1


def test_a_drop_fault_closes_the_connection_and_places_nothing(
    client: ApiClient, trader: NewAccount
) -> None:
    add(client, {"method": "POST", "path": "/perps/orders"}, {"type": "drop"})

    with pytest.raises(httpx.RemoteProtocolError):
        place(client, trader)

    assert orders_of(client, trader) == []


def test_a_latency_fault_answers_normally_ms_later(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    add(client, {"method": "POST", "path": "/perps/orders"}, {"type": "latency", "ms": 30})

    response = place(client, trader)

    assert response.status_code == 200
    assert response.headers["x-ratelimit-remaining"] == "119"
    assert world.journal.entries()[-1].latency_ms >= 30
    assert orders_of(client, trader) == [response.json()["id"]]


# -- which requests a rule hits ---------------------------------------------------------------


def test_times_counts_the_requests_hit_then_the_rule_is_gone(client: ApiClient) -> None:
    fault = add(client, {"method": "GET", "path": "/perps/markets"}, OUTAGE, times=2)

    first = client.get("/perps/markets").status_code
    remaining = client.get("/_sim/faults").json()["faults"][0]["remaining"]
    rest = statuses(client, "/perps/markets", 2)

    assert (first, remaining, rest) == (503, 1, [503, 200])
    assert client.get("/_sim/faults").json() == {"faults": []}
    assert_error(client.delete(f"/_sim/faults/{fault['faultId']}"), 404, "NOT_FOUND")


def test_times_null_hits_every_request_until_removed(client: ApiClient) -> None:
    fault = add(client, {"method": "GET", "path": "/perps/markets"}, OUTAGE, times=None)

    assert fault["times"] is fault["remaining"] is None
    assert statuses(client, "/perps/markets", 5) == [503] * 5


def test_rules_are_tried_in_creation_order_and_the_first_match_applies(
    client: ApiClient,
) -> None:
    add(client, {"method": "GET", "path": "/perps/markets"}, {**OUTAGE, "status": 502})
    add(client, {"method": "*", "path": "/perps/markets"}, {**OUTAGE, "status": 503})

    assert statuses(client, "/perps/markets", 3) == [502, 503, 200]


def test_a_placeholder_matches_any_one_segment(
    client: ApiClient, world: World, trader: NewAccount
) -> None:
    add(client, {"method": "POST", "path": "/perps/orders/{id}/cancel"}, OUTAGE, times=None)
    order_id = place(client, trader).json()["id"]

    cancel = client.post(f"/perps/orders/{order_id}/cancel", token=trader.session_token)
    other_path = client.post("/perps/orders/cancel-all", token=trader.session_token, json={})

    assert_error(cancel, 503, "UPSTREAM_DEGRADED")
    assert other_path.status_code == 200
    assert world.exchange.open_orders(trader.user_id) == []


def test_a_placeholder_never_matches_an_empty_segment(world: World) -> None:
    match = FaultMatch("POST", "/perps/orders/{id}/cancel")
    world.faults.add(match, FaultAction(FaultType.DROP), times=None)

    assert world.faults.hit("POST", "/perps/orders//cancel") is None
    assert world.faults.hit("POST", "/perps/orders/01J/cancel") is not None


def test_a_rule_matches_only_its_method_unless_star(client: ApiClient) -> None:
    add(client, {"method": "POST", "path": "/perps/markets"}, OUTAGE)
    assert client.get("/perps/markets").status_code == 200

    add(client, {"method": "*", "path": "/perps/markets"}, OUTAGE)
    assert client.get("/perps/markets").status_code == 503


@pytest.mark.parametrize("by", ["user id", "wallet in upper case"])
def test_an_account_rule_hits_only_that_account(
    client: ApiClient, trader: NewAccount, other: NewAccount, by: str
) -> None:
    account = trader.user_id if by == "user id" else "0x" + trader.wallet_address[2:].upper()
    add(client, {"method": "POST", "path": "/perps/orders", "account": account}, OUTAGE)

    assert place(client, other).status_code == 200
    assert_error(place(client, trader), 503, "UPSTREAM_DEGRADED")


def test_an_account_rule_never_hits_an_anonymous_caller(
    client: ApiClient, trader: NewAccount
) -> None:
    add(client, {"method": "*", "path": "/perps/orders", "account": trader.user_id}, OUTAGE)

    assert_error(client.post("/perps/orders", json=ORDER), 401, "UNAUTHENTICATED")
    assert client.get("/_sim/faults").json()["faults"][0]["remaining"] == 1


def test_control_paths_are_never_faulted(client: ApiClient) -> None:
    add(client, {"method": "*", "path": "/{area}/{name}"}, OUTAGE, times=None)

    assert client.get("/_sim/clock").status_code == 200
    assert client.get("/perps/markets").status_code == 503


def probability_hits(client: ApiClient, seed: int, probability: float = 0.5) -> list[int]:
    """Which of 40 market-list requests a probabilistic rule hits, in a new world on `seed`."""
    base = client.post("/_sim/worlds", json={"seed": seed}).json()["baseUrl"]
    rule = {"match": {"method": "GET", "path": "/perps/markets"}, "action": OUTAGE}
    client.post(base + "/_sim/faults", json={**rule, "times": None, "probability": probability})
    return [i for i, s in enumerate(statuses(client, base + "/perps/markets", 40)) if s == 503]


def test_probability_is_drawn_from_the_worlds_seed(client: ApiClient) -> None:
    hits = probability_hits(client, seed=11)

    assert 5 < len(hits) < 35
    assert probability_hits(client, seed=11) == hits
    assert probability_hits(client, seed=12) != hits


def test_a_probability_of_one_hits_every_request(client: ApiClient) -> None:
    assert len(probability_hits(client, seed=11, probability=1)) == 40


def test_faults_and_their_draws_move_none_of_the_worlds_ids(client: ApiClient) -> None:
    def first_order_id(with_faults: bool) -> str:
        base = client.post("/_sim/worlds", json={"seed": 5}).json()["baseUrl"]
        account = client.post(base + "/_sim/accounts", json={"balances": {"perps": "5000"}})
        session = account.json()["sessionToken"]
        if with_faults:
            rule = {"match": {"method": "GET", "path": "/perps/markets"}, "action": OUTAGE}
            client.post(base + "/_sim/faults", json={**rule, "times": None, "probability": 0.5})
            assert 503 in statuses(client, base + "/perps/markets", 10)
        # A new millisecond: the next id draws a fresh random tail.
        client.post(base + "/_sim/clock/advance", json={"ms": 1})
        order = client.post(base + "/perps/orders", json=ORDER, token=session)
        return str(order.json()["id"])

    assert first_order_id(with_faults=True) == first_order_id(with_faults=False)


def test_a_fault_belongs_to_its_world_and_matches_paths_without_the_prefix(
    client: ApiClient,
) -> None:
    base = client.post("/_sim/worlds", json={}).json()["baseUrl"]
    response = client.post(
        base + "/_sim/faults",
        json={"match": {"method": "GET", "path": "/perps/markets"}, "action": OUTAGE},
    )
    assert response.status_code == 201

    assert client.get("/perps/markets").status_code == 200
    assert client.get(base + "/perps/markets").status_code == 503


def test_a_worlds_rules_copy_with_it_and_draw_on_as_the_original(world: World) -> None:
    match = FaultMatch("GET", "/perps/markets")
    world.faults.add(match, FaultAction(FaultType.DROP), times=None, probability=0.5)

    def hits(target: World) -> list[bool]:
        return [target.faults.hit("GET", "/perps/markets") is not None for _ in range(30)]

    deep, pickled = copy.deepcopy(world), pickle.loads(pickle.dumps(world))

    assert hits(world) == hits(deep) == hits(pickled)


def test_the_rules_refuse_what_the_endpoint_refuses_for_a_loader(world: World) -> None:
    action = FaultAction("latency", ms=-5)  # type: ignore[arg-type]  # as YAML would give it

    with pytest.raises(OcxError, match=r"action\.ms") as refused:
        world.faults.add(FaultMatch("GET", "/perps/markets"), action)

    assert refused.value.details == {"field": "action.ms"}
    assert len(world.faults) == 0


# -- over a real socket -----------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.asynccontextmanager
async def _served(http: str, faults: list[dict[str, Any]]) -> AsyncIterator[tuple[World, int]]:
    """A world with `faults` added, served on a free port by uvicorn's `http` implementation;
    nothing may be logged as an error meanwhile."""
    worlds = Worlds(WorldConfig(seed=3))
    world = worlds.default
    for fault in faults:
        world.faults.add(FaultMatch(**fault["match"]), FaultAction(**fault["action"]))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(worlds), http=http, lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    records = _Records()
    logging.getLogger("uvicorn.error").addHandler(records)  # after Config: it configures logging
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            await asyncio.sleep(0.001)
        yield world, port
    finally:
        server.should_exit = True
        await task
        logging.getLogger("uvicorn.error").removeHandler(records)
    assert not [r for r in records.records if r.levelno >= logging.ERROR], records.records


async def _over_uvicorn(http: str, faults: list[dict[str, Any]]) -> tuple[list[Any], bytes, int]:
    """Serve a world with `faults`; place an order through httpx (its exception or answer),
    then send a raw request (the bytes the server sent back); answers both and the number of
    orders the world has."""
    async with _served(http, faults) as (world, port):
        trader = world.create_account(balances=FUNDS)
        headers = {"Authorization": f"Bearer {trader.session_token}"}
        outcomes: list[Any] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
            try:
                outcomes.append(await c.post("/perps/orders", json=ORDER))
            except httpx.RemoteProtocolError as error:
                outcomes.append(error)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /perps/markets HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    return outcomes, raw, len(world.exchange.orders(trader.user_id))


DROPS = [
    {"match": {"method": "POST", "path": "/perps/orders"}, "action": {"type": "drop"}},
    {"match": {"method": "GET", "path": "/perps/markets"}, "action": {"type": "drop"}},
]
AMBIGUOUS_DROP = {"type": FaultType.AMBIGUOUS, "drop": True}


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_a_drop_closes_a_real_socket_without_a_status_line(http: str) -> None:
    outcomes, raw, orders = asyncio.run(_over_uvicorn(http, DROPS))

    assert isinstance(outcomes[0], httpx.RemoteProtocolError)
    assert raw == b""
    assert orders == 0


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_an_ambiguous_drop_commits_the_order_and_closes_a_real_socket(http: str) -> None:
    ambiguous = {"match": {"method": "POST", "path": "/perps/orders"}, "action": AMBIGUOUS_DROP}

    outcomes, raw, orders = asyncio.run(_over_uvicorn(http, [ambiguous, DROPS[1]]))

    assert isinstance(outcomes[0], httpx.RemoteProtocolError)
    assert raw == b""
    assert orders == 1


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_a_drop_waits_for_a_body_sent_apart_from_its_headers_then_closes_cleanly(
    http: str,
) -> None:
    # A socket closed while input is still arriving is reset, and the client would see
    # ECONNRESET instead of a closed connection: the drop takes the whole request in first.
    async def exchange_bytes() -> tuple[bool, bytes]:
        async with _served(http, DROPS[:1]) as (world, port):
            trader = world.create_account(balances=FUNDS)
            body = json.dumps(ORDER).encode()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /perps/orders HTTP/1.1\r\nHost: x\r\n"
                + f"Authorization: Bearer {trader.session_token}\r\n".encode()
                + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            )
            await writer.drain()
            try:
                await asyncio.wait_for(reader.read(), 0.3)
                waited = False
            except TimeoutError:
                waited = True
            writer.write(body)
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), 5)
            writer.close()
        return waited, raw

    waited, raw = asyncio.run(exchange_bytes())

    assert waited
    assert raw == b""
