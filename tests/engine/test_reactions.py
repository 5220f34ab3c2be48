"""The one reaction loop: commands record facts, and the loop answers them before returning."""

from __future__ import annotations

import inspect
from decimal import Decimal

from ocx_sim import Exchange
from ocx_sim.engine.core.events import AccountLiquidated
from ocx_sim.engine.sim import Sim
from ocx_sim.testing.builders import UserFactory, limit, market

D = Decimal
PERP = "BTC-PERP"

QUERIES = {
    "create",
    "user",
    "has_user",
    "held_position",
    "find_user",
    "users",
    "settlements",
    "settlement",
    "wallet_summary",
    "preview_order",
    "preview_strategy",
    "board",
    "prices_version",
    "dvol",
    "surface",
    "market",
    "linear_markets",
    "mark_price",
    "index_price",
    "price_band",
    "is_halted",
    "funding_rate",
    "next_funding_at",
    "depth",
    "book_levels",
    "book_sequence",
    "open_interest",
    "insurance_fund",
    "order",
    "orders",
    "open_orders",
    "fills",
    "positions",
    "position",
    "balances",
    "margin",
    "spot_assets",
    "ledger_entries",
    "realized_pnl",
    "volume_30d",
    "now_ms",
    "advance_to",
    "advance_by",
    "advance_timers",
    "events_of",
    "digest",
    "check_invariants",
    "vault_liquidity",
    "index_curve",
    "forget",
}
"""What changes nothing (`advance_*` move the clock, whose timers are each followed by the
loop; `forget` drops only what ended, which no reaction reads)."""


def test_every_public_method_of_the_exchange_and_its_levers_is_a_command_or_a_query() -> None:
    # A command is marked `@command` (it keeps the wrapped method), so it answers its facts
    # before it returns; anything else must be a query that changes nothing.
    for kind in (Exchange, Sim):
        for name, member in inspect.getmembers(kind):
            if name.startswith("_") or (not callable(member) and not isinstance(member, property)):
                continue
            is_command = hasattr(member, "__wrapped__")
            assert is_command != (name in QUERIES), f"{kind.__name__}.{name}"


def test_facts_a_command_left_unanswered_are_an_invariant_failure(exchange: Exchange) -> None:
    exchange._state.facts.marks = True

    assert any("unanswered" in p for p in exchange.check_invariants())
    exchange._reactions.run()
    assert exchange.check_invariants() == []


def test_a_fill_that_leaves_the_taker_under_maintenance_liquidates_it_in_the_same_call(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # alice's market buy sweeps to 71000 on 360 USDC: her 0.1 long, worth 68000 at the mark,
    # has lost 300 at once (equity 60 < maintenance 226.67), and the loop answers the fill.
    alice, bob = make_user(perps="360"), make_user(perps="20000")
    exchange.place_order(bob, limit(PERP, "sell", "0.1", "71000.00"))

    exchange.place_order(alice, market(PERP, "buy", "0.1"))

    liquidated = exchange.events_of(AccountLiquidated)
    assert [(e.user_id, e.bucket) for e in liquidated] == [(alice, "perps")]
    assert exchange._state.facts.filled == set()


def test_a_price_move_liquidates_within_the_lever_that_moved_it(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="400"), make_user(perps="20000")
    exchange.place_order(bob, limit(PERP, "sell", "0.1", "68000.00"))
    exchange.place_order(alice, limit(PERP, "buy", "0.1", "68000.00"))

    exchange.sim.set_index(PERP, D("66000"))

    assert [e.user_id for e in exchange.events_of(AccountLiquidated)] == [alice]
    assert exchange.position(alice, PERP) is None
