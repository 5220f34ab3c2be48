"""A fuzz test over every route, driven by the app's own `/openapi.json` (the acceptance item:
"never a 5xx, and every 4xx has the error body").

For each operation the document lists (every path × method: the OCX API, its aliases and the
/_sim control API; 70 today), Hypothesis draws requests from the operation's own schemas: path
parameters (a real market, order, key, settlement or world id, or junk), query parameters and
JSON bodies. Most bodies conform to the schema, so the handler's deep logic runs against worlds
holding balances, resting orders, a position, settlements and issued SIWE nonces; the others
carry deliberate faults: a wrong type, a missing field, an unknown enum value, a negative, huge
or malformed number, an extra field, a non-object body, invalid JSON or no body at all. Requests
go to the default world or under `/w/{worldId}` (a permissive world, a gitbook world, an unknown
one), as the funded user's session most of the time, else with an API key of scope trade or
read, a cookie, another user's or another world's session, no credential or a garbage one.

What is proved, for every answer: it is below 500 and, when not a 4xx, the operation's
documented status; every 4xx is the catalog's error body (`error` the code, or its family under
`gitbook`; `code`; `message`) with the catalog's status; and it validates against the
operation's schema in the document (conftest's `ApiClient` checks each one). Beside the test
per operation: sequences of requests across operations (one request meets the state others
left), `/openapi.json` itself, wrong methods and unknown paths, and a check that the document
lists exactly the routes the app serves, so "every operation of the document" is every route.

The strategies come from a small JSON Schema builder below (object, array, string, integer,
number, boolean, null, enum, const, `$ref`, `allOf`, `oneOf`, `anyOf`, type lists), with
plausible values by field name where a schema alone would almost never reach the engine (market
ids, prices about the mark, whole steps, addresses, instants). Examples are derandomized, so CI
is reproducible; `HYPOTHESIS_PROFILE` does not apply here (each test sets its own budget).
"""

from __future__ import annotations

import json
import re
import reprlib
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Mount, Route

from ocx_sim.app import create_app
from ocx_sim.auth.keys import Scope
from ocx_sim.auth.policy import Profile
from ocx_sim.auth.siwe import prepare_message, sign_message
from ocx_sim.clock import DEFAULT_START_MS, format_ms
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.engine.core.orders import OrderRequest, Side
from ocx_sim.errors import CATALOG, ErrorCode
from ocx_sim.gateway.schemas import DECIMAL, INSTANT, POSITIVE_DECIMAL, ULID
from ocx_sim.testing.builders import credit_spot
from ocx_sim.testing.client import InProcessClient, Response
from ocx_sim.worlds import DEFAULT_WORLD_ID, KeyRequest, NewAccount, World, WorldConfig, Worlds
from tests.api.conftest import FUNDS, ApiClient, OpenApi, atm_call, read_key, trade_key

Json = Any
Schema = Mapping[str, Any]
Strategy = st.SearchStrategy[Any]

EXAMPLES = 40
"""Requests per operation: 70 operations × 40 run in about ten seconds on two cores."""
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

D = Decimal
PERP = "BTC-PERP"
SPOT = "BTC-USDC-SPOT"
FUTURE = "BTC-USDC-2026-03-27"
ULID_LIKE = "01JNOSUCHTHING000000000000"
NOW_S = DEFAULT_START_MS // 1000
DECIMAL_TEXT = re.compile(DECIMAL["pattern"])


def _load_document() -> dict[str, Any]:
    http = InProcessClient(create_app(Worlds(WorldConfig())))
    try:
        document: dict[str, Any] = http.get("/openapi.json").json()
    finally:
        http.close()
    return document


DOCUMENT = _load_document()
OPENAPI = OpenApi(DOCUMENT)


@dataclass(frozen=True)
class Operation:
    """One path × method of the document."""

    method: str
    path: str
    spec: Mapping[str, Any] = field(hash=False, compare=False)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameters(self) -> list[Mapping[str, Any]]:
        return list(self.spec.get("parameters", []))

    @property
    def body_schema(self) -> Schema | None:
        body = self.spec.get("requestBody")
        return None if body is None else body["content"]["application/json"]["schema"]

    @property
    def success(self) -> set[int]:
        return {int(status) for status in self.spec["responses"] if status != "default"}


OPERATIONS = [
    Operation(method.upper(), path, operation)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
]


# -- values that break the rules ---------------------------------------------------------------


def weighted(*choices: tuple[int, Strategy]) -> Strategy:
    """One of the strategies, each as likely as its weight (the first is the simplest)."""
    indexed = [i for i, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(indexed).flatmap(lambda i: choices[i][1])


EXTREME_NUMBERS: tuple[str, ...] = (
    "9" * 5000,
    "9" * 40,
    "1" + "0" * 30 + ".5",
    "0." + "0" * 40 + "1",
    "-" + "9" * 40,
    "68000.000000000000000000000000000001",
    "１２",
    "٣.٥",
)
"""Strings the wire's decimal pattern accepts (`\\d` is any Unicode digit) that no market or
amount can hold: beyond 28 significant digits, beyond Python's 4300-digit `int()` limit, or in
another script's digits."""
BAD_NUMBERS: tuple[Json, ...] = (
    *EXTREME_NUMBERS,
    "0",
    "0.00",
    "-0",
    "-1",
    "-68000.00",
    "1e5",
    "1E-3",
    "NaN",
    "Infinity",
    "-Infinity",
    ".5",
    "5.",
    "+1",
    " 1",
    "1 ",
    "1,000",
    "0x10",
    "68000.123456789",
    "68000.001",
    68000,
    0.1,
    -1,
    0,
    2**63,
    -(2**63) - 1,
    10**40,
    1e300,
    True,
)
BAD_INTEGERS: tuple[Json, ...] = (-1, 0, 2**63, -(2**63) - 1, 10**40, 1e300, 0.5, "7", True, None)
BAD_WORDS: tuple[Json, ...] = (
    "",
    " ",
    "BUY",
    "Limit",
    "gtc ",
    "unknown",
    "null",
    "\x00",
    "é" * 300,
)
EXTRA_KEYS = st.sampled_from(["extra", "__proto__", "marketId ", "", "💥"]) | st.text(max_size=8)
JUNK: Strategy = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16)
    | st.sampled_from(BAD_NUMBERS + BAD_WORDS),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=5,
)
BAD_VALUE: Strategy = st.sampled_from(BAD_NUMBERS) | st.sampled_from(BAD_WORDS) | JUNK
RAW_BODIES: Strategy = st.sampled_from(
    [
        b"",
        b"  \n",
        b"{",
        b"[]",
        b"null",
        b"1",
        b'"text"',
        b"true",
        b"{'single': 'quotes'}",
        b'{"a": 1} trailing',
        b"\xff\xfe\x00",
        b'{"price": NaN}',
        b"[" * 3000,
        b'{"a": ' * 600 + b"1" + b"}" * 600,
    ]
) | st.binary(max_size=24)
JUNK_SEGMENT = st.text(
    st.characters(blacklist_characters="/?", blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=30,
)
"""A path segment of junk: anything but `/` (another segment), `?` (the query) and control
characters (Starlette's mount pattern `.*` does not match a newline, so such a path is a routing
404 before any world is found, in the strict form even under a gitbook world's prefix)."""


# -- plausible values, by what they mean --------------------------------------------------------


def _decimal_text(digits: int, places: int) -> str:
    return f"{D(digits).scaleb(-places):f}"


DECIMALS: Strategy = st.builds(_decimal_text, st.integers(1, 10**10), st.integers(0, 8))
"""Positive strings of the wire's decimal pattern (zero and negatives are among BAD_NUMBERS)."""
PRICES: Strategy = (
    st.sampled_from(
        [
            "68000.00",
            "68000",
            "67950.5",
            "68100.00",
            "67000.00",
            "69000",
            "74800.00",
            "61200.00",
            "2150.00",
            "2200.00",
            "0.01",
            "1",
        ]
    )
    | DECIMALS
)
QUANTITIES: Strategy = (
    st.sampled_from(["0.1", "0.0100", "0.2", "1", "0.001", "0.5", "2", "0.00001", "1000"])
    | DECIMALS
)
AMOUNTS: Strategy = (
    st.sampled_from(["1", "10.50", "100", "0.000001", "100000", "1000000", "0.0000001"]) | DECIMALS
)
INSTANTS: Strategy = st.sampled_from(
    [
        "2026-01-02T00:00:10.000Z",
        "2026-01-02T00:00:00Z",
        "2026-01-03T00:00:00+02:00",
        "2026-01-02T08:00:00",
        "2025-01-01T00:00:00.000Z",
        "1970-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-02-30T00:00:00Z",
        "+275760-09-13T00:00:00Z",
        "tomorrow",
    ]
) | st.integers(DEFAULT_START_MS, DEFAULT_START_MS + 10**11).map(format_ms)
"""ISO-8601 instants: mostly after the worlds' start, some before it, some malformed."""
ADDRESSES: Strategy = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())
IPS: Strategy = st.lists(
    st.sampled_from(
        ["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "300.1.1.1", "127.0.0.1/33", "x"]
    ),
    max_size=3,
)


ULIDS: Strategy = st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26)
PATTERNS: dict[str, Strategy] = {
    DECIMAL["pattern"]: DECIMALS,
    POSITIVE_DECIMAL["pattern"]: DECIMALS,
    INSTANT["pattern"]: INSTANTS,
    ULID["pattern"]: ULIDS,
    "^0x[0-9a-fA-F]{40}$": ADDRESSES,
}
"""Patterns the document uses, each with values from where they come from; any other pattern is
drawn with Hypothesis's `from_regex`."""


# -- strategies from JSON Schema ----------------------------------------------------------------


Known = Mapping[str, Json]
Hint = Callable[[Known], Strategy]
"""Values for a field by its name, from what is known when it is drawn: the path parameters and
the fields drawn before it in the same object or an enclosing one (a price after its market)."""


def always(strategy: Strategy) -> Hint:
    return lambda _: strategy


class SchemaStrategies:
    """Values conforming to a JSON Schema (the subset the document uses). A property named in
    `hints` takes the hint's values instead of its schema's (unless the schema is an enum or a
    constant); an optional property is present half the time, or as often as `odds` says
    (name → eighths of the time)."""

    def __init__(
        self,
        components: Mapping[str, Schema],
        hints: Mapping[str, Hint],
        odds: Mapping[str, int] | None = None,
    ) -> None:
        self.components = components
        self.hints = hints
        self.odds = odds or {}

    def resolve(self, schema: Schema) -> Schema:
        """The schema behind `$ref`s, with an `allOf` merged into one object schema."""
        while "$ref" in schema:
            schema = self.components[schema["$ref"].removeprefix("#/components/schemas/")]
        if "allOf" in schema:
            parts = [self.resolve(part) for part in schema["allOf"]]
            return {
                "type": "object",
                "properties": {
                    k: v for part in parts for k, v in part.get("properties", {}).items()
                },
                "required": [name for part in parts for name in part.get("required", [])],
            }
        return schema

    def valid(
        self, schema: Schema, name: str | None = None, known: Known | None = None
    ) -> Strategy:
        known = known or {}
        schema = self.resolve(schema)
        if name is not None and name in self.hints and not {"enum", "const"} & schema.keys():
            return self.hints[name](known)
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        for union in ("oneOf", "anyOf"):
            if union in schema:
                return st.one_of([self.valid(option, name, known) for option in schema[union]])
        kind = schema.get("type")
        if isinstance(kind, list):
            return st.one_of([self.valid({**schema, "type": one}, name, known) for one in kind])
        if kind == "object":
            return self._object(schema, known)
        if kind == "array":
            return self._array(schema, known)
        builders: dict[str, Callable[[Schema], Strategy]] = {
            "string": _string,
            "integer": _integer,
            "number": _number,
            "boolean": lambda _: st.booleans(),
            "null": lambda _: st.none(),
        }
        builder = builders.get(kind) if isinstance(kind, str) else None
        return JUNK if builder is None else builder(schema)

    def _object(self, schema: Schema, known: Known) -> Strategy:
        properties: Mapping[str, Schema] = schema.get("properties", {})
        required = set(schema.get("required", ()))

        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Json]:
            out: dict[str, Json] = {}
            for name, subschema in properties.items():
                eighths = self.odds.get(name, 4)
                if name not in required and draw(st.integers(0, 7)) < 8 - eighths:
                    continue
                out[name] = draw(self.valid(subschema, name, {**known, **out}))
            return out

        return build()

    def _array(self, schema: Schema, known: Known) -> Strategy:
        low = schema.get("minItems", 0)
        return st.lists(
            self.valid(schema.get("items", {}), None, known),
            min_size=low,
            max_size=max(low, min(schema.get("maxItems", 4), 4)),
        )


def _string(schema: Schema) -> Strategy:
    pattern = schema.get("pattern")
    if pattern is not None:
        known = PATTERNS.get(pattern)
        return st.from_regex(pattern, fullmatch=True) if known is None else known
    low = schema.get("minLength", 0)
    return st.text(min_size=low, max_size=max(low, min(schema.get("maxLength", 24), 24)))


def _integer(schema: Schema) -> Strategy:
    return st.integers(schema.get("minimum"), schema.get("maximum"))


def _number(schema: Schema) -> Strategy:
    low = schema.get("exclusiveMinimum", schema.get("minimum"))
    return st.floats(
        min_value=low,
        max_value=schema.get("maximum"),
        exclude_min="exclusiveMinimum" in schema,
        allow_nan=False,
        allow_infinity=False,
    )


def faults_for(value: Json) -> Strategy:
    """Wrong values for where `value` stood: mostly of its own kind (a decimal string's
    extremes and malformations, an integer's out-of-range or wrong-typed neighbours), else
    anything."""
    if isinstance(value, str) and DECIMAL_TEXT.fullmatch(value):
        return weighted(
            (2, st.sampled_from(EXTREME_NUMBERS)), (2, st.sampled_from(BAD_NUMBERS)), (1, BAD_VALUE)
        )
    if isinstance(value, str):
        return weighted((2, st.sampled_from(BAD_WORDS)), (1, BAD_VALUE))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return weighted((2, st.sampled_from(BAD_INTEGERS)), (1, BAD_VALUE))
    return BAD_VALUE


@st.composite
def one_fault(draw: st.DrawFn, value: Json) -> Json:
    """`value` with one fault somewhere inside it: a field dropped, added or of the wrong kind,
    a list item broken, a list far too long, or the value itself replaced."""
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["descend", "drop", "wrong", "extra"]))
        if action == "drop":
            return {k: v for k, v in value.items() if k != key}
        if action == "extra":
            return {**value, draw(EXTRA_KEYS): draw(JUNK)}
        if action == "wrong":
            return {**value, key: draw(faults_for(value[key]))}
        return {**value, key: draw(one_fault(value[key]))}
    if isinstance(value, list) and value:
        action = draw(st.sampled_from(["descend", "wrong", "flood"]))
        if action == "flood":
            return value * (60 // len(value) + 1)
        i = draw(st.integers(0, len(value) - 1))
        item = draw(one_fault(value[i]) if action == "descend" else faults_for(value[i]))
        return [*value[:i], item, *value[i + 1 :]]
    return draw(faults_for(value))


def with_numbers(value: Json, number: Json) -> Json:
    """`value` with every decimal string in it replaced by `number`."""
    if isinstance(value, dict):
        return {k: with_numbers(v, number) for k, v in value.items()}
    if isinstance(value, list):
        return [with_numbers(item, number) for item in value]
    if isinstance(value, str) and DECIMAL_TEXT.fullmatch(value):
        return number
    return value


@st.composite
def mutated(draw: st.DrawFn, value: Json) -> Json:
    """`value` with one fault, or with every number in it one bad number."""
    if draw(st.integers(0, 2)) == 2:
        bad = weighted((1, st.sampled_from(EXTREME_NUMBERS)), (1, st.sampled_from(BAD_NUMBERS)))
        return with_numbers(value, draw(bad))
    return draw(one_fault(value))


def encode(value: Json) -> bytes:
    """JSON bytes as any client could send them (stdlib `json`: integers beyond 64 bits too)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode()


# -- the worlds a fuzzed request lands in -------------------------------------------------------


@dataclass
class Seat:
    """One world as the fuzzer sees it: its path prefix, users and the ids worth naming."""

    world: World
    prefix: str
    trader: NewAccount
    other: NewAccount
    order_ids: list[str]
    key_ids: list[str]
    settlement_ids: list[str]
    nonces: list[str]

    @property
    def profile(self) -> Profile:
        return self.world.config.profile


def seat(world: World, prefix: str) -> Seat:
    """Two funded users; books with liquidity on both sides; the trader with a perps position,
    a filled order, resting perps, spot and option orders, a withdrawal, a deposit and SIWE
    nonces issued to their address."""
    trader = world.create_account(
        balances=FUNDS,
        api_keys=[KeyRequest("trade-bot", Scope.TRADE), KeyRequest("reader", Scope.READ)],
    )
    other = world.create_account(balances=FUNDS, api_keys=[KeyRequest("other-bot", Scope.TRADE)])
    exchange = world.exchange
    credit_spot(exchange, other.user_id, "BTC", "5")
    option = atm_call(world).id
    client_ids = (f"c-{n}" for n in range(1, 100))

    def place(account: NewAccount, market: str, side: Side, quantity: str, price: str) -> str:
        cid = next(client_ids)
        request = OrderRequest(market, side, D(quantity), price=D(price), client_order_id=cid)
        return exchange.place_order(account.user_id, request).order.id

    book = [
        place(other, PERP, Side.SELL, "2", "68100.00"),
        place(other, PERP, Side.BUY, "2", "67900.00"),
        place(other, SPOT, Side.SELL, "1", "68100.00"),
        place(other, SPOT, Side.BUY, "1", "67900.00"),
        place(other, option, Side.BUY, "2", "2000.00"),
    ]
    filled = place(trader, PERP, Side.BUY, "0.2", "68100.00")
    resting = [
        place(trader, PERP, Side.BUY, "0.1", "67000.00"),
        place(trader, FUTURE, Side.SELL, "0.1", "70000.00"),
        place(trader, SPOT, Side.BUY, "0.1", "67000.00"),
        place(trader, option, Side.BUY, "0.50", "1900.00"),
    ]
    settlements = [
        exchange.withdraw(trader.user_id, D("10")).id,
        exchange.sim.submit_deposit(trader.wallet_address, D("5")).id,
        exchange.withdraw(other.user_id, D("10")).id,
    ]
    nonces = [world.ids.nonce() for _ in range(6)]
    for nonce in nonces:
        world.nonces.issue(nonce, trader.wallet_address, world.now_ms)
    return Seat(
        world=world,
        prefix=prefix,
        trader=trader,
        other=other,
        order_ids=[*resting, filled, *book],
        key_ids=[key.id for account in (trader, other) for key, _ in account.api_keys],
        settlement_ids=settlements,
        nonces=nonces,
    )


@dataclass(repr=False)
class Request:
    """One fuzzed request; a failing one is reported with long values cut short."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes | None
    headers: dict[str, str]
    cookies: dict[str, str]
    profile: Profile
    """The profile of the world it lands in (which decides the error body's `error`)."""

    def __repr__(self) -> str:
        short = reprlib.Repr()
        short.maxstring = short.maxother = 160
        fields = ", ".join(
            f"{name}={short.repr(getattr(self, name))}"
            for name in ("method", "path", "query", "body", "headers", "cookies")
        )
        return f"Request({fields}, profile={self.profile.value})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


ODDS = {
    **dict.fromkeys(("scenario",), 1),
    **dict.fromkeys(("type", "timeInForce", "postOnly", "reduceOnly"), 2),
    **dict.fromkeys(("stopPrice", "takeProfitPrice", "stopLossPrice"), 2),
    **dict.fromkeys(("price", "bid", "ask"), 7),
}
"""How often (in eighths) a conforming body sends these optional fields: rarely those refused
whatever their value (scenarios are not supported yet), seldom an order's options and
triggers (their defaults make a plain limit order), mostly a price (a limit order needs one)
and each side of a two-sided quote (one is needed)."""


class Bed:
    """A server with three worlds (strict default, permissive, gitbook) seated for fuzzing, two
    spare worlds to delete, and conftest's checking client."""

    def __init__(self) -> None:
        self.worlds = Worlds(WorldConfig(seed=7))
        others = [
            self.worlds.create(WorldConfig(seed=7, profile=profile))
            for profile in (Profile.PERMISSIVE, Profile.GITBOOK)
        ]
        self.spares = [self.worlds.create(WorldConfig(seed=8)).world_id for _ in range(2)]
        self.seats = [seat(self.worlds.default, "")] + [
            seat(world, f"/w/{world.world_id}") for world in others
        ]
        self.client = ApiClient(InProcessClient(create_app(self.worlds)), OPENAPI)
        self.learned: list[str] = []
        """Ids of orders placed by fuzzed requests."""
        exchange = self.worlds.default.exchange
        option = atm_call(self.worlds.default).id
        self.linear = [PERP, FUTURE, "XAUT-USDC-PERP", "WTIOIL-PERP"]
        self.clob = [SPOT, option, "XAUT-USDC-SPOT"]
        self.markets = [*self.linear, *self.clob, "ETH-PERP", "btc-perp"]
        self.specs = {market: exchange.market(market) for market in self.linear + self.clob}
        self.prices = {
            market: _near(spec, exchange.mark_price(market)) for market, spec in self.specs.items()
        }

    def close(self) -> None:
        self.client.http.close()

    def market_ids(self, path: str) -> Strategy:
        """Mostly the markets this path trades (linear under /perps, the CLOB's elsewhere)."""
        clob = not path.startswith(("/perps", "/_sim"))
        return st.sampled_from((self.clob if clob else self.linear) * 3 + self.markets)

    def price(self, known: Known) -> Strategy:
        """Mostly about the mark of the market already drawn (body or path), else anything."""
        near = self.prices.get(str(known.get("marketId")))
        return weighted((3, st.sampled_from(near)), (1, PRICES)) if near else PRICES

    def quantity(self, known: Known) -> Strategy:
        """Mostly whole steps of the market already drawn, else anything."""
        spec = self.specs.get(str(known.get("marketId")))
        if spec is None:
            return QUANTITIES
        steps = [spec.step * n for n in (1, 10, 1000)] + [spec.min_quantity, spec.step / 2]
        plausible = st.sampled_from([f"{step.normalize():f}" for step in steps])
        return weighted((3, plausible), (1, QUANTITIES))

    def hints(self, operation: Operation) -> dict[str, Hint]:
        """Body fields by name (every body of the document names them the same way)."""
        default = self.seats[0]
        addresses = [s.trader.wallet_address for s in self.seats]
        addresses += [default.trader.wallet_address.lower(), "0x" + "AB" * 20, "0xnot-hex"]
        return {
            "marketId": always(self.market_ids(operation.path)),
            "price": self.price,
            "stopPrice": self.price,
            "takeProfitPrice": self.price,
            "stopLossPrice": self.price,
            "quantity": self.quantity,
            "amount": always(AMOUNTS),
            "walletAddress": always(st.sampled_from(addresses) | ADDRESSES),
            "clientOrderId": always(st.sampled_from(["c-1", "c-90"]) | st.text(max_size=70)),
            "quoteId": always(st.sampled_from(["q-1", "q-2"]) | st.text(max_size=70)),
            "allowedIps": always(IPS),
            "to": always(INSTANTS),
            "start": always(INSTANTS),
            "ms": always(
                st.sampled_from([0, 1, 2000, 60_000, 8 * 3_600_000, 86_400_000 * 100])
                | st.integers(min_value=0)
            ),
            "code": always(st.sampled_from(["INVITE", ""]) | st.text(max_size=12)),
            "txHash": always(st.sampled_from(["0xabc", "0x" + "1" * 64]) | st.text(max_size=140)),
        }

    def query_hints(self, operation: Operation) -> dict[str, Hint]:
        markets = self.market_ids(operation.path)
        return {
            "marketId": always(markets),
            "symbol": always(markets),
            "from": always(st.integers(NOW_S - 100 * 86_400, NOW_S + 86_400) | st.integers(0)),
            "to": always(st.integers(NOW_S - 86_400, NOW_S + 100 * 86_400) | st.integers(0)),
        }

    def path_values(self, path: str, name: str) -> Strategy:
        """A path parameter: mostly an id of the kind the path names, else another kind's id, an
        id of nothing, or junk."""
        seats = self.seats
        if name == "marketId":
            return self.market_ids(path) | JUNK_SEGMENT
        if name == "worldId":
            real = [*self.spares, DEFAULT_WORLD_ID, seats[1].world.world_id]
        elif "api-keys" in path:
            real = [key for s in seats for key in s.key_ids]
        elif "settlements" in path:
            real = [sid for s in seats for sid in s.settlement_ids]
        else:
            real = [oid for s in seats for oid in s.order_ids]
            learned = st.integers(0, 2**16).map(
                lambda i: self.learned[i % len(self.learned)] if self.learned else ULID_LIKE
            )
            return weighted((2, st.sampled_from(real)), (1, learned), (1, JUNK_SEGMENT))
        return st.sampled_from(real * 2 + [ULID_LIKE]) | JUNK_SEGMENT

    def learn(self, response: Response) -> None:
        """Remember the orders an answer shows, for later requests to name."""
        is_json = response.headers.get("content-type", "").startswith("application/json")
        body = response.json() if response.status_code == 200 and is_json else None
        if isinstance(body, dict):
            for item in [body, *body.get("orders", [])]:
                if isinstance(item, dict) and "remainingQuantity" in item:
                    self.learned.append(item["id"])

    def requests(self, operation: Operation) -> Strategy:
        components = DOCUMENT["components"]["schemas"]
        paths = {
            p["name"]: self.path_values(operation.path, p["name"])
            for p in operation.parameters
            if p["in"] == "path"
        }
        return request_for(
            self,
            operation,
            paths,
            SchemaStrategies(components, self.query_hints(operation)),
            SchemaStrategies(components, self.hints(operation), ODDS),
            siwe_bodies(self.seats[0]) if operation.path == "/auth/siwe" else None,
        )


def _near(spec: MarketSpec, mark: Decimal | None) -> list[str]:
    """Prices about the mark: on it, a tick or a hundred away, the band's edges, and half a tick
    off (a well-formed decimal the market refuses)."""
    if mark is None:
        return []
    tick = spec.tick
    prices = [mark, mark - tick, mark + 100 * tick, mark - 100 * tick, mark + tick / 2]
    prices += [mark * D("0.95"), mark * D("1.05")]
    return [f"{price:f}" for price in prices if price > 0]


@st.composite
def siwe_bodies(draw: st.DrawFn, seat: Seat) -> dict[str, str]:
    """A signed EIP-4361 sign-in: mostly right (an issued nonce, this Host, a known chain, the
    address's own key), else wrong in one way or another."""
    trader, other = seat.trader, seat.other
    assert trader.private_key is not None and other.private_key is not None
    now = seat.world.now_ms
    text = prepare_message(
        draw(st.sampled_from(["testserver", "evil.example"])),
        draw(st.sampled_from([trader.wallet_address, other.wallet_address])),
        draw(st.sampled_from([*seat.nonces, "0123456789abcdef"])),
        draw(st.sampled_from([now, now - 600_000, now + 600_000])),
        chain_id=draw(st.sampled_from([84532, 8453, 1])),
    )
    key = draw(st.sampled_from([trader.private_key, other.private_key]))
    return {"message": text, "signature": sign_message(key, text)}


@st.composite
def request_for(
    draw: st.DrawFn,
    bed: Bed,
    operation: Operation,
    paths: Mapping[str, Strategy],
    queries: SchemaStrategies,
    bodies: SchemaStrategies,
    special: Strategy | None,
) -> Request:
    """One request to `operation`: its world and path, query, body and credentials."""
    seats = bed.seats
    where = draw(st.sampled_from(["default"] * 5 + ["/w/default", "other", "other", "unknown"]))
    home = seats[0] if where != "other" else draw(st.sampled_from(seats[1:]))
    prefixes = {"default": "", "/w/default": "/w/default", "unknown": "/w/" + ULID_LIKE}
    path = prefixes.get(where, home.prefix) + operation.path
    known = {name: draw(values) for name, values in paths.items()}
    for name, value in known.items():
        path = path.replace("{" + name + "}", value)

    query: dict[str, str] = {}
    for parameter in operation.parameters:
        if parameter["in"] != "query":
            continue
        name, schema = parameter["name"], parameter["schema"]
        if parameter["required"]:
            kind = draw(st.sampled_from(["valid"] * 6 + ["junk", "absent"]))
        else:
            kind = draw(st.sampled_from(["absent"] * 3 + ["valid"] * 3 + ["junk"] * 2))
        if kind == "valid":
            query[name] = query_text(draw(queries.valid(schema, name, known)))
        elif kind == "junk":
            junk = weighted(
                (2, st.sampled_from(EXTREME_NUMBERS)),
                (2, st.sampled_from(BAD_NUMBERS + BAD_WORDS)),
                (1, st.text(max_size=12)),
            )
            query[name] = query_text(draw(junk))
    if draw(st.integers(0, 9)) == 9:
        query[draw(st.text(min_size=1, max_size=8))] = draw(st.text(max_size=8))

    body: bytes | None = None
    schema = operation.body_schema
    if schema is not None:
        valid = bodies.valid(schema, None, known)
        if special is not None:
            valid = special | valid
        kind = draw(st.sampled_from(["valid"] * 5 + ["mutated"] * 4 + ["raw"]))
        if kind == "raw":
            body = draw(RAW_BODIES)
        else:
            value = draw(valid)
            body = encode(draw(mutated(value)) if kind == "mutated" else value)
    elif draw(st.integers(0, 9)) == 9:
        body = draw(RAW_BODIES)

    headers, cookies = draw(credentials(seats, home))
    return Request(
        method=operation.method,
        path=path,
        query=query,
        body=body,
        headers=headers,
        cookies=cookies,
        profile=home.profile if where == "other" else Profile.STRICT,
    )


def query_text(value: Json) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


@st.composite
def credentials(
    draw: st.DrawFn, seats: Sequence[Seat], home: Seat
) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, cookies): the trader's session most of the time, else another credential."""
    trader = home.trader
    kind = draw(
        st.sampled_from(
            ["session"] * 8
            + ["trade-key", "read-key", "bearer-key", "cookie", "other-user", "other-world"]
            + ["none", "garbage"]
        )
    )
    if kind == "session":
        return {"Authorization": f"Bearer {trader.session_token}"}, {}
    if kind == "trade-key":
        return {"x-api-key": trade_key(trader)}, {}
    if kind == "read-key":
        return {"x-api-key": read_key(trader)}, {}
    if kind == "bearer-key":
        return {"Authorization": f"Bearer {trade_key(trader)}"}, {}
    if kind == "cookie":
        return {}, {"astra_session": trader.session_token}
    if kind == "other-user":
        return {"Authorization": f"Bearer {home.other.session_token}"}, {}
    if kind == "other-world":
        stranger = draw(st.sampled_from([s for s in seats if s is not home]))
        return {"Authorization": f"Bearer {stranger.trader.session_token}"}, {}
    if kind == "none":
        return {}, {}
    garbage = st.text(st.sampled_from(string.ascii_letters + string.digits + "._- "), max_size=40)
    header = draw(st.sampled_from(["Authorization", "x-api-key"]))
    value = draw(st.sampled_from(["Bearer ", "Basic ", "Bearer ocx_sk_", "bearer ", ""])) + draw(
        garbage
    )
    return {header: value}, {}


def send(client: ApiClient, request: Request) -> Response:
    """Send it through conftest's client, which validates the answer against the document."""
    headers = dict(request.headers)
    if request.body is not None:
        headers["content-type"] = "application/json"
    return client.request(
        request.method,
        request.path,
        content=request.body,
        headers=headers,
        params=request.query,
        cookies=request.cookies or None,
    )


def check_answer(response: Response, request: Request, success: set[int]) -> None:
    """Below 500; a documented success status or a 4xx that is the catalog's error body."""
    status = response.status_code
    assert status < 500, f"{request} → {status} {response.content[:500]!r}"
    if status < 400:
        assert status in success, f"{request} → {status}, documented {sorted(success)}"
        return
    body = response.json()
    assert isinstance(body, dict), body
    code = body.get("code")
    assert code in set(ErrorCode), body
    entry = CATALOG[ErrorCode(code)]
    assert status == entry.status, body
    assert body["error"] == (entry.family if request.profile is Profile.GITBOOK else code), body
    assert isinstance(body["message"], str) and body["message"], body


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_no_request_to_an_operation_gets_a_5xx_and_every_4xx_is_the_catalogs_error_body(
    operation: Operation,
) -> None:
    bed = Bed()
    try:

        @FUZZ
        @given(bed.requests(operation))
        def fuzz(request: Request) -> None:
            response = send(bed.client, request)
            check_answer(response, request, operation.success)
            bed.learn(response)

        fuzz()
    finally:
        bed.close()


SEQUENCES = settings(FUZZ, max_examples=25)


def test_no_sequence_of_requests_across_operations_gets_a_5xx_or_a_bad_refusal() -> None:
    """Each example is a fresh server and up to a dozen requests to any operations, so one
    request meets the state others left: a halted market, a moved clock, a revoked key, a
    logged-out session, a deleted world, orders placed a moment ago."""

    @SEQUENCES
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        bed = Bed()
        try:
            for _ in range(data.draw(st.integers(1, 12), label="length")):
                operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
                request = data.draw(bed.requests(operation), label=str(operation))
                response = send(bed.client, request)
                check_answer(response, request, operation.success)
                bed.learn(response)
        finally:
            bed.close()

    fuzz()


def served(routes: Sequence[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, mounts walked in (without the HEAD Starlette adds)."""
    out: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            out |= served(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            out |= {
                (method, prefix + route.path) for method in route.methods or () if method != "HEAD"
            }
    return out


def test_the_document_lists_exactly_the_routes_the_app_serves_at_the_root_and_per_world() -> None:
    # Aliases are separate paths in the document, so the comparison is exact. `/openapi.json`
    # is served beside the API it describes and is the one route the document leaves out
    # (fuzzed on its own below); `/docs`, the page that shows the document, is served at the
    # root only, and the dashboard's page (`/_sim/ui/`, and `/_sim/ui` redirecting to it) with
    # the control API: pages for people, no part of the API.
    documented = {(operation.method, operation.path) for operation in OPERATIONS}
    pages = {("GET", "/openapi.json"), ("GET", "/_sim/ui"), ("GET", "/_sim/ui/")}
    expected = {
        (method, prefix + path)
        for method, path in documented | pages
        for prefix in ("", "/w/{world_id}")
    } | {("GET", "/docs")}

    assert served(create_app(Worlds(WorldConfig())).routes) == expected
    assert len(OPERATIONS) == len(documented)


def test_the_document_is_served_whatever_the_query_credentials_or_world() -> None:
    bed = Bed()
    operation = Operation("GET", "/openapi.json", {"responses": {"200": {}}})
    try:

        @FUZZ
        @given(bed.requests(operation))
        def fuzz(request: Request) -> None:
            response = bed.client.http.request(
                request.method, request.path, headers=request.headers, params=request.query
            )
            check_answer(response, request, {200})
            if response.status_code == 200:
                assert response.json() == DOCUMENT

        fuzz()
    finally:
        bed.close()


WRONG_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def test_a_wrong_method_or_an_unknown_path_is_the_catalogs_405_or_404() -> None:
    bed = Bed()
    documented = {(operation.method, operation.path) for operation in OPERATIONS}
    wrong = [
        (method, operation.path)
        for operation in OPERATIONS
        for method in WRONG_METHODS
        if (method, operation.path) not in documented
    ]
    unknown = st.tuples(
        st.sampled_from(WRONG_METHODS),
        st.lists(JUNK_SEGMENT, min_size=1, max_size=3).map(
            lambda parts: "/nope/" + "/".join(parts)
        ),
    )
    try:

        @FUZZ
        @given(st.sampled_from(wrong) | unknown, st.sampled_from(["", "/w/default"]))
        def fuzz(target: tuple[str, str], prefix: str) -> None:
            method, template = target
            path = prefix + re.sub(r"{\w+}", "x", template)
            request = Request(method, path, {}, None, {}, {}, Profile.STRICT)
            response = send(bed.client, request)
            check_answer(response, request, set())
            if template.startswith("/nope/"):
                assert response.status_code == 404, response.json()
            else:
                assert response.status_code == 405, response.json()
                assert method not in response.headers["allow"].split(", ")

        fuzz()
    finally:
        bed.close()
