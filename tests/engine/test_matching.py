"""Unit tests of matching one incoming order against a book (ocx_sim/engine/matching.py):
price-time priority, time in force, postOnly, market orders and self-trade prevention."""

from __future__ import annotations

import pytest

from ocx_sim.engine.core.book import Book, BookOrder
from ocx_sim.engine.core.matching import MatchResult, crosses, fillable_lots, match
from ocx_sim.errors import ErrorCode, OcxError

Depth = tuple[list[tuple[int, int]], list[tuple[int, int]]]


def resting(
    book: Book, order_id: str, side: str, ticks: int, lots: int, owner: str = "mia"
) -> BookOrder:
    """Rest a maker order on `book` and return it."""
    maker = BookOrder(order_id, owner, side == "buy", ticks, lots)
    book.add(maker)
    return maker


def incoming(order_id: str, side: str, ticks: int, lots: int, owner: str = "tom") -> BookOrder:
    """An incoming (taker) order; `ticks` is where a GTC remainder would rest."""
    return BookOrder(order_id, owner, side == "buy", ticks, lots)


def fills(result: MatchResult) -> list[tuple[str, int, int]]:
    """The fills as (maker id, lots, ticks)."""
    return [(maker.id, lots, ticks) for maker, lots, ticks in result.fills]


def snapshot(book: Book) -> tuple[Depth, int, list[str]]:
    return book.depth(), book.sequence, list(book.orders)


def asks_at_100_101_102() -> Book:
    book = Book("BTC-PERP")
    resting(book, "a100", "sell", 100, 2)
    resting(book, "a101", "sell", 101, 3)
    resting(book, "a102", "sell", 102, 4)
    return book


# -- price-time priority -------------------------------------------------------------------


def test_buy_takes_the_lowest_ask_first_and_sweeps_upwards() -> None:
    book = Book("BTC-PERP")
    resting(book, "a102", "sell", 102, 4)
    resting(book, "a100", "sell", 100, 2)
    resting(book, "a101", "sell", 101, 3)
    result = match(book, incoming("t", "buy", 102, 6), 102, rest=True)
    assert fills(result) == [("a100", 2, 100), ("a101", 3, 101), ("a102", 1, 102)]
    assert book.depth() == ([], [(102, 3)])


def test_sell_takes_the_highest_bid_first_and_sweeps_downwards() -> None:
    book = Book("BTC-PERP")
    resting(book, "b98", "buy", 98, 4)
    resting(book, "b100", "buy", 100, 2)
    resting(book, "b99", "buy", 99, 3)
    result = match(book, incoming("t", "sell", 98, 6), 98, rest=True)
    assert fills(result) == [("b100", 2, 100), ("b99", 3, 99), ("b98", 1, 98)]
    assert book.depth() == ([(98, 3)], [])


def test_orders_within_a_level_fill_oldest_first() -> None:
    book = Book("BTC-PERP")
    resting(book, "first", "sell", 100, 2, owner="ann")
    resting(book, "second", "sell", 100, 2, owner="bob")
    resting(book, "third", "sell", 100, 2, owner="cat")
    result = match(book, incoming("t", "buy", 100, 5), 100, rest=True)
    assert fills(result) == [("first", 2, 100), ("second", 2, 100), ("third", 1, 100)]
    assert [o.id for o in book.asks[100]] == ["third"]


def test_fills_happen_at_the_resting_orders_price() -> None:
    book = Book("BTC-PERP")
    resting(book, "a", "sell", 100, 1)
    resting(book, "b", "buy", 90, 1)
    buy = match(book, incoming("t1", "buy", 110, 1), 110, rest=True)
    sell = match(book, incoming("t2", "sell", 80, 1), 80, rest=True)
    assert fills(buy) == [("a", 1, 100)]
    assert fills(sell) == [("b", 1, 90)]


def test_limit_stops_the_sweep_and_gtc_remainder_rests_at_the_limit() -> None:
    book = asks_at_100_101_102()
    taker = incoming("t", "buy", 101, 10)
    result = match(book, taker, 101, rest=True)
    assert fills(result) == [("a100", 2, 100), ("a101", 3, 101)]
    assert result.filled_lots == 5
    assert result.rested
    assert result.expired_lots == 0
    assert taker.remaining == 5
    assert taker.resting
    assert book.orders["t"] is taker
    assert book.depth() == ([(101, 5)], [(102, 4)])
    assert book.check_invariants() == []


def test_partially_filled_maker_keeps_its_place_at_the_head_of_the_level() -> None:
    book = Book("BTC-PERP")
    head = resting(book, "head", "sell", 100, 5)
    resting(book, "next", "sell", 100, 5)
    result = match(book, incoming("t", "buy", 100, 3), 100, rest=True)
    assert fills(result) == [("head", 3, 100)]
    assert head.remaining == 2
    assert head.resting
    assert [o.id for o in book.asks[100]] == ["head", "next"]
    assert book.depth() == ([], [(100, 7)])


def test_fully_filled_maker_leaves_the_book_with_nothing_remaining() -> None:
    book = Book("BTC-PERP")
    maker = resting(book, "m", "sell", 100, 3)
    match(book, incoming("t", "buy", 100, 3), 100, rest=True)
    assert not maker.resting
    assert maker.remaining == 0
    assert "m" not in book.orders


def test_fully_filled_taker_neither_rests_nor_expires() -> None:
    book = asks_at_100_101_102()
    taker = incoming("t", "buy", 102, 5)
    result = match(book, taker, 102, rest=True)
    assert result.filled_lots == 5
    assert taker.remaining == 0
    assert not result.rested
    assert not taker.resting
    assert result.expired_lots == 0


def test_gtc_that_does_not_cross_rests_without_fills() -> None:
    book = asks_at_100_101_102()
    taker = incoming("t", "buy", 99, 4)
    result = match(book, taker, 99, rest=True)
    assert result.fills == ()
    assert result.rested
    assert taker.remaining == 4
    assert book.best_bid == 99
    assert book.depth() == ([(99, 4)], [(100, 2), (101, 3), (102, 4)])


def test_each_book_change_of_a_match_advances_the_sequence_once() -> None:
    book = asks_at_100_101_102()
    resting(book, "own", "sell", 102, 1, owner="tom")
    before = book.sequence
    # a100 and a101 removed, own cancelled, a102 removed, the remainder rests: five changes.
    result = match(book, incoming("t", "buy", 102, 12), 102, rest=True)
    assert len(result.fills) == 3
    assert len(result.self_trade_cancels) == 1
    assert result.rested
    assert book.sequence == before + 5


# -- IOC and market remainders ---------------------------------------------------------------


def test_ioc_remainder_expires_and_the_taker_keeps_the_unfilled_lots() -> None:
    book = asks_at_100_101_102()
    taker = incoming("t", "buy", 101, 10)
    result = match(book, taker, 101, rest=False)
    assert fills(result) == [("a100", 2, 100), ("a101", 3, 101)]
    assert result.expired_lots == 5
    assert taker.remaining == 5
    assert not result.rested
    assert not taker.resting
    assert "t" not in book.orders
    assert book.depth() == ([], [(102, 4)])


def test_ioc_that_does_not_cross_expires_whole_and_leaves_the_book_unchanged() -> None:
    book = asks_at_100_101_102()
    before = snapshot(book)
    taker = incoming("t", "buy", 99, 4)
    result = match(book, taker, 99, rest=False)
    assert result.fills == ()
    assert result.expired_lots == 4
    assert taker.remaining == 4
    assert snapshot(book) == before


def test_market_remainder_expires() -> None:
    book = asks_at_100_101_102()
    taker = incoming("t", "buy", 105, 12)
    result = match(book, taker, 105, rest=False, market=True)
    assert fills(result) == [("a100", 2, 100), ("a101", 3, 101), ("a102", 4, 102)]
    assert result.expired_lots == 3
    assert taker.remaining == 3
    assert not taker.resting
    assert book.depth() == ([], [])


def test_market_order_given_a_band_edge_sweeps_no_further() -> None:
    book = Book("BTC-PERP")
    resting(book, "in", "sell", 100, 2)
    resting(book, "edge", "sell", 105, 2)
    resting(book, "beyond", "sell", 106, 2)
    taker = incoming("t", "buy", 105, 10)
    result = match(book, taker, 105, rest=False, market=True)
    assert fills(result) == [("in", 2, 100), ("edge", 2, 105)]
    assert result.expired_lots == 6
    assert book.depth() == ([], [(106, 2)])


def test_market_sell_given_a_band_edge_sweeps_no_lower() -> None:
    book = Book("BTC-PERP")
    resting(book, "in", "buy", 100, 2)
    resting(book, "beyond", "buy", 94, 2)
    result = match(book, incoming("t", "sell", 95, 5), 95, rest=False, market=True)
    assert fills(result) == [("in", 2, 100)]
    assert result.expired_lots == 3
    assert book.depth() == ([(94, 2)], [])


def test_market_order_with_an_empty_book_is_refused_with_no_liquidity() -> None:
    book = Book("BTC-PERP")
    resting(book, "bid", "buy", 99, 1)
    before = snapshot(book)
    taker = incoming("t", "buy", 105, 1)
    with pytest.raises(OcxError) as refused:
        match(book, taker, 105, rest=False, market=True)
    assert refused.value.code is ErrorCode.NO_LIQUIDITY
    assert refused.value.status == 422
    assert snapshot(book) == before
    assert taker.remaining == 1
    assert not taker.resting


def test_market_order_with_only_own_orders_to_take_is_refused_and_keeps_them() -> None:
    book = Book("BTC-PERP")
    own = resting(book, "own", "sell", 100, 3, owner="tom")
    before = snapshot(book)
    with pytest.raises(OcxError) as refused:
        match(book, incoming("t", "buy", 105, 1), 105, rest=False, market=True)
    assert refused.value.code is ErrorCode.NO_LIQUIDITY
    assert refused.value.status == 422
    assert snapshot(book) == before
    assert own.resting


def test_market_order_with_liquidity_only_beyond_the_band_is_refused() -> None:
    book = Book("BTC-PERP")
    resting(book, "beyond", "sell", 106, 3)
    before = snapshot(book)
    with pytest.raises(OcxError) as refused:
        match(book, incoming("t", "buy", 105, 1), 105, rest=False, market=True)
    assert refused.value.code is ErrorCode.NO_LIQUIDITY
    assert snapshot(book) == before


# -- FOK -------------------------------------------------------------------------------------


def test_fok_that_cannot_fill_fully_fills_nothing() -> None:
    book = asks_at_100_101_102()
    before = snapshot(book)
    taker = incoming("t", "buy", 102, 10)
    result = match(book, taker, 102, rest=False, fok=True)
    assert result.fills == ()
    assert result.self_trade_cancels == ()
    assert result.expired_lots == 10
    assert taker.remaining == 10
    assert not result.rested
    assert snapshot(book) == before


def test_fok_counts_only_liquidity_within_its_limit() -> None:
    book = asks_at_100_101_102()
    before = snapshot(book)
    result = match(book, incoming("t", "buy", 101, 6), 101, rest=False, fok=True)
    assert result.fills == ()
    assert result.expired_lots == 6
    assert snapshot(book) == before


def test_fok_that_can_fill_fully_fills_everything_across_levels() -> None:
    book = asks_at_100_101_102()
    taker = incoming("t", "buy", 102, 9)
    result = match(book, taker, 102, rest=False, fok=True)
    assert fills(result) == [("a100", 2, 100), ("a101", 3, 101), ("a102", 4, 102)]
    assert result.expired_lots == 0
    assert taker.remaining == 0
    assert book.depth() == ([], [])


def test_fok_does_not_count_own_orders_toward_the_fill() -> None:
    book = Book("BTC-PERP")
    own = resting(book, "own", "sell", 100, 5, owner="tom")
    resting(book, "other", "sell", 100, 3, owner="ann")
    before = snapshot(book)
    taker = incoming("t", "buy", 100, 5)
    result = match(book, taker, 100, rest=False, fok=True)
    assert result.fills == ()
    assert result.self_trade_cancels == ()
    assert result.expired_lots == 5
    assert own.resting
    assert snapshot(book) == before


def test_fok_passing_own_orders_fills_from_others_and_cancels_the_own_ones() -> None:
    book = Book("BTC-PERP")
    resting(book, "own", "sell", 100, 5, owner="tom")
    resting(book, "other1", "sell", 100, 3, owner="ann")
    resting(book, "other2", "sell", 101, 2, owner="bob")
    taker = incoming("t", "buy", 101, 5)
    result = match(book, taker, 101, rest=False, fok=True)
    assert fills(result) == [("other1", 3, 100), ("other2", 2, 101)]
    assert [o.id for o in result.self_trade_cancels] == ["own"]
    assert result.expired_lots == 0
    assert book.depth() == ([], [])


# -- postOnly --------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [100, 101, 110])
def test_post_only_that_would_take_is_refused_and_leaves_the_book_unchanged(limit: int) -> None:
    book = asks_at_100_101_102()
    resting(book, "bid", "buy", 95, 1)
    before = snapshot(book)
    taker = incoming("t", "buy", limit, 1)
    with pytest.raises(OcxError) as refused:
        match(book, taker, limit, rest=True, post_only=True)
    assert refused.value.code is ErrorCode.POST_ONLY_WOULD_TAKE
    assert refused.value.status == 422
    assert snapshot(book) == before
    assert taker.remaining == 1
    assert not taker.resting


def test_post_only_sell_that_would_take_is_refused() -> None:
    book = Book("BTC-PERP")
    resting(book, "bid", "buy", 100, 1)
    before = snapshot(book)
    with pytest.raises(OcxError) as refused:
        match(book, incoming("t", "sell", 100, 1), 100, rest=True, post_only=True)
    assert refused.value.code is ErrorCode.POST_ONLY_WOULD_TAKE
    assert refused.value.status == 422
    assert snapshot(book) == before


def test_post_only_that_does_not_cross_rests() -> None:
    book = asks_at_100_101_102()
    taker = incoming("t", "buy", 99, 2)
    result = match(book, taker, 99, rest=True, post_only=True)
    assert result.fills == ()
    assert result.rested
    assert book.depth() == ([(99, 2)], [(100, 2), (101, 3), (102, 4)])


# -- self-trade prevention -------------------------------------------------------------------


def test_self_trade_prevention_cancels_own_resting_orders_and_the_taker_continues() -> None:
    book = Book("BTC-PERP")
    resting(book, "other1", "sell", 100, 2, owner="ann")
    own1 = resting(book, "own1", "sell", 100, 4, owner="tom")
    resting(book, "other2", "sell", 100, 1, owner="bob")
    own2 = resting(book, "own2", "sell", 101, 6, owner="tom")
    resting(book, "other3", "sell", 101, 3, owner="ann")
    taker = incoming("t", "buy", 101, 5)
    result = match(book, taker, 101, rest=True)
    assert fills(result) == [("other1", 2, 100), ("other2", 1, 100), ("other3", 2, 101)]
    assert list(result.self_trade_cancels) == [own1, own2]
    assert not own1.resting and not own2.resting
    assert "own1" not in book.orders and "own2" not in book.orders
    # The cancelled orders keep their unfilled quantity: nothing of theirs traded.
    assert (own1.remaining, own2.remaining) == (4, 6)
    assert taker.remaining == 0
    assert book.depth() == ([], [(101, 1)])
    assert book.check_invariants() == []


def test_self_trade_prevention_cancels_only_own_orders_met_on_the_way() -> None:
    book = Book("BTC-PERP")
    resting(book, "other", "sell", 100, 2, owner="ann")
    behind = resting(book, "own-behind", "sell", 100, 3, owner="tom")
    beyond = resting(book, "own-beyond", "sell", 102, 3, owner="tom")
    result = match(book, incoming("t", "buy", 101, 2), 101, rest=True)
    assert fills(result) == [("other", 2, 100)]
    assert result.self_trade_cancels == ()
    assert behind.resting
    assert beyond.resting


def test_self_trade_prevention_does_not_touch_own_orders_past_the_limit() -> None:
    book = Book("BTC-PERP")
    resting(book, "other", "sell", 100, 2, owner="ann")
    beyond = resting(book, "own-beyond", "sell", 102, 3, owner="tom")
    taker = incoming("t", "buy", 101, 5)
    result = match(book, taker, 101, rest=True)
    assert fills(result) == [("other", 2, 100)]
    assert result.self_trade_cancels == ()
    assert beyond.resting
    assert book.depth() == ([(101, 3)], [(102, 3)])


def test_gtc_that_meets_only_own_orders_cancels_them_and_rests() -> None:
    book = Book("BTC-PERP")
    own = resting(book, "own", "buy", 100, 3, owner="tom")
    taker = incoming("t", "sell", 100, 2)
    result = match(book, taker, 100, rest=True)
    assert result.fills == ()
    assert list(result.self_trade_cancels) == [own]
    assert result.rested
    assert book.depth() == ([], [(100, 2)])
    assert book.check_invariants() == []


def test_ioc_that_meets_only_own_orders_cancels_them_and_expires() -> None:
    book = Book("BTC-PERP")
    own = resting(book, "own", "buy", 100, 3, owner="tom")
    taker = incoming("t", "sell", 100, 2)
    result = match(book, taker, 100, rest=False)
    assert list(result.self_trade_cancels) == [own]
    assert result.expired_lots == 2
    assert book.depth() == ([], [])


def test_market_order_cancels_own_orders_on_the_way_and_fills_others() -> None:
    book = Book("BTC-PERP")
    own = resting(book, "own", "buy", 100, 3, owner="tom")
    resting(book, "other", "buy", 99, 3, owner="ann")
    result = match(book, incoming("t", "sell", 95, 2), 95, rest=False, market=True)
    assert list(result.self_trade_cancels) == [own]
    assert fills(result) == [("other", 2, 99)]
    assert result.expired_lots == 0
    assert book.depth() == ([(99, 1)], [])


# -- crosses and fillable_lots ---------------------------------------------------------------


def test_crosses_when_the_limit_reaches_the_best_opposite_price() -> None:
    book = Book("BTC-PERP")
    assert not crosses(book, True, 1_000)
    assert not crosses(book, False, 1)
    resting(book, "bid", "buy", 99, 1)
    resting(book, "ask", "sell", 101, 1)
    assert crosses(book, True, 101)
    assert crosses(book, True, 150)
    assert not crosses(book, True, 100)
    assert crosses(book, False, 99)
    assert crosses(book, False, 50)
    assert not crosses(book, False, 100)


def test_fillable_lots_counts_others_liquidity_within_the_limit() -> None:
    book = asks_at_100_101_102()
    assert fillable_lots(book, "tom", True, 99, 100) == 0
    assert fillable_lots(book, "tom", True, 100, 100) == 2
    assert fillable_lots(book, "tom", True, 101, 100) == 5
    assert fillable_lots(book, "tom", True, 102, 100) == 9
    assert fillable_lots(book, "tom", False, 1, 100) == 0


def test_fillable_lots_ignores_the_owners_own_orders() -> None:
    book = asks_at_100_101_102()
    resting(book, "own", "sell", 100, 50, owner="tom")
    assert fillable_lots(book, "tom", True, 102, 100) == 9
    assert fillable_lots(book, "ann", True, 102, 100) == 59


def test_fillable_lots_stops_counting_once_the_wanted_lots_are_reached() -> None:
    book = asks_at_100_101_102()
    assert fillable_lots(book, "tom", True, 102, 1) == 2
    assert fillable_lots(book, "tom", True, 102, 3) == 5
    assert fillable_lots(book, "tom", True, 102, 9) == 9


def test_fillable_lots_on_the_bid_side_counts_from_the_best_bid_down() -> None:
    book = Book("BTC-PERP")
    resting(book, "b100", "buy", 100, 2)
    resting(book, "b99", "buy", 99, 3)
    resting(book, "b98", "buy", 98, 4)
    assert fillable_lots(book, "tom", False, 99, 100) == 5
    assert fillable_lots(book, "tom", False, 101, 100) == 0
