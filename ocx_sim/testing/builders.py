"""Builders for tests that drive an `Exchange` in-process: order requests, funded users, a
check that a refused command changed nothing, and a real-time source moved by hand.

    from ocx_sim import ErrorCode, Exchange
    from ocx_sim.testing.builders import funded_user, limit, refused

    exchange = Exchange.create(seed=1)
    trader = funded_user(exchange, perps="5000")
    exchange.place_order(trader, limit("BTC-PERP", "buy", "0.01", "67000.00"))
    too_big = limit("BTC-PERP", "buy", "10", "67000.00")
    error = refused(exchange, lambda: exchange.place_order(trader, too_big))
    assert error.code is ErrorCode.INSUFFICIENT_MARGIN

Amounts are strings or `Decimal`s (never floats: money is exact). The builders call only the
exchange's ordinary commands, except `credit_spot`, which books its movement on the ledger
directly and keeps the ledger balanced.

Importing this module loads the engine but no web stack; `ocx_sim.testing` does not import it,
so the pytest plugin costs nothing until a test imports the builders.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from ocx_sim import (
    Bucket,
    Exchange,
    MarginMode,
    OcxError,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
)
from ocx_sim.engine.core.ledger import EntryType, SystemBucket, system_account

__all__ = [
    "Amount",
    "FakeRealTime",
    "UserFactory",
    "credit_spot",
    "footprint",
    "funded_user",
    "limit",
    "market",
    "refused",
]

Amount = str | Decimal
"""A quantity, price or sum of money: `"0.1"` or `Decimal("0.1")`."""


def limit(
    market_id: str,
    side: str | Side,
    quantity: Amount,
    price: Amount,
    *,
    time_in_force: TimeInForce = TimeInForce.GTC,
    post_only: bool = False,
    reduce_only: bool = False,
    margin_mode: MarginMode = MarginMode.CROSS,
    client_order_id: str | None = None,
    stop_price: Decimal | None = None,
    take_profit_price: Decimal | None = None,
    stop_loss_price: Decimal | None = None,
    quote_id: str | None = None,
) -> OrderRequest:
    """A limit order request: `limit("BTC-PERP", "buy", "0.1", "67000.00")`.

    The keywords are `OrderRequest`'s other fields, with its defaults (GTC, cross margin). The
    builder checks nothing, so it can build the requests an exchange must refuse as well."""
    return OrderRequest(
        market_id,
        Side(side),
        Decimal(quantity),
        type=OrderType.LIMIT,
        price=Decimal(price),
        time_in_force=time_in_force,
        post_only=post_only,
        reduce_only=reduce_only,
        margin_mode=margin_mode,
        client_order_id=client_order_id,
        stop_price=stop_price,
        take_profit_price=take_profit_price,
        stop_loss_price=stop_loss_price,
        quote_id=quote_id,
    )


def market(
    market_id: str,
    side: str | Side,
    quantity: Amount,
    *,
    time_in_force: TimeInForce = TimeInForce.GTC,
    post_only: bool = False,
    reduce_only: bool = False,
    margin_mode: MarginMode = MarginMode.CROSS,
    client_order_id: str | None = None,
    stop_price: Decimal | None = None,
    take_profit_price: Decimal | None = None,
    stop_loss_price: Decimal | None = None,
    quote_id: str | None = None,
) -> OrderRequest:
    """A market order request (no price): `market("BTC-PERP", "sell", "0.1")`.

    The keywords are `OrderRequest`'s other fields, with its defaults, as for `limit`."""
    return OrderRequest(
        market_id,
        Side(side),
        Decimal(quantity),
        type=OrderType.MARKET,
        time_in_force=time_in_force,
        post_only=post_only,
        reduce_only=reduce_only,
        margin_mode=margin_mode,
        client_order_id=client_order_id,
        stop_price=stop_price,
        take_profit_price=take_profit_price,
        stop_loss_price=stop_loss_price,
        quote_id=quote_id,
    )


def funded_user(
    exchange: Exchange,
    *,
    perps: Amount = "0",
    spot: Amount = "0",
    options: Amount = "0",
    wallet: Amount = "0",
    address: str | None = None,
) -> str:
    """A new user of `exchange`, funded, and its user id.

    The user signs in with `address`, else with the first of `0x…01`, `0x…02`, … that no user
    of the exchange has yet. It deposits the total of the four amounts, then moves each
    bucket's share out of its wallet with the ordinary transfer command, so the ledger and the
    event log show what a real user's funding would.
    """
    if address is None:
        address = next(
            candidate
            for candidate in (f"0x{n:040x}" for n in range(1, len(exchange.users) + 2))
            if exchange.find_user(candidate) is None
        )
    user_id = exchange.register_user(address).user_id
    shares = {
        Bucket.PERPS: Decimal(perps),
        Bucket.SPOT: Decimal(spot),
        Bucket.OPTIONS: Decimal(options),
    }
    total = Decimal(wallet) + sum(shares.values(), Decimal(0))
    if total:
        exchange.sim.deposit(user_id, total)
    for bucket, amount in shares.items():
        if amount:
            exchange.transfer(user_id, Bucket.WALLET, bucket, amount)
    return user_id


class UserFactory(Protocol):
    """`funded_user` bound to one exchange: `make_user(perps="5000")` → a new user's id."""

    def __call__(
        self,
        *,
        perps: Amount = ...,
        spot: Amount = ...,
        options: Amount = ...,
        wallet: Amount = ...,
        address: str | None = ...,
    ) -> str: ...


def credit_spot(exchange: Exchange, user_id: str, asset: str, amount: Amount) -> None:
    """Put `amount` of a base asset (`"BTC"`) in a user's spot bucket.

    The exchange has no command for this (deposits are USDC only; users buy their base
    assets), so the amount comes in on the ledger from the outside world's account for that
    asset: one movement of two entries, which keeps every asset's balances summing to zero.
    """
    exchange.ledger.move(
        exchange.now_ms,
        system_account(SystemBucket.EXTERNAL, asset),
        (user_id, Bucket.SPOT.value, asset),
        Decimal(amount),
        EntryType.DEPOSIT,
    )


_FOOTPRINT_PARTS = ("event log", "ledger entries", "balances", "orders", "open orders", "books")


def footprint(exchange: Exchange) -> tuple[object, ...]:
    """Everything a refused command must leave as it was, in one comparable value: the event
    log (its digest), the ledger's entries and balances, every user's orders with what they
    hold, every user's open orders, and every book that has ever held an order.

    A refused order is in no list, has no ledger entry and emits no event: compare the
    footprint before and after (or use `refused`)."""
    books = []
    for spec in exchange.catalog:
        depth = exchange.depth(spec.id)
        if depth.bids or depth.asks or depth.sequence:
            books.append((spec.id, depth.bids, depth.asks, depth.sequence))
    orders = [
        (o.id, o.status, o.price, o.quantity, o.remaining, o.held_lots, o.lock)
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
    """The `OcxError` that `action` raises, after checking that the refusal changed nothing:
    the exchange's `footprint` is the same before and after.

    `refused(exchange, lambda: exchange.cancel_order(user, "unknown"))` → the error, to assert
    its code on. Raises `AssertionError` when `action` returns, or when it raises but leaves a
    trace; any other exception propagates.
    """
    before = footprint(exchange)
    try:
        action()
    except OcxError as error:
        after = footprint(exchange)
        if after != before:
            changed = [
                part
                for part, was, now in zip(_FOOTPRINT_PARTS, before, after, strict=True)
                if was != now
            ]
            message = f"{error!r} was raised, but the exchange's {', '.join(changed)} changed"
            raise AssertionError(message) from error
        return error
    raise AssertionError("expected an OcxError; the action returned")


class FakeRealTime:
    """A real-time source that moves only when told: `real_time()` returns `now`, in seconds.

    Pass it where ocx-sim takes a `real_time` source (`WallClock`, `SimClock.to_realtime`,
    `Worlds`) and set `now` to make a realtime clock's time go by without waiting.
    """

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
