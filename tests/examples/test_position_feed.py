"""The example bot's position feed (`position_feed.py`) through a scripted session with a
dropped connection, a lost frame and a duplicated one: it notices each, resyncs from a fresh
snapshot, and ends with exactly the position the REST API reports."""

from __future__ import annotations

from decimal import Decimal

from ocx_sim.testing.world import OcxWorld
from tests.examples.position_feed import PositionFeed

MARKET = "BTC-PERP"
USER_STREAM = "/perps/stream/user"


def test_the_feed_survives_a_drop_a_gap_and_a_duplicate_and_matches_the_rest_position(
    ocx: OcxWorld,
) -> None:
    trader = ocx.account(balances={"perps": 100_000})
    trader.client.post(
        "/perps/orders",
        json={"marketId": MARKET, "side": "buy", "quantity": "1.0000", "price": "67990.00"},
    )
    # One stream rule per connection, in order: the first connection is dropped after its
    # third frame, the second loses a frame, the third sends one twice.
    match = {"method": "GET", "path": USER_STREAM}
    for action in (
        {"type": "stream_drop", "afterFrames": 3},
        {"type": "stream_gap"},
        {"type": "stream_duplicate"},
    ):
        ocx.control("POST", "/_sim/faults", {"match": match, "action": action})
    feed = PositionFeed(lambda: ocx.stream(USER_STREAM, account=trader))

    def fill() -> None:
        """Someone sells 0.05 into the trader's bid: one frame on its user stream."""
        ocx.control(
            "POST",
            f"/_sim/markets/{MARKET}/trade",
            {"side": "sell", "price": "67990.00", "quantity": "0.0500"},
        )
        feed.pump()

    feed.pump()
    for _ in range(7):
        fill()
    feed.close()

    [rest] = trader.client.get("/perps/positions").json()
    assert feed.positions == {MARKET: Decimal(rest["quantity"])} == {MARKET: Decimal("0.35")}
    assert (feed.reconnects, feed.gaps, feed.duplicates) == (2, 1, 1)
    assert len(feed.fills) == 7
