"""Public market data: markets, books, stats, candles, fees, insurance fund.

Every endpoint here is public. Books are split by engine as the docs split them: the linear
engine's markets (spot, perpetuals, dated futures) at `/perps/orderbook/{marketId}`, the CLOB's
(spot and options) at `/orderbook/{marketId}`; a market of the other engine answers 404
UNKNOWN_MARKET naming the right path. The 24-hour ticker and the candles are read off the
engine's tape (engine/tape.py); the ticker is the union of both doc sets' fields, with the
running funding period of perpetuals (docs/fidelity.md "Market data"). Every price figure of a
ticker is a decimal string: a window without trades shows the mark, so only a market without
a mark (its index withdrawn) has null prices.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.markets import MarketSpec, MarketType
from ocx_sim.engine.core.tape import DAY_MS, Candle
from ocx_sim.engine.exchange import Exchange
from ocx_sim.engine.reactions.funding import PERIODS_PER_HOUR
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, INSTANT, Schema, array, enum, nullable, obj, ref

LINEAR: frozenset[MarketType] = frozenset({MarketType.SPOT, MarketType.PERP, MarketType.FUTURE})
CLOB: frozenset[MarketType] = frozenset({MarketType.SPOT, MarketType.OPTION})

MAX_DEPTH = 1000
"""`?depth=` takes 1 to this many levels per side; without it the whole book."""

RESOLUTIONS_MS: dict[str, int] = {
    "1": 60_000,
    "5": 300_000,
    "15": 900_000,
    "30": 1_800_000,
    "60": 3_600_000,
    "240": 14_400_000,
    "D": 86_400_000,
}
"""TradingView resolutions OCX lists (minutes; `D` one day), as candle widths."""
DEFAULT_RESOLUTION = "15"
DEFAULT_CANDLES = 300
"""Without `from`, the range covers this many candles up to `to` (within the cap)."""
MAX_RANGE_S = 90 * 86_400
"""OCX's REST reference: "range capped to 90 days" (https://docs.ocx.global/api-reference/rest)."""
MAX_UNIX_S = 253_402_300_799
"""9999-12-31T23:59:59Z: a larger `from`/`to` is not unix seconds (milliseconds, most likely)."""


async def list_markets(call: Call) -> Any:
    """All linear markets (spot, perpetuals, unexpired futures), in listing order."""
    exchange = call.exchange
    return [render.market(exchange, spec) for spec in exchange.linear_markets()]


# -- books ------------------------------------------------------------------------------------


def _market_of(
    exchange: Exchange, market_id: str, kinds: Collection[MarketType], other_path: str
) -> MarketSpec:
    """The market if it is one of `kinds`; else 404 UNKNOWN_MARKET pointing at the path that
    serves it."""
    spec = exchange.market(market_id)
    if spec.type not in kinds:
        raise OcxError(
            ErrorCode.UNKNOWN_MARKET,
            f"{market_id} is not served here ({spec.type.value} market); use {other_path}",
            {"marketId": market_id},
        )
    return spec


def _book(call: Call, kinds: Collection[MarketType], other_path: str) -> Any:
    levels = parse.query_int(call.query, "depth", default=None, low=1, high=MAX_DEPTH)
    exchange = call.exchange
    spec = _market_of(exchange, call.path_param("marketId"), kinds, other_path)
    return render.depth(spec, exchange.depth(spec.id, levels))


async def perps_orderbook(call: Call) -> Any:
    """A linear market's aggregated book: bids descending, asks ascending."""
    return _book(call, LINEAR, "/orderbook/{marketId}")


async def orderbook(call: Call) -> Any:
    """A spot or option market's aggregated book (the CLOB), same shape as the perps one."""
    return _book(call, CLOB, "/perps/orderbook/{marketId}")


_OPTION_BOOK = "/markets/board for its mark and /orderbook/{marketId} for its book"
"""Where an option's market data is: the board (api/board.py) and the CLOB's books."""


# -- 24-hour stats ----------------------------------------------------------------------------


def _fixed(value: Decimal, places: int) -> str:
    """`value` half-even to `places` decimals, never `-0.00`."""
    quantized = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if not quantized:
        quantized = quantized.copy_abs()
    return f"{quantized:f}"


def _stats(exchange: Exchange, spec: MarketSpec) -> dict[str, Any]:
    """One market's 24-hour ticker (docs/fidelity.md "Market data"). With trades in the
    window, `last` is the latest, `high24h`/`low24h` their extremes and `change24h` (GitBook,
    a fraction) and `change24hPct` (docs.ocx.global, a percent) run from the window's first
    trade to its last. Without, `last`, `high24h` and `low24h` are the mark and the change
    runs from the mark recorded 24 h earlier (the first one recorded, when the market is
    younger) to the mark. No mark (a withdrawn index), no mark-based figure: null. Spot keeps
    no positions, so it has no open interest (null)."""
    now = exchange.now_ms
    day = exchange.tape.day(spec.id, now)
    mark = exchange.mark_price(spec.id)
    last, high, low = day.last, day.high, day.low
    start, end = day.open, day.last
    if not day.trades:
        last = high = low = end = mark
        start = exchange.tape.mark_at(spec.id, now - DAY_MS) if mark is not None else None
        if start is None:
            start = mark  # nothing recorded yet: the world's first instant
    change_pct = change = None
    if start is not None and end is not None:
        fraction = (end - start) / start
        change_pct, change = _fixed(fraction * 100, 2), _fixed(fraction, 6)
    open_interest = open_interest_usd = None
    if spec.has_positions:
        held = exchange.open_interest(spec.id)
        open_interest = render.quantity(spec, held)
        open_interest_usd = None if mark is None else render.usdc(held * mark)
    return {
        "marketId": spec.id,
        "markPrice": render.price(spec, mark),
        "indexPrice": render.price(spec, exchange.index_price(spec.id)),
        "last": render.price(spec, last),
        "high24h": render.price(spec, high),
        "low24h": render.price(spec, low),
        "change24hPct": change_pct,
        "change24h": change,
        "volume24h": render.quantity(spec, day.volume),
        "volume24hUsd": render.usdc(day.volume_usd),
        "openInterest": open_interest,
        "openInterestUsd": open_interest_usd,
        **_funding(exchange, spec),
    }


def _funding(exchange: Exchange, spec: MarketSpec) -> dict[str, Any]:
    """A perpetual's running funding period (docs/fidelity.md "Prices, funding and expiries"): the
    rate it would settle at now, as a fraction and as the 1-hour percent (12 periods); null for the
    markets that pay no funding."""
    rate = exchange.funding_rate(spec.id)
    if rate is None:
        return {"fundingRate": None, "funding1hPct": None, "nextFundingAt": None}
    return {
        "fundingRate": render.decimal_text(rate),
        "funding1hPct": render.decimal_text(rate * PERIODS_PER_HOUR * 100),
        "nextFundingAt": render.instant(exchange.next_funding_at),
    }


async def market_stats(call: Call) -> Any:
    """With `marketId`: that linear market's ticker; without: every linear market's."""
    exchange = call.exchange
    market_id = parse.query_string(call.query, "marketId")
    if market_id is None:
        return [_stats(exchange, spec) for spec in exchange.linear_markets()]
    return _stats(exchange, _market_of(exchange, market_id, LINEAR, _OPTION_BOOK))


# -- candles ----------------------------------------------------------------------------------


def _unix_seconds(call: Call, name: str, default: int) -> int:
    value = parse.query_int(call.query, name, default=default, low=0, high=MAX_UNIX_S)
    return default if value is None else value


def _range(call: Call, resolution_ms: int) -> tuple[int, int]:
    """(`from`, `to`) in unix seconds: `to` defaults to now, `from` to `DEFAULT_CANDLES`
    candles before it (at most the 90-day cap, so a `D` chart without `from` is served)."""
    to = _unix_seconds(call, "to", call.exchange.now_ms // 1000)
    default_span = min(DEFAULT_CANDLES * resolution_ms // 1000, MAX_RANGE_S)
    start = _unix_seconds(call, "from", max(0, to - default_span))
    if start > to:
        raise invalid("from", f"must not be after to ({to})")
    if to - start > MAX_RANGE_S:
        raise invalid("from", "the range from `from` to `to` is capped at 90 days")
    return start, to


def _udf(spec: MarketSpec, candles: list[Candle]) -> dict[str, Any]:
    if not candles:
        return {"s": "no_data"}
    return {
        "s": "ok",
        "t": [c.start_ms // 1000 for c in candles],
        "o": [spec.format_price(c.open) for c in candles],
        "h": [spec.format_price(c.high) for c in candles],
        "l": [spec.format_price(c.low) for c in candles],
        "c": [spec.format_price(c.close) for c in candles],
        "v": [spec.format_quantity(c.volume) for c in candles],
    }


async def ohlc(call: Call) -> Any:
    """TradingView UDF bars of a linear market: every candle from the one containing `from`
    to the one containing `to`, both included; candles without trades are left out."""
    query = call.query
    symbol = parse.query_string(query, "symbol", required=True)
    assert symbol is not None
    resolution = query.get("resolution") or DEFAULT_RESOLUTION
    resolution_ms = RESOLUTIONS_MS.get(resolution)
    if resolution_ms is None:
        raise invalid("resolution", f"must be one of {', '.join(RESOLUTIONS_MS)}")
    start, to = _range(call, resolution_ms)
    exchange = call.exchange
    spec = _market_of(exchange, symbol, LINEAR, _OPTION_BOOK)
    end_ms = (to * 1000 // resolution_ms + 1) * resolution_ms
    return _udf(spec, exchange.tape.candles(spec.id, resolution_ms, start * 1000, end_ms))


# -- fees and the insurance fund --------------------------------------------------------------


async def perps_fees(call: Call) -> Any:
    """The linear fee tiers by 30-day USD volume; a negative maker rate is a rebate."""
    return [
        {
            "min30dVolumeUsd": render.usdc(tier.min_30d_volume_usd),
            "makerBps": render.decimal_text(tier.maker_bps),
            "takerBps": render.decimal_text(tier.taker_bps),
        }
        for tier in call.exchange.fee_schedule.tiers
    ]


async def options_fees(call: Call) -> Any:
    """Options fees: bps of the underlying notional, capped at a fraction of the premium."""
    fees = call.exchange.fee_schedule.options
    return {
        "makerBps": render.decimal_text(fees.maker_bps),
        "takerBps": render.decimal_text(fees.taker_bps),
        "basis": "underlying_notional",
        "premiumCap": render.decimal_text(fees.premium_cap),
    }


async def insurance_fund(call: Call) -> Any:
    """The fund's balance and its movements, newest first (amounts from the fund's view)."""
    balance, entries = call.exchange.insurance_fund()
    return {
        "balance": render.usdc(balance),
        "history": [
            {
                "type": e.type,
                "amount": render.usdc(e.amount),
                "createdAt": render.instant(e.created_at),
            }
            for e in entries
        ],
    }


# -- schemas ----------------------------------------------------------------------------------

_OPTIONAL = nullable(DECIMAL)
_NULL: Schema = {"type": "null"}
_TICKER_FIGURES = ("last", "high24h", "low24h", "change24hPct", "change24h")


def _ticker(priced: bool) -> Schema:
    """A ticker with a mark (every price figure a decimal string), or without one (its
    index withdrawn: the mark, the index and what would be the mark are null)."""
    figures = DECIMAL if priced else _OPTIONAL
    return obj(
        {
            "marketId": {"type": "string"},
            "markPrice": DECIMAL if priced else _NULL,
            "indexPrice": DECIMAL if priced else _NULL,
            **dict.fromkeys(_TICKER_FIGURES, figures),
            "volume24h": DECIMAL,
            "volume24hUsd": DECIMAL,
            "openInterest": _OPTIONAL,
            "openInterestUsd": _OPTIONAL if priced else _NULL,
            "fundingRate": _OPTIONAL,
            "funding1hPct": _OPTIONAL,
            "nextFundingAt": nullable(INSTANT),
        }
    )


_MARKET_STATS = {"oneOf": [_ticker(priced=True), _ticker(priced=False)]}
_SERIES = array(DECIMAL)
_OHLC = {
    "oneOf": [
        obj(
            {
                "s": {"const": "ok"},
                "t": array({"type": "integer"}),
                "o": _SERIES,
                "h": _SERIES,
                "l": _SERIES,
                "c": _SERIES,
                "v": _SERIES,
            }
        ),
        obj({"s": {"const": "no_data"}}),
    ]
}
_UNIX_S: Schema = {"type": "integer", "minimum": 0, "maximum": MAX_UNIX_S}
_DEPTH: dict[str, Schema] = {"depth": {"type": "integer", "minimum": 1, "maximum": MAX_DEPTH}}

COMPONENTS: dict[str, Schema] = {}
"""This module's shapes are used once each, so they are written inline."""
ENDPOINTS = [
    Endpoint(
        "GET",
        "/perps/markets",
        list_markets,
        Access.PUBLIC,
        "List linear markets: spot, perpetuals and dated futures",
        response=array(ref("Market")),
        aliases=("/markets/linear",),
    ),
    Endpoint(
        "GET",
        "/perps/orderbook/{marketId}",
        perps_orderbook,
        Access.PUBLIC,
        "Order book of a linear market (spot, perpetual, dated future)",
        response=ref("OrderBook"),
        query=_DEPTH,
    ),
    Endpoint(
        "GET",
        "/orderbook/{marketId}",
        orderbook,
        Access.PUBLIC,
        "Order book of a spot or option market",
        response=ref("OrderBook"),
        query=_DEPTH,
        aliases=("/options/orderbook/{marketId}",),
    ),
    Endpoint(
        "GET",
        "/perps/market-stats",
        market_stats,
        Access.PUBLIC,
        "24-hour ticker of one linear market (marketId), or of all of them",
        response={"oneOf": [_MARKET_STATS, array(_MARKET_STATS)]},
        query={"marketId": {"type": "string"}},
    ),
    Endpoint(
        "GET",
        "/perps/ohlc",
        ohlc,
        Access.PUBLIC,
        "Candles of a linear market, TradingView UDF shape",
        response=_OHLC,
        query={
            "symbol": {"type": "string", "x-required": True},
            "resolution": enum(*RESOLUTIONS_MS),
            "from": _UNIX_S,
            "to": _UNIX_S,
        },
    ),
    Endpoint(
        "GET",
        "/perps/fees",
        perps_fees,
        Access.PUBLIC,
        "Linear fee tiers by 30-day USD volume",
        response=array(obj({"min30dVolumeUsd": DECIMAL, "makerBps": DECIMAL, "takerBps": DECIMAL})),
    ),
    Endpoint(
        "GET",
        "/options/fees",
        options_fees,
        Access.PUBLIC,
        "Options fee schedule",
        response=obj(
            {
                "makerBps": DECIMAL,
                "takerBps": DECIMAL,
                "basis": {"const": "underlying_notional"},
                "premiumCap": DECIMAL,
            }
        ),
    ),
    Endpoint(
        "GET",
        "/perps/insurance-fund",
        insurance_fund,
        Access.PUBLIC,
        "Insurance fund balance and history, newest first",
        response=obj(
            {
                "balance": DECIMAL,
                "history": array(
                    obj({"type": {"type": "string"}, "amount": DECIMAL, "createdAt": INSTANT})
                ),
            }
        ),
    ),
]
