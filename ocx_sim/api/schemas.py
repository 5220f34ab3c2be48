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

_ULID: Schema = {"type": "string", "minLength": 26, "maxLength": 26}
_SIDE = enum("buy", "sell")
_PRICE = nullable(DECIMAL)

COMPONENTS.update(
    {
        "Order": obj(
            {
                "id": _ULID,
                "clientOrderId": nullable({"type": "string"}),
                "marketId": {"type": "string"},
                "side": _SIDE,
                "type": enum("limit", "market"),
                "price": _PRICE,
                "quantity": DECIMAL,
                "filledQuantity": DECIMAL,
                "remainingQuantity": DECIMAL,
                "avgFillPrice": _PRICE,
                "status": enum(
                    "open", "partially_filled", "filled", "cancelled", "expired", "untriggered"
                ),
                "timeInForce": enum("gtc", "ioc", "fok"),
                "postOnly": {"type": "boolean"},
                "reduceOnly": {"type": "boolean"},
                "marginMode": enum("cross", "isolated"),
                "stopPrice": _PRICE,
                "takeProfitPrice": _PRICE,
                "stopLossPrice": _PRICE,
                "quoteId": nullable({"type": "string"}),
                "createdAt": INSTANT,
                "updatedAt": INSTANT,
            }
        ),
        "Fill": obj(
            {
                "tradeId": _ULID,
                "price": DECIMAL,
                "quantity": DECIMAL,
                "fee": DECIMAL,
                "feeRole": enum("maker", "taker"),
                "createdAt": INSTANT,
            }
        ),
        "Trade": obj(
            {
                "tradeId": _ULID,
                "orderId": _ULID,
                "marketId": {"type": "string"},
                "side": _SIDE,
                "price": DECIMAL,
                "quantity": DECIMAL,
                "fee": DECIMAL,
                "feeRole": enum("maker", "taker"),
                "liquidity": enum("maker", "taker"),
                "realizedPnl": DECIMAL,
                "createdAt": INSTANT,
            }
        ),
        "Position": obj(
            {
                "marketId": {"type": "string"},
                "side": enum("long", "short"),
                "quantity": DECIMAL,
                "entryPrice": DECIMAL,
                "markPrice": _PRICE,
                "unrealizedPnl": DECIMAL,
                "realizedPnl": DECIMAL,
                "fundingPayment": DECIMAL,
                "liquidationPrice": _PRICE,
                "leverage": nullable(DECIMAL),
                "marginMode": enum("cross", "isolated"),
            }
        ),
        "OrderBook": obj(
            {
                "marketId": {"type": "string"},
                "bids": {"type": "array", "items": {"type": "array", "items": DECIMAL}},
                "asks": {"type": "array", "items": {"type": "array", "items": DECIMAL}},
                "sequence": {"type": "integer"},
                "timestamp": INSTANT,
            }
        ),
        "LedgerEntry": obj(
            {
                "id": _ULID,
                "type": {"type": "string"},
                "amount": DECIMAL,
                "asset": {"type": "string"},
                "bucket": {"type": "string"},
                "txHash": nullable({"type": "string"}),
                "createdAt": INSTANT,
            }
        ),
        "Settlement": obj(
            {
                "id": _ULID,
                "kind": enum("deposit", "withdraw"),
                "status": enum(
                    "pending",
                    "processing",
                    "sent",
                    "confirmed",
                    "failed",
                    "insufficient_liquidity",
                ),
                "asset": {"const": "USDC"},
                "amount": DECIMAL,
                "txHash": nullable({"type": "string"}),
                "withdrawalId": nullable(_ULID),
                "walletAddress": {"type": "string"},
                "network": {"type": "string"},
                "chainId": {"type": "integer"},
                "confirmations": {"type": "integer"},
                "settledAt": nullable(INSTANT),
                "createdAt": INSTANT,
                "updatedAt": INSTANT,
            }
        ),
        "ApiKey": obj(
            {
                "id": _ULID,
                "name": {"type": "string"},
                "scope": enum("read", "trade"),
                "allowedIps": {"type": "array", "items": {"type": "string"}},
                "expiresAt": nullable(INSTANT),
                "createdAt": INSTANT,
                "revokedAt": nullable(INSTANT),
                "lastUsedAt": nullable(INSTANT),
                "lastUsedIp": nullable({"type": "string"}),
                "status": enum("active", "expired", "revoked"),
            }
        ),
    }
)
COMPONENTS["Placement"] = {
    "allOf": [
        {"$ref": "#/components/schemas/Order"},
        obj(
            {
                "fills": {"type": "array", "items": {"$ref": "#/components/schemas/Fill"}},
                "position": nullable({"$ref": "#/components/schemas/Position"}),
            }
        ),
    ]
}
