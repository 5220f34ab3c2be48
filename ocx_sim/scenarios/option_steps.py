"""Reading the options steps of a timeline (docs/scenarios.md "Volatility"): the `vol` action
and the `vol`, `board` and `margin` expectations (their values: options.py).

    vol: {underlying: BTC, set: {atmVol: "0.85", skew: "-0.20"}}
    vol: {underlying: BTC, shock: {atmVol: "-0.40"}}
    vol: {underlying: BTC, ramp: {to: {atmVol: "0.45"}, over: 1h, every: 5m}}
    expect: {vol: {underlying: BTC, field: dvol, atLeast: "80"}}
    expect: {board: {market: BTC-2026-01-09-68000-C, field: iv, atMost: "0.50"}}
    expect: {margin: {account: alice, bucket: options, field: initialMargin, atMost: "900"}}
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from yaml.nodes import Node

from ocx_sim.engine.core.surface import PARAMETERS
from ocx_sim.scenarios.model import Expectation
from ocx_sim.scenarios.options import (
    BOARD_FIELDS,
    MARGIN_BUCKETS,
    MARGIN_FIELDS,
    VOL_FIELDS,
    ExpectBoard,
    ExpectMargin,
    ExpectVol,
    VolKind,
    VolMove,
)
from ocx_sim.scenarios.reader import Bad, Reader, comparison, span

VOL_MOVES = tuple(kind.value for kind in VolKind)
VOL_RAMP_KEYS = ("to", "over", "every")
VOL_EVERY_MS = 60_000
"""A `vol` ramp's default `every`."""
MAX_VOL_MOVES = 1_000
"""Moves one `vol` ramp may make: each builds a surface and checks it for arbitrage, some
milliseconds apiece."""
COMPARE_KEYS = ("equals", "atLeast", "atMost")
EXPECT_VOL_KEYS = ("underlying", "field", *COMPARE_KEYS)
EXPECT_BOARD_KEYS = ("market", "field", *COMPARE_KEYS)
EXPECT_MARGIN_KEYS = ("account", "bucket", "field", *COMPARE_KEYS)
OPTION_KEYS = (
    "underlying",
    *VOL_MOVES,
    *VOL_RAMP_KEYS,
    *PARAMETERS,
    *EXPECT_VOL_KEYS,
    *EXPECT_BOARD_KEYS,
    *EXPECT_MARGIN_KEYS,
)
"""Every key read here, for `accepted_keys`."""


def vol_move(r: Reader, node: Node, path: str) -> VolMove:
    """`{underlying, set | shock | ramp: {to, over, every?}}`."""
    m = r.mapping(node, path, ("underlying",), VOL_MOVES)
    underlying = r.string(m["underlying"], f"{path}.underlying")
    kinds = [key for key in m if key in VOL_MOVES]
    if len(kinds) != 1:
        raise Bad(node, path, f"give exactly one of {', '.join(VOL_MOVES)}")
    kind = VolKind(kinds[0])
    value, sub = m[kind.value], f"{path}.{kind.value}"
    if kind is not VolKind.RAMP:
        return VolMove(kind, underlying, _parameters(r, value, sub))
    g = r.mapping(value, sub, ("to", "over"), VOL_RAMP_KEYS)
    over, every = span(r, g, sub, every_ms=VOL_EVERY_MS, most=MAX_VOL_MOVES)
    return VolMove(kind, underlying, _parameters(r, g["to"], f"{sub}.to"), over, every)


def _parameters(r: Reader, node: Node, path: str) -> tuple[tuple[str, Decimal], ...]:
    """Some of the surface's parameters by wire name, decimal strings of either sign, in
    `PARAMETERS` order."""
    m = r.mapping(node, path, optional=PARAMETERS)
    given = {
        name: r.decimal(value, f"{path}.{name}", positive=False)
        for name, value in m.items()
        if not r.is_null(value)
    }
    if not given:
        raise Bad(node, path, f"give at least one of {', '.join(PARAMETERS)}")
    return tuple((name, given[name]) for name in PARAMETERS if name in given)


def _field(r: Reader, m: dict[str, Node], path: str, fields: tuple[str, ...]) -> str:
    """`field`, one of `fields`; the first when absent."""
    return r.opt(m, path, "field", lambda n, p: r.choice(n, p, fields)) or fields[0]


def _expect_vol(r: Reader, node: Node, path: str) -> Expectation:
    m = r.mapping(node, path, ("underlying",), EXPECT_VOL_KEYS)
    return ExpectVol(
        r.string(m["underlying"], f"{path}.underlying"),
        _field(r, m, path, VOL_FIELDS),
        comparison(r, m, path, node),
    )


def _expect_board(r: Reader, node: Node, path: str) -> Expectation:
    m = r.mapping(node, path, ("market",), EXPECT_BOARD_KEYS)
    return ExpectBoard(
        r.string(m["market"], f"{path}.market"),
        _field(r, m, path, BOARD_FIELDS),
        comparison(r, m, path, node),
    )


def _expect_margin(r: Reader, node: Node, path: str) -> Expectation:
    m = r.mapping(node, path, ("account", "bucket"), EXPECT_MARGIN_KEYS)
    return ExpectMargin(
        r.name(m["account"], f"{path}.account"),
        r.choice(m["bucket"], f"{path}.bucket", MARGIN_BUCKETS),
        _field(r, m, path, MARGIN_FIELDS),
        comparison(r, m, path, node),
    )


OPTION_EXPECTATIONS: dict[str, Callable[[Reader, Node, str], Expectation]] = {
    "vol": _expect_vol,
    "board": _expect_board,
    "margin": _expect_margin,
}
