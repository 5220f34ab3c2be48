"""`cancel_order`, `modify_order` and `cancel_all`: modify keeps an order's priority only for a
quantity decrease, and an order no longer open is 409 ORDER_NOT_OPEN (modify's other rules are in
docs/fidelity.md "Orders")."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

import pytest

from ocx_sim import ErrorCode, Exchange, MarginMode, OcxError, OrderStatus, QuoteRequest, Side
from ocx_sim.engine.core.events import Event, OrderCancelled, OrderModified, TradeExecuted
from ocx_sim.engine.core.markets import Venue
from ocx_sim.engine.core.orders import FeeRole, Order
from ocx_sim.testing.builders import UserFactory, footprint, limit, refused

D = Decimal
PERP = "BTC-PERP"
XAUT = "XAUT-USDC-PERP"
SPOT = "BTC-USDC-SPOT"
E = TypeVar("E", bound=Event)


def events_of(exchange: Exchange, kind: type[E]) -> list[E]:
    return [e for e in exchange.events if isinstance(e, kind)]


def remaining_quantity(exchange: Exchange, order: Order) -> Decimal:
    return exchange.market(order.market_id).quantity(order.remaining)


def maker_of_next_sell(exchange: Exchange, make_user: UserFactory, price: str) -> str:
    """Sell 0.1 at `price` from a fresh user and return the id of the order it filled."""
    seller = make_user(perps="10000")
    placed = exchange.place_order(seller, limit(PERP, "sell", "0.1", price))
    assert len(placed.fills) == 1
    return events_of(exchange, TradeExecuted)[-1].maker_order_id


# -- cancel --------------------------------------------------------------------------------


def test_cancel_takes_the_order_off_the_book_and_releases_its_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    assert exchange.margin(bob).order_margin == D("335")

    cancelled = exchange.cancel_order(bob, order.id)

    assert cancelled.id == order.id
    assert cancelled.status is OrderStatus.CANCELLED
    assert exchange.depth(PERP).bids == []
    assert exchange.open_orders(bob) == []
    assert [o.id for o in exchange.orders(bob)] == [order.id]
    assert exchange.margin(bob).order_margin == 0
    cancels = events_of(exchange, OrderCancelled)
    assert [(e.order_id, e.reason, e.remaining) for e in cancels] == [(order.id, "user", D("0.1"))]
    assert exchange.check_invariants() == []


def test_cancel_of_a_partially_filled_order_cancels_the_remainder(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.3", "67000.00")).order
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))

    cancelled = exchange.cancel_order(bob, order.id)

    assert cancelled.status is OrderStatus.CANCELLED
    assert events_of(exchange, OrderCancelled)[-1].remaining == D("0.2")
    assert exchange.margin(bob).order_margin == 0
    position = exchange.position(bob, PERP)
    assert position is not None
    assert position.size == D("0.1")


def test_cancel_of_a_spot_bid_releases_its_locked_usdc(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(spot="10000")
    order = exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00")).order
    assert exchange.spot_assets(bob)[0].locked == D("6703.35")

    exchange.cancel_order(bob, order.id)

    usdc_row = exchange.spot_assets(bob)[0]
    assert (usdc_row.available, usdc_row.locked) == (D("10000"), D("0"))


def test_cancel_of_an_unknown_order_is_order_not_found(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")

    with pytest.raises(OcxError) as err:
        exchange.cancel_order(bob, "01J0000000000000000000000X")

    assert err.value.code is ErrorCode.ORDER_NOT_FOUND
    assert err.value.status == 404


def test_cancel_of_another_users_order_is_order_not_found_and_leaves_it_open(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, mallory = make_user(perps="10000"), make_user(perps="10000")
    order = exchange.place_order(alice, limit(PERP, "buy", "0.1", "67000.00")).order
    before = footprint(exchange)

    with pytest.raises(OcxError) as err:
        exchange.cancel_order(mallory, order.id)

    assert err.value.code is ErrorCode.ORDER_NOT_FOUND
    assert err.value.status == 404
    assert order.status is OrderStatus.OPEN
    assert footprint(exchange) == before


def test_cancel_of_a_cancelled_order_is_order_not_open(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    exchange.cancel_order(bob, order.id)
    events = len(exchange.events)

    with pytest.raises(OcxError) as err:
        exchange.cancel_order(bob, order.id)

    assert err.value.code is ErrorCode.ORDER_NOT_OPEN
    assert err.value.status == 409
    assert len(exchange.events) == events


def test_cancel_of_a_filled_order_is_order_not_open(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    assert order.status is OrderStatus.FILLED

    with pytest.raises(OcxError) as err:
        exchange.cancel_order(bob, order.id)

    assert err.value.code is ErrorCode.ORDER_NOT_OPEN
    assert err.value.status == 409
    assert order.status is OrderStatus.FILLED


# -- modify: priority ----------------------------------------------------------------------


def test_modify_quantity_decrease_keeps_time_priority(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    first = exchange.place_order(alice, limit(PERP, "buy", "0.3", "67000.00")).order
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00"))

    placed = exchange.modify_order(alice, first.id, quantity=D("0.2"))

    assert placed.order.id == first.id
    assert placed.fills == []
    assert placed.order.quantity == D("0.2")
    assert remaining_quantity(exchange, placed.order) == D("0.2")
    assert placed.order.status is OrderStatus.OPEN
    assert exchange.depth(PERP).bids == [(D("67000.00"), D("0.3000"))]
    # 0.2 × 67000 / 20 = 670.
    assert exchange.margin(alice).order_margin == D("670")
    modified = events_of(exchange, OrderModified)
    assert [(e.order_id, e.quantity, e.priority_kept) for e in modified] == [
        (first.id, D("0.2"), True)
    ]
    assert maker_of_next_sell(exchange, make_user, "67000.00") == first.id
    assert exchange.check_invariants() == []


def test_modify_quantity_increase_loses_time_priority(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    first = exchange.place_order(alice, limit(PERP, "buy", "0.1", "67000.00")).order
    later = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order

    placed = exchange.modify_order(alice, first.id, quantity=D("0.2"))

    assert placed.order.id == first.id
    assert placed.order.quantity == D("0.2")
    assert remaining_quantity(exchange, placed.order) == D("0.2")
    assert exchange.depth(PERP).bids == [(D("67000.00"), D("0.3000"))]
    assert exchange.margin(alice).order_margin == D("670")
    assert maker_of_next_sell(exchange, make_user, "67000.00") == later.id
    assert exchange.check_invariants() == []


def test_modify_price_change_goes_behind_orders_already_at_the_new_price(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    first = exchange.place_order(alice, limit(PERP, "buy", "0.1", "66900.00")).order
    later = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order

    placed = exchange.modify_order(alice, first.id, price=D("67000.00"))

    assert placed.order.id == first.id
    assert placed.order.price == D("67000.00")
    assert placed.order.status is OrderStatus.OPEN
    assert exchange.depth(PERP).bids == [(D("67000.00"), D("0.2000"))]
    assert exchange.margin(alice).order_margin == D("335")
    assert maker_of_next_sell(exchange, make_user, "67000.00") == later.id
    assert maker_of_next_sell(exchange, make_user, "67000.00") == first.id


def test_modify_to_a_crossing_price_trades_at_once_at_the_makers_price(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    ask = exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00")).order
    bid = exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00")).order

    placed = exchange.modify_order(bob, bid.id, price=D("67500.00"))

    assert placed.order.id == bid.id
    assert placed.order.status is OrderStatus.FILLED
    # The modified order takes: 6700 × 5 bps = 3.35.
    assert [(f.price, f.quantity, f.fee, f.fee_role) for f in placed.fills] == [
        (D("67000.00"), D("0.1"), D("3.35"), FeeRole.TAKER)
    ]
    assert ask.status is OrderStatus.FILLED
    assert exchange.depth(PERP).bids == []
    assert exchange.depth(PERP).asks == []
    assert exchange.margin(bob).order_margin == 0
    assert exchange.check_invariants() == []


def test_modify_to_a_partly_crossing_price_fills_then_rests_the_remainder(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    bid = exchange.place_order(bob, limit(PERP, "buy", "0.3", "66000.00")).order

    placed = exchange.modify_order(bob, bid.id, price=D("67000.00"))

    assert placed.order.status is OrderStatus.PARTIALLY_FILLED
    assert [f.quantity for f in placed.fills] == [D("0.1")]
    assert exchange.depth(PERP).bids == [(D("67000.00"), D("0.2000"))]
    # The remaining 0.2 holds 0.2 × 67000 / 20 = 670.
    assert exchange.margin(bob).order_margin == D("670")
    assert exchange.check_invariants() == []


# -- modify: refusals ----------------------------------------------------------------------


@pytest.mark.parametrize("quantity", ["0.1", "0.05"])
def test_modify_quantity_must_exceed_the_filled_quantity(
    exchange: Exchange, make_user: UserFactory, quantity: str
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    ask = exchange.place_order(alice, limit(PERP, "sell", "0.3", "67000.00")).order
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00"))
    err = refused(exchange, lambda: exchange.modify_order(alice, ask.id, quantity=D(quantity)))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == "quantity"


def test_modify_quantity_of_a_partially_filled_order_is_the_new_total(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    ask = exchange.place_order(alice, limit(PERP, "sell", "0.3", "67000.00")).order
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00"))

    placed = exchange.modify_order(alice, ask.id, quantity=D("0.2"))

    assert placed.order.quantity == D("0.2")
    assert remaining_quantity(exchange, placed.order) == D("0.1")
    assert placed.order.status is OrderStatus.PARTIALLY_FILLED
    assert exchange.depth(PERP).asks == [(D("67000.00"), D("0.1000"))]


@pytest.mark.parametrize(
    ("price", "quantity", "field"),
    [
        ("67000.001", None, "price"),
        ("0", None, "price"),
        (None, "0.00015", "quantity"),
        (None, "0", "quantity"),
        (None, None, "price"),
    ],
)
def test_modify_with_invalid_values_is_validation_error(
    exchange: Exchange,
    make_user: UserFactory,
    price: str | None,
    quantity: str | None,
    field: str,
) -> None:
    bob = make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    err = refused(
        exchange,
        lambda: exchange.modify_order(
            bob,
            order.id,
            price=None if price is None else D(price),
            quantity=None if quantity is None else D(quantity),
        ),
    )

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == field


def test_modify_of_a_post_only_order_to_a_crossing_price_is_refused_and_changes_nothing(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    bid = exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00", post_only=True)).order
    before = footprint(exchange)

    with pytest.raises(OcxError) as err:
        exchange.modify_order(bob, bid.id, price=D("67000.00"))

    assert err.value.code is ErrorCode.POST_ONLY_WOULD_TAKE
    assert err.value.status == 422
    assert bid.price == D("66000.00")
    assert bid.status is OrderStatus.OPEN
    assert footprint(exchange) == before


def test_modify_of_a_terminal_order_is_order_not_open(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    exchange.cancel_order(bob, order.id)
    err = refused(exchange, lambda: exchange.modify_order(bob, order.id, price=D("66000.00")))

    assert err.code is ErrorCode.ORDER_NOT_OPEN
    assert err.status == 409


def test_modify_of_another_users_order_is_order_not_found(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, mallory = make_user(perps="10000"), make_user(perps="10000")
    order = exchange.place_order(alice, limit(PERP, "buy", "0.1", "67000.00")).order
    err = refused(exchange, lambda: exchange.modify_order(mallory, order.id, price=D("66000.00")))

    assert err.code is ErrorCode.ORDER_NOT_FOUND
    assert err.status == 404


def test_modify_to_a_price_outside_the_band_is_refused(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "sell", "0.1", "69000.00")).order
    err = refused(exchange, lambda: exchange.modify_order(bob, order.id, price=D("74800.01")))

    assert err.code is ErrorCode.PRICE_OUT_OF_BAND
    assert err.status == 422


def test_modify_that_increases_margin_beyond_the_available_is_refused(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="700")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order  # holds 335
    before = footprint(exchange)

    with pytest.raises(OcxError) as err:
        exchange.modify_order(bob, order.id, quantity=D("0.3"))  # would hold 1005

    assert err.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert err.value.status == 422
    assert "requiredIm" in err.value.details
    assert err.value.details["availableIm"] == "365.00"
    assert order.quantity == D("0.1")
    assert footprint(exchange) == before
    # 0.2 would hold 670: 335 more, plus the fee on the 0.1 added (3.35), within 365.
    placed = exchange.modify_order(bob, order.id, quantity=D("0.2"))
    assert placed.order.quantity == D("0.2")
    assert exchange.margin(bob).order_margin == D("670")


def test_modify_to_a_higher_price_is_checked_against_the_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # placing needs 335 of margin plus the 3.35 taker fee; once it rests, 3.55 is left
    bob = make_user(perps="338.55")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order  # holds 335
    before = footprint(exchange)

    with pytest.raises(OcxError) as err:
        exchange.modify_order(bob, order.id, price=D("67710.01"))  # would hold 338.55005

    # 3.55005 more margin; no fee, since the quantity does not grow
    assert err.value.code is ErrorCode.INSUFFICIENT_MARGIN
    assert err.value.status == 422
    assert err.value.details == {"requiredIm": "3.55005", "availableIm": "3.55"}
    assert order.price == D("67000.00")
    assert footprint(exchange) == before
    # 3.55 more fits exactly; a fee on the whole 0.1 (3.3855) would not have
    placed = exchange.modify_order(bob, order.id, price=D("67710.00"))  # holds 338.55
    assert placed.order.price == D("67710.00")
    assert exchange.margin(bob).available == 0


# -- cancel-all ----------------------------------------------------------------------------


def test_cancel_all_without_scope_cancels_every_open_order_oldest_first(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000", spot="10000")
    ids = [
        exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order.id,
        exchange.place_order(bob, limit(XAUT, "sell", "1", "4100.00")).order.id,
        exchange.place_order(bob, limit(SPOT, "buy", "0.01", "67000.00")).order.id,
    ]

    cancelled = exchange.cancel_all(bob)

    assert cancelled == ids
    assert exchange.open_orders(bob) == []
    assert all(o.status is OrderStatus.CANCELLED for o in exchange.orders(bob))
    assert [e.reason for e in events_of(exchange, OrderCancelled)] == ["cancel_all"] * 3
    assert exchange.margin(bob).order_margin == 0
    assert exchange.spot_assets(bob)[0].locked == 0
    assert exchange.check_invariants() == []


def test_cancel_all_scoped_by_market_leaves_other_markets(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    perp_ids = [
        exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order.id,
        exchange.place_order(bob, limit(PERP, "sell", "0.1", "69000.00")).order.id,
    ]
    gold = exchange.place_order(bob, limit(XAUT, "buy", "1", "3900.00")).order

    cancelled = exchange.cancel_all(bob, market_id=PERP)

    assert cancelled == perp_ids
    assert [o.id for o in exchange.open_orders(bob)] == [gold.id]
    assert exchange.depth(PERP).bids == []
    assert exchange.depth(PERP).asks == []


def test_cancel_all_scoped_by_quote_id(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    plain = exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00")).order
    quotes = exchange.place_quotes(
        bob,
        PERP,
        [
            QuoteRequest(Side.BUY, D("67000.00"), D("0.1")),
            QuoteRequest(Side.SELL, D("69000.00"), D("0.1")),
        ],
        quote_id="q1",
    )
    other = exchange.place_quotes(
        bob, PERP, [QuoteRequest(Side.BUY, D("66500.00"), D("0.1"))], quote_id="q2"
    )

    cancelled = exchange.cancel_all(bob, quote_id="q1")

    assert cancelled == [o.id for o in quotes.orders]
    assert {o.id for o in exchange.open_orders(bob)} == {plain.id, other.orders[0].id}


def test_cancel_all_scoped_by_client_order_id(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    tagged = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00", client_order_id="a"))
    other = exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00", client_order_id="b"))

    cancelled = exchange.cancel_all(bob, client_order_id="a")

    assert cancelled == [tagged.order.id]
    assert [o.id for o in exchange.open_orders(bob)] == [other.order.id]


def test_cancel_all_scoped_by_margin_mode(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    cross = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    isolated = exchange.place_order(
        bob, limit(PERP, "buy", "0.1", "66000.00", margin_mode=MarginMode.ISOLATED)
    ).order

    cancelled = exchange.cancel_all(bob, margin_mode=MarginMode.ISOLATED)

    assert cancelled == [isolated.id]
    assert [o.id for o in exchange.open_orders(bob)] == [cross.id]


def test_cancel_all_scoped_by_venue(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000", spot="10000")
    perp = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    spot = exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00")).order

    cancelled = exchange.cancel_all(bob, venues=[Venue.SPOT])

    assert cancelled == [spot.id]
    assert [o.id for o in exchange.open_orders(bob)] == [perp.id]
    assert exchange.spot_assets(bob)[0].locked == 0
    assert exchange.margin(bob).order_margin == D("335")


def test_cancel_all_scopes_combine(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00", client_order_id="a"))
    gold = exchange.place_order(bob, limit(XAUT, "buy", "1", "3900.00", client_order_id="g"))

    assert exchange.cancel_all(bob, market_id=PERP, client_order_id="g") == []
    assert exchange.cancel_all(bob, market_id=XAUT, client_order_id="g") == [gold.order.id]


def test_cancel_all_touches_only_the_callers_orders(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    alices = exchange.place_order(alice, limit(PERP, "buy", "0.1", "67000.00")).order
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00"))

    exchange.cancel_all(bob)

    assert alices.status is OrderStatus.OPEN
    assert exchange.depth(PERP).bids == [(D("67000.00"), D("0.1000"))]


def test_cancel_all_with_nothing_open_returns_no_ids_and_changes_nothing(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    events = len(exchange.events)

    assert exchange.cancel_all(bob) == []
    assert len(exchange.events) == events


def test_cancel_all_on_an_unknown_market_is_404(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order

    with pytest.raises(OcxError) as err:
        exchange.cancel_all(bob, market_id="ETH-PERP")

    assert err.value.code is ErrorCode.UNKNOWN_MARKET
    assert err.value.status == 404
    assert order.status is OrderStatus.OPEN


def test_cancel_all_works_on_a_halted_market(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    exchange.sim.halt(PERP)

    assert exchange.cancel_all(bob, market_id=PERP) == [order.id]
    assert order.status is OrderStatus.CANCELLED


def test_modify_of_a_reduce_only_order_beyond_the_position_trims_it_to_the_position(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob, seller = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(seller, limit(PERP, "sell", "0.2", "67000.00"))
    exchange.place_order(bob, limit(PERP, "buy", "0.2", "67000.00"))
    order = exchange.place_order(
        bob, limit(PERP, "sell", "0.1", "69000.00", reduce_only=True)
    ).order

    modified = exchange.modify_order(bob, order.id, quantity=D("0.3")).order

    assert (modified.quantity, modified.status) == (D("0.2"), OrderStatus.OPEN)
    assert exchange.depth(PERP).asks == [(D("69000.00"), D("0.2000"))]


def test_modify_on_a_halted_market_is_refused(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    order = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    exchange.sim.halt(PERP)
    err = refused(exchange, lambda: exchange.modify_order(bob, order.id, price=D("66000.00")))

    assert err.code is ErrorCode.MARKET_HALTED
    assert err.status == 409


def test_modify_of_a_spot_bid_relocks_for_its_new_price_and_quantity(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(spot="10000")
    order = exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00")).order

    exchange.modify_order(bob, order.id, price=D("66000.00"))
    # 0.1 × 66000 × 1.0005 = 6603.30.
    assert exchange.spot_assets(bob)[0].locked == D("6603.30")

    exchange.modify_order(bob, order.id, quantity=D("0.05"))
    # 0.05 × 66000 × 1.0005 = 3301.65.
    assert exchange.spot_assets(bob)[0].locked == D("3301.65")
    assert exchange.check_invariants() == []


def test_modify_of_a_spot_bid_beyond_the_usdc_is_insufficient_balance(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(spot="10000")
    order = exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00")).order

    with pytest.raises(OcxError) as err:
        exchange.modify_order(bob, order.id, quantity=D("0.2"))  # would lock 13406.70

    assert err.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert err.value.status == 400
    assert order.quantity == D("0.1")
    assert exchange.spot_assets(bob)[0].locked == D("6703.35")
