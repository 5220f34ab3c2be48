"""Trigger orders (docs/fidelity.md "Trigger orders"): stops wait `untriggered` and fire on the
mark; take-profit and stop-loss children are armed by the entry's fills, one cancels the other, and
they go with the position.

BTC-PERP starts with its mark at 68000.00 and a 10 % band (61200.00–74800.00); the books here
are one-sided whenever an index moves, so the mark is the index."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

import pytest

from ocx_sim import Bucket, ErrorCode, Exchange, OrderRequest, OrderStatus
from ocx_sim.engine.core.events import (
    AccountLiquidated,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderTriggered,
    TradeExecuted,
)
from ocx_sim.engine.core.orders import Order, OrderType, Side
from ocx_sim.testing.builders import UserFactory, limit, market, refused

D = Decimal
PERP = "BTC-PERP"
SPOT = "BTC-USDC-SPOT"
E = TypeVar("E", bound=Event)


def events_of(exchange: Exchange, kind: type[E]) -> list[E]:
    return [e for e in exchange.events if isinstance(e, kind)]


def cancel_reason(exchange: Exchange, order: Order) -> str:
    return next(e.reason for e in events_of(exchange, OrderCancelled) if e.order_id == order.id)


def status(order: Order) -> OrderStatus:
    """The order's status now (a call, so the type checker does not narrow it across the
    commands that change it)."""
    return order.status


def triggered_ids(exchange: Exchange) -> list[str]:
    return [e.order_id for e in events_of(exchange, OrderTriggered)]


def children_of(exchange: Exchange, user_id: str, entry: Order) -> list[Order]:
    """The entry's take-profit/stop-loss orders, oldest first (TP first when both)."""
    return [
        o
        for o in reversed(exchange.orders(user_id, market_id=entry.market_id))
        if o.id != entry.id and o.stop_price is not None and o.reduce_only
    ]


def buy_stop(
    price: str | None = None,
    *,
    stop: str = "69000.00",
    market_id: str = PERP,
    take_profit_price: Decimal | None = None,
    stop_loss_price: Decimal | None = None,
) -> OrderRequest:
    """A buy stop for 0.1 at `stop`: a market order, or a stop-limit at `price`; with a
    bracket when given its take-profit and stop-loss prices."""
    if price is None:
        return market(
            market_id,
            "buy",
            "0.1",
            stop_price=D(stop),
            take_profit_price=take_profit_price,
            stop_loss_price=stop_loss_price,
        )
    return limit(
        market_id,
        "buy",
        "0.1",
        price,
        stop_price=D(stop),
        take_profit_price=take_profit_price,
        stop_loss_price=stop_loss_price,
    )


def bracket(
    side: str,
    quantity: str,
    price: str,
    *,
    take_profit: str | None = None,
    stop_loss: str | None = None,
) -> OrderRequest:
    """A limit entry on BTC-PERP carrying a take-profit and/or a stop-loss."""
    return limit(
        PERP,
        side,
        quantity,
        price,
        take_profit_price=None if take_profit is None else D(take_profit),
        stop_loss_price=None if stop_loss is None else D(stop_loss),
    )


@pytest.fixture
def alice(make_user: UserFactory) -> str:
    """A trader with 10000 USDC in perps; so are `bob` and `carol`."""
    return make_user(perps="10000")


@pytest.fixture
def bob(make_user: UserFactory) -> str:
    return make_user(perps="10000")


@pytest.fixture
def carol(make_user: UserFactory) -> str:
    return make_user(perps="10000")


@pytest.fixture
def ask(exchange: Exchange, alice: str) -> Order:
    """alice's ask for 0.1 at 69100.00, above the 69000.00 stops: what a fired buy stop takes."""
    return exchange.place_order(alice, limit(PERP, "sell", "0.1", "69100.00")).order


@pytest.fixture
def bracketed_long(exchange: Exchange, alice: str, bob: str) -> Order:
    """bob long 0.2 at 68000.00 through an entry with TP 70000.00 and SL 66000.00 (alice
    sold it); the fixture is the filled entry."""
    entry = exchange.place_order(
        bob, bracket("buy", "0.2", "68000.00", take_profit="70000.00", stop_loss="66000.00")
    )
    exchange.place_order(alice, market(PERP, "sell", "0.2"))
    assert status(entry.order) is OrderStatus.FILLED
    return entry.order


# -- stop orders ---------------------------------------------------------------------------


def test_a_stop_loss_the_jump_crosses_closes_the_position_before_the_liquidation_looks(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # Triggers answer a price move before the liquidation does, so a stop-loss may spare its
    # account: at 66000 alice's 0.1 long on 400 USDC (equity 200 < maintenance 220) would be
    # liquidated, but her stop at 67000 sells it to bob's bid first.
    alice, bob, carol = make_user(perps="400"), make_user(perps="20000"), make_user(perps="20000")
    exchange.place_order(carol, limit(PERP, "sell", "0.1", "68000.00"))
    exchange.place_order(alice, limit(PERP, "buy", "0.1", "68000.00"))
    exchange.place_order(
        alice, market(PERP, "sell", "0.1", stop_price=D("67000.00"), reduce_only=True)
    )
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "66900.00"))

    exchange.sim.set_index(PERP, D("66000"))

    assert exchange.position(alice, PERP) is None
    assert exchange.events_of(AccountLiquidated) == []
    assert [f.price for f in exchange.fills(alice)] == [D("66900.00"), D("68000.00")]


def test_a_stop_waits_untriggered_off_the_book_holding_no_margin(
    exchange: Exchange, bob: str
) -> None:
    placed = exchange.place_order(bob, buy_stop())

    order = placed.order
    assert placed.fills == []
    assert status(order) is OrderStatus.UNTRIGGERED
    assert order.stop_price == D("69000.00")
    assert exchange.depth(PERP).bids == []
    assert [o.id for o in exchange.open_orders(bob)] == [order.id]
    assert exchange.margin(bob).order_margin == 0
    assert exchange.check_invariants() == []


def test_a_buy_stop_fires_at_the_first_mark_at_or_above_its_stop(
    exchange: Exchange, ask: Order, bob: str
) -> None:
    stop = exchange.place_order(bob, buy_stop()).order

    exchange.sim.set_index(PERP, D("68999.99"))
    assert status(stop) is OrderStatus.UNTRIGGERED
    assert triggered_ids(exchange) == []

    exchange.sim.set_index(PERP, D("69000.00"))

    assert status(stop) is OrderStatus.FILLED
    assert events_of(exchange, OrderTriggered)[-1].mark == D("69000.00")
    trade = events_of(exchange, TradeExecuted)[-1]
    assert (trade.taker_order_id, trade.price, trade.quantity) == (
        stop.id,
        D("69100.00"),
        D("0.1"),
    )
    assert exchange.position(bob, PERP) is not None
    assert exchange.check_invariants() == []


def test_a_sell_stop_fires_at_the_first_mark_at_or_below_its_stop(
    exchange: Exchange, alice: str, bob: str
) -> None:
    exchange.place_order(alice, limit(PERP, "buy", "0.1", "66900.00"))
    stop = exchange.place_order(bob, market(PERP, "sell", "0.1", stop_price=D("67000.00"))).order

    exchange.sim.set_index(PERP, D("67000.01"))
    assert status(stop) is OrderStatus.UNTRIGGERED

    exchange.sim.set_index(PERP, D("67000.00"))

    assert status(stop) is OrderStatus.FILLED
    assert [(f.price, f.quantity) for f in exchange.fills(bob)] == [(D("66900.00"), D("0.1"))]


def test_a_stop_the_mark_already_crosses_fires_at_placement(
    exchange: Exchange, alice: str, bob: str
) -> None:
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "68100.00"))

    placed = exchange.place_order(bob, market(PERP, "buy", "0.1", stop_price=D("67000.00")))

    assert status(placed.order) is OrderStatus.FILLED
    assert [(f.price, f.quantity) for f in placed.fills] == [(D("68100.00"), D("0.1"))]
    assert triggered_ids(exchange) == [placed.order.id]


def test_a_fired_stop_limit_rests_with_its_id_and_then_holds_margin(
    exchange: Exchange, bob: str
) -> None:
    stop = exchange.place_order(bob, buy_stop("69050.00")).order

    exchange.sim.pin_mark(PERP, D("69000.00"))

    assert status(stop) is OrderStatus.OPEN
    assert exchange.depth(PERP).bids == [(D("69050.00"), D("0.1000"))]
    assert [o.id for o in exchange.open_orders(bob)] == [stop.id]
    # 0.1 × 69050.00 / 20× leverage
    assert exchange.margin(bob).order_margin == D("345.25")
    assert exchange.check_invariants() == []


def test_stops_crossed_together_fire_in_creation_order(
    exchange: Exchange, make_user: UserFactory, ask: Order, bob: str
) -> None:
    dave = make_user(perps="10000")
    first = exchange.place_order(dave, buy_stop(stop="68900.00"))
    second = exchange.place_order(bob, buy_stop(stop="68500.00"))

    exchange.sim.set_index(PERP, D("69000.00"))

    # dave's stop was created first, so it takes the only ask; bob's finds nothing to take.
    assert triggered_ids(exchange) == [first.order.id, second.order.id]
    assert status(first.order) is OrderStatus.FILLED
    assert status(second.order) is OrderStatus.CANCELLED
    assert cancel_reason(exchange, second.order) == "trigger_rejected"


def test_a_stop_is_refused_at_placement_without_the_margin_it_would_need(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # 0.1 × 68000.00 / 20 = 340.00 margin + 3.40 worst taker fee (5 bps) > 300.
    bob = make_user(perps="300")

    err = refused(exchange, lambda: exchange.place_order(bob, buy_stop()))

    assert err.code is ErrorCode.INSUFFICIENT_MARGIN


def test_a_stop_the_checks_refuse_when_it_fires_is_cancelled_and_nothing_else_changes(
    exchange: Exchange, make_user: UserFactory, ask: Order
) -> None:
    bob = make_user(perps="400")
    # 340.00 + 3.40 fits in 400 at placement; the margin is not held, so 300 can leave.
    stop = exchange.place_order(bob, buy_stop()).order
    exchange.transfer(bob, Bucket.PERPS, Bucket.WALLET, D("300"))

    exchange.sim.set_index(PERP, D("69000.00"))  # now 345.00 + 3.45 > 100

    assert status(stop) is OrderStatus.CANCELLED
    assert cancel_reason(exchange, stop) == "trigger_rejected"
    assert events_of(exchange, TradeExecuted) == []
    assert status(ask) is OrderStatus.OPEN
    assert exchange.position(bob, PERP) is None
    assert exchange.open_orders(bob) == []


def test_a_stop_on_a_halted_market_is_rejected_when_it_fires(exchange: Exchange, bob: str) -> None:
    stop = exchange.place_order(bob, buy_stop()).order
    exchange.sim.halt(PERP)

    exchange.sim.set_index(PERP, D("69500.00"))

    assert status(stop) is OrderStatus.CANCELLED
    assert cancel_reason(exchange, stop) == "trigger_rejected"


def test_cancelling_an_untriggered_stop_ends_it_for_good(exchange: Exchange, bob: str) -> None:
    stop = exchange.place_order(bob, buy_stop()).order

    cancelled = exchange.cancel_order(bob, stop.id)
    exchange.sim.set_index(PERP, D("69500.00"))

    assert status(cancelled) is OrderStatus.CANCELLED
    assert cancel_reason(exchange, stop) == "user"
    assert exchange.open_orders(bob) == []
    assert triggered_ids(exchange) == []


def test_cancel_all_takes_untriggered_orders_too(exchange: Exchange, bob: str) -> None:
    resting = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    stop = exchange.place_order(bob, buy_stop()).order

    assert exchange.cancel_all(bob, market_id=PERP) == [resting.id, stop.id]
    assert status(stop) is OrderStatus.CANCELLED


def test_an_untriggered_order_cannot_be_modified(exchange: Exchange, bob: str) -> None:
    stop = exchange.place_order(bob, buy_stop("69050.00")).order

    err = refused(exchange, lambda: exchange.modify_order(bob, stop.id, price=D("69060.00")))

    assert err.code is ErrorCode.ORDER_NOT_OPEN


def test_a_spot_stop_locks_nothing_until_it_fires(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(spot="10000")
    stop = exchange.place_order(bob, buy_stop("69050.00", market_id=SPOT)).order
    assert exchange.spot_assets(bob)[0].locked == 0

    exchange.sim.set_index(SPOT, D("69000.00"))

    assert status(stop) is OrderStatus.OPEN
    # 0.1 × 69050.00 × (1 + 5 bps), the bid's lock (docs/fidelity.md "Money")
    assert exchange.spot_assets(bob)[0].locked == D("6908.4525")


def test_preview_of_a_stop_does_not_ask_the_book(exchange: Exchange, bob: str) -> None:
    preview = exchange.preview_order(bob, buy_stop())

    assert preview.approved is True


# -- take-profit / stop-loss ---------------------------------------------------------------


def test_an_entry_s_first_fill_creates_its_take_profit_and_stop_loss_for_the_filled_quantity(
    exchange: Exchange, alice: str, bob: str
) -> None:
    entry = exchange.place_order(
        bob, bracket("buy", "0.3", "68000.00", take_profit="70000.00", stop_loss="66000.00")
    ).order
    assert children_of(exchange, bob, entry) == []

    exchange.place_order(alice, market(PERP, "sell", "0.1"))

    tp, sl = children_of(exchange, bob, entry)
    for child in (tp, sl):
        assert status(child) is OrderStatus.UNTRIGGERED
        assert (child.side, child.type, child.reduce_only) == (Side.SELL, OrderType.MARKET, True)
        assert child.quantity == D("0.1")
        assert child.level is None and child.held_lots == 0
    assert (tp.stop_price, tp.take_profit_price, tp.stop_loss_price) == (
        D("70000.00"),
        D("70000.00"),
        None,
    )
    assert (sl.stop_price, sl.take_profit_price, sl.stop_loss_price) == (
        D("66000.00"),
        None,
        D("66000.00"),
    )

    exchange.place_order(alice, market(PERP, "sell", "0.1"))

    assert [c.quantity for c in children_of(exchange, bob, entry)] == [D("0.2"), D("0.2")]
    assert exchange.check_invariants() == []


def test_the_take_profit_fires_at_its_price_and_cancels_the_stop_loss(
    exchange: Exchange, bob: str, bracketed_long: Order, carol: str
) -> None:
    tp, sl = children_of(exchange, bob, bracketed_long)
    exchange.place_order(carol, limit(PERP, "buy", "0.2", "69900.00"))

    exchange.sim.set_index(PERP, D("69999.99"))
    assert status(tp) is OrderStatus.UNTRIGGERED

    exchange.sim.set_index(PERP, D("70000.00"))

    assert status(tp) is OrderStatus.FILLED
    assert status(sl) is OrderStatus.CANCELLED
    assert cancel_reason(exchange, sl) == "one_cancels_other"
    assert exchange.position(bob, PERP) is None
    # (69900.00 − 68000.00) × 0.2
    assert exchange.fills(bob)[0].realized_pnl == D("380.00")
    assert exchange.check_invariants() == []


def test_the_stop_loss_of_a_short_fires_at_its_price_and_cancels_the_take_profit(
    exchange: Exchange, alice: str, bob: str, carol: str
) -> None:
    entry = exchange.place_order(
        bob, bracket("sell", "0.1", "68000.00", take_profit="66000.00", stop_loss="69000.00")
    ).order
    exchange.place_order(alice, market(PERP, "buy", "0.1"))
    tp, sl = children_of(exchange, bob, entry)
    assert tp.side is sl.side is Side.BUY
    exchange.place_order(carol, limit(PERP, "sell", "0.1", "69100.00"))

    exchange.sim.set_index(PERP, D("68999.99"))
    assert status(sl) is OrderStatus.UNTRIGGERED

    exchange.sim.set_index(PERP, D("69000.00"))

    assert status(sl) is OrderStatus.FILLED
    assert status(tp) is OrderStatus.CANCELLED
    assert cancel_reason(exchange, tp) == "one_cancels_other"
    assert exchange.position(bob, PERP) is None
    # (68000.00 − 69100.00) × 0.1
    assert exchange.fills(bob)[0].realized_pnl == D("-110.00")


def test_take_profit_and_stop_loss_go_when_the_position_is_closed_by_hand(
    exchange: Exchange, bob: str, bracketed_long: Order, carol: str
) -> None:
    tp, sl = children_of(exchange, bob, bracketed_long)
    exchange.place_order(carol, limit(PERP, "buy", "0.2", "67900.00"))

    exchange.close_position(bob, PERP)

    assert exchange.position(bob, PERP) is None
    assert tp.status is sl.status is OrderStatus.CANCELLED
    assert cancel_reason(exchange, tp) == cancel_reason(exchange, sl) == "position_closed"
    exchange.sim.set_index(PERP, D("70000.00"))
    assert triggered_ids(exchange) == []


def test_untriggered_children_leave_room_for_other_reduce_only_orders(
    exchange: Exchange, bob: str, bracketed_long: Order
) -> None:
    # The children would make 0.6 of reduce-only sells against 0.2 if they counted.
    placed = exchange.place_order(bob, limit(PERP, "sell", "0.2", "69000.00", reduce_only=True))

    assert status(placed.order) is OrderStatus.OPEN


def test_a_stop_entry_arms_its_bracket_when_it_fires_and_fills(
    exchange: Exchange, ask: Order, bob: str
) -> None:
    stop = exchange.place_order(
        bob, buy_stop(take_profit_price=D("71000.00"), stop_loss_price=D("67000.00"))
    ).order
    assert children_of(exchange, bob, stop) == []

    exchange.sim.set_index(PERP, D("69000.00"))

    assert [(c.stop_price, c.quantity) for c in children_of(exchange, bob, stop)] == [
        (D("71000.00"), D("0.1")),
        (D("67000.00"), D("0.1")),
    ]


@pytest.mark.parametrize("mark", ["66000.00", "65000.00"])
def test_a_child_the_mark_already_crosses_when_armed_fires_at_once(
    exchange: Exchange, alice: str, bob: str, carol: str, mark: str
) -> None:
    exchange.sim.pin_mark(PERP, D(mark))
    exchange.place_order(carol, limit(PERP, "buy", "0.1", "64000.00"))
    entry = exchange.place_order(bob, bracket("buy", "0.1", "66500.00", stop_loss="66000.00")).order

    exchange.place_order(alice, limit(PERP, "sell", "0.1", "66500.00"))

    (sl,) = children_of(exchange, bob, entry)
    assert status(sl) is OrderStatus.FILLED
    assert exchange.position(bob, PERP) is None


# -- trigger prices in the event log -------------------------------------------------------


def test_accepted_events_carry_the_trigger_prices(
    exchange: Exchange, bob: str, bracketed_long: Order
) -> None:
    stop = exchange.place_order(bob, buy_stop("69050.00")).order
    tp, sl = children_of(exchange, bob, bracketed_long)

    accepted = {
        e.order_id: (e.stop_price, e.take_profit_price, e.stop_loss_price)
        for e in events_of(exchange, OrderAccepted)
    }

    assert accepted[stop.id] == (D("69000.00"), None, None)
    assert accepted[bracketed_long.id] == (None, D("70000.00"), D("66000.00"))
    assert accepted[tp.id] == (D("70000.00"), D("70000.00"), None)
    assert accepted[sl.id] == (D("66000.00"), None, D("66000.00"))


def digest_after_placing(request: OrderRequest) -> str:
    """The digest of a fresh exchange where one trader, 10000 USDC in perps, placed `request`
    (the mark, 68000.00, crosses none of the triggers below: nothing fires or fills)."""
    exchange = Exchange.create(seed=1)
    trader = exchange.register_user("0x" + "b0" * 20).user_id
    exchange.sim.deposit(trader, D("10000"))
    exchange.transfer(trader, Bucket.WALLET, Bucket.PERPS, D("10000"))
    exchange.place_order(trader, request)
    return exchange.digest()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(buy_stop(), buy_stop(stop="69500.00"), id="stopPrice"),
        pytest.param(
            bracket("buy", "0.1", "67000.00", take_profit="70000.00"),
            bracket("buy", "0.1", "67000.00", take_profit="70500.00"),
            id="takeProfitPrice",
        ),
        pytest.param(
            bracket("buy", "0.1", "67000.00", stop_loss="66000.00"),
            bracket("buy", "0.1", "67000.00", stop_loss="65500.00"),
            id="stopLossPrice",
        ),
    ],
)
def test_orders_that_differ_only_in_a_trigger_price_give_different_digests(
    first: OrderRequest, second: OrderRequest
) -> None:
    assert digest_after_placing(first) == digest_after_placing(first)
    assert digest_after_placing(first) != digest_after_placing(second)
