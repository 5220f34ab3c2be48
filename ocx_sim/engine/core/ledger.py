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
- every account's balance equals the sum of its entries (those forgotten by a world's
  retention, `forget_before`, counted by their sum).

Entry `amount` is signed from the account owner's view (docs/fidelity.md "Money"). The ledger
records; it does not refuse: commands check balances before they move money.
"""

from __future__ import annotations

from collections import defaultdict, deque
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from ocx_sim.engine.core.money import USDC, ZERO
from ocx_sim.ids import ULID_TAIL_BITS, encode_ulid_value

SYSTEM = "system"


class SystemBucket(StrEnum):
    EXTERNAL = "external"
    FEES = "fees"
    INSURANCE = "insurance"
    CLEARING = "clearing"


class EntryType(StrEnum):
    """Ledger entry types (docs/fidelity.md "Money"); `spot_trade` is ours."""

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


EXTERNAL = system_account(SystemBucket.EXTERNAL)
FEES = system_account(SystemBucket.FEES)
CLEARING = system_account(SystemBucket.CLEARING)


class LedgerEntry(NamedTuple):
    """One posting; a NamedTuple because the engine writes several per fill (events.py)."""

    uid: int
    """The entry's ULID as an integer; `id` renders it (most entries are never shown)."""
    movement: int
    """Entries of one movement share this number; together they sum to zero."""
    owner: str
    bucket: str
    asset: str
    amount: Decimal
    type: str
    """An `EntryType` value, kept as a plain string (events.py on why records hold strings)."""
    created_at: int
    tx_hash: str | None = None
    ref: str | None = None
    """What caused it: a trade, order, transfer or settlement id."""

    @property
    def id(self) -> str:
        return encode_ulid_value(self.uid)

    @property
    def account(self) -> AccountKey:
        return (self.owner, self.bucket, self.asset)


Row = tuple[int, int, str, str, str, Decimal, str, int, str | None, str | None]
"""A `LedgerEntry`'s fields as a plain tuple: how the ledger stores it (events.py says why)."""


class Ledger:
    """Append-only entries plus the running balance of every account."""

    def __init__(self, first_tail: int) -> None:
        """Entry ids are ULIDs numbered from `first_tail` (`Ids.counted_tails`): the n-th
        entry, made at `t`, is `(t << ULID_TAIL_BITS) | (first_tail + n)`."""
        self._first_tail = first_tail
        self._rows: deque[Row] = deque()
        self._count = 0
        """Entries ever posted (the ones forgotten included): the next entry's number."""
        self.balances: dict[AccountKey, Decimal] = {}
        self._by_owner: dict[str, deque[Row]] = defaultdict(deque)
        self._movements = 0
        self._forgotten: dict[AccountKey, Decimal] = {}
        """Per account, the sum of its entries forgotten (`forget_before`): with the entries
        held, still its balance."""

    @property
    def entries(self) -> list[LedgerEntry]:
        """Every entry held, oldest first."""
        return [LedgerEntry._make(row) for row in self._rows]

    def __len__(self) -> int:
        """How many entries the ledger holds."""
        return len(self._rows)

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
        if amount:
            self.post(
                now_ms,
                [(source, -amount, source_type), (target, amount, target_type or source_type)],
                tx_hash=tx_hash,
                ref=ref,
            )

    def post(
        self,
        now_ms: int,
        postings: list[tuple[AccountKey, Decimal, EntryType]],
        *,
        tx_hash: str | None = None,
        ref: str | None = None,
    ) -> None:
        """One movement of several entries `(account, amount, type)` in one asset: a fill's
        fees and realized PnL with the fee and clearing accounts' sides, in one go. The
        amounts must sum to zero; zero amounts are left out, and a movement of nothing but
        zeros is none (movements are numbered without gaps)."""
        asset = postings[0][0][2]
        total = ZERO
        for account, amount, _ in postings:
            total += amount
            if account[2] != asset:
                raise ValueError(f"a movement stays in one asset: {postings}")
        if total:
            raise ValueError(f"a movement must sum to zero: {postings}")
        if not any(amount for _, amount, _ in postings):
            return  # nothing moves (a payment that rounds to zero): no movement, no number
        self._movements += 1
        movement = self._movements
        rows, by_owner, balances = self._rows, self._by_owner, self.balances
        stamp = now_ms << ULID_TAIL_BITS
        for account, amount, entry_type in postings:
            if not amount:
                continue
            owner = account[0]
            row: Row = (
                stamp | (self._first_tail + self._count),
                movement,
                owner,
                account[1],
                asset,
                amount,
                entry_type._value_,
                now_ms,
                tx_hash,
                ref,
            )
            rows.append(row)
            self._count += 1
            if owner != SYSTEM:
                # System accounts are read by scanning (`entries_of`); users' by this index.
                by_owner[owner].append(row)
            balances[account] = balances.get(account, ZERO) + amount

    def forget_before(self, ts: int) -> int:
        """Forget the entries posted before `ts` (docs/fidelity.md "Retention"), keeping
        their sums per account so the balances still add up; how many were forgotten. A
        movement's entries share their instant, so none is forgotten in part."""
        rows, by_owner, forgotten = self._rows, self._by_owner, self._forgotten
        count = 0
        while rows and rows[0][7] < ts:
            row = rows.popleft()
            owner = row[2]
            if owner != SYSTEM:
                by_owner[owner].popleft()
            account = (owner, row[3], row[4])
            forgotten[account] = forgotten.get(account, ZERO) + row[5]
            count += 1
        return count

    def entries_of(self, owner: str) -> list[LedgerEntry]:
        """An owner's entries, oldest first."""
        if owner == SYSTEM:
            return [LedgerEntry._make(row) for row in self._rows if row[2] == SYSTEM]
        return [LedgerEntry._make(row) for row in self._by_owner.get(owner, ())]

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
        recomputed = dict(self._forgotten)
        for _, movement, owner, bucket, asset, amount, *_rest in self._rows:
            key = (movement, asset)
            movements[key] = movements.get(key, ZERO) + amount
            account = (owner, bucket, asset)
            recomputed[account] = recomputed.get(account, ZERO) + amount
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
