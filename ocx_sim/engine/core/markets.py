"""Market specifications and the default catalog, computed from the simulated clock.

The default catalog (docs/fidelity.md "Markets"): per underlying a spot pair, a
perpetual and dated futures, plus a BTC option chain. Market ids follow OCX's conventions (https://ocx.gitbook.io/ocx-doc/ocx/api/conventions)
(`BTC-USDC-SPOT`, `BTC-PERP`, `XAUT-USDC-PERP`, `BTC-USDC-2026-03-27`,
`BTC-2026-01-09-68000-C`). Expiries are derived from the instant the catalog is built for, so a
world can start on any date:

- futures expire on the last Friday of their month at 08:00 UTC; F1 is the first quarter month
  (Mar, Jun, Sep, Dec) whose expiry is still ahead, F2 the quarter after it;
- options expire on Fridays at 08:00 UTC: the next two Fridays (weeklies), the next three
  month-end Fridays still ahead (monthlies), and the Friday before each listed future's expiry
  (where the perpetual's index roll ends, core/index.py);
- strikes sit on a grid around each expiry's forward, F = S × (1 + APR × t/365).

Inside the engine prices and sizes are integer ticks and lots; `MarketSpec` converts, refusing
a price off the tick, a size off the step or under the minimum (400 VALIDATION_ERROR naming the
field).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from ocx_sim.engine.core.money import MAX_INTEGER_DIGITS
from ocx_sim.errors import ErrorCode, OcxError, invalid

EXPIRY_HOUR_UTC = 8
DAY_MS = 86_400_000
YEAR_DAYS = Decimal(365)
QUARTER_MONTHS = (3, 6, 9, 12)
FUNDING_INTERVAL_MS = 300_000
"""Funding every five minutes (OCX's product overview, GitBook `fundingIntervalMs`)."""
FUNDING_MAX_RATE_BPS = Decimal(25)
"""The per-period funding cap, ±25 bps (OCX's product overview)."""
FUNDING_HORIZON_HOURS = 8
"""How long a perpetual's premium takes to be paid off in funding, by default
(docs/fidelity.md "Prices, funding and expiries")."""
PRICE_BAND = Decimal("0.10")
"""Limit prices within ±10 % of the mark; market orders sweep no further (docs/fidelity.md
"Markets": GitBook's BTC-PERP band, 60 000–80 000 around 68 000, is wider than 5 %). Whatever
else reads it follows it, such as the liquidation's closing price on options."""


class MarketType(StrEnum):
    SPOT = "spot"
    PERP = "perp"
    FUTURE = "future"
    OPTION = "option"


class OptionType(StrEnum):
    CALL = "C"
    PUT = "P"


class Venue(StrEnum):
    """The bucket whose USDC a market's trading uses (docs/fidelity.md "Fees and risk")."""

    PERPS = "perps"
    OPTIONS = "options"
    SPOT = "spot"


_VENUE = {
    MarketType.SPOT: Venue.SPOT,
    MarketType.PERP: Venue.PERPS,
    MarketType.FUTURE: Venue.PERPS,
    MarketType.OPTION: Venue.OPTIONS,
}


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One tradable market. Prices in `quote` (USDC) per 1 unit of `base`."""

    id: str
    type: MarketType
    base: str
    quote: str
    underlying: str
    price_decimals: int
    size_decimals: int
    tick: Decimal
    step: Decimal
    min_quantity: Decimal
    maker_bps: Decimal
    taker_bps: Decimal
    max_leverage: int
    index_market_id: str | None = None
    expiry_ms: int | None = None
    strike: Decimal | None = None
    option_type: OptionType | None = None
    band: Decimal | None = PRICE_BAND
    """Fractional distance from the mark that limit prices may not pass; None: no band."""
    flat_fees: bool = False
    """`maker_bps` and `taker_bps` are what every fill pays, whatever the user's volume tier
    (a world's catalog terms); False: they show the fee schedule's base tier (fees.py)."""
    # Derived once, read on every order and fill: attribute reads, where `type is
    # MarketType.SPOT` costs a slow enum class-attribute lookup each time.
    venue: Venue = field(init=False, repr=False, compare=False)
    bucket: str = field(init=False, repr=False, compare=False)
    """`venue.value` as a plain string, for ledger keys."""
    is_spot: bool = field(init=False, repr=False, compare=False)
    is_option: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        venue = _VENUE[self.type]
        object.__setattr__(self, "venue", venue)
        object.__setattr__(self, "bucket", venue.value)
        object.__setattr__(self, "is_spot", self.type is MarketType.SPOT)
        object.__setattr__(self, "is_option", self.type is MarketType.OPTION)

    @property
    def is_linear(self) -> bool:
        """Listed by `/perps/markets`: spot, perpetuals and dated futures (OCX's REST reference)."""
        return self.type is not MarketType.OPTION

    @property
    def has_positions(self) -> bool:
        """Perps, futures and options keep signed positions; spot moves inventory."""
        return self.type is not MarketType.SPOT

    def expired_at(self, now_ms: int) -> bool:
        return self.expiry_ms is not None and now_ms >= self.expiry_ms

    # -- conversions between wire decimals and the book's integers ---------------------------

    def to_ticks(self, price: Decimal, field_name: str = "price") -> int:
        """A positive price on the tick → integer ticks; else 400 naming `field_name`."""
        return _units(price, self.tick, field_name, "tick size")

    def to_lots(self, quantity: Decimal, field_name: str = "quantity") -> int:
        """A quantity on the step and at least the minimum → integer lots; else 400."""
        lots = _units(quantity, self.step, field_name, "step size")
        if quantity < self.min_quantity:
            raise invalid(field_name, f"{quantity} is below the minimum {self.min_quantity}")
        return lots

    def price(self, ticks: int) -> Decimal:
        return self.tick * ticks

    def quantity(self, lots: int) -> Decimal:
        return self.step * lots

    def ticks_floor(self, price: Decimal) -> int:
        """The last tick at or below `price`."""
        return int((price / self.tick).to_integral_value(rounding=ROUND_FLOOR))

    def ticks_ceil(self, price: Decimal) -> int:
        """The first tick at or above `price` (Decimal `//` truncates toward zero, so it cannot
        give a ceiling by negation)."""
        return int((price / self.tick).to_integral_value(rounding=ROUND_CEILING))

    def format_price(self, price: Decimal) -> str:
        """Padded to `priceDecimals` (docs/fidelity.md "Wire conventions")."""
        return f"{price:.{self.price_decimals}f}"

    def format_quantity(self, quantity: Decimal) -> str:
        return f"{quantity:.{self.size_decimals}f}"


def _units(value: Decimal, unit: Decimal, field_name: str, unit_name: str) -> int:
    """How many `unit`s make `value` exactly, or 400 naming the field."""
    if not value.is_finite():
        raise invalid(field_name, "must be a finite decimal number")
    if not value > 0:
        raise invalid(field_name, "must be greater than zero")
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise invalid(field_name, f"must be below 1e{MAX_INTEGER_DIGITS}")
    # `divmod` is exact: its remainder is what is left off the grid, even of an input longer
    # than Decimal's 28 digits (a plain division could round that onto the tick), and the
    # quotient fits in them below 1e15 units of 1e-12.
    whole, off_grid = divmod(value, unit)
    if off_grid:
        raise invalid(field_name, f"{value} is not a multiple of the {unit_name} {unit}")
    return int(whole)


@dataclass(frozen=True, slots=True)
class UnderlyingSpec:
    """One underlying's terms: its index default and the markets listed on it."""

    symbol: str
    index_price: Decimal
    carry_apr: Decimal
    price_decimals: int
    size_decimals: int
    max_leverage: int
    spot_id: str
    perp_id: str
    future_prefix: str
    futures: int
    """How many dated futures are listed at once (F1, F2)."""
    strike_step: Decimal | None = None
    """Strike grid spacing; None lists no options on this underlying."""
    strike_span: Decimal = Decimal("0.2")
    """Strikes cover the forward ± this fraction."""
    funding_horizon_hours: int = FUNDING_HORIZON_HOURS
    """H of its perpetual's funding: a premium is paid off over this many hours
    (reactions/funding.py)."""

    def future_id(self, expiry_ms: int) -> str:
        return f"{self.future_prefix}-{expiry_date(expiry_ms)}"

    def option_id(self, expiry_ms: int, strike: Decimal, option_type: OptionType) -> str:
        return f"{self.symbol}-{expiry_date(expiry_ms)}-{strike:f}-{option_type.value}"


DEFAULT_UNDERLYINGS: tuple[UnderlyingSpec, ...] = (
    UnderlyingSpec(
        symbol="BTC",
        index_price=Decimal("68000.00"),
        carry_apr=Decimal("0.05"),
        price_decimals=2,
        size_decimals=4,
        max_leverage=20,
        spot_id="BTC-USDC-SPOT",
        perp_id="BTC-PERP",
        future_prefix="BTC-USDC",
        futures=2,
        strike_step=Decimal(2000),
    ),
    UnderlyingSpec(
        symbol="XAUT",
        index_price=Decimal("4000.00"),
        carry_apr=Decimal("0.05"),
        price_decimals=2,
        size_decimals=3,
        max_leverage=20,
        spot_id="XAUT-USDC-SPOT",
        perp_id="XAUT-USDC-PERP",
        future_prefix="XAUT-USDC",
        futures=1,
    ),
    UnderlyingSpec(
        symbol="WTIOIL",
        index_price=Decimal("70.00"),
        carry_apr=Decimal("0.05"),
        price_decimals=2,
        size_decimals=2,
        max_leverage=10,
        spot_id="WTIOIL-USDC-SPOT",
        perp_id="WTIOIL-PERP",
        future_prefix="WTIOIL-USDC",
        futures=2,
    ),
)

# Fees of the base tier (GitBook BTC-PERP: maker 2, taker 5 bps); options 2 / 3 bps of the
# underlying notional (docs/fidelity.md "Fees and risk").
LINEAR_MAKER_BPS = Decimal(2)
LINEAR_TAKER_BPS = Decimal(5)
OPTION_MAKER_BPS = Decimal(2)
OPTION_TAKER_BPS = Decimal(3)
OPTION_PRICE_DECIMALS = 2
OPTION_SIZE_DECIMALS = 2


@dataclass(slots=True)
class Catalog:
    """Every market of a world by id, in listing order, and the underlyings they sit on."""

    underlyings: dict[str, UnderlyingSpec]
    markets: dict[str, MarketSpec] = field(default_factory=dict)
    _futures: dict[str, tuple[int, list[str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Per underlying, (how many markets were listed, its futures' ids): every option's mark
    looks its expiry's future up (pricing.py), and the catalog only grows."""

    def add(self, spec: MarketSpec) -> None:
        if spec.id in self.markets:
            raise ValueError(f"market {spec.id} is listed twice")
        if spec.price_decimals + spec.size_decimals > 6:
            # price × quantity must stay within the USDC quantum so that notionals, costs and
            # realized PnL are exact (money.py).
            raise ValueError(f"market {spec.id}: price and size decimals exceed 6 together")
        self.markets[spec.id] = spec

    def get(self, market_id: str) -> MarketSpec:
        """The market, or 404 UNKNOWN_MARKET."""
        spec = self.markets.get(market_id)
        if spec is None:
            raise OcxError(
                ErrorCode.UNKNOWN_MARKET, f"Unknown market {market_id!r}", {"marketId": market_id}
            )
        return spec

    def __contains__(self, market_id: object) -> bool:
        return market_id in self.markets

    def __iter__(self) -> Iterator[MarketSpec]:
        return iter(self.markets.values())

    def __len__(self) -> int:
        return len(self.markets)

    def linear(self, now_ms: int) -> list[MarketSpec]:
        """`/perps/markets`: spot, perps and futures, expired futures left out."""
        return [m for m in self.markets.values() if m.is_linear and not m.expired_at(now_ms)]

    def options(self, underlying: str | None = None) -> list[MarketSpec]:
        return [
            m
            for m in self.markets.values()
            if m.type is MarketType.OPTION and (underlying is None or m.underlying == underlying)
        ]

    def spot_market(self, asset: str) -> MarketSpec | None:
        """The spot pair that trades `asset` against USDC (its size decimals are the asset's)."""
        return next((m for m in self.markets.values() if m.is_spot and m.base == asset), None)

    def futures(self, underlying: str) -> list[MarketSpec]:
        markets = self.markets
        cached = self._futures.get(underlying)
        if cached is None or cached[0] != len(markets):
            ids = [
                m.id
                for m in markets.values()
                if m.type is MarketType.FUTURE and m.underlying == underlying
            ]
            cached = self._futures[underlying] = (len(markets), ids)
        # By id: a world built from a scenario may replace a spec with its terms (same id).
        return [markets[market_id] for market_id in cached[1]]


# -- expiry calendar ------------------------------------------------------------------------


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms // 1000, tz=UTC).date()


def expiry_date(ms: int) -> str:
    """An expiry as market ids and the options board write it: its UTC date (`YYYY-MM-DD`;
    the instant is 08:00 that day)."""
    return _day(ms).isoformat()


def _at_expiry_hour(day: date) -> int:
    moment = datetime(day.year, day.month, day.day, EXPIRY_HOUR_UTC, tzinfo=UTC)
    return int(moment.timestamp()) * 1000


def last_friday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - calendar.FRIDAY) % 7)


def _months_from(year: int, month: int) -> Iterator[tuple[int, int]]:
    while True:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def quarterly_expiries(now_ms: int, count: int) -> list[int]:
    """The next `count` quarterly futures expiries still ahead of `now_ms` (unix ms)."""
    today = _day(now_ms)
    out: list[int] = []
    for year, month in _months_from(today.year, today.month):
        if month in QUARTER_MONTHS:
            expiry = _at_expiry_hour(last_friday(year, month))
            if expiry > now_ms:
                out.append(expiry)
                if len(out) == count:
                    return out
    raise AssertionError("unreachable: the month iterator never ends")


def option_expiries(now_ms: int, future_expiries: list[int]) -> list[int]:
    """Option expiries still ahead of `now_ms`, ascending (the rule in the module docstring)."""
    today = _day(now_ms)
    chosen: set[int] = set()
    friday = today + timedelta(days=(calendar.FRIDAY - today.weekday()) % 7)
    weeklies = 0
    while weeklies < 2:
        expiry = _at_expiry_hour(friday)
        if expiry > now_ms:
            chosen.add(expiry)
            weeklies += 1
        friday += timedelta(days=7)
    months = _months_from(today.year, today.month)
    monthlies = 0
    while monthlies < 3:
        year, month = next(months)
        expiry = _at_expiry_hour(last_friday(year, month))
        if expiry > now_ms:
            chosen.add(expiry)
            monthlies += 1
    for future in future_expiries:
        before = future - 7 * DAY_MS
        if before > now_ms:
            chosen.add(before)
    return sorted(chosen)


def carry_forward(index: Decimal, apr: Decimal, now_ms: int, expiry_ms: int) -> Decimal:
    """The carry fair value F = S × (1 + APR × t/365), t in days (OCX's futures methodology)."""
    days = Decimal(max(0, expiry_ms - now_ms)) / DAY_MS
    return index * (1 + apr * days / YEAR_DAYS)


def strike_grid(forward: Decimal, step: Decimal, span: Decimal) -> list[Decimal]:
    """Strikes on multiples of `step` within forward × (1 ± span), ascending."""
    low = (forward * (1 - span) / step).to_integral_value(rounding=ROUND_CEILING)
    high = (forward * (1 + span) / step).to_integral_value(rounding=ROUND_FLOOR)
    return [step * k for k in range(int(low), int(high) + 1) if k > 0]


# -- the default catalog --------------------------------------------------------------------


def default_catalog(
    now_ms: int, underlyings: tuple[UnderlyingSpec, ...] = DEFAULT_UNDERLYINGS
) -> Catalog:
    """The default listing (docs/fidelity.md "Markets") for a world whose clock starts at
    `now_ms`."""
    catalog = Catalog({u.symbol: u for u in underlyings})
    for spec in due_listings(catalog, now_ms, {u.symbol: u.index_price for u in underlyings}):
        catalog.add(spec)
    return catalog


def due_listings(catalog: Catalog, now_ms: int, indexes: dict[str, Decimal]) -> list[MarketSpec]:
    """The markets the listing rule (module docstring) wants at `now_ms` that `catalog` lacks:
    linear markets first, then option chains, whose strikes sit around each expiry's forward
    from `indexes` (an underlying without an index lists no new options)."""
    wanted: list[MarketSpec] = []
    for u in catalog.underlyings.values():
        wanted += _linear_markets(u, now_ms)
    future_expiries = {
        u.symbol: [
            m.expiry_ms or 0
            for m in wanted
            if m.type is MarketType.FUTURE and m.underlying == u.symbol
        ]
        for u in catalog.underlyings.values()
    }
    for u in catalog.underlyings.values():
        index = indexes.get(u.symbol)
        if u.strike_step is not None and index is not None:
            listed = {m.expiry_ms for m in catalog.options(u.symbol)}
            for expiry in option_expiries(now_ms, future_expiries[u.symbol]):
                if expiry not in listed:
                    wanted += _option_chain(u, now_ms, expiry, index)
    return [spec for spec in wanted if spec.id not in catalog]


def _linear_markets(u: UnderlyingSpec, now_ms: int) -> list[MarketSpec]:
    tick = Decimal(1).scaleb(-u.price_decimals)
    step = Decimal(1).scaleb(-u.size_decimals)

    def linear(market_id: str, kind: MarketType, expiry_ms: int | None = None) -> MarketSpec:
        return MarketSpec(
            id=market_id,
            type=kind,
            base=u.symbol,
            quote="USDC",
            underlying=u.symbol,
            price_decimals=u.price_decimals,
            size_decimals=u.size_decimals,
            tick=tick,
            step=step,
            min_quantity=step,
            maker_bps=LINEAR_MAKER_BPS,
            taker_bps=LINEAR_TAKER_BPS,
            # Spot pays in full (docs/fidelity.md "Fees and risk"): no leverage.
            max_leverage=1 if kind is MarketType.SPOT else u.max_leverage,
            index_market_id=None if kind is MarketType.SPOT else u.spot_id,
            expiry_ms=expiry_ms,
        )

    markets = [linear(u.spot_id, MarketType.SPOT), linear(u.perp_id, MarketType.PERP)]
    markets += [
        linear(u.future_id(expiry), MarketType.FUTURE, expiry)
        for expiry in quarterly_expiries(now_ms, u.futures)
    ]
    return markets


def _option_chain(u: UnderlyingSpec, now_ms: int, expiry: int, index: Decimal) -> list[MarketSpec]:
    """Calls and puts of one expiry on the strike grid around its forward."""
    assert u.strike_step is not None
    markets: list[MarketSpec] = []
    forward = carry_forward(index, u.carry_apr, now_ms, expiry)
    for strike in strike_grid(forward, u.strike_step, u.strike_span):
        for option_type in OptionType:
            markets.append(
                MarketSpec(
                    id=u.option_id(expiry, strike, option_type),
                    type=MarketType.OPTION,
                    base=u.symbol,
                    quote="USDC",
                    underlying=u.symbol,
                    price_decimals=OPTION_PRICE_DECIMALS,
                    size_decimals=OPTION_SIZE_DECIMALS,
                    tick=Decimal(1).scaleb(-OPTION_PRICE_DECIMALS),
                    step=Decimal(1).scaleb(-OPTION_SIZE_DECIMALS),
                    min_quantity=Decimal(1).scaleb(-OPTION_SIZE_DECIMALS),
                    maker_bps=OPTION_MAKER_BPS,
                    taker_bps=OPTION_TAKER_BPS,
                    max_leverage=1,
                    index_market_id=u.spot_id,
                    expiry_ms=expiry,
                    strike=strike,
                    option_type=option_type,
                    # Option premiums are far from linear in the underlying: a ±10 % band
                    # on a model mark would refuse ordinary quotes. Options have no band
                    # (docs/fidelity.md "Markets").
                    band=None,
                )
            )
    return markets
