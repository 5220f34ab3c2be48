"""Every setup section and timeline action does what docs/scenarios.md says, at its instant."""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.auth.keys import Scope
from ocx_sim.engine.core.events import FundingSettled, IndexSet, SettlementChanged, TradeExecuted
from ocx_sim.engine.core.orders import OrderStatus
from ocx_sim.engine.core.settlements import SettlementStatus
from ocx_sim.worlds import World
from tests.scenarios.conftest import only, play_to_end, world_with

D = Decimal
PERP = "BTC-PERP"
MINUTE = 60_000
TRADERS = """
accounts:
  alice: {balances: {wallet: "1000", perps: "100000", spot: "100000"}}
  bob: {balances: {perps: "100000"}}
"""


def user(world: World, name: str) -> str:
    return world.scenarios.accounts[name].user_id


def advance(world: World, ms: int) -> None:
    world.exchange.advance_by(ms)


# -- setup ------------------------------------------------------------------------------------


def test_market_overrides_pin_an_index_and_a_mark_and_halt_a_market() -> None:
    world = world_with(
        """
        markets:
          XAUT-USDC-PERP: {index: "4100.00"}
          BTC-PERP: {mark: "68100.00", halted: true}
        """
    )
    exchange = world.exchange

    assert exchange.index_price("XAUT-USDC-SPOT") == D("4100.00")  # the underlying's index
    assert exchange.mark_price(PERP) == D("68100.00")
    assert exchange.is_halted(PERP) and not exchange.is_halted("XAUT-USDC-PERP")


def test_a_curve_with_a_volatility_makes_the_index_walk_from_the_front() -> None:
    world = world_with(
        'markets:\n  BTC-PERP: {curve: {front: "70000", next: "71000"}, volatility: "0.5"}\n'
    )
    curve = world.exchange.sim.index_curve("BTC")
    assert (curve.f1, curve.f2, curve.volatility) == (D("70000"), D("71000"), 0.5)
    assert world.exchange.index_price(PERP) == D("70000")

    advance(world, MINUTE)

    assert world.exchange.index_price(PERP) != D("70000")


def test_accounts_are_funded_users_with_sessions_and_keys() -> None:
    world = world_with(
        """
        accounts:
          alice:
            wallet: 0x00000000000000000000000000000000000000aa
            balances: {wallet: "10", perps: "1000", spot: "5.5"}
            apiKeys: [{name: bot, scope: trade, allowedIps: ["10.0.0.0/8"]}]
        """
    )
    alice = world.scenarios.accounts["alice"]
    balances = world.exchange.balances(alice.user_id)

    assert alice.wallet_address == "0x00000000000000000000000000000000000000AA"
    assert (balances.wallet, balances.perps, balances.spot) == (D("10"), D("1000"), D("5.5"))
    (key, secret), *_ = alice.api_keys
    assert (key.name, key.scope, key.allowed_ips) == ("bot", Scope.TRADE, ("10.0.0.0/8",))
    assert world.keys.authenticate(secret, "10.1.2.3", world.now_ms).user_id == alice.user_id
    assert world.sessions.verify(alice.session_token, world.now_ms)[0] == alice.user_id


def test_books_rest_their_orders_when_loaded() -> None:
    world = world_with(
        TRADERS
        + """
books:
  - {account: bob, market: BTC-PERP, side: sell, price: "68100.00", quantity: "0.5000"}
  - {account: alice, market: BTC-PERP, side: buy, price: "67900.00", quantity: "0.2500"}
"""
    )
    depth = world.exchange.depth(PERP)

    assert (depth.bids, depth.asks) == ([(D("67900.00"), D("0.25"))], [(D("68100.00"), D("0.5"))])


def test_a_liquidity_agent_keeps_a_ladder_around_the_index() -> None:
    world = world_with(
        'liquidity:\n  - {market: BTC-PERP, quantity: "0.0100", levels: 2, spreadBps: "20"}\n'
    )
    depth = world.exchange.depth(PERP)

    # 10 bps either side of 68000, then a 5 bps step: 68000 × 0.001 = 68, 68000 × 0.0005 = 34.
    assert [price for price, _ in depth.bids] == [D("67932.00"), D("67898.00")]
    assert [price for price, _ in depth.asks] == [D("68068.00"), D("68102.00")]


def test_an_options_agent_quotes_the_board_on_the_options_near_the_money() -> None:
    world = world_with(
        "liquidity:\n"
        '  - {options: BTC, quantity: "0.50", expiries: 1, moneyness: "0.05", refresh: 1m}\n'
    )
    board = {e.spec.id: e for e in world.exchange.board("BTC").entries}
    depths = {m: world.exchange.depth(m) for m in board}
    quoted = {m: d for m, d in depths.items() if d.bids or d.asks}

    # The first expiry (08:00 that day), strikes within ±5 % of a forward near 68000.
    assert sorted(quoted) == [
        f"BTC-2026-01-02-{strike}-{kind}" for strike in (66000, 68000, 70000) for kind in ("C", "P")
    ]
    atm = quoted["BTC-2026-01-02-68000-C"]
    entry = board["BTC-2026-01-02-68000-C"]
    assert (atm.bids, atm.asks) == ([(entry.bid, D("0.50"))], [(entry.ask, D("0.50"))])


# -- prices -----------------------------------------------------------------------------------


def test_an_index_set_holds_from_its_instant() -> None:
    world = world_with('timeline:\n  - {at: +1m, index: {market: BTC-PERP, set: "70000.5"}}\n')

    advance(world, MINUTE - 1)
    assert world.exchange.index_price(PERP) == D("68000.00")
    advance(world, 1)
    assert world.exchange.index_price(PERP) == D("70000.5")


def test_a_ramp_moves_in_equal_steps_and_ends_exactly_on_its_target() -> None:
    world = world_with(
        'timeline:\n  - {at: +1m, index: {market: BTC-PERP, ramp: {to: "69000", over: 10s, '
        "every: 3s}}}\n"
    )
    seen = []
    for ms in (MINUTE, 3_000, 3_000, 3_000, 999, 1):
        advance(world, ms)
        seen.append(world.exchange.index_price(PERP))

    # Four moves (3, 6, 9 and 10 s), each a quarter of the way: 250 a move.
    assert seen == [D("68000.00"), D("68250"), D("68500"), D("68750"), D("68750"), D("69000")]


def test_a_mark_ramp_rounds_each_move_onto_the_tick() -> None:
    world = world_with(
        'timeline:\n  - {at: +1s, mark: {market: BTC-PERP, ramp: {to: "68000.10", over: 3s}}}\n'
    )

    advance(world, 2_000)

    # One third of 0.10 is 0.0333…: the mark is pinned on the tick.
    assert world.exchange.mark_price(PERP) == D("68000.03")


def test_a_gbm_path_moves_every_step_the_same_way_for_the_same_seed() -> None:
    text = (
        'timeline:\n  - {at: +1m, index: {market: BTC-PERP, gbm: {volatility: "2", over: 1h, '
        "every: 1m}}}\n"
    )

    def path(seed: int) -> list[Decimal | None]:
        world = world_with(text, seed=seed)
        play_to_end(world)
        return [e.price for e in world.exchange.events_of(IndexSet)]

    first = path(7)
    assert len(first) == 60 and len(set(first)) == 60
    assert path(7) == first
    assert path(8) != first


def test_a_gbm_paths_drift_grows_it_at_that_annual_rate() -> None:
    # With no volatility the path is its drift alone: 68000 × e^(0.5 × 30 days / 365 days).
    text = (
        'timeline:\n  - {at: +1m, index: {market: BTC-PERP, gbm: {volatility: "0", '
        'drift: "0.5", over: 30d, every: 1d}}}\n'
    )
    world = world_with(text)
    play_to_end(world)
    prices = [e.price for e in world.exchange.events_of(IndexSet) if e.price is not None]
    assert len(prices) == 30
    # 68000 × e^(15/365) = 70852.7369494222…, to the index's 8 decimals.
    assert prices[-1] == D("70852.73694942")
    assert prices == sorted(prices)


def test_a_jump_moves_by_a_difference_or_a_percentage() -> None:
    world = world_with(
        """
        timeline:
          - {at: +1m, index: {market: BTC-PERP, jump: "-5%"}}
          - {at: +2m, mark: {market: BTC-PERP, jump: "100.01"}}
        """
    )

    advance(world, MINUTE)
    assert world.exchange.index_price(PERP) == D("64600")
    advance(world, MINUTE)
    assert world.exchange.mark_price(PERP) == D("64700.01")


def test_an_index_withdrawn_leaves_no_mark_and_a_released_mark_follows_its_model_again() -> None:
    world = world_with(
        """
        markets: {BTC-PERP: {mark: "69000.00"}}
        timeline:
          - {at: +1m, mark: {market: BTC-PERP, release: true}}
          - {at: +2m, index: {market: BTC-PERP, withdraw: true}}
        """
    )

    advance(world, MINUTE)
    assert world.exchange.mark_price(PERP) == D("68000.00")
    advance(world, MINUTE)
    assert (world.exchange.index_price(PERP), world.exchange.mark_price(PERP)) == (None, None)


# -- orders -----------------------------------------------------------------------------------


def test_an_order_is_placed_for_its_account_and_a_named_one_is_cancelled_by_name() -> None:
    world = world_with(
        TRADERS
        + """
timeline:
  - {at: +1m, order: {name: bid, account: alice, market: BTC-PERP, side: buy, price: "67000.00",
                      quantity: "0.1000", postOnly: true, clientOrderId: c-1}}
  - {at: +2m, cancel: bid}
"""
    )
    alice = user(world, "alice")

    advance(world, MINUTE)
    (order,) = world.exchange.open_orders(alice)
    assert (order.price, order.post_only, order.client_order_id) == (D("67000.00"), True, "c-1")
    advance(world, MINUTE)
    assert world.exchange.order(alice, order.id).status is OrderStatus.CANCELLED


def test_cancel_all_cancels_the_accounts_open_orders_on_the_market() -> None:
    world = world_with(
        TRADERS
        + """
books:
  - {account: alice, market: BTC-PERP, side: buy, price: "67000.00", quantity: "0.1000"}
  - {account: alice, market: BTC-PERP, side: buy, price: "66000.00", quantity: "0.1000"}
  - {account: alice, market: BTC-USDC-SPOT, side: buy, price: "66000.00", quantity: "0.1000"}
timeline:
  - {at: +1m, cancelAll: {account: alice, market: BTC-PERP}}
"""
    )

    advance(world, MINUTE)

    assert [o.market_id for o in world.exchange.open_orders(user(world, "alice"))] == [
        "BTC-USDC-SPOT"
    ]


def test_a_trade_is_an_outside_fill_of_resting_orders() -> None:
    world = world_with(
        TRADERS
        + """
books:
  - {name: bid, account: alice, market: BTC-PERP, side: buy, price: "67000.00", quantity: "0.1000"}
timeline:
  - {at: +1m, trade: {market: BTC-PERP, side: sell, price: "67000.00", quantity: "0.1000"}}
  - {at: +1m, expect: {order: {order: bid, status: filled}}}
"""
    )

    assert only(play_to_end(world)).ok
    (trade,) = world.exchange.events_of(TradeExecuted)
    assert (trade.price, trade.quantity, trade.taker_side) == (D("67000.00"), D("0.1"), "sell")
    assert world.exchange.position(user(world, "alice"), PERP).size == D("0.1")  # type: ignore[union-attr]


def test_a_funding_override_makes_the_next_settlement_pay_the_rate() -> None:
    world = world_with(
        TRADERS
        + """
books:
  - {account: bob, market: BTC-PERP, side: sell, price: "68000.00", quantity: "1.0000"}
timeline:
  - {at: +10s, order: {account: alice, market: BTC-PERP, side: buy, quantity: "1.0000"}}
  - {at: +1m, funding: {market: BTC-PERP, rate: "-0.001"}}
"""
    )

    advance(world, 5 * MINUTE)

    (settled,) = world.exchange.events_of(FundingSettled)
    assert (settled.rate, settled.amount) == (D("-0.001"), D("68"))


# -- money ------------------------------------------------------------------------------------


def test_a_deposit_is_seen_on_chain_and_credited_after_its_confirmations() -> None:
    world = world_with(
        TRADERS
        + 'timeline:\n  - {at: +1m, deposit: {account: bob, amount: "250", txHash: "0xab"}}\n'
    )
    bob = user(world, "bob")

    advance(world, MINUTE)
    record, _funding = world.exchange.settlements(bob)  # newest first
    assert (record.status, record.tx_hash) == (SettlementStatus.PENDING, "0xab")
    advance(world, 4_000)
    assert world.exchange.balances(bob).wallet == D("250")


def test_withdrawals_fail_when_armed_and_wait_on_the_vault() -> None:
    world = world_with(
        TRADERS
        + """
timeline:
  - {at: +10s, failWithdrawals: 1}
  - {at: +10s, withdraw: {account: alice, amount: "100"}}
  - {at: +3m, vault: {liquidity: "50"}}
  - {at: +3m, withdraw: {account: alice, amount: "100"}}
"""
    )
    alice = user(world, "alice")

    advance(world, 10_000)
    assert world.exchange.balances(alice).wallet == D("900")
    advance(world, 5 * MINUTE)

    statuses = [e.status for e in world.exchange.events_of(SettlementChanged)]
    assert statuses.count("failed") == 1 and statuses[-1] == "insufficient_liquidity"
    assert world.exchange.sim.vault_liquidity() == D("50")
    assert world.exchange.balances(alice).wallet == D("900")  # refunded once, then debited again


def test_a_vault_liquidity_of_null_makes_it_unlimited_again() -> None:
    world = world_with(
        """
        timeline:
          - {at: +1m, vault: {liquidity: "10"}}
          - {at: +2m, vault: {liquidity: ~}}
        """
    )

    advance(world, MINUTE)
    assert world.exchange.sim.vault_liquidity() == D("10")
    advance(world, MINUTE)
    assert world.exchange.sim.vault_liquidity() is None


# -- markets and faults -----------------------------------------------------------------------


def test_a_halt_refuses_orders_until_resumed() -> None:
    world = world_with(
        """
        timeline:
          - {at: +1m, halt: BTC-PERP}
          - {at: +2m, resume: BTC-PERP}
        """
    )

    advance(world, MINUTE)
    assert world.exchange.is_halted(PERP)
    advance(world, MINUTE)
    assert not world.exchange.is_halted(PERP)


def test_a_fault_is_on_from_its_step_to_its_fault_off_and_names_the_accounts_user() -> None:
    world = world_with(
        TRADERS
        + """
timeline:
  - at: +1m
    fault:
      name: outage
      match: {method: POST, path: "/perps/orders/{orderId}/cancel", account: alice}
      action: {type: error, status: 503, code: UPSTREAM_DEGRADED}
      times: ~
      probability: 0.25
  - {at: +2m, faultOff: outage}
"""
    )

    assert world.faults.rules() == []
    advance(world, MINUTE)
    (rule,) = world.faults.rules()
    assert (rule.match.method, rule.match.path) == ("POST", "/perps/orders/{orderId}/cancel")
    assert (rule.match.account, rule.times, rule.probability) == (user(world, "alice"), None, 0.25)
    assert (rule.action.status, rule.action.code) == (503, "UPSTREAM_DEGRADED")
    advance(world, MINUTE)
    assert world.faults.rules() == []


def test_a_fault_step_may_answer_an_error_code_outside_the_catalog() -> None:
    world = world_with(
        """
        timeline:
          - at: +1m
            fault:
              name: breaker
              match: {method: GET, path: /perps/markets}
              action: {type: error, status: 599, code: CIRCUIT_OPEN}
        """
    )

    advance(world, MINUTE)
    (rule,) = world.faults.rules()
    assert (rule.action.status, rule.action.answer_code) == (599, "CIRCUIT_OPEN")


# -- refusals and expected refusals -----------------------------------------------------------


def test_a_refused_action_is_a_failed_result_and_the_run_goes_on() -> None:
    world = world_with(
        TRADERS
        + """
timeline:
  - {at: +1m, withdraw: {account: bob, amount: "5"}}
  - {at: +2m, halt: BTC-PERP}
"""
    )

    failed = only(play_to_end(world))

    assert (failed.at_ms, failed.what, failed.ok) == (
        world.now_ms - MINUTE,
        "timeline[0] withdraw",
        False,
    )
    assert failed.detail.startswith("refused with INSUFFICIENT_BALANCE: Cannot withdraw 5 USDC")
    assert world.exchange.is_halted(PERP)


def test_expect_error_passes_only_on_a_refusal_with_that_code() -> None:
    world = world_with(
        TRADERS
        + """
markets: {BTC-PERP: {halted: true}}
timeline:
  - {at: +1m, order: {account: alice, market: BTC-PERP, side: buy, price: "68000.00",
                      quantity: "0.1000"}, expectError: MARKET_HALTED}
  - {at: +1m, order: {account: alice, market: BTC-PERP, side: buy, price: "68000.00",
                      quantity: "0.1000"}, expectError: INSUFFICIENT_MARGIN}
  - {at: +1m, resume: BTC-PERP, expectError: MARKET_HALTED}
"""
    )

    results = play_to_end(world)

    assert [(r.what, r.ok, r.detail) for r in results] == [
        (
            "timeline[0] order is refused with MARKET_HALTED",
            True,
            "refused with MARKET_HALTED: BTC-PERP is halted",
        ),
        (
            "timeline[1] order is refused with INSUFFICIENT_MARGIN",
            False,
            "refused with MARKET_HALTED: BTC-PERP is halted",
        ),
        ("timeline[2] resume is refused with MARKET_HALTED", False, "was accepted"),
    ]
    assert world.scenarios.pending == 0
