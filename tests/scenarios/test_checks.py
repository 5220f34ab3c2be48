"""Loading into a world: what the world refuses of a scenario, before anything changes."""

from __future__ import annotations

import pytest

from ocx_sim.errors import OcxError
from ocx_sim.worlds import World, WorldConfig
from tests.scenarios.conftest import scenario, world_problems, world_with


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "timeline:\n  - at: +1m\n    halt: BTC-PURP\n",
            "t.yaml:3: timeline[0].halt: unknown market 'BTC-PURP'",
        ),
        (
            'timeline:\n  - at: +1m\n    trade: {market: BTC-PERP, side: buy, price: "68000.005",'
            ' quantity: "1"}\n',
            "t.yaml:3: timeline[0].trade.price: 68000.005 is not a multiple of the tick size 0.01",
        ),
        (
            'books:\n  - {account: bob, market: BTC-PERP, side: buy, price: "1.00", quantity: '
            '"1"}\n',
            "t.yaml:2: books[0].account: unknown account 'bob' (declared: none)",
        ),
        (
            "accounts: {a: {}}\nbooks:\n  - {account: a, market: BTC-PERP, side: buy, quantity: "
            '"0.00001"}\n',
            "t.yaml:3: books[0].quantity: 0.00001 is not a multiple of the step size 0.0001",
        ),
        (
            "timeline:\n  - at: +1m\n    cancel: missing\n",
            "t.yaml:3: timeline[0].cancel: no order is named 'missing'",
        ),
        (
            "accounts: {a: {}}\nbooks:\n  - {name: x, account: a, market: BTC-PERP, side: buy, "
            'price: "1.00", quantity: "1"}\n  - {name: x, account: a, market: BTC-PERP, side: '
            'buy, price: "1.00", quantity: "1"}\n',
            "t.yaml:4: books[1].name: another order is named 'x'",
        ),
        (
            "timeline:\n  - at: +1m\n    faultOff: outage\n",
            "t.yaml:3: timeline[0].faultOff: no fault is named 'outage'",
        ),
        (
            "timeline:\n  - at: +1m\n    fault: {name: f, match: {method: GET, path: /_sim/clock},"
            " action: {type: drop}}\n",
            "t.yaml:3: timeline[0].fault.match.path: /_sim paths cannot be faulted (the faults "
            "must stay removable)",
        ),
        (
            "timeline:\n  - at: +1m\n    fault: {name: f, match: {method: GET, path: "
            "/perps/markets}, action: {type: error, status: 503}}\n",
            "t.yaml:3: timeline[0].fault.action.code: is required for an error fault",
        ),
        (
            "timeline:\n  - at: +1m\n    fault: {name: f, match: {method: GET, path: "
            "/perps/markets}, action: {type: error, status: 503, code: circuit_open}}\n",
            "t.yaml:3: timeline[0].fault.action.code: must be an upper-case code matching "
            "^[A-Z][A-Z0-9_]{0,63}$ (VALIDATION_ERROR, …)",
        ),
        (
            "timeline:\n  - at: +1m\n    fault: {name: f, match: {method: GET, path: "
            "/perps/markets}, action: {type: drop}, probability: 2}\n",
            "t.yaml:3: timeline[0].fault.probability: must be a number greater than 0 and at "
            "most 1",
        ),
        (
            'timeline:\n  - at: +1m\n    funding: {market: BTC-USDC-SPOT, rate: "0.001"}\n',
            "t.yaml:3: timeline[0].funding.market: BTC-USDC-SPOT is not a perpetual: only "
            "perpetuals pay funding",
        ),
        (
            'timeline:\n  - at: +1m\n    funding: {market: BTC-PERP, rate: "0.01"}\n',
            "t.yaml:3: timeline[0].funding.rate: must be between -0.0025 and 0.0025 (the cap a "
            "period)",
        ),
        (
            "timeline:\n  - at: 2025-12-31T00:00:00Z\n    halt: BTC-PERP\n",
            "t.yaml:2: timeline[0].at: is before the scenario starts",
        ),
        (
            "liquidity:\n  - {options: DOGE}\n",
            "t.yaml:2: liquidity[0].options: unknown underlying 'DOGE' (BTC, XAUT, WTIOIL)",
        ),
        (
            "liquidity:\n  - {options: XAUT}\n",
            "t.yaml:2: liquidity[0].options: XAUT lists no options",
        ),
        (
            'liquidity:\n  - {options: BTC, quantity: "0.005"}\n',
            "t.yaml:2: liquidity[0].quantity: 0.005 is not a multiple of the step size 0.01",
        ),
        (
            "accounts:\n  a: {apiKeys: [{name: k, scope: admin}]}\n",
            "t.yaml:2: accounts.a.apiKeys[0].scope: must be one of read, trade",
        ),
        (
            "accounts:\n  a: {apiKeys: [{name: k, scope: read, allowedIps: [nowhere]}]}\n",
            "t.yaml:2: accounts.a.apiKeys[0].allowedIps[0]: 'nowhere' is not an IP address",
        ),
        (
            "accounts:\n  a: {wallet: 0x12}\n",
            "t.yaml:2: accounts.a.wallet: must be a 0x-prefixed 20-byte hex address",
        ),
        (
            'accounts:\n  a: {balances: {perps: "0.0000001"}}\n',
            "t.yaml:2: accounts.a.balances.perps: USDC amounts have at most 6 decimal places",
        ),
        (
            'markets:\n  BTC-PERP: {mark: "68000.001"}\n',
            "t.yaml:2: markets.BTC-PERP.mark: 68000.001 is not a multiple of the tick size 0.01",
        ),
        (
            'timeline:\n  - at: +1m\n    mark: {market: BTC-PERP, ramp: {to: "1.001", over: 1m}}\n',
            "t.yaml:3: timeline[0].mark.ramp.to: 1.001 is not a multiple of the tick size 0.01",
        ),
        (
            "timeline:\n  - at: +1m\n    expect: {balance: {account: ghost, bucket: perps, "
            'equals: "1"}}\n',
            "t.yaml:3: timeline[0].expect.balance.account: unknown account 'ghost' (declared: "
            "none)",
        ),
        (
            'timeline:\n  - at: +1m\n    expect: {mark: {market: BTC-USDC-F3, equals: "1"}}\n',
            "t.yaml:3: timeline[0].expect.mark.market: unknown market 'BTC-USDC-F3'",
        ),
    ],
)
def test_what_the_world_refuses_is_named_by_file_line_and_path(text: str, problem: str) -> None:
    assert world_problems(text) == [problem]


def test_a_refused_scenario_changes_nothing_in_the_world() -> None:
    world = World("t", WorldConfig(seed=7))
    before = (world.exchange.digest(), world.clock.pending_timers(), len(world.faults))
    text = """
        accounts: {alice: {balances: {perps: "1000"}}}
        markets: {BTC-PERP: {index: "70000", halted: true}}
        timeline:
          - {at: +1m, fault: {name: f, match: {method: GET, path: /perps/markets},
                              action: {type: drop}}}
          - {at: +2m, halt: NOWHERE}
        """

    with pytest.raises(OcxError):
        world.load_scenario(scenario(text))

    assert (world.exchange.digest(), world.clock.pending_timers(), len(world.faults)) == before
    assert world.exchange.users == []
    assert world.scenarios.runs == []


def test_a_futures_alias_names_the_nearest_unexpired_future_when_loaded() -> None:
    world = world_with(
        """
        meta: {name: aliases}
        timeline:
          - {at: +1m, halt: BTC-USDC-F1}
          - {at: +1m, halt: BTC-USDC-F2}
          - {at: +1m, halt: XAUT-USDC-F1}
        """
    )

    world.exchange.advance_by(60_000)

    halted = [m.id for m in world.exchange.catalog if world.exchange.is_halted(m.id)]
    assert halted == ["BTC-USDC-2026-03-27", "BTC-USDC-2026-06-26", "XAUT-USDC-2026-03-27"]
    assert world.scenarios.runs[0].markets == {
        "BTC-USDC-F1": "BTC-USDC-2026-03-27",
        "BTC-USDC-F2": "BTC-USDC-2026-06-26",
        "XAUT-USDC-F1": "XAUT-USDC-2026-03-27",
    }
