"""The read models `Exchange` queries answer with, and the queries that build them on demand.

Nothing here changes state: a query answers frozen values (positions, balances, depth) or the
engine's own records (orders, fills, ledger entries, settlements), newest first where a list
has an order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from ocx_sim.engine.core.accounts import INSURANCE_FUND_ADDRESS, Bucket, User
from ocx_sim.engine.core.ledger import LedgerEntry
from ocx_sim.engine.core.markets import Venue
from ocx_sim.engine.core.money import USDC, ZERO, usdc
from ocx_sim.engine.core.orders import Fill, MarginMode, Order
from ocx_sim.engine.core.settlements import Settlement, SettlementKind, SettlementStatus
from ocx_sim.engine.state import State
from ocx_sim.errors import ErrorCode, OcxError


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
    (core/risk.py `liquidation_price`); None for options and when there is no positive one."""
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


# -- the queries -----------------------------------------------------------------------------

ALL_VENUES = frozenset(Venue)


def depth(state: State, market_id: str, levels: int | None = None) -> DepthSnapshot:
    spec = state.market(market_id)
    book = state.book(spec.id)
    bids, asks = book.depth(levels)
    return DepthSnapshot(
        spec.id,
        [(spec.price(t), spec.quantity(q)) for t, q in bids],
        [(spec.price(t), spec.quantity(q)) for t, q in asks],
        book.sequence,
        state.now,
    )


def orders(
    state: State,
    user_id: str,
    *,
    market_id: str | None = None,
    margin_mode: MarginMode | None = None,
    venues: Collection[Venue] = ALL_VENUES,
    limit: int | None = None,
    open_only: bool = False,
) -> list[Order]:
    """The user's orders, newest first."""
    user = state.user(user_id)
    source = user.open_orders if open_only else user.orders
    markets = state.catalog.markets
    out: list[Order] = []
    for order in reversed(source.values()):
        if limit is not None and len(out) >= limit:
            break
        if (
            (market_id is None or order.market_id == market_id)
            and (margin_mode is None or order.margin_mode is margin_mode)
            and markets[order.market_id].venue in venues
        ):
            out.append(order)
    return out


def fills(
    state: State,
    user_id: str,
    *,
    market_id: str | None = None,
    venues: Collection[Venue] = ALL_VENUES,
    limit: int | None = None,
) -> list[Fill]:
    """The user's fills, newest first."""
    user = state.user(user_id)
    markets = state.catalog.markets
    out: list[Fill] = []
    for row in reversed(user.fills):
        if limit is not None and len(out) >= limit:
            break
        fill = Fill._make(row)
        if (market_id is None or fill.market_id == market_id) and markets[
            fill.market_id
        ].venue in venues:
            out.append(fill)
    return out


def realized_pnl(state: State, user_id: str, since_ms: int) -> Decimal:
    """The PnL realized by the user's fills after `since_ms` (`realized24h`)."""
    total = ZERO
    for row in reversed(state.user(user_id).fills):
        fill = Fill._make(row)
        if fill.created_at <= since_ms:
            break
        total += fill.realized_pnl
    return total


def positions(
    state: State, user_id: str, venues: Collection[Venue] = ALL_VENUES
) -> list[PositionView]:
    """Open (non-flat) positions in the order they were first opened."""
    user = state.user(user_id)
    markets = state.catalog.markets
    return [
        position_view(state, user, p.market_id, p.margin_mode)
        for p in user.positions.values()
        if p.size and markets[p.market_id].venue in venues
    ]


def position(
    state: State, user_id: str, market_id: str, margin_mode: MarginMode
) -> PositionView | None:
    """The position, or None when flat."""
    user = state.user(user_id)
    held = user.position(market_id, margin_mode)
    if held is None or not held.size:
        return None
    return position_view(state, user, market_id, margin_mode)


def held_position(
    state: State, user_id: str, market_id: str, margin_mode: MarginMode
) -> PositionView | None:
    """The position, flat or not; None when the user never held it."""
    user = state.user(user_id)
    if user.position(market_id, margin_mode) is None:
        return None
    return position_view(state, user, market_id, margin_mode)


def position_view(
    state: State, user: User, market_id: str, margin_mode: MarginMode
) -> PositionView:
    held = user.positions[(market_id, margin_mode)]
    spec = state.catalog.markets[market_id]
    risk, now = state.risk, state.now
    mark = state.prices.mark(spec, now)
    unrealized = usdc(held.size * mark - held.cost) if mark is not None else ZERO
    leverage = None
    if mark is not None and spec.venue is Venue.PERPS:
        # The equity that backs the position: its own if isolated, else the cross part's
        # (docs/fidelity.md "Margin and liquidation": cross positions share the bucket's).
        if margin_mode is MarginMode.ISOLATED:
            equity = risk.isolated(spec, held, now).equity
        else:
            equity = risk.margin(user, spec.venue, now).cross_equity
        if equity > 0:
            leverage = (abs(held.size) * mark / equity).quantize(Decimal("0.01"))
    return PositionView(
        market_id=market_id,
        margin_mode=margin_mode,
        size=held.size,
        entry_price=held.entry_price,
        mark_price=mark,
        unrealized_pnl=unrealized,
        realized_pnl=held.realized_pnl,
        funding_payment=held.funding,
        leverage=leverage,
        liquidation_price=risk.liquidation_price(user, spec, held, now),
        margin=held.margin,
    )


def open_interest(state: State, market_id: str) -> Decimal:
    """The market's open interest: the sum of all long positions (= all short ones)."""
    spec = state.market(market_id)
    return sum(
        (
            p.size
            for u in state.accounts
            for (m, _), p in u.positions.items()
            if m == spec.id and p.size > 0
        ),
        ZERO,
    )


def balances(state: State, user_id: str) -> Balances:
    uid = state.user(user_id).user_id
    balance = state.ledger.balance
    return Balances(
        wallet=balance((uid, Bucket.WALLET.value, USDC)),
        perps=balance((uid, Bucket.PERPS.value, USDC)),
        options=balance((uid, Bucket.OPTIONS.value, USDC)),
        spot=balance((uid, Bucket.SPOT.value, USDC)),
    )


def spot_assets(state: State, user_id: str) -> list[AssetBalance]:
    """The spot bucket per asset, USDC first, then assets in the order first held."""
    user = state.user(user_id)
    held = {
        asset: amount
        for (owner, bucket, asset), amount in state.ledger.balances.items()
        if owner == user.user_id and bucket == Bucket.SPOT.value
    }
    rows = []
    for asset in [USDC] + [a for a in held if a != USDC]:
        locked = user.spot_locked.get(asset, ZERO)
        rows.append(AssetBalance(asset, Bucket.SPOT.value, held.get(asset, ZERO) - locked, locked))
    return rows


def ledger_entries(state: State, user_id: str, limit: int | None = None) -> list[LedgerEntry]:
    """The user's ledger entries, newest first."""
    entries = state.ledger.entries_of(state.user(user_id).user_id)
    entries.reverse()
    return entries if limit is None else entries[:limit]


def insurance_fund(state: State) -> tuple[Decimal, list[LedgerEntry]]:
    """The insurance fund's balance (the cash of its perps and options buckets; it may be
    negative: there is no ADL) and its entries, newest first (reactions/liquidation.py)."""
    fund = state.accounts.by_address.get(INSURANCE_FUND_ADDRESS)
    if fund is None:
        return ZERO, []
    cash = balances(state, fund.user_id)
    return cash.perps + cash.options, ledger_entries(state, fund.user_id)


def settlements(
    state: State,
    user_id: str,
    *,
    kind: SettlementKind | None = None,
    status: SettlementStatus | None = None,
    limit: int | None = None,
) -> list[Settlement]:
    """The user's deposits and withdrawals, newest first."""
    records = [
        s
        for s in state.settlements.of_user(state.user(user_id).user_id)
        if (kind is None or s.kind is kind) and (status is None or s.status is status)
    ]
    return records if limit is None else records[:limit]


def settlement(state: State, user_id: str, settlement_id: str) -> Settlement:
    """One of the user's settlements; 404 NOT_FOUND for anyone else's."""
    record = state.settlements.records.get(settlement_id)
    if record is None or record.user_id != state.user(user_id).user_id:
        raise OcxError(ErrorCode.NOT_FOUND, f"Settlement {settlement_id!r} not found")
    return record


def wallet_summary(state: State, user_id: str) -> WalletSummary:
    """`GET /wallet/balance`: buckets, deposits credited, withdrawals in flight."""
    uid = state.user(user_id).user_id
    return WalletSummary(
        balances=balances(state, user_id),
        onchain_deposit_total=state.settlements.deposited.get(uid, ZERO),
        pending_withdrawal_total=state.settlements.pending_withdrawals(uid),
    )
