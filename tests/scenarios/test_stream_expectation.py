"""The `stream` expectation: what a stream sends for everything that changed from `since` (the
scenario's load by default) to the expectation's instant, judged on the frame's payload
(ocx_sim/scenarios/stream_expectation.py). The streams lend the scenarios their lens when they
load, as the server, the CLI and the fixtures do."""

from __future__ import annotations

from pathlib import Path

import pytest

import ocx_sim.streams  # noqa: F401  (lends the scenarios the streams' lens)
from ocx_sim.scenarios.stream_expectation import holds
from ocx_sim.testing.world import OcxWorld
from tests.scenarios.conftest import play_to_end, world_problems, world_with

TRADE = """
accounts:
  alice: {balances: {perps: "100000"}}
  bob: {balances: {perps: "100000"}}
books:
  - {account: bob, market: BTC-PERP, side: sell, price: "68000.00", quantity: "1.0000"}
timeline:
  - {at: +10s, order: {account: alice, market: BTC-PERP, side: buy, quantity: "0.2500"}}
  - {at: +20s, order: {account: alice, market: BTC-PERP, side: buy, price: "67000.00",
                       quantity: "0.1000"}}
"""


def judged(text: str) -> list[tuple[str, bool, str]]:
    return [(r.what, r.ok, r.detail[:40]) for r in play_to_end(world_with(TRADE + text))]


def test_a_users_fill_shows_on_their_user_stream_and_not_on_anothers() -> None:
    results = judged(
        """
  - at: +1m
    expect:
      stream:
        path: /perps/stream/user
        account: alice
        where: {trades: {side: buy, price: "68000", liquidity: taker},
                positions: {side: long, quantity: "0.25"}}
  - at: +1m
    expect:
      stream:
        path: /perps/stream/user
        account: bob
        where: {trades: {side: buy}}
"""
    )

    assert [(what, ok) for what, ok, _ in results] == [
        (
            'alice\'s /perps/stream/user sends a frame holding {"trades": {"side": "buy", '
            '"price": "68000", "liquidity": "taker"}, "positions": {"side": "long", '
            '"quantity": "0.25"}} after load',
            True,
        ),
        (
            'bob\'s /perps/stream/user sends a frame holding {"trades": {"side": "buy"}} '
            "after load",
            False,
        ),
    ]
    assert results[1][2].startswith('sent {"trades":[{')  # bob's own fill: a sell


def test_since_narrows_the_change_and_a_resting_order_sends_nothing_on_the_user_stream() -> None:
    results = judged(
        """
  - {at: +1m, expect: {stream: {path: /perps/stream/user, account: alice, since: +15s,
                                sent: false}}}
  - {at: +1m, expect: {stream: {path: /perps/book-stream, params: {marketId: BTC-PERP},
                                since: +15s, where: {bids: {price: "67000.00", size: "0.1000"}}}}}
"""
    )

    assert results == [
        (
            "alice's /perps/stream/user sends nothing after 2026-01-02T00:00:15.000Z",
            True,
            "sent nothing",
        ),
        (
            '/perps/book-stream sends a frame holding {"bids": {"price": "67000.00", "size": '
            '"0.1000"}} after 2026-01-02T00:00:15.000Z',
            True,
            'sent {"marketId":"BTC-PERP","bids":[{"pr',
        ),
    ]


def test_a_stream_that_changed_fails_sent_false_with_what_it_sent() -> None:
    [(what, ok, detail)] = judged(
        """
  - {at: +1m, expect: {stream: {path: /portfolio/balances/stream, account: alice, sent: false}}}
"""
    )

    assert (what, ok) == ("alice's /portfolio/balances/stream sends nothing after load", False)
    assert detail.startswith("sent {")


def test_a_bad_stream_is_refused_at_load_naming_the_field() -> None:
    assert world_problems(
        """
accounts:
  alice: {balances: {perps: "100"}}
timeline:
  - {at: +1m, expect: {stream: {path: /perps/streams/user, account: alice}}}
  - {at: +1m, expect: {stream: {path: /perps/stream/user}}}
  - {at: +1m, expect: {stream: {path: /perps/book-stream, account: alice,
                                params: {marketId: BTC-PERP}}}}
  - {at: +1m, expect: {stream: {path: /perps/book-stream, params: {marketId: NOPE-PERP}}}}
  - {at: +1m, expect: {stream: {path: /perps/book-stream, params: {marketId: BTC-PERP,
                                                                   depth: "0"}}}}
  - {at: +1m, expect: {stream: {path: /perps/book-stream, params: {marketId: BTC-PERP},
                                since: +2m}}}
"""
    ) == [
        "t.yaml:5: timeline[0].expect.stream.path: is not a stream: one of /perps/book-stream, "
        "/markets/board/stream, /perps/stream/user, /perps/stream/events, "
        "/options/stream/events, /portfolio/balances/stream",
        "t.yaml:6: timeline[1].expect.stream.account: is required: /perps/stream/user is an "
        "account's stream",
        "t.yaml:7: timeline[2].expect.stream.account: /perps/book-stream is public: it takes no "
        "account",
        "t.yaml:9: timeline[3].expect.stream.params.marketId: Unknown market 'NOPE-PERP'",
        "t.yaml:11: timeline[4].expect.stream.params.depth: must be between 1 and 100",
        "t.yaml:13: timeline[5].expect.stream.since: must be from the scenario's load to the "
        "step's own time",
    ]


@pytest.mark.parametrize(
    ("value", "where", "held"),
    [
        ({"a": "1.50", "b": "x"}, {"a": "1.5"}, True),
        ({"a": "1.50"}, {"a": "1.6"}, False),
        ({"a": "1.50"}, {"c": "1.5"}, False),
        ({"l": [{"s": "buy"}, {"s": "sell"}]}, {"l": {"s": "sell"}}, True),
        ({"l": [{"s": "buy"}]}, {"l": [{"s": "buy"}, {"s": "sell"}]}, False),
        ({"l": [{"s": "buy"}, {"s": "sell"}]}, {"l": [{"s": "sell"}, {"s": "buy"}]}, True),
        ({"n": None}, {"n": None}, True),
        ({"n": "0"}, {"n": None}, False),
        ({"t": True}, {"t": "true"}, True),
        ({"t": False}, {"t": "true"}, False),
        ({"d": {"x": "1"}}, {"d": "1"}, False),
        ({"e": "BTC-PERP"}, {"e": "BTC-PERP"}, True),
    ],
)
def test_a_payload_holds_where(value: object, where: object, held: bool) -> None:
    assert holds(value, where) is held


def test_the_expectation_reads_the_same_over_the_control_api(ocx: OcxWorld, tmp_path: Path) -> None:
    path = tmp_path / "fill.yaml"
    path.write_text(
        TRADE
        + """
  - {at: +1m, expect: {stream: {path: /perps/stream/user, account: alice,
                                where: {trades: {side: buy}}}}}
"""
    )
    ocx.load_scenario(path)
    ocx.clock.advance("1m")

    [status] = ocx.scenario_status()["expectations"]
    assert status["ok"] is True and status["what"].startswith("alice's /perps/stream/user")
