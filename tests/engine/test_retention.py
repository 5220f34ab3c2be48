"""`Exchange.forget`: what ended or happened before an instant leaves memory (docs/fidelity.md
"Retention") — orders that ended, fills, ledger entries and events — while everything live
stays, balances still equal their entries, and the digest still covers every event."""

from __future__ import annotations

import gc
import pickle
import tracemalloc
from decimal import Decimal

import pytest

from ocx_sim import ErrorCode, Exchange, OcxError
from ocx_sim.engine.core.events import OrderAccepted
from ocx_sim.testing.builders import funded_user, limit

PERP = "BTC-PERP"
HOUR_MS = 3_600_000


def _trading_day(exchange: Exchange) -> tuple[str, str, str]:
    """A fill between two users, one order cancelled and one left open, then a day later a
    second fill: (buyer, the open order's id, the cancelled order's id)."""
    buyer = funded_user(exchange, perps="100000")
    seller = funded_user(exchange, perps="100000")
    exchange.place_order(buyer, limit(PERP, "buy", "0.1", "67000.00"))
    exchange.place_order(seller, limit(PERP, "sell", "0.1", "67000.00"))
    cancelled = exchange.place_order(
        buyer, limit(PERP, "buy", "0.1", "62000.00", client_order_id="a")
    )
    exchange.cancel_order(buyer, cancelled.order.id)
    resting = exchange.place_order(buyer, limit(PERP, "buy", "0.1", "63000.00")).order
    exchange.advance_by(25 * HOUR_MS)
    exchange.place_order(buyer, limit(PERP, "buy", "0.1", "67500.00"))
    exchange.place_order(seller, limit(PERP, "sell", "0.1", "67500.00"))
    return buyer, resting.id, cancelled.order.id


def test_orders_that_ended_before_the_instant_are_forgotten_and_open_ones_stay() -> None:
    exchange = Exchange.create(seed=3)
    buyer, resting, cancelled = _trading_day(exchange)
    orders_before = [o.id for o in exchange.orders(buyer)]

    forgotten = exchange.forget(exchange.now_ms - 24 * HOUR_MS)

    with pytest.raises(OcxError) as refused:
        exchange.order(buyer, cancelled)
    assert refused.value.code is ErrorCode.ORDER_NOT_FOUND
    assert exchange.order(buyer, resting).is_open
    kept = [o.id for o in exchange.orders(buyer)]
    assert cancelled in orders_before and cancelled not in kept
    assert resting in kept and len(kept) == len(orders_before) - 2  # the first fill's, too
    assert forgotten.orders == 3  # both sides of the first fill and the cancelled one


def test_a_forgotten_orders_client_order_id_is_free_again() -> None:
    exchange = Exchange.create(seed=3)
    buyer, _, _ = _trading_day(exchange)
    exchange.forget(exchange.now_ms - 24 * HOUR_MS)

    again = exchange.place_order(buyer, limit(PERP, "buy", "0.1", "62000.00", client_order_id="a"))

    assert again.order.client_order_id == "a"


def test_fills_and_ledger_entries_before_the_instant_are_forgotten_and_balances_stay() -> None:
    exchange = Exchange.create(seed=3)
    buyer, _, _ = _trading_day(exchange)
    balances = exchange.balances(buyer)
    entries = len(exchange.ledger_entries(buyer))

    forgotten = exchange.forget(exchange.now_ms - 24 * HOUR_MS)

    assert [f.price for f in exchange.fills(buyer)] == [Decimal("67500.00")]
    assert exchange.user(buyer).fills_forgotten == 1
    assert forgotten.fills == 2 and forgotten.ledger_entries > 0
    assert len(exchange.ledger_entries(buyer)) < entries
    assert exchange.balances(buyer) == balances
    assert exchange.check_invariants() == []


def test_forgotten_events_still_count_in_the_digest_and_their_numbers_are_not_reused() -> None:
    kept, forgetting = Exchange.create(seed=3), Exchange.create(seed=3)
    _trading_day(kept)
    _trading_day(forgetting)
    last = forgetting.events.last_seq

    forgotten = forgetting.forget(forgetting.now_ms - 24 * HOUR_MS)
    funded_user(forgetting, perps="1000")  # the log goes on after what it forgot
    funded_user(kept, perps="1000")

    assert forgotten.events > 0
    assert len(forgetting.events) == len(kept.events) - forgotten.events
    assert forgetting.events.first_seq == forgotten.events + 1
    assert forgetting.events.since(0)[0].seq == forgotten.events + 1
    assert forgetting.events.last_seq == kept.events.last_seq > last
    assert forgetting.events.last() == kept.events.last()
    assert forgetting.digest() == kept.digest()


def test_events_after_the_kept_one_stay_whatever_their_instant() -> None:
    exchange = Exchange.create(seed=3)
    _trading_day(exchange)
    keep_after = 3

    exchange.forget(exchange.now_ms, keep_events_after=keep_after)

    assert exchange.events.first_seq == keep_after + 1


def test_a_pickled_exchange_that_forgot_goes_on_to_the_digest_of_one_that_never_did() -> None:
    kept, forgetting = Exchange.create(seed=3), Exchange.create(seed=3)
    _trading_day(kept)
    _trading_day(forgetting)
    forgetting.forget(forgetting.now_ms - 24 * HOUR_MS)

    restored: Exchange = pickle.loads(pickle.dumps(forgetting))
    for exchange in (kept, restored):
        exchange.advance_by(9 * HOUR_MS)  # a funding boundary: events on every position

    assert restored.digest() == kept.digest()


def test_nothing_is_forgotten_twice_and_a_call_with_nothing_due_forgets_nothing() -> None:
    exchange = Exchange.create(seed=3)
    _trading_day(exchange)
    first = exchange.forget(exchange.now_ms - 24 * HOUR_MS)

    again = exchange.forget(exchange.now_ms - 24 * HOUR_MS)

    assert first and not again


def _traced_growth(orders: int) -> tuple[int, int]:
    """Traced Python memory grown by placing and cancelling `orders` orders and advancing a
    day past them, (while they are kept, after they are forgotten), on an exchange a day old
    (its series of marks as long as they get)."""
    exchange = Exchange.create(seed=3)
    trader = funded_user(exchange, perps="1000000")
    exchange.advance_by(25 * HOUR_MS)
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(orders):
            order = exchange.place_order(trader, limit(PERP, "buy", "0.1", "62000.00")).order
            exchange.cancel_order(trader, order.id)
        kept, _ = tracemalloc.get_traced_memory()
        exchange.advance_by(25 * HOUR_MS)
        exchange.forget(exchange.now_ms - 24 * HOUR_MS)
        assert exchange.events_of(OrderAccepted) == []
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return kept - start, end - start


def test_orders_placed_and_cancelled_leave_no_memory_behind_once_forgotten() -> None:
    """The issue's flat-RSS check, in process: a day after 3,000 orders were placed and
    cancelled, the exchange holds what one that never saw them holds."""
    kept, forgotten = _traced_growth(3_000)
    _, baseline = _traced_growth(0)

    assert kept > 2_000_000  # about a kilobyte an order while they are kept
    assert forgotten - baseline < 50_000


def test_the_houses_orders_are_forgotten_as_soon_as_they_end() -> None:
    exchange = Exchange.create(seed=3)
    exchange.sim.start_sandbox()
    client, _, _ = _trading_day(exchange)  # a day of the house's quotes and trades
    recent = exchange.place_order(client, limit(PERP, "buy", "0.1", "63000.00")).order.id
    exchange.cancel_order(client, recent)
    house = [u for u in exchange.users if u.house]
    ended = sum(1 for u in house for o in u.orders.values() if not o.is_open)

    exchange.forget(exchange.now_ms - 24 * HOUR_MS)

    assert house and ended > 1_000
    assert all(o.is_open for u in house for o in u.orders.values())
    assert exchange.order(client, recent).status.value == "cancelled"  # a client's: kept
    assert exchange.check_invariants() == []
