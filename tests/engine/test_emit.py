"""Events come in through one typed, keyword-only emitter per event type (core/emit.py)."""

from __future__ import annotations

import inspect
import re
from decimal import Decimal

from ocx_sim.engine.core import emit
from ocx_sim.engine.core.events import EVENT_TYPES, EventLog, OrderCancelled, TradeExecuted
from ocx_sim.engine.core.orders import Order, OrderRequest, Side


def _emitter_name(event_type: type[object]) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event_type.__name__).lower()


ORDER_FIELDS = {
    # The two events of every order take the orders they copy (core/emit.py says why).
    "OrderAccepted": ["order"],
    "TradeExecuted": [
        "trade_id",
        "market_id",
        "price",
        "quantity",
        "taker",
        "maker",
        "maker_fee",
        "maker_position",
        "maker_realized_pnl",
        "taker_fee",
        "taker_position",
        "taker_realized_pnl",
    ],
}


def test_each_event_type_has_an_emitter_taking_its_own_fields_by_keyword_in_order() -> None:
    for event_type in EVENT_TYPES:
        emitter = getattr(emit, _emitter_name(event_type))
        parameters = list(inspect.signature(emitter).parameters.values())
        fields = ORDER_FIELDS.get(event_type.__name__, list(event_type._fields[2:]))

        assert [p.name for p in parameters] == ["log", "ts", *fields]
        assert parameters[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert {p.kind for p in parameters[1:]} == {inspect.Parameter.KEYWORD_ONLY}
        # Fewer than 15 keywords: CPython 3.11 builds a dict for a call with more.
        assert len(parameters) - 1 < 15


def test_every_emitter_is_an_event_type_s() -> None:
    names = {_emitter_name(t) for t in EVENT_TYPES}
    functions = {
        name
        for name, value in vars(emit).items()
        if inspect.isfunction(value) and value.__module__ == emit.__name__
    }

    assert functions == names


def test_an_emitted_event_reads_back_as_its_type_with_the_next_seq() -> None:
    log = EventLog()
    emit.order_cancelled(
        log,
        ts=1_000,
        order_id="o1",
        user_id="u1",
        market_id="BTC-PERP",
        reason="user",
        remaining=Decimal("0.5"),
    )
    maker = Order("o2", "u2", OrderRequest("BTC-PERP", Side.SELL, Decimal("0.1")), 1, 1000, 0)
    taker = Order("o3", "u3", OrderRequest("BTC-PERP", Side.BUY, Decimal("0.1")), 1, 1000, 0)
    emit.trade_executed(
        log,
        ts=2_000,
        trade_id="t1",
        market_id="BTC-PERP",
        price=Decimal("68000.00"),
        quantity=Decimal("0.1000"),
        taker=taker,
        maker=maker,
        maker_fee=Decimal("1.36"),
        maker_position=Decimal("-0.1000"),
        maker_realized_pnl=Decimal(0),
        taker_fee=Decimal("3.4"),
        taker_position=Decimal("0.1000"),
        taker_realized_pnl=Decimal(0),
    )

    expected: list[object] = [
        OrderCancelled(1, 1_000, "o1", "u1", "BTC-PERP", "user", Decimal("0.5")),
        TradeExecuted(
            2,
            2_000,
            "t1",
            "BTC-PERP",
            Decimal("68000.00"),
            Decimal("0.1000"),
            "buy",
            "o2",
            "u2",
            Decimal("1.36"),
            Decimal("-0.1000"),
            Decimal(0),
            "o3",
            "u3",
            Decimal("3.4"),
            Decimal("0.1000"),
            Decimal(0),
        ),
    ]
    assert list(log) == expected
