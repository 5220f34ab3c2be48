"""JSON Schemas of OCX's wire shapes: one source for `/openapi.json` and the API tests.

Components are named after the OCX objects (`Order`, `Fill`, `Position`, `Market`, `Error`,
…); endpoints refer to them with `ref("Order")`.
"""

from __future__ import annotations

from ocx_sim.gateway.schemas import DECIMAL, INSTANT, Schema, enum, nullable, obj

COMPONENTS: dict[str, Schema] = {
    "Decimal": DECIMAL,
    "Instant": INSTANT,
    "Error": obj(
        {
            "error": {"type": "string"},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "object"},
            "retryAfterMs": {"type": "integer"},
        },
        optional=("details", "retryAfterMs"),
    ),
    "Market": obj(
        {
            "id": {"type": "string"},
            "symbol": {"type": "string"},
            "marketId": {"type": "string"},
            "marketType": enum("spot", "perp", "future", "option"),
            "type": enum("spot", "perpetual", "future", "option"),
            "baseSymbol": {"type": "string"},
            "base": {"type": "string"},
            "quoteSymbol": {"type": "string"},
            "quote": {"type": "string"},
            "markPrice": nullable(DECIMAL),
            "priceDecimals": {"type": "integer"},
            "sizeDecimals": {"type": "integer"},
            "tickSize": DECIMAL,
            "stepSize": DECIMAL,
            "minQuantity": DECIMAL,
            "tradingStatus": enum("active", "halted"),
            "priceBandLow": nullable(DECIMAL),
            "priceBandHigh": nullable(DECIMAL),
            "makerFeeBps": DECIMAL,
            "takerFeeBps": DECIMAL,
            "indexMarketId": nullable({"type": "string"}),
            "fundingIntervalMs": {"type": "integer"},
            "fundingMaxRateBps": DECIMAL,
            "expiry": INSTANT,
            "strike": DECIMAL,
            "optionType": enum("call", "put"),
        },
        optional=("fundingIntervalMs", "fundingMaxRateBps", "expiry", "strike", "optionType"),
    ),
}
