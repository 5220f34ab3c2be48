"""Golden digests: the event logs of fixed runs, pinned as constants.

A digest covers every event in order (events.py), so a run that ends on its pinned digest did
exactly what it did when the constant was recorded: the same facts, in the same order, at the
same instants, with the same ids. Reaction order is behaviour (which stop fires first, whether a
liquidation runs before or after a trigger), so a refactor of the engine must leave every one of
these unchanged; a change of rule changes some of them on purpose, and the commit that changes a
constant says which rule did it.

The runs: every bundled scenario over its whole timeline (the same digest `ocx-sim run`
prints), the seeded command stream of test_determinism.py, and two richer streams written here
that reach the exchange's own reactions: stop, take-profit and stop-loss orders (some crossed
when they are placed or armed), liquidations after index jumps and after fills, funding with
positions, futures and options expiring with positions and orders on them, withdrawals through
the keeper, halts, outside trades, and — in the second stream — the sandbox's walking index and
liquidity agents, so that triggers and liquidations also run from inside the price tick.
"""

from __future__ import annotations

import contextlib
import random
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

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
from ocx_sim.engine.core.events import (
    AccountLiquidated,
    FundingPaid,
    MarketExpired,
    OrderModified,
    OrderTriggered,
    PositionSettled,
    SettlementChanged,
    TradeExecuted,
)
from ocx_sim.engine.core.markets import MarketSpec
from ocx_sim.worlds import World, WorldConfig
from ocx_sim.worlds.scenario_run import with_scenario
from tests.engine.test_determinism import run as determinism_run

D = Decimal

BUNDLED_DIGESTS = {
    "exchange-outage": "89fd9e14c5b47515eb912c3c6a6bd6a9859e5ce9a7b43056c3b8477d25f0f5bd",
    "funding-squeeze": "fc8b521f3d7986c97a62c0710f64dbe5b9a95dd0c848e4b73e89478fbc6375dc",
    "futures-expiry": "db921b7c5fa27a77d4f11a0521621f353ee782c3ae2223bb3e71cda5fff91a53",
    "liquidation-cascade": "eac5d750ae35dd15bb67c3b97b1695b48b730421c92740327833013ac8a223a8",
    "rate-limit-storm": "96fac84dc9720b0bba17f6dbcec917a874958597878c86fdde1253b59dec6756",
    "sandbox": "c6849e814888f3e28ec406fea97eeb0a66ebcc155b1cb0b1bdef1a4be099370a",
    "vol-crush": "22bbd0fc9b8c90574bc1b9df85211a4066f3dc78934072022e6c6f7054f60081",
    "withdrawal-failures": "fda3e8bb3a34e0b851344c8c5d1178062bbe8c14d552c2cfd233165bb1d62900",
}
DETERMINISM_DIGEST = "b612b62709951aa3ccc40f01a557862780b5ccb969e7ff51c5a7bbfd63594014"
REACTIONS_DIGEST = "e9a812ae958adae40da6f5ba1dc622ca82cebb30eaa4dde45b0b05441e999b52"
SANDBOX_REACTIONS_DIGEST = "ecdaa77997c3db14701ad7891b0cad461f9a1201925b3a99f2033c82f1494b3a"


@pytest.mark.parametrize("name", sorted(BUNDLED_DIGESTS))
def test_a_bundled_scenario_replays_to_its_pinned_digest(name: str) -> None:
    world = World("golden", with_scenario(WorldConfig(), name))
    world.exchange.advance_to(world.scenarios.runs[0].end_ms)

    assert world.exchange.digest() == BUNDLED_DIGESTS[name]


def test_the_determinism_stream_replays_to_its_pinned_digest() -> None:
    assert determinism_run(exchange_seed=5, stream_seed=42).digest() == DETERMINISM_DIGEST


def test_the_reactions_stream_replays_to_its_pinned_digest() -> None:
    exchange = reactions_run(seed=11, sandbox=False)

    assert exchange.digest() == REACTIONS_DIGEST
    assert exchange.check_invariants() == []


def test_the_sandbox_reactions_stream_replays_to_its_pinned_digest() -> None:
    exchange = reactions_run(seed=12, sandbox=True)

    assert exchange.digest() == SANDBOX_REACTIONS_DIGEST
    assert exchange.check_invariants() == []


@pytest.mark.parametrize("sandbox", [False, True])
def test_the_reactions_streams_reach_every_reaction(sandbox: bool) -> None:
    """The pinned digests are only worth what the streams exercise."""
    exchange = reactions_run(seed=12 if sandbox else 11, sandbox=sandbox)
    kinds = {type(e) for e in exchange.events}

    assert {
        TradeExecuted,
        OrderTriggered,
        OrderModified,
        AccountLiquidated,
        FundingPaid,
        MarketExpired,
        PositionSettled,
        SettlementChanged,
    } <= kinds
    children = [
        e
        for e in exchange.events
        if type(e).__name__ == "OrderAccepted"
        and getattr(e, "reduce_only", False)
        and getattr(e, "stop_price", None) is not None
        and (getattr(e, "take_profit_price", None) or getattr(e, "stop_loss_price", None))
    ]
    assert children, "no take-profit or stop-loss child was armed"


# -- the reactions streams -------------------------------------------------------------------

START = "2026-03-26T18:00:00Z"
"""Fourteen hours before the March future and its options expire, so the streams cross
expiries with positions and orders on them."""
ROLES = ("perp", "perp", "perp", "xperp", "future", "spot", "call", "put")


def reactions_run(seed: int, sandbox: bool, length: int = 1500) -> Exchange:
    rng = random.Random(seed)
    exchange = Exchange.create(seed=seed, start=START)
    if sandbox:
        exchange.sim.start_sandbox()
    users: list[str] = []
    for n in range(6):
        user = exchange.register_user(f"0x{n + 1:040x}").user_id
        users.append(user)
        exchange.sim.deposit(user, D(rng.randint(30_000, 90_000)))
        for bucket, share in ((Bucket.PERPS, "0.6"), (Bucket.SPOT, "0.2"), (Bucket.OPTIONS, "0.1")):
            balance = exchange.balances(user).wallet
            exchange.transfer(user, Bucket.WALLET, bucket, (balance * D(share)).quantize(D("1")))
    for _ in range(length):
        with contextlib.suppress(OcxError):
            _step(exchange, rng, users, sandbox)
    return exchange


def _market(exchange: Exchange, role: str) -> MarketSpec:
    now = exchange.now_ms
    if role == "perp":
        return exchange.market("BTC-PERP")
    if role == "xperp":
        return exchange.market("XAUT-USDC-PERP")
    if role == "spot":
        return exchange.market("BTC-USDC-SPOT")
    if role == "future":
        return next(m for m in exchange.catalog.futures("BTC") if not m.expired_at(now))
    options = [m for m in exchange.catalog.options("BTC") if not m.expired_at(now)]
    expiry = min(m.expiry_ms or 0 for m in options)
    wanted = "C" if role == "call" else "P"
    nearest = [m for m in options if m.expiry_ms == expiry and m.id.endswith(wanted)]
    index = exchange.index_price("BTC-PERP") or D(68_000)
    return min(nearest, key=lambda m: abs((m.strike or index) - index))


def _price(spec: MarketSpec, reference: Decimal, offset_bps: int) -> Decimal:
    ticks = (reference * (1 + D(offset_bps) / 10_000) / spec.tick).to_integral_value(
        ROUND_HALF_EVEN
    )
    return spec.tick * max(ticks, D(1))


def _quantity(spec: MarketSpec, reference: Decimal, rng: random.Random) -> Decimal:
    if spec.is_option:
        return spec.step * rng.randint(1, 150)
    notional = D(rng.choice([300, 2_000, 8_000, 25_000, 60_000, 120_000]))
    return spec.step * max(1, int(notional / reference / spec.step))


def _step(exchange: Exchange, rng: random.Random, users: list[str], sandbox: bool) -> None:
    kind = rng.choices(
        [
            "order",
            "stop",
            "bracket",
            "cancel",
            "modify",
            "cancel_all",
            "quotes",
            "close",
            "index",
            "pin",
            "advance",
            "withdraw",
            "outside",
            "halt",
            "money",
        ],
        weights=[30, 8, 8, 5, 5, 2, 5, 3, 5 if not sandbox else 2, 2, 14, 2, 3, 1, 2],
    )[0]
    user = rng.choice(users)
    if kind == "advance":
        exchange.advance_by(rng.choice([1, 250, 1_000, 7_000, 60_000, 300_000, 3_600_000]))
        return
    if kind == "index":
        move = rng.choice([-1500, -800, -300, -50, 50, 300, 800, 1500])
        index = exchange.index_price("BTC-PERP") or D(68_000)
        if rng.random() < 0.15 and not sandbox:
            exchange.sim.set_curve("BTC", _price(exchange.market("BTC-PERP"), index, move), index)
        else:
            exchange.sim.set_index("BTC-PERP", index * (1 + D(move) / 10_000))
        return
    if kind == "pin":
        spec = exchange.market("BTC-PERP")
        mark = exchange.mark_price(spec.id) or D(68_000)
        pin = None if rng.random() < 0.4 else _price(spec, mark, rng.randint(-400, 400))
        exchange.sim.pin_mark(spec.id, pin)
        return
    if kind == "halt":
        market = _market(exchange, rng.choice(ROLES)).id
        if exchange.is_halted(market):
            exchange.sim.resume(market)
        else:
            exchange.sim.halt(market)
        return
    if kind == "money":
        choice = rng.random()
        if choice < 0.3:
            exchange.sim.set_vault_liquidity(D(rng.choice([0, 500, 5_000])))
        elif choice < 0.5:
            exchange.sim.fail_next_withdrawal()
        elif choice < 0.7:
            exchange.sim.set_next_funding_rate("BTC-PERP", D(rng.choice(["0.001", "-0.0015"])))
        else:
            exchange.sim.submit_deposit(
                f"0x{users.index(user) + 1:040x}", D(rng.randint(100, 5_000))
            )
        return
    if kind == "withdraw":
        exchange.withdraw(user, D(rng.randint(50, 3_000)))
        return
    spec = _market(exchange, rng.choice(ROLES))
    mark = exchange.mark_price(spec.id) or D(68_000)
    side = rng.choice([Side.BUY, Side.SELL])
    if kind == "outside":
        exchange.sim.outside_trade(
            spec.id, side, _price(spec, mark, rng.randint(-300, 300)), _quantity(spec, mark, rng)
        )
        return
    if kind == "cancel":
        orders = exchange.orders(user)
        if orders:
            exchange.cancel_order(user, rng.choice(orders).id)
        return
    if kind == "modify":
        orders = exchange.open_orders(user)
        if orders:
            order = rng.choice(orders)
            target = exchange.market(order.market_id)
            reference = exchange.mark_price(target.id) or mark
            exchange.modify_order(
                user,
                order.id,
                price=_price(target, reference, rng.randint(-200, 200))
                if rng.random() < 0.7
                else None,
                quantity=_quantity(target, reference, rng) if rng.random() < 0.5 else None,
            )
        return
    if kind == "cancel_all":
        exchange.cancel_all(user, market_id=spec.id if rng.random() < 0.5 else None)
        return
    if kind == "close":
        positions = exchange.positions(user)
        if positions:
            position = rng.choice(positions)
            exchange.close_position(
                user,
                position.market_id,
                margin_mode=position.margin_mode,
                quantity=None if rng.random() < 0.6 else abs(position.size) / 2,
            )
        return
    if kind == "quotes":
        rungs = [
            QuoteRequest(
                s,
                _price(spec, mark, sign * rng.randint(5, 150)),
                _quantity(spec, mark, rng),
                post_only=rng.random() < 0.3,
            )
            for _ in range(rng.randint(1, 3))
            for s, sign in ((Side.BUY, -1), (Side.SELL, 1))
        ]
        exchange.place_quotes(user, spec.id, rungs, cancel_all=rng.random() < 0.5)
        return
    is_market = rng.random() < 0.35
    fields: dict[str, object] = {
        "type": OrderType.MARKET if is_market else OrderType.LIMIT,
        "time_in_force": rng.choice([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC]),
        "margin_mode": rng.choice([MarginMode.CROSS, MarginMode.CROSS, MarginMode.ISOLATED]),
        "reduce_only": rng.random() < 0.12 and not spec.is_spot,
        "client_order_id": rng.choice([None, None, None, f"c{rng.randrange(5)}"]),
    }
    if not is_market or spec.is_option:
        fields["price"] = _price(spec, mark, rng.randint(-120, 120))
    if kind == "stop":
        fields["stop_price"] = _price(spec, mark, rng.choice([-400, -150, -40, 40, 150, 400]))
    if kind == "bracket" and not (spec.is_spot or spec.is_option):
        fields["reduce_only"] = False
        up = _price(spec, mark, rng.randint(30, 500))
        down = _price(spec, mark, -rng.randint(30, 500))
        if rng.random() < 0.2:
            # Born crossed: a stop-loss on the wrong side of the mark fires as soon as it arms.
            up, down = _price(spec, mark, 1200), _price(spec, mark, 600)
        tp, sl = (up, down) if side is Side.BUY else (down, up)
        fields["take_profit_price"], fields["stop_loss_price"] = tp, sl
    exchange.place_order(
        user,
        OrderRequest(spec.id, side, _quantity(spec, mark, rng), **fields),  # type: ignore[arg-type]
    )
