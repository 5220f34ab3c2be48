"""The price tick works through seconds in batches, skips quiet watchers and passes refreshes
that would do nothing; none of it may show.

`reactions/ticker.py` replaces a timer a second by one timer that steps every second up to the
clock's horizon, runs the watchers (stop triggers, liquidation) only when a mark leaves the interval
they declared quiet, and defers a liquidity agent's refresh when the agent would leave its ladder
standing. These tests hold it to the plain model: the same world advanced in one go or in odd steps,
with the watchers run on every move, and with every refresh fired, ends identical.
"""

from __future__ import annotations

import random
from decimal import Decimal
from functools import partial

import pytest

from ocx_sim import Bucket, Exchange, MarginMode, OrderRequest, OrderType, Side
from ocx_sim.engine.core.events import AccountLiquidated, FundingSettled, OrderTriggered
from ocx_sim.engine.reactions.liquidation import Liquidation
from ocx_sim.engine.reactions.liquidity import LiquidityAgent
from ocx_sim.engine.reactions.ticker import QuietRefresh
from ocx_sim.engine.reactions.triggers import TriggerWatcher

D = Decimal
PERP = "BTC-PERP"
HOUR_MS = 3_600_000


def _busy_world(seed: int = 3) -> Exchange:
    """The sandbox with BTC walking fast (300 % a year) and accounts near the edge: a long and a
    short at about 17× cross, an isolated long, and stops on either side of the mark, so that
    within hours stops fire and accounts are liquidated."""
    exchange = Exchange.create(seed=seed)
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
            (Side.BUY, MarginMode.CROSS, "0", 1_000),  # stop-order users, flat for now
            (Side.BUY, MarginMode.CROSS, "0", 1_000),
        ]
    ):
        user = exchange.register_user(f"0x{n + 1:040x}").user_id
        exchange.sim.deposit(user, D(cash))
        exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, D(cash))
        traders.append(user)
        if not D(size):
            continue
        exchange.place_order(
            user, OrderRequest(PERP, side, D(size), type=OrderType.MARKET, margin_mode=mode)
        )
    for user, side, offset in [(traders[3], Side.SELL, -150), (traders[4], Side.BUY, 150)]:
        stop = (mark + offset).quantize(D("0.01"))
        exchange.place_order(
            user, OrderRequest(PERP, side, D("0.02"), type=OrderType.MARKET, stop_price=stop)
        )
    return exchange


def _state(exchange: Exchange) -> tuple[object, ...]:
    curve = exchange.sim.index_curve("BTC")
    return (
        exchange.now_ms,
        exchange.digest(),
        exchange.index_price(PERP),
        exchange.mark_price(PERP),
        curve.factor,
        exchange.funding_rate(PERP),
        # The running period's premium sums, unrounded: floats add up differently when
        # split differently, and the rounded rate would hide it.
        exchange._reactions.funding.sums(),
        dict(exchange.ledger.balances),
    )


def test_the_busy_world_really_fires_stops_liquidates_and_pays_funding() -> None:
    # Without these the other tests would compare two quiet worlds.
    exchange = _busy_world()
    exchange.advance_by(3 * HOUR_MS)
    assert exchange.events_of(OrderTriggered)
    assert exchange.events_of(AccountLiquidated)
    assert exchange.events_of(FundingSettled)
    assert exchange.check_invariants() == []


def test_advancing_in_one_go_or_in_odd_steps_gives_the_same_world() -> None:
    at_once, stepwise = _busy_world(), _busy_world()
    target = at_once.now_ms + 3 * HOUR_MS
    at_once.advance_to(target)
    steps = random.Random(11)
    while stepwise.now_ms < target:
        # From a millisecond to ten minutes, often landing between seconds and on timers.
        step = steps.choice([1, 999, 1_000, 1_001, 7_300, 60_000, 600_000])
        stepwise.advance_to(min(target, stepwise.now_ms + step))
        stepwise.mark_price(PERP)  # reading must change nothing either
        stepwise.funding_rate(PERP)
    assert _state(stepwise) == _state(at_once)


def test_skipping_the_watchers_while_marks_are_quiet_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    skipping = _busy_world()
    skipping.advance_by(3 * HOUR_MS)
    # The plain model: every watcher runs after every second that moved a price.
    monkeypatch.setattr(Liquidation, "quiet_marks", lambda self: None)
    monkeypatch.setattr(TriggerWatcher, "quiet_marks", lambda self: None)
    watching = _busy_world()
    watching.advance_by(3 * HOUR_MS)
    assert _state(skipping) == _state(watching)


def test_passing_the_agents_refreshes_that_would_change_nothing_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looks: list[int] = []
    real_refresh = LiquidityAgent._refresh

    def counted(agent: LiquidityAgent, due_ms: int) -> None:
        looks.append(due_ms)
        real_refresh(agent, due_ms)

    monkeypatch.setattr(LiquidityAgent, "_refresh", counted)
    passing = _busy_world()
    passing.advance_by(3 * HOUR_MS)
    passed_looks = len(looks)
    # The plain model: every agent's timer fires every 10 s.
    monkeypatch.setattr(LiquidityAgent, "quiet_refresh", lambda self: None)
    looks.clear()
    firing = _busy_world()
    firing.advance_by(3 * HOUR_MS)
    assert _state(passing) == _state(firing)
    # Three agents, a look every 10 s for three hours; passing, those that would leave the
    # ladder standing never fire (BTC walks at 300 % here, so its agent acts at most looks).
    assert len(looks) == 3 * 3 * 360 + 3
    assert passed_looks < len(looks) - 500


class _Recorder:
    """A refresher that never acts: it notes the index the tick hands `stands` for each of
    its instants, or, when its timer fires, the index it reads itself."""

    def __init__(self, exchange: Exchange, first_ms: int, period_ms: int, defer: bool) -> None:
        self.exchange = exchange
        self.period_ms = period_ms
        self.defer = defer
        self.seen: dict[int, float | None] = {}
        self.fired = 0
        refreshers = exchange._reactions.refreshers
        self.order = len(refreshers)
        refreshers.append(self)
        self.timer = exchange.clock.schedule_deferrable(
            first_ms, partial(self._fire), "recorder", self.order
        )

    def quiet_refresh(self) -> QuietRefresh | None:
        return QuietRefresh("BTC", self.period_ms, self._stands) if self.defer else None

    def _stands(self, fair: float | None) -> bool:
        self.seen[self.timer.due_ms] = fair
        return True

    def _fire(self, due_ms: int) -> None:
        self.fired += 1
        self.seen[due_ms] = self.exchange._state.prices.index_f("BTC")
        self.timer = self.exchange.clock.schedule_deferrable(
            due_ms + self.period_ms, partial(self._fire), "recorder", self.order
        )


def test_a_passed_refresher_is_judged_on_the_index_it_would_read_at_its_own_instant() -> None:
    # Mid-roll (the index moves between seconds too) and walking, with looks that fall
    # between seconds: the tick must hand over the index at the look's instant, not at the
    # second before it.
    def world(defer: bool) -> _Recorder:
        exchange = Exchange.create(seed=5, start="2026-03-16T00:00:00Z")
        exchange.sim.set_curve("BTC", D("68000"), D("74000"))
        exchange.sim.start_sandbox()
        recorder = _Recorder(exchange, exchange.now_ms + 300, 2_300, defer)
        exchange.advance_by(HOUR_MS // 6)
        return recorder

    passed, fired = world(defer=True), world(defer=False)
    looks = (HOUR_MS // 6 - 300) // 2_300 + 1
    assert fired.fired == len(fired.seen) == looks
    assert passed.seen == fired.seen
    assert passed.exchange.digest() == fired.exchange.digest()
    # Asked rather than fired, but where a batch stopped anyway (an agent acting, funding).
    assert passed.fired < looks / 4


def test_a_still_world_schedules_no_tick_and_a_book_change_wakes_it(
    exchange: Exchange,
) -> None:
    def ticking() -> bool:
        return any(t.name == "price tick" for t in exchange.clock.pending_timers())

    assert not ticking()
    maker = exchange.register_user("0x" + "ab" * 20).user_id
    exchange.sim.deposit(maker, D(10_000))
    exchange.transfer(maker, Bucket.WALLET, Bucket.PERPS, D(10_000))
    exchange.place_order(maker, OrderRequest(PERP, Side.BUY, D("0.1"), price=D("68100")))
    exchange.place_order(maker, OrderRequest(PERP, Side.SELL, D("0.1"), price=D("68120")))
    assert ticking()  # the mark heads for the healthy book's mid
    exchange.advance_by(600_000)
    assert not ticking()  # … and has arrived
    exchange.cancel_all(maker)
    assert ticking()  # an empty book: the basis decays back to zero
    exchange.advance_by(600_000)
    assert exchange.mark_price(PERP) == D("68000.00")
    assert not ticking()


def test_under_a_pinned_mark_the_basis_follows_the_book_the_same_in_one_go_or_in_steps() -> None:
    def pinned_over_a_healthy_book() -> Exchange:
        exchange = Exchange.create(seed=1)
        maker = exchange.register_user("0x" + "ab" * 20).user_id
        exchange.sim.deposit(maker, D(10_000))
        exchange.transfer(maker, Bucket.WALLET, Bucket.PERPS, D(10_000))
        exchange.place_order(maker, OrderRequest(PERP, Side.BUY, D("0.1"), price=D("68100")))
        exchange.place_order(maker, OrderRequest(PERP, Side.SELL, D("0.1"), price=D("68120")))
        exchange.sim.pin_mark(PERP, D("68300.00"))
        return exchange

    at_once, stepwise = pinned_over_a_healthy_book(), pinned_over_a_healthy_book()
    at_once.advance_by(20_000)
    for _ in range(20):
        stepwise.advance_by(1_000)
    for exchange in (at_once, stepwise):
        exchange.sim.pin_mark(PERP, None)
    # Unpinned, the mark is the model's: 20 s of the 10 s half-life toward the mid 68110,
    # 110 × (1 − 2^−2) = 82.50 over the index.
    assert abs(at_once.mark_price(PERP) - D("68082.50")) < D("0.01")  # type: ignore[operator]
    assert stepwise.mark_price(PERP) == at_once.mark_price(PERP)
