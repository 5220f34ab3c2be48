"""What each stream path shows, for its query parameters: the channel, and the key of the group
its subscribers share (docs/fidelity.md "Streams"). Parameters are checked here, in the order
the contract gives (each a 400 naming it, then the market: 404), so that a stream's request,
and a scenario's `stream` expectation (streams/lens.py), refuse the same values the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import NamedTuple

from ocx_sim.engine.core.events import EVENT_TYPE_NAMES
from ocx_sim.engine.core.markets import MarketSpec, Venue
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.gateway import parse
from ocx_sim.streams.account import AccountChannel
from ocx_sim.streams.balances import BalancesChannel
from ocx_sim.streams.board import BoardChannel
from ocx_sim.streams.book import BookChannel
from ocx_sim.streams.hub import Channel
from ocx_sim.streams.sim_events import SimEventsChannel

BOOK = "/perps/book-stream"
BOARD = "/markets/board/stream"
USER = "/perps/stream/user"
PERPS_EVENTS = "/perps/stream/events"
OPTIONS_EVENTS = "/options/stream/events"
BALANCES = "/portfolio/balances/stream"
SIM_EVENTS = "/_sim/events/stream"
"""The control API's stream (not OCX's: absent with `--no-control`, and not in `STREAMS`)."""

PRIMARY_UNDERLYING = "BTC"
PERPS: frozenset[Venue] = frozenset({Venue.PERPS})
"""The user stream's venue: perpetuals and dated futures (docs/fidelity.md "Streams")."""
_EVENTS_PATH = {Venue.PERPS: PERPS_EVENTS, Venue.OPTIONS: OPTIONS_EVENTS}

BOARD_INTERVAL_MS = 1_000
BALANCES_INTERVAL_MS = 250
SIM_EVENTS_INTERVAL_MS = 250
"""The streams that take no `intervalMs`: on a realtime world they send at most one frame
per this much wall time (docs/fidelity.md "Streams"), as the others do at their `intervalMs`;
a fast clock moves the board on every tick."""

Query = Mapping[str, str]


class Subscription(NamedTuple):
    """A stream to open: its group's key, what it shows, and its least interval between
    frames on a realtime world."""

    key: Hashable
    channel: Channel
    interval_ms: int | None


def book(exchange: Exchange, user_id: str | None, query: Query) -> Subscription:
    """`/perps/book-stream?marketId=&depth=&intervalMs=`: a linear market's book."""
    market_id = parse.query_string(query, "marketId", required=True)
    depth = parse.query_int(query, "depth", default=25, low=1, high=100)
    interval = parse.query_int(query, "intervalMs", default=100, low=50, high=2000)
    assert market_id is not None and depth is not None
    spec = _linear(exchange, market_id)
    return Subscription(("book", spec.id, depth, interval), BookChannel(spec, depth), interval)


def _linear(exchange: Exchange, market_id: str) -> MarketSpec:
    spec = exchange.market(market_id)
    if spec.is_option:
        raise OcxError(
            ErrorCode.UNKNOWN_MARKET,
            f"{market_id} is an option: its book streams at {OPTIONS_EVENTS}",
            {"marketId": market_id, "field": "marketId"},
        )
    return spec


def board(exchange: Exchange, user_id: str | None, query: Query) -> Subscription:
    """`/markets/board/stream?underlying=` (default BTC): an underlying's options board."""
    underlying = parse.query_string(query, "underlying") or PRIMARY_UNDERLYING
    exchange.board(underlying)  # 404 for an underlying without options, 503 without index
    return Subscription(("board", underlying), BoardChannel(underlying), BOARD_INTERVAL_MS)


def user(exchange: Exchange, user_id: str | None, query: Query) -> Subscription:
    """`/perps/stream/user?intervalMs=&openOnly=`: the caller's perps fills and positions."""
    assert user_id is not None
    interval = parse.query_int(query, "intervalMs", default=250, low=100, high=5000)
    open_only = parse.query_bool(query, "openOnly", default=False)
    channel = AccountChannel(
        user_id, PERPS, open_only, "user", "PerpStreamSnapshot", "PerpStreamDelta"
    )
    return Subscription(("user", user_id, interval, open_only), channel, interval)


def perps_events(exchange: Exchange, user_id: str | None, query: Query) -> Subscription:
    return _events(exchange, user_id, query, Venue.PERPS)


def options_events(exchange: Exchange, user_id: str | None, query: Query) -> Subscription:
    return _events(exchange, user_id, query, Venue.OPTIONS)


def _events(exchange: Exchange, user_id: str | None, query: Query, venue: Venue) -> Subscription:
    """`/perps/stream/events` (or `/options/stream/events`)`?marketId=&depth=&intervalMs=
    &openOnly=`: one market's book and the caller's fills and positions in it."""
    assert user_id is not None
    market_id = parse.query_string(query, "marketId", required=True)
    depth = parse.query_int(query, "depth", default=25, low=1, high=250)
    interval = parse.query_int(query, "intervalMs", default=500, low=100, high=5000)
    open_only = parse.query_bool(query, "openOnly", default=False)
    assert market_id is not None and depth is not None
    spec = exchange.market(market_id)
    if spec.venue is not venue:
        there = _EVENTS_PATH.get(spec.venue)
        raise OcxError(
            ErrorCode.UNKNOWN_MARKET,
            f"{market_id} has no events stream"
            if there is None
            else f"{market_id} streams its events at {there}",
            {"marketId": market_id, "field": "marketId"},
        )
    token, names = ("options", "Option") if venue is Venue.OPTIONS else ("perps", "Perp")
    channel = AccountChannel(
        user_id,
        frozenset({spec.venue}),
        open_only,
        token,
        f"{names}StreamSnapshot",
        f"{names}StreamDelta",
        BookChannel(spec, depth),
    )
    return Subscription((token, user_id, spec.id, depth, interval, open_only), channel, interval)


def balances(exchange: Exchange, user_id: str | None, query: Query) -> Subscription:
    """`/portfolio/balances/stream`: the caller's balances and equity (no parameter: any
    query parameter is ignored, as the REST reads without parameters do)."""
    assert user_id is not None
    channel = BalancesChannel(user_id)
    return Subscription(("balances", user_id), channel, BALANCES_INTERVAL_MS)


MAX_SEQ = 2**63 - 1


def sim_events(exchange: Exchange, user_id: str | None, query: Query) -> Subscription:
    """`/_sim/events/stream?since=&types=`: the world's event log after `since` (default: its
    last seq, so the snapshot holds none), only the `types` listed when given."""
    last = exchange.events.last_seq
    since = parse.query_int(query, "since", default=last, low=0, high=MAX_SEQ)
    assert since is not None
    types = _event_types(parse.query_string(query, "types"))
    codes = None if types is None else frozenset(EVENT_TYPE_NAMES.index(t) for t in types)
    channel = SimEventsChannel(since, codes)
    return Subscription(("sim-events", since, types), channel, SIM_EVENTS_INTERVAL_MS)


def _event_types(raw: str | None) -> frozenset[str] | None:
    """A comma list of event type names (as events show them in `type`); 400 naming `types`
    for a name that is none."""
    if raw is None:
        return None
    names = frozenset(name.strip() for name in raw.split(","))
    unknown = sorted(name for name in names if name not in EVENT_TYPE_NAMES)
    if unknown:
        raise invalid(
            "types",
            f"unknown event types {', '.join(repr(n) for n in unknown)}: "
            f"a comma list of {', '.join(sorted(EVENT_TYPE_NAMES))}",
        )
    return names


Builder = Callable[[Exchange, str | None, Query], Subscription]

STREAMS: dict[str, tuple[bool, Builder]] = {
    BOOK: (False, book),
    BOARD: (False, board),
    USER: (True, user),
    PERPS_EVENTS: (True, perps_events),
    OPTIONS_EVENTS: (True, options_events),
    BALANCES: (True, balances),
}
"""Each stream's path: (whether it is private, its builder)."""
