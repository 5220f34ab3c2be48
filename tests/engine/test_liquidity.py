"""Liquidity agents: a ladder around the fair value, moved rung by rung as the index walks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import ErrorCode, Exchange, OcxError, Side
from ocx_sim.engine.core.orders import Order
from ocx_sim.engine.reactions.liquidity import LiquiditySpec
from ocx_sim.engine.sim import LIQUIDITY_ADDRESS
from ocx_sim.testing.builders import UserFactory, market

D = Decimal
PERP = "BTC-PERP"
REFRESH_MS = 10_000


def _ladder(exchange: Exchange) -> list[Order]:
    agent = exchange.find_user(LIQUIDITY_ADDRESS)
    assert agent is not None
    return sorted(exchange.open_orders(agent.user_id), key=lambda o: o.price or D(0))


def _prices(orders: list[Order]) -> dict[str, list[Decimal | None]]:
    return {
        "bids": [o.price for o in reversed(orders) if o.side is Side.BUY],
        "asks": [o.price for o in orders if o.side is Side.SELL],
    }


@pytest.fixture
def quoting(exchange: Exchange) -> Exchange:
    """An agent on BTC-PERP (index 68000.00): 3 levels of 0.01, 10 bps spread, 5 bps steps.
    Half the spread and a step are both 68000 × 5 bps = 34.00."""
    exchange.sim.add_liquidity(LiquiditySpec(PERP, D("0.01")))
    return exchange


def test_the_ladder_stands_around_the_index_a_half_spread_out_and_a_step_apart(
    quoting: Exchange,
) -> None:
    assert _prices(_ladder(quoting)) == {
        "bids": [D("67966.00"), D("67932.00"), D("67898.00")],
        "asks": [D("68034.00"), D("68068.00"), D("68102.00")],
    }
    assert all(o.quantity == D("0.01") for o in _ladder(quoting))


def test_less_than_a_step_leaves_the_ladder_alone(quoting: Exchange) -> None:
    before = [o.id for o in _ladder(quoting)]
    quoting.sim.set_index(PERP, D("68020"))  # 20 < 34
    quoting.advance_by(REFRESH_MS)
    assert [o.id for o in _ladder(quoting)] == before


def test_a_whole_step_moves_the_ladder_by_replacing_only_the_rungs_that_fall_off(
    quoting: Exchange,
) -> None:
    before = {o.price: o.id for o in _ladder(quoting)}
    quoting.sim.set_index(PERP, D("68040"))  # one whole step of 34 (and 6 over)
    quoting.advance_by(REFRESH_MS)
    after = _ladder(quoting)
    # The centre moves one step to 68034.00: every rung is one step higher.
    assert _prices(after) == {
        "bids": [D("68000.00"), D("67966.00"), D("67932.00")],
        "asks": [D("68068.00"), D("68102.00"), D("68136.00")],
    }
    kept = [o for o in after if before.get(o.price) == o.id]
    assert sorted(o.price for o in kept) == [  # type: ignore[type-var]
        D("67932.00"),
        D("67966.00"),
        D("68068.00"),
        D("68102.00"),
    ]


def test_a_taken_rung_is_quoted_again(quoting: Exchange, make_user: UserFactory) -> None:
    taker = make_user(perps="10000")
    quoting.place_order(taker, market(PERP, "buy", "0.01"))
    assert D("68034.00") not in _prices(_ladder(quoting))["asks"]
    quoting.advance_by(REFRESH_MS)
    assert _prices(_ladder(quoting))["asks"] == [D("68034.00"), D("68068.00"), D("68102.00")]


def test_a_rung_taken_in_part_is_replaced_by_a_whole_one_on_the_next_refresh(
    quoting: Exchange, make_user: UserFactory
) -> None:
    taker = make_user(perps="10000")
    quoting.place_order(taker, market(PERP, "buy", "0.004"))
    [partly] = [o for o in _ladder(quoting) if o.price == D("68034.00")]
    assert partly.status.value == "partially_filled"

    quoting.advance_by(REFRESH_MS)

    ladder = _ladder(quoting)
    assert _prices(ladder)["asks"] == [D("68034.00"), D("68068.00"), D("68102.00")]
    assert all(o.quantity == D("0.01") and o.status.value == "open" for o in ladder)
    assert partly.status.value == "cancelled"  # replaced, not left on the book


def test_a_large_move_quotes_afresh_with_the_step_of_the_new_price(quoting: Exchange) -> None:
    quoting.sim.set_index(PERP, D("78200"))  # +15 %: the old 34.00 step would be 4.3 bps
    quoting.advance_by(REFRESH_MS)
    # 78200 × 5 bps = 39.10, bids rounded down and asks up onto the 0.01 tick.
    assert _prices(_ladder(quoting)) == {
        "bids": [D("78160.90"), D("78121.80"), D("78082.70")],
        "asks": [D("78239.10"), D("78278.20"), D("78317.30")],
    }


def test_without_an_index_the_agent_waits_and_then_quotes_again(quoting: Exchange) -> None:
    before = [o.id for o in _ladder(quoting)]
    quoting.sim.set_index(PERP, None)
    quoting.advance_by(3 * REFRESH_MS)
    assert [o.id for o in _ladder(quoting)] == before  # nothing to move it to
    quoting.sim.set_index(PERP, D("69000"))
    quoting.advance_by(REFRESH_MS)
    assert _prices(_ladder(quoting))["bids"][0] == D("68965.50")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (LiquiditySpec(PERP, D("0.01"), levels=0), "levels"),
        (LiquiditySpec(PERP, D("0.01"), refresh_ms=0), "refreshMs"),
        (LiquiditySpec(PERP, D("0.000001")), "quantity"),
    ],
)
def test_an_agent_that_cannot_quote_is_refused(
    exchange: Exchange, spec: LiquiditySpec, field: str
) -> None:
    with pytest.raises(OcxError) as refused:
        exchange.sim.add_liquidity(spec)
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert field in str(refused.value)
