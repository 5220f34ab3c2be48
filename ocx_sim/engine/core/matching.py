"""One incoming order against one book: fills, then whatever rests or expires.

Rules (docs/fidelity.md "Orders"):
- price-time priority: the best opposite level first, oldest order first within a level; every
  fill happens at the resting order's price;
- the incoming order takes liquidity only up to `limit_ticks` (a limit order's price, or for a
  market order the edge of the price band, so a market order never sweeps past the band);
- `post_only`: an order that would take anything is refused whole (POST_ONLY_WOULD_TAKE);
- FOK fills nothing unless it can fill everything at once; IOC, FOK and market remainders
  expire; only a GTC limit remainder rests;
- self-trade prevention: a resting order of the same owner met on the way is cancelled
  (`self_trade_prevention`) and the incoming order continues;
- a market order that could take nothing from anyone else is refused (NO_LIQUIDITY) and
  changes nothing.

Every refusal happens before the book is touched, so a refused order leaves no trace.
"""

from __future__ import annotations

from typing import NamedTuple

from ocx_sim.engine.core.book import Book, BookOrder
from ocx_sim.errors import ErrorCode, OcxError

Fill = tuple[BookOrder, int, int]
"""(maker, lots, ticks): one execution against a resting order, at its price."""


class MatchResult(NamedTuple):
    fills: tuple[Fill, ...] = ()
    self_trade_cancels: tuple[BookOrder, ...] = ()
    rested: bool = False
    expired_lots: int = 0

    @property
    def filled_lots(self) -> int:
        return sum(lots for _, lots, _ in self.fills)


_RESTED = MatchResult(rested=True)
"""The most common outcome, a limit order resting without touching anything, shared."""


def crosses(book: Book, is_buy: bool, limit_ticks: int) -> bool:
    """Would an order on this side at `limit_ticks` meet the best opposite price?"""
    if is_buy:
        return book.best_ask is not None and book.best_ask <= limit_ticks
    return book.best_bid is not None and book.best_bid >= limit_ticks


def crosses_excluding(book: Book, is_buy: bool, limit_ticks: int, excluded: set[str]) -> bool:
    """Would an order at `limit_ticks` meet a resting order other than the `excluded` ones (a
    bulk ladder's post-only quotes, on the book as it will be once `cancelAll` has run)?"""
    for level in book.levels(not is_buy, through=limit_ticks):
        for resting in level:
            if resting.id not in excluded:
                return True
    return False


def fillable_lots(book: Book, owner: str, is_buy: bool, limit_ticks: int, wanted: int) -> int:
    """Lots that others offer up to `limit_ticks`, counted until `wanted` is reached (orders of
    `owner` do not count: self-trade prevention would cancel them, not fill them)."""
    total = 0
    for level in book.levels(not is_buy, through=limit_ticks):
        for order in level:
            if order.owner != owner:
                total += order.remaining
                if total >= wanted:
                    return total
    return total


def match(
    book: Book,
    taker: BookOrder,
    limit_ticks: int,
    *,
    rest: bool,
    fok: bool = False,
    post_only: bool = False,
    market: bool = False,
) -> MatchResult:
    """Execute `taker` (its `remaining` lots) against `book`.

    `rest` says whether a remainder may rest (GTC limit orders); otherwise it expires. The
    taker's `remaining` is decremented by what fills and then holds the unfilled quantity
    (resting or expired); makers are reduced or removed.
    """
    is_buy = taker.is_buy
    owner = taker.owner
    if post_only and crosses(book, is_buy, limit_ticks):
        raise OcxError(ErrorCode.POST_ONLY_WOULD_TAKE)
    if market and fillable_lots(book, owner, is_buy, limit_ticks, 1) == 0:
        raise OcxError(ErrorCode.NO_LIQUIDITY)
    if not crosses(book, is_buy, limit_ticks):
        if rest:
            book.add(taker)
            return _RESTED
        return MatchResult(expired_lots=taker.remaining)
    if fok and fillable_lots(book, owner, is_buy, limit_ticks, taker.remaining) < taker.remaining:
        return MatchResult(expired_lots=taker.remaining)

    fills: list[Fill] = []
    cancels: list[BookOrder] = []
    remaining = taker.remaining
    levels = book.asks if is_buy else book.bids
    while remaining:
        best = book.best_ask if is_buy else book.best_bid
        if best is None or (best > limit_ticks if is_buy else best < limit_ticks):
            break
        maker = levels[best].head
        while maker is not None and remaining:
            following = maker.next
            if maker.owner == owner:
                book.remove(maker)
                cancels.append(maker)
            elif maker.remaining <= remaining:
                lots = maker.remaining
                book.remove(maker)
                maker.remaining = 0
                remaining -= lots
                fills.append((maker, lots, best))
            else:
                book.reduce(maker, remaining)
                fills.append((maker, remaining, best))
                remaining = 0
            maker = following

    taker.remaining = remaining
    rested = bool(remaining) and rest
    if rested:
        book.add(taker)
    expired = remaining if remaining and not rest else 0
    return MatchResult(tuple(fills), tuple(cancels), rested, expired)
