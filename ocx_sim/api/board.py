"""The options board and DVOL: OCX's public reference marks for an underlying's options.

`GET /markets/board` lists every option still trading with its mark, bid/ask, iv and greeks,
and each expiry's forward; `GET /markets/dvol` is the 30-day implied-volatility index. Both take
`underlying` (default BTC, OCX's primary underlying). The numbers come from the engine
(engine/core/board.py); the formats are docs/fidelity.md "Options": prices on the option's
tick, `iv` and `delta` to 4 decimals, `gamma` to 8, `vega` and `theta` to 4, expiries as
`YYYY-MM-DD` (08:00 UTC that day). An underlying that is not in the catalog, or lists no options,
is 404 UNKNOWN_MARKET naming `underlying`; one without an index is 503 UPSTREAM_DEGRADED.
"""

from __future__ import annotations

from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.clock import format_ms
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, INSTANT, Schema, array, enum, nullable, obj, ref

PRIMARY_UNDERLYING = "BTC"


def _underlying(call: Call) -> str:
    return parse.query_string(call.query, "underlying") or PRIMARY_UNDERLYING


async def get_board(call: Call) -> Any:
    return render.board(call.exchange.board(_underlying(call)))


async def get_dvol(call: Call) -> Any:
    dvol = call.exchange.dvol(_underlying(call))
    return {
        "underlying": dvol.underlying,
        "dvol": f"{dvol.dvol:f}",
        "tenorDays": 30,
        "computedAt": format_ms(dvol.computed_at),
        "sourceTimestamp": format_ms(dvol.source_ts),
    }


_DAY = {"type": "string", "format": "date"}
COMPONENTS: dict[str, Schema] = {
    "BoardOption": obj(
        {
            "marketId": {"type": "string"},
            "strike": DECIMAL,
            "expiry": _DAY,
            "type": enum("call", "put"),
            "bid": DECIMAL,
            "ask": DECIMAL,
            "mark": DECIMAL,
            "iv": DECIMAL,
            "delta": DECIMAL,
            "gamma": DECIMAL,
            "vega": DECIMAL,
            "theta": DECIMAL,
        }
    ),
    "Board": obj(
        {
            "underlyingSymbol": {"type": "string"},
            "underlyingPrice": DECIMAL,
            "expiries": array(_DAY),
            "expiryForwards": {
                "type": "object",
                "additionalProperties": obj(
                    {"forwardPrice": DECIMAL, "futuresMarketId": nullable({"type": "string"})}
                ),
            },
            "options": array(ref("BoardOption")),
        }
    ),
}
_UNDERLYING = {"underlying": {"type": "string", "default": PRIMARY_UNDERLYING}}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/markets/board",
        get_board,
        Access.PUBLIC,
        "Options board: every listed option's mark, bid/ask, iv and greeks, and the forwards",
        response=ref("Board"),
        query=_UNDERLYING,
    ),
    Endpoint(
        "GET",
        "/markets/dvol",
        get_dvol,
        Access.PUBLIC,
        "DVOL: the 30-day constant-maturity at-the-money implied volatility, in vol points",
        response=obj(
            {
                "underlying": {"type": "string"},
                "dvol": DECIMAL,
                "tenorDays": {"const": 30},
                "computedAt": INSTANT,
                "sourceTimestamp": INSTANT,
            }
        ),
        query=_UNDERLYING,
    ),
]
