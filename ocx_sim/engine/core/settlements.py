"""Deposits and withdrawals as settlement records, and the vault that pays withdrawals out.

The wallet bucket's link to the chain (docs/fidelity.md "Wallet"): a deposit is a simulated
on-chain transfer with a `txHash`, `pending` until 2 confirmations 2 s apart; a withdrawal
waits for the keeper, which moves it `pending` → `processing` → `sent` → `confirmed`, or
`insufficient_liquidity` while the vault cannot pay it, or `failed` when a failure is armed.
The commands that create records are in commands/wallet.py, the keeper and the confirmations
in reactions/keeper.py; this module is their vocabulary and their records.

Records use the GitBook shape: `asset` USDC, `network` base-sepolia, `chainId` 84532, and
`txHash` null until the transfer exists on chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from ocx_sim.engine.core.money import ZERO

CONFIRMATIONS = 2
CONFIRMATION_MS = 2_000
NETWORK = "base-sepolia"
CHAIN_ID = 84532


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


AWAITING_KEEPER = frozenset(
    (
        SettlementStatus.PENDING,
        SettlementStatus.PROCESSING,
        SettlementStatus.INSUFFICIENT_LIQUIDITY,
    )
)
"""The withdrawal statuses the keeper moves on; `sent` waits for its confirmations instead."""


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


@dataclass(slots=True)
class Settlements:
    """Every settlement record, and the vault's state."""

    records: dict[str, Settlement] = field(default_factory=dict)
    by_tx: dict[str, Settlement] = field(default_factory=dict)
    by_user: dict[str, list[Settlement]] = field(default_factory=dict)
    deposited: dict[str, Decimal] = field(default_factory=dict)
    """Per user, the USDC credited by deposits (`onchainDepositTotal`)."""
    vault_liquidity: Decimal | None = None
    """The vault's USDC for payouts; None: unlimited (the default)."""
    failures_armed: int = 0
    """How many of the next sends the keeper tries will fail (fail-next)."""
    awaiting_keeper: list[Settlement] = field(default_factory=list)
    """Withdrawals the keeper has still to move, in creation order (the order it takes them
    in)."""

    def add(self, record: Settlement) -> None:
        self.records[record.id] = record
        self.by_user.setdefault(record.user_id, []).append(record)
        if record.tx_hash is not None:
            self.by_tx[record.tx_hash] = record

    def of_user(self, user_id: str) -> list[Settlement]:
        """The user's settlements, newest first."""
        return list(reversed(self.by_user.get(user_id, [])))

    def pending_withdrawals(self, user_id: str) -> Decimal:
        return sum((s.amount for s in self.by_user.get(user_id, []) if s.in_flight), ZERO)
