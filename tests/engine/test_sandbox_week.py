"""A seeded sandbox left to run for a simulated week ends with the same event log every time.

The sandbox walks every index once a simulated second, its liquidity agents re-quote every
10 s, funding pays every 5 minutes and options expire and relist on the Friday; two traders
hold opposite BTC-PERP positions so that funding has someone to pay. All of it is driven by
the seed alone (nothing reads the real time or draws an unseeded random number,
docs/architecture.md "Layers"): the digest of the event log is the same on every run.
"""

from __future__ import annotations

from decimal import Decimal

from ocx_sim import Bucket, Exchange, OrderRequest, OrderType, Side
from ocx_sim.engine.core.events import FundingPaid, MarketExpired, MarketListed, TradeExecuted

D = Decimal
WEEK_MS = 7 * 86_400_000
WEEK_DIGEST = "4b6bad64fd12e5a03b1e142a8b0202059c81938c0ffa1536119fff88eb336f1c"
"""Pinned like the golden digests (test_golden.py): a refactor must not move it."""


def _sandbox(seed: int) -> Exchange:
    exchange = Exchange.create(seed=seed)
    exchange.sim.start_sandbox()
    for n, side in enumerate((Side.BUY, Side.SELL)):
        user = exchange.register_user(f"0x{n + 1:040x}").user_id
        exchange.sim.deposit(user, D(20_000))
        exchange.transfer(user, Bucket.WALLET, Bucket.PERPS, D(20_000))
        exchange.place_order(user, OrderRequest("BTC-PERP", side, D("0.1"), type=OrderType.MARKET))
    return exchange


def test_a_seeded_sandbox_runs_a_simulated_week_to_the_same_digest_every_time() -> None:
    first, again = _sandbox(seed=5), _sandbox(seed=5)
    first.advance_by(WEEK_MS)
    # The second run is advanced an hour at a time, as a client polling it would.
    for _ in range(7 * 24):
        again.advance_by(3_600_000)

    assert first.digest() == again.digest() == WEEK_DIGEST
    assert first.index_price("BTC-PERP") == again.index_price("BTC-PERP")
    # A week with everything in it: the agents traded, funding paid, options expired and
    # relisted, and the index walked.
    assert first.events_of(TradeExecuted)
    assert len(first.events_of(FundingPaid)) > 2 * 7 * 24 * 12 * 0.9
    assert first.events_of(MarketExpired)
    assert first.events_of(MarketListed)
    assert first.index_price("BTC-PERP") != D("68000.00")
    assert first.check_invariants() == []


def test_another_seed_walks_another_way() -> None:
    one, other = _sandbox(seed=5), _sandbox(seed=6)
    one.advance_by(3_600_000)
    other.advance_by(3_600_000)
    assert one.index_price("BTC-PERP") != other.index_price("BTC-PERP")
    assert one.digest() != other.digest()
