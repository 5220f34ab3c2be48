"""Expectations: each kind judged at its instant, passing and failing with what it found; and
when a step runs relative to the exchange's own timers and to the instant of loading."""

from __future__ import annotations

from ocx_sim.worlds import World, WorldConfig
from tests.scenarios.conftest import only, play_to_end, scenario, world_with

MINUTE = 60_000
POSITIONS = """
accounts:
  alice: {balances: {perps: "100000"}}
  bob: {balances: {perps: "100000"}}
books:
  - {name: ask, account: bob, market: BTC-PERP, side: sell, price: "68000.00", quantity: "1.0000"}
timeline:
  - {at: +10s, order: {name: buy, account: alice, market: BTC-PERP, side: buy, quantity: "1.0000"}}
"""


def judged(text: str) -> list[tuple[str, bool, str]]:
    world = world_with(text)
    return [(r.what, r.ok, r.detail) for r in play_to_end(world)]


def test_a_balance_is_compared_with_equals_at_least_and_at_most() -> None:
    assert judged(
        POSITIONS
        + """
  - {at: +1m, expect: {balance: {account: alice, bucket: perps, equals: "99966"}}}
  - {at: +1m, expect: {balance: {account: bob, bucket: perps, atLeast: "100000", atMost: "100100"}}}
  - {at: +1m, expect: {balance: {account: bob, bucket: wallet, atLeast: "1"}}}
"""
    ) == [
        # Fees on 68000 of notional: the taker pays 5 bps (34), the maker 2 bps (13.60).
        ("balance of alice in perps = 99966", True, "is 99966.000000"),
        ("balance of bob in perps >= 100000 and <= 100100", False, "is 99986.400000"),
        ("balance of bob in wallet >= 1", False, "is 0"),
    ]


def test_a_position_field_is_compared_and_a_flat_one_is_zero() -> None:
    assert judged(
        POSITIONS
        + """
  - {at: +1m, expect: {position: {account: alice, market: BTC-PERP, equals: "1"}}}
  - {at: +1m, expect: {position: {account: bob, market: BTC-PERP, field: entryPrice,
                                  equals: "68000"}}}
  - {at: +1m, expect: {position: {account: alice, market: BTC-PERP, marginMode: isolated,
                                  equals: "0"}}}
  - {at: +1m, expect: {position: {account: alice, market: XAUT-USDC-PERP, atLeast: "0.1"}}}
"""
    ) == [
        ("size of alice's cross position in BTC-PERP = 1", True, "is 1.0000"),
        ("entryPrice of bob's cross position in BTC-PERP = 68000", True, "is 68000.00"),
        ("size of alice's isolated position in BTC-PERP = 0", True, "is 0"),
        ("size of alice's cross position in XAUT-USDC-PERP >= 0.1", False, "is 0"),
    ]


def test_an_order_is_found_by_name_and_one_never_placed_fails() -> None:
    assert judged(
        POSITIONS
        + """
  - {at: +5s, expect: {order: {order: ask, status: open}}}
  - {at: +1m, expect: {order: {order: ask, status: open}}}
  - {at: +1m, expect: {order: {order: buy, status: filled}}}
  - {at: +1m, order: {name: late, account: alice, market: BTC-PERP, side: buy, quantity: "1"},
     expectError: NO_LIQUIDITY}
  - {at: +1m, expect: {order: {order: late, status: filled}}}
"""
    ) == [
        ("order ask is open", True, "is open"),
        (
            "timeline[4] order is refused with NO_LIQUIDITY",
            True,
            "refused with NO_LIQUIDITY: No liquidity to fill the market order",
        ),
        ("order ask is open", False, "is filled"),
        ("order buy is filled", True, "is filled"),
        ("order late is filled", False, "was not placed"),
    ]


def test_events_are_counted_since_loading_by_type_account_fields_and_since() -> None:
    assert judged(
        POSITIONS
        + """
  - {at: +1m, halt: XAUT-USDC-PERP}
  - {at: +2m, expect: {event: {type: TradeExecuted, count: 1}}}
  - {at: +2m, expect: {event: {type: OrderAccepted, account: alice}}}
  - {at: +2m, expect: {event: {type: MarketHalted, where: {marketId: XAUT-USDC-PERP}, count: 1}}}
  - {at: +2m, expect: {event: {type: MarketHalted, where: {marketId: BTC-PERP}, atLeast: 1}}}
  - {at: +2m, expect: {event: {type: TradeExecuted, since: +30s, atMost: 0}}}
  - {at: +2m, expect: {event: {type: UserRegistered, count: 0}}}
"""
    ) == [
        ("TradeExecuted events count = 1", True, "found 1"),
        ("OrderAccepted events of alice count >= 1", True, "found 1"),
        ("MarketHalted events marketId=XAUT-USDC-PERP count = 1", True, "found 1"),
        ("MarketHalted events marketId=BTC-PERP count >= 1", False, "found 0"),
        ("TradeExecuted events count <= 0", True, "found 0"),
        # The count starts when loading starts: the accounts' registrations are in it.
        ("UserRegistered events count = 0", False, "found 2"),
    ]


def test_an_index_and_a_mark_are_compared_and_a_missing_one_fails() -> None:
    assert judged(
        """
        timeline:
          - {at: +1m, index: {market: XAUT-USDC-PERP, set: "4100"}}
          - {at: +1m, expect: {index: {market: XAUT-USDC-SPOT, equals: "4100"}}}
          - {at: +1m, expect: {mark: {market: BTC-PERP, atMost: "67000"}}}
          - {at: +2m, index: {market: BTC-PERP, withdraw: true}}
          - {at: +2m, expect: {mark: {market: BTC-PERP, atLeast: "1"}}}
        """
    ) == [
        ("index of XAUT-USDC-SPOT = 4100", True, "is 4100"),
        ("mark of BTC-PERP <= 67000", False, "is 68000.00000000"),
        ("mark of BTC-PERP >= 1", False, "there is none"),
    ]


def test_an_expectation_at_a_funding_boundary_sees_the_payment_however_early_it_was_loaded() -> (
    None
):
    # Loaded at 00:00: its timers were scheduled before the 00:10 funding timer was (that one
    # is scheduled when the 00:05 one fires), and still the expectation sees both payments.
    assert judged(
        POSITIONS
        + """
  - {at: +1m, mark: {market: BTC-PERP, set: "68652.80"}}
  - {at: +10m, expect: {event: {type: FundingPaid, account: alice, count: 2}}}
  - {at: +10m, expect: {position: {account: alice, market: BTC-PERP, field: fundingPayment,
                                   equals: "-12.357504"}}}
"""
    ) == [
        ("FundingPaid events of alice count = 2", True, "found 2"),
        # A 0.96 % premium for 4 of the first 5 minutes, then all 5, each period paying its
        # average over 8 hours (a 96th): 68652.80 × (0.00008 + 0.0001).
        (
            "fundingPayment of alice's cross position in BTC-PERP = -12.357504",
            True,
            "is -12.357504",
        ),
    ]


def test_at_one_instant_actions_run_before_expectations_and_each_in_file_order() -> None:
    assert judged(
        """
        timeline:
          - {at: +1m, expect: {index: {market: BTC-PERP, equals: "69000"}}}
          - {at: +50s, index: {market: BTC-PERP, ramp: {to: "69000", over: 10s}}}
          - {at: +1m, index: {market: XAUT-USDC-PERP, set: "4000"}}
          - {at: +1m, index: {market: XAUT-USDC-PERP, set: "4001"}}
          - {at: +1m, expect: {index: {market: XAUT-USDC-PERP, equals: "4001"}}}
        """
    ) == [
        ("index of BTC-PERP = 69000", True, "is 69000.00000000"),
        ("index of XAUT-USDC-PERP = 4001", True, "is 4001"),
    ]


def test_a_scenario_loaded_into_a_running_world_counts_relative_times_from_now() -> None:
    world = World("t", WorldConfig(seed=7))
    world.exchange.advance_by(10 * MINUTE)
    loaded_at = world.now_ms

    run = world.load_scenario(
        scenario(
            """
            meta: {seed: 99, start: 2030-01-01T00:00:00Z}
            timeline:
              - {at: +1m, halt: BTC-PERP}
              - {at: +1m, expect: {event: {type: MarketHalted, count: 1}}}
            """
        )
    )

    assert (run.origin_ms, run.end_ms) == (loaded_at, loaded_at + MINUTE)
    assert (world.exchange.seed, world.now_ms) == (7, loaded_at)  # meta seed and start ignored
    result = only(play_to_end(world))
    assert (result.at_ms, result.ok) == (loaded_at + MINUTE, True)
    assert world.scenarios.pending == 0


def test_results_are_kept_in_the_order_of_their_instants_across_scenarios() -> None:
    world = world_with("timeline:\n  - {at: +2m, expect: {event: {type: MarketHalted}}}\n")
    world.load_scenario(scenario("timeline:\n  - {at: +1m, halt: BTC-PERP}\n"))

    play_to_end(world)
    world.exchange.advance_by(MINUTE)

    assert [(r.what, r.ok) for r in world.scenarios.results()] == [
        ("MarketHalted events count >= 1", True)
    ]
    assert [run.pending for run in world.scenarios.runs] == [0, 0]
