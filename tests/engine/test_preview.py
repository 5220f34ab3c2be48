"""`preview_order`: what an order would cost and whether it would be accepted, changing nothing
(`POST /perps/orders/preview` of https://docs.ocx.global/api-reference/rest; `marginRequired` is
the order's own open-order margin, quantity × limit price / maxLeverage, docs/fidelity.md "Fees
and risk")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import ErrorCode, Exchange, OcxError, OrderRequest, Side
from ocx_sim.engine.core.orders import FeeRole
from ocx_sim.testing.builders import UserFactory, footprint, limit, market, refused

D = Decimal
PERP = "BTC-PERP"


def test_preview_of_a_resting_limit_order_prices_it_as_maker(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")

    preview = exchange.preview_order(bob, limit(PERP, "buy", "0.1", "67000.00"))

    assert preview.notional == D("6700")
    # 6700 / 20 = 335; maker fee 6700 × 2 / 10000 = 1.34.
    assert preview.margin_required == D("335")
    assert preview.fee_role is FeeRole.MAKER
    assert preview.fee_bps == D("2")
    assert preview.est_fee == D("1.34")
    assert preview.user_30d_volume == 0
    assert preview.approved is True
    assert preview.reason is None
    assert preview.reason_code is None


def test_preview_of_a_crossing_limit_order_prices_it_as_taker(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))

    preview = exchange.preview_order(bob, limit(PERP, "buy", "0.1", "67000.00"))

    assert preview.notional == D("6700")
    assert preview.margin_required == D("335")
    assert preview.fee_role is FeeRole.TAKER
    assert preview.fee_bps == D("5")
    # 6700 × 5 / 10000 = 3.35.
    assert preview.est_fee == D("3.35")
    assert preview.approved is True


def test_preview_of_a_market_order_prices_it_as_taker_at_the_expected_fills(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, carol, bob = (make_user(perps="10000") for _ in range(3))
    exchange.place_order(alice, limit(PERP, "sell", "0.05", "67000.00"))
    exchange.place_order(carol, limit(PERP, "sell", "0.05", "67100.00"))

    preview = exchange.preview_order(bob, market(PERP, "buy", "0.1"))

    # 0.05 × 67000 + 0.05 × 67100 = 6705; 6705 × 5 / 10000 = 3.3525.
    assert preview.notional == D("6705")
    assert preview.fee_role is FeeRole.TAKER
    assert preview.fee_bps == D("5")
    assert preview.est_fee == D("3.3525")
    assert preview.approved is True


def test_preview_of_a_sell_limit_order(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")

    preview = exchange.preview_order(bob, limit(PERP, "sell", "0.25", "69000.00"))

    # 0.25 × 69000 = 17250; / 20 = 862.5; maker 17250 × 2 / 10000 = 3.45.
    assert preview.notional == D("17250")
    assert preview.margin_required == D("862.5")
    assert preview.est_fee == D("3.45")
    assert preview.approved is True


def test_preview_reports_the_users_30_day_volume(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "67000.00"))

    preview = exchange.preview_order(bob, limit(PERP, "buy", "0.1", "66000.00"))

    assert preview.user_30d_volume == D("6700")
    assert exchange.preview_order(alice, limit(PERP, "buy", "0.1", "66000.00")).user_30d_volume == (
        D("6700")
    )


def test_preview_with_insufficient_margin_is_not_approved(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="100")

    preview = exchange.preview_order(bob, limit(PERP, "buy", "0.1", "67000.00"))

    assert preview.approved is False
    assert preview.reason_code == "INSUFFICIENT_MARGIN"
    assert preview.reason
    assert preview.margin_required == D("335")
    assert preview.est_fee == D("1.34")


def test_preview_of_a_post_only_order_that_would_take_is_not_approved(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))

    preview = exchange.preview_order(bob, limit(PERP, "buy", "0.1", "67000.00", post_only=True))

    assert preview.approved is False
    assert preview.reason_code == "POST_ONLY_WOULD_TAKE"
    assert preview.reason


def test_preview_of_a_reduce_only_order_that_would_increase_is_not_approved(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")

    preview = exchange.preview_order(bob, limit(PERP, "sell", "0.1", "69000.00", reduce_only=True))

    assert preview.approved is False
    assert preview.reason_code == "REDUCE_ONLY_WOULD_INCREASE"
    assert preview.reason
    assert preview.margin_required == 0


def test_preview_on_a_halted_market_is_not_approved(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    exchange.sim.halt(PERP)

    preview = exchange.preview_order(bob, limit(PERP, "buy", "0.1", "67000.00"))

    assert preview.approved is False
    assert preview.reason_code == "MARKET_HALTED"
    assert preview.reason


def test_preview_with_a_duplicate_client_order_id_is_not_approved(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    exchange.place_order(bob, limit(PERP, "buy", "0.1", "66000.00", client_order_id="c1"))

    preview = exchange.preview_order(
        bob, limit(PERP, "buy", "0.1", "67000.00", client_order_id="c1")
    )

    assert preview.approved is False
    assert preview.reason_code == "DUPLICATE_CLIENT_ORDER_ID"


def test_preview_of_a_market_order_with_no_liquidity_is_not_approved(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")

    preview = exchange.preview_order(bob, market(PERP, "buy", "0.1"))

    assert preview.approved is False
    assert preview.reason_code == "NO_LIQUIDITY"
    assert preview.fee_role is FeeRole.TAKER


def test_preview_outside_the_price_band_is_not_approved(
    exchange: Exchange, make_user: UserFactory
) -> None:
    # PRICE_OUT_OF_BAND is a 422 business refusal, so a preview answers approved: false
    # (trading.preview_order's docstring), as it does for the other 409/422 refusals.
    bob = make_user(perps="10000")

    preview = exchange.preview_order(bob, limit(PERP, "buy", "0.1", "74800.01"))

    assert preview.approved is False
    assert preview.reason_code == "PRICE_OUT_OF_BAND"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        pytest.param(limit(PERP, "buy", "0.1", "67000.001"), "price", id="price off the tick"),
        pytest.param(limit(PERP, "buy", "0.00015", "67000.00"), "quantity", id="quantity off step"),
        pytest.param(limit(PERP, "buy", "0", "67000.00"), "quantity", id="zero quantity"),
        pytest.param(OrderRequest(PERP, Side.BUY, D("0.1")), "price", id="limit without price"),
        pytest.param(
            limit(PERP, "buy", "0.1", "67000.00", stop_price=D("69000.001")),
            "stopPrice",
            id="stopPrice off the tick",
        ),
    ],
)
def test_preview_of_invalid_input_is_still_400(
    exchange: Exchange, make_user: UserFactory, request_: OrderRequest, field: str
) -> None:
    bob = make_user(perps="10000")
    err = refused(exchange, lambda: exchange.preview_order(bob, request_))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == field


def test_preview_of_invalid_input_on_a_halted_market_is_still_400(
    exchange: Exchange, make_user: UserFactory
) -> None:
    bob = make_user(perps="10000")
    exchange.sim.halt(PERP)

    with pytest.raises(OcxError) as err:
        exchange.preview_order(bob, limit(PERP, "buy", "0.1", "67000.001"))

    assert err.value.code is ErrorCode.VALIDATION_ERROR
    assert err.value.status == 400


def test_preview_on_an_unknown_market_is_404(exchange: Exchange, make_user: UserFactory) -> None:
    bob = make_user(perps="10000")

    with pytest.raises(OcxError) as err:
        exchange.preview_order(bob, limit("ETH-PERP", "buy", "0.1", "3000.00"))

    assert err.value.code is ErrorCode.UNKNOWN_MARKET
    assert err.value.status == 404


def test_preview_changes_nothing(exchange: Exchange, make_user: UserFactory) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    exchange.place_order(alice, limit(PERP, "sell", "0.1", "67000.00"))
    exchange.place_order(bob, limit(PERP, "sell", "0.1", "67100.00"))
    margin_before = exchange.margin(bob)
    before = footprint(exchange)

    previews = [
        exchange.preview_order(bob, limit(PERP, "buy", "0.2", "67100.00")),
        exchange.preview_order(bob, market(PERP, "buy", "0.2")),
        exchange.preview_order(bob, limit(PERP, "buy", "0.1", "66000.00")),
        exchange.preview_order(bob, limit(PERP, "buy", "0.1", "67000.00", post_only=True)),
    ]

    assert [p.approved for p in previews] == [True, True, True, False]
    assert footprint(exchange) == before
    assert exchange.margin(bob) == margin_before
    assert exchange.position(bob, PERP) is None
    assert exchange.fills(bob) == []
    assert exchange.check_invariants() == []
