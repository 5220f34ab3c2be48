"""The wallet bucket's link to the chain: deposits and withdrawals as settlement records.

DECISIONS.md "Wallet":
- A deposit is a simulated on-chain transfer with a `txHash`. Its settlement is `pending`
  until 2 confirmations, one every 2 s of simulated time; then it is `confirmed` and credited
  to the wallet bucket (ledger `deposit`). Each txHash is credited once: submitting a known
  one answers its existing record.
- A withdrawal debits the wallet bucket at once (ledger `withdraw`) and waits `pending` for the
  keeper, which the lifecycle issue brings: until then it stays `pending`.
- Records use the GitBook shape: `asset` USDC, `network` base-sepolia, `chainId` 84532, and
  `txHash` null until the transfer exists on chain.

Timers are scheduled as `functools.partial`s of bound methods, not closures, so that a deep
copy of a world (snapshots) copies them along with everything they touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import partial

from ocx_sim.engine.accounts import Bucket, User
from ocx_sim.engine.context import Context
from ocx_sim.engine.events import FundsDeposited, SettlementChanged
from ocx_sim.engine.ledger import EntryType, SystemBucket, system_account
from ocx_sim.engine.money import USDC, ZERO, format_usdc
from ocx_sim.errors import ErrorCode, OcxError

CONFIRMATIONS = 2
CONFIRMATION_MS = 2_000
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


class Wallet:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.settlements: dict[str, Settlement] = {}
        self._by_tx: dict[str, Settlement] = {}
        self._by_user: dict[str, list[Settlement]] = {}
        self.deposited: dict[str, Decimal] = {}
        """Per user, the USDC credited by deposits (`onchainDepositTotal`)."""

    # -- deposits --------------------------------------------------------------------------

    def submit_deposit(self, user: User, amount: Decimal, tx_hash: str | None) -> Settlement:
        """A transfer seen on chain: `pending` now, credited after its confirmations."""
        known = self._by_tx.get(tx_hash) if tx_hash is not None else None
        if known is not None:
            return known
        record = self._record(user, SettlementKind.DEPOSIT, amount, tx_hash or self._tx_hash())
        clock = self._ctx.clock
        for n in range(1, CONFIRMATIONS + 1):
            clock.schedule_at(
                record.created_at + n * CONFIRMATION_MS,
                partial(self._confirm, record.id),
                name=f"deposit {record.id} confirmation {n}",
            )
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

    def _confirm(self, settlement_id: str, due_ms: int) -> None:
        record = self.settlements[settlement_id]
        if record.status is not SettlementStatus.PENDING:
            return
        record.confirmations += 1
        record.updated_at = due_ms
        if record.confirmations >= CONFIRMATIONS:
            self._credit(record)

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
        return record

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
