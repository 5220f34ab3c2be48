"""The options volatility surface (docs/control-api.md "Options"): read it, set it.

- `GET /_sim/options/{underlying}/surface` answers the four parameters (engine/core/surface.py)
  and, for every expiry the underlying's options still trade (ascending, written as the board
  writes it, `YYYY-MM-DD`), the raw-SVI slice of total variance w = iv²·T in k = ln(K/F) at
  this instant: `surface.slice(years(expiry − now))`, so the board's iv of a strike K on that
  expiry is √(w(k)/T) with F the expiry's forward. Parameters are the decimals as set; the SVI
  values are floats written with `SVI_DECIMALS` decimals, rounded half-even, never with an
  exponent.
- `POST` takes any of `atmVol`, `termSlope`, `skew`, `smile` (fractions as decimal strings),
  sets them at once through `exchange.sim.set_surface` (the others kept) and answers the GET
  body. An empty object changes nothing (no `SurfaceSet` is logged). A key that is not a
  parameter is 400 naming it, not ignored as elsewhere: a misspelt `atmvol` would otherwise
  answer 200 and leave the surface as it was. A value that is not a decimal string is 400
  naming it; a surface with arbitrage (`atmVol` ≤ 0 included) is 422 VALIDATION_ERROR naming
  the first parameter given (in the order above), and nothing changes.

An underlying outside the catalog, or one that lists no options (XAUT, WTIOIL), is 404
UNKNOWN_MARKET naming `underlying`. Bad input is refused before the underlying is looked up.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.board import listed
from ocx_sim.engine.core.markets import expiry_date
from ocx_sim.engine.core.surface import PARAMETERS, years
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import invalid
from ocx_sim.gateway import parse
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, Schema, array, obj, ref

SVI_DECIMALS = 10
"""Decimals of the SVI values: w to 1e-10 keeps the board's 4-decimal iv exact even for an
expiry hours away (w ≈ 1e-4 there)."""
_SVI_QUANTUM = Decimal(1).scaleb(-SVI_DECIMALS)
_SVI_FIELDS = ("a", "b", "rho", "m", "sigma")


def _svi_value(x: float) -> str:
    d = Decimal(repr(x)).quantize(_SVI_QUANTUM, ROUND_HALF_EVEN)
    return f"{d if d else d.copy_abs():f}"  # never "-0.0000000000"


def surface_body(exchange: Exchange, underlying: str) -> dict[str, Any]:
    """The GET body (module docstring); 404 for an underlying without options."""
    surface = exchange.surface(underlying)
    params = surface.params.as_wire()
    now = exchange.now_ms
    expiries = sorted(
        {m.expiry_ms for m in listed(exchange.catalog, underlying, now) if m.expiry_ms}
    )
    return {
        "underlying": underlying,
        **{name: f"{params[name]:f}" for name in ("atmVol", "skew", "smile", "termSlope")},
        "expiries": [
            {
                "expiry": expiry_date(expiry),
                "svi": dict(
                    zip(
                        _SVI_FIELDS,
                        map(_svi_value, surface.slice(years(expiry - now))),
                        strict=True,
                    )
                ),
            }
            for expiry in expiries
        ],
    }


def _parameters(body: dict[str, Any]) -> dict[str, Decimal]:
    """The parameters given, by wire name; 400 naming an unknown key or a bad value."""
    for key in body:
        if key not in PARAMETERS:
            raise invalid(key, f"is not a surface parameter (one of {', '.join(PARAMETERS)})")
    given: dict[str, Decimal] = {}
    for name in PARAMETERS:
        value = parse.optional_decimal(body, name, positive=False)
        if value is not None:
            given[name] = value
    return given


async def get_surface(call: Call) -> Any:
    """The surface's parameters and each listed expiry's raw-SVI slice."""
    return surface_body(call.exchange, call.path_param("underlying"))


async def set_surface(call: Call) -> Any:
    """Set some of the surface's parameters at once; answers the GET body."""
    given = _parameters(call.body)
    exchange = call.exchange
    underlying = call.path_param("underlying")
    exchange.surface(underlying)  # 404 before anything changes
    if given:
        exchange.sim.set_surface(
            underlying,
            atm_vol=given.get("atmVol"),
            term_slope=given.get("termSlope"),
            skew=given.get("skew"),
            smile=given.get("smile"),
        )
    return surface_body(exchange, underlying)


COMPONENTS: dict[str, Schema] = {
    "SimSurface": obj(
        {
            "underlying": {"type": "string"},
            "atmVol": DECIMAL,
            "skew": DECIMAL,
            "smile": DECIMAL,
            "termSlope": DECIMAL,
            "expiries": array(
                obj(
                    {
                        "expiry": {"type": "string", "format": "date"},
                        "svi": obj(dict.fromkeys(_SVI_FIELDS, DECIMAL)),
                    }
                )
            ),
        }
    ),
}
SURFACE_REQUEST: Schema = {
    **obj(dict.fromkeys(PARAMETERS, DECIMAL), optional=PARAMETERS),
    "additionalProperties": False,
}
ENDPOINTS = [
    Endpoint(
        "GET",
        "/_sim/options/{underlying}/surface",
        get_surface,
        Access.PUBLIC,
        "The underlying's implied-volatility surface: its parameters and each listed "
        "expiry's raw-SVI slice",
        response=ref("SimSurface"),
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/options/{underlying}/surface",
        set_surface,
        Access.PUBLIC,
        "Set some of the surface's parameters at once (an arbitrageable surface is 422)",
        response=ref("SimSurface"),
        request=SURFACE_REQUEST,
        tag="control",
    ),
]
