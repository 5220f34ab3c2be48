"""The options agent: the board's bid and ask on the near-the-money options of the nearest
expiries, replaced only where the board moved or a quote was taken."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import ErrorCode, Exchange, OcxError, Side
from ocx_sim.engine.core.board import Board
from ocx_sim.engine.core.events import MarketListed
from ocx_sim.engine.core.markets import Venue
from ocx_sim.engine.core.orders import Order, OrderStatus
from ocx_sim.engine.reactions.option_liquidity import OptionLiquiditySpec
from ocx_sim.engine.sim import LIQUIDITY_ADDRESS
from ocx_sim.testing.builders import UserFactory, limit

D = Decimal
REFRESH_MS = 10_000
FIRST_EXPIRY = "2026-01-02"
"""The default world starts on Friday 2026-01-02 at 00:00: its first options expire at 08:00."""
ATM_CALL = "BTC-2026-01-02-68000-C"

Quotes = dict[tuple[str, Side], tuple[str, Decimal, Decimal]]
"""(market, side) → (order id, price, quantity) of the agent's open option orders."""


def _agent_id(exchange: Exchange) -> str:
    agent = exchange.find_user(LIQUIDITY_ADDRESS)
    assert agent is not None
    return agent.user_id


def _agent_orders(exchange: Exchange) -> list[Order]:
    return [
        o
        for o in exchange.open_orders(_agent_id(exchange))
        if exchange.market(o.market_id).is_option
    ]


def _quotes(exchange: Exchange) -> Quotes:
    quotes: Quotes = {}
    for order in _agent_orders(exchange):
        assert order.price is not None
        key = (order.market_id, order.side)
        assert key not in quotes, f"two quotes on one side of {order.market_id}"
        remaining = exchange.market(order.market_id).quantity(order.remaining)
        quotes[key] = (order.id, order.price, remaining)
    return quotes


def _wanted(board: Board, expiries: int = 3, moneyness: str = "0.10") -> Quotes:
    """What the agent should quote, read off the published board: (market, side) → ("", price,
    1) for the strikes within ± moneyness of the forward, on the nearest expiries."""
    wanted: Quotes = {}
    band = float(moneyness)
    for entry in board.entries:
        spec = entry.spec
        assert spec.expiry_ms is not None and spec.strike is not None
        if spec.expiry_ms not in board.expiries[:expiries]:
            continue
        forward = board.forwards[spec.expiry_ms].price
        if abs(float(spec.strike) - forward) > band * forward or entry.ask < spec.tick:
            continue
        if spec.tick <= entry.bid < entry.ask:
            wanted[(spec.id, Side.BUY)] = ("", entry.bid, D(1))
        wanted[(spec.id, Side.SELL)] = ("", entry.ask, D(1))
    return wanted


def _prices(quotes: Quotes) -> dict[tuple[str, Side], tuple[Decimal, Decimal]]:
    return {key: (price, quantity) for key, (_, price, quantity) in quotes.items()}


@pytest.fixture
def quoting(exchange: Exchange) -> Exchange:
    """An options agent on BTC with its defaults: 3 expiries, ±10 %, 1 contract, every 10 s
    (the index at 68000.00 and still)."""
    exchange.sim.add_option_liquidity(OptionLiquiditySpec("BTC"))
    return exchange


def test_the_agent_quotes_the_board_bid_and_ask_on_near_the_money_strikes_of_the_nearest_expiries(
    quoting: Exchange,
) -> None:
    quotes = _quotes(quoting)

    assert _prices(quotes) == _prices(_wanted(quoting.board("BTC")))
    # Nothing else: seven strikes (62000 to 74000 around a forward of about 68000) on each of
    # the three nearest expiries, calls and puts.
    books = {market for market, _ in quotes}
    assert len(books) == 3 * 7 * 2
    assert {m.split("-", 1)[1].rsplit("-", 2)[0] for m in books} == {
        "2026-01-02",
        "2026-01-09",
        "2026-01-30",
    }
    assert {int(m.rsplit("-", 2)[1]) for m in books} == set(range(62_000, 74_001, 2_000))
    # The published numbers of one book: the 8-hour at-the-money call.
    assert quotes[(ATM_CALL, Side.BUY)][1:] == (D("437.63"), D(1))
    assert quotes[(ATM_CALL, Side.SELL)][1:] == (D("454.02"), D(1))


def test_a_side_under_one_tick_or_not_below_the_ask_is_left_out(quoting: Exchange) -> None:
    board = {e.spec.id: e for e in quoting.board("BTC").entries}
    quotes = _quotes(quoting)
    # The 74000 call of the first expiry is worth about a cent: bid and ask both 0.01.
    deep = f"BTC-{FIRST_EXPIRY}-74000-C"
    assert (board[deep].bid, board[deep].ask) == (D("0.01"), D("0.01"))
    assert (deep, Side.BUY) not in quotes
    assert quotes[(deep, Side.SELL)][1] == D("0.01")
    assert all(price >= D("0.01") for _, price, _ in quotes.values())


def test_the_quotes_hold_margin_in_the_options_bucket_like_anyones(quoting: Exchange) -> None:
    view = quoting.margin(_agent_id(quoting), Venue.OPTIONS)

    assert view.order_margin > 0
    assert view.available > 0


def test_a_side_still_at_the_board_price_keeps_its_order(quoting: Exchange) -> None:
    before = _quotes(quoting)
    quoting.advance_by(REFRESH_MS)
    after = _quotes(quoting)

    # Ten seconds of time decay move some prices by a cent or more, not all of them.
    assert _prices(after) == _prices(_wanted(quoting.board("BTC")))
    kept = [key for key in after if after[key][1] == before[key][1]]
    moved = [key for key in after if after[key][1] != before[key][1]]
    assert kept and moved
    assert all(after[key][0] == before[key][0] for key in kept)
    assert all(after[key][0] != before[key][0] for key in moved)


def test_a_partly_taken_quote_is_topped_up_on_the_next_refresh(
    quoting: Exchange, make_user: UserFactory
) -> None:
    taker = make_user(options="5000")
    _, ask, _ = _quotes(quoting)[(ATM_CALL, Side.SELL)]
    placed = quoting.place_order(taker, limit(ATM_CALL, "buy", "0.40", ask))
    assert placed.order.status is OrderStatus.FILLED
    assert _quotes(quoting)[(ATM_CALL, Side.SELL)][2] == D("0.60")  # until the next look

    quoting.advance_by(REFRESH_MS)

    quotes = _quotes(quoting)
    board = {e.spec.id: e for e in quoting.board("BTC").entries}
    assert quotes[(ATM_CALL, Side.SELL)][1:] == (board[ATM_CALL].ask, D(1))
    stranded = [o for o in _agent_orders(quoting) if o.status is OrderStatus.PARTIALLY_FILLED]
    assert stranded == []
    assert quoting.position(taker, ATM_CALL) is not None


def test_a_quote_taken_in_full_is_quoted_again_on_the_next_refresh(
    quoting: Exchange, make_user: UserFactory
) -> None:
    seller = make_user(options="50000")
    _, bid, _ = _quotes(quoting)[(ATM_CALL, Side.BUY)]
    quoting.place_order(seller, limit(ATM_CALL, "sell", "1", bid))
    assert (ATM_CALL, Side.BUY) not in _quotes(quoting)

    quoting.advance_by(REFRESH_MS)

    assert _quotes(quoting)[(ATM_CALL, Side.BUY)][2] == D(1)
    assert _prices(_quotes(quoting)) == _prices(_wanted(quoting.board("BTC")))


def test_the_quotes_follow_a_surface_change(quoting: Exchange) -> None:
    before = _quotes(quoting)
    quoting.sim.set_surface("BTC", atm_vol=D("0.9"))
    quoting.advance_by(REFRESH_MS)
    after = _quotes(quoting)

    assert _prices(after) == _prices(_wanted(quoting.board("BTC")))
    # Dearer volatility, dearer options: the at-the-money call's quotes moved up.
    assert after[(ATM_CALL, Side.SELL)][1] > before[(ATM_CALL, Side.SELL)][1]
    assert after[(ATM_CALL, Side.BUY)][1] > before[(ATM_CALL, Side.BUY)][1]


def test_the_quotes_and_their_strikes_follow_an_index_move(quoting: Exchange) -> None:
    quoting.sim.set_index("BTC-PERP", D("74000"))
    quoting.advance_by(REFRESH_MS)
    quotes = _quotes(quoting)

    assert _prices(quotes) == _prices(_wanted(quoting.board("BTC")))
    strikes = {int(m.rsplit("-", 2)[1]) for m, _ in quotes}
    # ±10 % of a forward near 74000: 68000 to 80000; the strikes left behind are withdrawn.
    assert min(strikes) == 68_000 and max(strikes) == 80_000
    assert not any(o.market_id.endswith(("-62000-C", "-62000-P")) for o in _agent_orders(quoting))


def test_without_an_index_the_quotes_stand_until_it_is_back(quoting: Exchange) -> None:
    before = _quotes(quoting)
    quoting.sim.set_index("BTC-PERP", None)
    quoting.advance_by(3 * REFRESH_MS)
    assert _quotes(quoting) == before

    quoting.sim.set_index("BTC-PERP", D("69000"))
    quoting.advance_by(REFRESH_MS)
    assert _prices(_quotes(quoting)) == _prices(_wanted(quoting.board("BTC")))


def test_an_expired_expiry_is_dropped_and_a_new_listing_picked_up(exchange: Exchange) -> None:
    # Hourly looks, so that the eight hours to the first expiry take eight of them; the look
    # at 08:00 comes after the expiry and the listing at that instant.
    exchange.sim.add_option_liquidity(OptionLiquiditySpec("BTC", refresh_ms=3_600_000))
    first = {m for m, _ in _quotes(exchange) if FIRST_EXPIRY in m}
    assert first

    exchange.advance_by(8 * 3_600_000)

    quotes = _quotes(exchange)
    expiries = {m.split("-", 1)[1].rsplit("-", 2)[0] for m, _ in quotes}
    # The next weekly, listed at the expiry, is now one of the three nearest.
    assert expiries == {"2026-01-09", "2026-01-16", "2026-01-30"}
    listed = {e.market_id for e in exchange.events_of(MarketListed)}
    assert any(m in listed for m, _ in quotes)
    assert _prices(quotes) == _prices(_wanted(exchange.board("BTC")))
    assert not any(o.market_id in first for o in _agent_orders(exchange))


def test_a_halted_book_keeps_its_quotes_and_is_quoted_again_once_resumed(
    quoting: Exchange,
) -> None:
    quoting.sim.halt(ATM_CALL)
    quoting.sim.set_surface("BTC", atm_vol=D("0.8"))
    quoting.advance_by(REFRESH_MS)
    board = {e.spec.id: e for e in quoting.board("BTC").entries}
    assert _quotes(quoting)[(ATM_CALL, Side.SELL)][1] != board[ATM_CALL].ask

    quoting.sim.resume(ATM_CALL)
    quoting.advance_by(REFRESH_MS)
    assert _prices(_quotes(quoting)) == _prices(_wanted(quoting.board("BTC")))


def test_the_agent_takes_its_settings(exchange: Exchange) -> None:
    spec = OptionLiquiditySpec("BTC", D("0.25"), expiries=1, moneyness=D("0.05"))
    exchange.sim.add_option_liquidity(spec)
    quotes = _quotes(exchange)

    assert _prices(quotes) == _prices(
        {k: (i, p, D("0.25")) for k, (i, p, _) in _wanted(exchange.board("BTC"), 1, "0.05").items()}
    )
    assert {m.split("-", 1)[1].rsplit("-", 2)[0] for m, _ in quotes} == {FIRST_EXPIRY}


def test_the_sandbox_with_options_runs_the_same_orders_for_the_same_seed() -> None:
    runs = []
    for _ in range(2):
        exchange = Exchange.create(seed=9)
        exchange.sim.start_sandbox(options=True)
        exchange.advance_by(5 * 60_000)
        runs.append(exchange)
    one, other = runs

    assert one.digest() == other.digest()
    assert _prices(_quotes(one)) == _prices(_wanted(one.board("BTC")))
    assert one.check_invariants() == []


def test_the_sandbox_quotes_options_only_when_asked(exchange: Exchange) -> None:
    exchange.sim.start_sandbox()

    assert _agent_orders(exchange) == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (OptionLiquiditySpec("DOGE"), "underlying"),
        (OptionLiquiditySpec("XAUT"), "underlying"),
        (OptionLiquiditySpec("BTC", expiries=0), "expiries"),
        (OptionLiquiditySpec("BTC", moneyness=D(0)), "moneyness"),
        (OptionLiquiditySpec("BTC", moneyness=D("1.5")), "moneyness"),
        (OptionLiquiditySpec("BTC", refresh_ms=0), "refreshMs"),
        (OptionLiquiditySpec("BTC", D("0.001")), "quantity"),
    ],
)
def test_an_options_agent_that_cannot_quote_is_refused(
    exchange: Exchange, spec: OptionLiquiditySpec, field: str
) -> None:
    with pytest.raises(OcxError) as refused:
        exchange.sim.add_option_liquidity(spec)
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.details["field"] == field
    assert exchange.find_user(LIQUIDITY_ADDRESS) is None
