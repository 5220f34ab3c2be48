"""A funding-rate override: the next settlement of one perpetual pays the given rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim.engine.core.events import FundingSettled
from ocx_sim.engine.core.ledger import EntryType
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import OcxError
from ocx_sim.testing.builders import UserFactory, limit

D = Decimal
PERP = "BTC-PERP"


def _open(exchange: Exchange, long: str, short: str) -> None:
    exchange.place_order(short, limit(PERP, "sell", "0.5", "68000"))
    exchange.place_order(long, limit(PERP, "buy", "0.5", "68000"))


def _funding(exchange: Exchange, user: str) -> list[Decimal]:
    return [e.amount for e in exchange.ledger_entries(user) if e.type == EntryType.FUNDING]


def test_an_overridden_settlement_pays_the_given_rate_instead_of_the_premium(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _open(exchange, alice, bob)
    exchange.sim.set_next_funding_rate(PERP, D("0.002"))

    assert exchange.funding_rate(PERP) == D("0.002")  # what the stats show for the period
    exchange.advance_by(300_000)

    # A still market has no premium; the override makes the long pay 0.5 × 68000 × 0.002.
    assert exchange.events_of(FundingSettled)[-1].rate == D("0.002")
    assert _funding(exchange, alice) == [D("-68")]
    assert _funding(exchange, bob) == [D("68")]


def test_the_override_covers_one_settlement_and_the_next_period_is_computed_again(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _open(exchange, alice, bob)
    exchange.sim.set_next_funding_rate(PERP, D("-0.0025"))

    exchange.advance_by(600_000)

    assert [e.rate for e in exchange.events_of(FundingSettled)] == [D("-0.0025")]
    assert _funding(exchange, alice) == [D("85")]  # the shorts paid the longs, once
    assert exchange.funding_rate(PERP) == 0


def test_an_override_takes_the_ten_decimals_a_computed_rate_has(
    exchange: Exchange, make_user: UserFactory
) -> None:
    alice, bob = make_user(perps="10000"), make_user(perps="10000")
    _open(exchange, alice, bob)
    exchange.sim.set_next_funding_rate(PERP, D("0.0000104167"))  # 0.1 % over 8 hours

    exchange.advance_by(300_000)

    # 0.5 × 68000 × 0.0000104167 = 0.3541678
    assert exchange.events_of(FundingSettled)[-1].rate == D("0.0000104167")
    assert _funding(exchange, alice) == [D("-0.354168")]


@pytest.mark.parametrize(
    ("market", "rate", "field"),
    [
        (PERP, "0.00251", "rate"),
        (PERP, "-0.003", "rate"),
        (PERP, "0.00000000001", "rate"),
        ("BTC-USDC-SPOT", "0.001", "market"),
    ],
)
def test_a_rate_beyond_the_cap_or_off_10_decimals_or_a_market_without_funding_is_refused(
    exchange: Exchange, market: str, rate: str, field: str
) -> None:
    with pytest.raises(OcxError) as refused:
        exchange.sim.set_next_funding_rate(market, D(rate))

    assert refused.value.code == "VALIDATION_ERROR"
    assert refused.value.details == {"field": field}
    assert exchange.funding_rate(PERP) == 0
