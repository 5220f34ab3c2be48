"""Public market data (SPEC.md §4.1): markets, books, stats, candles, fees, insurance fund."""

from __future__ import annotations

from typing import Any

from ocx_sim.api import render
from ocx_sim.auth.policy import Access
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import Schema, array, ref


async def list_markets(call: Call) -> Any:
    """All linear markets (spot, perpetuals, unexpired futures), in listing order."""
    exchange = call.exchange
    return [render.market(exchange, spec) for spec in exchange.linear_markets()]


COMPONENTS: dict[str, Schema] = {}
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
]
