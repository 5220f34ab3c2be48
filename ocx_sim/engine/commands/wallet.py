"""The account's money: sign-up, deposits, transfers between buckets, withdrawals.

docs/fidelity.md "Wallet" and "Money":
- a user is created at first sight of its wallet address (SIWE sign-in, or a deposit from an
  address nobody has signed in with);
- a deposit credited at once (`credit_deposit`: funding for tests, scenarios and the control
  API) is a settlement record already `confirmed`; one seen on chain (`submit_deposit`) waits
  `pending` for its confirmations (reactions/keeper.py). Each txHash is credited once;
- a transfer moves USDC between two of the user's buckets atomically, no more than the source
  can give (for a margin bucket, what its positions and orders do not need);
- a withdrawal debits the wallet bucket at once and waits for the keeper (reactions/keeper.py).

Records and the vault are in `state.settlements` (core/settlements.py). Setting the vault's
liquidity and arming a failure are logged although they move no money: they change what the
keeper will do, so the digest must tell such runs apart.
"""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.engine.core import emit
from ocx_sim.engine.core.accounts import Bucket, User, checksum_address
from ocx_sim.engine.core.ledger import EXTERNAL, EntryType
from ocx_sim.engine.core.money import USDC, ZERO, format_usdc, usdc_amount
from ocx_sim.engine.core.settlements import (
    CONFIRMATIONS,
    Settlement,
    SettlementKind,
    SettlementStatus,
)
from ocx_sim.engine.state import State
from ocx_sim.errors import ErrorCode, OcxError, invalid


def register_user(state: State, wallet_address: str) -> User:
    """The user of this wallet, created on first sight."""
    address = checksum_address(wallet_address)
    user = state.accounts.by_address.get(address)
    if user is None:
        user = User(state.ids.ulid(), address, state.now)
        state.accounts.add(user)
        emit.user_registered(
            state.events, ts=state.now, user_id=user.user_id, wallet_address=address
        )
    return user


def transfer(state: State, user: User, source: Bucket, target: Bucket, amount: Decimal) -> None:
    """Move USDC between two of the user's buckets (400 naming `to` when they are the same,
    400 INSUFFICIENT_BALANCE beyond what the source can give)."""
    if source is target:
        raise invalid("to", "must differ from `from`")
    amount = usdc_amount(amount, "amount")
    now = state.now
    available = state.risk.withdrawable(user, source, now)
    if amount > available:
        raise OcxError(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"Cannot move {amount} USDC from {source.value}: {format_usdc(available)} available",
            {"bucket": source.value, "available": format_usdc(available)},
        )
    state.ledger.move(
        now,
        (user.user_id, source.value, USDC),
        (user.user_id, target.value, USDC),
        amount,
        EntryType.TRANSFER_OUT,
        EntryType.TRANSFER_IN,
    )
    emit.funds_transferred(
        state.events,
        ts=now,
        user_id=user.user_id,
        source=source.value,
        target=target.value,
        amount=amount,
    )


def credit_deposit(
    state: State, user: User, amount: Decimal, tx_hash: str | None
) -> Settlement | None:
    """A deposit already confirmed. None when that txHash was credited before."""
    if tx_hash is not None and tx_hash in state.settlements.by_tx:
        return None
    record = _record(state, user, SettlementKind.DEPOSIT, amount, tx_hash or new_tx_hash(state))
    record.confirmations = CONFIRMATIONS
    credit(state, record)
    return record


def submit_deposit(state: State, user: User, amount: Decimal, tx_hash: str | None) -> Settlement:
    """A transfer seen on chain: `pending` now, credited after its confirmations. A txHash
    seen before answers its existing record."""
    known = state.settlements.by_tx.get(tx_hash) if tx_hash is not None else None
    if known is not None:
        return known
    record = _record(state, user, SettlementKind.DEPOSIT, amount, tx_hash or new_tx_hash(state))
    state.facts.chain.append(record)
    return record


def withdraw(state: State, user: User, amount: Decimal) -> Settlement:
    """Debit the wallet bucket now (400 INSUFFICIENT_BALANCE beyond its balance); the record
    waits for the keeper."""
    amount = usdc_amount(amount, "amount")
    balance = state.ledger.balance((user.user_id, Bucket.WALLET.value, USDC))
    if amount > balance:
        raise OcxError(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"Cannot withdraw {amount} USDC: the wallet bucket holds "
            f"{format_usdc(balance)}; transfer from perps, options or spot first",
            {"bucket": Bucket.WALLET.value, "available": format_usdc(balance)},
        )
    record = _record(state, user, SettlementKind.WITHDRAW, amount, None)
    state.ledger.move(
        state.now,
        (user.user_id, Bucket.WALLET.value, USDC),
        EXTERNAL,
        amount,
        EntryType.WITHDRAW,
        ref=record.id,
    )
    state.settlements.awaiting_keeper.append(record)
    state.facts.chain.append(record)
    return record


def set_vault_liquidity(state: State, amount: Decimal | None) -> None:
    """The vault's USDC for payouts from now on (None: unlimited)."""
    state.settlements.vault_liquidity = amount
    emit.vault_liquidity_set(state.events, ts=state.now, amount=amount)


def arm_failure(state: State) -> int:
    """Make the next send the keeper tries fail; answers how many failures are armed."""
    settlements = state.settlements
    settlements.failures_armed += 1
    emit.withdrawal_failure_armed(state.events, ts=state.now, armed=settlements.failures_armed)
    return settlements.failures_armed


def credit(state: State, record: Settlement) -> None:
    """Credit a deposit to the wallet bucket and confirm its record."""
    now = state.now
    state.ledger.move(
        now,
        EXTERNAL,
        (record.user_id, Bucket.WALLET.value, USDC),
        record.amount,
        EntryType.DEPOSIT,
        tx_hash=record.tx_hash,
        ref=record.id,
    )
    settlements = state.settlements
    deposited = settlements.deposited
    deposited[record.user_id] = deposited.get(record.user_id, ZERO) + record.amount
    if settlements.vault_liquidity is not None:
        # Deposits are paid into the vault, so they fund later withdrawals.
        settlements.vault_liquidity += record.amount
    emit.funds_deposited(
        state.events, ts=now, user_id=record.user_id, amount=record.amount, tx_hash=record.tx_hash
    )
    set_status(state, record, SettlementStatus.CONFIRMED, settled=True)


def set_status(state: State, record: Settlement, status: SettlementStatus, settled: bool) -> None:
    now = state.now
    record.status = status
    record.updated_at = now
    if settled:
        record.settled_at = now
    _log(state, record)


def new_tx_hash(state: State) -> str:
    return "0x" + state.ids.token_bytes(32).hex()


def _record(
    state: State, user: User, kind: SettlementKind, amount: Decimal, tx_hash: str | None
) -> Settlement:
    now = state.now
    record = Settlement(
        id=state.ids.ulid(),
        kind=kind,
        status=SettlementStatus.PENDING,
        user_id=user.user_id,
        wallet_address=user.wallet_address,
        amount=amount,
        tx_hash=tx_hash,
        created_at=now,
        updated_at=now,
    )
    state.settlements.add(record)
    _log(state, record)
    return record


def _log(state: State, record: Settlement) -> None:
    emit.settlement_changed(
        state.events,
        ts=state.now,
        settlement_id=record.id,
        user_id=record.user_id,
        kind=record.kind.value,
        status=record.status.value,
        amount=record.amount,
        tx_hash=record.tx_hash,
    )
