"""Reading composed YAML nodes into typed values, each mistake raised as `Bad` with its node.

`Reader` is the loader's toolbox: mappings with a fixed set of keys (unknown and repeated keys
are errors), sequences, and scalars read by what the schema wants, not by what YAML guessed:
decimals must be strings (`"68000.50"`), integers and booleans plain, text any scalar as
written. It records the line of every path it reads (`lines`) and collects the problems of
the parts it is asked to read on their own (`collect`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ocx_sim.clock import parse_iso
from ocx_sim.scenarios.compare import Comparison
from ocx_sim.scenarios.durations import DurationError, parse_duration
from ocx_sim.scenarios.model import At, OrderSpec, Problem

T = TypeVar("T")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STANDARD = "tag:yaml.org,2002:"
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")
MAX_DURATION_MS = 100 * 365 * 86_400_000
"""A century: longer is a typo (and would overflow what an instant can express)."""
LATEST_MS = parse_iso("9999-12-31T23:59:59.999Z")
DECIMAL_EXAMPLE = 'a decimal string such as "68000.50"'

SIDES = ("buy", "sell")
ORDER_TYPES = ("limit", "market")
TIMES_IN_FORCE = ("gtc", "ioc", "fok")
MARGIN_MODES = ("cross", "isolated")
ORDER_KEYS = (
    "name",
    "account",
    "market",
    "side",
    "quantity",
    "type",
    "price",
    "timeInForce",
    "postOnly",
    "reduceOnly",
    "marginMode",
    "clientOrderId",
    "stopPrice",
    "takeProfitPrice",
    "stopLossPrice",
)
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Account, order and fault names (no dots or brackets: they appear in paths)."""


class Bad(Exception):
    """One mistake, at a node."""

    def __init__(self, node: Node | None, path: str, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.path = path
        self.message = message


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}

    # -- collecting ---------------------------------------------------------------------------

    def collect(self, read: Callable[..., T], *args: object, **kwargs: object) -> T | None:
        """`read(*args, **kwargs)`, or None with its mistake recorded."""
        try:
            return read(*args, **kwargs)
        except Bad as bad:
            line = None if bad.node is None else bad.node.start_mark.line + 1
            self.problems.append(Problem(self.source, line, bad.path, bad.message))
            return None

    def note(self, node: Node, path: str) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)

    # -- structure ----------------------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        path: str,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
        *,
        any_keys: bool = False,
    ) -> dict[str, Node]:
        """The mapping's values by key: `required` keys must be there, and only those and
        `optional` may be (any key with `any_keys`)."""
        if not isinstance(node, MappingNode):
            raise Bad(node, path or "(top level)", "expected a mapping of keys to values")
        if node.tag != _MAP:
            raise Bad(node, path or "(top level)", f"the tag {node.tag} is not supported here")
        self.note(node, path)
        required = tuple(required)
        allowed = tuple(dict.fromkeys((*required, *optional)))
        out: dict[str, Node] = {}
        for key_node, value in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in (_STR, _INT):
                raise Bad(key_node, path, "keys must be plain names")
            key = str(key_node.value)
            sub = join(path, key)
            if key in out:
                raise Bad(key_node, sub, "is given twice")
            if not any_keys and key not in allowed:
                raise Bad(key_node, sub, _unknown(key, allowed))
            self.lines.setdefault(sub, key_node.start_mark.line + 1)
            out[key] = value
        for key in required:
            if key not in out or self.is_null(out[key]):
                raise Bad(out.get(key, node), join(path, key), "is required")
        return out

    def sequence(self, node: Node, path: str, longest: int) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise Bad(node, path, "expected a list")
        if node.tag != _SEQ:
            raise Bad(node, path, f"the tag {node.tag} is not supported here")
        self.note(node, path)
        if len(node.value) > longest:
            raise Bad(node, path, f"has more than {longest} entries")
        for i, item in enumerate(node.value):
            self.note(item, f"{path}[{i}]")
        return list(node.value)

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == _NULL

    def opt(
        self,
        values: Mapping[str, Node],
        path: str,
        key: str,
        read: Callable[[Node, str], T],
    ) -> T | None:
        """`read` the key's value when it is present and not null."""
        node = values.get(key)
        if node is None or self.is_null(node):
            return None
        return read(node, join(path, key))

    # -- scalars ------------------------------------------------------------------------------

    def scalar(self, node: Node, path: str, what: str) -> ScalarNode:
        if not isinstance(node, ScalarNode) or self.is_null(node):
            raise Bad(node, path, f"expected {what}")
        if not node.tag.startswith(_STANDARD):
            raise Bad(node, path, f"the tag {node.tag} is not supported here")
        return node

    def string(self, node: Node, path: str, longest: int = 256) -> str:
        """Text as written (an unquoted `0xab…` or `2026-01-02` stays text)."""
        value = str(self.scalar(node, path, "a string").value)
        if not 0 < len(value) <= longest:
            raise Bad(node, path, f"must be 1 to {longest} characters")
        return value

    def choice(self, node: Node, path: str, allowed: Iterable[str]) -> str:
        allowed = tuple(allowed)
        value = self.string(node, path)
        if value not in allowed:
            raise Bad(node, path, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def name(self, node: Node, path: str) -> str:
        value = self.string(node, path)
        if NAME.fullmatch(value) is None:
            raise Bad(node, path, "a name is 1 to 64 letters, digits, '-' or '_'")
        return value

    def decimal(self, node: Node, path: str, *, positive: bool = True) -> Decimal:
        """A decimal string, as on the wire: an unquoted number would pass through a float."""
        scalar = self.scalar(node, path, DECIMAL_EXAMPLE)
        if scalar.tag != _STR:
            raise Bad(node, path, f"expected {DECIMAL_EXAMPLE} (quote it: decimals are strings)")
        if _DECIMAL.fullmatch(scalar.value) is None:
            raise Bad(node, path, f"{scalar.value!r} is not {DECIMAL_EXAMPLE}")
        value = Decimal(scalar.value)
        if positive and not value > 0:
            raise Bad(node, path, "must be greater than zero")
        return value

    def integer(self, node: Node, path: str, low: int, high: int) -> int:
        scalar = self.scalar(node, path, "an integer")
        if scalar.tag != _INT or _INTEGER.fullmatch(scalar.value) is None:
            raise Bad(node, path, "expected an integer")
        value = int(scalar.value)
        if not low <= value <= high:
            raise Bad(node, path, f"must be between {low} and {high}")
        return value

    def number(self, node: Node, path: str) -> float:
        """A plain number (a probability: not money)."""
        scalar = self.scalar(node, path, "a number")
        if scalar.tag not in (_INT, _FLOAT) or not re.fullmatch(
            r"-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?", scalar.value
        ):
            raise Bad(node, path, "expected a number")
        return float(scalar.value)

    def boolean(self, node: Node, path: str) -> bool:
        scalar = self.scalar(node, path, "true or false")
        if scalar.tag != _BOOL or scalar.value not in ("true", "false"):
            raise Bad(node, path, "expected true or false")
        return bool(scalar.value == "true")

    def duration(self, node: Node, path: str, *, zero_ok: bool = False) -> int:
        """`90s`, `5m`, `1h30m`, `2d`, `250ms` → milliseconds (the grammar: durations.py)."""
        text = self.string(node, path)
        try:
            ms = parse_duration(text)
        except DurationError as error:
            raise Bad(node, path, str(error)) from None
        if ms > MAX_DURATION_MS:
            raise Bad(node, path, "must be at most a century")
        if not zero_ok and ms == 0:
            raise Bad(node, path, "must be longer than zero")
        return ms

    def instant(self, node: Node, path: str) -> int:
        """An ISO-8601 instant (`2026-01-02T00:05:00Z`; naive means UTC) → unix ms."""
        text = self.string(node, path)
        try:
            value = parse_iso(text)
        except ValueError:
            raise Bad(
                node, path, f"{text!r} is not an ISO-8601 instant such as 2026-01-02T00:05:00Z"
            ) from None
        if not 0 <= value <= LATEST_MS:
            raise Bad(node, path, "must be between 1970 and 9999")
        return value

    def at(self, node: Node, path: str) -> At:
        """`+5m` (after the scenario was loaded) or an ISO-8601 instant."""
        text = self.string(node, path)
        if text.startswith("+"):
            try:
                ms = parse_duration(text[1:])
            except DurationError as error:
                why = (
                    "is not a relative time such as +90s, +5m or +1h30m"
                    if error.malformed
                    else "is not a whole number of milliseconds"
                )
                raise Bad(node, path, f"{text!r} {why}") from None
            if ms > MAX_DURATION_MS:
                raise Bad(node, path, "must be at most a century after the start")
            return At(ms, relative=True)
        if _is_duration(text):
            raise Bad(node, path, f"{text!r}: a relative time starts with '+' (+{text})")
        return At(self.instant(node, path), relative=False)

    # -- an order (books and the timeline) ----------------------------------------------------

    def order(self, node: Node, path: str) -> OrderSpec:
        m = self.mapping(node, path, ("account", "market", "side", "quantity"), ORDER_KEYS)
        price = self.opt(m, path, "price", self.decimal)
        kind = self.opt(m, path, "type", lambda n, p: self.choice(n, p, ORDER_TYPES))
        return OrderSpec(
            path,
            account=self.name(m["account"], f"{path}.account"),
            market=self.string(m["market"], f"{path}.market"),
            side=self.choice(m["side"], f"{path}.side", SIDES),
            quantity=self.decimal(m["quantity"], f"{path}.quantity"),
            type=kind or ("limit" if price is not None else "market"),
            price=price,
            time_in_force=self.opt(
                m, path, "timeInForce", lambda n, p: self.choice(n, p, TIMES_IN_FORCE)
            )
            or "gtc",
            post_only=self.opt(m, path, "postOnly", self.boolean) or False,
            reduce_only=self.opt(m, path, "reduceOnly", self.boolean) or False,
            margin_mode=self.opt(
                m, path, "marginMode", lambda n, p: self.choice(n, p, MARGIN_MODES)
            )
            or "cross",
            client_order_id=self.opt(m, path, "clientOrderId", self.string),
            stop_price=self.opt(m, path, "stopPrice", self.decimal),
            take_profit_price=self.opt(m, path, "takeProfitPrice", self.decimal),
            stop_loss_price=self.opt(m, path, "stopLossPrice", self.decimal),
            name=self.opt(m, path, "name", self.name),
        )


def comparison(r: Reader, m: dict[str, Node], path: str, node: Node) -> Comparison:
    """The `equals`, `atLeast` and `atMost` of an expectation's mapping (at least one)."""

    def dec(n: Node, p: str) -> Decimal:
        return r.decimal(n, p, positive=False)

    compare = Comparison(
        r.opt(m, path, "equals", dec), r.opt(m, path, "atLeast", dec), r.opt(m, path, "atMost", dec)
    )
    if compare == Comparison():
        raise Bad(node, path, "give equals, atLeast or atMost")
    return compare


def span(r: Reader, g: dict[str, Node], path: str, *, every_ms: int, most: int) -> tuple[int, int]:
    """A ramp's or path's `over` and `every` (default `every_ms`), making at most `most`
    moves."""
    over = r.duration(g["over"], f"{path}.over")
    every = r.opt(g, path, "every", r.duration) or every_ms
    if every > over:
        raise Bad(g.get("every", g["over"]), f"{path}.every", "must be at most `over`")
    if -(-over // every) > most:
        raise Bad(g["over"], f"{path}.over", f"makes more than {most} moves; raise `every`")
    return over, every


def _is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except DurationError:
        return False
    return True


def _unknown(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key (expected one of: {', '.join(allowed)}){hint}"
