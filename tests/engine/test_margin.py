"""Margin per position (docs/fidelity.md "Margin and liquidation": cross positions share the
bucket's equity; an isolated position holds its own margin, allocated at open): the isolated
allocation, the cross part of the bucket's figures, leverage and the liquidation price of cross and
isolated positions, checked against the liquidation pass one tick either side."""

from __future__ import annotations

from decimal import Decimal

from ocx_sim import Exchange
from ocx_sim.engine.core.events import AccountLiquidated
from ocx_sim.engine.core.orders import MarginMode
from ocx_sim.testing.builders import UserFactory, limit, market

D = Decimal
PERP = "BTC-PERP"
ISOLATED = MarginMode.ISOLATED
CROSS = MarginMode.CROSS


def open_position(
    exchange: Exchange,
    make_user: UserFactory,
    side: str,
    quantity: str,
    *,
    mode: MarginMode = CROSS,
    perps: str = "1000",
) -> str:
    """A user with `perps` USDC holding `quantity` BTC-PERP on `side` at 68000.00 as the maker
    (fee 2 bps); the taker is a well-funded counterparty. Returns the user's id."""
    user, counterparty = make_user(perps=perps), make_user(perps="100000")
    exchange.place_order(user, limit(PERP, side, quantity, "68000.00", margin_mode=mode))
    other_side = "sell" if side == "buy" else "buy"
    exchange.place_order(counterparty, market(PERP, other_side, quantity))
    return user


def liquidations(exchange: Exchange) -> list[AccountLiquidated]:
    return [e for e in exchange.events if isinstance(e, AccountLiquidated)]


# -- isolated allocation ------------------------------------------------------------------------


def test_an_isolated_position_holds_its_filled_notional_over_max_leverage(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_position(exchange, make_user, "buy", "0.1", mode=ISOLATED, perps="10000")

    # 0.1 × 68000 / 20 = 340 allocated; the fee 2 bps of 6800 = 1.36 left the bucket
    view = exchange.margin(user)
    assert exchange.position(user, PERP, ISOLATED).margin == D(340)  # type: ignore[union-attr]
    assert view.balance == D("9998.64")
    assert view.isolated_margin == D(340)
    assert view.position_margin == 0  # no cross position
    assert view.initial_margin == D(340)
    # maintenance: 2/3 of the isolated position's 340
    assert view.maintenance_margin == D("226.666667")
    assert view.cross_maintenance == 0
    # the cross part: 9998.64 − 340 = 9658.64 free
    assert view.cross_equity == D("9658.64")
    assert view.available == D("9658.64")
    assert view.equity == D("9998.64")
    assert exchange.check_invariants() == []


def test_an_isolated_allocation_grows_with_fills_and_is_released_pro_rata_then_fully(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_position(exchange, make_user, "buy", "0.1", mode=ISOLATED, perps="10000")
    seller, buyer = make_user(perps="100000"), make_user(perps="100000")

    def allocation() -> Decimal:
        held = exchange.position(user, PERP, ISOLATED)
        return D(0) if held is None else held.margin

    # grows by 0.1 at 67000: + 0.1 × 67000 / 20 = 335
    exchange.place_order(seller, limit(PERP, "sell", "0.1", "67000.00"))
    exchange.place_order(user, market(PERP, "buy", "0.1", margin_mode=ISOLATED))
    assert allocation() == D(675)

    # shrinks by 0.05 of 0.2: a quarter released, 675 × 0.15 / 0.2 = 506.25
    exchange.place_order(buyer, limit(PERP, "buy", "0.05", "67500.00"))
    exchange.close_position(user, PERP, quantity=D("0.05"), margin_mode=ISOLATED)
    assert allocation() == D("506.25")
    assert exchange.margin(user).isolated_margin == D("506.25")

    # flat: nothing held
    exchange.place_order(buyer, limit(PERP, "buy", "0.15", "67500.00"))
    exchange.close_position(user, PERP, margin_mode=ISOLATED)
    assert allocation() == 0
    assert exchange.margin(user).isolated_margin == 0
    assert exchange.check_invariants() == []


def test_the_cross_part_leaves_out_isolated_positions_and_their_pnl(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_position(exchange, make_user, "buy", "0.1", mode=ISOLATED, perps="10000")
    counterparty = make_user(perps="100000")
    exchange.place_order(user, limit(PERP, "sell", "0.1", "68000.00"))
    exchange.place_order(counterparty, market(PERP, "buy", "0.1"))
    # balance 10000 − 1.36 − 1.36 = 9997.28: isolated long 0.1 (340), cross short 0.1

    exchange.sim.pin_mark(PERP, D("67000.00"))

    view = exchange.margin(user)
    # cross: 9997.28 − 340 + 100 (the short's profit) = 9757.28; IM 0.1 × 67000 / 20 = 335
    assert view.cross_equity == D("9757.28")
    assert view.position_margin == D(335)
    # available: min(9757.28, 9997.28 − 340) − 335 = 9322.28 (profit is not collateral)
    assert view.available == D("9322.28")
    # the bucket's totals count both: the PnLs cancel out
    assert view.unrealized_pnl == 0
    assert view.equity == D("9997.28")
    assert view.initial_margin == D(675)
    # maintenance: 2/3 × 335 + 2/3 × (0.1 × 67000 / 20) = 446.666667
    assert view.maintenance_margin == D("446.666667")


def test_leverage_is_notional_over_the_equity_backing_the_position(
    exchange: Exchange, make_user: UserFactory
) -> None:
    cross = open_position(exchange, make_user, "buy", "0.2")
    isolated = open_position(exchange, make_user, "buy", "0.2", mode=ISOLATED)

    # cross: 13600 / (1000 − 2.72); isolated: 13600 / its own 680
    assert exchange.position(cross, PERP).leverage == D("13.64")  # type: ignore[union-attr]
    assert exchange.position(isolated, PERP, ISOLATED).leverage == D("20.00")  # type: ignore[union-attr]


# -- liquidation prices -------------------------------------------------------------------------


def assert_liquidated_past(
    exchange: Exchange, user: str, mode: MarginMode, shown: Decimal, step: Decimal
) -> None:
    """At the price shown, and one tick on the safe side, the position stands; one tick past
    it (`step` is -0.01 for a long, +0.01 for a short) it is liquidated."""
    exchange.sim.pin_mark(PERP, shown - step)
    exchange.sim.pin_mark(PERP, shown)
    assert exchange.position(user, PERP, mode) is not None
    assert liquidations(exchange) == []

    exchange.sim.pin_mark(PERP, shown + step)

    assert exchange.position(user, PERP, mode) is None
    assert [(e.user_id, e.margin_mode) for e in liquidations(exchange)] == [(user, mode.value)]
    assert exchange.check_invariants() == []


def test_a_cross_longs_liquidation_price(exchange: Exchange, make_user: UserFactory) -> None:
    user = open_position(exchange, make_user, "buy", "0.2")
    # balance 1000 − 2.72 = 997.28. equity = 997.28 + 0.2 (P − 68000) meets maintenance
    # 2/3 × 0.2 P / 20 = P / 150 at P = 12602.72 × 150 / 29 = 65186.4827…, shown on the tick
    # above it (the safe side)
    assert D("12602.72") * 150 / 29 < D("65186.49")
    assert exchange.position(user, PERP).liquidation_price == D("65186.49")  # type: ignore[union-attr]

    assert_liquidated_past(exchange, user, CROSS, D("65186.49"), D("-0.01"))


def test_a_cross_shorts_liquidation_price(exchange: Exchange, make_user: UserFactory) -> None:
    user = open_position(exchange, make_user, "sell", "0.2")
    # equity = 997.28 − 0.2 (P − 68000) meets P / 150 at P = 14597.28 × 150 / 31 = 70632
    # exactly: there equity equals maintenance, which is not yet below it
    assert D("14597.28") * 150 / 31 == D(70632)
    assert exchange.position(user, PERP).liquidation_price == D("70632.00")  # type: ignore[union-attr]

    assert_liquidated_past(exchange, user, CROSS, D("70632.00"), D("0.01"))


def test_an_isolated_longs_liquidation_price_ignores_the_bucket(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_position(exchange, make_user, "buy", "0.2", mode=ISOLATED, perps="5000")
    # allocation 680: 680 + 0.2 P − 13600 = P / 150 at P = 12920 × 150 / 29 = 66827.586…,
    # whatever else the bucket holds
    assert D(12920) * 150 / 29 < D("66827.59")
    shown = exchange.position(user, PERP, ISOLATED).liquidation_price  # type: ignore[union-attr]
    assert shown == D("66827.59")

    assert_liquidated_past(exchange, user, ISOLATED, D("66827.59"), D("-0.01"))


def test_an_isolated_shorts_liquidation_price(exchange: Exchange, make_user: UserFactory) -> None:
    user = open_position(exchange, make_user, "sell", "0.2", mode=ISOLATED, perps="5000")
    # 680 − 0.2 P + 13600 = P / 150 at P = 14280 × 150 / 31 = 69096.774…, shown below it
    assert D("69096.77") < D(14280) * 150 / 31 < D("69096.78")
    shown = exchange.position(user, PERP, ISOLATED).liquidation_price  # type: ignore[union-attr]
    assert shown == D("69096.77")

    assert_liquidated_past(exchange, user, ISOLATED, D("69096.77"), D("0.01"))


def test_a_long_with_more_cash_than_notional_has_no_liquidation_price(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = open_position(exchange, make_user, "buy", "0.01", perps="100000")
    # equity 99999.864 + 0.01 (P − 68000) stays above P / 3000 for every P > 0
    assert exchange.position(user, PERP).liquidation_price is None  # type: ignore[union-attr]
