"""The options side of a scenario: `vol` steps move an underlying's volatility surface, and the
`vol`, `board` and `margin` expectations read its figures (docs/scenarios.md "Volatility").

A `vol` step names the surface parameters it moves by their wire names (`atmVol`, `termSlope`,
`skew`, `smile`, as `POST /_sim/options/{underlying}/surface` takes them; engine/core/surface.py):

- `set` gives them these values; `shock` adds these differences to their values when the
  step runs;
- `ramp` moves them from their values when the step runs straight to `to`, in equal moves
  every `every` over `over`, each value on `RAMP_QUANTUM`, the last move at `over` and exactly
  `to` (as an index ramp moves, scenarios.md "Prices").

A move publishes only the parameters it names (`Sim.set_surface`), so the others keep whatever
value they have then, and two steps may move different parameters over the same minutes.

Arbitrage is checked twice. When the scenario is loaded, every surface its steps would publish
last (a set, a shock, a ramp's `to`) is built from the world's surface at that instant, in the
order the steps would finish, and checked at the maturities listed then (`planned`): a
refusal is a problem at the step's path, naming the parameter. The points between a ramp's ends
are not guaranteed free of arbitrage when its ends are, so each move is checked again when it
is published, as every surface is; a refusal there is a failed result naming the step's path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from ocx_sim.engine.core.surface import PARAMETERS, SurfaceParams, build, years
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import OcxError
from ocx_sim.scenarios.compare import Comparison

RAMP_QUANTUM = Decimal("1e-8")
"""A ramp's intermediate values are rounded half-even to 8 decimals (its last is `to`)."""
ATTRIBUTES = {"atmVol": "atm_vol", "termSlope": "term_slope", "skew": "skew", "smile": "smile"}
"""Each parameter's wire name → its name in `SurfaceParams` and `Sim.set_surface`."""
VOL_FIELDS = ("dvol", *PARAMETERS)
BOARD_FIELDS = ("iv", "mark", "bid", "ask", "delta", "gamma", "vega", "theta")
MARGIN_BUCKETS = ("perps", "options")
MARGIN_FIELDS = (
    "initialMargin",
    "maintenanceMargin",
    "availableMargin",
    "equity",
    "unrealizedPnl",
)


class VolKind(StrEnum):
    SET = "set"
    SHOCK = "shock"
    RAMP = "ramp"


@dataclass(frozen=True, slots=True)
class VolMove:
    """A move of an underlying's surface (module docstring)."""

    kind: VolKind
    underlying: str
    values: tuple[tuple[str, Decimal], ...]
    """(wire name, value), in `PARAMETERS` order: a set's values, a shock's differences, a
    ramp's `to`."""
    over_ms: int = 0
    every_ms: int = 0

    @property
    def key(self) -> str:
        """Where the values sit below the step's action key (`set`, `shock`, `ramp.to`)."""
        return "ramp.to" if self.kind is VolKind.RAMP else self.kind.value

    @property
    def moves(self) -> int:
        """How many times it publishes a surface."""
        return -(-self.over_ms // self.every_ms) if self.kind is VolKind.RAMP else 1


@dataclass(frozen=True, slots=True)
class ExpectVol:
    """An underlying's DVOL (vol points, as `/markets/dvol`) or one of its surface parameters."""

    underlying: str
    field: str
    compare: Comparison


@dataclass(frozen=True, slots=True)
class ExpectBoard:
    """One figure of an option on its underlying's board (`/markets/board`)."""

    market: str
    field: str
    compare: Comparison


@dataclass(frozen=True, slots=True)
class ExpectMargin:
    """One margin figure of an account's bucket (as `/perps/balances` names them)."""

    account: str
    bucket: str
    field: str
    compare: Comparison


def target(current: SurfaceParams, move: VolMove) -> dict[str, Decimal]:
    """The values of the parameters `move` names that it publishes last, from `current`."""
    if move.kind is VolKind.SHOCK:
        now = current.as_wire()
        return {name: now[name] + by for name, by in move.values}
    return dict(move.values)


def ramp(start: SurfaceParams, move: VolMove) -> list[dict[str, Decimal]]:
    """The values each move of a ramp publishes: linear in each parameter from `start`, on
    `RAMP_QUANTUM`, the last exactly `to`."""
    moves = move.moves
    begin = start.as_wire()
    points = [
        {
            name: (begin[name] + (to - begin[name]) * k / moves).quantize(
                RAMP_QUANTUM, ROUND_HALF_EVEN
            )
            for name, to in move.values
        }
        for k in range(1, moves)
    ]
    return [*points, dict(move.values)]


def with_values(params: SurfaceParams, values: Mapping[str, Decimal]) -> SurfaceParams:
    return replace(params, **{ATTRIBUTES[name]: value for name, value in values.items()})


def publish(exchange: Exchange, underlying: str, values: Mapping[str, Decimal]) -> None:
    """Set these parameters of the underlying's surface (422 naming the first when the surface
    would have arbitrage, and nothing changes)."""
    exchange.sim.set_surface(
        underlying, **{ATTRIBUTES[name]: value for name, value in values.items()}
    )


def planned(
    exchange: Exchange, moves: Iterable[tuple[int, str, VolMove]]
) -> list[tuple[str, OcxError]]:
    """Every surface `moves` (due instant, path of the values, move) would publish last,
    checked for arbitrage from the world's surfaces now (module docstring); each refusal with
    the path it belongs to. An underlying without options is left to the caller."""
    current: dict[str, SurfaceParams] = {}
    refused: list[tuple[str, OcxError]] = []
    # In the order the moves finish: a ramp publishes its `to` at its end.
    for due_ms, path, move in sorted(moves, key=lambda m: m[0] + m[2].over_ms):
        underlying = move.underlying
        if underlying not in current:
            try:
                current[underlying] = exchange.surface(underlying).params
            except OcxError:
                continue
        values = target(current[underlying], move)
        params = with_values(current[underlying], values)
        end = due_ms + move.over_ms
        listed = tuple(
            years(m.expiry_ms - end)
            for m in exchange.catalog.options(underlying)
            if m.expiry_ms is not None and m.expiry_ms > end
        )
        try:
            build(params, listed, blame=next(iter(values)))
        except OcxError as error:
            refused.append((path, error))
            continue
        current[underlying] = params
    return refused
