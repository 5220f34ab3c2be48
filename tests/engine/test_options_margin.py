"""The options bucket's margin (core/options_risk.py, core/risk.py; docs/fidelity.md "Fees and
risk", "Margin and liquidation"): positions and resting sells margined by the scenarios of
core/span.py, bids by their premium paid in cash, what a strategy's legs need."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ocx_sim import Bucket, ErrorCode, Exchange, QuoteRequest, Side
from ocx_sim.engine.core import span
from ocx_sim.engine.core.markets import MarketSpec, OptionType, Venue
from ocx_sim.engine.core.money import format_usdc, usdc
from ocx_sim.testing.builders import UserFactory, limit, refused

D = Decimal
BUY, SELL = Side.BUY, Side.SELL


def option(exchange: Exchange, strike: int, kind: OptionType = OptionType.CALL) -> MarketSpec:
    """The BTC option of the first expiry at least three days away (2026-01-09)."""
    return next(
        spec
        for spec in exchange.catalog.options("BTC")
        if spec.strike == strike
        and spec.option_type is kind
        and (spec.expiry_ms or 0) > exchange.now_ms + 3 * 86_400_000
    )


def span_of(exchange: Exchange, sizes: Sequence[tuple[MarketSpec, str]]) -> Decimal:
    """The scenario margin of `sizes`, worked out directly from the options' model inputs."""
    prices = exchange._state.prices
    exposures = []
    for spec, size in sizes:
        inputs = prices.option_inputs(spec, exchange.now_ms)
        assert inputs is not None
        exposures.append((inputs, float(size)))
    return usdc(Decimal(repr(span.requirement(exposures))))


def trade(
    exchange: Exchange, user: str, other: str, spec: MarketSpec, side: str, qty: str, price: str
) -> None:
    """`user` takes `qty` on `side` from `other`'s resting order at `price`."""
    other_side = "sell" if side == "buy" else "buy"
    exchange.place_order(other, limit(spec.id, other_side, qty, price))
    exchange.place_order(user, limit(spec.id, side, qty, price))


def test_a_short_calls_initial_margin_is_its_scenario_margin_and_maintenance_two_thirds(
    exchange: Exchange, make_user: UserFactory
) -> None:
    call = option(exchange, 68000)
    writer, buyer = make_user(options="5000"), make_user(options="100000")

    trade(exchange, buyer, writer, call, "buy", "0.1", "2125.00")

    view = exchange.margin(writer, Venue.OPTIONS)
    figure = span_of(exchange, [(call, "-0.1")])
    assert figure == D("836.850129")  # the forward 15 % up, the iv × 1.25
    assert view.position_margin == view.initial_margin == figure
    assert view.maintenance_margin == usdc(figure * 2 / 3)
    # premium 212.50 in, maker fee 2 bps of 0.1 × 68000 = 1.36; the short's value at the mark
    assert view.balance == D("5211.14")
    assert view.equity == D("5211.14") - D("0.1") * exchange.mark_price(call.id)  # type: ignore[operator]
    assert view.available == view.equity - figure
    assert exchange.check_invariants() == []


def test_a_resting_sell_holds_what_it_adds_to_the_positions_scenario_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    long_call, short_call = option(exchange, 68000), option(exchange, 70000)
    put = option(exchange, 64000, OptionType.PUT)
    user, other = make_user(options="10000"), make_user(options="100000")
    trade(exchange, user, other, long_call, "buy", "0.1", "2125.00")

    # covered by the long: as if filled it is a call spread, which can lose no more than the
    # long alone
    exchange.place_order(user, limit(short_call.id, "sell", "0.1", "1300.00"))
    assert exchange.margin(user, Venue.OPTIONS).order_margin == 0

    # a naked put on top: what it adds to the positions with every resting sell filled
    exchange.place_order(user, limit(put.id, "sell", "0.1", "700.00"))
    alone = span_of(exchange, [(long_call, "0.1")])
    both = span_of(exchange, [(long_call, "0.1"), (short_call, "-0.1"), (put, "-0.1")])
    view = exchange.margin(user, Venue.OPTIONS)
    assert view.position_margin == alone
    assert view.order_margin == both - alone
    # not a sum of per-order figures: the put alone would hold more than it adds here
    assert view.order_margin != span_of(exchange, [(put, "-0.1")])
    assert exchange.check_invariants() == []


def test_a_resting_bid_holds_its_premium_and_only_that(
    exchange: Exchange, make_user: UserFactory
) -> None:
    call = option(exchange, 68000)
    user = make_user(options="1000")

    exchange.place_order(user, limit(call.id, "buy", "0.3", "2000.00"))

    view = exchange.margin(user, Venue.OPTIONS)
    assert (view.position_margin, view.order_margin) == (D(0), D(600))
    assert view.available == D(400)
    # the cash it will pay stays for it
    assert exchange._state.risk.withdrawable(
        exchange.user(user), Bucket.OPTIONS, exchange.now_ms
    ) == D(400)
    assert exchange.check_invariants() == []


def test_a_bid_needs_its_premium_in_cash_even_when_a_longs_value_backs_more_margin(
    exchange: Exchange, make_user: UserFactory
) -> None:
    deep = option(exchange, 56000)
    call = option(exchange, 68000)
    user, other = make_user(options="12200"), make_user(options="100000")
    trade(exchange, user, other, deep, "buy", "1", "12098.58")
    # taker fee 3 bps of 68000 = 20.40: cash 80.02. The deep long backs its own scenario
    # loss and more: its value is well above what a 15 % fall takes from it
    view = exchange.margin(user, Venue.OPTIONS)
    assert view.balance == D("81.02")
    assert view.available > D(2000)

    error = refused(
        exchange, lambda: exchange.place_order(user, limit(call.id, "buy", "0.1", "2000.00"))
    )

    # premium 200 and a fee of 3 bps of 6800 = 2.04 against 81.02 of cash
    assert error.code is ErrorCode.INSUFFICIENT_MARGIN
    assert error.details == {"requiredIm": "202.04", "availableIm": "81.02"}
    exchange.place_order(user, limit(call.id, "buy", "0.03", "2000.00"))  # 60 + 0.612 fits
    assert exchange.check_invariants() == []


def test_an_option_order_that_only_closes_needs_no_margin_even_under_water(
    exchange: Exchange, make_user: UserFactory
) -> None:
    call = option(exchange, 68000)
    user, other = make_user(options="214.55"), make_user(options="100000")
    trade(exchange, user, other, call, "buy", "0.1", "2125.00")  # premium 212.50 + 2.04 fee
    exchange.sim.pin_mark(call.id, D("1800.00"))
    # equity 180.01 at the pinned mark: above maintenance, 2/3 of the long's scenario margin
    # (on the model, 212.210352), but short of the margin itself
    view = exchange.margin(user, Venue.OPTIONS)
    assert (view.equity, view.position_margin) == (D("180.01"), D("212.210352"))
    assert view.available < 0
    assert exchange.balances(user).options == D("0.01")

    placed = exchange.place_order(user, limit(call.id, "sell", "0.1", "1800.00"))

    assert placed.order.is_open
    assert exchange.margin(user, Venue.OPTIONS).order_margin == 0
    # more than the position is not only closing
    error = refused(
        exchange, lambda: exchange.place_order(user, limit(call.id, "sell", "0.01", "1800.00"))
    )
    assert error.code is ErrorCode.INSUFFICIENT_MARGIN
    assert exchange.check_invariants() == []


def test_a_modify_is_charged_the_options_figures_with_the_order_as_it_will_be(
    exchange: Exchange, make_user: UserFactory
) -> None:
    call = option(exchange, 68000)
    one = span_of(exchange, [(call, "-0.1")])
    user = make_user(options=str(one + D(50)))
    order = exchange.place_order(user, limit(call.id, "sell", "0.1", "2500.00")).order
    assert exchange.margin(user, Venue.OPTIONS).order_margin == one

    error = refused(exchange, lambda: exchange.modify_order(user, order.id, quantity=D("0.2")))

    assert error.code is ErrorCode.INSUFFICIENT_MARGIN
    # the growth of the scenario margin, and the taker fee of the 0.1 added: 3 bps of 6800
    grown = span_of(exchange, [(call, "-0.2")]) - one + D("2.04")
    assert error.details["requiredIm"] == format_usdc(grown)
    exchange.modify_order(user, order.id, price=D("2600.00"))  # the same figure: it fits
    assert exchange.check_invariants() == []


def test_a_quote_set_is_margined_as_a_portfolio_with_the_quotes_it_replaces_gone(
    exchange: Exchange, make_user: UserFactory
) -> None:
    call = option(exchange, 68000)
    user = make_user(options="1100")
    quotes = [QuoteRequest(SELL, D("2500.00"), D("0.1")), QuoteRequest(BUY, D("1800.00"), D("0.1"))]

    exchange.place_quotes(user, call.id, quotes, quote_id="q")
    held = exchange.margin(user, Venue.OPTIONS).order_margin
    assert held == span_of(exchange, [(call, "-0.1")]) + D(180)
    # replacing the set needs only what the new one adds
    exchange.place_quotes(user, call.id, quotes, quote_id="q", cancel_all=True)
    assert exchange.margin(user, Venue.OPTIONS).order_margin == held
    error = refused(
        exchange,
        lambda: exchange.place_quotes(
            user, call.id, [*quotes, QuoteRequest(SELL, D("2600.00"), D("0.1"))], quote_id="q"
        ),
    )
    assert error.code is ErrorCode.INSUFFICIENT_MARGIN
    assert exchange.check_invariants() == []


def test_the_options_requirement_of_a_bull_call_spread_is_at_most_its_debit(
    exchange: Exchange, make_user: UserFactory
) -> None:
    low, high = option(exchange, 68000), option(exchange, 70000)
    user = make_user(options="1000")
    debit = D("2130.00") - D("1265.00")  # each leg a little through its mark
    legs = [(low, BUY, D(1), D("2130.00")), (high, SELL, D(1), D("1265.00"))]

    needed = exchange._state.risk.options_requirement(exchange.user(user), legs, exchange.now_ms)

    # the spread's scenario margin, plus what it costs beyond its value at the marks
    marks = exchange.mark_price(low.id) - exchange.mark_price(high.id)  # type: ignore[operator]
    assert needed == span_of(exchange, [(low, "1"), (high, "-1")]) + debit - marks
    assert 0 < needed <= debit
    # the same short call alone needs its scenario margin less what selling it brings
    naked = exchange._state.risk.options_requirement(exchange.user(user), legs[1:], exchange.now_ms)
    assert naked == span_of(exchange, [(high, "-1")]) - D("1265.00") + exchange.mark_price(high.id)  # type: ignore[operator]
    assert naked > needed


def test_the_options_requirement_counts_the_positions_and_resting_orders_it_changes(
    exchange: Exchange, make_user: UserFactory
) -> None:
    low, high = option(exchange, 68000), option(exchange, 70000)
    user, other = make_user(options="100000"), make_user(options="100000")
    trade(exchange, user, other, high, "sell", "1", "1271.65")  # short the 70000 call
    held = exchange.margin(user, Venue.OPTIONS).position_margin

    # buying the 68000 call turns the short into a bull spread: it frees margin
    mark = exchange.mark_price(low.id)
    assert mark is not None
    legs = [(low, BUY, D(1), mark)]
    needed = exchange._state.risk.options_requirement(exchange.user(user), legs, exchange.now_ms)

    assert needed == span_of(exchange, [(low, "1"), (high, "-1")]) - held
    assert needed < 0
