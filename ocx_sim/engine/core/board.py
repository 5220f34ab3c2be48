"""The options board and DVOL of one underlying: OCX's reference marks, computed on request.

docs/fidelity.md "Options" (OCX publishes the board as reference marks for pricing and risk,
https://docs.ocx.global/methodology/options; the tradable prices are the books):

- every listed option at its mark (`Prices.mark`: Black-76 on its expiry's forward at the
  surface's iv for its strike), with bid and ask the Black-76 values at iv ∓ 1 vol point
  rounded half-even to the tick (bid ≥ 0), and its greeks (core/black76.py);
- `iv` and `delta` to 4 decimals, `gamma` to 8, `vega` and `theta` to 4, prices to 2;
- entries by expiry, then strike, the call before the put;
- DVOL: the 30-day at-the-money iv, linear in total variance σ²T between the listed expiries
  on either side of 30 days (the nearest one's when 30 days is outside them), in vol points.

Without an index there is no forward and no board: 503 UPSTREAM_DEGRADED, like order entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ocx_sim.engine.core.markets import Catalog, MarketSpec, OptionType
from ocx_sim.engine.core.pricing import Forward, OptionInputs, Prices
from ocx_sim.engine.core.surface import T30, years
from ocx_sim.errors import ErrorCode, OcxError

SPREAD_VOL = 0.01
"""Board bid and ask sit one vol point under and over the mark's iv."""
_FOUR = Decimal("0.0001")
_EIGHT = Decimal("1e-8")
_TWO = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BoardEntry:
    spec: MarketSpec
    bid: Decimal
    ask: Decimal
    mark: Decimal
    iv: Decimal
    delta: Decimal
    gamma: Decimal
    vega: Decimal
    theta: Decimal


@dataclass(frozen=True, slots=True)
class Board:
    underlying: str
    underlying_price: Decimal
    """The index S on the perpetual's tick."""
    expiries: list[int]
    forwards: dict[int, Forward]
    entries: list[BoardEntry]


@dataclass(frozen=True, slots=True)
class Dvol:
    underlying: str
    dvol: Decimal
    """Vol points, 2 decimals."""
    computed_at: int
    source_ts: int


def listed(catalog: Catalog, underlying: str, now_ms: int) -> list[MarketSpec]:
    """The underlying's options still trading, in board order."""
    options = [
        m for m in catalog.options(underlying) if m.expiry_ms is not None and m.expiry_ms > now_ms
    ]
    options.sort(key=_board_order)
    return options


def _board_order(spec: MarketSpec) -> tuple[int, Decimal, bool]:
    return spec.expiry_ms or 0, spec.strike or Decimal(0), spec.option_type is OptionType.PUT


def board(catalog: Catalog, prices: Prices, underlying: str, now_ms: int) -> Board:
    """The board (module docstring); 404 when the underlying lists no options."""
    prices.surface(underlying)
    index = _require_index(prices, underlying)
    perp = catalog.markets[catalog.underlyings[underlying].perp_id]
    options = listed(catalog, underlying, now_ms)
    expiries = sorted({m.expiry_ms for m in options if m.expiry_ms is not None})
    forwards: dict[int, Forward] = {}
    for expiry in expiries:
        forward = prices.forward(underlying, expiry, now_ms)
        if forward is None:
            raise _no_index(underlying)
        forwards[expiry] = forward
    entries = [_entry(spec, prices, now_ms) for spec in options]
    return Board(underlying, _on(index, perp.tick), expiries, forwards, entries)


def _entry(spec: MarketSpec, prices: Prices, now_ms: int) -> BoardEntry:
    inputs = prices.option_inputs(spec, now_ms)
    mark = prices.mark(spec, now_ms)
    if inputs is None or mark is None:
        raise _no_index(spec.underlying)
    greeks = inputs.greeks()
    bid, ask = bid_ask(spec, inputs)
    return BoardEntry(
        spec=spec,
        bid=bid,
        ask=ask,
        mark=mark,
        iv=_decimal(inputs.iv, _FOUR),
        delta=_decimal(greeks.delta, _FOUR),
        gamma=_decimal(greeks.gamma, _EIGHT),
        vega=_decimal(greeks.vega, _FOUR),
        theta=_decimal(greeks.theta, _FOUR),
    )


def bid_ask(spec: MarketSpec, inputs: OptionInputs) -> tuple[Decimal, Decimal]:
    """The board's bid and ask: the values at iv ∓ 1 vol point on the tick half-even, the
    bid at least zero (module docstring)."""
    low = inputs.value(iv=inputs.iv - SPREAD_VOL)
    high = inputs.value(iv=inputs.iv + SPREAD_VOL)
    return max(_on(_decimal(low), spec.tick), 0 * spec.tick), _on(_decimal(high), spec.tick)


def dvol(catalog: Catalog, prices: Prices, underlying: str, now_ms: int) -> Dvol:
    """DVOL (module docstring); 404 when the underlying lists no options."""
    surface = prices.surface(underlying)
    _require_index(prices, underlying)
    maturities = sorted(
        {years(m.expiry_ms - now_ms) for m in listed(catalog, underlying, now_ms) if m.expiry_ms}
    )
    if not maturities:
        variance = surface.atm_vol(T30) ** 2 * T30
    else:
        below = [t for t in maturities if t <= T30]
        above = [t for t in maturities if t >= T30]
        if below and above:
            t1, t2 = below[-1], above[0]
        else:
            t1 = t2 = (below or above)[-1 if below else 0]
        w1 = surface.atm_vol(t1) ** 2 * t1
        w2 = surface.atm_vol(t2) ** 2 * t2
        # The same expiry on both sides (30 days listed, or outside the listed ones): its iv.
        same = t2 == t1
        variance = w1 / t1 * T30 if same else w1 + (w2 - w1) * (T30 - t1) / (t2 - t1)
    vol_points = math.sqrt(max(variance, 0.0) / T30) * 100
    return Dvol(underlying, _decimal(vol_points, _TWO), now_ms, now_ms)


def _require_index(prices: Prices, underlying: str) -> Decimal:
    index = prices.index(underlying)
    if index is None:
        raise _no_index(underlying)
    return index


def _no_index(underlying: str) -> OcxError:
    return OcxError(
        ErrorCode.UPSTREAM_DEGRADED,
        f"No options board for {underlying}: its index is unavailable",
        {"underlying": underlying},
    )


def _decimal(x: float, quantum: Decimal | None = None) -> Decimal:
    d = Decimal(repr(x))
    if quantum is not None:
        d = d.quantize(quantum, ROUND_HALF_EVEN)
    return d if d else d.copy_abs()  # never "-0.0000"


def _on(price: Decimal, tick: Decimal) -> Decimal:
    """On the tick, half-even, with the tick's exponent (`69000` on 0.01 is `69000.00`)."""
    return ((price / tick).to_integral_value(rounding=ROUND_HALF_EVEN) * tick).quantize(tick)
