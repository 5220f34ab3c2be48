"""Public market data. Only `/perps/markets` (alias `/markets/linear`) is built so far; the
rest of the surface arrives with the HTTP issue (see the README's status table)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ocx_sim.api.responses import OrjsonResponse
from ocx_sim.clock import format_ms
from ocx_sim.engine.exchange import Exchange
from ocx_sim.engine.markets import FUNDING_INTERVAL_MS, FUNDING_MAX_RATE_BPS, MarketSpec, MarketType

# GitBook's `type` names a perpetual "perpetual" where Mintlify's `marketType` says "perp".
_GITBOOK_TYPE = {
    MarketType.SPOT: "spot",
    MarketType.PERP: "perpetual",
    MarketType.FUTURE: "future",
    MarketType.OPTION: "option",
}


def render_market(exchange: Exchange, spec: MarketSpec) -> dict[str, object]:
    """The union of both doc sets' market shapes (SPEC.md §4.1 [SIM]): Mintlify's names first,
    GitBook's as extra fields."""
    mark = exchange.mark_price(spec.id)
    band = exchange.price_band(spec.id)
    body: dict[str, object] = {
        "id": spec.id,
        "symbol": spec.id,
        "marketId": spec.id,
        "marketType": spec.type.value,
        "type": _GITBOOK_TYPE[spec.type],
        "baseSymbol": spec.base,
        "base": spec.base,
        "quoteSymbol": spec.quote,
        "quote": spec.quote,
        "markPrice": None if mark is None else spec.format_price(mark),
        "priceDecimals": spec.price_decimals,
        "sizeDecimals": spec.size_decimals,
        "tickSize": spec.format_price(spec.tick),
        "stepSize": spec.format_quantity(spec.step),
        "minQuantity": spec.format_quantity(spec.min_quantity),
        "tradingStatus": "halted" if exchange.is_halted(spec.id) else "active",
        "priceBandLow": None if band is None else spec.format_price(band[0]),
        "priceBandHigh": None if band is None else spec.format_price(band[1]),
        "makerFeeBps": f"{spec.maker_bps.normalize():f}",
        "takerFeeBps": f"{spec.taker_bps.normalize():f}",
        "indexMarketId": spec.index_market_id,
    }
    if spec.type is MarketType.PERP:
        body["fundingIntervalMs"] = FUNDING_INTERVAL_MS
        body["fundingMaxRateBps"] = f"{FUNDING_MAX_RATE_BPS.normalize():f}"
    if spec.expiry_ms is not None:
        body["expiry"] = format_ms(spec.expiry_ms)
    return body


async def list_markets(request: Request) -> Response:
    exchange: Exchange = request.app.state.exchange
    return OrjsonResponse([render_market(exchange, spec) for spec in exchange.linear_markets()])
