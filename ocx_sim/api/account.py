"""The caller's account: orders, positions, fills, margin and the portfolio.

Every endpoint here is a read of the caller's own objects, open to a session or an API key of scope
`read` or `trade` (docs/fidelity.md "Sign-in, sessions and keys"). The venues split as the order
paths do (orders.py): `/perps/*` lists the linear engine (perpetuals and dated futures; spot too
under the `gitbook` profile, as GitBook's `/perps/orders` takes spot), `/orders/me` the CLOB (spot
and options), `/positions/me` and `/options/trades/me` the options.

Lists are newest first; `limit` is 1–500 (default 100, docs/fidelity.md "Account reads"); a
`marketId` filter naming a market of another venue, or none at all, is 404 UNKNOWN_MARKET.
Positions are the position object of the same section, flat ones left out; `/portfolio/me`
positions add GitBook's `avgPrice` (= `entryPrice`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ocx_sim.api.orders import CLOB, perps_venues
from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.markets import DAY_MS, Venue
from ocx_sim.engine.core.orders import MarginMode
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, Schema, array, enum, obj, ref

OPTIONS: frozenset[Venue] = frozenset({Venue.OPTIONS})
LIMIT_DEFAULT = 100
LIMIT_MAX = 500


def _limit(call: Call) -> int | None:
    return parse.query_int(call.query, "limit", default=LIMIT_DEFAULT, low=1, high=LIMIT_MAX)


def _market_filter(call: Call, venues: Collection[Venue]) -> str | None:
    """The `marketId` filter, if given: a market of this list's venues, else 404."""
    market_id = parse.query_string(call.query, "marketId")
    if market_id is not None and call.exchange.market(market_id).venue not in venues:
        raise OcxError(
            ErrorCode.UNKNOWN_MARKET,
            f"{market_id} is not a market of this list",
            {"marketId": market_id, "field": "marketId"},
        )
    return market_id


def _perps(call: Call) -> frozenset[Venue]:
    return perps_venues(call.world.config.profile)


# -- perps ------------------------------------------------------------------------------------


async def list_perps_orders(call: Call) -> Any:
    """The caller's perps orders, newest first."""
    # Malformed parameters (400) are found before an unknown market (404), in the check order
    # of docs/fidelity.md "Wire conventions".
    venues = _perps(call)
    limit = _limit(call)
    margin_mode = parse.query_choice(call.query, "marginMode", MarginMode)
    orders = call.exchange.orders(
        call.user_id,
        market_id=_market_filter(call, venues),
        margin_mode=margin_mode,
        venues=venues,
        limit=limit,
    )
    return [render.order(call.exchange, o) for o in orders]


async def list_open_perps_orders(call: Call) -> Any:
    """Every resting perps order of the caller, newest first."""
    venues = _perps(call)
    orders = call.exchange.open_orders(
        call.user_id, market_id=_market_filter(call, venues), venues=venues
    )
    return [render.order(call.exchange, o) for o in orders]


async def list_perps_positions(call: Call) -> Any:
    exchange = call.exchange
    return [render.position(exchange, p) for p in exchange.positions(call.user_id, _perps(call))]


async def list_perps_trades(call: Call) -> Any:
    """The caller's perps fills, newest first."""
    venues = _perps(call)
    limit = _limit(call)  # 400 before 404, as above
    fills = call.exchange.fills(
        call.user_id, market_id=_market_filter(call, venues), venues=venues, limit=limit
    )
    return [render.trade(call.exchange, f) for f in fills]


async def get_perps_balances(call: Call) -> Any:
    """The perps bucket's balance and margin (docs/fidelity.md "Margin and liquidation"): equity,
    PnL and the margins over every position (isolated allocations count in the initial margin, each
    isolated position's own maintenance in the maintenance); `availableMargin` is the cross part's
    (risk.py, docs/fidelity.md)."""
    return render.perps_balances(call.exchange, call.user_id)


# -- CLOB: options and spot -------------------------------------------------------------------


async def list_clob_orders(call: Call) -> Any:
    """The caller's spot and options orders, newest first."""
    limit = _limit(call)  # 400 before 404, as above
    orders = call.exchange.orders(
        call.user_id, market_id=_market_filter(call, CLOB), venues=CLOB, limit=limit
    )
    return [render.order(call.exchange, o) for o in orders]


async def list_option_positions(call: Call) -> Any:
    exchange = call.exchange
    return [render.position(exchange, p) for p in exchange.positions(call.user_id, OPTIONS)]


async def list_option_trades(call: Call) -> Any:
    """The caller's option fills, newest first."""
    limit = _limit(call)  # 400 before 404, as above
    fills = call.exchange.fills(
        call.user_id, market_id=_market_filter(call, OPTIONS), venues=OPTIONS, limit=limit
    )
    return [render.trade(call.exchange, f) for f in fills]


# -- portfolio --------------------------------------------------------------------------------


def _portfolio_positions(exchange: Exchange, user_id: str, venues: Collection[Venue]) -> Any:
    rows = []
    for p in exchange.positions(user_id, venues):
        row = render.position(exchange, p)
        row["avgPrice"] = row["entryPrice"]
        rows.append(row)
    return rows


async def get_portfolio(call: Call) -> Any:
    """GitBook's full snapshot (https://ocx.gitbook.io/ocx-doc/ocx/api/portfolio; docs/fidelity.md
    "Account reads"): equity over every bucket (wallet, perps and options equity, spot USDC), PnL,
    the perps bucket's margin, the options bucket's (its scenario margin, core/options_risk.py),
    and the positions."""
    exchange, user_id = call.exchange, call.user_id
    summary = exchange.wallet_summary(user_id)
    perps = exchange.margin(user_id, Venue.PERPS)
    options = exchange.margin(user_id, Venue.OPTIONS)
    return {
        "equity": render.usdc(render.portfolio_equity(exchange, user_id)),
        "tradableBalance": render.usdc(summary.tradable),
        "balances": render.bucket_balances(summary.balances),
        "pnl": {
            "unrealized": render.usdc(perps.unrealized_pnl + options.unrealized_pnl),
            "realized24h": render.usdc(exchange.realized_pnl(user_id, exchange.now_ms - DAY_MS)),
        },
        "margin": {
            "initialMargin": render.usdc(perps.initial_margin),
            "maintenanceMargin": render.usdc(perps.maintenance_margin),
            "marginUsage": render.margin_usage(perps),
        },
        "optionsMargin": {
            "initialMargin": render.usdc(options.initial_margin),
            "maintenanceMargin": render.usdc(options.maintenance_margin),
            "availableMargin": render.usdc(options.available),
            "marginUsage": render.margin_usage(options),
        },
        "positions": _portfolio_positions(exchange, user_id, _perps(call)),
        "optionPositions": _portfolio_positions(exchange, user_id, OPTIONS),
    }


async def get_portfolio_balances(call: Call) -> Any:
    """The USDC buckets and the spot bucket per asset."""
    return render.portfolio_balances(call.exchange, call.user_id)


# -- schemas ----------------------------------------------------------------------------------

_LIMIT: Schema = {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT}
_MARKET_ID: Schema = {"type": "string"}

COMPONENTS: dict[str, Schema] = {
    "PerpsBalances": obj(
        {
            "perpsBalance": DECIMAL,
            "equity": DECIMAL,
            "unrealizedPnl": DECIMAL,
            "initialMargin": DECIMAL,
            "maintenanceMargin": DECIMAL,
            "availableMargin": DECIMAL,
            "marginUsage": DECIMAL,
        }
    ),
    "PortfolioPosition": {"allOf": [ref("Position"), obj({"avgPrice": DECIMAL})]},
    "Portfolio": obj(
        {
            "equity": DECIMAL,
            "tradableBalance": DECIMAL,
            "balances": ref("BucketBalances"),
            "pnl": obj({"unrealized": DECIMAL, "realized24h": DECIMAL}),
            "margin": obj(
                {"initialMargin": DECIMAL, "maintenanceMargin": DECIMAL, "marginUsage": DECIMAL}
            ),
            "optionsMargin": obj(
                {
                    "initialMargin": DECIMAL,
                    "maintenanceMargin": DECIMAL,
                    "availableMargin": DECIMAL,
                    "marginUsage": DECIMAL,
                }
            ),
            "positions": array(ref("PortfolioPosition")),
            "optionPositions": array(ref("PortfolioPosition")),
        }
    ),
    "PortfolioBalances": obj(
        {
            "walletBalance": DECIMAL,
            "perpsBalance": DECIMAL,
            "optionsBalance": DECIMAL,
            "spotBalance": DECIMAL,
            "assets": array(ref("AssetBalance")),
        }
    ),
}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/perps/orders",
        list_perps_orders,
        Access.READ,
        "Your perps orders, newest first",
        response=array(ref("Order")),
        query={
            "limit": _LIMIT,
            "marketId": _MARKET_ID,
            "marginMode": enum("cross", "isolated"),
        },
    ),
    Endpoint(
        "GET",
        "/perps/orders/open",
        list_open_perps_orders,
        Access.READ,
        "Your resting perps orders, newest first",
        response=array(ref("Order")),
        query={"marketId": _MARKET_ID},
    ),
    Endpoint(
        "GET",
        "/perps/positions",
        list_perps_positions,
        Access.READ,
        "Your open perps and futures positions",
        response=array(ref("Position")),
    ),
    Endpoint(
        "GET",
        "/perps/trades",
        list_perps_trades,
        Access.READ,
        "Your perps fills, newest first",
        response=array(ref("Trade")),
        query={"limit": _LIMIT, "marketId": _MARKET_ID},
    ),
    Endpoint(
        "GET",
        "/perps/balances",
        get_perps_balances,
        Access.READ,
        "The perps bucket's balance and margin",
        response=ref("PerpsBalances"),
    ),
    Endpoint(
        "GET",
        "/orders/me",
        list_clob_orders,
        Access.READ,
        "Your options and spot orders, newest first",
        response=array(ref("Order")),
        query={"limit": _LIMIT, "marketId": _MARKET_ID},
        aliases=("/options/orders/me",),
    ),
    Endpoint(
        "GET",
        "/positions/me",
        list_option_positions,
        Access.READ,
        "Your open option positions",
        response=array(ref("Position")),
    ),
    Endpoint(
        "GET",
        "/options/trades/me",
        list_option_trades,
        Access.READ,
        "Your option fills, newest first",
        response=array(ref("Trade")),
        query={"limit": _LIMIT, "marketId": _MARKET_ID},
    ),
    Endpoint(
        "GET",
        "/portfolio/me",
        get_portfolio,
        Access.READ,
        "Your portfolio: equity, balances, PnL, margin and positions",
        response=ref("Portfolio"),
    ),
    Endpoint(
        "GET",
        "/portfolio/balances",
        get_portfolio_balances,
        Access.READ,
        "Your USDC buckets and spot assets",
        response=ref("PortfolioBalances"),
    ),
]
