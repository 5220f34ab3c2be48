"""Liquidation and the insurance fund (docs/fidelity.md "Margin and liquidation"): resting orders
cancelled, positions closed by IOC orders against the book, the rest taken by the fund at the mark,
a 1 % fee of the closed notional to the fund, bad debt paid by the fund, isolated losses kept off
the cross part, and the ledger conserved throughout."""

from __future__ import annotations

from decimal import Decimal

from ocx_sim import Exchange
from ocx_sim.engine.core.accounts import INSURANCE_FUND_ADDRESS
from ocx_sim.engine.core.events import (
    AccountLiquidated,
    InsurancePaid,
    LiquidationFeeCharged,
    OrderCancelled,
    PositionLiquidated,
)
from ocx_sim.engine.core.markets import OptionType, Venue
from ocx_sim.engine.core.orders import MarginMode, OrderStatus
from ocx_sim.testing.builders import UserFactory, limit, market

D = Decimal
PERP = "BTC-PERP"
ISOLATED = MarginMode.ISOLATED


def long_user(
    exchange: Exchange,
    make_user: UserFactory,
    quantity: str = "0.2",
    perps: str = "1000",
    mode: MarginMode = MarginMode.CROSS,
) -> str:
    """A user long `quantity` BTC-PERP at 68000.00 as the maker (fee 2 bps)."""
    user, counterparty = make_user(perps=perps), make_user(perps="100000")
    exchange.place_order(user, limit(PERP, "buy", quantity, "68000.00", margin_mode=mode))
    exchange.place_order(counterparty, market(PERP, "sell", quantity))
    return user


def fund_id(exchange: Exchange) -> str:
    fund = exchange.find_user(INSURANCE_FUND_ADDRESS)
    assert fund is not None
    return fund.user_id


def events_of(exchange: Exchange, kind: type[object]) -> list[object]:
    return [e for e in exchange.events if isinstance(e, kind)]


def test_nothing_happens_above_maintenance(exchange: Exchange, make_user: UserFactory) -> None:
    user = long_user(exchange, make_user)  # balance 997.28; liquidation price 65186.49

    exchange.sim.pin_mark(PERP, D("65500.00"))

    assert exchange.position(user, PERP) is not None
    assert events_of(exchange, AccountLiquidated) == []
    assert exchange.find_user(INSURANCE_FUND_ADDRESS) is None
    assert exchange.insurance_fund() == (D(0), [])


def test_the_book_takes_what_it_can_the_fund_the_rest_at_the_mark_and_a_1pct_fee(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = long_user(exchange, make_user)  # balance 1000 − 2.72 = 997.28
    bidder = make_user(perps="100000")
    exchange.place_order(bidder, limit(PERP, "buy", "0.1", "64600.00"))
    resting = exchange.place_order(user, limit(PERP, "sell", "0.05", "70000.00")).order

    exchange.sim.pin_mark(PERP, D("64500.00"))

    # equity 997.28 − 0.2 × 3500 = 297.28 < maintenance 0.2 × 64500 / 30 = 430
    started = events_of(exchange, AccountLiquidated)
    assert started == [
        AccountLiquidated(
            started[0].seq,  # type: ignore[attr-defined]
            exchange.now_ms,
            user,
            "perps",
            "cross",
            None,
            D("297.28"),
            D(430),
        )
    ]
    # its resting order went first
    assert resting.status is OrderStatus.CANCELLED
    cancels = [e for e in events_of(exchange, OrderCancelled) if e.order_id == resting.id]  # type: ignore[attr-defined]
    assert [e.reason for e in cancels] == ["liquidation"]  # type: ignore[attr-defined]
    # 0.1 sold on the book at 64600: PnL −340, taker fee 5 bps of 6460 = 3.23
    assert exchange.position(bidder, PERP).size == D("0.1")  # type: ignore[union-attr]
    # the other 0.1 taken by the fund at the mark 64500: PnL −350
    fund = fund_id(exchange)
    taken = events_of(exchange, PositionLiquidated)
    assert [(e.quantity, e.price, e.realized_pnl) for e in taken] == [  # type: ignore[attr-defined]
        (D("0.1"), D("64500.00"), D(-350))
    ]
    fund_position = exchange.position(fund, PERP)
    assert fund_position is not None
    assert (fund_position.size, fund_position.entry_price) == (D("0.1"), D("64500.00"))
    # fee 1 % of 6460 + 6450 = 12910 → 129.10
    fees = events_of(exchange, LiquidationFeeCharged)
    assert [(e.closed_notional, e.fee) for e in fees] == [(D(12910), D("129.10"))]  # type: ignore[attr-defined]
    # 997.28 − 340 − 3.23 − 350 − 129.10 = 174.95 left; no bad debt
    assert exchange.position(user, PERP) is None
    assert exchange.balances(user).perps == D("174.95")
    assert events_of(exchange, InsurancePaid) == []
    types = [(e.type, e.amount) for e in exchange.ledger_entries(user, limit=2)]
    assert types == [("liquidation_fee", D("-129.10")), ("liquidation", D(-350))]
    balance, history = exchange.insurance_fund()
    assert balance == D("129.10")
    assert [(e.type, e.amount) for e in history] == [("liquidation_fee", D("129.10"))]
    assert exchange.check_invariants() == []


def test_the_fund_pays_the_exact_shortfall_of_a_gap(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = long_user(exchange, make_user)  # balance 997.28, no bids on the book

    exchange.sim.pin_mark(PERP, D("62000.00"))

    # all 0.2 to the fund at 62000: PnL −1200; fee 1 % of 12400 = 124;
    # 997.28 − 1200 − 124 = −326.72, paid back by the fund
    assert [e.amount for e in events_of(exchange, InsurancePaid)] == [D("326.72")]  # type: ignore[attr-defined]
    assert exchange.balances(user).perps == 0
    assert [(e.type, e.amount) for e in exchange.ledger_entries(user, limit=3)] == [
        ("insurance", D("326.72")),
        ("liquidation_fee", D(-124)),
        ("liquidation", D(-1200)),
    ]
    # the fund: +124 − 326.72 (it may go negative: no ADL), and long 0.2 at 62000
    balance, history = exchange.insurance_fund()
    assert balance == D("-202.72")
    assert [(e.type, e.amount) for e in history] == [
        ("insurance", D("-326.72")),
        ("liquidation_fee", D(124)),
    ]
    assert exchange.position(fund_id(exchange), PERP).size == D("0.2")  # type: ignore[union-attr]
    assert exchange.check_invariants() == []


def test_an_isolated_liquidation_leaves_the_cross_part_whole(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = long_user(exchange, make_user, "0.2", perps="2000", mode=ISOLATED)  # fee 2.72
    counterparty = make_user(perps="100000")
    exchange.place_order(user, limit(PERP, "buy", "0.01", "68000.00"))  # cross, fee 0.136
    exchange.place_order(counterparty, market(PERP, "sell", "0.01"))
    # balance 2000 − 2.72 − 0.136 = 1997.144; allocation 680; cross part 1317.144
    assert exchange.margin(user).cross_equity == D("1317.144")

    exchange.sim.pin_mark(PERP, D("62000.00"))

    # isolated: 680 − 1200 < 2/3 × 620; closed at 62000 (no bids): PnL −1200, fee 124.
    # Beyond its allocation it lost 1200 + 124 − 680 = 644, paid by the fund.
    assert [(e.margin_mode, e.market_id) for e in events_of(exchange, AccountLiquidated)] == [  # type: ignore[attr-defined]
        ("isolated", PERP)
    ]
    assert [e.amount for e in events_of(exchange, InsurancePaid)] == [D(644)]  # type: ignore[attr-defined]
    assert exchange.position(user, PERP, ISOLATED) is None
    cross = exchange.position(user, PERP)
    assert cross is not None and cross.size == D("0.01")
    view = exchange.margin(user)
    assert view.balance == D("1317.144")
    assert view.isolated_margin == 0
    # the cross part lost only its own PnL: 1317.144 − 0.01 × 6000
    assert view.cross_equity == D("1257.144")
    assert exchange.insurance_fund()[0] == D(124) - D(644)
    assert exchange.check_invariants() == []


def test_cross_liquidation_cancels_isolated_orders_too_but_keeps_isolated_positions(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = long_user(exchange, make_user, "0.2", perps="3000")  # cross; balance 2997.28
    seller = make_user(perps="100000")
    exchange.place_order(seller, limit(PERP, "sell", "0.01", "68000.00"))
    exchange.place_order(user, market(PERP, "buy", "0.01", margin_mode=ISOLATED))
    isolated_bid = exchange.place_order(
        user, limit(PERP, "buy", "0.01", "65000.00", margin_mode=ISOLATED)
    ).order
    # taker fee 5 bps of 680 = 0.34: balance 2996.94; allocation 34; cross part 2962.94

    exchange.sim.pin_mark(PERP, D("54000.00"))

    # cross: 2962.94 − 0.2 × 14000 = 162.94 < 0.2 × 54000 / 30 = 360; the isolated long:
    # 34 − 140 < 2/3 × 27: both liquidated, in that order
    started = events_of(exchange, AccountLiquidated)
    assert [(e.margin_mode, e.market_id) for e in started] == [  # type: ignore[attr-defined]
        ("cross", None),
        ("isolated", PERP),
    ]
    assert isolated_bid.status is OrderStatus.CANCELLED
    assert exchange.positions(user) == []
    # no bids: the fund takes all. Cross: PnL −2800, fee 108 → 2996.94 − 2908 = 88.94, its
    # part 88.94 − 34 = 54.94 ≥ 0. Isolated: PnL −140, fee 5.40, 111.40 beyond its 34: paid
    assert [e.amount for e in events_of(exchange, InsurancePaid)] == [D("111.40")]  # type: ignore[attr-defined]
    assert exchange.balances(user).perps == D("54.94")
    assert exchange.check_invariants() == []


def test_an_options_bucket_is_liquidated_when_its_equity_falls_below_two_thirds_of_its_span(
    exchange: Exchange, make_user: UserFactory
) -> None:
    call = next(
        spec
        for spec in exchange.catalog.options("BTC")
        if spec.strike == 68000
        and spec.option_type is OptionType.CALL
        and (spec.expiry_ms or 0) > exchange.now_ms + 3 * 86_400_000
    )
    writer, buyer = make_user(options="2000"), make_user(options="100000")
    exchange.place_order(writer, limit(call.id, "sell", "0.1", "3000.00"))
    exchange.place_order(buyer, limit(call.id, "buy", "0.1", "3000.00"))
    # premium 300 in, maker fee 2 bps of 0.1 × 68000 = 1.36: balance 2298.64. The short's
    # scenario margin (its worst loss: the forward 15 % up with the iv × 1.25) is 836.850129,
    # so maintenance = 2/3 of it; a pinned mark moves equity, not the model's scenarios
    assert exchange.balances(writer).options == D("2298.64")
    view = exchange.margin(writer, Venue.OPTIONS)
    assert view.position_margin == D("836.850129")
    assert view.maintenance_margin == D("557.900086")

    exchange.sim.pin_mark(call.id, D("17407.39"))  # equity 2298.64 − 1740.739 = 557.901
    assert events_of(exchange, AccountLiquidated) == []

    exchange.sim.pin_mark(call.id, D("17407.40"))  # equity 557.90 < 557.900086

    started = exchange.events_of(AccountLiquidated)
    assert [(e.bucket, e.equity, e.maintenance) for e in started] == [
        ("options", D("557.90"), D("557.900086"))
    ]
    # no asks: the fund sells the writer back 0.1 at 17407.40 (1740.74), fee 1 % = 17.4074
    assert exchange.position(writer, call.id) is None
    assert exchange.balances(writer).options == D("2298.64") - D("1740.74") - D("17.4074")
    assert exchange.insurance_fund()[0] == D("1740.74") + D("17.4074")
    assert exchange.position(fund_id(exchange), call.id).size == D("-0.1")  # type: ignore[union-attr]
    assert exchange.check_invariants() == []
