"""One way every OCX endpoint is served: declare it, and `serve` does the gateway's work.

An `Endpoint` names its method, path (and aliases), handler, the credentials it accepts
(`auth.policy.Access`), whether it is on the rate-limited order path, and the JSON schemas of
its request and answer (for `/openapi.json`). `serve` runs each request through the gateway in
the order of docs/fidelity.md "Wire conventions" and "Rate limits":

1. the world: the default one, or `/w/{worldId}` (404 for an unknown world), then the body
   taken in whole before the world's lock (gateway/body.py: 413 over 1 MiB, 415 when it is
   not sent as JSON);
2. credentials and the key policy (401/403);
3. the world's fault rules (worlds/faults.py), on OCX paths only;
4. invite gating (403), then the order-path rate limit (429), whose headers every order-path
   answer carries;
5. the JSON body (400 naming `body` when it is not a JSON object);
6. the handler: parse (400 naming the field), one engine call, render.

Every `OcxError` becomes the catalog's error body; anything else is logged and answered as
500 INTERNAL_ERROR without a traceback. Handlers return data (rendered with orjson), or a
`Reply` when they set a status or cookie. Every answer of a world is written to its journal
(worlds/journal.py), `/_sim` ones included.

Faults model a failure in front of the exchange (a load balancer, the network), so:
- they are matched once the caller is known (a rule may name an account) but before anything
  the exchange does: an `error` or `drop` fault answers even a caller whose credentials would
  be refused, never counts against the rate limit, never marks an API key used, and never runs
  the handler; a rule naming an account only matches a caller authenticated as it (public
  endpoints see every caller as anonymous);
- `latency` and `ambiguous` run the request fully (rate limit included); `latency` then holds
  the exchange's answer back (`asyncio.sleep`), headers and all, and `ambiguous` replaces it
  with the fault's error (or a drop) without the rate-limit headers: the load balancer's
  answer never carries the exchange's;
- `/_sim` paths are never faulted, so a test can always remove a fault.

A dropped connection (`Dropped`): ASGI has no message for "close without answering", and
uvicorn answers 500 for an app that raises or returns before `http.response.start`. It marks
the response started *before* validating the start message, so a start whose status it cannot
send (0) leaves nothing written; the `ConnectionDropped` raised next passes Starlette's error
middleware (which sees the response started and sends no 500) and uvicorn, seeing a started
response, closes the socket: the client gets no status line, exactly like a lost connection
(httpx: `RemoteProtocolError`). tests/api/test_control_faults.py proves it over a real socket
with both of uvicorn's HTTP implementations; the in-process client turns `ConnectionDropped`
into the same `httpx.RemoteProtocolError`. uvicorn's traceback for it is filtered out of its
log (`_HideDrops`); the gateway logs one line instead (uvicorn's access log shows status 0).

A stream (an answer that is `Streaming`, streams/sse.py) is matched a second time, against
the stream rules only (worlds/faults.py), once its handler has opened it; the rule's action
goes to the stream, which applies it frame by frame. Its journal entry is written when the
stream ends, not when it opens: `latencyMs` is then the time the connection was open, and
`frames` the frames sent.

The journal's `latencyMs` is read on the event loop's clock, the one a latency fault sleeps
on: real time, by design the one thing in an answer that differs between two runs.

One request of a world runs at a time (worlds/__init__.py): `serve` takes the world's lock for
everything but a latency fault's hold (which only delays an answer already made), and runs
the request at one instant (`World.held`: on a realtime clock, every timer due by it fired
first). A request that waited for the lock across its world's reset answers 409 WORLD_RESET,
across its deletion 404, never an answer from a world that is gone. A client that closes the
connection before its body arrived is journaled with status 499 CLIENT_CLOSED_REQUEST (the
answer is never sent) and logged on one line, without a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ocx_sim.auth.keys import ApiKey
from ocx_sim.auth.policy import Access, check_key
from ocx_sim.auth.ratelimit import Verdict
from ocx_sim.auth.sessions import COOKIE_NAME, SESSION_SECONDS
from ocx_sim.clock import WallClock
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.gateway.body import take_body
from ocx_sim.gateway.forwarded import client_address, scheme
from ocx_sim.gateway.responses import (
    JSON_TYPE,
    Piecewise,
    error_response,
    injected_error_body,
    json_response,
)
from ocx_sim.worlds import World, Worlds
from ocx_sim.worlds.faults import Fault, FaultAction, FaultType

log = logging.getLogger("ocx_sim.api")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Schema = Mapping[str, Any]
Handler = Callable[["Call"], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    response: Schema
    request: Schema | None = None
    query: Mapping[str, Schema] = field(default_factory=dict)
    """Query parameters: name → schema (all optional unless the schema says `required`)."""
    aliases: tuple[str, ...] = ()
    order_path: bool = False
    """Counted by the order-path rate limit (docs/fidelity.md "Rate limits")."""
    body_optional: bool = False
    tag: str = "ocx"
    status: int = 200
    media_type: str = "application/json"
    """What a success answers: JSON, or `text/event-stream` for a stream (streams/)."""
    errors: tuple[ErrorCode, ...] = ()
    """The catalog codes the handler itself can answer; gateway/openapi.py adds the gateway's
    (credentials, key policy, rate limit, body, unknown world) from the fields above."""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    @property
    def is_control(self) -> bool:
        """A /_sim endpoint: never faulted (docs/control-api.md "Faults")."""
        return self.path.startswith("/_sim/")


class Streaming(ABC):
    """Mixed into an answer that stays open and sends frames (streams/sse.py); the gateway
    hands it the stream fault its connection hit and learns, for the journal, when it ends."""

    @abstractmethod
    def inject(self, action: FaultAction) -> None:
        """Apply a stream fault to this stream."""

    @abstractmethod
    def when_done(self, callback: Callable[[int], None]) -> None:
        """Call `callback(frames sent)` once the stream has ended."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user, by a session or by one of their API keys."""

    user_id: str
    session_id: str | None = None
    key: ApiKey | None = None


@dataclass(slots=True)
class Reply:
    """A handler's answer when it needs more than 200 and a body."""

    body: Any
    status: int = 200
    cookies: dict[str, str | None] = field(default_factory=dict)
    """name → value to set, or None to clear."""


class Call:
    """One request on its way through an endpoint: the world, the caller and the body."""

    __slots__ = (
        "body",
        "body_refusal",
        "endpoint",
        "held_back_s",
        "principal",
        "raw",
        "request",
        "world",
        "worlds",
    )

    def __init__(self, request: Request, worlds: Worlds, world: World, endpoint: Endpoint) -> None:
        self.request = request
        self.worlds = worlds
        """The server's registry (for the control API's `/_sim/worlds`)."""
        self.world = world
        self.endpoint = endpoint
        self.principal: Principal | None = None
        self.body: dict[str, Any] = {}
        self.raw = b""
        """The request's body as it came (gateway/body.py), once the gateway has taken it."""
        self.body_refusal: OcxError | ClientDisconnect | None = None
        """Why the body could not be taken, if it could not (`_take_body`)."""
        self.held_back_s = 0.0
        """A latency fault's hold on the answer, in real seconds (after the world's lock)."""

    @property
    def exchange(self) -> Exchange:
        return self.world.exchange

    @property
    def user_id(self) -> str:
        """The caller's user id (the gateway has already refused anonymous callers)."""
        if self.principal is None:
            raise OcxError(ErrorCode.UNAUTHENTICATED)
        return self.principal.user_id

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query_params

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def client_ip(self) -> str | None:
        """The client's address: the connection's peer, or behind a trusted proxy the
        right-most untrusted `X-Forwarded-For` hop (gateway/forwarded.py). The server leaves
        the header alone (server.py), so it is read here or nowhere."""
        client = self.request.client
        peer = client.host if client is not None else None
        forwarded = self.request.headers.get("x-forwarded-for")
        return client_address(peer, forwarded, self.world.config.trusted_proxies)

    def over_https(self) -> bool:
        """Whether the client reached the server over https: the connection's scheme, or
        behind a trusted proxy its `X-Forwarded-Proto` (gateway/forwarded.py)."""
        client = self.request.client
        peer = client.host if client is not None else None
        connection = str(self.request.scope.get("scheme", "http"))
        forwarded = self.request.headers.get("x-forwarded-proto")
        return scheme(connection, peer, forwarded, self.world.config.trusted_proxies) == "https"


def credential(request: Request) -> tuple[str, str] | None:
    """("key", secret) or ("session", token) from the request, or None. The Authorization
    header wins over `x-api-key`, which wins over the session cookie (docs/fidelity.md
    "Sign-in, sessions and keys")."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise OcxError(ErrorCode.UNAUTHENTICATED, "Authorization must be 'Bearer <token>'")
        return ("key", token) if token.startswith("ocx_sk_") else ("session", token)
    api_key = request.headers.get("x-api-key")
    if api_key:
        return ("key", api_key)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        return ("session", cookie)
    return None


def authenticate(call: Call) -> Principal | None:
    endpoint, world = call.endpoint, call.world
    access = endpoint.access
    if access is Access.PUBLIC:
        return None
    found = credential(call.request) if access is not Access.OPTIONAL else _quiet(call.request)
    if found is None:
        if access is Access.OPTIONAL:
            return None
        raise OcxError(ErrorCode.UNAUTHENTICATED)
    kind, secret = found
    now = world.now_ms
    if kind == "session":
        try:
            user_id, session_id = world.sessions.verify(secret, now)
        except OcxError:
            if access is Access.OPTIONAL:
                return None
            raise
        if not world.exchange.has_user(user_id):
            if access is Access.OPTIONAL:
                return None
            raise OcxError(ErrorCode.UNAUTHENTICATED, "Session of an unknown user")
        return Principal(user_id, session_id=session_id)
    if access is Access.OPTIONAL:
        return None
    ip = call.client_ip()
    key = world.keys.authenticate(secret, ip, now)
    # Known from here on, even if the policy refuses the key: the refusal's answer shows the
    # user's rate-limit window.
    call.principal = Principal(key.user_id, key=key)
    check_key(access, world.config.profile, key.scope, endpoint.is_write)
    # The key's use is recorded by `serve` once no fault has taken the request.
    return call.principal


def _quiet(request: Request) -> tuple[str, str] | None:
    """`credential` for endpoints where a malformed one simply means anonymous."""
    try:
        return credential(request)
    except OcxError:
        return None


async def read_body(call: Call) -> dict[str, Any]:
    raw = call.raw
    if not raw:
        if call.endpoint.body_optional:
            return {}
        raise invalid("body", "a JSON object is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("body", "is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    return body


def unknown_world(world_id: str) -> OcxError:
    return OcxError(ErrorCode.NOT_FOUND, f"Unknown world {world_id!r}", {"worldId": world_id})


class ConnectionDropped(Exception):
    """Raised by a `Dropped` answer once its server has refused the start message: the way an
    ASGI app closes a connection without answering (see the module docstring)."""


_UNSENDABLE_STATUS = 0
"""A status no server can put on a status line (uvicorn's tables cover 100 to 599)."""


class Dropped(Response):
    """No answer at all: the connection is closed without a status line."""

    def __init__(self, fault_id: str) -> None:
        super().__init__(b"", _UNSENDABLE_STATUS)
        self.fault_id = fault_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The server's refusal, having written nothing, is the point.
        with suppress(Exception):
            await send({"type": "http.response.start", "status": _UNSENDABLE_STATUS, "headers": []})
        raise ConnectionDropped(f"fault {self.fault_id} dropped the connection")


class _HideDrops(logging.Filter):
    """uvicorn logs an app's exception with its traceback; a drop is no error of the app."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


# A filter stays on its logger whatever logging config uvicorn applies later (dictConfig
# replaces handlers, not filters), and hides nothing but drops.
logging.getLogger("uvicorn.error").addFilter(_HideDrops())


def serve(endpoint: Endpoint, worlds: Worlds) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint function for one `Endpoint` (at the root or under `/w/{id}`)."""

    async def run(request: Request) -> Response:
        world_id = request.path_params.get("world_id")
        world = worlds.default if world_id is None else worlds.get(world_id)
        if world is None:
            return error_response(unknown_world(str(world_id)))
        # The event loop's clock: the one a latency fault sleeps on (real time, for latencyMs).
        loop = asyncio.get_running_loop()
        started = loop.time()
        path: str = request.scope["path"]
        if world_id is not None:
            path = path[len(f"/w/{world_id}") :] or "/"
        call = Call(request, worlds, world, endpoint)
        # The body is in before the world is taken: a slow upload holds up no other request.
        await _take_body(call)
        resets = world.resets
        async with world.lock:
            # A request sees every timer due by its instant, whatever the ticker's lag.
            with world.held() as arrived_ms:
                stale = _stale(world, resets)
                if stale is not None:
                    response = error_response(stale, world.config.profile)
                else:
                    response = await _answer(call, path)
        if call.held_back_s:
            await asyncio.sleep(call.held_back_s)
        if isinstance(response, Streaming | Dropped):
            world.changed()
        else:
            # Open streams send what the request changed (streams/hub.py) once its answer is
            # written: the client gets on with its next request while the server fans the
            # change out. Nothing runs in between (writing an answer does not wait on the
            # event loop), so each command still makes frames of its own.
            response.background = BackgroundTask(_publish, world)
        journal = world.journal
        account = None if call.principal is None else call.principal.user_id
        if isinstance(response, Streaming):
            raw = call.raw if journal.keeps_bodies else None
            status = response.status_code

            def ended(frames: int) -> None:
                journal.record(
                    arrived_ms,
                    request.method,
                    path,
                    account,
                    status,
                    (loop.time() - started) * 1000,
                    (raw, None),
                    frames=frames,
                )

            response.when_done(ended)
            return response
        dropped = isinstance(response, Dropped)
        bodies = None
        if journal.keeps_bodies:
            bodies = (call.raw, None if dropped else _whole(response))
        journal.record(
            arrived_ms,
            request.method,
            path,
            account,
            None if dropped else response.status_code,
            (loop.time() - started) * 1000,
            bodies,
        )
        return response

    run.__name__ = endpoint.operation_id
    return run


def _whole(response: Response) -> bytes:
    return response.whole() if isinstance(response, Piecewise) else bytes(response.body)


async def _publish(world: World) -> None:
    world.changed()


async def _take_body(call: Call) -> None:
    """The request's whole body into `call.raw` (gateway/body.py), or why it was not taken into
    `call.body_refusal` (too big, not JSON, or the client gone), for `_answer` to answer."""
    try:
        call.raw = await take_body(call.request)
    except (OcxError, ClientDisconnect) as refusal:
        call.body_refusal = refusal


def _stale(world: World, resets: int) -> OcxError | None:
    """Why a request that waited for its world's lock must not run there: the world was
    deleted (404) or reset (409) meanwhile."""
    if world.deleted:
        return unknown_world(world.world_id)
    if world.resets != resets:
        return OcxError(ErrorCode.WORLD_RESET)
    return None


async def _answer(call: Call, path: str) -> Response:
    """The gateway's steps for one request (module docstring), faults included."""
    endpoint, world, request = call.endpoint, call.world, call.request
    verdict: Verdict | None = None
    fault: Fault | None = None
    try:
        if call.body_refusal is not None:
            raise call.body_refusal
        refusal: OcxError | None = None
        try:
            call.principal = authenticate(call)
        except OcxError as error:
            # A refused key is still a known caller (`authenticate` set the principal).
            refusal = error
        if world.faults and not endpoint.is_control:
            fault = _hit(call, path)
            if fault is not None:
                kind = fault.action.type
                if kind is FaultType.DROP:
                    # The whole request is in (`take_body`): a socket closed with unread input
                    # is reset (the client sees ECONNRESET, not a closed connection), and
                    # whether the body had arrived would be a race.
                    log.info("fault %s drops %s %s", fault.fault_id, request.method, path)
                    return Dropped(fault.fault_id)
                if kind is FaultType.ERROR:
                    return _fault_error(fault, world)
        if refusal is not None:
            raise refusal
        principal = call.principal
        if principal is not None and principal.key is not None:
            world.keys.record_use(principal.key, call.client_ip(), world.now_ms)
        if endpoint.order_path:
            user_id = call.user_id
            invites = world.config.invite_codes
            if invites is not None and user_id not in world.invited:
                raise OcxError(ErrorCode.INVITE_REQUIRED)
            verdict = world.limiter.hit(user_id, world.now_ms)
            if not verdict.allowed:
                raise OcxError(ErrorCode.ORDER_RATE_LIMIT, verdict.refusal(_speed(world)))
        if endpoint.request is not None:
            call.body = await read_body(call)
        result = await endpoint.handler(call)
        response = _render(result, call, endpoint.status)
        if isinstance(response, Streaming) and world.faults:
            stream_fault = _hit(call, path, stream=True)
            if stream_fault is not None:
                log.info("fault %s acts on the stream %s", stream_fault.fault_id, path)
                response.inject(stream_fault.action)
    except OcxError as error:
        if endpoint.order_path and verdict is None and call.principal is not None:
            verdict = world.limiter.peek(call.principal.user_id, world.now_ms)
        response = error_response(error, world.config.profile, verdict)
    except ClientDisconnect:
        log.info("the client closed %s %s before sending its body", request.method, path)
        response = error_response(OcxError(ErrorCode.CLIENT_CLOSED_REQUEST), world.config.profile)
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        response = error_response(OcxError(ErrorCode.INTERNAL_ERROR), world.config.profile)
    if fault is not None:
        action = fault.action
        if action.type is FaultType.AMBIGUOUS:
            # The request ran for real (an order is committed); the client learns nothing.
            if action.drops:
                log.info(
                    "fault %s drops %s %s after running it", fault.fault_id, request.method, path
                )
                return Dropped(fault.fault_id)
            return _fault_error(fault, world)
        if action.type is FaultType.LATENCY and action.ms is not None:
            # Slept by `serve` once the world's lock is released: it delays the answer only.
            call.held_back_s = action.ms / 1000
    if verdict is not None:
        response.headers.update(verdict.headers(_speed(world)))
    return response


def _speed(world: World) -> float | None:
    """A realtime clock's speed; None for a manual clock (docs/fidelity.md "Rate limits")."""
    clock = world.clock
    return clock.speed if isinstance(clock, WallClock) else None


def _hit(call: Call, path: str, *, stream: bool = False) -> Fault | None:
    principal = call.principal
    if principal is None:
        return call.world.faults.hit(call.request.method, path, stream=stream)
    user_id = principal.user_id
    wallet = call.exchange.user(user_id).wallet_address
    return call.world.faults.hit(call.request.method, path, user_id, wallet, stream=stream)


def _fault_error(fault: Fault, world: World) -> Response:
    """The fault's error in the catalog's body shape, with the fault's status and code (any
    code, the catalog's or not)."""
    action = fault.action
    code, status = action.answer_code, action.answer_status
    assert code is not None and status is not None  # FaultAction.check guarantees both
    body = injected_error_body(code, status, action.answer_message, world.config.profile)
    return json_response(body, status)


def _render(result: Any, call: Call, default_status: int) -> Response:
    if isinstance(result, Response):
        return result
    if not isinstance(result, Reply):
        return Response(orjson.dumps(result), default_status, media_type=JSON_TYPE)
    response = Response(orjson.dumps(result.body), result.status, media_type=JSON_TYPE)
    path = call.world.cookie_path
    # `Secure` only over https (docs/fidelity.md "Sign-in, sessions and keys"): a cookie jar
    # never sends a Secure cookie back to an http:// URL, which would sign every such client
    # out of the sandbox at once.
    secure = call.over_https()
    for name, value in result.cookies.items():
        if value is None:
            # Starlette's delete_cookie dates `expires` by the real clock; a fixed past
            # instant keeps the answer byte-identical run after run (docs/control-api.md
            # "Worlds").
            response.set_cookie(
                name,
                "",
                max_age=0,
                expires=_EPOCH,
                path=path,
                secure=secure,
                httponly=True,
                samesite="none",
            )
        else:
            response.set_cookie(
                name,
                value,
                max_age=SESSION_SECONDS,
                path=path,
                secure=secure,
                httponly=True,
                samesite="none",
            )
    return response
