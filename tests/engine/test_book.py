"""Unit tests of the order book (ocx_sim/engine/book.py): levels, FIFO queues, cached best
prices, depth, the sequence counter and the invariant check."""

from __future__ import annotations

import pytest

from ocx_sim.engine.core.book import Book, BookOrder


def order(order_id: str, side: str, ticks: int, lots: int, owner: str = "ann") -> BookOrder:
    """A book order: `order("b1", "buy", 100, 5)`."""
    return BookOrder(order_id, owner, side == "buy", ticks, lots)


def book_with(*orders: BookOrder) -> Book:
    book = Book("BTC-PERP")
    for o in orders:
        book.add(o)
    return book


def ids_at(book: Book, is_buy: bool, ticks: int) -> list[str]:
    side = book.bids if is_buy else book.asks
    return [o.id for o in side[ticks]]


# -- an empty book -----------------------------------------------------------------------------


def test_new_book_is_empty_and_sound() -> None:
    book = Book("BTC-PERP")
    assert book.market_id == "BTC-PERP"
    assert len(book) == 0
    assert book.best_bid is None
    assert book.best_ask is None
    assert book.best_level(True) is None
    assert book.best_level(False) is None
    assert book.depth() == ([], [])
    assert book.sequence == 0
    assert book.check_invariants() == []


# -- add -------------------------------------------------------------------------------------


def test_added_order_rests_at_its_price_level_and_is_indexed() -> None:
    bid = order("b1", "buy", 100, 5)
    book = book_with(bid)
    assert bid.resting
    assert bid.level is book.bids[100]
    assert book.orders == {"b1": bid}
    assert len(book) == 1
    assert list(book.bids) == [100]
    assert list(book.asks) == []


def test_orders_at_one_price_queue_oldest_first() -> None:
    book = book_with(
        order("a1", "sell", 101, 1),
        order("a2", "sell", 101, 2),
        order("a3", "sell", 101, 3),
    )
    assert ids_at(book, False, 101) == ["a1", "a2", "a3"]
    level = book.asks[101]
    assert level.head is not None and level.head.id == "a1"
    assert level.tail is not None and level.tail.id == "a3"


def test_level_keeps_total_lots_and_order_count() -> None:
    book = book_with(order("b1", "buy", 100, 5), order("b2", "buy", 100, 7))
    level = book.bids[100]
    assert level.lots == 12
    assert level.count == 2


def test_bids_and_asks_at_the_same_ticks_stay_on_their_own_sides() -> None:
    book = book_with(order("b1", "buy", 99, 1), order("a1", "sell", 100, 2))
    assert list(book.bids) == [99]
    assert list(book.asks) == [100]
    assert book.depth() == ([(99, 1)], [(100, 2)])


# -- cached best prices ------------------------------------------------------------------------


def test_best_bid_is_the_highest_bid_as_levels_appear() -> None:
    book = Book("BTC-PERP")
    book.add(order("b1", "buy", 100, 1))
    assert book.best_bid == 100
    book.add(order("b2", "buy", 98, 1))
    assert book.best_bid == 100
    book.add(order("b3", "buy", 102, 1))
    assert book.best_bid == 102
    book.add(order("b4", "buy", 102, 1))
    assert book.best_bid == 102
    assert book.best_ask is None


def test_best_ask_is_the_lowest_ask_as_levels_appear() -> None:
    book = Book("BTC-PERP")
    book.add(order("a1", "sell", 105, 1))
    assert book.best_ask == 105
    book.add(order("a2", "sell", 107, 1))
    assert book.best_ask == 105
    book.add(order("a3", "sell", 103, 1))
    assert book.best_ask == 103
    assert book.best_bid is None


def test_best_bid_falls_back_to_the_next_level_when_the_best_empties() -> None:
    top = order("b1", "buy", 102, 1)
    book = book_with(top, order("b2", "buy", 100, 1), order("b3", "buy", 101, 1))
    book.remove(top)
    assert book.best_bid == 101
    assert book.cancel("b3") is not None
    assert book.best_bid == 100
    assert book.cancel("b2") is not None
    assert book.best_bid is None
    assert book.check_invariants() == []


def test_best_ask_falls_back_to_the_next_level_when_the_best_empties() -> None:
    book = book_with(
        order("a1", "sell", 103, 1), order("a2", "sell", 105, 1), order("a3", "sell", 104, 1)
    )
    book.cancel("a1")
    assert book.best_ask == 104
    book.cancel("a3")
    assert book.best_ask == 105
    book.cancel("a2")
    assert book.best_ask is None
    assert book.check_invariants() == []


def test_best_price_survives_while_its_level_still_has_orders() -> None:
    book = book_with(order("b1", "buy", 102, 1), order("b2", "buy", 102, 1))
    book.cancel("b1")
    assert book.best_bid == 102
    assert ids_at(book, True, 102) == ["b2"]


def test_removing_a_level_behind_the_best_keeps_the_best() -> None:
    book = book_with(
        order("a1", "sell", 103, 1), order("a2", "sell", 105, 1), order("b1", "buy", 99, 1)
    )
    book.cancel("a2")
    assert book.best_ask == 103
    assert list(book.asks) == [103]
    assert book.best_bid == 99


def test_best_level_is_the_level_at_the_best_price() -> None:
    book = book_with(order("b1", "buy", 100, 1), order("a1", "sell", 103, 4))
    bid_level = book.best_level(True)
    ask_level = book.best_level(False)
    assert bid_level is book.bids[100]
    assert ask_level is book.asks[103]
    assert ask_level.lots == 4


# -- remove and cancel -----------------------------------------------------------------------


@pytest.mark.parametrize("gone", ["a1", "a2", "a3"])
def test_removing_one_order_keeps_the_others_of_its_level_in_arrival_order(gone: str) -> None:
    orders = {i: order(i, "sell", 101, n) for n, i in enumerate(["a1", "a2", "a3"], start=1)}
    book = book_with(*orders.values())
    book.remove(orders[gone])
    assert ids_at(book, False, 101) == [i for i in ["a1", "a2", "a3"] if i != gone]
    assert book.asks[101].lots == 6 - orders[gone].remaining
    assert book.asks[101].count == 2
    assert book.check_invariants() == []


def test_removed_order_is_unlinked_and_unindexed() -> None:
    gone = order("b1", "buy", 100, 5)
    book = book_with(gone, order("b2", "buy", 100, 1))
    book.remove(gone)
    assert not gone.resting
    assert gone.level is None and gone.prev is None and gone.next is None
    assert "b1" not in book.orders
    assert len(book) == 1


def test_removing_the_last_order_of_a_level_drops_the_level() -> None:
    only = order("b1", "buy", 100, 5)
    book = book_with(only, order("b2", "buy", 99, 1))
    book.remove(only)
    assert 100 not in book.bids
    assert book.depth() == ([(99, 1)], [])


def test_removing_an_order_that_is_not_resting_raises() -> None:
    book = Book("BTC-PERP")
    with pytest.raises(ValueError, match="not resting"):
        book.remove(order("b1", "buy", 100, 1))


def test_removing_an_order_twice_raises_and_leaves_the_book_alone() -> None:
    gone = order("b1", "buy", 100, 1)
    book = book_with(gone, order("b2", "buy", 100, 2))
    book.remove(gone)
    sequence = book.sequence
    with pytest.raises(ValueError, match="not resting"):
        book.remove(gone)
    assert book.sequence == sequence
    assert book.depth() == ([(100, 2)], [])


def test_cancel_removes_the_order_by_id_and_returns_it() -> None:
    target = order("a1", "sell", 101, 3)
    book = book_with(target, order("a2", "sell", 101, 4))
    assert book.cancel("a1") is target
    assert not target.resting
    assert target.remaining == 3
    assert book.depth() == ([], [(101, 4)])


def test_cancel_of_an_unknown_id_returns_none_and_changes_nothing() -> None:
    book = book_with(order("a1", "sell", 101, 3))
    sequence = book.sequence
    assert book.cancel("nope") is None
    assert book.sequence == sequence
    assert book.depth() == ([], [(101, 3)])


def test_cancel_of_an_already_cancelled_id_returns_none() -> None:
    book = book_with(order("a1", "sell", 101, 3))
    assert book.cancel("a1") is not None
    assert book.cancel("a1") is None
    assert len(book) == 0


# -- reduce ----------------------------------------------------------------------------------


def test_reduce_lowers_the_remaining_quantity_and_the_level_total() -> None:
    target = order("b1", "buy", 100, 10)
    book = book_with(target, order("b2", "buy", 100, 4))
    book.reduce(target, 3)
    assert target.remaining == 7
    assert book.bids[100].lots == 11
    assert book.bids[100].count == 2
    assert book.depth() == ([(100, 11)], [])
    assert book.check_invariants() == []


def test_reduce_keeps_time_priority() -> None:
    first = order("b1", "buy", 100, 10)
    book = book_with(first, order("b2", "buy", 100, 4), order("b3", "buy", 100, 2))
    book.reduce(first, 9)
    assert ids_at(book, True, 100) == ["b1", "b2", "b3"]
    assert book.bids[100].head is first


@pytest.mark.parametrize("lots", [0, -1, 5, 6])
def test_reduce_that_would_not_leave_some_lots_raises_and_changes_nothing(lots: int) -> None:
    target = order("b1", "buy", 100, 5)
    book = book_with(target)
    sequence = book.sequence
    with pytest.raises(ValueError, match="must leave some"):
        book.reduce(target, lots)
    assert target.remaining == 5
    assert book.sequence == sequence
    assert book.depth() == ([(100, 5)], [])


def test_reduce_of_an_order_that_is_not_resting_raises() -> None:
    book = Book("BTC-PERP")
    with pytest.raises(ValueError, match="not resting"):
        book.reduce(order("b1", "buy", 100, 5), 1)


# -- depth and levels --------------------------------------------------------------------------


def test_depth_aggregates_levels_bids_descending_asks_ascending() -> None:
    book = book_with(
        order("b1", "buy", 98, 1),
        order("b2", "buy", 100, 2),
        order("b3", "buy", 99, 3),
        order("b4", "buy", 100, 4),
        order("a1", "sell", 103, 5),
        order("a2", "sell", 101, 6),
        order("a3", "sell", 103, 7),
        order("a4", "sell", 102, 8),
    )
    bids, asks = book.depth()
    assert bids == [(100, 6), (99, 3), (98, 1)]
    assert asks == [(101, 6), (102, 8), (103, 12)]


@pytest.mark.parametrize(
    ("limit", "bids", "asks"),
    [
        (0, [], []),
        (1, [(100, 1)], [(101, 1)]),
        (2, [(100, 1), (99, 1)], [(101, 1), (102, 1)]),
        (3, [(100, 1), (99, 1), (98, 1)], [(101, 1), (102, 1)]),
        (10, [(100, 1), (99, 1), (98, 1)], [(101, 1), (102, 1)]),
        (None, [(100, 1), (99, 1), (98, 1)], [(101, 1), (102, 1)]),
    ],
)
def test_depth_limit_caps_each_side_separately(
    limit: int | None, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
) -> None:
    book = book_with(
        order("b1", "buy", 98, 1),
        order("b2", "buy", 99, 1),
        order("b3", "buy", 100, 1),
        order("a1", "sell", 102, 1),
        order("a2", "sell", 101, 1),
    )
    assert book.depth(limit) == (bids, asks)


def test_levels_run_from_the_best_price_outwards_and_stop_after_through() -> None:
    book = book_with(
        order("b1", "buy", 98, 1),
        order("b2", "buy", 100, 1),
        order("b3", "buy", 99, 1),
        order("a1", "sell", 103, 1),
        order("a2", "sell", 101, 1),
        order("a3", "sell", 102, 1),
    )
    assert [lv.ticks for lv in book.levels(True)] == [100, 99, 98]
    assert [lv.ticks for lv in book.levels(False)] == [101, 102, 103]
    assert [lv.ticks for lv in book.levels(True, through=99)] == [100, 99]
    assert [lv.ticks for lv in book.levels(False, through=102)] == [101, 102]
    assert [lv.ticks for lv in book.levels(False, through=100)] == []
    assert [lv.ticks for lv in book.levels(True, through=101)] == []


# -- sequence ----------------------------------------------------------------------------------


def test_sequence_increases_by_one_on_every_change() -> None:
    book = Book("BTC-PERP")
    b1, b2, a1 = order("b1", "buy", 100, 5), order("b2", "buy", 100, 5), order("a1", "sell", 101, 5)
    seen = [book.sequence]
    book.add(b1)
    seen.append(book.sequence)
    book.add(b2)
    seen.append(book.sequence)
    book.add(a1)
    seen.append(book.sequence)
    book.reduce(b1, 2)
    seen.append(book.sequence)
    book.remove(b2)
    seen.append(book.sequence)
    book.cancel("a1")
    seen.append(book.sequence)
    book.cancel("b1")
    seen.append(book.sequence)
    assert seen == [0, 1, 2, 3, 4, 5, 6, 7]


def test_sequence_is_per_book() -> None:
    one, other = Book("BTC-PERP"), Book("XAUT-USDC-PERP")
    one.add(order("b1", "buy", 100, 1))
    assert (one.sequence, other.sequence) == (1, 0)


# -- invariants --------------------------------------------------------------------------------


def test_check_invariants_is_empty_on_a_sound_book_after_mixed_changes() -> None:
    bids = [order(f"b{i}", "buy", 95 + i % 4, 1 + i) for i in range(8)]
    asks = [order(f"a{i}", "sell", 101 + i % 3, 2 + i, owner="bob") for i in range(6)]
    book = book_with(*bids, *asks)
    assert book.check_invariants() == []
    book.reduce(bids[4], 1)
    book.cancel("b3")
    book.cancel("a5")
    book.remove(bids[7])
    book.reduce(asks[1], 2)
    assert book.check_invariants() == []
    for o in list(book.orders.values()):
        book.remove(o)
    assert book.check_invariants() == []
    assert book.depth() == ([], [])


def test_check_invariants_reports_a_crossed_book() -> None:
    # `add` trusts its caller (matching) not to cross; the check must catch it if one does.
    book = book_with(order("b1", "buy", 101, 1), order("a1", "sell", 101, 1))
    problems = book.check_invariants()
    assert any("crossed" in p for p in problems)


def test_check_invariants_reports_level_totals_that_disagree_with_the_orders() -> None:
    target = order("b1", "buy", 100, 5)
    book = book_with(target)
    target.remaining = 4  # changed behind the book's back
    problems = book.check_invariants()
    assert any("totals disagree" in p for p in problems)


def test_check_invariants_reports_a_stale_cached_best_price() -> None:
    book = book_with(order("a1", "sell", 101, 1))
    book.best_ask = 102
    problems = book.check_invariants()
    assert any("cached best" in p for p in problems)
