"""Positions (signed size, cost basis, realized PnL), addresses and user registration."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim import ErrorCode, Exchange, OcxError
from ocx_sim.engine.core.accounts import Position, checksum_address
from ocx_sim.engine.core.events import UserRegistered
from ocx_sim.engine.core.ledger import CLEARING, EntryType
from ocx_sim.engine.core.orders import MarginMode
from ocx_sim.testing.builders import UserFactory, limit, market

D = Decimal
T0 = 1_767_312_000_000


def new_position() -> Position:
    return Position("BTC-PERP", MarginMode.CROSS, T0)


# -- longs -----------------------------------------------------------------------------------


def test_opening_a_long_sets_size_cost_and_entry_with_no_realized_pnl() -> None:
    position = new_position()

    realized = position.apply(D("0.5"), D("68000.00"), T0 + 1)

    assert realized == 0
    assert position.size == D("0.5")
    assert position.cost == D("34000.000")  # 0.5 × 68000
    assert position.entry_price == D("68000")
    assert position.realized_pnl == 0
    assert position.opened_at == T0 + 1
    assert position.updated_at == T0 + 1


def test_adding_to_a_long_averages_the_entry_price() -> None:
    position = new_position()
    position.apply(D("1"), D("68000"), T0)

    realized = position.apply(D("3"), D("70000"), T0 + 1)

    # cost = 68000 + 3 × 70000 = 278000; entry = 278000 / 4 = 69500
    assert realized == 0
    assert position.size == D(4)
    assert position.cost == D(278000)
    assert position.entry_price == D(69500)
    assert position.opened_at == T0  # adding does not reopen


def test_partially_closing_a_long_realizes_closed_quantity_times_exit_minus_entry() -> None:
    position = new_position()
    position.apply(D("1"), D("68000"), T0)
    position.apply(D("3"), D("70000"), T0)  # 4 @ 69500

    realized = position.apply(D("-1.5"), D("71000"), T0 + 1)

    # 1.5 × (71000 − 69500) = 2250; the rest keeps its entry
    assert realized == D(2250)
    assert position.size == D("2.5")
    assert position.cost == D(173750)  # 2.5 × 69500
    assert position.entry_price == D(69500)
    assert position.realized_pnl == D(2250)


def test_partially_closing_a_long_at_a_loss_realizes_a_negative_pnl() -> None:
    position = new_position()
    position.apply(D("2"), D("68000"), T0)

    realized = position.apply(D("-0.5"), D("67000"), T0 + 1)

    # 0.5 × (67000 − 68000) = −500
    assert realized == D(-500)
    assert position.size == D("1.5")
    assert position.cost == D(102000)
    assert position.entry_price == D(68000)


def test_fully_closing_a_long_realizes_everything_and_leaves_nothing() -> None:
    position = new_position()
    position.apply(D("0.1"), D("68000.00"), T0)
    position.apply(D("0.2"), D("68300.00"), T0)  # 0.3 @ 68200

    realized = position.apply(D("-0.3"), D("68100.50"), T0 + 1)

    # cost 6800 + 13660 = 20460; 0.3 × 68100.50 − 20460 = 20430.15 − 20460 = −29.85
    assert realized == D("-29.85")
    assert position.size == 0
    assert position.cost == 0
    assert position.entry_price == 0
    assert position.realized_pnl == D("-29.85")


def test_a_sell_larger_than_a_long_flips_it_short_in_one_fill() -> None:
    position = new_position()
    position.apply(D("1"), D("68000"), T0)

    realized = position.apply(D("-3"), D("69000"), T0 + 7)

    # closes 1 long: 1 × (69000 − 68000) = 1000; opens 2 short at 69000
    assert realized == D(1000)
    assert position.size == D(-2)
    assert position.cost == D(-138000)
    assert position.entry_price == D(69000)
    assert position.opened_at == T0 + 7
    assert position.realized_pnl == D(1000)


# -- shorts ----------------------------------------------------------------------------------


def test_opening_a_short_keeps_a_negative_size_and_cost() -> None:
    position = new_position()

    realized = position.apply(D("-0.25"), D("68000.00"), T0)

    assert realized == 0
    assert position.size == D("-0.25")
    assert position.cost == D(-17000)
    assert position.entry_price == D(68000)


def test_adding_to_a_short_averages_the_entry_price() -> None:
    position = new_position()
    position.apply(D("-1"), D("68000"), T0)

    position.apply(D("-1"), D("67000"), T0)

    assert position.size == D(-2)
    assert position.cost == D(-135000)
    assert position.entry_price == D(67500)


def test_partially_closing_a_short_realizes_closed_quantity_times_entry_minus_exit() -> None:
    position = new_position()
    position.apply(D("-2"), D("67500"), T0)

    realized = position.apply(D("0.5"), D("66500"), T0 + 1)

    # a short profits when price falls: 0.5 × (67500 − 66500) = 500
    assert realized == D(500)
    assert position.size == D("-1.5")
    assert position.cost == D("-101250")
    assert position.entry_price == D(67500)


def test_closing_a_short_above_entry_realizes_a_loss() -> None:
    position = new_position()
    position.apply(D("-1"), D("68000"), T0)

    realized = position.apply(D("1"), D("68750.25"), T0 + 1)

    assert realized == D("-750.25")
    assert position.size == 0
    assert position.cost == 0


def test_a_buy_larger_than_a_short_flips_it_long_in_one_fill() -> None:
    position = new_position()
    position.apply(D("-0.4"), D("70000"), T0)

    realized = position.apply(D("1"), D("69000"), T0 + 3)

    # closes 0.4 short: 0.4 × (70000 − 69000) = 400; opens 0.6 long at 69000
    assert realized == D(400)
    assert position.size == D("0.6")
    assert position.cost == D(41400)
    assert position.entry_price == D(69000)
    assert position.opened_at == T0 + 3


def test_realized_pnl_accumulates_over_several_closes() -> None:
    position = new_position()
    position.apply(D("3"), D("68000"), T0)

    first = position.apply(D("-1"), D("69000"), T0)  # +1000
    second = position.apply(D("-1"), D("67500"), T0)  # −500

    assert (first, second) == (D(1000), D(-500))
    assert position.realized_pnl == D(500)
    assert position.size == D(1)
    assert position.cost == D(68000)


# -- addresses and users ---------------------------------------------------------------------

EIP55 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
"""An EIP-55 test vector from the EIP itself."""


@pytest.mark.parametrize(
    "given",
    [EIP55, EIP55.lower(), "0x" + EIP55[2:].upper(), "0x5AAEB6053f3e94c9b9a09f33669435e7ef1beaed"],
)
def test_checksum_address_normalizes_any_case_to_eip55(given: str) -> None:
    assert checksum_address(given) == EIP55


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0x",
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # no 0x
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",  # 39 hex digits
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0",  # 41 hex digits
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",  # not hex
        " 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "alice.eth",
    ],
)
def test_checksum_address_refuses_malformed_input_naming_wallet_address(bad: str) -> None:
    with pytest.raises(OcxError) as refused:
        checksum_address(bad)

    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.status == 400
    assert refused.value.details["field"] == "walletAddress"


def test_checksum_address_refuses_a_non_string() -> None:
    with pytest.raises(OcxError) as refused:
        checksum_address(12345)  # type: ignore[arg-type]

    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.status == 400
    assert refused.value.details["field"] == "walletAddress"


def test_checksum_address_names_the_field_it_is_given() -> None:
    with pytest.raises(OcxError) as refused:
        checksum_address("0x1234", "address")

    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.details["field"] == "address"


def test_register_user_is_idempotent_per_address_in_any_case(exchange: Exchange) -> None:
    first = exchange.register_user(EIP55.lower())
    events_after_first = len(exchange.events)

    again = [
        exchange.register_user(EIP55),
        exchange.register_user("0x" + EIP55[2:].upper()),
        exchange.register_user(EIP55.lower()),
    ]

    assert all(user is first for user in again)
    assert first.wallet_address == EIP55
    assert len(exchange.users) == 1
    assert len(exchange.events) == events_after_first
    registered = [e for e in exchange.events if isinstance(e, UserRegistered)]
    assert [(e.user_id, e.wallet_address) for e in registered] == [(first.user_id, EIP55)]
    assert exchange.find_user(EIP55.lower()) is first
    assert exchange.user(first.user_id) is first


def test_register_user_gives_distinct_addresses_distinct_ulids(exchange: Exchange) -> None:
    a = exchange.register_user("0x" + "a1" * 20)
    b = exchange.register_user("0x" + "b2" * 20)

    assert a.user_id != b.user_id
    assert len(a.user_id) == len(b.user_id) == 26
    assert exchange.find_user("0x" + "c3" * 20) is None


def test_register_user_refuses_a_malformed_address_and_creates_nobody(exchange: Exchange) -> None:
    with pytest.raises(OcxError) as refused:
        exchange.register_user("0xnot-an-address")

    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.status == 400
    assert refused.value.details["field"] == "walletAddress"
    assert exchange.users == []
    assert len(exchange.events) == 0


# -- positions through the exchange ----------------------------------------------------------


def test_closing_through_the_exchange_pays_realized_pnl_between_the_two_sides(
    exchange: Exchange, make_user: UserFactory
) -> None:
    a, b = make_user(perps="5000"), make_user(perps="5000")
    exchange.place_order(a, limit("BTC-PERP", "buy", "0.1", "68000.00"))
    exchange.place_order(b, market("BTC-PERP", "sell", "0.1"))
    exchange.place_order(a, limit("BTC-PERP", "sell", "0.1", "69000.00"))

    exchange.place_order(b, market("BTC-PERP", "buy", "0.1"))

    # a: +0.1 × (69000 − 68000) = +100, fees 1.36 + 1.38 (maker 2 bps of 6800, 6900)
    # b: −100, fees 3.40 + 3.45 (taker 5 bps)
    assert exchange.balances(a).perps == D("5097.26")
    assert exchange.balances(b).perps == D("4893.15")
    assert exchange.position(a, "BTC-PERP") is None
    assert exchange.position(b, "BTC-PERP") is None
    assert exchange.user(a).positions[("BTC-PERP", MarginMode.CROSS)].realized_pnl == D(100)
    (pnl_a,) = [e for e in exchange.ledger_entries(a) if e.type == EntryType.REALIZED_PNL]
    (pnl_b,) = [e for e in exchange.ledger_entries(b) if e.type == EntryType.REALIZED_PNL]
    assert (pnl_a.bucket, pnl_a.amount) == ("perps", D(100))
    assert (pnl_b.bucket, pnl_b.amount) == ("perps", D(-100))
    assert exchange.ledger.balance(CLEARING) == 0
    assert exchange.check_invariants() == []


def test_realized_pnl_comes_out_of_clearing_when_only_one_side_closes(
    exchange: Exchange, make_user: UserFactory
) -> None:
    a, b, c = make_user(perps="5000"), make_user(perps="5000"), make_user(perps="5000")
    exchange.place_order(a, limit("BTC-PERP", "buy", "0.1", "68000.00"))
    exchange.place_order(b, market("BTC-PERP", "sell", "0.1"))  # a long, b short at 68000
    exchange.place_order(a, limit("BTC-PERP", "sell", "0.1", "69000.00"))

    exchange.place_order(c, market("BTC-PERP", "buy", "0.1"))  # a closes, c opens long

    # a realizes +100 from clearing; clearing = −(b's cost −6800 + c's cost 6900) = −100
    assert exchange.ledger.balance(CLEARING) == D(-100)
    assert exchange.position(a, "BTC-PERP") is None
    b_view, c_view = exchange.position(b, "BTC-PERP"), exchange.position(c, "BTC-PERP")
    assert b_view is not None and (b_view.size, b_view.entry_price) == (D("-0.1"), D(68000))
    assert c_view is not None and (c_view.size, c_view.entry_price) == (D("0.1"), D(69000))
    assert exchange.check_invariants() == []
