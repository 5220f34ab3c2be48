"""Shared test setup: Hypothesis profiles and factories for exchanges, users and orders."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings

from ocx_sim import Bucket, Exchange, OcxError, OrderRequest, OrderType, Side
from ocx_sim.engine.core.ledger import EntryType, SystemBucket, system_account

# `ci` (the default) bounds every property test so `make test` stays within its time budget;
# `dev` digs deeper: HYPOTHESIS_PROFILE=dev make test.
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

D = Decimal


@pytest.fixture
def exchange() -> Exchange:
    """A fresh exchange on the default catalog, clock at 2026-01-02T00:00:00.000Z."""
    return Exchange.create(seed=1)


UserFactory = Callable[..., str]


@pytest.fixture
def make_user(exchange: Exchange) -> UserFactory:
    """`make_user(perps="5000", spot="0", options="0", wallet="0")` → a new funded user's id.

    Each call registers a new wallet address and deposits the total, then moves each bucket's
    share out of the wallet through the ordinary transfer command.
    """
    counter = iter(range(1, 10_000))

    def make(
        perps: str | Decimal = "0",
        spot: str | Decimal = "0",
        options: str | Decimal = "0",
        wallet: str | Decimal = "0",
    ) -> str:
        address = f"0x{next(counter):040x}"
        user = exchange.register_user(address)
        shares = {Bucket.PERPS: D(perps), Bucket.SPOT: D(spot), Bucket.OPTIONS: D(options)}
        total = D(wallet) + sum(shares.values())
        if total:
            exchange.sim.deposit(user.user_id, total)
        for bucket, amount in shares.items():
            if amount:
                exchange.transfer(user.user_id, Bucket.WALLET, bucket, amount)
        return user.user_id

    return make


def limit(market_id: str, side: str, quantity: str, price: str, **fields: object) -> OrderRequest:
    """A limit order request: `limit("BTC-PERP", "buy", "0.1", "67000")`."""
    return OrderRequest(market_id, Side(side), D(quantity), price=D(price), **fields)  # type: ignore[arg-type]


def market(market_id: str, side: str, quantity: str, **fields: object) -> OrderRequest:
    """A market order request: `market("BTC-PERP", "sell", "0.1")`."""
    return OrderRequest(market_id, Side(side), D(quantity), type=OrderType.MARKET, **fields)  # type: ignore[arg-type]


def footprint(exchange: Exchange) -> tuple[object, ...]:
    """Everything a refused command must leave as it was (DECISIONS.md: a refused order is in
    no list, no ledger entry and no event): the event log, every balance and ledger entry,
    every user's orders and what they hold, and every book."""
    books = []
    for spec in exchange.catalog:
        depth = exchange.depth(spec.id)
        if depth.bids or depth.asks or depth.sequence:
            books.append((spec.id, depth.bids, depth.asks, depth.sequence))
    orders = [
        (o.id, o.status, o.price, o.quantity, o.remaining, o.margin, o.lock)
        for user in exchange.users
        for o in exchange.orders(user.user_id)
    ]
    open_orders = [o.id for user in exchange.users for o in exchange.open_orders(user.user_id)]
    return (
        exchange.digest(),
        len(exchange.ledger),
        dict(exchange.ledger.balances),
        orders,
        open_orders,
        books,
    )


def refused(exchange: Exchange, action: Callable[[], object]) -> OcxError:
    """The OcxError `action` raises, after checking it left no trace (DESIGN.md: a refused
    command changes nothing): the exchange's footprint is the same before and after."""
    before = footprint(exchange)
    with pytest.raises(OcxError) as caught:
        action()
    assert footprint(exchange) == before
    return caught.value


def credit_spot(exchange: Exchange, user_id: str, asset: str, amount: str | Decimal) -> None:
    """Give a user base-asset inventory in the spot bucket. The engine has no command for this
    (deposits are USDC only; users buy their BTC), so tests move it in from the outside world's
    account on the ledger, which keeps the ledger balanced."""
    exchange.ledger.move(
        exchange.now_ms,
        system_account(SystemBucket.EXTERNAL, asset),
        (user_id, Bucket.SPOT.value, asset),
        D(amount),
        EntryType.DEPOSIT,
    )


class FakeRealTime:
    """A real-time source a test moves by hand: `real_time()` returns `now` (seconds)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
