"""`OcxWorld`: the handle a test drives one world through (the plugin's `ocx` and `ocx_server`).

A handle is a world of its own: on a shared server one made with `POST /_sim/worlds` and
deleted when the handle closes; in process the default world of a registry and app of its own.
Its helpers are each one call to the /_sim control API (docs/control-api.md): the clock, funded
accounts, scenarios, the digest. It does nothing a client in another language could not do,
and the in-process handle and the socket handle run the same code over different transports
(a `Backend`, wire.py), so a test passes or fails the same way on either.

Invariants:
- every request a handle sends goes to its own world (its prefix, `/w/{worldId}` or nothing,
  + the OCX path); nothing it does reaches another world;
- request bodies are encoded once (wire.py `WorldClient`), so both transports send the same
  bytes;
- a helper whose call fails raises `OcxSimError` with the status and the error body; the raw
  `client` never raises on a status (tests assert those themselves).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import orjson

from ocx_sim.clock import format_ms, parse_iso
from ocx_sim.scenarios import durations
from ocx_sim.testing.client import InProcessClient
from ocx_sim.testing.streams import Stream
from ocx_sim.testing.wire import Answer, Backend, InProcessBackend, WorldClient

if TYPE_CHECKING:
    from ocx_sim.worlds import WorldConfig

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OcxSimError(Exception):
    """A control call answered an error: `status`, and the error `body` (`code`, `message`)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        detail = body
        if isinstance(body, dict) and "code" in body:
            detail = f"{body['code']}: {body.get('message', '')}"
            field = (body.get("details") or {}).get("field")
            if field:
                detail += f" (field {field})"
        super().__init__(f"{method} {path} answered {status}: {detail}")


def parse_duration(value: str | int | timedelta) -> int:
    """Milliseconds from a duration as a scenario file writes it (`"5m"`, `"90s"`, `"1h30m"`,
    `"1.5s"`, `"250ms"`: the grammar of ocx_sim/scenarios/durations.py), a `timedelta` or an
    int of milliseconds; never negative, always whole milliseconds."""
    if isinstance(value, bool):
        raise TypeError("a duration is a string such as '5m', a timedelta or milliseconds")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, timedelta):
        ms, rest = divmod(value, timedelta(milliseconds=1))
        if rest:
            raise ValueError(f"{value} is not a whole number of milliseconds")
    elif isinstance(value, str):
        ms = durations.parse_duration(value)
    else:
        raise TypeError("a duration is a string such as '5m', a timedelta or milliseconds")
    if ms < 0:
        raise ValueError(f"{value!r}: a clock only moves forward")
    return ms


def instant_ms(value: str | datetime | int) -> int:
    """Unix milliseconds from an ISO-8601 string, a datetime (naive means UTC) or ms."""
    if isinstance(value, bool):
        raise TypeError("an instant is an ISO-8601 string, a datetime or unix milliseconds")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (aware - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, str):
        return parse_iso(value)
    raise TypeError("an instant is an ISO-8601 string, a datetime or unix milliseconds")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scope: str
    secret: str


@dataclass(frozen=True, slots=True)
class Account:
    """A funded user of the world (`POST /_sim/accounts`), with a client signed in as them."""

    user_id: str
    wallet_address: str
    private_key: str | None
    """Hex; None when the account was made for a wallet address you gave."""
    session_token: str
    api_keys: tuple[ApiKey, ...]
    client: WorldClient
    """Every request carries `Authorization: Bearer <session token>`."""

    @property
    def headers(self) -> dict[str, str]:
        """The session's credentials, for a client of your own."""
        return {"Authorization": f"Bearer {self.session_token}"}

    def key(self, name: str | None = None) -> ApiKey:
        """The API key of that name (the only or first one when no name is given)."""
        for key in self.api_keys:
            if name is None or key.name == name:
                return key
        have = ", ".join(key.name for key in self.api_keys) or "none"
        raise KeyError(f"no API key named {name!r} (this account has: {have})")

    def key_client(self, name: str | None = None) -> WorldClient:
        """A client that authenticates with an API key instead of the session."""
        return self.client.with_headers({"Authorization": f"Bearer {self.key(name).secret}"})


class WorldClock:
    """The world's clock (`/_sim/clock`): read it and move it."""

    def __init__(self, world: OcxWorld) -> None:
        self._world = world

    def read(self) -> dict[str, Any]:
        """`{now, nowMs, mode, speed}`."""
        answer: dict[str, Any] = self._world.control("GET", "/_sim/clock")
        return answer

    @property
    def now_ms(self) -> int:
        return int(self.read()["nowMs"])

    @property
    def now(self) -> datetime:
        """The simulated now, a UTC datetime."""
        return _EPOCH + timedelta(milliseconds=self.now_ms)

    @property
    def iso(self) -> str:
        """The simulated now as the wire writes instants: `2026-01-02T00:00:00.000Z`."""
        return format_ms(self.now_ms)

    def advance(self, by: str | int | timedelta) -> list[dict[str, Any]]:
        """Move a manual clock forward (`"5m"`, `"90s"`, `"2h"`, `"1d"`, ms, a timedelta),
        firing every timer due on the way; the events they produced, oldest first."""
        answer = self._world.control("POST", "/_sim/clock/advance", {"ms": parse_duration(by)})
        events: list[dict[str, Any]] = answer["events"]
        return events

    def advance_to(self, when: str | datetime | int) -> list[dict[str, Any]]:
        """Move a manual clock to an instant (ISO-8601, a datetime or unix ms)."""
        body = {"to": format_ms(instant_ms(when))}
        events: list[dict[str, Any]] = self._world.control("POST", "/_sim/clock/advance", body)[
            "events"
        ]
        return events


def _key_request(spec: str | Mapping[str, Any]) -> dict[str, Any]:
    """`"trade"` is shorthand for `{"name": "trade", "scope": "trade"}`."""
    if isinstance(spec, str):
        return {"name": spec, "scope": spec}
    return dict(spec)


def scenario_body(scenario: str | os.PathLike[str], relative_to: Path | None = None) -> Any:
    """`{name}` for a bundled scenario's name; `{yaml, source}` with a file's text and path for
    a path (anything with a `.yaml`/`.yml` suffix or a directory part), looked up beside
    `relative_to` first. The file is read here and its text sent, so the same call works
    against a remote server, which reads no file a request names (docs/control-api.md
    "Scenarios over HTTP"); `source` keeps the file's name in the errors."""
    found = _scenario_file(scenario, relative_to)
    if found is None:
        return {"name": os.fspath(scenario)}
    return {"yaml": found.read_text(encoding="utf-8"), "source": str(found)}


def _scenario_file(scenario: str | os.PathLike[str], relative_to: Path | None) -> Path | None:
    """The file a scenario reference names (None for a bundled name); FileNotFoundError when
    it names none."""
    text = os.fspath(scenario)
    is_path = (
        isinstance(scenario, os.PathLike)
        or Path(text).suffix in (".yaml", ".yml")
        or "/" in text
        or os.sep in text
    )
    if not is_path:
        return None
    path = Path(text)
    if not path.is_absolute() and relative_to is not None and (relative_to / path).is_file():
        path = relative_to / path
    if not path.is_file():
        where = [str(Path.cwd())] if relative_to is None else [str(relative_to), str(Path.cwd())]
        raise FileNotFoundError(f"no scenario file {text!r} (looked in {' and '.join(where)})")
    return path


def world_body(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The body of `POST /_sim/worlds` for `config`: a `scenario` that names a file is sent as
    its YAML text (with a line break, so the server reads it as YAML) and `scenarioSource`,
    as `scenario_body` sends one to `/_sim/scenarios`."""
    body = dict(config or {})
    scenario = body.get("scenario")
    if isinstance(scenario, str | os.PathLike):
        sent = scenario_body(scenario)
        if "yaml" in sent:
            text = sent["yaml"]
            body["scenario"] = text if text.endswith("\n") else text + "\n"
            body.setdefault("scenarioSource", sent["source"])
    return body


class OcxWorld:
    """One world of its own: `client` for raw requests, `clock`, `account(...)`,
    `load_scenario(...)`, and `url` for a client of your own (`httpx_client()`)."""

    def __init__(self, backend: Backend, created: Mapping[str, Any]) -> None:
        self.backend = backend
        self.world_id: str = created["worldId"]
        self.base: str = "" if created["baseUrl"] == "/" else created["baseUrl"]
        """The world's path prefix: `/w/{worldId}`, or nothing for a server's default world."""
        self.seed: int = created["seed"]
        self.url = backend.root_url + self.base
        """The world's base URL: `{url}/perps/markets`."""
        self.client = WorldClient(backend, self.base)
        self.clock = WorldClock(self)
        self.scenario: dict[str, Any] | None = None
        """The answer of the last `load_scenario` (the marker's included): `{scenario, steps,
        expectations, endsAt, accounts}`."""
        self._own: list[httpx.Client] = []
        self._closed = False

    @classmethod
    def create(cls, backend: Backend, config: Mapping[str, Any] | None = None) -> OcxWorld:
        """A new world (`POST /_sim/worlds` with `config`: seed, start, clock, speed,
        profile, scenario, journalBodies)."""
        answer = backend.send(
            "POST",
            "/_sim/worlds",
            orjson.dumps(world_body(config)),
            {"content-type": "application/json"},
        )
        if answer.status_code != 201:
            raise OcxSimError("POST", "/_sim/worlds", answer.status_code, _body(answer))
        return cls(backend, answer.json())

    def close(self) -> None:
        """Delete the world and close the clients `httpx_client()` made; idempotent."""
        if self._closed:
            return
        self._closed = True
        for http in self._own:
            http.close()
        if not self.base:
            return  # a default world lives as long as its server
        answer = self.backend.send("DELETE", f"/_sim/worlds/{self.world_id}", None, {})
        if answer.status_code not in (200, 404):
            raise OcxSimError("DELETE", f"/_sim/worlds/{self.world_id}", answer.status_code, None)

    def control(self, method: str, path: str, json: Any = None) -> Any:
        """One control call (or any call) on this world; its JSON answer, or OcxSimError."""
        answer = self.client.request(method, path, json=json)
        body = _body(answer)
        if not 200 <= answer.status_code < 300:
            raise OcxSimError(method.upper(), path, answer.status_code, body)
        return body

    def account(
        self,
        *,
        balances: Mapping[str, str | int | Decimal] | None = None,
        api_keys: Sequence[str | Mapping[str, Any]] = (),
        wallet_address: str | None = None,
    ) -> Account:
        """A funded user with a session and API keys: `balances={"perps": 10_000}` (USDC per
        bucket: wallet, perps, options, spot), `api_keys=["trade", {"name": "bot", "scope":
        "read"}]`. Without a wallet address a key pair is made from the world's seed."""
        body: dict[str, Any] = {}
        if wallet_address is not None:
            body["walletAddress"] = wallet_address
        if balances:
            body["balances"] = {bucket: _decimal(v) for bucket, v in balances.items()}
        if api_keys:
            body["apiKeys"] = [_key_request(spec) for spec in api_keys]
        return self._account(self.control("POST", "/_sim/accounts", body))

    def _account(self, made: Mapping[str, Any]) -> Account:
        """An `Account` from a `SimAccount` answer."""
        token = made["sessionToken"]
        return Account(
            user_id=made["userId"],
            wallet_address=made["walletAddress"],
            private_key=made["privateKey"],
            session_token=token,
            api_keys=tuple(
                ApiKey(k["id"], k["name"], k["scope"], k["secret"]) for k in made["apiKeys"]
            ),
            client=self.client.with_headers({"Authorization": f"Bearer {token}"}),
        )

    def load_scenario(
        self, scenario: str | os.PathLike[str], *, relative_to: Path | None = None
    ) -> dict[str, Any]:
        """Load a bundled scenario by name, or a YAML file by path, into this world (`POST
        /_sim/scenarios`); `{scenario, steps, expectations, endsAt, accounts}`, kept as
        `scenario`."""
        answer: dict[str, Any] = self.control(
            "POST", "/_sim/scenarios", scenario_body(scenario, relative_to)
        )
        self.scenario = answer
        return answer

    def scenario_account(self, name: str) -> Account:
        """An account the last loaded scenario declared, by its name there, signed in."""
        accounts = (self.scenario or {}).get("accounts") or {}
        if name not in accounts:
            have = ", ".join(accounts) or "none"
            raise KeyError(f"the loaded scenario declares no account {name!r} (it has: {have})")
        return self._account(accounts[name])

    def scenario_status(self) -> Any:
        """`GET /_sim/scenarios/status`: each expectation so far."""
        return self.control("GET", "/_sim/scenarios/status")

    def digest(self) -> str:
        """The hex SHA-256 of the world's event log (`GET /_sim/digest`)."""
        return str(self.control("GET", "/_sim/digest")["digest"])

    def events(self, since: int = 0) -> list[dict[str, Any]]:
        """The world's events with `seq > since`, oldest first (`GET /_sim/events`)."""
        events: list[dict[str, Any]] = self.control("GET", f"/_sim/events?since={since}")["events"]
        return events

    def stream(
        self,
        path: str,
        *,
        account: Account | None = None,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> Stream:
        """Open a stream of this world (`ocx.stream("/perps/book-stream", marketId="BTC-PERP")`)
        as `account` (or with `headers`); iterate it for frames `{event, id, data}`. In process
        iterating yields the frames waiting now; over a socket, frames as they arrive
        (testing/streams.py). A refused stream raises `OcxSimError`. Use it in a `with`."""
        if not path.startswith("/"):
            raise ValueError(f"{path!r}: give the OCX path, starting with '/'")
        sent = {**(account.headers if account is not None else {}), **(headers or {})}
        query = {k: str(v) for k, v in params.items()}
        full = self.base + path + (f"?{urlencode(query)}" if query else "")

        def refused(status: int, body: Any) -> Exception:
            return OcxSimError("GET", path, status, body)

        return self.backend.stream(full, sent, refused)

    def httpx_client(self, headers: Mapping[str, str] | None = None) -> httpx.Client:
        """An `httpx.Client` whose base URL is this world, for client code of your own; in
        process it needs no socket. Closed with the world."""
        http = self.backend.httpx_client(self.url, dict(headers or {}))
        self._own.append(http)
        return http

    def __repr__(self) -> str:
        return f"<OcxWorld {self.url} seed={self.seed}>"


def _decimal(value: str | int | Decimal) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"{value!r}: give an amount as a string, an int or a Decimal")
    try:
        return f"{Decimal(value):f}"
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None


def _body(answer: Answer) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


@contextmanager
def in_process_world(
    config: Mapping[str, Any] | None = None, *, server_seed: int = 0
) -> Iterator[OcxWorld]:
    """A world on an app of its own, called in this thread without sockets (the `ocx`
    fixture): the default world (at `/`) of a fresh registry built from `config` (the body of
    `POST /_sim/worlds`), so the world, and everything derived from it, is the same whichever
    tests ran before, and a request takes the app's shortest route."""
    from ocx_sim.app import create_app
    from ocx_sim.worlds import Worlds

    client = InProcessClient(create_app(Worlds(_world_config(dict(config or {}), server_seed))))
    try:
        world = OcxWorld(InProcessBackend(client), client.get("/_sim/worlds").json()["worlds"][0])
        try:
            yield world
        finally:
            world.close()
    finally:
        client.close()


def _world_config(config: dict[str, Any], server_seed: int) -> WorldConfig:
    """The `WorldConfig` that `POST /_sim/worlds` makes of `config`. A plain seed (the usual
    case) is taken as it is; anything more is handed to the control API itself on a scratch
    registry, so the fixture accepts and refuses exactly what the endpoint does."""
    from ocx_sim.app import create_app
    from ocx_sim.control.worlds import SEED_HIGH, SEED_LOW
    from ocx_sim.worlds import WorldConfig, Worlds

    seed = config.get("seed", server_seed)
    if config.keys() <= {"seed"} and type(seed) is int and SEED_LOW <= seed <= SEED_HIGH:
        return WorldConfig(seed=seed)
    worlds = Worlds(WorldConfig(seed=server_seed))
    scratch = InProcessClient(create_app(worlds))
    try:
        world = OcxWorld.create(InProcessBackend(scratch), config)
    finally:
        scratch.close()
    made = worlds.get(world.world_id)
    assert made is not None
    return made.config
