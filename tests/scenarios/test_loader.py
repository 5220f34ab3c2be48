"""The loader: YAML → a scenario, and every mistake named by file, line and path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ocx_sim.scenarios.loader import load_file, load_text
from ocx_sim.scenarios.model import (
    At,
    ClearPrice,
    Comparison,
    ExpectEvent,
    FaultOn,
    GbmPrice,
    JumpPrice,
    LiquiditySetup,
    OptionLiquiditySetup,
    OrderSpec,
    PlaceOrder,
    PriceTarget,
    RampPrice,
    ScenarioError,
    SetPrice,
)
from tests.scenarios.conftest import problems, scenario

D = Decimal


def test_a_scenario_reads_into_values_with_every_default_filled_in() -> None:
    s = scenario(
        """
        meta: {name: demo, seed: 5, start: 2026-02-01T00:00:00Z, duration: 1h30m}
        accounts:
          alice:
            wallet: 0x00000000000000000000000000000000000000aa
            balances: {perps: "1000.5"}
            apiKeys: [{name: bot, scope: trade}]
        books:
          - {name: a1, account: alice, market: BTC-PERP, side: buy, price: "67000.00",
             quantity: "0.1"}
        liquidity:
          - {market: BTC-PERP, quantity: "0.01", refresh: 2s}
          - {options: BTC}
        timeline:
          - at: +5m
            index: {market: BTC-PERP, set: "70000"}
          - at: 2026-02-01T01:00:00Z
            order: {account: alice, market: BTC-PERP, side: sell, quantity: "0.1"}
        """
    )

    assert (s.meta.name, s.meta.seed, s.meta.duration_ms) == ("demo", 5, 5_400_000)
    assert s.meta.start_ms == 1_769_904_000_000
    alice = s.accounts[0]
    assert alice.wallet == "0x00000000000000000000000000000000000000aa"  # text, not an int
    assert alice.balances == (("perps", D("1000.5")),)
    assert alice.api_keys[0].scope == "trade"
    assert s.books[0] == OrderSpec(
        "books[0]", "alice", "BTC-PERP", "buy", D("0.1"), price=D("67000.00"), name="a1"
    )
    ladder, options = s.liquidity
    assert isinstance(ladder, LiquiditySetup)
    assert (ladder.levels, ladder.refresh_ms) == (3, 2_000)
    assert options == OptionLiquiditySetup(
        "liquidity[1]", "BTC", D("1"), expiries=3, moneyness=D("0.10"), refresh_ms=10_000
    )
    first, second = s.timeline
    assert (first.at, first.action) == (
        At(300_000, True),
        SetPrice(PriceTarget.INDEX, "BTC-PERP", D("70000")),
    )
    assert second.at == At(1_769_907_600_000, False)
    assert isinstance(second.action, PlaceOrder)
    assert second.action.order.type == "market"  # no price: a market order


def test_each_price_move_reads_into_its_own_action() -> None:
    s = scenario(
        """
        timeline:
          - {at: +1m, index: {market: BTC-PERP, ramp: {to: "60000", over: 10m}}}
          - {at: +1m, mark: {market: BTC-PERP, gbm: {volatility: "0.8", over: 1h, every: 1m}}}
          - {at: +1m, index: {market: BTC-PERP, jump: "-5%"}}
          - {at: +1m, mark: {market: BTC-PERP, jump: "250.5"}}
          - {at: +1m, index: {market: BTC-PERP, withdraw: true}}
          - {at: +1m, mark: {market: BTC-PERP, release: true}}
        """
    )

    assert [step.action for step in s.timeline] == [
        RampPrice(PriceTarget.INDEX, "BTC-PERP", D("60000"), 600_000, 1_000),
        GbmPrice(PriceTarget.MARK, "BTC-PERP", D("0.8"), D(0), 3_600_000, 60_000),
        JumpPrice(PriceTarget.INDEX, "BTC-PERP", D("-5"), percent=True),
        JumpPrice(PriceTarget.MARK, "BTC-PERP", D("250.5"), percent=False),
        ClearPrice(PriceTarget.INDEX, "BTC-PERP"),
        ClearPrice(PriceTarget.MARK, "BTC-PERP"),
    ]


def test_a_fault_reads_times_absent_as_one_and_null_as_until_turned_off() -> None:
    s = scenario(
        """
        timeline:
          - at: +1m
            fault: {name: a, match: {method: GET, path: /perps/markets}, action: {type: drop}}
          - at: +1m
            fault:
              name: b
              match: {method: POST, path: /perps/orders, account: alice}
              action: {type: error, status: 503, code: UPSTREAM_DEGRADED}
              times: ~
              probability: 0.5
        """
    )

    a, b = (step.action for step in s.timeline)
    assert isinstance(a, FaultOn) and isinstance(b, FaultOn)
    assert a.fault.times == 1
    assert (b.fault.times, b.fault.probability, b.fault.account) == (None, 0.5, "alice")


def test_an_event_expectation_without_a_count_wants_at_least_one() -> None:
    s = scenario("timeline: [{at: +1m, expect: {event: {type: FundingPaid}}}]")

    action = s.timeline[0].action
    assert isinstance(action, ExpectEvent)
    assert action.count == Comparison(at_least=D(1))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "timeline:\n  - at: +1m\n    index: {market: BTC-PERP, set: 70000}\n",
            't.yaml:3: timeline[0].index.set: expected a decimal string such as "68000.50" '
            "(quote it: decimals are strings)",
        ),
        (
            'timeline:\n  - at: +1m\n    index: {market: BTC-PERP, set: "7e4"}\n',
            "t.yaml:3: timeline[0].index.set: '7e4' is not a decimal string such as \"68000.50\"",
        ),
        (
            'timeline:\n  - at: +1m\n    index: {market: BTC-PERP, sett: "1"}\n',
            "t.yaml:3: timeline[0].index.sett: unknown key (expected one of: market, set, ramp, "
            "gbm, jump, withdraw); did you mean 'set'?",
        ),
        (
            "meta:\n  name: a\n  name: b\n",
            "t.yaml:3: meta.name: is given twice",
        ),
        (
            "timeline:\n  - at: +1m\n    order: {account: a, market: BTC-PERP, side: buy}\n",
            "t.yaml:3: timeline[0].order.quantity: is required",
        ),
        (
            "accounts:\n  alice: [1, 2]\n",
            "t.yaml:2: accounts.alice: expected a mapping of keys to values",
        ),
        (
            "timeline:\n  - at: 5m\n    halt: BTC-PERP\n",
            "t.yaml:2: timeline[0].at: '5m': a relative time starts with '+' (+5m)",
        ),
        (
            "timeline:\n  - at: +5x\n    halt: BTC-PERP\n",
            "t.yaml:2: timeline[0].at: '+5x' is not a relative time such as +90s, +5m or +1h30m",
        ),
        (
            "timeline:\n  - at: tomorrow\n    halt: BTC-PERP\n",
            "t.yaml:2: timeline[0].at: 'tomorrow' is not an ISO-8601 instant such as "
            "2026-01-02T00:05:00Z",
        ),
        (
            'liquidity:\n  - {market: BTC-PERP, quantity: "1", refresh: 10}\n',
            "t.yaml:2: liquidity[0].refresh: '10' is not a duration such as 90s, 5m, 1h30m "
            "or 250ms",
        ),
        (
            'liquidity:\n  - {options: BTC, moneyness: "0"}\n',
            "t.yaml:2: liquidity[0].moneyness: must be greater than zero",
        ),
        (
            'liquidity:\n  - {options: BTC, moneyness: "1.5"}\n',
            "t.yaml:2: liquidity[0].moneyness: must be a fraction of the forward, at most 1 "
            '("0.10": ±10 %)',
        ),
        (
            "liquidity:\n  - {options: BTC, moneyness: 0.1}\n",
            't.yaml:2: liquidity[0].moneyness: expected a decimal string such as "68000.50" '
            "(quote it: decimals are strings)",
        ),
        (
            "liquidity:\n  - {options: BTC, expiries: 0}\n",
            "t.yaml:2: liquidity[0].expiries: must be between 1 and 50",
        ),
        (
            'liquidity:\n  - {options: BTC, quantity: "-1"}\n',
            "t.yaml:2: liquidity[0].quantity: must be greater than zero",
        ),
        (
            "liquidity:\n  - {options: BTC, refresh: soon}\n",
            "t.yaml:2: liquidity[0].refresh: 'soon' is not a duration such as 90s, 5m, 1h30m "
            "or 250ms",
        ),
        (
            "liquidity:\n  - {options: BTC, levels: 2}\n",
            "t.yaml:2: liquidity[0].levels: unknown key (expected one of: options, quantity, "
            "expiries, moneyness, refresh)",
        ),
        (
            'liquidity:\n  - {market: BTC-PERP, quantity: "1", expiries: 2}\n',
            "t.yaml:2: liquidity[0].expiries: unknown key (expected one of: market, quantity, "
            "levels, spreadBps, stepBps, refresh)",
        ),
        (
            'liquidity:\n  - {market: BTC-PERP, options: BTC, quantity: "1"}\n',
            "t.yaml:2: liquidity[0]: give market (a ladder on one market) or options (an "
            "underlying's options near the money), not both",
        ),
        (
            "liquidity:\n  - {options: ~}\n",
            "t.yaml:2: liquidity[0].options: is required",
        ),
        (
            "timeline:\n  - at: +1m\n    halt: BTC-PERP\n    resume: BTC-PERP\n",
            "t.yaml:2: timeline[0]: a step has exactly one action (index, mark, vol, order, "
            "cancel, cancelAll, trade, funding, deposit, withdraw, failWithdrawals, vault, halt, "
            "resume, fault, faultOff, expect); found halt, resume",
        ),
        (
            "timeline:\n  - at: +1m\n",
            "t.yaml:2: timeline[0]: a step has exactly one action (index, mark, vol, order, "
            "cancel, cancelAll, trade, funding, deposit, withdraw, failWithdrawals, vault, halt, "
            "resume, fault, faultOff, expect); found none",
        ),
        (
            "timeline:\n  - at: +1m\n    halt: BTC-PERP\n    expectError: HALTED\n",
            "t.yaml:4: timeline[0].expectError: 'HALTED' is not an error code of the catalog "
            "(ocx_sim/errors.py)",
        ),
        (
            "timeline:\n  - at: +1m\n    expect: {order: {order: a, status: done}}\n",
            "t.yaml:3: timeline[0].expect.order.status: 'done' is not one of open, "
            "partially_filled, filled, cancelled, expired, untriggered",
        ),
        (
            "timeline:\n  - at: +1m\n    expect: {balance: {account: a, bucket: perps}}\n",
            "t.yaml:3: timeline[0].expect.balance: give equals, atLeast or atMost",
        ),
        (
            "timeline:\n  - at: +1m\n    expect: {event: {type: FundingPaid, where: {rate: 1}}}\n",
            "t.yaml:3: timeline[0].expect.event.where.rate: unknown key (expected one of: "
            "userId, marketId, marginMode, amount)",
        ),
        (
            'timeline:\n  - at: +1m\n    index: {market: BTC-PERP, ramp: {to: "1", over: 1s, '
            "every: 2s}}\n",
            "t.yaml:3: timeline[0].index.ramp.every: must be at most `over`",
        ),
        (
            'timeline:\n  - at: +1m\n    index: {market: BTC-PERP, ramp: {to: "1", over: 2d, '
            "every: 1s}}\n",
            "t.yaml:3: timeline[0].index.ramp.over: makes more than 100000 moves; raise `every`",
        ),
        (
            "timeline:\n  - at: +1m\n    cancel: alice bid\n",
            "t.yaml:3: timeline[0].cancel: a name is 1 to 64 letters, digits, '-' or '_'",
        ),
        (
            'markets:\n  BTC-PERP: {index: "1", curve: {front: "1", next: "1"}}\n',
            "t.yaml:2: markets.BTC-PERP.curve: give index (pinned) or curve, not both",
        ),
        (
            "timeline:\n  - at: +1m\n    order: !!python/object:os.system {}\n",
            "t.yaml:3: timeline[0].order: the tag tag:yaml.org,2002:python/object:os.system "
            "is not supported here",
        ),
        (
            "timeline:\n  - at: +1m\n    halt: !custom BTC-PERP\n",
            "t.yaml:3: timeline[0].halt: the tag !custom is not supported here",
        ),
        (
            "colour: red\n",
            "t.yaml:1: colour: unknown key (expected one of: meta, markets, "
            "underlyings, accounts, books, liquidity, takers, timeline)",
        ),
        ("- just\n- a list\n", "t.yaml:1: (top level): expected a mapping of keys to values"),
        (
            "meta: {name: [unclosed\n",
            "t.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        ("", "t.yaml: the file is empty"),
        (
            "timeline:\n  - at: +1m\n    fault: {name: f, match: {method: GET, path: "
            "/perps/markets}, action: {type: error, status: 399, code: CIRCUIT_OPEN}}\n",
            "t.yaml:3: timeline[0].fault.action.status: must be between 400 and 599",
        ),
    ],
)
def test_each_kind_of_mistake_is_named_by_file_line_and_path(text: str, problem: str) -> None:
    assert problems(text) == [problem]


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    found = problems(
        """
        meta: {seed: many}
        accounts:
          alice: {balances: {perps: 10}}
          "bad name": {}
        timeline:
          - {at: +1m, halt: BTC-PERP}
          - {at: +1m, funding: {market: BTC-PERP, rate: 0.001}}
          - {at: never, halt: BTC-PERP}
        """
    )

    assert found == [
        "t.yaml:2: meta.seed: expected an integer",
        't.yaml:4: accounts.alice.balances.perps: expected a decimal string such as "68000.50" '
        "(quote it: decimals are strings)",
        "t.yaml:5: accounts.bad name: an account name is 1 to 64 letters, digits, '-' or '_'",
        't.yaml:8: timeline[1].funding.rate: expected a decimal string such as "68000.50" '
        "(quote it: decimals are strings)",
        "t.yaml:9: timeline[2].at: 'never' is not an ISO-8601 instant such as 2026-01-02T00:05:00Z",
    ]


def test_a_file_is_named_as_given_and_its_name_is_the_default_scenario_name(
    tmp_path: Path,
) -> None:
    path = tmp_path / "squeeze.yaml"
    path.write_text("timeline:\n  - at: +1m\n    trade: {market: BTC-PERP, side: buy}\n")

    with pytest.raises(ScenarioError) as refused:
        load_file(path)
    assert str(refused.value) == f"{path}:3: timeline[0].trade.price: is required"

    path.write_text("timeline: []\n")
    assert load_file(path).meta.name == "squeeze"


def test_a_file_that_cannot_be_read_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"

    with pytest.raises(ScenarioError) as refused:
        load_file(missing)

    assert str(refused.value) == f"{missing}: cannot read the file: No such file or directory"


def test_yaml_nested_too_deeply_is_refused_not_crashed_on() -> None:
    with pytest.raises(ScenarioError) as refused:
        load_text("a:\n  " + "[" * 5000 + "]" * 5000, "deep.yaml")

    assert str(refused.value) == "deep.yaml:2: nested more than 32 levels deep"


def test_text_longer_than_a_megabyte_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(ScenarioError) as refused:
        load_text("#" * 1_000_001, "big.yaml")

    assert str(refused.value) == "big.yaml: longer than 1000000 characters"
