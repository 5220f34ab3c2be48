"""`Exchange.place_order`: resting, matching, time in force, the band, every refusal, STP,
reduce-only and spot (docs/fidelity.md "Orders", "Money" and "Fees and risk")."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

import pytest

from ocx_sim import (
    DEFAULT_START_MS,
    Bucket,
    ErrorCode,
    Exchange,
    MarginMode,
    OcxError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SimClock,
    TimeInForce,
    default_catalog,
)
from ocx_sim.engine.core.events import (
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    TradeExecuted,
)
from ocx_sim.engine.core.ledger import EntryType
from ocx_sim.engine.core.orders import FeeRole, Order
from ocx_sim.testing.builders import UserFactory, credit_spot, footprint, limit, market, refused

D = Decimal
PERP = "BTC-PERP"
SPOT = "BTC-USDC-SPOT"

E = TypeVar("E", bound=Event)


def events_of(exchange: Exchange, kind: type[E]) -> list[E]:
    return [e for e in exchange.events if isinstance(e, kind)]


def quantity_of(exchange: Exchange, order: Order, lots: int) -> Decimal:
    return exchange.market(order.market_id).quantity(lots)


def filled_quantity(exchange: Exchange, order: Order) -> Decimal:
    return quantity_of(exchange, order, order.filled_lots)


def remaining_quantity(exchange: Exchange, order: Order) -> Decimal:
    return quantity_of(exchange, order, order.remaining)


def spot_row(exchange: Exchange, user_id: str, asset: str) -> tuple[Decimal, Decimal]:
    """(available, locked) of one asset in the user's spot bucket."""
    for row in exchange.spot_assets(user_id):
        if row.asset == asset:
            return row.available, row.locked
    return D(0), D(0)


def open_long(exchange: Exchange, make_user: UserFactory, user_id: str, quantity: str) -> None:
    """Make `user_id` long `quantity` BTC-PERP at 67000.00 against a fresh counterparty."""
    seller = make_user(perps="100000")
    exchange.place_order(seller, limit(PERP, "sell", quantity, "67000.00"))
    taken = exchange.place_order(user_id, limit(PERP, "buy", quantity, "67000.00"))
    assert taken.order.status is OrderStatus.FILLED


# -- resting and matching ------------------------------------------------------------------


def test_limit_order_that_does_not_cross_rests_open_on_the_book(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice = make_user(perps="10000")

    placed = exchange.place_order(alice, limit(PERP, "buy", "0.1", "67000.00"))

    order = placed.order
    assert placed.fills == []
    assert order.status is OrderStatus.OPEN
    assert order.type is OrderType.LIMIT
    assert order.time_in_force is TimeInForce.GTC
    assert order.post_only is False
    assert order.reduce_only is False
    assert order.margin_mode is MarginMode.CROSS
    assert order.price == D("67000.00")
    assert remaining_quantity(exchange, order) == D("0.1")
    assert [o.id for o in exchange.open_orders(alice)] == [order.id]
    depth = exchange.depth(PERP)
    assert depth.bids == [(D("67000.00"), D("0.1000"))]
    assert depth.asks == []
    # Open-order margin = 0.1 × 67000 / 20.
    assert exchange.margin(alice).order_margin == D("335")
    assert exchange.check_invariants() == []


def test_crossing_order_fills_at_the_makers_prices_best_first(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, carol, bob = (make_user(perps="10000") for _ in range(3))
    first_ask = exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00")).order
    second_ask = exchange.place_order(carol, limit(PERP, "sell", "0.2", "67100.00")).order

    placed = exchange.place_order(bob, limit(PERP, "buy", "0.2", "67500.00"))

    order = placed.order
    assert [(f.price, f.quantity, f.fee_role) for f in placed.fills] == [
        (D("67000.00"), D("0.1000"), FeeRole.TAKER),
        (D("67100.00"), D("0.1000"), FeeRole.TAKER),
    ]
    # Taker fees: 6700 × 5 bps = 3.35 and 6710 × 5 bps = 3.355.
    assert [f.fee for f in placed.fills] == [D("3.35"), D("3.355")]
    assert order.status is OrderStatus.FILLED
    assert filled_quantity(exchange, order) == D("0.2")
    # Average fill price = (6700 + 6710) / 0.2.
    assert order.filled_notional / filled_quantity(exchange, order) == D("67050")
    assert first_ask.status is OrderStatus.FILLED
    assert second_ask.status is OrderStatus.PARTIALLY_FILLED
    assert remaining_quantity(exchange, second_ask) == D("0.1")
    assert exchange.depth(PERP).asks == [(D("67100.00"), D("0.1000"))]
    assert exchange.depth(PERP).bids == []
    assert exchange.open_orders(bob) == []
    # What is left of carol's ask holds 0.1 × 67100 / 20; alice's filled ask holds nothing.
    assert exchange.margin(carol).order_margin == D("335.5")
    assert exchange.margin(alice).order_margin == 0
    # Makers pay 2 bps: 6700 × 2 bps = 1.34, 6710 × 2 bps = 1.342.
    assert exchange.balances(bob).perps == D("10000") - D("3.35") - D("3.355")
    assert exchange.balances(alice).perps == D("10000") - D("1.34")
    assert exchange.balances(carol).perps == D("10000") - D("1.342")
    position = exchange.position(bob, PERP)
    assert position is not None
    assert position.size == D("0.2")
    assert position.entry_price == D("67050")
    assert exchange.check_invariants() == []


def test_ioc_partial_fill_expires_the_unfilled_remainder(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))

    placed = exchange.place_order(
        bob, limit(PERP, "buy", "0.3", "67000.00", time_in_force=TimeInForce.IOC)
    )

    order = placed.order
    assert order.status is OrderStatus.EXPIRED
    assert [f.quantity for f in placed.fills] == [D("0.1")]
    assert filled_quantity(exchange, order) == D("0.1")
    assert remaining_quantity(exchange, order) == D("0.2")
    expired = events_of(exchange, OrderExpired)
    assert [(e.order_id, e.remaining) for e in expired] == [(order.id, D("0.2"))]
    assert exchange.depth(PERP).bids == []
    assert exchange.open_orders(bob) == []
    assert exchange.margin(bob).order_margin == 0


def test_fok_that_cannot_fill_fully_fills_nothing_and_expires(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    ask = exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00")).order
    book_before = exchange.depth(PERP).asks

    placed = exchange.place_order(
        bob, limit(PERP, "buy", "0.2", "67000.00", time_in_force=TimeInForce.FOK)
    )

    assert placed.order.status is OrderStatus.EXPIRED
    assert placed.fills == []
    assert remaining_quantity(exchange, placed.order) == D("0.2")
    assert events_of(exchange, TradeExecuted) == []
    assert ask.status is OrderStatus.OPEN
    assert exchange.depth(PERP).asks == book_before
    assert exchange.position(bob, PERP) is None


def test_fok_that_can_fill_fully_fills_across_levels(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67010.00"))

    placed = exchange.place_order(
        bob, limit(PERP, "buy", "0.2", "67010.00", time_in_force=TimeInForce.FOK)
    )

    assert placed.order.status is OrderStatus.FILLED
    assert [f.price for f in placed.fills] == [D("67000.00"), D("67010.00")]


def test_market_order_sweeps_the_book_then_expires_its_remainder(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, carol, bob = (make_user(perps="10000") for _ in range(3))
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    exchange.place_order(carol, limit(PERP, "sell", "0.1", "67200.00"))

    placed = exchange.place_order(bob, market(PERP, "buy", "0.3"))

    order = placed.order
    assert [(f.price, f.quantity) for f in placed.fills] == [
        (D("67000.00"), D("0.1")),
        (D("67200.00"), D("0.1")),
    ]
    assert order.status is OrderStatus.EXPIRED
    assert filled_quantity(exchange, order) == D("0.2")
    assert remaining_quantity(exchange, order) == D("0.1")
    assert exchange.depth(PERP).asks == []
    assert exchange.open_orders(bob) == []


def test_market_order_with_nothing_to_take_is_no_liquidity_and_leaves_no_trace(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    err = refused(exchange, lambda: exchange.place_order(bob, market(PERP, "buy", "0.1")))

    assert err.code is ErrorCode.NO_LIQUIDITY
    assert err.status == 422


def test_market_order_facing_only_the_users_own_orders_is_no_liquidity(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    own_ask = exchange.place_order(bob, limit(PERP, "sell", "0.1", "67000.00")).order
    before = footprint(exchange)

    with pytest.raises(OcxError) as err:
        exchange.place_order(bob, market(PERP, "buy", "0.1"))

    assert err.value.code is ErrorCode.NO_LIQUIDITY
    assert err.value.status == 422
    assert own_ask.status is OrderStatus.OPEN
    assert footprint(exchange) == before


def test_post_only_order_that_would_take_is_refused_without_trace(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    err = refused(
        exchange,
        lambda: exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00", post_only=True)),
    )

    assert err.code is ErrorCode.POST_ONLY_WOULD_TAKE
    assert err.status == 422


def test_post_only_order_that_does_not_cross_rests(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))

    placed = exchange.place_order(bob, limit(PERP, "buy", "0.1", "66999.99", post_only=True))

    assert placed.order.status is OrderStatus.OPEN
    assert placed.order.post_only is True


# -- the price band ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "price"), [("buy", "74800.01"), ("sell", "61199.99"), ("buy", "61199.99")]
)
def test_limit_price_outside_the_band_is_refused(
    exchange: Exchange, make_user: UserFactory, side: str, price: str
) -> None:
    bob = make_user(perps="10000")
    err = refused(exchange, lambda: exchange.place_order(bob, limit(PERP, side, "0.01", price)))

    assert err.code is ErrorCode.PRICE_OUT_OF_BAND
    assert err.status == 422
    assert err.details["field"] == "price"
    assert err.details["priceBandLow"] == "61200.00"
    assert err.details["priceBandHigh"] == "74800.00"


@pytest.mark.parametrize(("side", "price"), [("sell", "74800.00"), ("buy", "61200.00")])
def test_limit_price_on_the_band_edge_is_accepted(
    exchange: Exchange, make_user: UserFactory, side: str, price: str
) -> None:
    bob = make_user(perps="10000")

    placed = exchange.place_order(bob, limit(PERP, side, "0.01", price))

    assert placed.order.status is OrderStatus.OPEN


def _ask_beyond_the_band(exchange: Exchange, make_user: UserFactory) -> Order:
    """An ask at 76000.00, rested while the index was 72000 (band 64800–79200), left beyond
    the band once the index is back at 68000 (band 61200–74800)."""
    far = make_user(perps="10000")
    exchange.sim.set_index(PERP, D("72000.00"))
    order = exchange.place_order(far, limit(PERP, "sell", "0.1", "76000.00")).order
    exchange.sim.set_index(PERP, D("68000.00"))
    assert exchange.price_band(PERP) == (D("61200.00"), D("74800.00"))
    return order


def test_market_order_never_fills_beyond_the_band(
    exchange: Exchange, make_user: UserFactory
) -> None:
    far_ask = _ask_beyond_the_band(exchange, make_user)
    near = make_user(perps="10000")
    exchange.place_order(near, limit(PERP, "sell", "0.1", "69000.00"))
    bob = make_user(perps="10000")

    placed = exchange.place_order(bob, market(PERP, "buy", "0.2"))

    assert [(f.price, f.quantity) for f in placed.fills] == [(D("69000.00"), D("0.1"))]
    assert placed.order.status is OrderStatus.EXPIRED
    assert remaining_quantity(exchange, placed.order) == D("0.1")
    assert far_ask.status is OrderStatus.OPEN
    assert remaining_quantity(exchange, far_ask) == D("0.1")
    assert exchange.depth(PERP).asks == [(D("76000.00"), D("0.1000"))]


def test_market_order_whose_only_liquidity_is_beyond_the_band_is_no_liquidity(
    exchange: Exchange, make_user: UserFactory
) -> None:
    far_ask = _ask_beyond_the_band(exchange, make_user)
    bob = make_user(perps="10000")
    before = footprint(exchange)

    with pytest.raises(OcxError) as err:
        exchange.place_order(bob, market(PERP, "buy", "0.1"))

    assert err.value.code is ErrorCode.NO_LIQUIDITY
    assert err.value.status == 422
    assert far_ask.status is OrderStatus.OPEN
    assert footprint(exchange) == before


def test_market_sell_never_fills_below_the_band(exchange: Exchange, make_user: UserFactory) -> None:
    far = make_user(perps="10000")
    exchange.sim.set_index(PERP, D("64000.00"))  # band 57600–70400
    far_bid = exchange.place_order(far, limit(PERP, "buy", "0.1", "60000.00")).order
    exchange.sim.set_index(PERP, D("68000.00"))  # band 61200–74800
    near = make_user(perps="10000")
    exchange.place_order(near, limit(PERP, "buy", "0.1", "65000.00"))
    bob = make_user(perps="10000")

    placed = exchange.place_order(bob, market(PERP, "sell", "0.2"))

    assert [(f.price, f.quantity) for f in placed.fills] == [(D("65000.00"), D("0.1"))]
    assert placed.order.status is OrderStatus.EXPIRED
    assert far_bid.status is OrderStatus.OPEN
    assert exchange.depth(PERP).bids == [(D("60000.00"), D("0.1000"))]


# -- validation (400) ----------------------------------------------------------------------

BAD_REQUESTS: list[tuple[str, OrderRequest, str]] = [
    ("price off the tick", limit(PERP, "buy", "0.1", "67000.001"), "price"),
    ("quantity off the step", limit(PERP, "buy", "0.00015", "67000.00"), "quantity"),
    ("zero quantity", limit(PERP, "buy", "0", "67000.00"), "quantity"),
    ("negative quantity", limit(PERP, "buy", "-0.1", "67000.00"), "quantity"),
    ("zero price", limit(PERP, "buy", "0.1", "0"), "price"),
    ("negative price", limit(PERP, "sell", "0.1", "-67000.00"), "price"),
    ("limit without price", OrderRequest(PERP, Side.BUY, D("0.1")), "price"),
    (
        "stopPrice off the tick",
        limit(PERP, "buy", "0.1", "67000.00", stop_price=D("69000.001")),
        "stopPrice",
    ),
    (
        "takeProfitPrice off the tick",
        limit(PERP, "buy", "0.1", "67000.00", take_profit_price=D("70000.001")),
        "takeProfitPrice",
    ),
    (
        "negative stopLossPrice",
        limit(PERP, "buy", "0.1", "67000.00", stop_loss_price=D("-65000.00")),
        "stopLossPrice",
    ),
    (
        "buy takeProfitPrice below stopLossPrice",
        limit(
            PERP,
            "buy",
            "0.1",
            "67000.00",
            take_profit_price=D("65000.00"),
            stop_loss_price=D("66000.00"),
        ),
        "takeProfitPrice",
    ),
    (
        "sell takeProfitPrice above stopLossPrice",
        limit(
            PERP,
            "sell",
            "0.1",
            "67000.00",
            take_profit_price=D("68000.00"),
            stop_loss_price=D("68000.00"),
        ),
        "takeProfitPrice",
    ),
    (
        "stopLossPrice on spot",
        limit(SPOT, "buy", "0.1", "67000.00", stop_loss_price=D("65000.00")),
        "stopLossPrice",
    ),
    (
        "takeProfitPrice on a reduce-only order",
        limit(PERP, "sell", "0.1", "67000.00", reduce_only=True, take_profit_price=D("6.00")),
        "takeProfitPrice",
    ),
    (
        "empty clientOrderId",
        limit(PERP, "buy", "0.1", "67000.00", client_order_id=""),
        "clientOrderId",
    ),
    (
        "clientOrderId too long",
        limit(PERP, "buy", "0.1", "67000.00", client_order_id="x" * 65),
        "clientOrderId",
    ),
    ("postOnly market order", market(PERP, "buy", "0.1", post_only=True), "postOnly"),
    ("reduceOnly on spot", limit(SPOT, "sell", "0.1", "67000.00", reduce_only=True), "reduceOnly"),
]


@pytest.mark.parametrize(
    ("request_", "field"),
    [pytest.param(r, f, id=name) for name, r, f in BAD_REQUESTS],
)
def test_invalid_order_is_validation_error_naming_the_field(
    exchange: Exchange, make_user: UserFactory, request_: OrderRequest, field: str
) -> None:
    bob = make_user(perps="10000", spot="10000")
    err = refused(exchange, lambda: exchange.place_order(bob, request_))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == field


def test_quantity_below_the_market_minimum_is_validation_error() -> None:
    catalog = default_catalog(DEFAULT_START_MS)
    spec = catalog.markets[PERP]
    catalog.markets[PERP] = replace(spec, min_quantity=D("0.0010"))
    exchange = Exchange(seed=1, clock=SimClock(DEFAULT_START_MS), catalog=catalog)
    bob = exchange.register_user("0x" + "b0" * 20).user_id
    exchange.sim.deposit(bob, D("10000"))
    exchange.transfer(bob, Bucket.WALLET, Bucket.PERPS, D("10000"))
    err = refused(
        exchange, lambda: exchange.place_order(bob, limit(PERP, "buy", "0.0009", "67000.00"))
    )

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == "quantity"
    placed = exchange.place_order(bob, limit(PERP, "buy", "0.0010", "67000.00"))
    assert placed.order.status is OrderStatus.OPEN


def test_unknown_market_is_404(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    events, entries = len(exchange.events), len(exchange.ledger.entries)

    with pytest.raises(OcxError) as err:
        exchange.place_order(bob, limit("ETH-PERP", "buy", "0.1", "3000.00"))

    assert err.value.code is ErrorCode.UNKNOWN_MARKET
    assert err.value.status == 404
    assert (len(exchange.events), len(exchange.ledger.entries)) == (events, entries)
    assert exchange.orders(bob) == []


# -- business refusals (409/422) -----------------------------------------------------------


def test_halted_market_refuses_new_orders_but_still_cancels(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    resting = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00")).order
    exchange.sim.halt(PERP)
    err = refused(
        exchange, lambda: exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00"))
    )

    assert err.code is ErrorCode.MARKET_HALTED
    assert err.status == 409
    cancelled = exchange.cancel_order(bob, resting.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert exchange.depth(PERP).bids == []
    exchange.sim.resume(PERP)
    assert exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00")).order.is_open


def test_duplicate_client_order_id_among_open_orders_is_409_naming_the_existing_order(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    first = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00", client_order_id="c1"))
    err = refused(
        exchange,
        lambda: exchange.place_order(
            bob, limit(PERP, "buy", "0.1", "66000.00", client_order_id="c1")
        ),
    )

    assert err.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID
    assert err.status == 409
    assert err.details["orderId"] == first.order.id


def test_client_order_id_of_a_cancelled_order_stays_taken_for_24_hours(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # A retry after an ambiguous answer must never place the order twice (docs/fidelity.md
    # "Orders"), so the id outlives its order by a day.
    bob = make_user(perps="10000")
    first = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00", client_order_id="c1"))
    exchange.cancel_order(bob, first.order.id)
    exchange.advance_by(24 * 3_600_000 - 1)

    error = refused(
        exchange,
        lambda: exchange.place_order(
            bob, limit(PERP, "buy", "0.1", "66000.00", client_order_id="c1")
        ),
    )
    assert error.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID
    assert error.status == 409
    assert error.details["orderId"] == first.order.id


def test_client_order_id_may_be_reused_24_hours_after_its_order_ended(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    first = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00", client_order_id="c1"))
    assert first.order.status is OrderStatus.FILLED
    exchange.advance_by(24 * 3_600_000)

    second = exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00", client_order_id="c1"))

    assert second.order.status is OrderStatus.OPEN
    assert second.order.client_order_id == "c1"


def test_a_client_order_id_is_unique_per_venue_not_across_venues(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # perps (perpetuals and futures) and the CLOB (spot and options) are separate venues.
    bob = make_user(perps="10000", spot="10000")
    future = exchange.catalog.futures("BTC")[0].id
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00", client_order_id="c1"))

    spot = exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00", client_order_id="c1"))
    error = refused(
        exchange,
        lambda: exchange.place_order(
            bob, limit(future, "buy", "0.1", "67000.00", client_order_id="c1")
        ),
    )

    assert spot.order.status is OrderStatus.OPEN
    assert error.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID


def test_client_order_id_of_a_partially_filled_resting_order_is_still_taken(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    first = exchange.place_order(
        alice, limit(PERP, "sell", "0.2", "67000.00", client_order_id="c1")
    )
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00"))
    assert first.order.status is OrderStatus.PARTIALLY_FILLED

    with pytest.raises(OcxError) as err:
        exchange.place_order(alice, limit(PERP, "sell", "0.1", "68000.00", client_order_id="c1"))

    assert err.value.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID
    assert err.value.status == 409
    assert err.value.details["orderId"] == first.order.id


def test_client_order_ids_are_unique_per_user_not_across_users(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "buy", "0.1", "67000.00", client_order_id="c1"))

    placed = exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00", client_order_id="c1"))

    assert placed.order.status is OrderStatus.OPEN


def test_insufficient_margin_is_422_with_required_and_available_as_strings(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="100")
    err = refused(
        exchange, lambda: exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00"))
    )

    assert err.code is ErrorCode.INSUFFICIENT_MARGIN
    assert err.status == 422
    # margin 0.1 × 67000 / 20 = 335, plus the worst-case (taker) fee 5 bps of 6700 = 3.35.
    assert err.details["requiredIm"] == "338.35"
    assert err.details["availableIm"] == "100.00"


def test_margin_of_resting_orders_reduces_what_a_new_order_may_use(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="500")
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00"))  # holds 335
    # needs 330 + 3.30
    err = refused(
        exchange, lambda: exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00"))
    )

    assert err.code is ErrorCode.INSUFFICIENT_MARGIN
    assert err.status == 422
    assert err.details["requiredIm"] == "333.30"
    assert err.details["availableIm"] == "165.00"
    # 0.04 × 66000 / 20 = 132, plus a 1.32 fee, fits in the 165 left.
    assert exchange.place_order(bob, limit(PERP, "buy", "0.04", "66000.00")).order.is_open


def test_margin_plus_worst_case_fee_exactly_equal_to_available_is_accepted(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # margin 0.1 × 67000 / 20 = 335 plus the taker fee 5 bps of 6700 = 3.35
    bob = make_user(perps="338.35")

    placed = exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00"))

    assert placed.order.status is OrderStatus.OPEN
    # a resting order holds its margin only; the fee's room stays free
    assert exchange.margin(bob).order_margin == D(335)
    assert exchange.margin(bob).available == D("3.35")


# -- self-trade prevention -----------------------------------------------------------------


def test_self_trade_prevention_cancels_the_users_resting_order_and_continues(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob, alice = make_user(perps="10000"), make_user(perps="10000")
    own_ask = exchange.place_order(bob, limit(PERP, "sell", "0.1", "67000.00")).order
    other_ask = exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00")).order

    placed = exchange.place_order(bob, limit(PERP, "buy", "0.2", "67000.00"))

    assert own_ask.status is OrderStatus.CANCELLED
    cancels = events_of(exchange, OrderCancelled)
    assert [(e.order_id, e.reason, e.remaining) for e in cancels] == [
        (own_ask.id, "self_trade_prevention", D("0.1"))
    ]
    assert other_ask.status is OrderStatus.FILLED
    assert [(f.price, f.quantity) for f in placed.fills] == [(D("67000.00"), D("0.1"))]
    trades = events_of(exchange, TradeExecuted)
    assert [(t.maker_order_id, t.taker_order_id) for t in trades] == [
        (other_ask.id, placed.order.id)
    ]
    # The remainder rests: no ask of bob's is left for it to meet.
    assert placed.order.status is OrderStatus.PARTIALLY_FILLED
    assert exchange.depth(PERP).bids == [(D("67000.00"), D("0.1000"))]
    assert exchange.depth(PERP).asks == []
    assert [o.id for o in exchange.open_orders(bob)] == [placed.order.id]
    assert exchange.check_invariants() == []


# -- reduce-only ---------------------------------------------------------------------------


def test_reduce_only_when_flat_is_refused(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    err = refused(
        exchange,
        lambda: exchange.place_order(bob, limit(PERP, "sell", "0.1", "69000.00", reduce_only=True)),
    )

    assert err.code is ErrorCode.REDUCE_ONLY_WOULD_INCREASE
    assert err.status == 422


def test_reduce_only_on_the_increasing_side_is_refused(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    open_long(exchange, make_user, bob, "0.2")
    err = refused(
        exchange,
        lambda: exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00", reduce_only=True)),
    )

    assert err.code is ErrorCode.REDUCE_ONLY_WOULD_INCREASE
    assert err.status == 422


def test_reduce_only_larger_than_the_position_is_trimmed_to_it_at_acceptance(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # As Deribit and Bybit do: the order shrinks to the position instead of being refused.
    bob = make_user(perps="10000")
    open_long(exchange, make_user, bob, "0.2")

    placed = exchange.place_order(bob, limit(PERP, "sell", "0.3", "69000.00", reduce_only=True))

    assert (placed.order.quantity, placed.order.status) == (D("0.2"), OrderStatus.OPEN)
    assert exchange.depth(PERP).asks == [(D("69000.00"), D("0.2000"))]
    accepted = events_of(exchange, OrderAccepted)[-1]
    assert (accepted.order_id, accepted.quantity) == (placed.order.id, D("0.2"))


def test_each_reduce_only_order_is_capped_on_its_own_not_together(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # A take-profit and a stop-loss of the same position may both equal it.
    bob = make_user(perps="10000")
    open_long(exchange, make_user, bob, "0.2")
    first = exchange.place_order(bob, limit(PERP, "sell", "0.2", "69000.00", reduce_only=True))

    second = exchange.place_order(bob, limit(PERP, "sell", "0.2", "69500.00", reduce_only=True))

    assert first.order.quantity == second.order.quantity == D("0.2")
    assert second.order.status is OrderStatus.OPEN


def test_reduce_only_that_could_reduce_nothing_is_refused(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    flat = refused(
        exchange,
        lambda: exchange.place_order(bob, limit(PERP, "sell", "0.1", "69000.00", reduce_only=True)),
    )
    open_long(exchange, make_user, bob, "0.2")
    same_side = refused(
        exchange,
        lambda: exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00", reduce_only=True)),
    )

    assert flat.code is same_side.code is ErrorCode.REDUCE_ONLY_WOULD_INCREASE
    assert flat.status == same_side.status == 422


def test_reduce_only_that_shrinks_the_position_is_accepted_and_holds_no_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob, carol = make_user(perps="10000"), make_user(perps="10000")
    open_long(exchange, make_user, bob, "0.2")
    exchange.place_order(carol, limit(PERP, "buy", "0.1", "68000.00"))

    resting = exchange.place_order(bob, limit(PERP, "sell", "0.1", "69000.00", reduce_only=True))
    taken = exchange.place_order(bob, market(PERP, "sell", "0.1", reduce_only=True))

    assert resting.order.status is OrderStatus.OPEN
    assert exchange.margin(bob).order_margin == 0
    assert taken.order.status is OrderStatus.FILLED
    assert [(f.price, f.quantity) for f in taken.fills] == [(D("68000.00"), D("0.1"))]
    position = exchange.position(bob, PERP)
    assert position is not None
    assert position.size == D("0.1")
    assert resting.order.status is OrderStatus.OPEN


def test_reduce_only_order_left_oversized_by_a_position_change_is_trimmed_keeping_its_place(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob, carol, dave = make_user(perps="10000"), make_user(perps="10000"), make_user(perps="10000")
    open_long(exchange, make_user, bob, "0.2")
    reducing = exchange.place_order(bob, limit(PERP, "sell", "0.2", "69000.00", reduce_only=True))
    behind = exchange.place_order(dave, limit(PERP, "sell", "0.1", "69000.00")).order
    exchange.place_order(carol, limit(PERP, "buy", "0.1", "68000.00"))

    exchange.place_order(bob, market(PERP, "sell", "0.1"))

    order = reducing.order
    assert (order.status, order.quantity, order.remaining) == (OrderStatus.OPEN, D("0.1"), 1000)
    modified = events_of(exchange, OrderModified)
    assert [(e.order_id, e.quantity, e.priority_kept) for e in modified] == [
        (order.id, D("0.1"), True)
    ]
    assert events_of(exchange, OrderCancelled) == []
    assert exchange.depth(PERP).asks == [(D("69000.00"), D("0.2000"))]
    # Still first in its queue: a buy of 0.1 at 69000 meets bob's trimmed order, not dave's.
    exchange.place_order(carol, limit(PERP, "buy", "0.1", "69000.00"))
    assert order.status is OrderStatus.FILLED
    assert behind.status is OrderStatus.OPEN
    assert exchange.check_invariants() == []


def test_reduce_only_order_is_cancelled_once_the_position_is_flat(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob, carol = make_user(perps="10000"), make_user(perps="10000")
    open_long(exchange, make_user, bob, "0.1")
    reducing = exchange.place_order(bob, limit(PERP, "sell", "0.1", "69000.00", reduce_only=True))
    exchange.place_order(carol, limit(PERP, "buy", "0.1", "68000.00"))

    exchange.place_order(bob, market(PERP, "sell", "0.1"))

    assert reducing.order.status is OrderStatus.CANCELLED
    cancels = events_of(exchange, OrderCancelled)
    assert [(e.order_id, e.reason) for e in cancels] == [(reducing.order.id, "reduce_only")]
    assert exchange.check_invariants() == []


def test_reduce_only_order_still_fitting_after_a_position_change_is_kept(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob, carol = make_user(perps="10000"), make_user(perps="10000")
    open_long(exchange, make_user, bob, "0.2")
    reducing = exchange.place_order(bob, limit(PERP, "sell", "0.1", "69000.00", reduce_only=True))
    exchange.place_order(carol, limit(PERP, "buy", "0.1", "68000.00"))

    exchange.place_order(bob, market(PERP, "sell", "0.1"))

    assert reducing.order.status is OrderStatus.OPEN
    assert events_of(exchange, OrderCancelled) == []


# -- spot ----------------------------------------------------------------------------------


def test_spot_bid_locks_cost_plus_the_dearest_taker_fee_in_usdc(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(spot="10000")

    placed = exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00"))

    assert placed.order.status is OrderStatus.OPEN
    # 0.1 × 67000 × (1 + 5 / 10000) = 6703.35.
    assert spot_row(exchange, bob, "USDC") == (D("3296.65"), D("6703.35"))
    assert exchange.balances(bob).spot == D("10000")
    assert exchange.margin(bob).order_margin == 0
    exchange.cancel_order(bob, placed.order.id)
    assert spot_row(exchange, bob, "USDC") == (D("10000"), D("0"))


def test_spot_ask_locks_the_base_asset(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user()
    credit_spot(exchange, bob, "BTC", "0.5")

    placed = exchange.place_order(bob, limit(SPOT, "sell", "0.2", "69000.00"))

    assert placed.order.status is OrderStatus.OPEN
    assert spot_row(exchange, bob, "BTC") == (D("0.3"), D("0.2"))
    assert spot_row(exchange, bob, "USDC") == (D("0"), D("0"))


def test_spot_buy_without_the_usdc_is_insufficient_balance(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # One micro-USDC short of the 6703.35 the bid must lock.
    bob = make_user(spot="6703.349999")
    err = refused(
        exchange, lambda: exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00"))
    )

    assert err.code is ErrorCode.INSUFFICIENT_BALANCE
    assert err.status == 400


def test_spot_buy_with_exactly_the_lock_is_accepted(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(spot="6703.35")

    placed = exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00"))

    assert placed.order.status is OrderStatus.OPEN
    assert spot_row(exchange, bob, "USDC") == (D("0"), D("6703.35"))


def test_spot_buy_with_usdc_only_in_another_bucket_is_insufficient_balance(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="100000", wallet="100000")

    with pytest.raises(OcxError) as err:
        exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67000.00"))

    assert err.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert err.value.status == 400


def test_spot_sell_without_inventory_is_insufficient_balance(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(spot="100000")
    err = refused(
        exchange, lambda: exchange.place_order(bob, limit(SPOT, "sell", "0.1", "67000.00"))
    )

    assert err.code is ErrorCode.INSUFFICIENT_BALANCE
    assert err.status == 400


def test_spot_sell_beyond_the_unlocked_inventory_is_insufficient_balance(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user()
    credit_spot(exchange, bob, "BTC", "0.3")
    exchange.place_order(bob, limit(SPOT, "sell", "0.2", "69000.00"))
    err = refused(
        exchange, lambda: exchange.place_order(bob, limit(SPOT, "sell", "0.2", "70000.00"))
    )

    assert err.code is ErrorCode.INSUFFICIENT_BALANCE
    assert err.status == 400


def test_spot_fill_moves_usdc_and_base_between_spot_buckets_with_fees_in_usdc(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice = make_user(spot="10000")
    bob = make_user()
    credit_spot(exchange, bob, "BTC", "0.1")
    bid = exchange.place_order(alice, limit(SPOT, "buy", "0.1", "67000.00")).order

    placed = exchange.place_order(bob, limit(SPOT, "sell", "0.1", "67000.00"))

    assert placed.order.status is OrderStatus.FILLED
    assert bid.status is OrderStatus.FILLED
    assert [(f.price, f.quantity, f.fee, f.fee_role) for f in placed.fills] == [
        (D("67000.00"), D("0.1"), D("3.35"), FeeRole.TAKER)
    ]
    # Alice (maker) paid 6700 plus 6700 × 2 bps = 1.34 and holds the 0.1 BTC; nothing locked.
    assert spot_row(exchange, alice, "USDC") == (D("3298.66"), D("0"))
    assert spot_row(exchange, alice, "BTC") == (D("0.1"), D("0"))
    # Bob (taker) received 6700 less 6700 × 5 bps = 3.35, and gave up his BTC.
    assert spot_row(exchange, bob, "USDC") == (D("6696.65"), D("0"))
    assert spot_row(exchange, bob, "BTC") == (D("0"), D("0"))
    fees = [
        (e.owner, e.bucket, e.asset, e.amount)
        for e in exchange.ledger.entries
        if e.type == EntryType.TRADE_FEE and e.owner != "system"
    ]
    assert sorted(fees) == sorted(
        [(alice, "spot", "USDC", D("-1.34")), (bob, "spot", "USDC", D("-3.35"))]
    )
    assert exchange.positions(alice) == []
    assert exchange.positions(bob) == []
    assert exchange.check_invariants() == []


def test_spot_bid_that_takes_pays_the_makers_price_and_releases_its_lock(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice = make_user()
    credit_spot(exchange, alice, "BTC", "0.1")
    exchange.place_order(alice, limit(SPOT, "sell", "0.1", "67000.00"))
    bob = make_user(spot="10000")

    placed = exchange.place_order(bob, limit(SPOT, "buy", "0.1", "67500.00"))

    assert placed.order.status is OrderStatus.FILLED
    assert [(f.price, f.fee) for f in placed.fills] == [(D("67000.00"), D("3.35"))]
    # 10000 − 6700 − 3.35; the 0.1 × 67500 × 1.0005 it could have locked is all released.
    assert spot_row(exchange, bob, "USDC") == (D("3296.65"), D("0"))
    assert spot_row(exchange, bob, "BTC") == (D("0.1"), D("0"))
    # Alice (maker): 6700 − 6700 × 2 bps.
    assert spot_row(exchange, alice, "USDC") == (D("6698.66"), D("0"))
    assert exchange.check_invariants() == []
