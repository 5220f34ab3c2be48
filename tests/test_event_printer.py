"""`ocx-sim serve --log-events`: the world observer prints a line per notable event and fault
hit, from where it last stopped, each time the world tells it it changed."""

from __future__ import annotations

import io
from decimal import Decimal

from ocx_sim.app import create_app
from ocx_sim.outputs.event_printer import EventPrinter
from ocx_sim.testing.builders import funded_user, limit, market
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import World, WorldConfig, Worlds

T0 = "2026-01-02T00:00:00.000Z"


def printed(out: io.StringIO) -> list[str]:
    """The lines printed since the last call."""
    lines = out.getvalue().splitlines()
    out.seek(0)
    out.truncate()
    return lines


def test_it_prints_each_fill_then_each_funding_payment_as_the_world_changes() -> None:
    world = World("w", WorldConfig())
    exchange = world.exchange
    maker = funded_user(exchange, perps="100000")
    taker = funded_user(exchange, perps="100000")
    out = io.StringIO()
    printer = EventPrinter.attach(world, out)

    assert world.observers == [printer]
    world.changed()
    assert printed(out) == []  # sign-ups, deposits and transfers are not news

    exchange.place_order(maker, limit("BTC-PERP", "sell", "0.25", "68000.00"))
    exchange.place_order(taker, market("BTC-PERP", "buy", "0.25"))
    world.changed()

    assert printed(out) == [f"{T0} fill BTC-PERP buy 0.2500 @ 68000.00 taker {taker} maker {maker}"]

    # 1 bp on 0.25 × the mark: the long (the taker) pays it, the short receives it.
    exchange.sim.set_next_funding_rate("BTC-PERP", Decimal("0.0001"))
    exchange.advance_to(exchange.next_funding_at)
    world.changed()
    lines = printed(out)

    funding = "2026-01-02T00:05:00.000Z funding BTC-PERP"
    assert lines == [
        f"{funding} user {taker} paid 1.700000",
        f"{funding} user {maker} received 1.700000",
        f"{funding} settled: rate 0.0001 on mark 68000.00000000, open interest 0.2500",
    ]
    world.changed()
    assert printed(out) == []  # nothing twice


def test_it_prints_each_request_a_fault_rule_hits_with_what_the_rule_has_left() -> None:
    worlds = Worlds(WorldConfig())
    out = io.StringIO()
    EventPrinter.attach(worlds.default, out)
    client = InProcessClient(create_app(worlds), host="127.0.0.1:8000")
    try:
        rule = {
            "match": {"method": "GET", "path": "/perps/markets"},
            "action": {"type": "error", "status": 503, "code": "UPSTREAM_DEGRADED"},
            "times": 2,
        }
        fault_id = client.post("/_sim/faults", json=rule).json()["faultId"]
        statuses = [client.get("/perps/markets").status_code for _ in range(3)]
    finally:
        client.close()

    assert statuses == [503, 503, 200]
    assert printed(out) == [
        f"{T0} fault {fault_id} error hit GET /perps/markets (1 left)",
        f"{T0} fault {fault_id} error hit GET /perps/markets (0 left)",
    ]


def test_after_a_reset_it_goes_on_from_the_new_logs_end() -> None:
    world = World("w", WorldConfig())
    out = io.StringIO()
    EventPrinter.attach(world, out)
    exchange = world.exchange
    maker = funded_user(exchange, perps="100000")
    exchange.place_order(maker, limit("BTC-PERP", "sell", "0.25", "68000.00"))

    world.reset()
    world.changed()
    assert printed(out) == []

    exchange = world.exchange
    maker = funded_user(exchange, perps="100000")
    taker = funded_user(exchange, perps="100000")
    exchange.place_order(maker, limit("BTC-PERP", "sell", "0.25", "68000.00"))
    exchange.place_order(taker, market("BTC-PERP", "buy", "0.25"))
    world.changed()

    assert [line.split()[1] for line in printed(out)] == ["fill"]
