"""A world's state (worlds/__init__.py): snapshots kept in memory and restored any number of
times, the world continuing exactly as it did; reset, which is construction; and switching the
clock between manual and realtime. The HTTP surface is tests/api/test_control_state.py."""

from __future__ import annotations

import gc
import types
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest

from ocx_sim.auth.keys import Scope
from ocx_sim.clock import SimClock, WallClock
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.events import (
    AccountLiquidated,
    FundingSettled,
    FundsDeposited,
    OrderTriggered,
)
from ocx_sim.engine.core.orders import MarginMode, OrderRequest, OrderType, Side
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.ids import decode_ulid_time, is_ulid
from ocx_sim.testing.builders import FakeRealTime
from ocx_sim.worlds import ClockMode, KeyRequest, World, WorldConfig
from ocx_sim.worlds.faults import FaultAction, FaultMatch, FaultType

D = Decimal
PERP = "BTC-PERP"
HOUR_MS = 3_600_000
MIDWAY_MS = 600_000
"""Where the tests take their snapshot: the stops have fired, the liquidations are to come."""


def busy(world: World) -> list[str]:
    """The sandbox with BTC walking fast (300 % a year) and traders near the edge (as
    tests/engine/test_ticker.py's busy world): within hours stops fire, accounts are
    liquidated and funding is paid. Answers the traders' ids."""
    exchange = world.exchange
    exchange.sim.start_sandbox()
    exchange.sim.set_volatility("BTC", D(3))
    mark = exchange.mark_price(PERP)
    assert mark is not None
    traders = []
    for n, (side, mode, size, cash) in enumerate(
        [
            (Side.BUY, MarginMode.CROSS, "0.1", 400),
            (Side.SELL, MarginMode.CROSS, "0.1", 400),
            (Side.BUY, MarginMode.ISOLATED, "0.05", 300),
            (Side.BUY, MarginMode.CROSS, "0", 1_000),
            (Side.BUY, MarginMode.CROSS, "0", 1_000),
        ]
    ):
        account = world.create_account(f"0x{n + 1:040x}", {Bucket.PERPS: D(cash)})
        traders.append(account.user_id)
        if D(size):
            request = OrderRequest(PERP, side, D(size), type=OrderType.MARKET, margin_mode=mode)
            exchange.place_order(account.user_id, request)
    for user, side, offset in [(traders[3], Side.SELL, -150), (traders[4], Side.BUY, 150)]:
        stop = (mark + offset).quantize(D("0.01"))
        request = OrderRequest(PERP, side, D("0.02"), type=OrderType.MARKET, stop_price=stop)
        exchange.place_order(user, request)
    return traders


def later(world: World, traders: list[str]) -> tuple[object, ...]:
    """What happens next: an hour passes, a trader trades, a key and a session are made; answers
    everything a client could see of it (and a few ids drawn on the way)."""
    exchange = world.exchange
    exchange.advance_by(HOUR_MS // 4)
    request = OrderRequest(PERP, Side.SELL, D("0.01"), type=OrderType.MARKET)
    placed = exchange.place_order(traders[3], request)
    mark = exchange.mark_price(PERP)
    assert mark is not None
    for side, offset in [(Side.BUY, 40), (Side.SELL, -40)]:
        stop = (mark + offset).quantize(D("0.01"))
        request = OrderRequest(PERP, side, D("0.01"), type=OrderType.MARKET, stop_price=stop)
        exchange.place_order(traders[4], request)
    key, secret = world.keys.create(traders[4], "bot", Scope.TRADE, (), None, world.now_ms)
    exchange.advance_by(HOUR_MS - HOUR_MS // 4 + 17)
    return (
        world.now_ms,
        exchange.digest(),
        exchange.events.last_seq,
        placed.order.id,
        key.id,
        secret,
        world.sign_in(traders[0]),
        [exchange.balances(user) for user in traders],
        [exchange.positions(user) for user in traders],
        exchange.depth(PERP),
        [(t.name, t.due_ms) for t in world.clock.pending_timers()],
        world.ids.ulid(),
    )


@pytest.fixture
def world() -> World:
    return World("w", WorldConfig(seed=3))


def test_a_restored_world_continues_exactly_as_the_original(world: World) -> None:
    traders = busy(world)
    world.exchange.advance_by(MIDWAY_MS)
    at, digest = world.now_ms, world.exchange.digest()
    snapshot = world.snapshot()

    original = later(world, traders)
    world.restore(snapshot)

    assert (world.now_ms, world.exchange.digest()) == (at, digest)
    assert later(world, traders) == original


def test_the_busy_world_is_busy_enough_to_prove_it(world: World) -> None:
    # Without stops, liquidations and funding in the continuation the tests above would
    # compare two quiet worlds.
    traders = busy(world)
    world.exchange.advance_by(MIDWAY_MS)
    seq = world.exchange.events.last_seq
    later(world, traders)
    happened = {type(e) for e in world.exchange.events.since(seq)}
    assert {OrderTriggered, AccountLiquidated, FundingSettled} <= happened


def test_taking_snapshots_and_restoring_at_once_changes_nothing_the_world_does() -> None:
    plain, snapshotted = World("w", WorldConfig(seed=3)), World("w", WorldConfig(seed=3))
    plain_traders, traders = busy(plain), busy(snapshotted)
    plain.exchange.advance_by(MIDWAY_MS)
    snapshotted.exchange.advance_by(MIDWAY_MS)
    for _ in range(3):
        snapshotted.restore(snapshotted.snapshot())

    assert later(snapshotted, traders) == later(plain, plain_traders)


def _moved_on(world: World) -> tuple[object, ...]:
    world.exchange.advance_by(MIDWAY_MS)
    return world.now_ms, world.exchange.digest(), world.ids.ulid()


def test_a_snapshot_restores_any_number_of_times(world: World) -> None:
    busy(world)
    snapshot = world.snapshot()
    first = _moved_on(world)
    for _ in range(3):
        world.restore(snapshot)
        assert _moved_on(world) == first


def test_a_restore_goes_back_even_after_other_restores_and_snapshots(world: World) -> None:
    traders = busy(world)
    early = world.snapshot()
    world.exchange.advance_by(MIDWAY_MS)
    middle = world.snapshot()
    from_middle = later(world, traders)
    world.restore(early)
    world.exchange.advance_by(MIDWAY_MS)
    world.restore(middle)
    assert later(world, traders) == from_middle


def test_snapshots_are_not_copied_into_later_snapshots(world: World) -> None:
    busy(world)
    first = world.snapshot()
    second = world.snapshot()
    # Both hold the same state, byte for byte: the second does not carry the first.
    assert world.snapshots[second] == world.snapshots[first]


def test_snapshot_ids_are_ulids_on_the_world_clock_and_never_handed_out_twice(
    world: World,
) -> None:
    first = world.snapshot()
    world.restore(first)
    second = world.snapshot()  # at the same instant, after going back to before `first`
    assert second != first
    assert all(is_ulid(s) and decode_ulid_time(s) == world.now_ms for s in (first, second))


def test_taking_a_snapshot_moves_no_id_the_world_hands_out() -> None:
    plain, snapshotted = World("w", WorldConfig(seed=3)), World("w", WorldConfig(seed=3))
    snapshotted.snapshot()
    assert snapshotted.ids.ulid() == plain.ids.ulid()


def test_restoring_an_unknown_snapshot_is_404_not_found_naming_it(world: World) -> None:
    world.snapshot()
    with pytest.raises(OcxError) as refused:
        world.restore("01KDY3FWM0V0F1D2RHKKZZ1F46")
    assert refused.value.code is ErrorCode.NOT_FOUND
    assert refused.value.details == {"snapshotId": "01KDY3FWM0V0F1D2RHKKZZ1F46"}


# -- sharing nothing --------------------------------------------------------------------------

_OPAQUE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
    str,
    bytes,
    int,
    float,
    Decimal,
    Enum,
    type(None),
)
"""Values and code: never state of their own, and shared freely (interned strings, enums)."""


def _mutable_parts(root: object) -> dict[int, object]:
    """Every object reachable from `root` that could change, by id (tuples and frozensets are
    walked through but not counted)."""
    seen: dict[int, object] = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen[id(obj)] = obj
        stack.extend(gc.get_referents(obj))
    return {key: obj for key, obj in seen.items() if not isinstance(obj, tuple | frozenset)}


def test_a_restored_world_shares_no_mutable_object_with_the_one_it_replaced(world: World) -> None:
    busy(world)
    world.exchange.advance_by(MIDWAY_MS)
    snapshot = world.snapshot()
    replaced: dict[str, Any] = dict(vars(world))

    world.restore(snapshot)

    restored: dict[str, Any] = dict(vars(world))
    # Outside the state, by design.
    kept = ("snapshots", "_snapshot_ids", "_real_time", "observers", "lock", "stepping")
    old = _mutable_parts([v for k, v in replaced.items() if k not in kept])
    new = _mutable_parts([v for k, v in restored.items() if k not in kept])
    shared = [type(old[key]).__name__ for key in old.keys() & new.keys()]
    assert shared == []
    # The walk reached what matters: the clock, the id streams, the books, the ledger.
    ctx = world.exchange._state
    reached: list[object] = [world.clock, world.ids, ctx.ids._ulid_rng, ctx.books[PERP], ctx.ledger]
    assert all(id(obj) in new for obj in reached)
    for part in ("clock", "exchange", "keys", "sessions", "faults", "journal"):
        assert restored[part] is not replaced[part]
    assert world.ids is not replaced["exchange"].ids
    assert world.exchange._state.books[PERP] is not replaced["exchange"]._state.books[PERP]

    # The world it replaced runs on by itself without touching the restored one.
    at, digest = world.now_ms, world.exchange.digest()
    replaced["exchange"].advance_by(HOUR_MS)
    replaced["exchange"].ids.ulid()
    assert (world.now_ms, world.exchange.digest()) == (at, digest)


def test_a_level_thousands_of_orders_deep_survives_a_snapshot_in_time_priority() -> None:
    # Copying the linked queue order by order would recurse past Python's limit.
    # Three makers: one user may have only 1,000 open orders on a market (docs/fidelity.md).
    world = World("w", WorldConfig(seed=1))
    makers = [
        world.create_account(balances={Bucket.PERPS: D(10_000_000)}).user_id for _ in range(3)
    ]
    price = D("66000.00")
    placed = [
        world.exchange.place_order(maker, OrderRequest(PERP, Side.BUY, D("0.001"), price=price))
        for _ in range(1_000)
        for maker in makers
    ]
    world.restore(world.snapshot())

    world.exchange.sim.outside_trade(PERP, Side.SELL, price, D("0.005"))
    fills = [f for maker in makers for f in world.exchange.fills(maker)]
    filled = [f.order_id for f in sorted(fills, key=lambda f: f.trade_id)]
    assert filled == [p.order.id for p in placed[:5]]
    assert world.exchange.depth(PERP).bids[0] == (price, D("2.995"))
    assert world.exchange.check_invariants() == []


# -- realtime ---------------------------------------------------------------------------------


def test_a_restored_realtime_world_runs_on_from_the_snapshots_instant_at_its_speed() -> None:
    real = FakeRealTime()
    world = World("w", WorldConfig(seed=3, clock=ClockMode.REALTIME, speed=4), real)
    real.now += 10.0
    snapshot, at = world.snapshot(), world.now_ms
    real.now += 50.0
    assert world.now_ms == at + 200_000

    world.restore(snapshot)

    assert isinstance(world.clock, WallClock)
    assert world.now_ms == at
    real.now += 1.0  # the restored clock reads the world's own source of real time
    assert world.now_ms == at + 4_000


def test_a_restored_realtime_world_fires_its_timers_as_real_time_passes() -> None:
    real = FakeRealTime()
    world = World("w", WorldConfig(seed=3, clock=ClockMode.REALTIME), real)
    deposit = world.exchange.sim.submit_deposit("0x" + "cd" * 20, D(10))
    snapshot = world.snapshot()
    real.now += 10.0
    world.keep_time()
    world.restore(snapshot)
    assert world.exchange.settlement(deposit.user_id, deposit.id).confirmations == 0

    real.now += 4.0
    world.keep_time()

    record = world.exchange.settlement(deposit.user_id, deposit.id)
    assert record.confirmations == 2


def test_timers_due_when_a_realtime_snapshot_was_taken_fire_at_their_own_instants() -> None:
    real = FakeRealTime()
    world = World("w", WorldConfig(seed=3, clock=ClockMode.REALTIME), real)
    world.exchange.sim.submit_deposit("0x" + "cd" * 20, D(10))
    real.now += 5.0
    assert world.now_ms == world.start_ms + 5_000  # both confirmations due, not fired

    world.restore(world.snapshot())
    world.keep_time()

    deposited = world.exchange.events_of(FundsDeposited)
    assert [e.ts for e in deposited] == [world.start_ms + 4_000]


# -- reset ------------------------------------------------------------------------------------


def test_a_reset_world_is_the_world_just_created(world: World) -> None:
    traders = busy(world)
    world.exchange.advance_by(MIDWAY_MS)

    world.reset()

    fresh = World("w", WorldConfig(seed=3))
    assert world.world_id == "w"
    assert (world.now_ms, world.exchange.events.last_seq) == (fresh.now_ms, 0)
    assert busy(world) == busy(fresh) == traders
    assert later(world, traders) == later(fresh, traders)


def test_a_reset_on_a_new_seed_is_a_new_world_on_that_seed_from_then_on(world: World) -> None:
    busy(world)
    world.reset(seed=99)
    assert world.config.seed == 99
    assert busy(world) == busy(World("w", WorldConfig(seed=99)))
    world.reset()
    assert world.config.seed == 99


def test_a_reset_forgets_faults_journal_and_sessions_but_keeps_the_snapshots(
    world: World,
) -> None:
    account = world.create_account(api_keys=[KeyRequest("bot", Scope.TRADE)])
    world.faults.add(FaultMatch("GET", "/perps/markets"), FaultAction(FaultType.DROP))
    world.journal.record(world.now_ms, "GET", "/perps/markets", None, 200, 1.0)
    snapshot = world.snapshot()

    world.reset()

    assert (len(world.faults), len(world.journal), world.exchange.users) == (0, 0, [])
    assert world.keys.of_user(account.user_id) == []
    world.restore(snapshot)
    assert (len(world.faults), len(world.journal)) == (1, 1)
    assert world.exchange.has_user(account.user_id)


def test_a_reset_goes_back_to_the_configs_clock_mode() -> None:
    real = FakeRealTime()
    world = World("w", WorldConfig(clock=ClockMode.REALTIME, speed=3), real)
    world.set_clock_mode(ClockMode.MANUAL)
    world.reset()
    assert (world.clock.mode, world.clock.speed) == ("realtime", 3.0)
    assert world.config.clock is ClockMode.REALTIME


# -- clock mode -------------------------------------------------------------------------------


def test_switching_a_world_to_realtime_keeps_now_and_every_pending_timer() -> None:
    real = FakeRealTime()
    world = World("w", WorldConfig(seed=3), real)
    busy(world)  # funding, keeper, price tick and the liquidity agents' deferrable refreshes
    world.exchange.advance_by(HOUR_MS + 1)
    clock = world.clock
    pending = [(t.name, t.due_ms, t.seq) for t in clock.pending_timers()]
    at = world.now_ms

    world.set_clock_mode(ClockMode.REALTIME, 2)

    assert world.clock is clock
    assert (clock.mode, clock.speed, world.now_ms) == ("realtime", 2.0, at)
    assert [(t.name, t.due_ms, t.seq) for t in clock.pending_timers()] == pending
    assert any(t.name.startswith("liquidity") for t in clock.pending_timers())
    real.now += 150.0  # 300 simulated seconds: a funding boundary passes
    world.keep_time()
    assert world.now_ms == at + 300_000
    assert world.exchange.events_of(FundingSettled)[-1].ts > at


def test_a_world_switched_to_realtime_without_a_speed_runs_at_the_configs() -> None:
    world = World("w", WorldConfig(speed=5))
    world.set_clock_mode(ClockMode.REALTIME)
    assert world.clock.speed == 5.0
    world.set_clock_mode(ClockMode.REALTIME, 7)
    world.set_clock_mode(ClockMode.REALTIME)
    assert world.clock.speed == 7.0


def test_switching_a_world_to_manual_stops_its_time() -> None:
    real = FakeRealTime()
    world = World("w", WorldConfig(clock=ClockMode.REALTIME), real)
    real.now += 2.0
    world.set_clock_mode(ClockMode.MANUAL)
    real.now += 60.0
    assert isinstance(world.clock, SimClock)
    assert world.now_ms == world.start_ms + 2_000
    assert world.config.clock is ClockMode.REALTIME


def test_a_speed_for_a_manual_clock_is_400_naming_speed(world: World) -> None:
    with pytest.raises(OcxError) as refused:
        world.set_clock_mode(ClockMode.MANUAL, 2)
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.details == {"field": "speed"}
