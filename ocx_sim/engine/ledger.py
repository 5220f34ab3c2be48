"""The double-entry ledger: every movement of money or inventory, and the balances it implies.

An account is `(owner, bucket, asset)`: a user id with one of the four buckets
(`wallet`, `perps`, `options`, `spot`), or `system` with one of the system buckets:

- `external`: the world outside the exchange. A deposit moves USDC from it to a user's
  wallet bucket and a withdrawal back, so its balance is minus what the exchange holds;
- `fees`: trading fees collected (and maker rebates paid);
- `insurance`: the insurance fund;
- `clearing`: the counterparty of realized PnL and settlements. Realized PnL leaves it when a
  position closes at a profit and returns when one closes at a loss; its balance always equals
  minus the sum of the cost bases of all open positions (see `accounts.Position`).

Invariants (checked by `check_invariants` and by the ledger state machine test):
- every movement is a set of entries that sums to zero in each asset, so the sum of all
  balances in each asset is zero, always: money is neither created nor destroyed;
- every account's balance equals the sum of its entries.

Entry `amount` is signed from the account owner's view (DECISIONS.md "Wallet"). The ledger
records; it does not refuse: commands check balances before they move money.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ocx_sim.engine.money import USDC, ZERO

SYSTEM = "system"


class SystemBucket(StrEnum):
    EXTERNAL = "external"
    FEES = "fees"
    INSURANCE = "insurance"
    CLEARING = "clearing"


class EntryType(StrEnum):
    """Ledger entry types (DECISIONS.md "Wallet"); `spot_trade` is ours (docs/fidelity.md)."""

    DEPOSIT = "deposit"
    WITHDRAW = "withdraw"
    WITHDRAW_REFUND = "withdraw_refund"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    TRADE_FEE = "trade_fee"
    REALIZED_PNL = "realized_pnl"
    FUNDING = "funding"
    OPTION_PREMIUM = "option_premium"
    SETTLEMENT = "settlement"
    LIQUIDATION = "liquidation"
    LIQUIDATION_FEE = "liquidation_fee"
    INSURANCE = "insurance"
    SPOT_TRADE = "spot_trade"


AccountKey = tuple[str, str, str]
"""(owner, bucket, asset)."""


def system_account(bucket: SystemBucket, asset: str = USDC) -> AccountKey:
    return (SYSTEM, bucket.value, asset)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: str
    movement: int
    """Entries of one movement share this number; together they sum to zero."""
    owner: str
    bucket: str
    asset: str
    amount: Decimal
    type: EntryType
    created_at: int
    tx_hash: str | None = None
    ref: str | None = None
    """What caused it: a trade, order, transfer or settlement id."""

    @property
    def account(self) -> AccountKey:
        return (self.owner, self.bucket, self.asset)


class Ledger:
    """Append-only entries plus the running balance of every account."""

    def __init__(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id
        self.entries: list[LedgerEntry] = []
        self.balances: dict[AccountKey, Decimal] = {}
        self._by_owner: dict[str, list[LedgerEntry]] = defaultdict(list)
        self._movements = 0

    def balance(self, account: AccountKey) -> Decimal:
        return self.balances.get(account, ZERO)

    def move(
        self,
        now_ms: int,
        source: AccountKey,
        target: AccountKey,
        amount: Decimal,
        source_type: EntryType,
        target_type: EntryType | None = None,
        *,
        tx_hash: str | None = None,
        ref: str | None = None,
    ) -> None:
        """Move `amount` of the accounts' asset from `source` to `target`: one movement of two
        entries, `-amount` on the source and `+amount` on the target. A zero amount writes
        nothing; a negative one moves the other way."""
        if not amount:
            return
        if source[2] != target[2]:
            raise ValueError(f"a movement stays in one asset: {source} -> {target}")
        self._movements += 1
        movement = self._movements
        self._post(movement, source, -amount, source_type, now_ms, tx_hash, ref)
        self._post(movement, target, amount, target_type or source_type, now_ms, tx_hash, ref)

    def _post(
        self,
        movement: int,
        account: AccountKey,
        amount: Decimal,
        entry_type: EntryType,
        now_ms: int,
        tx_hash: str | None,
        ref: str | None,
    ) -> None:
        owner, bucket, asset = account
        entry = LedgerEntry(
            self._new_id(), movement, owner, bucket, asset, amount, entry_type, now_ms, tx_hash, ref
        )
        self.entries.append(entry)
        self._by_owner[owner].append(entry)
        balances = self.balances
        balances[account] = balances.get(account, ZERO) + amount

    def entries_of(self, owner: str) -> list[LedgerEntry]:
        """An owner's entries, oldest first."""
        return list(self._by_owner.get(owner, ()))

    def totals(self) -> dict[str, Decimal]:
        """The sum of all balances per asset: zero in every asset when the ledger is sound."""
        out: dict[str, Decimal] = {}
        for (_, _, asset), amount in self.balances.items():
            out[asset] = out.get(asset, ZERO) + amount
        return out

    def check_invariants(self) -> list[str]:
        """Describe every broken invariant (empty when the ledger is sound)."""
        problems = [
            f"{asset} balances sum to {total}, not zero"
            for asset, total in self.totals().items()
            if total
        ]
        movements: dict[tuple[int, str], Decimal] = {}
        recomputed: dict[AccountKey, Decimal] = {}
        for e in self.entries:
            key = (e.movement, e.asset)
            movements[key] = movements.get(key, ZERO) + e.amount
            recomputed[e.account] = recomputed.get(e.account, ZERO) + e.amount
        problems += [
            f"movement {m} does not balance in {asset}: {total}"
            for (m, asset), total in movements.items()
            if total
        ]
        problems += [
            f"balance of {account} is {self.balance(account)}, its entries sum to {total}"
            for account, total in recomputed.items()
            if total != self.balance(account)
        ]
        return problems
