"""A scenario as values: what `loader.py` makes of a YAML file and `player.py` plays.

Everything here is a frozen dataclass of plain values (decimals as `Decimal`, instants and
durations as integer milliseconds, names as strings), so a scenario can be kept in a world's
state and deep-copied with it. Nothing here knows the world it will be loaded into: market ids,
account names and order names are checked against it when it is loaded (`player.py`).

Every element keeps the `path` it came from (`timeline[3]`, `books[0]`); `Scenario.lines` maps
every path the file has (`timeline[3].order.price`) to its line, so an error found later, in
the world, still names the file, the line and the path (`ScenarioError`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from ocx_sim.scenarios.compare import Comparison as Comparison
from ocx_sim.scenarios.durations import At as At
from ocx_sim.scenarios.options import ExpectBoard, ExpectMargin, ExpectVol, VolMove
from ocx_sim.scenarios.stream_expectation import ExpectStream

_PARENT = re.compile(r"(\.[^.\[]*|\[\d+\])$")
"""The last part of a path (`.price`, `[3]`): what is left names its parent."""


class PriceTarget(StrEnum):
    """What a price move sets: the index of a market's underlying (every market on it moves),
    or one market's mark (pinned)."""

    INDEX = "index"
    MARK = "mark"


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a scenario: where it is and what is wrong."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be loaded; its text names file, line and path of each problem
    (`squeeze.yaml:14: timeline[3].order.price: expected a decimal string`)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


# -- the parts that are not steps ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Meta:
    name: str
    description: str = ""
    seed: int | None = None
    """The seed of a world built from the scenario (ignored when loaded into a running one)."""
    start_ms: int | None = None
    """The first instant of a world built from the scenario (ignored likewise)."""
    duration_ms: int | None = None
    """How long `ocx-sim run` replays; None: until the last step is done."""


MAX_LEVERAGE = 100
"""The most leverage a market's or an underlying's terms may grant (the default grants 20)."""
MAX_FUNDING_HORIZON_HOURS = 720
"""The longest funding horizon an underlying's terms may set (30 days; the default is 8 h)."""


@dataclass(frozen=True, slots=True)
class MarketTerms:
    """A market's terms in the catalog of a world built from the scenario (catalog.py); None
    keeps the market's own."""

    tick: Decimal | None = None
    step: Decimal | None = None
    min_quantity: Decimal | None = None
    """None: the market's minimum, or one step when `step` is given."""
    max_leverage: int | None = None
    band: Decimal | None = None
    no_band: bool = False
    """Lift the band: limit prices anywhere (and market orders must give their worst price)."""
    maker_bps: Decimal | None = None
    taker_bps: Decimal | None = None
    """Either fixes both at every volume tier (the other keeps the base tier's rate)."""


@dataclass(frozen=True, slots=True)
class MarketSetup:
    """What a market (and its underlying's index) looks like when the scenario is loaded."""

    path: str
    market: str
    index: Decimal | None = None
    """Pin the underlying's index here."""
    curve: tuple[Decimal, Decimal] | None = None
    """The underlying's reference curve (F1, F2), unpinned: the index follows it, and its two
    nearest futures are marked at the two points."""
    volatility: Decimal | None = None
    """Let the underlying's curve walk (seeded GBM, a step a second) at this volatility."""
    mark: Decimal | None = None
    """Pin the market's mark here."""
    halted: bool = False
    terms: MarketTerms | None = None
    term_keys: tuple[str, ...] = ()
    """The keys of `terms` as the file gives them (`tick`, `band`), for paths."""


@dataclass(frozen=True, slots=True)
class UnderlyingTerms:
    """An underlying's terms in the catalog of a world built from the scenario; None keeps
    the default's."""

    path: str
    symbol: str
    index: Decimal | None = None
    """The index when the world starts (unpinned)."""
    carry_apr: Decimal | None = None
    max_leverage: int | None = None
    """Of its perpetual and futures, those listed later included."""
    funding_horizon_hours: int | None = None
    """H of its perpetual's funding: the hours over which a premium is paid off."""


@dataclass(frozen=True, slots=True)
class KeySpec:
    name: str
    scope: str
    allowed_ips: tuple[str, ...] = ()
    expires_in_days: int | None = None


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """A named user: funded buckets, a session and API keys, as `POST /_sim/accounts` makes."""

    path: str
    name: str
    wallet: str | None = None
    """None: a key pair generated from the world's seed."""
    balances: tuple[tuple[str, Decimal], ...] = ()
    """(bucket, USDC) pairs: wallet, perps, options, spot."""
    api_keys: tuple[KeySpec, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """An order a named account places; `name` lets a later step cancel or check it."""

    path: str
    account: str
    market: str
    side: str
    quantity: Decimal
    type: str = "limit"
    price: Decimal | None = None
    time_in_force: str = "gtc"
    post_only: bool = False
    reduce_only: bool = False
    margin_mode: str = "cross"
    client_order_id: str | None = None
    stop_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    stop_loss_price: Decimal | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class LiquiditySetup:
    """A house market maker's ladder around the market's fair value
    (engine/reactions/liquidity.py)."""

    path: str
    market: str
    quantity: Decimal
    levels: int = 3
    spread_bps: Decimal = Decimal(10)
    step_bps: Decimal = Decimal(5)
    refresh_ms: int = 10_000


@dataclass(frozen=True, slots=True)
class OptionLiquiditySetup:
    """A house options market maker: the board's bid and ask on the underlying's options of
    the nearest expiries, near the money (engine/reactions/option_liquidity.py)."""

    path: str
    underlying: str
    quantity: Decimal = Decimal(1)
    expiries: int = 3
    moneyness: Decimal = Decimal("0.10")
    refresh_ms: int = 10_000


@dataclass(frozen=True, slots=True)
class TakersSetup:
    """A house taker's seeded flow of market and IOC orders on one market, or on an
    underlying's options (engine/reactions/takers.py)."""

    path: str
    market: str | None
    underlying: str | None
    per_minute: Decimal
    min_quantity: Decimal
    max_quantity: Decimal
    buy_share: Decimal = Decimal("0.5")
    ioc_share: Decimal = Decimal(0)
    limit_bps: Decimal = Decimal(10)


# -- step actions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetPrice:
    target: PriceTarget
    market: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class RampPrice:
    """From the price when the step runs to `to`, in equal moves every `every_ms` over
    `over_ms` (the last one exactly at `over_ms`)."""

    target: PriceTarget
    market: str
    to: Decimal
    over_ms: int
    every_ms: int


@dataclass(frozen=True, slots=True)
class GbmPrice:
    """A seeded geometric Brownian motion from the price when the step runs: a move every
    `every_ms` over `over_ms`, at annualized `volatility` and `drift`."""

    target: PriceTarget
    market: str
    volatility: Decimal
    drift: Decimal
    over_ms: int
    every_ms: int


@dataclass(frozen=True, slots=True)
class JumpPrice:
    """One move by `by` (a price difference), or by `by` percent when `percent`."""

    target: PriceTarget
    market: str
    by: Decimal
    percent: bool


@dataclass(frozen=True, slots=True)
class ClearPrice:
    """Index: withdraw it (no index, no mark: order entry answers 503). Mark: release the pin."""

    target: PriceTarget
    market: str


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    order: OrderSpec


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order: str
    """The order's `name` (its account placed it)."""


@dataclass(frozen=True, slots=True)
class CancelAll:
    account: str
    market: str | None = None


@dataclass(frozen=True, slots=True)
class OutsideTrade:
    """A forced fill: an outside trader's IOC limit order against the book."""

    market: str
    side: str
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class FundingRate:
    """The market's next funding settlement pays `rate`."""

    market: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Deposit:
    """A deposit seen on chain: pending, credited after its confirmations."""

    account: str
    amount: Decimal
    tx_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Withdraw:
    account: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class FailWithdrawals:
    """The next `count` withdrawals the keeper sends fail and are refunded."""

    count: int


@dataclass(frozen=True, slots=True)
class VaultLiquidity:
    amount: Decimal | None
    """None: unlimited."""


@dataclass(frozen=True, slots=True)
class Halt:
    market: str


@dataclass(frozen=True, slots=True)
class Resume:
    market: str


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault rule as written (docs/control-api.md "Faults"); the world checks its values.
    `account` is an account name of the scenario, a userId or a wallet address."""

    method: str
    path: str
    type: str
    account: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    ms: int | None = None
    drop: bool = False
    after_frames: int | None = None
    times: int | None = 1
    """None: every matching request until the fault is turned off."""
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class FaultOn:
    name: str
    fault: FaultSpec


@dataclass(frozen=True, slots=True)
class FaultOff:
    name: str


# -- expectations -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectBalance:
    account: str
    bucket: str
    compare: Comparison


@dataclass(frozen=True, slots=True)
class ExpectPosition:
    account: str
    market: str
    field: str
    """size, entryPrice, realizedPnl or fundingPayment (a flat position: all zero)."""
    compare: Comparison
    margin_mode: str = "cross"


@dataclass(frozen=True, slots=True)
class ExpectOrder:
    order: str
    """The order's `name`."""
    status: str


@dataclass(frozen=True, slots=True)
class ExpectEvent:
    """How many events of `type` the log holds since the scenario was loaded (or since
    `since`), of the account's user and with the `where` field values."""

    type: str
    count: Comparison
    account: str | None = None
    where: tuple[tuple[str, str | None], ...] = ()
    since: At | None = None


@dataclass(frozen=True, slots=True)
class ExpectPrice:
    target: PriceTarget
    market: str
    compare: Comparison


Expectation = (
    ExpectBalance
    | ExpectPosition
    | ExpectOrder
    | ExpectEvent
    | ExpectPrice
    | ExpectVol
    | ExpectBoard
    | ExpectMargin
    | ExpectStream
)
PriceMove = SetPrice | RampPrice | GbmPrice | JumpPrice | ClearPrice
Action = (
    PriceMove
    | VolMove
    | PlaceOrder
    | CancelOrder
    | CancelAll
    | OutsideTrade
    | FundingRate
    | Deposit
    | Withdraw
    | FailWithdrawals
    | VaultLiquidity
    | Halt
    | Resume
    | FaultOn
    | FaultOff
    | Expectation
)
EXPECTATIONS = (
    ExpectBalance,
    ExpectPosition,
    ExpectOrder,
    ExpectEvent,
    ExpectPrice,
    ExpectVol,
    ExpectBoard,
    ExpectMargin,
    ExpectStream,
)


@dataclass(frozen=True, slots=True)
class Step:
    path: str
    """`timeline[3]`."""
    key: str
    """The action's key in the file (`order`, `expect`, …), for paths below the step."""
    at: At
    action: Action
    expect_error: str | None = None
    """An error code the action must be refused with (the step is then an expectation)."""

    @property
    def is_expectation(self) -> bool:
        return self.expect_error is not None or isinstance(self.action, EXPECTATIONS)


@dataclass(frozen=True, slots=True)
class Scenario:
    source: str
    """The file name (or `<yaml>` for text), as errors name it."""
    meta: Meta
    markets: tuple[MarketSetup, ...] = ()
    underlyings: tuple[UnderlyingTerms, ...] = ()
    accounts: tuple[AccountSpec, ...] = ()
    books: tuple[OrderSpec, ...] = ()
    liquidity: tuple[LiquiditySetup | OptionLiquiditySetup, ...] = ()
    takers: tuple[TakersSetup, ...] = ()
    timeline: tuple[Step, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict)
    """Every path of the file → its line (1-based)."""

    def problem(self, path: str, message: str) -> Problem:
        """A problem at `path`, on the line of the nearest path the file has."""
        probe = path
        while probe not in self.lines:
            shorter = _PARENT.sub("", probe)
            if shorter == probe:
                break
            probe = shorter
        return Problem(self.source, self.lines.get(probe), path, message)

    @property
    def has_catalog_terms(self) -> bool:
        """Whether the scenario changes the catalog (only a world built from it can)."""
        return bool(self.underlyings) or any(m.terms is not None for m in self.markets)

    def without_catalog_terms(self) -> Scenario:
        """The scenario as played in a world whose catalog already has its terms."""
        if not self.has_catalog_terms:
            return self
        markets = tuple(replace(m, terms=None, term_keys=()) for m in self.markets)
        return replace(self, markets=markets, underlyings=())

    @property
    def steps(self) -> int:
        """Timeline steps that act (not expectations)."""
        return sum(1 for step in self.timeline if not step.is_expectation)

    @property
    def expectations(self) -> int:
        return sum(1 for step in self.timeline if step.is_expectation)
