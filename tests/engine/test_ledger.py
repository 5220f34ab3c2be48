"""The double-entry ledger: movements, signs, balances, totals and the invariant check."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocx_sim.engine.core.ledger import (
    SYSTEM,
    AccountKey,
    EntryType,
    Ledger,
    SystemBucket,
    system_account,
)
from ocx_sim.ids import Ids, is_ulid

D = Decimal
T0 = 1_767_312_000_000
EXTERNAL = system_account(SystemBucket.EXTERNAL)
FEES = system_account(SystemBucket.FEES)
ALICE_WALLET: AccountKey = ("alice", "wallet", "USDC")
ALICE_PERPS: AccountKey = ("alice", "perps", "USDC")
BOB_WALLET: AccountKey = ("bob", "wallet", "USDC")
ALICE_SPOT_BTC: AccountKey = ("alice", "spot", "BTC")


def new_ledger() -> Ledger:
    """A ledger drawing its entry ids from the engine's own seeded id source."""
    return Ledger(Ids(1, lambda: T0).counted_tails("ledger"))


def test_a_movement_writes_two_entries_summing_to_zero_signed_from_each_owners_view() -> None:
    ledger = new_ledger()

    ledger.move(T0, EXTERNAL, ALICE_WALLET, D("1000.50"), EntryType.DEPOSIT, tx_hash="0xabc")

    source, target = ledger.entries
    assert (source.owner, source.bucket, source.asset) == (SYSTEM, "external", "USDC")
    assert source.amount == D("-1000.50")
    assert (target.owner, target.bucket, target.asset) == ("alice", "wallet", "USDC")
    assert target.amount == D("1000.50")
    assert source.amount + target.amount == 0
    assert source.movement == target.movement == 1
    assert source.type == target.type == EntryType.DEPOSIT
    assert source.tx_hash == target.tx_hash == "0xabc"
    assert source.created_at == target.created_at == T0
    assert is_ulid(source.id) and is_ulid(target.id)
    assert source.id < target.id  # ids sort in the order entries were written


def test_each_entry_carries_its_own_type_and_the_shared_ref() -> None:
    ledger = new_ledger()

    ledger.move(
        T0, ALICE_WALLET, ALICE_PERPS, D(5), EntryType.TRANSFER_OUT, EntryType.TRANSFER_IN, ref="t1"
    )

    out, into = ledger.entries
    assert (out.account, out.amount, out.type, out.ref) == (
        ALICE_WALLET,
        D(-5),
        EntryType.TRANSFER_OUT,
        "t1",
    )
    assert (into.account, into.amount, into.type, into.ref) == (
        ALICE_PERPS,
        D(5),
        EntryType.TRANSFER_IN,
        "t1",
    )
    assert out.tx_hash is None and into.tx_hash is None


def test_successive_movements_get_successive_numbers() -> None:
    ledger = new_ledger()

    ledger.move(T0, EXTERNAL, ALICE_WALLET, D(10), EntryType.DEPOSIT)
    ledger.move(T0, EXTERNAL, BOB_WALLET, D(20), EntryType.DEPOSIT)
    ledger.move(T0 + 1, ALICE_WALLET, BOB_WALLET, D(3), EntryType.TRANSFER_OUT)

    assert [e.movement for e in ledger.entries] == [1, 1, 2, 2, 3, 3]


def test_a_zero_amount_writes_nothing() -> None:
    ledger = new_ledger()

    ledger.move(T0, EXTERNAL, ALICE_WALLET, D("0.000000"), EntryType.DEPOSIT)

    assert ledger.entries == []
    assert ledger.balances == {}
    assert ledger.entries_of("alice") == []
    # The next real movement is still number 1: a zero move consumed nothing.
    ledger.move(T0, EXTERNAL, ALICE_WALLET, D(1), EntryType.DEPOSIT)
    assert ledger.entries[0].movement == 1


def test_a_negative_amount_moves_the_other_way() -> None:
    ledger = new_ledger()
    ledger.move(T0, EXTERNAL, ALICE_PERPS, D(100), EntryType.DEPOSIT)

    # A maker rebate: a negative fee moves money from the fee account to the user.
    ledger.move(T0, ALICE_PERPS, FEES, D("-0.34"), EntryType.TRADE_FEE)

    assert ledger.balance(ALICE_PERPS) == D("100.34")
    assert ledger.balance(FEES) == D("-0.34")
    assert [e.amount for e in ledger.entries[2:]] == [D("0.34"), D("-0.34")]


def test_a_movement_between_two_assets_is_refused_and_writes_nothing() -> None:
    ledger = new_ledger()

    with pytest.raises(ValueError, match="one asset"):
        ledger.move(T0, ALICE_WALLET, ALICE_SPOT_BTC, D(1), EntryType.SPOT_TRADE)

    assert ledger.entries == []
    assert ledger.balances == {}


def test_balances_follow_the_entries() -> None:
    ledger = new_ledger()

    ledger.move(T0, EXTERNAL, ALICE_WALLET, D("1000"), EntryType.DEPOSIT)
    ledger.move(T0, EXTERNAL, BOB_WALLET, D("250.25"), EntryType.DEPOSIT)
    ledger.move(
        T0, ALICE_WALLET, ALICE_PERPS, D("400"), EntryType.TRANSFER_OUT, EntryType.TRANSFER_IN
    )
    ledger.move(T0, ALICE_PERPS, FEES, D("1.36"), EntryType.TRADE_FEE)
    ledger.move(T0, BOB_WALLET, EXTERNAL, D("50.25"), EntryType.WITHDRAW)

    assert ledger.balance(ALICE_WALLET) == D("600")
    assert ledger.balance(ALICE_PERPS) == D("398.64")
    assert ledger.balance(BOB_WALLET) == D("200.00")
    assert ledger.balance(FEES) == D("1.36")
    assert ledger.balance(EXTERNAL) == D("-1200.00")
    assert ledger.balance(("carol", "wallet", "USDC")) == 0
    for account, balance in ledger.balances.items():
        assert balance == sum(e.amount for e in ledger.entries if e.account == account)


def test_totals_are_zero_in_every_asset() -> None:
    ledger = new_ledger()
    btc_external = system_account(SystemBucket.EXTERNAL, "BTC")

    ledger.move(T0, EXTERNAL, ALICE_WALLET, D("1000"), EntryType.DEPOSIT)
    ledger.move(T0, btc_external, ALICE_SPOT_BTC, D("0.5"), EntryType.DEPOSIT)
    ledger.move(T0, ALICE_SPOT_BTC, ("bob", "spot", "BTC"), D("0.1234"), EntryType.SPOT_TRADE)
    ledger.move(T0, ALICE_WALLET, FEES, D("0.000001"), EntryType.TRADE_FEE)

    assert ledger.totals() == {"USDC": 0, "BTC": 0}
    assert ledger.check_invariants() == []


def test_check_invariants_finds_a_tampered_balance() -> None:
    ledger = new_ledger()
    ledger.move(T0, EXTERNAL, ALICE_WALLET, D("1000"), EntryType.DEPOSIT)
    assert ledger.check_invariants() == []

    ledger.balances[ALICE_WALLET] += D("0.01")

    problems = ledger.check_invariants()
    assert "USDC balances sum to 0.01, not zero" in problems
    assert any(str(ALICE_WALLET) in p and "its entries sum to 1000" in p for p in problems)
    assert len(problems) == 2


def test_check_invariants_finds_a_movement_that_does_not_balance() -> None:
    ledger = new_ledger()
    ledger.move(T0, EXTERNAL, ALICE_WALLET, D("1000"), EntryType.DEPOSIT)

    # Forge the credit side of the movement: its balance still agrees, the movement does not.
    # `entries` is built afresh on each read; the ledger keeps its rows as plain tuples.
    ledger._rows[1] = tuple(ledger.entries[1]._replace(amount=D("1001")))  # type: ignore[assignment]
    ledger.balances[ALICE_WALLET] = D("1001")

    problems = ledger.check_invariants()
    assert "movement 1 does not balance in USDC: 1" in problems
    assert "USDC balances sum to 1, not zero" in problems


def test_entries_of_lists_one_owners_entries_oldest_first() -> None:
    ledger = new_ledger()
    ledger.move(T0, EXTERNAL, ALICE_WALLET, D("100"), EntryType.DEPOSIT)
    ledger.move(T0, EXTERNAL, BOB_WALLET, D("200"), EntryType.DEPOSIT)
    ledger.move(
        T0 + 5, ALICE_WALLET, ALICE_PERPS, D("40"), EntryType.TRANSFER_OUT, EntryType.TRANSFER_IN
    )
    ledger.move(T0 + 9, ALICE_WALLET, BOB_WALLET, D("1"), EntryType.SPOT_TRADE)

    alice = ledger.entries_of("alice")
    bob = ledger.entries_of("bob")
    system = ledger.entries_of(SYSTEM)

    assert [(e.bucket, e.amount) for e in alice] == [
        ("wallet", D(100)),
        ("wallet", D(-40)),
        ("perps", D(40)),
        ("wallet", D(-1)),
    ]
    assert [(e.bucket, e.amount) for e in bob] == [("wallet", D(200)), ("wallet", D(1))]
    assert [e.amount for e in system] == [D(-100), D(-200)]
    assert ledger.entries_of("nobody") == []
    # A copy: the caller cannot rewrite history through it.
    alice.clear()
    assert len(ledger.entries_of("alice")) == 4


def test_a_posting_of_several_entries_is_one_movement_that_must_sum_to_zero() -> None:
    ledger = new_ledger()
    bob_perps: AccountKey = ("bob", "perps", "USDC")

    # both sides' fees and the fee account's income: three entries, one movement
    ledger.post(
        T0,
        [
            (ALICE_PERPS, D("-1.36"), EntryType.TRADE_FEE),
            (bob_perps, D("-3.40"), EntryType.TRADE_FEE),
            (FEES, D("4.76"), EntryType.TRADE_FEE),
        ],
        ref="trade-1",
    )

    assert [(e.account, e.amount) for e in ledger.entries] == [
        (ALICE_PERPS, D("-1.36")),
        (bob_perps, D("-3.40")),
        (FEES, D("4.76")),
    ]
    assert {e.movement for e in ledger.entries} == {1}
    assert {e.ref for e in ledger.entries} == {"trade-1"}
    assert ledger.check_invariants() == []


def test_a_posting_leaves_out_zero_amounts() -> None:
    ledger = new_ledger()

    ledger.post(
        T0,
        [
            (ALICE_PERPS, D("0.68"), EntryType.TRADE_FEE),
            (BOB_WALLET, D(0), EntryType.TRADE_FEE),
            (FEES, D("-0.68"), EntryType.TRADE_FEE),
        ],
    )

    assert [e.account for e in ledger.entries] == [ALICE_PERPS, FEES]


def test_a_posting_that_does_not_balance_or_mixes_assets_is_refused_and_writes_nothing() -> None:
    ledger = new_ledger()

    with pytest.raises(ValueError, match="sum to zero"):
        ledger.post(
            T0,
            [(ALICE_PERPS, D(1), EntryType.TRADE_FEE), (FEES, D("-0.99"), EntryType.TRADE_FEE)],
        )
    with pytest.raises(ValueError, match="one asset"):
        ledger.post(
            T0,
            [
                (ALICE_PERPS, D(1), EntryType.SPOT_TRADE),
                (ALICE_SPOT_BTC, D(-1), EntryType.SPOT_TRADE),
            ],
        )

    assert ledger.entries == []
    assert ledger.balances == {}


def test_a_movement_of_nothing_but_zeros_is_none_and_takes_no_number() -> None:
    ledger = new_ledger()
    zero = D(0)
    ledger.post(
        T0, [(ALICE_WALLET, zero, EntryType.TRADE_FEE), (BOB_WALLET, zero, EntryType.TRADE_FEE)]
    )
    ledger.move(T0, ALICE_WALLET, BOB_WALLET, D(5), EntryType.TRANSFER_OUT, EntryType.TRANSFER_IN)

    assert [entry.movement for entry in ledger.entries] == [1, 1]
