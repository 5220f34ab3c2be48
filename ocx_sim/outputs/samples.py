"""What a run's report charts, sampled on the simulated clock between the run's advance steps.

Every sample records, at the world's instant: each charted market's mark and index, each
charted perpetual's funding rate for the running period, and each scenario account's equity
(`portfolio_equity`: wallet and spot USDC plus the perps and options equity). The charted
markets are those the scenario names (in the order it first names them), or every perpetual
when it names none. Liquidations are read off the event log at the end, so none is missed
between two samples.

The caller advances the clock by `sample_interval` and samples after each step: at least a
simulated minute apart, and at most `MAX_SAMPLES` + 1 samples, so a week-long run's report
stays a few hundred kilobytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ocx_sim.clock import format_ms
from ocx_sim.engine.core.events import AccountLiquidated
from ocx_sim.engine.core.markets import MarketType
from ocx_sim.engine.exchange import Exchange
from ocx_sim.gateway.render import portfolio_equity
from ocx_sim.scenarios.player import Run

MIN_INTERVAL_MS = 60_000
MAX_SAMPLES = 720


def sample_interval(duration_ms: int) -> int:
    """A simulated minute, or longer when the run would take more than `MAX_SAMPLES` of them."""
    return max(MIN_INTERVAL_MS, -(-duration_ms // MAX_SAMPLES))


def _number(value: Decimal | None) -> float | None:
    # Charts plot floats; a missing price (no index, an expired market) is a gap.
    return None if value is None else float(value)


@dataclass
class Samples:
    """The series a report charts, one value per sample instant (None: no value then)."""

    times_ms: list[int] = field(default_factory=list)
    marks: dict[str, list[float | None]] = field(default_factory=dict)
    indexes: dict[str, list[float | None]] = field(default_factory=dict)
    funding: dict[str, list[float | None]] = field(default_factory=dict)
    """Per perpetual: the running period's rate so far."""
    equity: dict[str, list[float | None]] = field(default_factory=dict)
    """Per scenario account, by its name."""


class Sampler:
    """Samples one scenario run's world (module docstring)."""

    def __init__(self, exchange: Exchange, run: Run) -> None:
        self._exchange = exchange
        self._run = run
        self._accounts = accounts = dict(run.users)
        """Scenario account name → userId."""
        named = list(dict.fromkeys(run.markets.values()))
        self.markets = named or [
            spec.id for spec in exchange.linear_markets() if spec.type is MarketType.PERP
        ]
        self.perpetuals = [m for m in self.markets if exchange.market(m).type is MarketType.PERP]
        self.samples = Samples(
            marks={m: [] for m in self.markets},
            indexes={m: [] for m in self.markets},
            funding={m: [] for m in self.perpetuals},
            equity={name: [] for name in accounts},
        )

    def sample(self) -> None:
        exchange, samples = self._exchange, self.samples
        samples.times_ms.append(exchange.now_ms)
        for market_id in self.markets:
            samples.marks[market_id].append(_number(exchange.mark_price(market_id)))
            samples.indexes[market_id].append(_number(exchange.index_price(market_id)))
        for market_id in self.perpetuals:
            samples.funding[market_id].append(_number(exchange.funding_rate(market_id)))
        for name, user_id in self._accounts.items():
            samples.equity[name].append(_number(portfolio_equity(exchange, user_id)))

    def liquidations(self) -> list[dict[str, Any]]:
        """Each liquidation that began during the run: `{t (unix s), at (ISO), account, market,
        equity, maintenance}`, the account by its scenario name when it has one."""
        names = {user_id: name for name, user_id in self._accounts.items()}
        return [
            {
                "t": event.ts / 1000,
                "at": format_ms(event.ts),
                "account": names.get(event.user_id, event.user_id),
                "market": event.market_id,
                "equity": f"{event.equity:f}",
                "maintenance": f"{event.maintenance:f}",
            }
            for event in self._exchange.events_of(AccountLiquidated)
            if event.seq > self._run.origin_seq
        ]
