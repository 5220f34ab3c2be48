"""The options steps of a scenario (docs/scenarios.md "Volatility"): `vol` sets, shocks and
ramps the surface; the `vol`, `board` and `margin` expectations read it; arbitrage is refused
when the scenario is loaded where it can be, and at each ramp move when it is published."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import ocx_sim.cli
from ocx_sim.engine.core.events import SurfaceSet
from ocx_sim.engine.core.markets import Venue
from ocx_sim.scenarios.compare import Comparison
from ocx_sim.scenarios.options import ExpectBoard, ExpectMargin, ExpectVol, VolKind, VolMove
from ocx_sim.worlds import World, WorldConfig
from ocx_sim.worlds.scenario_run import with_scenario
from tests.scenarios.conftest import play_to_end, problems, scenario, world_problems, world_with

D = Decimal
MINUTE = 60_000
CALL = "BTC-2026-01-09-68000-C"
PUT = "BTC-2026-01-09-68000-P"


def step(text: str) -> object:
    """The action of a one-step timeline."""
    return scenario(f"timeline:\n  - at: +1m\n    {text}\n").timeline[0].action


def atm_vol(world: World) -> Decimal:
    return world.exchange.surface("BTC").params.atm_vol


# -- reading ----------------------------------------------------------------------------------


def test_a_vol_set_shock_and_ramp_read_their_parameters_in_the_surfaces_order() -> None:
    assert step('vol: {underlying: BTC, set: {smile: "2", atmVol: "0.85"}}') == VolMove(
        VolKind.SET, "BTC", (("atmVol", D("0.85")), ("smile", D("2")))
    )
    assert step('vol: {underlying: BTC, shock: {atmVol: "-0.40", termSlope: "0.05"}}') == VolMove(
        VolKind.SHOCK, "BTC", (("atmVol", D("-0.40")), ("termSlope", D("0.05")))
    )
    assert step(
        'vol: {underlying: BTC, ramp: {to: {skew: "-0.3"}, over: 1h, every: 5m}}'
    ) == VolMove(VolKind.RAMP, "BTC", (("skew", D("-0.3")),), 3_600_000, 300_000)


def test_a_vol_ramp_moves_every_minute_unless_told() -> None:
    move = step('vol: {underlying: BTC, ramp: {to: {atmVol: "0.45"}, over: 1h}}')

    assert isinstance(move, VolMove) and (move.every_ms, move.moves) == (MINUTE, 60)


def test_the_vol_expectations_read_a_field_and_a_comparison() -> None:
    assert step('expect: {vol: {underlying: BTC, atLeast: "40"}}') == ExpectVol(
        "BTC", "dvol", Comparison(at_least=D(40))
    )
    assert step(f'expect: {{board: {{market: {CALL}, atMost: "0.5"}}}}') == ExpectBoard(
        CALL, "iv", Comparison(at_most=D("0.5"))
    )
    assert step(
        'expect: {margin: {account: a, bucket: options, field: unrealizedPnl, equals: "1"}}'
    ) == ExpectMargin("a", "options", "unrealizedPnl", Comparison(equals=D(1)))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "vol: {underlying: BTC, set: {atmVol: 0.8}}",
            "t.yaml:3: timeline[0].vol.set.atmVol: expected a decimal string such as "
            '"68000.50" (quote it: decimals are strings)',
        ),
        (
            'vol: {underlying: BTC, set: {atmvol: "0.8"}}',
            "t.yaml:3: timeline[0].vol.set.atmvol: unknown key (expected one of: atmVol, "
            "termSlope, skew, smile); did you mean 'atmVol'?",
        ),
        (
            'vol: {underlying: BTC, set: {atmVol: "0.8"}, shock: {atmVol: "0.1"}}',
            "t.yaml:3: timeline[0].vol: give exactly one of set, shock, ramp",
        ),
        (
            "vol: {underlying: BTC, shock: {}}",
            "t.yaml:3: timeline[0].vol.shock: give at least one of atmVol, termSlope, skew, smile",
        ),
        (
            'vol: {set: {atmVol: "0.8"}}',
            "t.yaml:3: timeline[0].vol.underlying: is required",
        ),
        (
            'vol: {underlying: BTC, ramp: {to: {atmVol: "0.45"}}}',
            "t.yaml:3: timeline[0].vol.ramp.over: is required",
        ),
        (
            'vol: {underlying: BTC, ramp: {to: {atmVol: "0.45"}, over: 1d, every: 1m}}',
            "t.yaml:3: timeline[0].vol.ramp.over: makes more than 1000 moves; raise `every`",
        ),
        (
            'vol: {underlying: BTC, ramp: {to: "0.45", over: 1h}}',
            "t.yaml:3: timeline[0].vol.ramp.to: expected a mapping of keys to values",
        ),
        (
            'expect: {vol: {underlying: BTC, field: iv, atLeast: "0.4"}}',
            "t.yaml:3: timeline[0].expect.vol.field: 'iv' is not one of dvol, atmVol, "
            "termSlope, skew, smile",
        ),
        (
            f"expect: {{board: {{market: {CALL}, field: iv}}}}",
            "t.yaml:3: timeline[0].expect.board: give equals, atLeast or atMost",
        ),
        (
            'expect: {margin: {account: a, bucket: spot, equals: "0"}}',
            "t.yaml:3: timeline[0].expect.margin.bucket: 'spot' is not one of perps, options",
        ),
    ],
)
def test_a_malformed_options_step_is_refused_at_its_path(text: str, problem: str) -> None:
    assert problems(f"timeline:\n  - at: +1m\n    {text}\n") == [problem]


# -- checking against the world ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeline", "problem"),
    [
        (
            [("+1m", 'vol: {underlying: XAUT, set: {atmVol: "0.3"}}')],
            "t.yaml:3: timeline[0].vol.underlying: No options are listed on XAUT",
        ),
        (
            [("+1m", 'vol: {underlying: BTC, set: {atmVol: "0"}}')],
            "t.yaml:3: timeline[0].vol.set.atmVol: atmVol must be positive",
        ),
        (
            [
                ("+1m", 'vol: {underlying: BTC, set: {skew: "-0.6", smile: "-0.2"}}'),
                ("+2m", 'vol: {underlying: BTC, ramp: {to: {skew: "0"}, over: 4m}}'),
            ],
            "t.yaml:5: timeline[1].vol.ramp.to.skew: smile too negative for the skew: no SVI "
            "slice has that shape",
        ),
        (
            # In the order the steps finish, not the file's: the set comes first.
            [
                ("+10m", 'vol: {underlying: BTC, shock: {atmVol: "-0.5"}}'),
                ("+5m", 'vol: {underlying: BTC, set: {atmVol: "0.3"}}'),
            ],
            "t.yaml:3: timeline[0].vol.shock.atmVol: atmVol must be positive",
        ),
        (
            [("+1m", 'expect: {vol: {underlying: WTIOIL, atLeast: "0"}}')],
            "t.yaml:3: timeline[0].expect.vol.underlying: No options are listed on WTIOIL",
        ),
        (
            [("+1m", 'expect: {board: {market: BTC-PERP, atLeast: "0"}}')],
            "t.yaml:3: timeline[0].expect.board.market: BTC-PERP is not an option",
        ),
        (
            [("+1m", 'expect: {board: {market: BTC-2026-01-09-68001-C, atLeast: "0"}}')],
            "t.yaml:3: timeline[0].expect.board.market: unknown market 'BTC-2026-01-09-68001-C'",
        ),
        (
            [("+1m", 'expect: {margin: {account: ghost, bucket: options, atLeast: "0"}}')],
            "t.yaml:3: timeline[0].expect.margin.account: unknown account 'ghost' (declared: none)",
        ),
    ],
)
def test_the_world_refuses_an_options_step_it_cannot_play(
    timeline: list[tuple[str, str]], problem: str
) -> None:
    text = "timeline:\n" + "".join(f"  - at: {at}\n    {action}\n" for at, action in timeline)

    assert world_problems(text) == [problem]


def test_a_scenario_whose_surfaces_are_free_of_arbitrage_validates(tmp_path: Path) -> None:
    path = tmp_path / "crush.yaml"
    path.write_text(
        "timeline:\n"
        "  - at: +1m\n"
        '    vol: {underlying: BTC, set: {atmVol: "0.85"}}\n'
        "  - at: +1h\n"
        '    vol: {underlying: BTC, shock: {atmVol: "-0.40"}}\n'
        "  - at: +1h\n"
        '    expect: {vol: {underlying: BTC, field: atmVol, equals: "0.45"}}\n'
    )

    assert ocx_sim.cli.main(["validate", str(path)]) == 0


def test_validate_names_the_parameter_of_an_arbitrageable_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('timeline:\n  - at: +1m\n    vol: {underlying: BTC, set: {smile: "-5"}}\n')

    assert ocx_sim.cli.main(["validate", str(path)]) == 1

    assert capsys.readouterr().out.splitlines()[1] == (
        f"  {path}:3: timeline[0].vol.set.smile: smile too negative for the skew: no SVI slice "
        "has that shape"
    )


# -- playing ----------------------------------------------------------------------------------


def test_a_set_publishes_the_parameters_it_names_at_its_instant() -> None:
    world = world_with(
        'timeline:\n  - at: +1m\n    vol: {underlying: BTC, set: {atmVol: "0.85"}}\n'
    )
    world.exchange.advance_by(MINUTE - 1)
    assert atm_vol(world) == D("0.55")

    world.exchange.advance_by(1)

    params = world.exchange.surface("BTC").params
    assert (params.atm_vol, params.skew) == (D("0.85"), D("-0.15"))
    assert world.exchange.dvol("BTC").dvol == D("85.04")


def test_a_shock_adds_to_the_values_the_surface_has_when_it_runs() -> None:
    world = world_with(
        'timeline:\n  - at: +1m\n    vol: {underlying: BTC, shock: {atmVol: "-0.10", '
        'skew: "0.05"}}\n'
    )
    world.exchange.sim.set_surface("BTC", atm_vol=D("0.70"))  # after loading, before the step

    play_to_end(world)

    params = world.exchange.surface("BTC").params
    assert (params.atm_vol, params.skew) == (D("0.60"), D("-0.10"))


def test_a_ramp_moves_each_parameter_linearly_to_exactly_its_target() -> None:
    world = world_with(
        'timeline:\n  - at: +1m\n    vol: {underlying: BTC, ramp: {to: {atmVol: "0.45", '
        'skew: "-0.25"}, over: 5m, every: 2m}}\n'
    )
    seen = []
    for _ in range(7):
        world.exchange.advance_by(MINUTE)
        params = world.exchange.surface("BTC").params
        seen.append((params.atm_vol, params.skew))

    # Moves at +3m, +5m and +6m: a third of the way, two thirds, then exactly the target.
    assert seen == [
        (D("0.55"), D("-0.15")),
        (D("0.55"), D("-0.15")),
        (D("0.51666667"), D("-0.18333333")),
        (D("0.51666667"), D("-0.18333333")),
        (D("0.48333333"), D("-0.21666667")),
        (D("0.45"), D("-0.25")),
        (D("0.45"), D("-0.25")),
    ]
    surfaces = [e for e in world.exchange.events if isinstance(e, SurfaceSet)]
    assert [(e.atm_vol, e.smile, e.term_slope) for e in surfaces][-1] == (
        D("0.45"),
        D("1.5"),
        D("0.10"),
    )
    assert len(surfaces) == 3
    assert world.scenarios.runs[0].end_ms == world.scenarios.runs[0].origin_ms + 6 * MINUTE


def test_a_ramp_move_with_arbitrage_is_a_failed_result_naming_the_step_and_the_ramp_goes_on() -> (
    None
):
    # Both ends carry the smile, the skews between them cannot: checked as each is published.
    world = world_with(
        "timeline:\n"
        "  - at: +1m\n"
        '    vol: {underlying: BTC, set: {skew: "-0.6", smile: "-0.2"}}\n'
        "  - at: +1m\n"
        '    vol: {underlying: BTC, ramp: {to: {skew: "0.6"}, over: 4m}}\n'
    )

    results = play_to_end(world)

    assert [(r.what, r.ok) for r in results] == [("timeline[1] vol", False)] * 3
    assert results[0].detail == (
        "refused with VALIDATION_ERROR: skew: smile too negative for the skew: no SVI slice has "
        "that shape (move 1 of 4)"
    )
    assert results[2].detail.endswith("(move 3 of 4)")
    assert world.exchange.surface("BTC").params.skew == D("0.6")


def test_a_refused_set_is_a_failed_result_of_its_step() -> None:
    world = world_with('timeline:\n  - at: +1m\n    vol: {underlying: BTC, set: {atmVol: "2"}}\n')
    # Accepted when loaded; then a smile that a 200 % atmVol cannot carry.
    world.exchange.sim.set_surface("BTC", skew=D("-0.6"), smile=D("-0.2"))

    results = play_to_end(world)

    assert [(r.what, r.ok) for r in results] == [("timeline[0] vol", False)]
    assert results[0].detail.startswith("refused with VALIDATION_ERROR: atmVol: ")
    assert atm_vol(world) == D("0.55")


def test_the_vol_board_and_margin_expectations_read_the_worlds_figures() -> None:
    world = world_with(
        f"""
        accounts:
          seller: {{balances: {{options: "50000"}}}}
          buyer: {{balances: {{options: "50000"}}}}
        timeline:
          - at: +1m
            vol: {{underlying: BTC, set: {{atmVol: "0.45"}}}}
          - at: +1m
            order: {{account: buyer, market: {PUT}, side: buy, price: "1500.00", quantity: "1.00"}}
          - at: +1m
            order: {{account: seller, market: {PUT}, side: sell, price: "1500.00",
                     quantity: "1.00"}}
          - at: +2m
            expect: {{vol: {{underlying: BTC, atLeast: "45", atMost: "45.1"}}}}
          - at: +2m
            expect: {{vol: {{underlying: BTC, field: skew, equals: "-0.15"}}}}
          - at: +2m
            expect: {{board: {{market: {CALL}, atLeast: "0.44", atMost: "0.45"}}}}
          - at: +2m
            expect: {{board: {{market: {CALL}, field: delta, atLeast: "0.5", atMost: "0.6"}}}}
          - at: +2m
            expect: {{margin: {{account: seller, bucket: options, atLeast: "1"}}}}
          - at: +2m
            expect: {{margin: {{account: seller, bucket: perps, field: equity, equals: "0"}}}}
          - at: +2m
            expect: {{margin: {{account: buyer, bucket: options, field: initialMargin,
                              equals: "1"}}}}
        """
    )

    results = play_to_end(world)

    assert [(r.what, r.ok) for r in results] == [
        ("dvol of BTC >= 45 and <= 45.1", True),
        ("skew of BTC = -0.15", True),
        (f"iv of {CALL} on the board >= 0.44 and <= 0.45", True),
        (f"delta of {CALL} on the board >= 0.5 and <= 0.6", True),
        ("initialMargin of seller's options margin >= 1", True),
        ("equity of seller's perps margin = 0", True),
        ("initialMargin of buyer's options margin = 1", False),
    ]
    # The figures are the engine's, whatever the options margin rule is.
    seller = world.scenarios.accounts["seller"].user_id
    held = world.exchange.margin(seller, Venue.OPTIONS).initial_margin
    assert results[4].detail == f"is {held}"
    buyer = world.scenarios.accounts["buyer"].user_id
    assert results[-1].detail == f"is {world.exchange.margin(buyer, Venue.OPTIONS).initial_margin}"


def test_a_vol_expectation_without_an_index_fails_with_the_reason() -> None:
    world = world_with(
        "timeline:\n  - at: +1m\n    index: {market: BTC-PERP, withdraw: true}\n"
        '  - at: +1m\n    expect: {vol: {underlying: BTC, atLeast: "0"}}\n'
        f'  - at: +1m\n    expect: {{board: {{market: {CALL}, atLeast: "0"}}}}\n'
        '  - at: +1m\n    expect: {vol: {underlying: BTC, field: atmVol, equals: "0.55"}}\n'
    )

    results = play_to_end(world)

    assert [r.ok for r in results] == [False, False, True]
    assert results[0].detail == "No options board for BTC: its index is unavailable"


def test_a_board_expectation_on_an_expired_option_fails() -> None:
    world = world_with(
        "timeline:\n  - at: +9h\n"
        '    expect: {board: {market: BTC-2026-01-02-68000-C, atLeast: "0"}}\n'
    )

    (result,) = play_to_end(world)

    assert (result.ok, result.detail) == (False, "is not on the board (expired)")


def test_the_bundled_vol_crush_pays_its_short_straddle_and_checks_vol_board_and_margin() -> None:
    world = World("t", with_scenario(WorldConfig(), "vol-crush"))
    run = world.scenarios.runs[0]

    world.exchange.advance_to(run.end_ms)

    assert [r for r in run.results if not r.ok] == [] and run.pending == 0
    kinds = {type(step.action) for step in run.scenario.timeline}
    assert {VolMove, ExpectVol, ExpectBoard, ExpectMargin} <= kinds
    moves = [step.action for step in run.scenario.timeline if isinstance(step.action, VolMove)]
    assert {move.kind for move in moves} == set(VolKind)
    trader = world.scenarios.accounts["trader"].user_id
    assert world.exchange.balances(trader).options > D(50_000)
    assert world.exchange.positions(trader) == []
    assert atm_vol(world) == D("0.45")
