"""The engine's objects as OCX puts them on the wire (docs/fidelity.md "Wire conventions").

Prices and sizes are strings padded to the market's decimals; USDC amounts keep 6 dp at most
and show at least 2 (`17.0525`, `1000.00`); instants are ISO-8601 UTC with milliseconds; every
field of an object is always present, `null` when unset; enums are their wire strings.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ocx_sim.auth.keys import ApiKey
from ocx_sim.clock import format_ms
from ocx_sim.engine.commands.execution import Placement
from ocx_sim.engine.core.board import Board, BoardEntry
from ocx_sim.engine.core.events import Event, event_dict
from ocx_sim.engine.core.ledger import LedgerEntry
from ocx_sim.engine.core.markets import (
    FUNDING_INTERVAL_MS,
    FUNDING_MAX_RATE_BPS,
    MarketSpec,
    MarketType,
    OptionType,
    Venue,
    expiry_date,
)
from ocx_sim.engine.core.money import USDC, format_usdc
from ocx_sim.engine.core.orders import Fill, Order
from ocx_sim.engine.core.risk import MarginView
from ocx_sim.engine.core.settlements import CHAIN_ID, NETWORK, Settlement
from ocx_sim.engine.exchange import Exchange
from ocx_sim.engine.views import AssetBalance, Balances, DepthSnapshot, PositionView

Json = dict[str, Any]


def usdc(amount: Decimal) -> str:
    return format_usdc(amount)


def instant(ms: int | None) -> str | None:
    return None if ms is None else format_ms(ms)


def price(spec: MarketSpec, value: Decimal | None) -> str | None:
    """On the market's decimals; an average (or entry) price off the tick is rounded half-even."""
    if value is None:
        return None
    return spec.format_price(value.quantize(spec.tick, rounding=ROUND_HALF_EVEN))


def quantity(spec: MarketSpec, value: Decimal) -> str:
    return spec.format_quantity(value)


def decimal_text(value: Decimal) -> str:
    """A plain decimal (bps, rates) without exponent or trailing zeros: `2`, `4.5`, `-0.5`."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


# -- markets ----------------------------------------------------------------------------------

# GitBook's `type` names a perpetual "perpetual" where docs.ocx.global's `marketType` says "perp".
_GITBOOK_TYPE = {
    MarketType.SPOT: "spot",
    MarketType.PERP: "perpetual",
    MarketType.FUTURE: "future",
    MarketType.OPTION: "option",
}


def market(exchange: Exchange, spec: MarketSpec) -> Json:
    """The union of both doc sets' market shapes (docs/fidelity.md "Market data"):
    docs.ocx.global's names first, GitBook's as extra fields."""
    mark = exchange.mark_price(spec.id)
    band = exchange.price_band(spec.id)
    body: Json = {
        "id": spec.id,
        "symbol": spec.id,
        "marketId": spec.id,
        "marketType": spec.type.value,
        "type": _GITBOOK_TYPE[spec.type],
        "baseSymbol": spec.base,
        "base": spec.base,
        "quoteSymbol": spec.quote,
        "quote": spec.quote,
        "markPrice": price(spec, mark),
        "priceDecimals": spec.price_decimals,
        "sizeDecimals": spec.size_decimals,
        "tickSize": spec.format_price(spec.tick),
        "stepSize": spec.format_quantity(spec.step),
        "minQuantity": spec.format_quantity(spec.min_quantity),
        "tradingStatus": "halted" if exchange.is_halted(spec.id) else "active",
        "priceBandLow": None if band is None else spec.format_price(band[0]),
        "priceBandHigh": None if band is None else spec.format_price(band[1]),
        "makerFeeBps": decimal_text(spec.maker_bps),
        "takerFeeBps": decimal_text(spec.taker_bps),
        "indexMarketId": spec.index_market_id,
    }
    if spec.type is MarketType.PERP:
        body["fundingIntervalMs"] = FUNDING_INTERVAL_MS
        body["fundingMaxRateBps"] = decimal_text(FUNDING_MAX_RATE_BPS)
    if spec.expiry_ms is not None:
        body["expiry"] = format_ms(spec.expiry_ms)
    if spec.type is MarketType.OPTION:
        assert spec.strike is not None and spec.option_type is not None
        body["strike"] = decimal_text(spec.strike)
        body["optionType"] = "call" if spec.option_type.value == "C" else "put"
    return body


def depth(spec: MarketSpec, snapshot: DepthSnapshot) -> Json:
    """`{marketId, bids, asks, sequence, timestamp}`: bids descending, asks ascending, each
    level `[price, quantity]`."""
    return {
        "marketId": snapshot.market_id,
        "bids": [[spec.format_price(p), spec.format_quantity(q)] for p, q in snapshot.bids],
        "asks": [[spec.format_price(p), spec.format_quantity(q)] for p, q in snapshot.asks],
        "sequence": snapshot.sequence,
        "timestamp": format_ms(snapshot.timestamp),
    }


# -- orders, fills, positions -----------------------------------------------------------------


def order(exchange: Exchange, o: Order) -> Json:
    spec = exchange.market(o.market_id)
    filled = spec.quantity(o.filled_lots)
    return {
        "id": o.id,
        "clientOrderId": o.client_order_id,
        "marketId": o.market_id,
        "side": o.side.value,
        "type": o.type.value,
        "price": price(spec, o.price),
        "quantity": quantity(spec, o.quantity),
        "filledQuantity": quantity(spec, filled),
        "remainingQuantity": quantity(spec, spec.quantity(o.remaining)),
        "avgFillPrice": price(spec, o.filled_notional / filled) if filled else None,
        "status": o.status.value,
        "timeInForce": o.time_in_force.value,
        "postOnly": o.post_only,
        "reduceOnly": o.reduce_only,
        "marginMode": o.margin_mode.value,
        "stopPrice": price(spec, o.stop_price),
        "takeProfitPrice": price(spec, o.take_profit_price),
        "stopLossPrice": price(spec, o.stop_loss_price),
        "quoteId": o.quote_id,
        "createdAt": format_ms(o.created_at),
        "updatedAt": format_ms(o.updated_at),
    }


def fill(exchange: Exchange, f: Fill) -> Json:
    """A fill as an order's answer lists it."""
    spec = exchange.market(f.market_id)
    return {
        "tradeId": f.trade_id,
        "price": price(spec, f.price),
        "quantity": quantity(spec, f.quantity),
        "fee": usdc(f.fee),
        "feeRole": f.fee_role,
        "createdAt": format_ms(f.created_at),
    }


def trade(exchange: Exchange, f: Fill) -> Json:
    """A fill in the account's trade lists: the fill plus its order, market and side."""
    body = fill(exchange, f)
    body.update(
        {
            "orderId": f.order_id,
            "marketId": f.market_id,
            "side": f.side,
            "liquidity": f.fee_role,
            "realizedPnl": usdc(f.realized_pnl),
        }
    )
    return body


def position(exchange: Exchange, p: PositionView) -> Json:
    spec = exchange.market(p.market_id)
    return {
        "marketId": p.market_id,
        "side": p.side,
        "quantity": quantity(spec, abs(p.size)),
        "entryPrice": price(spec, p.entry_price),
        "markPrice": price(spec, p.mark_price),
        "unrealizedPnl": usdc(p.unrealized_pnl),
        "realizedPnl": usdc(p.realized_pnl),
        "fundingPayment": usdc(p.funding_payment),
        "liquidationPrice": price(spec, p.liquidation_price),
        "leverage": None if p.leverage is None else decimal_text(p.leverage),
        "marginMode": p.margin_mode.value,
    }


def placement(exchange: Exchange, user_id: str, placed: Placement) -> Json:
    """An order command's answer: the order, its fills, and the position it left (or null)."""
    o = placed.order
    body = order(exchange, o)
    body["fills"] = [fill(exchange, f) for f in placed.fills]
    held = exchange.position(user_id, o.market_id, o.margin_mode)
    body["position"] = None if held is None else position(exchange, held)
    return body


# -- wallet -----------------------------------------------------------------------------------


def asset_amount(exchange: Exchange, asset: str, value: Decimal) -> str:
    """USDC as money; a base asset on its spot market's size decimals."""
    if asset == USDC:
        return usdc(value)
    spec = exchange.catalog.spot_market(asset)
    return decimal_text(value) if spec is None else quantity(spec, value)


def bucket_balances(balances: Balances) -> Json:
    """The four USDC buckets (`spotBalance`: the spot bucket's USDC, locked part included)."""
    return {
        "walletBalance": usdc(balances.wallet),
        "perpsBalance": usdc(balances.perps),
        "optionsBalance": usdc(balances.options),
        "spotBalance": usdc(balances.spot),
    }


def asset_balance(exchange: Exchange, row: AssetBalance) -> Json:
    """One spot asset: USDC as money, a base asset on its spot market's size decimals."""
    return {
        "asset": row.asset,
        "bucket": row.bucket,
        "available": asset_amount(exchange, row.asset, row.available),
        "locked": asset_amount(exchange, row.asset, row.locked),
        "total": asset_amount(exchange, row.asset, row.total),
    }


def portfolio_balances(exchange: Exchange, user_id: str) -> Json:
    """`GET /portfolio/balances`: the USDC buckets and the spot bucket per asset (also the
    balances stream's payload, streams/balances.py)."""
    body = bucket_balances(exchange.balances(user_id))
    body["assets"] = [asset_balance(exchange, row) for row in exchange.spot_assets(user_id)]
    return body


def portfolio_equity(exchange: Exchange, user_id: str) -> Decimal:
    """`/portfolio/me` `equity`: the wallet and spot USDC plus the perps and options equity."""
    balances = exchange.balances(user_id)
    perps = exchange.margin(user_id, Venue.PERPS)
    options = exchange.margin(user_id, Venue.OPTIONS)
    return balances.wallet + perps.equity + options.equity + balances.spot


_USAGE_QUANTUM = Decimal("0.0001")


def margin_usage(view: MarginView) -> str:
    """Initial margin / equity as a fraction with 4 dp; "0.0000" when nothing is held."""
    return f"{view.usage.quantize(_USAGE_QUANTUM, rounding=ROUND_HALF_EVEN):f}"


def perps_balances(exchange: Exchange, user_id: str) -> Json:
    """`GET /perps/balances`: the perps bucket's balance and margin (docs/fidelity.md "Margin
    and liquidation"); here so that the control API's account view answers the same body."""
    view = exchange.margin(user_id, Venue.PERPS)
    return {
        "perpsBalance": usdc(view.balance),
        "equity": usdc(view.equity),
        "unrealizedPnl": usdc(view.unrealized_pnl),
        "initialMargin": usdc(view.initial_margin),
        "maintenanceMargin": usdc(view.maintenance_margin),
        "availableMargin": usdc(view.available),
        "marginUsage": margin_usage(view),
    }


def ledger_entry(exchange: Exchange, e: LedgerEntry) -> Json:
    return {
        "id": e.id,
        "type": e.type,
        "amount": asset_amount(exchange, e.asset, e.amount),
        "asset": e.asset,
        "bucket": e.bucket,
        "txHash": e.tx_hash,
        "createdAt": format_ms(e.created_at),
    }


def settlement(s: Settlement) -> Json:
    return {
        "id": s.id,
        "kind": s.kind.value,
        "status": s.status.value,
        "asset": "USDC",
        "amount": usdc(s.amount),
        "txHash": s.tx_hash,
        "withdrawalId": s.withdrawal_id,
        "walletAddress": s.wallet_address,
        "network": NETWORK,
        "chainId": CHAIN_ID,
        "confirmations": s.confirmations,
        "settledAt": instant(s.settled_at),
        "createdAt": format_ms(s.created_at),
        "updatedAt": format_ms(s.updated_at),
    }


# -- the event log ----------------------------------------------------------------------------


def camel(name: str) -> str:
    """`maker_order_id` → `makerOrderId`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def event_view(event: Event) -> Json:
    """`{seq, ts (ISO), type, …}`: the event's fields camelCased, decimals as plain strings
    (never an exponent), enums as their wire strings, None as null. The one rendering of an
    event: `GET /_sim/events`, the clock's advance, the events stream and the trace file."""
    out: Json = {"seq": event.seq, "ts": format_ms(event.ts)}
    for name, value in event_dict(event).items():
        if name in ("seq", "ts"):
            continue
        out[camel(name)] = f"{value:f}" if isinstance(value, Decimal) else value
    return out


# -- keys -------------------------------------------------------------------------------------


def api_key(key: ApiKey, now_ms: int) -> Json:
    return {
        "id": key.id,
        "name": key.name,
        "scope": key.scope.value,
        "allowedIps": list(key.allowed_ips),
        "expiresAt": instant(key.expires_at),
        "createdAt": format_ms(key.created_at),
        "revokedAt": instant(key.revoked_at),
        "lastUsedAt": instant(key.last_used_at),
        "lastUsedIp": key.last_used_ip,
        "status": key.status(now_ms).value,
    }


# -- the options board ------------------------------------------------------------------------

_CENTS = Decimal("0.01")
_OPTION_TYPES = {OptionType.CALL: "call", OptionType.PUT: "put"}


def _text(value: Decimal) -> str:
    return f"{value:f}"


def board_entry(entry: BoardEntry) -> dict[str, Any]:
    spec = entry.spec
    assert spec.strike is not None and spec.expiry_ms is not None
    assert spec.option_type is not None
    return {
        "marketId": spec.id,
        "strike": spec.format_price(spec.strike),
        "expiry": expiry_date(spec.expiry_ms),
        "type": _OPTION_TYPES[spec.option_type],
        "bid": spec.format_price(entry.bid),
        "ask": spec.format_price(entry.ask),
        "mark": spec.format_price(entry.mark),
        "iv": _text(entry.iv),
        "delta": _text(entry.delta),
        "gamma": _text(entry.gamma),
        "vega": _text(entry.vega),
        "theta": _text(entry.theta),
    }


def board(board: Board) -> dict[str, Any]:
    return {
        "underlyingSymbol": board.underlying,
        "underlyingPrice": _text(board.underlying_price),
        "expiries": [expiry_date(expiry) for expiry in board.expiries],
        "expiryForwards": {
            expiry_date(expiry): {
                "forwardPrice": _text(
                    Decimal(repr(forward.price)).quantize(_CENTS, ROUND_HALF_EVEN)
                ),
                "futuresMarketId": forward.futures_market_id,
            }
            for expiry, forward in board.forwards.items()
        },
        "options": [board_entry(entry) for entry in board.entries],
    }
