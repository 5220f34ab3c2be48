"""Judging an expectation against the world at its instant: `(what, ok, detail)`.

`what` says what was expected in words (`balance of alice in perps >= 9900`), `detail` what was
found (`is 9987.12`). Reading the world changes nothing: an expectation only looks.

- a balance is the bucket's USDC (`Exchange.balances`);
- a position field of a flat or never-opened position is zero;
- an order is found by its name; one its step has not placed (yet, or ever) fails;
- events are counted in the log since the scenario was loaded (or since `since`), of one type,
  of the account's user when `account` is given, and with the `where` values: a decimal field
  compares as a number, null as null, anything else as its text (a `marketId` alias as the
  market it named);
- DVOL is `/markets/dvol`'s figure (vol points, 2 decimals), a surface parameter the decimal as
  set, a board figure `/markets/board`'s (an option no longer on the board fails), a margin
  figure the bucket's, as `/perps/balances` shows the perps bucket's. A figure the exchange
  cannot give (no index: no board, no DVOL) fails with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ocx_sim.engine.core.board import BoardEntry
from ocx_sim.engine.core.markets import Venue
from ocx_sim.engine.core.orders import MarginMode
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import OcxError
from ocx_sim.scenarios.model import (
    Expectation,
    ExpectBalance,
    ExpectEvent,
    ExpectOrder,
    ExpectPosition,
    ExpectPrice,
    PriceTarget,
)
from ocx_sim.scenarios.options import ExpectBoard, ExpectMargin, ExpectVol
from ocx_sim.scenarios.steps import camel

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Names:
    """What the scenario's names stand for in the world, so far."""

    users: Mapping[str, str]
    """Account name → userId."""
    orders: Mapping[str, tuple[str, str]]
    """Order name → (userId, orderId) once placed."""
    markets: Mapping[str, str]
    """Market id or alias as written → the world's market id."""
    origin_ms: int
    origin_seq: int


def judge(exchange: Exchange, expectation: Expectation, names: Names) -> tuple[str, bool, str]:
    if isinstance(expectation, ExpectBalance):
        return _balance(exchange, expectation, names)
    if isinstance(expectation, ExpectPosition):
        return _position(exchange, expectation, names)
    if isinstance(expectation, ExpectOrder):
        return _order(exchange, expectation, names)
    if isinstance(expectation, ExpectEvent):
        return _events(exchange, expectation, names)
    if isinstance(expectation, ExpectPrice):
        return _price(exchange, expectation, names)
    if isinstance(expectation, ExpectVol):
        return _vol(exchange, expectation)
    if isinstance(expectation, ExpectBoard):
        return _board(exchange, expectation, names)
    if isinstance(expectation, ExpectMargin):
        return _margin(exchange, expectation, names)
    # A stream expectation needs the view its run kept at `since`: the run judges it.
    raise AssertionError(f"{type(expectation).__name__} is judged by its run (player.py)")


def _balance(exchange: Exchange, e: ExpectBalance, names: Names) -> tuple[str, bool, str]:
    value: Decimal = getattr(exchange.balances(names.users[e.account]), e.bucket)
    what = f"balance of {e.account} in {e.bucket} {e.compare}"
    return what, e.compare.holds(value), f"is {value}"


def _position(exchange: Exchange, e: ExpectPosition, names: Names) -> tuple[str, bool, str]:
    market = names.markets[e.market]
    user = exchange.user(names.users[e.account])
    position = user.position(market, MarginMode(e.margin_mode))
    value = ZERO
    if position is not None and position.size:
        value = {
            "size": position.size,
            "entryPrice": position.entry_price,
            "realizedPnl": position.realized_pnl,
            "fundingPayment": position.funding,
        }[e.field]
    elif position is not None and e.field in ("realizedPnl", "fundingPayment"):
        # A closed position keeps what it realized and paid.
        value = position.realized_pnl if e.field == "realizedPnl" else position.funding
    what = f"{e.field} of {e.account}'s {e.margin_mode} position in {market} {e.compare}"
    return what, e.compare.holds(value), f"is {value}"


def _order(exchange: Exchange, e: ExpectOrder, names: Names) -> tuple[str, bool, str]:
    what = f"order {e.order} is {e.status}"
    placed = names.orders.get(e.order)
    if placed is None:
        return what, False, "was not placed"
    user_id, order_id = placed
    try:
        status = exchange.order(user_id, order_id).status.value
    except OcxError as error:
        return what, False, error.message
    return what, status == e.status, f"is {status}"


def _events(exchange: Exchange, e: ExpectEvent, names: Names) -> tuple[str, bool, str]:
    since = names.origin_ms if e.since is None else e.since.resolve(names.origin_ms)
    user_id = None if e.account is None else names.users[e.account]
    # A market named by its alias (`BTC-USDC-F1`) is the market it named when loaded.
    where = [
        (name, names.markets.get(wanted, wanted) if name == "market_id" and wanted else wanted)
        for name, wanted in e.where
    ]
    found = 0
    for event in exchange.events.of_type(names.origin_seq, e.type):
        if event.ts < since:
            continue
        fields = event._asdict()
        if user_id is not None and fields.get("user_id") != user_id:
            continue
        if all(_same(fields.get(name), wanted) for name, wanted in where):
            found += 1
    filters = [f"of {e.account}"] if e.account is not None else []
    filters += [f"{camel(name)}={'null' if v is None else v}" for name, v in e.where]
    what = " ".join([f"{e.type} events", *filters, f"count {e.count}"])
    return what, e.count.holds(Decimal(found)), f"found {found}"


def _same(value: object, wanted: str | None) -> bool:
    if wanted is None or value is None:
        return wanted is None and value is None
    if isinstance(value, Decimal):
        try:
            return value == Decimal(wanted)
        except InvalidOperation:
            return False
    if isinstance(value, bool):
        return wanted == ("true" if value else "false")
    return str(getattr(value, "value", value)) == wanted


def _price(exchange: Exchange, e: ExpectPrice, names: Names) -> tuple[str, bool, str]:
    market = names.markets[e.market]
    if e.target is PriceTarget.INDEX:
        value = exchange.index_price(market)
    else:
        value = exchange.mark_price(market)
    what = f"{e.target.value} of {market} {e.compare}"
    if value is None:
        return what, False, "there is none"
    return what, e.compare.holds(value), f"is {value}"


def _vol(exchange: Exchange, e: ExpectVol) -> tuple[str, bool, str]:
    what = f"{e.field} of {e.underlying} {e.compare}"
    try:
        if e.field == "dvol":
            value = exchange.dvol(e.underlying).dvol
        else:
            value = exchange.surface(e.underlying).params.as_wire()[e.field]
    except OcxError as error:
        return what, False, error.message
    return what, e.compare.holds(value), f"is {value}"


def _board(exchange: Exchange, e: ExpectBoard, names: Names) -> tuple[str, bool, str]:
    market = names.markets[e.market]
    what = f"{e.field} of {market} on the board {e.compare}"
    try:
        board = exchange.board(exchange.market(market).underlying)
    except OcxError as error:
        return what, False, error.message
    entry = next((x for x in board.entries if x.spec.id == market), None)
    if entry is None:
        return what, False, "is not on the board (expired)"
    value = _board_figure(entry, e.field)
    return what, e.compare.holds(value), f"is {value}"


def _board_figure(entry: BoardEntry, field: str) -> Decimal:
    figures = {
        "iv": entry.iv,
        "mark": entry.mark,
        "bid": entry.bid,
        "ask": entry.ask,
        "delta": entry.delta,
        "gamma": entry.gamma,
        "vega": entry.vega,
        "theta": entry.theta,
    }
    return figures[field]


def _margin(exchange: Exchange, e: ExpectMargin, names: Names) -> tuple[str, bool, str]:
    view = exchange.margin(names.users[e.account], Venue(e.bucket))
    value = {
        "initialMargin": view.initial_margin,
        "maintenanceMargin": view.maintenance_margin,
        "availableMargin": view.available,
        "equity": view.equity,
        "unrealizedPnl": view.unrealized_pnl,
    }[e.field]
    what = f"{e.field} of {e.account}'s {e.bucket} margin {e.compare}"
    return what, e.compare.holds(value), f"is {value}"
