"""ocx-sim: a deterministic, controllable simulator of the OCX derivatives exchange API.

The public API for using the engine from Python. Importing this package loads no web stack.
"""

from ocx_sim.clock import DEFAULT_START_MS, SimClock, WallClock, format_ms, parse_iso
from ocx_sim.engine.commands.quotes import QuoteRequest
from ocx_sim.engine.commands.strategy import StrategyLeg
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.markets import MarketSpec, MarketType, default_catalog
from ocx_sim.engine.core.orders import (
    MarginMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError

__all__ = [
    "DEFAULT_START_MS",
    "Bucket",
    "ErrorCode",
    "Exchange",
    "MarginMode",
    "MarketSpec",
    "MarketType",
    "OcxError",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "QuoteRequest",
    "Side",
    "SimClock",
    "StrategyLeg",
    "TimeInForce",
    "WallClock",
    "default_catalog",
    "format_ms",
    "parse_iso",
]
