"""The withdrawal lifecycle (https://docs.ocx.global/concepts/balances; docs/fidelity.md
"Wallet"): the keeper on simulated-minute boundaries, the vault's liquidity and failed, refunded
payouts."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from ocx_sim import ErrorCode, Exchange
from ocx_sim.clock import format_ms, parse_iso
from ocx_sim.engine.core.events import (
    Event,
    SettlementChanged,
    VaultLiquiditySet,
    WithdrawalFailureArmed,
)
from ocx_sim.engine.core.ledger import EXTERNAL, EntryType, LedgerEntry
from ocx_sim.engine.core.settlements import Settlement, SettlementStatus
from ocx_sim.engine.reactions.keeper import KEEPER_TIMER
from ocx_sim.testing.builders import UserFactory, refused

D = Decimal
TX_HASH = re.compile(r"0x[0-9a-f]{64}")
Status = SettlementStatus


def at(exchange: Exchange, instant: str) -> list[Event]:
    """Advance to `instant` (ISO, on 2026-01-02 unless given whole) and answer the events."""
    return exchange.advance_to(parse_iso(instant if "T" in instant else f"2026-01-02T{instant}Z"))


def statuses(events: list[Event]) -> list[tuple[str, str, str]]:
    """(instant, settlement id, status) of each settlement change."""
    return [
        (format_ms(e.ts), e.settlement_id, e.status)
        for e in events
        if isinstance(e, SettlementChanged)
    ]


def status_of(record: Settlement) -> SettlementStatus:
    """The record's status now. A call, not the attribute, so that the type checker does not
    carry an earlier assert's narrowing across the clock advance that changed it."""
    return record.status


def refunds(exchange: Exchange, user_id: str) -> list[LedgerEntry]:
    """The user's `withdraw_refund` entries, oldest first."""
    entries = exchange.ledger_entries(user_id)
    return [e for e in reversed(entries) if e.type == EntryType.WITHDRAW_REFUND]


def keeper_timers(exchange: Exchange) -> list[str]:
    """When the keeper's timers are due (other parts of the engine keep timers of their own)."""
    return [format_ms(t.due_ms) for t in exchange.clock.pending_timers() if t.name == KEEPER_TIMER]


def withdrawal_timers(exchange: Exchange) -> list[str]:
    """The names of every timer the withdrawals keep: the keeper's and confirmations."""
    return [t.name for t in exchange.clock.pending_timers() if t.name.startswith("withdraw")]


def funded(exchange: Exchange, make_user: UserFactory, wallet: str = "1000") -> str:
    """A user with `wallet` USDC in the wallet bucket, at 12:00:30 (mid-minute)."""
    user = make_user(wallet=wallet)
    at(exchange, "12:00:30.000")
    return user


# -- the keeper's cadence ---------------------------------------------------------------------


def test_a_withdrawal_is_processing_at_the_next_minute_sent_at_the_one_after_confirmed_4s_later(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    record = exchange.withdraw(user, D("250"))

    assert statuses(at(exchange, "12:00:59.999")) == []
    assert statuses(at(exchange, "12:01:00.000")) == [
        ("2026-01-02T12:01:00.000Z", record.id, "processing")
    ]
    assert statuses(at(exchange, "12:01:59.999")) == []
    assert (record.status, record.tx_hash) == (Status.PROCESSING, None)

    assert statuses(at(exchange, "12:02:00.000")) == [
        ("2026-01-02T12:02:00.000Z", record.id, "sent")
    ]
    assert record.tx_hash is not None and TX_HASH.fullmatch(record.tx_hash)
    assert (record.confirmations, record.settled_at) == (0, None)

    at(exchange, "12:02:02.000")
    assert (record.status, record.confirmations) == (Status.SENT, 1)
    assert statuses(at(exchange, "12:02:04.000")) == [
        ("2026-01-02T12:02:04.000Z", record.id, "confirmed")
    ]
    assert (record.status, record.confirmations) == (Status.CONFIRMED, 2)
    assert record.settled_at == record.updated_at == parse_iso("2026-01-02T12:02:04Z")
    assert exchange.check_invariants() == []


def test_the_confirmed_record_keeps_its_txhash_and_the_sent_event_carries_it(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    record = exchange.withdraw(user, D("1"))

    events = at(exchange, "12:03:00.000")

    hashes = [(e.status, e.tx_hash) for e in events if isinstance(e, SettlementChanged)]
    assert hashes == [
        ("processing", None),
        ("sent", record.tx_hash),
        ("confirmed", record.tx_hash),
    ]


def test_a_withdrawal_made_on_a_minute_boundary_waits_for_the_next_one(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = make_user(wallet="100")
    at(exchange, "12:01:00.000")
    record = exchange.withdraw(user, D("10"))

    at(exchange, "12:01:59.999")
    assert status_of(record) is Status.PENDING
    at(exchange, "12:02:00.000")
    assert status_of(record) is Status.PROCESSING


def test_pending_withdrawal_total_counts_a_withdrawal_until_it_is_confirmed(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    exchange.withdraw(user, D("250"))
    exchange.withdraw(user, D("100.5"))

    def pending() -> Decimal:
        return exchange.wallet_summary(user).pending_withdrawal_total

    assert pending() == D("350.5")  # 250 + 100.5, both pending
    at(exchange, "12:01:00.000")
    assert pending() == D("350.5")  # processing
    at(exchange, "12:02:00.000")
    assert pending() == D("350.5")  # sent, unconfirmed
    at(exchange, "12:02:03.999")
    assert pending() == D("350.5")  # one confirmation
    at(exchange, "12:02:04.000")
    assert pending() == D(0)
    # 1000 - 250 - 100.5: the wallet bucket was debited at once and stays debited.
    assert exchange.balances(user).wallet == D("649.5")


def test_withdrawals_move_in_creation_order_and_the_keeper_takes_later_ones_a_step_behind(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    first = exchange.withdraw(user, D("10"))
    second = exchange.withdraw(user, D("20"))
    events = at(exchange, "12:01:30.000")
    third = exchange.withdraw(user, D("30"))

    events += at(exchange, "12:03:00.000")

    assert statuses(events) == [
        ("2026-01-02T12:01:00.000Z", first.id, "processing"),
        ("2026-01-02T12:01:00.000Z", second.id, "processing"),
        ("2026-01-02T12:02:00.000Z", first.id, "sent"),
        ("2026-01-02T12:02:00.000Z", second.id, "sent"),
        ("2026-01-02T12:02:00.000Z", third.id, "processing"),
        ("2026-01-02T12:02:04.000Z", first.id, "confirmed"),
        ("2026-01-02T12:02:04.000Z", second.id, "confirmed"),
        ("2026-01-02T12:03:00.000Z", third.id, "sent"),
    ]
    assert len({first.tx_hash, second.tx_hash, third.tx_hash}) == 3


def test_an_idle_world_has_no_keeper_timer_and_a_busy_one_has_exactly_one(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    assert withdrawal_timers(exchange) == []

    exchange.withdraw(user, D("10"))
    exchange.withdraw(user, D("20"))
    assert keeper_timers(exchange) == ["2026-01-02T12:01:00.000Z"]

    at(exchange, "12:01:00.000")
    assert keeper_timers(exchange) == ["2026-01-02T12:02:00.000Z"]
    exchange.withdraw(user, D("30"))
    assert keeper_timers(exchange) == ["2026-01-02T12:02:00.000Z"]

    # 12:02 sends the first two, 12:03 the third; each confirms 4 s after it is sent.
    at(exchange, "12:02:00.000")
    assert keeper_timers(exchange) == ["2026-01-02T12:03:00.000Z"]
    at(exchange, "12:03:00.000")
    assert keeper_timers(exchange) == []
    assert len(withdrawal_timers(exchange)) == 2  # the third's confirmations
    at(exchange, "12:03:04.000")
    assert withdrawal_timers(exchange) == []
    assert exchange.wallet_summary(user).pending_withdrawal_total == D(0)


def test_the_same_commands_give_the_same_txhashes_and_digest() -> None:
    def run() -> tuple[list[str | None], str]:
        exchange = Exchange.create(seed=5)
        user = exchange.register_user("0x" + "42" * 20).user_id
        exchange.sim.deposit(user, D("100"))
        records = [exchange.withdraw(user, D("10")), exchange.withdraw(user, D("20"))]
        exchange.advance_by(180_000)
        return [r.tx_hash for r in records], exchange.digest()

    assert run() == run()


# -- failures ---------------------------------------------------------------------------------


def test_an_armed_failure_fails_the_next_send_and_refunds_it_exactly_once(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    failing = exchange.withdraw(user, D("300"))
    following = exchange.withdraw(user, D("200"))
    assert exchange.sim.fail_next_withdrawal() == 1

    events = at(exchange, "12:02:00.000")

    assert statuses(events)[-2:] == [
        ("2026-01-02T12:02:00.000Z", failing.id, "failed"),
        ("2026-01-02T12:02:00.000Z", following.id, "sent"),
    ]
    assert (failing.tx_hash, failing.settled_at) == (None, None)
    [refund] = refunds(exchange, user)
    assert (refund.bucket, refund.amount, refund.ref, refund.created_at) == (
        "wallet",
        D("300"),
        failing.id,
        parse_iso("2026-01-02T12:02:00Z"),
    )
    [system_side] = [
        e
        for e in exchange.ledger.entries_of("system")
        if e.movement == refund.movement and e.account == EXTERNAL
    ]
    assert system_side.amount == D("-300")
    # 1000 - 300 - 200 + 300: the failed amount is back in the wallet bucket.
    assert exchange.balances(user).wallet == D("800")
    assert exchange.wallet_summary(user).pending_withdrawal_total == D("200")

    # A later withdrawal keeps the keeper running: its runs never touch the failed record again.
    later = exchange.withdraw(user, D("50"))
    at(exchange, "12:05:00.000")
    assert status_of(later) is Status.CONFIRMED
    assert status_of(failing) is Status.FAILED
    assert len(refunds(exchange, user)) == 1
    assert exchange.balances(user).wallet == D("750")  # 800 - 50
    assert exchange.wallet_summary(user).pending_withdrawal_total == D(0)
    assert exchange.check_invariants() == []


def test_each_call_arms_one_more_failure(exchange: Exchange, make_user: UserFactory) -> None:
    user = funded(exchange, make_user)
    records = [exchange.withdraw(user, D(amount)) for amount in ("1", "2", "3")]

    assert [exchange.sim.fail_next_withdrawal(), exchange.sim.fail_next_withdrawal()] == [1, 2]
    at(exchange, "12:02:00.000")

    assert [r.status for r in records] == [Status.FAILED, Status.FAILED, Status.SENT]
    assert [e.amount for e in refunds(exchange, user)] == [D("1"), D("2")]
    assert exchange.sim.fail_next_withdrawal() == 1


def test_a_failure_armed_with_nothing_in_flight_waits_for_the_next_withdrawal(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    exchange.sim.fail_next_withdrawal()
    at(exchange, "12:10:00.000")

    record = exchange.withdraw(user, D("5"))
    at(exchange, "12:12:00.000")

    assert status_of(record) is Status.FAILED
    assert exchange.balances(user).wallet == D("1000")


# -- the vault's liquidity --------------------------------------------------------------------


def test_the_vault_is_unlimited_until_set(exchange: Exchange, make_user: UserFactory) -> None:
    user = funded(exchange, make_user)
    assert exchange.sim.vault_liquidity() is None

    record = exchange.withdraw(user, D("1000"))
    at(exchange, "12:02:00.000")

    assert status_of(record) is Status.SENT
    assert exchange.sim.vault_liquidity() is None


def test_without_liquidity_a_withdrawal_waits_retried_by_every_run_until_the_vault_can_pay(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    exchange.sim.set_vault_liquidity(D("100"))
    record = exchange.withdraw(user, D("250"))

    events = at(exchange, "12:02:00.000")
    assert statuses(events)[-1] == ("2026-01-02T12:02:00.000Z", record.id, "insufficient_liquidity")
    assert record.tx_hash is None
    assert exchange.wallet_summary(user).pending_withdrawal_total == D("250")
    assert exchange.sim.vault_liquidity() == D("100")

    # Each run retries; the status does not change, so no event is repeated.
    assert keeper_timers(exchange) == ["2026-01-02T12:03:00.000Z"]
    assert statuses(at(exchange, "12:03:00.000")) == []
    assert keeper_timers(exchange) == ["2026-01-02T12:04:00.000Z"]
    assert status_of(record) is Status.INSUFFICIENT_LIQUIDITY

    exchange.sim.set_vault_liquidity(D("300"))
    assert statuses(at(exchange, "12:04:00.000")) == [
        ("2026-01-02T12:04:00.000Z", record.id, "sent")
    ]
    assert exchange.sim.vault_liquidity() == D("50")  # 300 - 250
    at(exchange, "12:04:04.000")
    assert status_of(record) is Status.CONFIRMED
    assert exchange.wallet_summary(user).pending_withdrawal_total == D(0)
    assert withdrawal_timers(exchange) == []


def test_the_vault_pays_in_creation_order_and_a_later_smaller_one_may_pass_a_stuck_one(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    exchange.sim.set_vault_liquidity(D("100"))
    first = exchange.withdraw(user, D("80"))
    second = exchange.withdraw(user, D("30"))
    third = exchange.withdraw(user, D("20"))

    at(exchange, "12:02:00.000")

    # 100 - 80 = 20 left: not enough for 30, exactly enough for 20.
    assert [r.status for r in (first, second, third)] == [
        Status.SENT,
        Status.INSUFFICIENT_LIQUIDITY,
        Status.SENT,
    ]
    assert exchange.sim.vault_liquidity() == D(0)


def test_credited_deposits_add_to_the_vaults_liquidity(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    exchange.sim.set_vault_liquidity(D(0))

    exchange.sim.deposit(user, D("500.25"))
    assert exchange.sim.vault_liquidity() == D("500.25")

    wallet = exchange.user(user).wallet_address
    exchange.sim.submit_deposit(wallet, D("200"))
    assert exchange.sim.vault_liquidity() == D("500.25")  # not credited until confirmed
    exchange.advance_by(4_000)
    assert exchange.sim.vault_liquidity() == D("700.25")

    record = exchange.withdraw(user, D("600"))
    at(exchange, "12:02:00.000")
    assert status_of(record) is Status.SENT
    assert exchange.sim.vault_liquidity() == D("100.25")  # 700.25 - 600


def test_deposits_leave_an_unlimited_vault_unlimited(
    exchange: Exchange, make_user: UserFactory
) -> None:
    exchange.sim.set_vault_liquidity(D("10"))
    exchange.sim.set_vault_liquidity(None)

    make_user(wallet="500")

    assert exchange.sim.vault_liquidity() is None


def test_a_failed_send_spends_no_liquidity(exchange: Exchange, make_user: UserFactory) -> None:
    user = funded(exchange, make_user)
    exchange.sim.set_vault_liquidity(D("100"))
    record = exchange.withdraw(user, D("60"))
    exchange.sim.fail_next_withdrawal()

    at(exchange, "12:02:00.000")

    assert status_of(record) is Status.FAILED
    assert exchange.sim.vault_liquidity() == D("100")


def test_a_failure_waits_for_a_withdrawal_the_vault_can_pay(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    exchange.sim.set_vault_liquidity(D(0))
    record = exchange.withdraw(user, D("60"))
    exchange.sim.fail_next_withdrawal()

    at(exchange, "12:03:00.000")
    assert status_of(record) is Status.INSUFFICIENT_LIQUIDITY
    assert refunds(exchange, user) == []

    exchange.sim.set_vault_liquidity(D("60"))
    at(exchange, "12:04:00.000")
    assert status_of(record) is Status.FAILED
    assert [e.amount for e in refunds(exchange, user)] == [D("60")]


@pytest.mark.parametrize("amount", ["-1", "0.0000001", "NaN", "Infinity", "1E15"])
def test_a_bad_vault_liquidity_is_400_naming_amount_and_changes_nothing(
    exchange: Exchange, amount: str
) -> None:
    exchange.sim.set_vault_liquidity(D("10"))

    error = refused(exchange, lambda: exchange.sim.set_vault_liquidity(D(amount)))

    assert (error.code, error.status) == (ErrorCode.VALIDATION_ERROR, 400)
    assert error.details["field"] == "amount"
    assert exchange.sim.vault_liquidity() == D("10")


def test_zero_liquidity_is_allowed(exchange: Exchange) -> None:
    exchange.sim.set_vault_liquidity(D(0))

    assert exchange.sim.vault_liquidity() == D(0)


# -- the control hooks are facts in the log ---------------------------------------------------


def test_setting_the_vault_liquidity_is_logged_with_its_amount(exchange: Exchange) -> None:
    at(exchange, "12:00:30.000")
    exchange.sim.set_vault_liquidity(D("100.5"))
    exchange.sim.set_vault_liquidity(None)

    assert [(format_ms(e.ts), e.amount) for e in exchange.events_of(VaultLiquiditySet)] == [
        ("2026-01-02T12:00:30.000Z", D("100.5")),
        ("2026-01-02T12:00:30.000Z", None),
    ]


def test_arming_a_failure_is_logged_with_how_many_are_armed(
    exchange: Exchange, make_user: UserFactory
) -> None:
    user = funded(exchange, make_user)
    exchange.withdraw(user, D("1"))
    exchange.sim.fail_next_withdrawal()
    exchange.sim.fail_next_withdrawal()
    at(exchange, "12:02:00.000")  # the send fails and uses up one of the two

    exchange.sim.fail_next_withdrawal()

    assert [(format_ms(e.ts), e.armed) for e in exchange.events_of(WithdrawalFailureArmed)] == [
        ("2026-01-02T12:00:30.000Z", 1),
        ("2026-01-02T12:00:30.000Z", 2),
        ("2026-01-02T12:02:00.000Z", 2),
    ]


def digest_with(*hooks: Callable[[Exchange], object]) -> str:
    """The digest of one fixed run (a withdrawal waiting for the keeper, which has not run
    yet, so the hooks have changed nothing else) after `hooks` are applied to it."""
    exchange = Exchange.create(seed=5)
    user = exchange.register_user("0x" + "42" * 20).user_id
    exchange.sim.deposit(user, D("100"))
    exchange.withdraw(user, D("10"))
    for hook in hooks:
        hook(exchange)
    return exchange.digest()


def _fail_next(exchange: Exchange) -> None:
    exchange.sim.fail_next_withdrawal()


def test_runs_that_differ_only_by_vault_liquidity_or_armed_failures_differ_in_digest() -> None:
    digests = [
        digest_with(),
        digest_with(lambda ex: ex.sim.set_vault_liquidity(D("5"))),
        digest_with(lambda ex: ex.sim.set_vault_liquidity(D("50"))),
        digest_with(lambda ex: ex.sim.set_vault_liquidity(None)),
        digest_with(_fail_next),
        digest_with(_fail_next, _fail_next),
    ]

    assert len(set(digests)) == len(digests)
    # Still deterministic: the same hooks give the same digest.
    assert digest_with(_fail_next) == digests[4]
