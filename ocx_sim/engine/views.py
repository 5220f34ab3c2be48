"""The read models `Exchange` queries answer with: frozen values, built on demand."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.orders import MarginMode


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    market_id: str
    bids: list[tuple[Decimal, Decimal]]
    """(price, quantity) per level, best (highest) first."""
    asks: list[tuple[Decimal, Decimal]]
    """(price, quantity) per level, best (lowest) first."""
    sequence: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class PositionView:
    market_id: str
    margin_mode: MarginMode
    size: Decimal
    """Signed: positive long, negative short."""
    entry_price: Decimal
    mark_price: Decimal | None
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    funding_payment: Decimal
    leverage: Decimal | None
    """Notional at the mark / the equity backing it (the cross part's, or an isolated
    position's own); None for options and when that equity is not positive."""
    liquidation_price: Decimal | None
    """The mark at which the backing equity meets maintenance, on the tick toward safety
    (risk.py `liquidation_price`); None for options and when there is no positive one."""
    margin: Decimal = Decimal(0)
    """An isolated position's allocated initial margin; zero for cross."""

    @property
    def side(self) -> str:
        return "long" if self.size > 0 else "short"


@dataclass(frozen=True, slots=True)
class Balances:
    """USDC per bucket (`spot` is the spot bucket's USDC, locked part included)."""

    wallet: Decimal
    perps: Decimal
    options: Decimal
    spot: Decimal


@dataclass(frozen=True, slots=True)
class AssetBalance:
    asset: str
    bucket: str
    available: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.available + self.locked


@dataclass(frozen=True, slots=True)
class WalletSummary:
    """`GET /wallet/balance`."""

    balances: Balances
    onchain_deposit_total: Decimal
    pending_withdrawal_total: Decimal

    @property
    def tradable(self) -> Decimal:
        """GitBook's `tradableBalance`: the USDC in all four buckets."""
        b = self.balances
        return b.wallet + b.perps + b.options + b.spot
