"""YAML → `Scenario`, with errors that name the file, the line and the path.

The text is composed with PyYAML's `SafeLoader` into nodes (never constructed by an unsafe
loader: no tag can make an object), and the nodes are read against the schema of
docs/scenarios.md, keeping each node's line. So a mistake is reported where it is:
`squeeze.yaml:14: timeline[3].order.price: expected a decimal string such as "68000.50"`.

Rules the reader keeps:
- every mapping has a fixed set of keys: an unknown key is an error (a typo must not be
  silently ignored), and so is a key given twice;
- decimals are strings, as on the wire: an unquoted `68000.5` is refused rather than read
  through a float; integers, booleans and durations (`90s`, `5m`, `1h30m`) are plain;
- text fields take any scalar as written (an unquoted `0xab…` address stays text);
- problems are collected per section, account, order and step, so one run reports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from ocx_sim.engine.core.index import INDEX_QUANTUM
from ocx_sim.engine.core.money import MAX_INTEGER_DIGITS
from ocx_sim.errors import ErrorCode
from ocx_sim.scenarios import steps
from ocx_sim.scenarios.model import (
    MAX_FUNDING_HORIZON_HOURS,
    MAX_LEVERAGE,
    AccountSpec,
    KeySpec,
    LiquiditySetup,
    MarketSetup,
    MarketTerms,
    Meta,
    OptionLiquiditySetup,
    Problem,
    Scenario,
    ScenarioError,
    Step,
    TakersSetup,
    UnderlyingTerms,
)
from ocx_sim.scenarios.reader import NAME, ORDER_KEYS, Bad, Reader

T = TypeVar("T")

SECTIONS = (
    "meta",
    "markets",
    "underlyings",
    "accounts",
    "books",
    "liquidity",
    "takers",
    "timeline",
)
META_KEYS = ("name", "description", "seed", "start", "duration")
TERM_KEYS = ("tick", "step", "minQuantity", "maxLeverage", "band", "makerFeeBps", "takerFeeBps")
"""A market's catalog terms (catalog.py): only a world built from the scenario takes them."""
MARKET_KEYS = ("index", "curve", "volatility", "mark", "halted", *TERM_KEYS)
UNDERLYING_KEYS = ("index", "carryApr", "maxLeverage", "fundingHorizonHours")
MAX_CARRY_APR = Decimal(1)
MAX_FEE_BPS = Decimal(100)
CURVE_KEYS = ("front", "next")
ACCOUNT_KEYS = ("wallet", "balances", "apiKeys")
API_KEY_KEYS = ("name", "scope", "allowedIps", "expiresInDays")
LIQUIDITY_KEYS = ("market", "quantity", "levels", "spreadBps", "stepBps", "refresh")
OPTION_LIQUIDITY_KEYS = ("options", "quantity", "expiries", "moneyness", "refresh")
TAKERS_KEYS = ("market", "options", "perMinute", "quantity", "buyShare", "iocShare", "limitBps")
TAKER_QUANTITY_KEYS = ("min", "max")
"""An options agent's keys: `options` names the underlying whose chain it quotes."""
MAX_EXPIRIES = 50
STEP_KEYS = ("at", "expectError", *steps.ACTIONS)
MAX_STEPS = 10_000
MAX_DEPTH = 32
MAX_TEXT = 1_000_000
"""Characters of YAML a scenario may have (a scenario sent to the control API included)."""


def accepted_keys() -> set[str]:
    """Every key the loader accepts anywhere (docs/scenarios.md must describe each)."""
    keys = {
        *SECTIONS,
        *META_KEYS,
        *MARKET_KEYS,
        *CURVE_KEYS,
        *UNDERLYING_KEYS,
        *ACCOUNT_KEYS,
        *steps.BUCKETS,
        *API_KEY_KEYS,
        *ORDER_KEYS,
        *LIQUIDITY_KEYS,
        *OPTION_LIQUIDITY_KEYS,
        *TAKERS_KEYS,
        *TAKER_QUANTITY_KEYS,
        *STEP_KEYS,
    }
    return keys | steps.accepted_keys()


def load_file(path: str | Path) -> Scenario:
    """The scenario in the file; errors name it as given."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ScenarioError(
            [Problem(source, None, "", f"cannot read the file: {reason}")]
        ) from None
    return load_text(text, source, default_name=Path(path).stem)


def load_text(text: str, source: str = "<yaml>", default_name: str = "scenario") -> Scenario:
    """The scenario in `text`; errors name `source` as its file."""
    if len(text) > MAX_TEXT:
        raise ScenarioError([Problem(source, None, "", f"longer than {MAX_TEXT} characters")])
    try:
        _check_depth(text, source)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = None if mark is None else mark.line + 1
        what = error.problem or error.context or "not valid YAML"
        raise ScenarioError([Problem(source, line, "", f"not valid YAML: {what}")]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([Problem(source, None, "", f"not valid YAML: {error}")]) from None

    if root is None:
        raise ScenarioError([Problem(source, None, "", "the file is empty")])
    return _Loader(Reader(source), default_name).scenario(root)


def _check_depth(text: str, source: str) -> None:
    """Refuse collections nested deeper than `MAX_DEPTH` before composing: PyYAML composes
    them recursively, and a thousand `[` deep (an attack or an accident, never a scenario)
    would exhaust the stack. The event stream is read iteratively."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = None if event.start_mark is None else event.start_mark.line + 1
                raise ScenarioError(
                    [Problem(source, line, "", f"nested more than {MAX_DEPTH} levels deep")]
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Loader:
    def __init__(self, reader: Reader, default_name: str) -> None:
        self.r = reader
        self.default_name = default_name

    def scenario(self, root: Node) -> Scenario:
        r = self.r
        top = r.collect(r.mapping, root, "", (), SECTIONS)
        if top is None:
            raise ScenarioError(r.problems)
        meta = r.collect(self.meta, top.get("meta"))
        markets = self.each_named(top.get("markets"), "markets", self.market)
        underlyings = self.each_named(top.get("underlyings"), "underlyings", self.underlying)
        accounts = self.each_named(top.get("accounts"), "accounts", self.account)
        books = self.each_listed(top.get("books"), "books", r.order)
        liquidity = self.each_listed(top.get("liquidity"), "liquidity", self.liquidity)
        takers = self.each_listed(top.get("takers"), "takers", self.takers)
        timeline = self.each_listed(top.get("timeline"), "timeline", self.step)
        if r.problems or meta is None:
            raise ScenarioError(r.problems)
        return Scenario(
            source=r.source,
            meta=meta,
            markets=tuple(markets),
            underlyings=tuple(underlyings),
            accounts=tuple(accounts),
            books=tuple(books),
            liquidity=tuple(liquidity),
            takers=tuple(takers),
            timeline=tuple(timeline),
            lines=dict(r.lines),
        )

    # -- sections ---------------------------------------------------------------------------

    def each_named(
        self, node: Node | None, path: str, read: Callable[[str, str, Node], T]
    ) -> list[T]:
        """A mapping of names to entries, each read on its own (its problems collected)."""
        r = self.r
        if node is None or r.is_null(node):
            return []
        entries = r.collect(r.mapping, node, path, any_keys=True)
        out: list[T] = []
        for name, value in (entries or {}).items():
            item = r.collect(read, name, f"{path}.{name}", value)
            if item is not None:
                out.append(item)
        return out

    def each_listed(self, node: Node | None, path: str, read: Callable[[Node, str], T]) -> list[T]:
        r = self.r
        if node is None or r.is_null(node):
            return []
        items = r.collect(r.sequence, node, path, MAX_STEPS)
        out: list[T] = []
        for i, item in enumerate(items or []):
            value = r.collect(read, item, f"{path}[{i}]")
            if value is not None:
                out.append(value)
        return out

    def meta(self, node: Node | None) -> Meta:
        r = self.r
        if node is None or r.is_null(node):
            return Meta(self.default_name)
        m = r.mapping(node, "meta", optional=META_KEYS)
        name = r.opt(m, "meta", "name", r.string) or self.default_name
        description = r.opt(m, "meta", "description", lambda n, p: r.string(n, p, 500)) or ""
        seed = r.opt(m, "meta", "seed", lambda n, p: r.integer(n, p, -(2**63), 2**63 - 1))
        start = r.opt(m, "meta", "start", r.instant)
        duration = r.opt(m, "meta", "duration", r.duration)
        return Meta(name, description, seed, start, duration)

    def market(self, market: str, path: str, node: Node) -> MarketSetup:
        r = self.r
        m = r.mapping(node, path, optional=MARKET_KEYS)
        curve = None
        if (raw := m.get("curve")) is not None and not r.is_null(raw):
            c = r.mapping(raw, f"{path}.curve", required=CURVE_KEYS)
            curve = (
                r.decimal(c["front"], f"{path}.curve.front"),
                r.decimal(c["next"], f"{path}.curve.next"),
            )
        index = r.opt(m, path, "index", r.decimal)
        if index is not None and curve is not None:
            raise Bad(m["curve"], f"{path}.curve", "give index (pinned) or curve, not both")
        volatility = r.opt(m, path, "volatility", lambda n, p: r.decimal(n, p, positive=False))
        if volatility is not None and index is not None:
            raise Bad(
                m["volatility"],
                f"{path}.volatility",
                "a pinned index does not walk: give curve instead of index",
            )
        terms, term_keys = self.market_terms(m, path)
        return MarketSetup(
            path,
            market,
            index=index,
            curve=curve,
            volatility=volatility,
            mark=r.opt(m, path, "mark", r.decimal),
            halted=r.opt(m, path, "halted", r.boolean) or False,
            terms=terms,
            term_keys=term_keys,
        )

    def market_terms(
        self, m: dict[str, Node], path: str
    ) -> tuple[MarketTerms | None, tuple[str, ...]]:
        """The market's catalog terms and the keys that gave them; null is as if left out,
        but `band: ~` means no band."""
        r = self.r
        given = tuple(k for k in TERM_KEYS if k in m and (k == "band" or not r.is_null(m[k])))
        if not given:
            return None, ()
        terms = MarketTerms(
            tick=r.opt(m, path, "tick", r.decimal),
            step=r.opt(m, path, "step", r.decimal),
            min_quantity=r.opt(m, path, "minQuantity", r.decimal),
            max_leverage=r.opt(m, path, "maxLeverage", self.leverage),
            band=r.opt(m, path, "band", self.band),
            no_band="band" in m and r.is_null(m["band"]),
            maker_bps=r.opt(m, path, "makerFeeBps", self.fee_bps),
            taker_bps=r.opt(m, path, "takerFeeBps", self.fee_bps),
        )
        return terms, given

    def leverage(self, node: Node, path: str) -> int:
        return self.r.integer(node, path, 1, MAX_LEVERAGE)

    def fee_bps(self, node: Node, path: str) -> Decimal:
        value = self.r.decimal(node, path, positive=False)
        if not -MAX_FEE_BPS <= value <= MAX_FEE_BPS:
            raise Bad(node, path, f"must be between -{MAX_FEE_BPS} and {MAX_FEE_BPS} (bps)")
        return value

    def band(self, node: Node, path: str) -> Decimal:
        value = self.r.decimal(node, path)
        if not value < 1:
            raise Bad(node, path, 'must be a fraction of the mark below 1 ("0.05": ±5 %), or ~')
        return value

    def underlying(self, symbol: str, path: str, node: Node) -> UnderlyingTerms:
        r = self.r
        m = r.mapping(node, path, optional=UNDERLYING_KEYS)
        return UnderlyingTerms(
            path,
            symbol,
            index=r.opt(m, path, "index", self.index_level),
            carry_apr=r.opt(m, path, "carryApr", self.carry),
            max_leverage=r.opt(m, path, "maxLeverage", self.leverage),
            funding_horizon_hours=r.opt(m, path, "fundingHorizonHours", self.horizon),
        )

    def horizon(self, node: Node, path: str) -> int:
        return self.r.integer(node, path, 1, MAX_FUNDING_HORIZON_HOURS)

    def index_level(self, node: Node, path: str) -> Decimal:
        value = self.r.decimal(node, path)
        if value.adjusted() >= MAX_INTEGER_DIGITS:
            raise Bad(node, path, f"must be below 1e{MAX_INTEGER_DIGITS}")
        if value != value.quantize(INDEX_QUANTUM):
            raise Bad(node, path, f"is finer than an index keeps ({INDEX_QUANTUM:f})")
        return value

    def carry(self, node: Node, path: str) -> Decimal:
        value = self.r.decimal(node, path, positive=False)
        if not -MAX_CARRY_APR < value <= MAX_CARRY_APR:
            raise Bad(node, path, f"must be above -{MAX_CARRY_APR} and at most {MAX_CARRY_APR}")
        return value

    def account(self, name: str, path: str, node: Node) -> AccountSpec:
        r = self.r
        if NAME.fullmatch(name) is None:
            raise Bad(node, path, "an account name is 1 to 64 letters, digits, '-' or '_'")
        m = r.mapping(node, path, optional=ACCOUNT_KEYS)
        balances: list[tuple[str, Decimal]] = []
        if (raw := m.get("balances")) is not None and not r.is_null(raw):
            b = r.mapping(raw, f"{path}.balances", optional=steps.BUCKETS)
            for bucket in steps.BUCKETS:
                amount = r.opt(
                    b, f"{path}.balances", bucket, lambda n, p: r.decimal(n, p, positive=False)
                )
                if amount is not None:
                    balances.append((bucket, amount))
        keys: list[KeySpec] = []
        if (raw := m.get("apiKeys")) is not None and not r.is_null(raw):
            for i, item in enumerate(r.sequence(raw, f"{path}.apiKeys", 100)):
                keys.append(self.api_key(item, f"{path}.apiKeys[{i}]"))
        return AccountSpec(
            path, name, r.opt(m, path, "wallet", r.string), tuple(balances), tuple(keys)
        )

    def api_key(self, node: Node, path: str) -> KeySpec:
        r = self.r
        m = r.mapping(node, path, required=("name", "scope"), optional=API_KEY_KEYS)
        ips: list[str] = []
        if (raw := m.get("allowedIps")) is not None and not r.is_null(raw):
            for i, ip in enumerate(r.sequence(raw, f"{path}.allowedIps", 100)):
                ips.append(r.string(ip, f"{path}.allowedIps[{i}]"))
        return KeySpec(
            r.string(m["name"], f"{path}.name", 64),
            r.string(m["scope"], f"{path}.scope"),
            tuple(ips),
            r.opt(m, path, "expiresInDays", lambda n, p: r.integer(n, p, 1, 3650)),
        )

    def liquidity(self, node: Node, path: str) -> LiquiditySetup | OptionLiquiditySetup:
        """A ladder on one market (`market`), or an options agent on an underlying's option
        chain (`options`)."""
        r = self.r
        given = _keys(node)
        if "options" in given:
            if "market" in given:
                raise Bad(
                    node,
                    path,
                    "give market (a ladder on one market) or options (an underlying's "
                    "options near the money), not both",
                )
            return self.option_liquidity(node, path)
        m = r.mapping(node, path, required=("market", "quantity"), optional=LIQUIDITY_KEYS)
        spec = LiquiditySetup(
            path,
            r.string(m["market"], f"{path}.market"),
            r.decimal(m["quantity"], f"{path}.quantity"),
        )
        levels = r.opt(m, path, "levels", lambda n, p: r.integer(n, p, 1, 50))
        spread = r.opt(m, path, "spreadBps", r.decimal)
        step = r.opt(m, path, "stepBps", r.decimal)
        refresh = r.opt(m, path, "refresh", r.duration)
        return LiquiditySetup(
            path,
            spec.market,
            spec.quantity,
            levels=spec.levels if levels is None else levels,
            spread_bps=spec.spread_bps if spread is None else spread,
            step_bps=spec.step_bps if step is None else step,
            refresh_ms=spec.refresh_ms if refresh is None else refresh,
        )

    def takers(self, node: Node, path: str) -> TakersSetup:
        """A flow of taking orders on one market (`market`) or on an underlying's options
        (`options`)."""
        r = self.r
        m = r.mapping(node, path, required=("perMinute", "quantity"), optional=TAKERS_KEYS)
        if ("market" in m) == ("options" in m):
            raise Bad(node, path, "give market (one market) or options (an underlying's), one")
        sizes = r.mapping(m["quantity"], f"{path}.quantity", TAKER_QUANTITY_KEYS)
        defaults = TakersSetup(path, None, None, Decimal(1), Decimal(1), Decimal(1))

        def share(n: Node, p: str) -> Decimal:
            return r.decimal(n, p, positive=False)

        buy = r.opt(m, path, "buyShare", share)
        ioc = r.opt(m, path, "iocShare", share)
        limit = r.opt(m, path, "limitBps", share)
        return TakersSetup(
            path,
            r.opt(m, path, "market", r.string),
            r.opt(m, path, "options", r.string),
            r.decimal(m["perMinute"], f"{path}.perMinute"),
            r.decimal(sizes["min"], f"{path}.quantity.min"),
            r.decimal(sizes["max"], f"{path}.quantity.max"),
            buy_share=defaults.buy_share if buy is None else buy,
            ioc_share=defaults.ioc_share if ioc is None else ioc,
            limit_bps=defaults.limit_bps if limit is None else limit,
        )

    def option_liquidity(self, node: Node, path: str) -> OptionLiquiditySetup:
        r = self.r
        m = r.mapping(node, path, required=("options",), optional=OPTION_LIQUIDITY_KEYS)
        spec = OptionLiquiditySetup(path, r.string(m["options"], f"{path}.options"))
        quantity = r.opt(m, path, "quantity", r.decimal)
        expiries = r.opt(m, path, "expiries", lambda n, p: r.integer(n, p, 1, MAX_EXPIRIES))
        moneyness = r.opt(m, path, "moneyness", self.moneyness)
        refresh = r.opt(m, path, "refresh", r.duration)
        return OptionLiquiditySetup(
            path,
            spec.underlying,
            quantity=spec.quantity if quantity is None else quantity,
            expiries=spec.expiries if expiries is None else expiries,
            moneyness=spec.moneyness if moneyness is None else moneyness,
            refresh_ms=spec.refresh_ms if refresh is None else refresh,
        )

    def moneyness(self, node: Node, path: str) -> Decimal:
        value = self.r.decimal(node, path)
        if not value <= 1:
            raise Bad(node, path, 'must be a fraction of the forward, at most 1 ("0.10": ±10 %)')
        return value

    def step(self, node: Node, path: str) -> Step:
        r = self.r
        m = r.mapping(node, path, required=("at",), optional=STEP_KEYS)
        actions = [key for key in m if key in steps.ACTIONS]
        if len(actions) != 1:
            found = ", ".join(actions) if actions else "none"
            raise Bad(
                node,
                path,
                f"a step has exactly one action ({', '.join(steps.ACTIONS)}); found {found}",
            )
        key = actions[0]
        at = r.at(m["at"], f"{path}.at")
        action = steps.read(r, key, m[key], f"{path}.{key}")
        expect_error = r.opt(m, path, "expectError", self.error_code)
        if expect_error is not None and key == "expect":
            raise Bad(
                m["expectError"], f"{path}.expectError", "goes with an action, not with expect"
            )
        return Step(path, key, at, action, expect_error)

    def error_code(self, node: Node, path: str) -> str:
        code = self.r.string(node, path)
        if code not in ErrorCode.__members__.values():
            raise Bad(
                node, path, f"{code!r} is not an error code of the catalog (ocx_sim/errors.py)"
            )
        return code


def _keys(node: Node) -> list[str]:
    """The plain keys of a mapping node (none for anything else), before it is read."""
    if not isinstance(node, MappingNode):
        return []
    return [str(k.value) for k, _ in node.value if isinstance(k, ScalarNode)]
