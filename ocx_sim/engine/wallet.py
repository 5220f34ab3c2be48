"""The wallet bucket's link to the chain: deposits and withdrawals as settlement records.

DECISIONS.md "Wallet" and "Withdrawal keeper":
- A deposit is a simulated on-chain transfer with a `txHash`. Its settlement is `pending`
  until 2 confirmations, one every 2 s of simulated time; then it is `confirmed` and credited
  to the wallet bucket (ledger `deposit`). Each txHash is credited once: submitting a known
  one answers its existing record.
- A withdrawal debits the wallet bucket at once (ledger `withdraw`) and waits `pending` for the
  keeper, which runs on each simulated-minute boundary (unix ms a multiple of 60,000) while a
  withdrawal awaits it, and only then, so an idle world holds no keeper timer. Each run takes
  the waiting records in creation order: `pending` → `processing`; the next run tries to send
  a `processing` one: `sent` with a `txHash` drawn from the seed, then `confirmed` (`settledAt`
  set) after 2 confirmations 2 s apart, like a deposit's.
- The vault's liquidity is unlimited (None) until set (`VaultLiquiditySet`). Once set,
  sending needs at least the withdrawal's amount and spends it, and every credited deposit
  adds to it; without enough the record waits `insufficient_liquidity` (still in flight) and
  every run tries again.
- Each armed failure (the control API's fail-next; `WithdrawalFailureArmed`) makes the next
  send the keeper tries end `failed` instead, with no txHash; the amount goes back to the
  wallet bucket once (ledger `withdraw_refund`, ref the settlement id), and the vault keeps
  its liquidity.
- Setting the liquidity and arming a failure are logged as events although they move no
  money: they change what the keeper will do, so the digest must tell such runs apart.
- `pendingWithdrawalTotal` counts withdrawals neither `confirmed` nor `failed`.
- Records use the GitBook shape: `asset` USDC, `network` base-sepolia, `chainId` 84532, and
  `txHash` null until the transfer exists on chain.

Timers are scheduled as bound methods or `functools.partial`s of them, not closures, so that a
deep copy of a world (snapshots) copies them along with everything they touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import partial

from ocx_sim.engine.accounts import Bucket, User
from ocx_sim.engine.context import Context
from ocx_sim.engine.events import (
    FundsDeposited,
    SettlementChanged,
    VaultLiquiditySet,
    WithdrawalFailureArmed,
)
from ocx_sim.engine.ledger import EntryType, SystemBucket, system_account
from ocx_sim.engine.money import USDC, ZERO, format_usdc
from ocx_sim.errors import ErrorCode, OcxError

CONFIRMATIONS = 2
CONFIRMATION_MS = 2_000
KEEPER_INTERVAL_MS = 60_000
"""The keeper runs on every simulated-minute boundary."""
KEEPER_TIMER = "withdrawal keeper"
NETWORK = "base-sepolia"
CHAIN_ID = 84532
EXTERNAL = system_account(SystemBucket.EXTERNAL)


class SettlementKind(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAW = "withdraw"


class SettlementStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    INSUFFICIENT_LIQUIDITY = "insufficient_liquidity"


@dataclass(slots=True)
class Settlement:
    id: str
    kind: SettlementKind
    status: SettlementStatus
    user_id: str
    wallet_address: str
    amount: Decimal
    tx_hash: str | None
    created_at: int
    updated_at: int
    settled_at: int | None = None
    confirmations: int = 0

    @property
    def withdrawal_id(self) -> str | None:
        return self.id if self.kind is SettlementKind.WITHDRAW else None

    @property
    def in_flight(self) -> bool:
        """A withdrawal still counted in `pendingWithdrawalTotal`."""
        return self.kind is SettlementKind.WITHDRAW and self.status not in (
            SettlementStatus.CONFIRMED,
            SettlementStatus.FAILED,
        )


_AWAITING_KEEPER = frozenset(
    (
        SettlementStatus.PENDING,
        SettlementStatus.PROCESSING,
        SettlementStatus.INSUFFICIENT_LIQUIDITY,
    )
)
"""The withdrawal statuses the keeper moves on; `sent` waits for its confirmations instead."""


class Wallet:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.settlements: dict[str, Settlement] = {}
        self._by_tx: dict[str, Settlement] = {}
        self._by_user: dict[str, list[Settlement]] = {}
        self.deposited: dict[str, Decimal] = {}
        """Per user, the USDC credited by deposits (`onchainDepositTotal`)."""
        self.vault_liquidity: Decimal | None = None
        """The vault's USDC for payouts; None: unlimited (the default)."""
        self.failures_armed = 0
        """How many of the next sends the keeper tries will fail (fail-next)."""
        self._awaiting_keeper: list[Settlement] = []
        """Withdrawals the keeper has still to move, in creation order (the order it takes
        them in)."""
        self._keeper_due: int | None = None
        """When the keeper's timer fires; None while no withdrawal awaits it."""

    # -- deposits --------------------------------------------------------------------------

    def submit_deposit(self, user: User, amount: Decimal, tx_hash: str | None) -> Settlement:
        """A transfer seen on chain: `pending` now, credited after its confirmations."""
        known = self._by_tx.get(tx_hash) if tx_hash is not None else None
        if known is not None:
            return known
        record = self._record(user, SettlementKind.DEPOSIT, amount, tx_hash or self._tx_hash())
        self._schedule_confirmations(record)
        return record

    def credit_deposit(self, user: User, amount: Decimal, tx_hash: str | None) -> Settlement | None:
        """A deposit already confirmed (funding by a test, a scenario or the control API).
        None when that txHash was credited before."""
        if tx_hash is not None and tx_hash in self._by_tx:
            return None
        record = self._record(user, SettlementKind.DEPOSIT, amount, tx_hash or self._tx_hash())
        record.confirmations = CONFIRMATIONS
        self._credit(record)
        return record

    def _schedule_confirmations(self, record: Settlement) -> None:
        """A transfer now on chain: one confirmation every 2 s from now."""
        clock = self._ctx.clock
        now = self._ctx.now
        for n in range(1, CONFIRMATIONS + 1):
            clock.schedule_at(
                now + n * CONFIRMATION_MS,
                partial(self._confirm, record.id),
                name=f"{record.kind.value} {record.id} confirmation {n}",
            )

    def _confirm(self, settlement_id: str, due_ms: int) -> None:
        """One more confirmation; the last credits a deposit or settles a withdrawal."""
        record = self.settlements[settlement_id]
        deposit = record.kind is SettlementKind.DEPOSIT
        on_chain = SettlementStatus.PENDING if deposit else SettlementStatus.SENT
        if record.status is not on_chain:
            return
        record.confirmations += 1
        record.updated_at = due_ms
        if record.confirmations < CONFIRMATIONS:
            return
        if deposit:
            self._credit(record)
        else:
            self._set_status(record, SettlementStatus.CONFIRMED, settled=True)

    def _credit(self, record: Settlement) -> None:
        ctx = self._ctx
        now = ctx.now
        ctx.ledger.move(
            now,
            EXTERNAL,
            (record.user_id, Bucket.WALLET.value, USDC),
            record.amount,
            EntryType.DEPOSIT,
            tx_hash=record.tx_hash,
            ref=record.id,
        )
        self.deposited[record.user_id] = self.deposited.get(record.user_id, ZERO) + record.amount
        if self.vault_liquidity is not None:
            # Deposits are paid into the vault, so they fund later withdrawals.
            self.vault_liquidity += record.amount
        ctx.emit(FundsDeposited, record.user_id, record.amount, record.tx_hash)
        self._set_status(record, SettlementStatus.CONFIRMED, settled=True)

    # -- withdrawals -----------------------------------------------------------------------

    def withdraw(self, user: User, amount: Decimal) -> Settlement:
        """Debit the wallet bucket now; the record waits for the keeper."""
        ctx = self._ctx
        balance = ctx.ledger.balance((user.user_id, Bucket.WALLET.value, USDC))
        if amount > balance:
            raise OcxError(
                ErrorCode.INSUFFICIENT_BALANCE,
                f"Cannot withdraw {amount} USDC: the wallet bucket holds "
                f"{format_usdc(balance)}; transfer from perps, options or spot first",
                {"bucket": Bucket.WALLET.value, "available": format_usdc(balance)},
            )
        record = self._record(user, SettlementKind.WITHDRAW, amount, None)
        ctx.ledger.move(
            ctx.now,
            (user.user_id, Bucket.WALLET.value, USDC),
            EXTERNAL,
            amount,
            EntryType.WITHDRAW,
            ref=record.id,
        )
        self._awaiting_keeper.append(record)
        self._schedule_keeper(ctx.now)
        return record

    def set_liquidity(self, amount: Decimal | None) -> None:
        """The vault's USDC for payouts from now on (None: unlimited)."""
        self.vault_liquidity = amount
        self._ctx.emit(VaultLiquiditySet, amount)

    def arm_failure(self) -> int:
        """Make the next send the keeper tries fail; answers how many failures are armed."""
        self.failures_armed += 1
        self._ctx.emit(WithdrawalFailureArmed, self.failures_armed)
        return self.failures_armed

    # -- the keeper ------------------------------------------------------------------------

    def _schedule_keeper(self, after_ms: int) -> None:
        """Set the keeper's timer on the first minute boundary after `after_ms`, unless set."""
        if self._keeper_due is not None:
            return
        self._keeper_due = (after_ms // KEEPER_INTERVAL_MS + 1) * KEEPER_INTERVAL_MS
        self._ctx.clock.schedule_at(self._keeper_due, self._run_keeper, name=KEEPER_TIMER)

    def _run_keeper(self, due_ms: int) -> None:
        """One keeper run: each waiting withdrawal moves one step, oldest first. A record the
        run turned `processing` is sent by the next run, not this one."""
        self._keeper_due = None
        for record in self._awaiting_keeper:
            if record.status is SettlementStatus.PENDING:
                self._set_status(record, SettlementStatus.PROCESSING, settled=False)
            else:
                self._try_send(record)
        self._awaiting_keeper = [r for r in self._awaiting_keeper if r.status in _AWAITING_KEEPER]
        if self._awaiting_keeper:
            # From the instant it was due: a late realtime run does not shift the cadence.
            self._schedule_keeper(due_ms)

    def _try_send(self, record: Settlement) -> None:
        """`processing` or `insufficient_liquidity` → `sent`, unless the vault cannot pay it
        (it waits for the next run) or a failure is armed (`failed`, refunded)."""
        liquidity = self.vault_liquidity
        if liquidity is not None and liquidity < record.amount:
            if record.status is not SettlementStatus.INSUFFICIENT_LIQUIDITY:
                self._set_status(record, SettlementStatus.INSUFFICIENT_LIQUIDITY, settled=False)
            return
        if self.failures_armed:
            self.failures_armed -= 1
            self._fail(record)
            return
        if liquidity is not None:
            self.vault_liquidity = liquidity - record.amount
        record.tx_hash = self._tx_hash()
        self._set_status(record, SettlementStatus.SENT, settled=False)
        self._schedule_confirmations(record)

    def _fail(self, record: Settlement) -> None:
        """The transfer is rejected: `failed`, and the amount back in the wallet bucket. Only
        the keeper's waiting records get here, and `failed` never waits again, so the refund
        happens once."""
        ctx = self._ctx
        ctx.ledger.move(
            ctx.now,
            EXTERNAL,
            (record.user_id, Bucket.WALLET.value, USDC),
            record.amount,
            EntryType.WITHDRAW_REFUND,
            ref=record.id,
        )
        self._set_status(record, SettlementStatus.FAILED, settled=False)

    # -- reads -----------------------------------------------------------------------------

    def of_user(self, user_id: str) -> list[Settlement]:
        """The user's settlements, newest first."""
        return list(reversed(self._by_user.get(user_id, [])))

    def pending_withdrawals(self, user_id: str) -> Decimal:
        return sum((s.amount for s in self._by_user.get(user_id, []) if s.in_flight), ZERO)

    # -- records ---------------------------------------------------------------------------

    def _record(
        self, user: User, kind: SettlementKind, amount: Decimal, tx_hash: str | None
    ) -> Settlement:
        ctx = self._ctx
        now = ctx.now
        record = Settlement(
            id=ctx.ids.ulid(),
            kind=kind,
            status=SettlementStatus.PENDING,
            user_id=user.user_id,
            wallet_address=user.wallet_address,
            amount=amount,
            tx_hash=tx_hash,
            created_at=now,
            updated_at=now,
        )
        self.settlements[record.id] = record
        self._by_user.setdefault(user.user_id, []).append(record)
        if tx_hash is not None:
            self._by_tx[tx_hash] = record
        self._emit(record)
        return record

    def _set_status(self, record: Settlement, status: SettlementStatus, settled: bool) -> None:
        now = self._ctx.now
        record.status = status
        record.updated_at = now
        if settled:
            record.settled_at = now
        self._emit(record)

    def _emit(self, record: Settlement) -> None:
        self._ctx.emit(
            SettlementChanged,
            record.id,
            record.user_id,
            record.kind.value,
            record.status.value,
            record.amount,
            record.tx_hash,
        )

    def _tx_hash(self) -> str:
        return "0x" + self._ctx.ids.token_bytes(32).hex()
