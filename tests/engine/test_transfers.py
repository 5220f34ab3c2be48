"""Transfers between a user's buckets and deposits into the wallet bucket."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ocx_sim import Bucket, ErrorCode, Exchange, OcxError
from ocx_sim.engine.core.events import FundsDeposited, FundsTransferred
from ocx_sim.engine.core.ledger import EXTERNAL, EntryType
from ocx_sim.testing.builders import UserFactory, limit, refused

D = Decimal


# -- transfer --------------------------------------------------------------------------------


def test_a_transfer_moves_usdc_from_wallet_to_perps_and_back(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(wallet="1000")

    after = exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, D("250.5"))

    assert (after.wallet, after.perps, after.options, after.spot) == (
        D("749.5"),
        D("250.5"),
        D(0),
        D(0),
    )
    assert exchange.balances(user) == after
    back = exchange.transfer(user, Bucket.PERPS, Bucket.WALLET, D("250.5"))
    assert (back.wallet, back.perps) == (D(1000), D(0))
    assert exchange.check_invariants() == []


def test_a_transfer_writes_transfer_out_then_transfer_in_in_one_movement(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(wallet="1000")

    exchange.transfer(user, Bucket.WALLET, Bucket.OPTIONS, D("0.123456"))

    newest, older = exchange.ledger_entries(user, limit=2)
    assert (older.bucket, older.amount, older.type) == (
        "wallet",
        D("-0.123456"),
        EntryType.TRANSFER_OUT,
    )
    assert (newest.bucket, newest.amount, newest.type) == (
        "options",
        D("0.123456"),
        EntryType.TRANSFER_IN,
    )
    assert older.movement == newest.movement
    assert older.tx_hash is None and newest.tx_hash is None
    event = list(exchange.events)[-1]
    assert isinstance(event, FundsTransferred)
    assert (event.user_id, event.amount) == (user, D("0.123456"))


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Bucket.WALLET, Bucket.SPOT),
        (Bucket.SPOT, Bucket.OPTIONS),
        (Bucket.OPTIONS, Bucket.PERPS),
        (Bucket.PERPS, Bucket.SPOT),
    ],
)
def test_a_transfer_works_between_any_two_distinct_buckets(
    exchange: Exchange, make_user: UserFactory, source: Bucket, target: Bucket
) -> None:
    user = make_user(wallet="100", perps="100", options="100", spot="100")

    after = exchange.transfer(user, source, target, D("40"))

    assert getattr(after, source.value) == D(60)
    assert getattr(after, target.value) == D(140)
    assert sum((after.wallet, after.perps, after.options, after.spot), D(0)) == D(400)


@pytest.mark.parametrize("amount", ["0", "-1", "-0.000001", "0.000000"])
def test_a_transfer_of_zero_or_less_is_refused_naming_amount(
    exchange: Exchange, make_user: UserFactory, amount: str
) -> None:
    user = make_user(wallet="100")
    err = refused(exchange, lambda: exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, D(amount)))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == "amount"


@pytest.mark.parametrize("amount", ["0.0000001", "1.1234567", "10.0000005"])
def test_a_transfer_with_more_than_six_decimals_is_refused(
    exchange: Exchange, make_user: UserFactory, amount: str
) -> None:
    user = make_user(wallet="100")
    err = refused(exchange, lambda: exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, D(amount)))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == "amount"


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_a_transfer_of_a_non_finite_amount_is_refused_naming_amount(
    exchange: Exchange, make_user: UserFactory, amount: str
) -> None:
    user = make_user(wallet="100")
    err = refused(exchange, lambda: exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, D(amount)))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == "amount"


def test_six_decimals_with_trailing_zeros_are_accepted(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(wallet="100")

    after = exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, D("1.100000000"))

    assert after.perps == D("1.1")


@pytest.mark.parametrize("bucket", list(Bucket))
def test_a_transfer_to_the_same_bucket_is_refused_naming_to(
    exchange: Exchange, make_user: UserFactory, bucket: Bucket
) -> None:
    user = make_user(wallet="100", perps="100", options="100", spot="100")
    err = refused(exchange, lambda: exchange.transfer(user, bucket, bucket, D("10")))

    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.status == 400
    assert err.details["field"] == "to"


@pytest.mark.parametrize(
    ("source", "held"),
    [(Bucket.WALLET, "100"), (Bucket.PERPS, "50"), (Bucket.OPTIONS, "25"), (Bucket.SPOT, "10")],
)
def test_a_transfer_of_more_than_the_source_holds_is_refused_and_changes_nothing(
    exchange: Exchange, make_user: UserFactory, source: Bucket, held: str
) -> None:
    user = make_user(wallet="100", perps="50", options="25", spot="10")
    target = Bucket.PERPS if source is Bucket.WALLET else Bucket.WALLET
    err = refused(
        exchange, lambda: exchange.transfer(user, source, target, D(held) + D("0.000001"))
    )

    assert err.code is ErrorCode.INSUFFICIENT_BALANCE
    assert err.status == 400
    # all of it is fine
    after = exchange.transfer(user, source, target, D(held))
    assert getattr(after, source.value) == 0


def test_a_transfer_from_an_empty_bucket_is_refused(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(wallet="100")

    with pytest.raises(OcxError) as refused:
        exchange.transfer(user, Bucket.OPTIONS, Bucket.WALLET, D("0.01"))

    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert refused.value.status == 400


def test_a_transfer_for_an_unknown_user_is_not_found(exchange: Exchange) -> None:
    with pytest.raises(OcxError) as refused:
        exchange.transfer("01NOBODY", Bucket.WALLET, Bucket.PERPS, D("1"))

    assert refused.value.code is ErrorCode.NOT_FOUND
    assert refused.value.status == 404


def test_spot_usdc_locked_by_a_bid_cannot_be_transferred_out(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(spot="1000")
    order = exchange.place_order(user, limit("BTC-USDC-SPOT", "buy", "0.01", "68000.00")).order
    # the bid locks its cost plus the dearest taker fee: 680 × 1.0005 = 680.34
    (usdc_row,) = exchange.spot_assets(user)
    assert (usdc_row.available, usdc_row.locked) == (D("319.66"), D("680.34"))
    err = refused(
        exchange, lambda: exchange.transfer(user, Bucket.SPOT, Bucket.WALLET, D("319.660001"))
    )

    assert err.code is ErrorCode.INSUFFICIENT_BALANCE
    assert err.status == 400
    exchange.transfer(user, Bucket.SPOT, Bucket.WALLET, D("319.66"))
    assert exchange.balances(user).spot == D("680.34")
    # cancelling the bid frees the rest
    exchange.cancel_order(user, order.id)
    exchange.transfer(user, Bucket.SPOT, Bucket.WALLET, D("680.34"))
    assert exchange.balances(user).spot == 0
    assert exchange.balances(user).wallet == D(1000)


# -- deposit ---------------------------------------------------------------------------------


def test_a_deposit_credits_the_wallet_with_a_deposit_entry_and_its_tx_hash(
    exchange: Exchange,
) -> None:
    user = exchange.register_user("0x" + "a1" * 20).user_id
    tx = "0x" + "ab" * 32

    credited = exchange.sim.deposit(user, D("1500.25"), tx_hash=tx)

    assert credited is True
    assert exchange.balances(user).wallet == D("1500.25")
    (entry,) = exchange.ledger_entries(user)
    assert (entry.bucket, entry.asset, entry.amount, entry.type, entry.tx_hash) == (
        "wallet",
        "USDC",
        D("1500.25"),
        EntryType.DEPOSIT,
        tx,
    )
    counter = [e for e in exchange.ledger.entries if e.movement == entry.movement and e != entry]
    assert [(e.account, e.amount) for e in counter] == [(EXTERNAL, D("-1500.25"))]
    (event,) = [e for e in exchange.events if isinstance(e, FundsDeposited)]
    assert (event.user_id, event.amount, event.tx_hash) == (user, D("1500.25"), tx)


def test_the_same_tx_hash_is_credited_once(exchange: Exchange) -> None:
    user = exchange.register_user("0x" + "a1" * 20).user_id
    other = exchange.register_user("0x" + "b2" * 20).user_id
    tx = "0x" + "cd" * 32
    assert exchange.sim.deposit(user, D("100"), tx_hash=tx) is True
    entries, events = len(exchange.ledger.entries), len(exchange.events)

    assert exchange.sim.deposit(user, D("100"), tx_hash=tx) is False
    assert exchange.sim.deposit(other, D("999"), tx_hash=tx) is False

    assert exchange.balances(user).wallet == D(100)
    assert exchange.balances(other).wallet == 0
    assert (len(exchange.ledger.entries), len(exchange.events)) == (entries, events)


def test_deposits_without_a_tx_hash_are_each_credited_under_a_generated_one(
    exchange: Exchange,
) -> None:
    user = exchange.register_user("0x" + "a1" * 20).user_id

    assert exchange.sim.deposit(user, D("10")) is True
    assert exchange.sim.deposit(user, D("10")) is True

    assert exchange.balances(user).wallet == D(20)
    hashes = [e.tx_hash for e in exchange.ledger_entries(user)]
    assert len(set(hashes)) == 2
    assert all(h is not None and re.fullmatch(r"0x[0-9a-f]{64}", h) for h in hashes)


@pytest.mark.parametrize("amount", ["0", "-5", "0.0000001", "NaN", "Infinity"])
def test_a_deposit_of_a_bad_amount_is_refused_naming_amount(
    exchange: Exchange, amount: str
) -> None:
    user = exchange.register_user("0x" + "a1" * 20).user_id
    tx = "0x" + "ef" * 32

    with pytest.raises(OcxError) as refused:
        exchange.sim.deposit(user, D(amount), tx_hash=tx)

    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.status == 400
    assert refused.value.details["field"] == "amount"
    assert exchange.ledger_entries(user) == []
    # a refused deposit does not burn its txHash
    assert exchange.sim.deposit(user, D("1"), tx_hash=tx) is True


def test_the_external_account_holds_minus_all_deposits(
    exchange: Exchange, make_user: UserFactory
) -> None:
    make_user(wallet="100", perps="50")
    make_user(spot="0.000001")
    third = exchange.register_user("0x" + "fe" * 20).user_id
    exchange.sim.deposit(third, D("1234.5678"), tx_hash="0x01")
    exchange.sim.deposit(third, D("1234.5678"), tx_hash="0x01")  # not credited again

    # 150 + 0.000001 + 1234.5678
    assert exchange.ledger.balance(EXTERNAL) == D("-1384.567801")
    assert exchange.ledger.totals() == {"USDC": 0}
    assert exchange.check_invariants() == []
