"""Same seed + same commands ⇒ the same event log, ids and ledger (nothing reads the real time
or draws an unseeded random number: docs/architecture.md "Layers").

A command stream is drawn from `random.Random(stream_seed)` in the test: users, deposits,
transfers, orders of every kind on several markets, cancels, modifies, cancel-alls, quote
ladders, mark moves and clock advances. Commands refer to users and orders by position, and
are resolved against the exchange while they run, so the same stream drives any exchange.
Refusals (`OcxError`) are part of the run and ignored; anything else is a bug and fails.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from ocx_sim import (
    Bucket,
    Exchange,
    MarginMode,
    OcxError,
    OrderRequest,
    OrderType,
    QuoteRequest,
    Side,
    TimeInForce,
)
from ocx_sim.engine.core.events import OrderCancelled, OrderModified, TradeExecuted
from ocx_sim.testing.builders import credit_spot

D = Decimal
Command = tuple[object, ...]


def market_ids(exchange: Exchange) -> list[str]:
    """Two perps, a dated future, a spot pair and two options, in catalog order."""
    future = exchange.catalog.futures("BTC")[0].id
    options = [m.id for m in exchange.catalog.options("BTC")]
    return [
        "BTC-PERP",
        "XAUT-USDC-PERP",
        future,
        "BTC-USDC-SPOT",
        options[len(options) // 2],
        options[-1],
    ]


def command_stream(seed: int, length: int) -> list[Command]:
    rng = random.Random(seed)
    commands: list[Command] = [("register", n) for n in range(5)]
    for n in range(5):
        commands.append(("deposit", n, str(rng.randint(20_000, 60_000)), None))
        for bucket in (Bucket.PERPS, Bucket.SPOT, Bucket.OPTIONS):
            commands.append(("transfer", n, Bucket.WALLET, bucket, str(rng.randint(3000, 9000))))
        commands.append(("btc", n, f"0.{rng.randint(1, 9)}"))
    kinds = ["order"] * 10 + ["cancel", "modify", "cancel_all", "quotes", "deposit"]
    kinds += ["transfer", "advance", "advance", "mark", "register"]
    for _ in range(length):
        kind = rng.choice(kinds)
        user = rng.randrange(8)
        if kind == "order":
            commands.append(
                (
                    "order",
                    user,
                    rng.choice([0, 0, 0, 1, 2, 3, 3, 4, 5]),
                    rng.choice(list(Side)),
                    rng.choice([OrderType.LIMIT, OrderType.LIMIT, OrderType.MARKET]),
                    rng.randint(1, 40),
                    rng.randint(-150, 150),
                    rng.choice(list(TimeInForce)),
                    rng.random() < 0.15,
                    rng.random() < 0.15,
                    rng.choice([None, None, f"c{rng.randrange(6)}"]),
                    rng.choice([MarginMode.CROSS, MarginMode.CROSS, MarginMode.ISOLATED]),
                )
            )
        elif kind == "cancel":
            commands.append(("cancel", user, rng.randrange(1000)))
        elif kind == "modify":
            price_offset = rng.choice([None, rng.randint(-150, 150)])
            lots = rng.choice([None, rng.randint(1, 40)])
            commands.append(("modify", user, rng.randrange(1000), price_offset, lots))
        elif kind == "cancel_all":
            commands.append(("cancel_all", user, rng.choice([None, *range(6)])))
        elif kind == "quotes":
            rungs = [(rng.randint(1, 20), rng.randint(10, 120)) for _ in range(rng.randint(1, 3))]
            commands.append(("quotes", user, rng.randrange(6), rungs, rng.random() < 0.5))
        elif kind == "deposit":
            tx = rng.choice([None, f"0x{rng.randrange(8):064x}"])
            commands.append(("deposit", user, f"{rng.randint(1, 10**9) / 100:.2f}", tx))
        elif kind == "transfer":
            source, target = rng.sample(list(Bucket), 2)
            amount = f"{rng.randint(-100, 10**8) / 10**4:.4f}"
            commands.append(("transfer", user, source, target, amount))
        elif kind == "advance":
            commands.append(("advance", rng.choice([1, 250, 60_000, 3_600_000])))
        elif kind == "mark":
            commands.append(("mark", rng.randint(-200, 200)))
        else:
            commands.append(("register", rng.randrange(12)))
    return commands


def price_near_mark(exchange: Exchange, market_id: str, offset_bps: int) -> Decimal:
    mark = exchange.mark_price(market_id)
    assert mark is not None
    tick = exchange.market(market_id).tick
    ticks = (mark * (1 + D(offset_bps) / 10_000) / tick).to_integral_value(ROUND_HALF_EVEN)
    return tick * max(ticks, D(1))


def quantity(exchange: Exchange, market_id: str, lots: int) -> Decimal:
    step = exchange.market(market_id).step
    return step * lots * (10 if step < D("0.001") else 1)


def run(exchange_seed: int, stream_seed: int, length: int = 600) -> Exchange:
    exchange = Exchange.create(seed=exchange_seed)
    markets = market_ids(exchange)
    users: list[str] = []
    for command in command_stream(stream_seed, length):
        with contextlib.suppress(OcxError):
            apply(exchange, markets, users, command)
    return exchange


def apply(exchange: Exchange, markets: list[str], users: list[str], command: Command) -> None:
    kind, *args = command
    if kind == "register":
        (n,) = args
        registered = exchange.register_user(f"0x{int(str(n)) + 1:040x}")
        if registered.user_id not in users:
            users.append(registered.user_id)
        return
    if kind == "advance":
        exchange.advance_by(int(str(args[0])))
        return
    if kind == "mark":
        exchange.sim.pin_mark("BTC-PERP", D(68000) * (1 + D(str(args[0])) / 10_000))
        return
    user = users[int(str(args[0])) % len(users)]
    if kind == "btc":
        credit_spot(exchange, user, "BTC", D(str(args[1])))
    elif kind == "deposit":
        _, amount, tx = args
        exchange.sim.deposit(user, D(str(amount)), tx_hash=tx if tx is None else str(tx))
    elif kind == "transfer":
        _, source, target, amount = args
        assert isinstance(source, Bucket) and isinstance(target, Bucket)
        exchange.transfer(user, source, target, D(str(amount)))
    elif kind == "order":
        _, market, side, order_type, lots, offset, tif, post_only, reduce_only, cid, mode = args
        market_id = markets[int(str(market))]
        assert isinstance(side, Side) and isinstance(order_type, OrderType)
        assert isinstance(tif, TimeInForce) and isinstance(mode, MarginMode)
        is_limit = order_type is OrderType.LIMIT
        exchange.place_order(
            user,
            OrderRequest(
                market_id,
                side,
                quantity(exchange, market_id, int(str(lots))),
                type=order_type,
                price=price_near_mark(exchange, market_id, int(str(offset)))
                if is_limit or market_id in markets[4:]
                else None,
                time_in_force=tif,
                post_only=bool(post_only) and is_limit,
                reduce_only=bool(reduce_only),
                margin_mode=mode,
                client_order_id=None if cid is None else str(cid),
            ),
        )
    elif kind == "cancel":
        orders = exchange.orders(user)
        if orders:
            exchange.cancel_order(user, orders[int(str(args[1])) % len(orders)].id)
    elif kind == "modify":
        _, pick, offset, lots = args
        orders = exchange.open_orders(user)
        if orders:
            order = orders[int(str(pick)) % len(orders)]
            exchange.modify_order(
                user,
                order.id,
                price=None
                if offset is None
                else price_near_mark(exchange, order.market_id, int(str(offset))),
                quantity=None
                if lots is None
                else quantity(exchange, order.market_id, int(str(lots))),
            )
    elif kind == "cancel_all":
        (_, market) = args
        exchange.cancel_all(user, market_id=None if market is None else markets[int(str(market))])
    elif kind == "quotes":
        _, market, rungs, replace = args
        market_id = markets[int(str(market))]
        assert isinstance(rungs, list)
        quotes = [
            QuoteRequest(
                side,
                price_near_mark(exchange, market_id, sign * int(distance)),
                quantity(exchange, market_id, int(size)),
            )
            for size, distance in rungs
            for side, sign in ((Side.BUY, -1), (Side.SELL, 1))
        ]
        exchange.place_quotes(user, market_id, quotes, cancel_all=bool(replace))
    else:
        raise AssertionError(f"unknown command {kind}")


def test_the_same_seed_and_commands_give_the_same_digest_and_ledger_ids() -> None:
    first, second = run(exchange_seed=5, stream_seed=42), run(exchange_seed=5, stream_seed=42)

    assert list(first.events) == list(second.events)
    assert first.digest() == second.digest()
    assert [e.id for e in first.ledger.entries] == [e.id for e in second.ledger.entries]
    assert first.ledger.entries == second.ledger.entries
    assert first.ledger.balances == second.ledger.balances
    assert [u.user_id for u in first.users] == [u.user_id for u in second.users]
    assert first.now_ms == second.now_ms
    assert first.check_invariants() == []


def test_the_stream_exercises_trading_not_just_refusals() -> None:
    exchange = run(exchange_seed=5, stream_seed=42)

    kinds = {type(e) for e in exchange.events}
    assert {TradeExecuted, OrderCancelled, OrderModified} <= kinds
    trades = [e for e in exchange.events if isinstance(e, TradeExecuted)]
    traded = {e.market_id for e in trades}
    assert {"BTC-PERP", "BTC-USDC-SPOT"} <= traded
    assert len(trades) >= 20
    assert exchange.now_ms > Exchange.create(seed=5).now_ms


def test_a_different_exchange_seed_gives_a_different_digest() -> None:
    base = run(exchange_seed=5, stream_seed=42)
    other = run(exchange_seed=6, stream_seed=42)

    assert base.digest() != other.digest()
    assert [e.id for e in base.ledger.entries] != [e.id for e in other.ledger.entries]
    # only the seeded ids differ: the same commands moved the same money
    assert sorted(base.ledger.totals().items()) == sorted(other.ledger.totals().items())
    assert [e.amount for e in base.ledger.entries] == [e.amount for e in other.ledger.entries]


def test_several_stream_seeds_replay_identically() -> None:
    for stream_seed in (1, 2, 3):
        first = run(exchange_seed=stream_seed, stream_seed=stream_seed, length=200)
        second = run(exchange_seed=stream_seed, stream_seed=stream_seed, length=200)
        assert first.digest() == second.digest(), stream_seed
        assert [e.id for e in first.ledger.entries] == [e.id for e in second.ledger.entries]
        assert first.check_invariants() == []


def test_the_digest_does_not_depend_on_the_process_hash_seed() -> None:
    """Set or dict-of-str iteration leaking into output would differ between processes."""
    root = Path(__file__).resolve().parents[2]
    script = "from tests.engine.test_determinism import run; print(run(5, 42, 300).digest())"
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(done.stdout.strip())

    assert digests == {run(5, 42, 300).digest()}
