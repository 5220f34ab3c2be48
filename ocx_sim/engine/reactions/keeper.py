"""The chain side of the wallet: deposit confirmations and the withdrawal keeper.

docs/fidelity.md "Wallet":
- a transfer on chain gets one confirmation every 2 s; the second credits a deposit
  (commands/wallet.py `credit`) or confirms a sent withdrawal (`settledAt` set);
- the keeper runs on each simulated-minute boundary (unix ms a multiple of 60,000) while a
  withdrawal awaits it, and only then, so an idle world holds no keeper timer. Each run takes
  the waiting records in creation order: `pending` → `processing`; the next run tries to send
  a `processing` one: `sent` with a `txHash` drawn from the seed, then confirmed like a
  deposit;
- with the vault's liquidity set, sending needs at least the withdrawal's amount and spends
  it; without enough the record waits `insufficient_liquidity` (still in flight) and every run
  tries again;
- each armed failure makes the next send the keeper tries end `failed` instead, with no
  txHash; the amount goes back to the wallet bucket once (ledger `withdraw_refund`, ref the
  settlement id), and the vault keeps its liquidity.

It reacts to the records the wallet commands leave in `facts.chain`. Timers are bound methods
or `functools.partial`s of them, not closures, so that a copy of a world (snapshots) copies
them with everything they touch.
"""

from __future__ import annotations

from functools import partial

from ocx_sim.engine.commands.wallet import credit, new_tx_hash, set_status
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.ledger import EXTERNAL, EntryType
from ocx_sim.engine.core.money import USDC
from ocx_sim.engine.core.settlements import (
    AWAITING_KEEPER,
    CONFIRMATION_MS,
    CONFIRMATIONS,
    Settlement,
    SettlementKind,
    SettlementStatus,
)
from ocx_sim.engine.state import State

KEEPER_INTERVAL_MS = 60_000
"""The keeper runs on every simulated-minute boundary."""
KEEPER_TIMER = "withdrawal keeper"


class Keeper:
    def __init__(self, state: State) -> None:
        self._state = state
        self._keeper_due: int | None = None
        """When the keeper's timer fires; None while no withdrawal awaits it."""

    def react(self, chain: list[Settlement]) -> None:
        """Records that now wait on the chain: a deposit's confirmations, a withdrawal's
        keeper run."""
        for record in chain:
            if record.kind is SettlementKind.DEPOSIT:
                self._schedule_confirmations(record)
            else:
                self._schedule_keeper(self._state.now)

    # -- confirmations -----------------------------------------------------------------------

    def _schedule_confirmations(self, record: Settlement) -> None:
        """A transfer now on chain: one confirmation every 2 s from now."""
        clock = self._state.clock
        now = self._state.now
        for n in range(1, CONFIRMATIONS + 1):
            clock.schedule_at(
                now + n * CONFIRMATION_MS,
                partial(self._confirm, record.id),
                name=f"{record.kind.value} {record.id} confirmation {n}",
            )

    def _confirm(self, settlement_id: str, due_ms: int) -> None:
        """One more confirmation; the last credits a deposit or settles a withdrawal."""
        record = self._state.settlements.records[settlement_id]
        deposit = record.kind is SettlementKind.DEPOSIT
        on_chain = SettlementStatus.PENDING if deposit else SettlementStatus.SENT
        if record.status is not on_chain:
            return
        record.confirmations += 1
        record.updated_at = due_ms
        if record.confirmations < CONFIRMATIONS:
            return
        if deposit:
            credit(self._state, record)
        else:
            set_status(self._state, record, SettlementStatus.CONFIRMED, settled=True)

    # -- the keeper --------------------------------------------------------------------------

    def _schedule_keeper(self, after_ms: int) -> None:
        """Set the keeper's timer on the first minute boundary after `after_ms`, unless set."""
        if self._keeper_due is not None:
            return
        self._keeper_due = (after_ms // KEEPER_INTERVAL_MS + 1) * KEEPER_INTERVAL_MS
        self._state.clock.schedule_at(self._keeper_due, self._run, name=KEEPER_TIMER)

    def _run(self, due_ms: int) -> None:
        """One keeper run: each waiting withdrawal moves one step, oldest first. A record the
        run turned `processing` is sent by the next run, not this one."""
        self._keeper_due = None
        settlements = self._state.settlements
        for record in settlements.awaiting_keeper:
            if record.status is SettlementStatus.PENDING:
                set_status(self._state, record, SettlementStatus.PROCESSING, settled=False)
            else:
                self._try_send(record)
        settlements.awaiting_keeper = [
            r for r in settlements.awaiting_keeper if r.status in AWAITING_KEEPER
        ]
        if settlements.awaiting_keeper:
            # From the instant it was due: a late realtime run does not shift the cadence.
            self._schedule_keeper(due_ms)

    def _try_send(self, record: Settlement) -> None:
        """`processing` or `insufficient_liquidity` → `sent`, unless the vault cannot pay it
        (it waits for the next run) or a failure is armed (`failed`, refunded)."""
        state, settlements = self._state, self._state.settlements
        liquidity = settlements.vault_liquidity
        if liquidity is not None and liquidity < record.amount:
            if record.status is not SettlementStatus.INSUFFICIENT_LIQUIDITY:
                set_status(state, record, SettlementStatus.INSUFFICIENT_LIQUIDITY, settled=False)
            return
        if settlements.failures_armed:
            settlements.failures_armed -= 1
            self._fail(record)
            return
        if liquidity is not None:
            settlements.vault_liquidity = liquidity - record.amount
        record.tx_hash = new_tx_hash(state)
        set_status(state, record, SettlementStatus.SENT, settled=False)
        self._schedule_confirmations(record)

    def _fail(self, record: Settlement) -> None:
        """The transfer is rejected: `failed`, and the amount back in the wallet bucket. Only
        the keeper's waiting records get here, and `failed` never waits again, so the refund
        happens once."""
        state = self._state
        state.ledger.move(
            state.now,
            EXTERNAL,
            (record.user_id, Bucket.WALLET.value, USDC),
            record.amount,
            EntryType.WITHDRAW_REFUND,
            ref=record.id,
        )
        set_status(state, record, SettlementStatus.FAILED, settled=False)
