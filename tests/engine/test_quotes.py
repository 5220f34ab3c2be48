"""`place_quotes`: the bulk ladder is checked as a whole and either placed whole or not at all
(docs/fidelity.md "Orders", bulk quotes; at most 50 quotes per call)."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

import pytest

from ocx_sim import ErrorCode, Exchange, OcxError, OrderStatus, QuoteRequest, Side
from ocx_sim.engine.core.events import Event, OrderCancelled, TradeExecuted
from ocx_sim.testing.builders import UserFactory, footprint, limit, refused

D = Decimal
PERP = "BTC-PERP"
SPOT = "BTC-USDC-SPOT"
E = TypeVar("E", bound=Event)


def events_of(exchange: Exchange, kind: type[E]) -> list[E]:
    return [e for e in exchange.events if isinstance(e, kind)]


def bid(price: str, quantity: str = "0.1", **fields: object) -> QuoteRequest:
    return QuoteRequest(Side.BUY, D(price), D(quantity), **fields)  # type: ignore[arg-type]


def ask(price: str, quantity: str = "0.1", **fields: object) -> QuoteRequest:
    return QuoteRequest(Side.SELL, D(price), D(quantity), **fields)  # type: ignore[arg-type]


def test_quotes_place_a_ladder_tagged_with_the_given_quote_id(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")

    result = exchange.place_quotes(
        bob,
        PERP,
        [bid("67000.00"), bid("66900.00", "0.2"), ask("67100.00"), ask("67200.00", "0.2")],
        quote_id="mm-1",
    )

    assert result.quote_id == "mm-1"
    assert result.cancelled == []
    assert [(o.side, o.price, o.quantity) for o in result.orders] == [
        (Side.BUY, D("67000.00"), D("0.1")),
        (Side.BUY, D("66900.00"), D("0.2")),
        (Side.SELL, D("67100.00"), D("0.1")),
        (Side.SELL, D("67200.00"), D("0.2")),
    ]
    assert all(o.quote_id == "mm-1" for o in result.orders)
    assert all(o.status is OrderStatus.OPEN for o in result.orders)
    assert [o.id for o in reversed(exchange.open_orders(bob))] == [o.id for o in result.orders]
    depth = exchange.depth(PERP)
    assert depth.bids == [(D("67000.00"), D("0.1000")), (D("66900.00"), D("0.2000"))]
    assert depth.asks == [(D("67100.00"), D("0.1000")), (D("67200.00"), D("0.2000"))]
    # 6700/20 + 13380/20 + 6710/20 + 13440/20 = 335 + 669 + 335.5 + 672.
    assert exchange.margin(bob).order_margin == D("2011.5")
    assert exchange.check_invariants() == []


def test_quotes_without_a_quote_id_get_a_generated_one(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")

    first = exchange.place_quotes(bob, PERP, [bid("67000.00")])
    second = exchange.place_quotes(bob, PERP, [bid("66000.00")])

    assert len(first.quote_id) == 26
    assert first.quote_id != second.quote_id
    assert first.orders[0].quote_id == first.quote_id
    assert second.orders[0].quote_id == second.quote_id


def test_quotes_with_cancel_all_replace_the_callers_quotes_on_that_market_only(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob, alice = make_user(perps="10000"), make_user(perps="10000")
    old = exchange.place_quotes(bob, PERP, [bid("66000.00"), ask("70000.00")]).orders
    plain = exchange.place_order(bob, limit(PERP, "buy", "0.1", "65000.00")).order
    gold = exchange.place_quotes(bob, "XAUT-USDC-PERP", [bid("3900.00", "1")]).orders[0]
    alices = exchange.place_quotes(alice, PERP, [bid("65500.00")]).orders[0]

    result = exchange.place_quotes(bob, PERP, [bid("67000.00"), ask("69000.00")], cancel_all=True)

    assert result.cancelled == [old[0].id, old[1].id]
    assert all(o.status is OrderStatus.CANCELLED for o in old)
    cancels = events_of(exchange, OrderCancelled)
    assert [(e.order_id, e.reason) for e in cancels] == [
        (old[0].id, "quote_replaced"),
        (old[1].id, "quote_replaced"),
    ]
    # Not a quote (its plain order), not on the market (gold), not the caller's (alice's).
    assert plain.status is gold.status is alices.status is OrderStatus.OPEN
    assert {o.id for o in exchange.open_orders(bob)} == {
        plain.id,
        gold.id,
        *(o.id for o in result.orders),
    }
    depth = exchange.depth(PERP)
    assert depth.bids == [
        (D("67000.00"), D("0.1000")),
        (D("65500.00"), D("0.1000")),
        (D("65000.00"), D("0.1000")),
    ]
    assert depth.asks == [(D("69000.00"), D("0.1000"))]
    assert exchange.check_invariants() == []


def test_fifty_quotes_are_accepted(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="100000")
    quotes = [bid(f"{66000 + i}.00", "0.01") for i in range(50)]

    result = exchange.place_quotes(bob, PERP, quotes)

    assert len(result.orders) == 50


def test_more_than_fifty_quotes_is_validation_error_naming_quotes(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="100000")
    quotes = [bid(f"{66000 + i}.00", "0.01") for i in range(51)]
    err = refused(exchange, lambda: exchange.place_quotes(bob, PERP, quotes))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == "quotes"


@pytest.mark.parametrize("cancel_all", [False, True])
def test_one_invalid_quote_refuses_the_whole_set_and_changes_nothing(
    exchange: Exchange, make_user: UserFactory, cancel_all: bool
) -> None:
    bob = make_user(perps="10000")
    previous = exchange.place_order(bob, limit(PERP, "buy", "0.1", "65000.00")).order
    before = footprint(exchange)
    quotes = [bid("67000.00"), bid("66900.00"), ask("67100.00"), ask("67200.005")]

    with pytest.raises(OcxError) as err:
        exchange.place_quotes(bob, PERP, quotes, cancel_all=cancel_all)

    assert err.value.code is ErrorCode.VALIDATION_ERROR
    assert err.value.status == 400
    assert err.value.details["field"] == "quotes[3].price"
    assert previous.status is OrderStatus.OPEN
    assert footprint(exchange) == before


@pytest.mark.parametrize(
    ("quote", "field"),
    [
        (bid("67000.00", "0.00015"), "quotes[1].quantity"),
        (bid("67000.00", "0"), "quotes[1].quantity"),
        (bid("-1"), "quotes[1].price"),
        (bid("67000.00", client_order_id=""), "quotes[1].clientOrderId"),
    ],
)
def test_invalid_quote_is_named_by_its_index_and_field(
    exchange: Exchange, make_user: UserFactory, quote: QuoteRequest, field: str
) -> None:
    bob = make_user(perps="10000")
    err = refused(exchange, lambda: exchange.place_quotes(bob, PERP, [ask("69000.00"), quote]))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == field


def test_quote_outside_the_band_refuses_the_set(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")
    err = refused(
        exchange, lambda: exchange.place_quotes(bob, PERP, [bid("67000.00"), ask("74800.01")])
    )

    assert err.code is ErrorCode.PRICE_OUT_OF_BAND
    assert err.status == 422
    assert err.details["field"] == "quotes[1].price"


def test_quotes_on_an_unknown_market_are_404(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")

    with pytest.raises(OcxError) as err:
        exchange.place_quotes(bob, "ETH-PERP", [bid("3000.00")])

    assert err.value.code is ErrorCode.UNKNOWN_MARKET
    assert err.value.status == 404


def test_quotes_on_a_halted_market_are_refused_and_cancel_nothing(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    previous = exchange.place_order(bob, limit(PERP, "buy", "0.1", "65000.00")).order
    exchange.sim.halt(PERP)
    before = footprint(exchange)

    with pytest.raises(OcxError) as err:
        exchange.place_quotes(bob, PERP, [bid("67000.00")], cancel_all=True)

    assert err.value.code is ErrorCode.MARKET_HALTED
    assert err.value.status == 409
    assert previous.status is OrderStatus.OPEN
    assert footprint(exchange) == before


@pytest.mark.parametrize("cancel_all", [False, True])
def test_post_only_quote_that_would_take_refuses_the_set_and_changes_nothing(
    exchange: Exchange, make_user: UserFactory, cancel_all: bool
) -> None:
    bob, alice = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    previous = exchange.place_order(bob, limit(PERP, "buy", "0.1", "65000.00")).order
    before = footprint(exchange)

    with pytest.raises(OcxError) as err:
        exchange.place_quotes(
            bob,
            PERP,
            [bid("66000.00", post_only=True), bid("67000.00", post_only=True)],
            cancel_all=cancel_all,
        )

    assert err.value.code is ErrorCode.POST_ONLY_WOULD_TAKE
    assert err.value.status == 422
    assert err.value.details["field"] == "quotes[1]"
    assert previous.status is OrderStatus.OPEN
    assert events_of(exchange, TradeExecuted) == []
    assert footprint(exchange) == before


def test_post_only_quote_meeting_only_orders_that_cancel_all_removes_is_accepted(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    old_ask = exchange.place_quotes(bob, PERP, [ask("67000.00")]).orders[0]

    result = exchange.place_quotes(bob, PERP, [bid("67000.00", post_only=True)], cancel_all=True)

    assert result.cancelled == [old_ask.id]
    assert result.orders[0].status is OrderStatus.OPEN
    assert exchange.depth(PERP).bids == [(D("67000.00"), D("0.1000"))]
    assert exchange.depth(PERP).asks == []


@pytest.mark.parametrize(
    ("quotes", "field"),
    [
        ([bid("67000.00"), ask("67000.00")], "quotes[1]"),
        ([ask("67000.00"), bid("67100.00")], "quotes[1]"),
        ([bid("66000.00"), ask("68000.00"), bid("68500.00")], "quotes[2]"),
    ],
)
def test_quotes_crossing_each_other_are_self_trade(
    exchange: Exchange, make_user: UserFactory, quotes: list[QuoteRequest], field: str
) -> None:
    bob = make_user(perps="10000")
    err = refused(exchange, lambda: exchange.place_quotes(bob, PERP, quotes))

    assert err.code is ErrorCode.SELF_TRADE
    assert err.status == 422
    assert err.details["field"] == field


def test_duplicate_client_order_ids_within_the_set_are_409(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    err = refused(
        exchange,
        lambda: exchange.place_quotes(
            bob,
            PERP,
            [
                bid("67000.00", client_order_id="a"),
                bid("66900.00", client_order_id="b"),
                ask("69000.00", client_order_id="a"),
            ],
        ),
    )

    assert err.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID
    assert err.status == 409
    assert err.details["field"] == "quotes[2].clientOrderId"


def test_quote_reusing_the_client_order_id_of_an_open_order_is_409(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    gold = exchange.place_order(
        bob, limit("XAUT-USDC-PERP", "buy", "1", "3900.00", client_order_id="a")
    ).order
    err = refused(
        exchange,
        lambda: exchange.place_quotes(
            bob, PERP, [bid("67000.00", client_order_id="a")], cancel_all=True
        ),
    )

    assert err.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID
    assert err.status == 409
    assert err.details["orderId"] == gold.id


def test_a_quote_may_not_reuse_the_client_order_id_of_a_quote_cancel_all_replaces(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # The replaced quote's clientOrderId stays taken for 24 hours, like any ended order's.
    bob = make_user(perps="10000")
    old = exchange.place_quotes(bob, PERP, [bid("66000.00", client_order_id="a")]).orders[0]

    err = refused(
        exchange,
        lambda: exchange.place_quotes(
            bob, PERP, [bid("67000.00", client_order_id="a")], cancel_all=True
        ),
    )

    assert err.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID
    assert err.details == {"orderId": old.id, "clientOrderId": "a"}
    assert old.status is OrderStatus.OPEN


def test_the_sets_margin_and_fees_are_checked_as_a_whole(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # margin 335 + 334.5 + 334 = 1003.50; taker fees 3.35 + 3.345 + 3.34 = 10.035
    bob = make_user(perps="1013.53")
    quotes = [bid("67000.00"), bid("66900.00"), bid("66800.00")]
    err = refused(exchange, lambda: exchange.place_quotes(bob, PERP, quotes))

    # the margin alone would fit: only the set's fees added together do not
    assert err.code is ErrorCode.INSUFFICIENT_MARGIN
    assert err.status == 422
    assert err.details["requiredIm"] == "1013.535"
    assert err.details["availableIm"] == "1013.53"
    # Each quote fits on its own, and so do any two of them.
    assert len(exchange.place_quotes(bob, PERP, quotes[:2]).orders) == 2


def test_margin_freed_by_cancel_all_counts_toward_the_new_set(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="700")
    old = exchange.place_quotes(bob, PERP, [bid("67000.00", "0.2")]).orders[0]  # holds 670
    quotes = [bid("67000.00"), ask("67100.00")]  # 335 + 335.5 = 670.5, with 30 left free
    err = refused(exchange, lambda: exchange.place_quotes(bob, PERP, quotes))
    assert err.code is ErrorCode.INSUFFICIENT_MARGIN
    assert err.status == 422

    result = exchange.place_quotes(bob, PERP, quotes, cancel_all=True)

    assert result.cancelled == [old.id]
    assert [o.status for o in result.orders] == [OrderStatus.OPEN, OrderStatus.OPEN]
    assert exchange.margin(bob).order_margin == D("670.5")
    assert exchange.check_invariants() == []


def test_spot_quotes_check_the_sets_usdc_lock_as_a_whole(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # Each bid locks 0.1 × price × 1.0005: 6703.35 and 6693.345, 13396.695 together.
    bob = make_user(spot="13396.69")
    err = refused(
        exchange, lambda: exchange.place_quotes(bob, SPOT, [bid("67000.00"), bid("66900.00")])
    )

    assert err.code is ErrorCode.INSUFFICIENT_BALANCE
    assert err.status == 400


def _long(exchange: Exchange, make_user: UserFactory, user_id: str, quantity: str) -> None:
    seller = make_user(perps="100000")
    exchange.place_order(seller, limit(PERP, "sell", quantity, "67000.00"))
    exchange.place_order(user_id, limit(PERP, "buy", quantity, "67000.00"))


def test_reduce_only_quotes_are_each_trimmed_to_the_position_on_their_own(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    _long(exchange, make_user, bob, "0.2")

    result = exchange.place_quotes(
        bob, PERP, [ask("69000.00", reduce_only=True), ask("69100.00", "0.3", reduce_only=True)]
    )

    assert [o.quantity for o in result.orders] == [D("0.1"), D("0.2")]


def test_a_reduce_only_quote_that_could_reduce_nothing_is_refused_naming_it(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    _long(exchange, make_user, bob, "0.2")
    err = refused(
        exchange,
        lambda: exchange.place_quotes(
            bob, PERP, [ask("69000.00", reduce_only=True), bid("67000.00", reduce_only=True)]
        ),
    )

    assert err.code is ErrorCode.REDUCE_ONLY_WOULD_INCREASE
    assert err.status == 422
    assert err.details["field"] == "quotes[1].reduceOnly"


def test_reduce_only_quotes_may_replace_reduce_only_orders_cancel_all_removes(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    _long(exchange, make_user, bob, "0.2")
    old = exchange.place_quotes(bob, PERP, [ask("70000.00", "0.2", reduce_only=True)]).orders[0]

    result = exchange.place_quotes(
        bob, PERP, [ask("69000.00", "0.2", reduce_only=True)], cancel_all=True
    )

    assert result.cancelled == [old.id]
    assert result.orders[0].status is OrderStatus.OPEN
    assert result.orders[0].reduce_only is True
