"""Reading a timeline step's action: price moves, orders, money, halts, faults, expectations.

Each action key of a step (docs/scenarios.md "Timeline") has one reader here, and the keys each
reader accepts are module constants, so `accepted_keys` can tell docs/scenarios.md's test what
the loader accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ocx_sim.engine.core.events import EVENT_TYPES
from ocx_sim.scenarios.model import (
    Action,
    CancelAll,
    CancelOrder,
    ClearPrice,
    Comparison,
    Deposit,
    Expectation,
    ExpectBalance,
    ExpectEvent,
    ExpectOrder,
    ExpectPosition,
    ExpectPrice,
    FailWithdrawals,
    FaultOff,
    FaultOn,
    FaultSpec,
    FundingRate,
    GbmPrice,
    Halt,
    JumpPrice,
    OutsideTrade,
    PlaceOrder,
    PriceMove,
    PriceTarget,
    RampPrice,
    Resume,
    SetPrice,
    VaultLiquidity,
    Withdraw,
)
from ocx_sim.scenarios.option_steps import OPTION_EXPECTATIONS, OPTION_KEYS, vol_move
from ocx_sim.scenarios.reader import SIDES, Bad, Reader, comparison, join, span
from ocx_sim.scenarios.stream_expectation import ExpectStream, Plain

ACTIONS = (
    "index",
    "mark",
    "vol",
    "order",
    "cancel",
    "cancelAll",
    "trade",
    "funding",
    "deposit",
    "withdraw",
    "failWithdrawals",
    "vault",
    "halt",
    "resume",
    "fault",
    "faultOff",
    "expect",
)
MOVES = ("set", "ramp", "gbm", "jump")
CLEAR = {PriceTarget.INDEX: "withdraw", PriceTarget.MARK: "release"}
RAMP_KEYS = ("to", "over", "every")
GBM_KEYS = ("volatility", "drift", "over", "every")
CANCEL_ALL_KEYS = ("account", "market")
TRADE_KEYS = ("market", "side", "price", "quantity")
FUNDING_KEYS = ("market", "rate")
DEPOSIT_KEYS = ("account", "amount", "txHash")
WITHDRAW_KEYS = ("account", "amount")
VAULT_KEYS = ("liquidity",)
FAULT_KEYS = ("name", "match", "action", "times", "probability")
MATCH_KEYS = ("method", "path", "account")
FAULT_ACTION_KEYS = ("type", "status", "code", "message", "ms", "drop", "afterFrames")
EXPECT_KINDS = (
    "balance",
    "position",
    "order",
    "event",
    "index",
    "mark",
    "stream",
    *OPTION_EXPECTATIONS,
)
COMPARE_KEYS = ("equals", "atLeast", "atMost")
EXPECT_BALANCE_KEYS = ("account", "bucket", *COMPARE_KEYS)
EXPECT_POSITION_KEYS = ("account", "market", "marginMode", "field", *COMPARE_KEYS)
EXPECT_ORDER_KEYS = ("order", "status")
EXPECT_EVENT_KEYS = ("type", "account", "where", "since", "count", "atLeast", "atMost")
EXPECT_PRICE_KEYS = ("market", *COMPARE_KEYS)
EXPECT_STREAM_KEYS = ("path", "account", "params", "since", "where", "sent")
WHERE_ITEMS = 100
"""The most entries a list in a stream expectation's `where` may have."""
POSITION_FIELDS = ("size", "entryPrice", "realizedPnl", "fundingPayment")
ORDER_STATUSES = (
    "open",
    "partially_filled",
    "filled",
    "cancelled",
    "expired",
    "untriggered",
)
BUCKETS = ("wallet", "perps", "options", "spot")
MAX_MOVES = 100_000
"""Moves one ramp or path may make (`over` / `every`)."""
MAX_VOLATILITY = Decimal(10)
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    cls.__name__: tuple(f for f in cls._fields if f not in ("seq", "ts")) for cls in EVENT_TYPES
}
"""Each event type's fields (snake_case), as the log holds them."""


def camel(name: str) -> str:
    """`market_id` → `marketId`: event fields as `/_sim/events` shows them."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def accepted_keys() -> set[str]:
    return {
        *ACTIONS,
        *MOVES,
        *CLEAR.values(),
        *RAMP_KEYS,
        *GBM_KEYS,
        *CANCEL_ALL_KEYS,
        *TRADE_KEYS,
        *FUNDING_KEYS,
        *DEPOSIT_KEYS,
        *WITHDRAW_KEYS,
        *VAULT_KEYS,
        *FAULT_KEYS,
        *MATCH_KEYS,
        *FAULT_ACTION_KEYS,
        *EXPECT_KINDS,
        *EXPECT_BALANCE_KEYS,
        *EXPECT_POSITION_KEYS,
        *EXPECT_ORDER_KEYS,
        *EXPECT_EVENT_KEYS,
        *EXPECT_PRICE_KEYS,
        *EXPECT_STREAM_KEYS,
        *OPTION_KEYS,
    }


def read(r: Reader, key: str, node: Node, path: str) -> Action:
    """The action under `key` of a step."""
    return _READERS[key](r, node, path)


# -- price moves --------------------------------------------------------------------------------


def _move(target: PriceTarget) -> Callable[[Reader, Node, str], Action]:
    def read_move(r: Reader, node: Node, path: str) -> Action:
        return price_move(r, node, path, target)

    return read_move


def price_move(r: Reader, node: Node, path: str, target: PriceTarget) -> PriceMove:
    clear = CLEAR[target]
    m = r.mapping(node, path, ("market",), (*MOVES, clear))
    market = r.string(m["market"], f"{path}.market")
    kinds = [key for key in m if key in (*MOVES, clear)]
    if len(kinds) != 1:
        raise Bad(node, path, f"give exactly one of {', '.join((*MOVES, clear))}")
    kind = kinds[0]
    value, sub = m[kind], f"{path}.{kind}"
    if kind == "set":
        return SetPrice(target, market, r.decimal(value, sub))
    if kind == "jump":
        return _jump(r, value, sub, target, market)
    if kind == clear:
        if not r.boolean(value, sub):
            raise Bad(value, sub, f"write {clear}: true, or leave it out")
        return ClearPrice(target, market)
    if kind == "ramp":
        g = r.mapping(value, sub, ("to", "over"), RAMP_KEYS)
        over, every = _span(r, g, sub)
        return RampPrice(target, market, r.decimal(g["to"], f"{sub}.to"), over, every)
    g = r.mapping(value, sub, ("volatility", "over"), GBM_KEYS)
    over, every = _span(r, g, sub)
    volatility = r.decimal(g["volatility"], f"{sub}.volatility", positive=False)
    if volatility > MAX_VOLATILITY:
        raise Bad(g["volatility"], f"{sub}.volatility", f"must be at most {MAX_VOLATILITY}")
    drift = r.opt(g, sub, "drift", lambda n, p: r.decimal(n, p, positive=False))
    return GbmPrice(target, market, volatility, drift or Decimal(0), over, every)


def _span(r: Reader, g: dict[str, Node], path: str) -> tuple[int, int]:
    return span(r, g, path, every_ms=1_000, most=MAX_MOVES)


def _jump(r: Reader, node: Node, path: str, target: PriceTarget, market: str) -> JumpPrice:
    """`"-5%"` (percent) or `"-3000"` (a difference); the price must stay positive."""
    text = r.string(node, path)
    percent = text.endswith("%")
    number = text[:-1] if percent else text
    if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:str":
        raise Bad(node, path, 'expected a quoted difference such as "-3000" or "-5%"')
    probe = ScalarNode("tag:yaml.org,2002:str", number, node.start_mark, node.end_mark)
    by = r.decimal(probe, path, positive=False)
    if not by or (percent and by <= -100):
        raise Bad(node, path, "must move the price, and leave it above zero")
    return JumpPrice(target, market, by, percent)


# -- orders, money, markets ---------------------------------------------------------------------


def _order(r: Reader, node: Node, path: str) -> Action:
    return PlaceOrder(r.order(node, path))


def _cancel(r: Reader, node: Node, path: str) -> Action:
    return CancelOrder(r.name(node, path))


def _cancel_all(r: Reader, node: Node, path: str) -> Action:
    m = r.mapping(node, path, ("account",), CANCEL_ALL_KEYS)
    return CancelAll(r.name(m["account"], f"{path}.account"), r.opt(m, path, "market", r.string))


def _trade(r: Reader, node: Node, path: str) -> Action:
    m = r.mapping(node, path, TRADE_KEYS)
    return OutsideTrade(
        r.string(m["market"], f"{path}.market"),
        r.choice(m["side"], f"{path}.side", SIDES),
        r.decimal(m["price"], f"{path}.price"),
        r.decimal(m["quantity"], f"{path}.quantity"),
    )


def _funding(r: Reader, node: Node, path: str) -> Action:
    m = r.mapping(node, path, FUNDING_KEYS)
    rate = r.decimal(m["rate"], f"{path}.rate", positive=False)
    return FundingRate(r.string(m["market"], f"{path}.market"), rate)


def _deposit(r: Reader, node: Node, path: str) -> Action:
    m = r.mapping(node, path, ("account", "amount"), DEPOSIT_KEYS)
    return Deposit(
        r.name(m["account"], f"{path}.account"),
        r.decimal(m["amount"], f"{path}.amount"),
        r.opt(m, path, "txHash", lambda n, p: r.string(n, p, 128)),
    )


def _withdraw(r: Reader, node: Node, path: str) -> Action:
    m = r.mapping(node, path, WITHDRAW_KEYS)
    return Withdraw(
        r.name(m["account"], f"{path}.account"), r.decimal(m["amount"], f"{path}.amount")
    )


def _fail_withdrawals(r: Reader, node: Node, path: str) -> Action:
    return FailWithdrawals(r.integer(node, path, 1, 1000))


def _vault(r: Reader, node: Node, path: str) -> Action:
    m = r.mapping(node, path, optional=VAULT_KEYS)
    if "liquidity" not in m:
        raise Bad(node, join(path, "liquidity"), "is required: a decimal string, or null")
    return VaultLiquidity(r.opt(m, path, "liquidity", lambda n, p: r.decimal(n, p, positive=False)))


def _halt(r: Reader, node: Node, path: str) -> Action:
    return Halt(r.string(node, path))


def _resume(r: Reader, node: Node, path: str) -> Action:
    return Resume(r.string(node, path))


# -- faults -------------------------------------------------------------------------------------


def _fault(r: Reader, node: Node, path: str) -> Action:
    m = r.mapping(node, path, ("name", "match", "action"), FAULT_KEYS)
    match = r.mapping(m["match"], f"{path}.match", ("method", "path"), MATCH_KEYS)
    act = r.mapping(m["action"], f"{path}.action", ("type",), FAULT_ACTION_KEYS)
    a = f"{path}.action"
    times: int | None = 1
    if "times" in m:
        times = r.opt(m, path, "times", lambda n, p: r.integer(n, p, 1, 1_000_000_000))
    spec = FaultSpec(
        method=r.string(match["method"], f"{path}.match.method", 16),
        path=r.string(match["path"], f"{path}.match.path", 512),
        type=r.string(act["type"], f"{a}.type", 32),
        account=r.opt(match, f"{path}.match", "account", r.string),
        status=r.opt(act, a, "status", lambda n, p: r.integer(n, p, 400, 599)),
        code=r.opt(act, a, "code", r.string),
        message=r.opt(act, a, "message", lambda n, p: r.string(n, p, 500)),
        ms=r.opt(act, a, "ms", lambda n, p: r.integer(n, p, 0, 600_000)),
        drop=r.opt(act, a, "drop", r.boolean) or False,
        after_frames=r.opt(act, a, "afterFrames", lambda n, p: r.integer(n, p, 1, 1_000_000)),
        times=times,
        probability=r.opt(m, path, "probability", r.number),
    )
    return FaultOn(r.name(m["name"], f"{path}.name"), spec)


def _fault_off(r: Reader, node: Node, path: str) -> Action:
    return FaultOff(r.name(node, path))


# -- expectations -------------------------------------------------------------------------------


def _expect(r: Reader, node: Node, path: str) -> Action:
    m = r.mapping(node, path, optional=EXPECT_KINDS)
    if len(m) != 1:
        raise Bad(node, path, f"expect exactly one of {', '.join(EXPECT_KINDS)}")
    kind, value = next(iter(m.items()))
    return _EXPECTATIONS[kind](r, value, f"{path}.{kind}")


def _expect_balance(r: Reader, node: Node, path: str) -> Expectation:
    m = r.mapping(node, path, ("account", "bucket"), EXPECT_BALANCE_KEYS)
    return ExpectBalance(
        r.name(m["account"], f"{path}.account"),
        r.choice(m["bucket"], f"{path}.bucket", BUCKETS),
        comparison(r, m, path, node),
    )


def _expect_position(r: Reader, node: Node, path: str) -> Expectation:
    m = r.mapping(node, path, ("account", "market"), EXPECT_POSITION_KEYS)
    return ExpectPosition(
        r.name(m["account"], f"{path}.account"),
        r.string(m["market"], f"{path}.market"),
        r.opt(m, path, "field", lambda n, p: r.choice(n, p, POSITION_FIELDS)) or "size",
        comparison(r, m, path, node),
        r.opt(m, path, "marginMode", lambda n, p: r.choice(n, p, ("cross", "isolated"))) or "cross",
    )


def _expect_order(r: Reader, node: Node, path: str) -> Expectation:
    m = r.mapping(node, path, EXPECT_ORDER_KEYS)
    return ExpectOrder(
        r.name(m["order"], f"{path}.order"),
        r.choice(m["status"], f"{path}.status", ORDER_STATUSES),
    )


def _expect_event(r: Reader, node: Node, path: str) -> Expectation:
    m = r.mapping(node, path, ("type",), EXPECT_EVENT_KEYS)
    kind = r.choice(m["type"], f"{path}.type", EVENT_FIELDS)
    fields = {camel(f): f for f in EVENT_FIELDS[kind]}
    where: list[tuple[str, str | None]] = []
    if (raw := m.get("where")) is not None and not r.is_null(raw):
        for key, value in r.mapping(raw, f"{path}.where", optional=fields).items():
            text = None if r.is_null(value) else r.string(value, f"{path}.where.{key}")
            where.append((fields[key], text))
    if "account" in m and "userId" not in fields:
        raise Bad(m["account"], f"{path}.account", f"{kind} events name no user")

    def count(n: Node, p: str) -> Decimal:
        return Decimal(r.integer(n, p, 0, 10**9))

    compare = Comparison(
        r.opt(m, path, "count", count),
        r.opt(m, path, "atLeast", count),
        r.opt(m, path, "atMost", count),
    )
    return ExpectEvent(
        kind,
        compare if compare != Comparison() else Comparison(at_least=Decimal(1)),
        account=r.opt(m, path, "account", r.name),
        where=tuple(where),
        since=r.opt(m, path, "since", r.at),
    )


def _expect_stream(r: Reader, node: Node, path: str) -> Expectation:
    m = r.mapping(node, path, ("path",), EXPECT_STREAM_KEYS)
    query: list[tuple[str, str]] = []
    if (params := m.get("params")) is not None and not r.is_null(params):
        for key, value in r.mapping(params, f"{path}.params", any_keys=True).items():
            query.append((key, str(r.scalar(value, f"{path}.params.{key}", "a value").value)))
    sent = r.opt(m, path, "sent", r.boolean)
    where = None
    if (raw := m.get("where")) is not None and not r.is_null(raw):
        if sent is False:
            raise Bad(raw, f"{path}.where", "a stream that sends nothing has no payload")
        where = _plain(r, raw, f"{path}.where")
    return ExpectStream(
        r.string(m["path"], f"{path}.path"),
        tuple(query),
        account=r.opt(m, path, "account", r.name),
        where=where,
        sent=sent is not False,
        since=r.opt(m, path, "since", r.at),
    )


def _plain(r: Reader, node: Node, path: str) -> Plain:
    if isinstance(node, MappingNode):
        values = r.mapping(node, path, any_keys=True)
        return {key: _plain(r, value, f"{path}.{key}") for key, value in values.items()}
    if isinstance(node, SequenceNode):
        items = r.sequence(node, path, WHERE_ITEMS)
        return [_plain(r, item, f"{path}[{i}]") for i, item in enumerate(items)]
    if r.is_null(node):
        return None
    return str(r.scalar(node, path, "a value").value)


def _expect_price(target: PriceTarget) -> Callable[[Reader, Node, str], Expectation]:
    def read_price(r: Reader, node: Node, path: str) -> Expectation:
        m = r.mapping(node, path, ("market",), EXPECT_PRICE_KEYS)
        return ExpectPrice(
            target, r.string(m["market"], f"{path}.market"), comparison(r, m, path, node)
        )

    return read_price


_EXPECTATIONS: dict[str, Callable[[Reader, Node, str], Expectation]] = {
    "balance": _expect_balance,
    "position": _expect_position,
    "order": _expect_order,
    "event": _expect_event,
    "index": _expect_price(PriceTarget.INDEX),
    "mark": _expect_price(PriceTarget.MARK),
    "stream": _expect_stream,
    **OPTION_EXPECTATIONS,
}
_READERS: dict[str, Callable[[Reader, Node, str], Action]] = {
    "index": _move(PriceTarget.INDEX),
    "mark": _move(PriceTarget.MARK),
    "vol": vol_move,
    "order": _order,
    "cancel": _cancel,
    "cancelAll": _cancel_all,
    "trade": _trade,
    "funding": _funding,
    "deposit": _deposit,
    "withdraw": _withdraw,
    "failWithdrawals": _fail_withdrawals,
    "vault": _vault,
    "halt": _halt,
    "resume": _resume,
    "fault": _fault,
    "faultOff": _fault_off,
    "expect": _expect,
}
