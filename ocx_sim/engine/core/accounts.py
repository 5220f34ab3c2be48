"""Users, their buckets, positions and spot inventory.

A user is keyed by a checksummed (EIP-55) wallet address and has a ULID `user_id`. Money sits in
four buckets (https://docs.ocx.global/concepts/balances): `wallet` (deposits and withdrawals),
`perps` (collateral for perpetuals and futures), `options` and `spot` (USDC plus the base assets
bought there). Bucket balances live in the ledger; this module keeps what the ledger does not:
positions, the part of spot inventory locked by resting orders, and the user's orders and fills.

Positions are keyed by (market, margin mode): a cross and an isolated position on the same market
are separate (https://docs.ocx.global/concepts/margin). A position keeps its signed size and its
signed cost basis `cost` (the sum of size × price of the quantity still open); `entry_price = cost /
size`. Closing part of a position releases the same fraction of its cost, and the difference to the
exit price is the realized PnL, so `cost` stays an exact decimal and, across all positions, the
clearing account's balance is always minus the sum of all `cost`s (ledger.py).

An isolated position also keeps `margin`, the initial margin allocated to it at open
(docs/fidelity.md "Margin and liquidation": it holds its own margin, allocated at open): filled
notional / maxLeverage when it opens or grows, released pro rata when it shrinks and fully when
flat. It is bookkeeping only: the USDC stays in the perps bucket, and risk.py keeps the
allocation out of the cross part of the bucket's figures.

`INSURANCE_FUND_ADDRESS` is the reserved user whose buckets are the insurance fund's cash
(liquidation.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from eth_utils.address import is_hex_address, to_checksum_address

from ocx_sim.engine.core.money import ZERO, usdc
from ocx_sim.engine.core.order_margin import Ladder
from ocx_sim.engine.core.orders import FillRow, MarginMode, Order
from ocx_sim.errors import invalid

INSURANCE_FUND_ADDRESS = "0x00000000000000000000000000000000000000fe"
"""The insurance fund's user (checksummed; created by the first liquidation, liquidation.py)."""


class Bucket(StrEnum):
    WALLET = "wallet"
    PERPS = "perps"
    OPTIONS = "options"
    SPOT = "spot"


def checksum_address(address: str, field_name: str = "walletAddress") -> str:
    """The EIP-55 form of a `0x` + 40 hex address; 400 naming the field otherwise."""
    if not isinstance(address, str) or not address.startswith("0x") or not is_hex_address(address):
        raise invalid(field_name, "must be a 0x-prefixed 20-byte hex address")
    return str(to_checksum_address(address))


class Position:
    """A signed position in one market under one margin mode."""

    __slots__ = (
        "cost",
        "funding",
        "margin",
        "margin_mode",
        "market_id",
        "opened_at",
        "realized_pnl",
        "size",
        "updated_at",
    )

    def __init__(self, market_id: str, margin_mode: MarginMode, now_ms: int) -> None:
        self.market_id = market_id
        self.margin_mode = margin_mode
        self.size = ZERO
        self.cost = ZERO
        self.realized_pnl = ZERO
        self.funding = ZERO
        """Signed sum of the position's funding entries (negative = paid)."""
        self.margin = ZERO
        """An isolated position's allocated initial margin (always zero for cross)."""
        self.opened_at = now_ms
        self.updated_at = now_ms

    @property
    def entry_price(self) -> Decimal:
        return self.cost / self.size if self.size else ZERO

    def apply(self, signed_quantity: Decimal, price: Decimal, now_ms: int) -> Decimal:
        """Add a fill of `signed_quantity` (positive = bought) at `price`; return the realized
        PnL of the part that closed existing size (zero when the fill only adds)."""
        size, cost = self.size, self.cost
        self.updated_at = now_ms
        if not size:
            self.opened_at = now_ms
        if not size or (size > 0) == (signed_quantity > 0):
            self.size = size + signed_quantity
            self.cost = cost + signed_quantity * price
            return ZERO
        closing = signed_quantity if abs(signed_quantity) <= abs(size) else -size
        # The cost released is the closed fraction of the basis (all of it on a full close).
        released = cost if closing == -size else usdc(cost * (-closing) / size)
        realized = -closing * price - released
        opening = signed_quantity - closing
        self.size = size + signed_quantity
        self.cost = cost - released + opening * price
        if opening:
            self.opened_at = now_ms
        self.realized_pnl += realized
        return realized

    def reallocate(self, before: Decimal, price: Decimal, max_leverage: int) -> None:
        """Keep an isolated position's allocation after a fill at `price` moved its size from
        `before`: a grown position adds the new quantity's notional / maxLeverage, a shrunk one
        keeps the remaining fraction, a flat one holds nothing and a flipped one starts anew."""
        after = self.size
        same_side = bool(before) and (before > 0) == (after > 0)
        if not after:
            self.margin = ZERO
        elif same_side and abs(after) <= abs(before):
            self.margin = usdc(self.margin * after / before)
        elif same_side:
            self.margin += usdc((abs(after) - abs(before)) * price / max_leverage)
        else:
            self.margin = usdc(abs(after) * price / max_leverage)

    def __repr__(self) -> str:
        return f"Position({self.market_id}/{self.margin_mode}, size={self.size}, cost={self.cost})"


@dataclass(slots=True, eq=False)
class User:
    """A trader. Compared by identity: two users are never "equal" by their contents."""

    user_id: str
    wallet_address: str
    created_at: int
    house: bool = False
    """One of the simulator's own traders (engine/sim.py): nobody reads its order history, so
    its orders leave memory as soon as they end (commands/retention.py)."""
    positions: dict[tuple[str, MarginMode], Position] = field(default_factory=dict)
    position_epoch: int = 0
    """Counts changes to the positions, so margin figures can be cached between them."""
    orders: dict[str, Order] = field(default_factory=dict)
    """Every order by id, oldest first (those that ended before a world's retention window
    forgotten: docs/fidelity.md "Retention")."""
    open_orders: dict[str, Order] = field(default_factory=dict)
    """Non-terminal orders by id, oldest first."""
    open_counts: dict[str, int] = field(default_factory=dict)
    """Per market, how many of `open_orders` are on it (the cap on them: admission.py)."""
    reduce_only_orders: dict[str, Order] = field(default_factory=dict)
    """The reduce-only subset of `open_orders` (checked on every position change)."""
    client_order_ids: dict[tuple[str, str], Order] = field(default_factory=dict)
    """(venue, clientOrderId) → the latest order that carried it: taken while that order is
    open and for 24 hours after it ended (docs/fidelity.md "Orders")."""
    fills: deque[FillRow] = field(default_factory=deque)
    """Every fill, oldest first, as plain tuples (`Fill._make` reads one); those before a
    world's retention window forgotten."""
    fills_forgotten: int = 0
    """How many fills were forgotten: with `fills`, how many the user ever had."""
    spot_locked: dict[str, Decimal] = field(default_factory=dict)
    """Per asset, what resting spot orders hold out of the available inventory."""
    order_margin: dict[str, Decimal] = field(default_factory=dict)
    """On `perps`, the margin the user's resting orders hold: the sum of the ladders' (read
    it through `Risk.open_order_margin`, which brings the ladders up to date first)."""
    option_orders_epoch: int = 0
    """Counts changes to the user's resting option orders, so the options bucket's figures,
    worked out on demand from every resting order (core/options_risk.py), can be cached
    between them."""
    ladders: dict[tuple[str, MarginMode], Ladder] = field(default_factory=dict)
    """Per linear market and margin mode, the resting orders that may hold margin
    (core/order_margin.py)."""
    ladders_stale: bool = False
    """A ladder changed since the perps order margin was last worked out."""
    ladders_epoch: int = 0
    """`position_epoch` when it was last worked out (a position change moves what it absorbs)."""

    def position(self, market_id: str, margin_mode: MarginMode) -> Position | None:
        return self.positions.get((market_id, margin_mode))

    def position_for_update(self, market_id: str, margin_mode: MarginMode, now_ms: int) -> Position:
        key = (market_id, margin_mode)
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = Position(market_id, margin_mode, now_ms)
        return position


class Accounts:
    """The registry of users, by id and by checksummed address."""

    def __init__(self) -> None:
        self.by_id: dict[str, User] = {}
        self.by_address: dict[str, User] = {}

    def add(self, user: User) -> None:
        self.by_id[user.user_id] = user
        self.by_address[user.wallet_address] = user

    def get(self, user_id: str) -> User | None:
        return self.by_id.get(user_id)

    def find_address(self, address: str) -> User | None:
        return self.by_address.get(checksum_address(address))

    def __iter__(self) -> Iterator[User]:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)
