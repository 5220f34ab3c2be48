"""`Sim`: the simulator's levers, which OCX's own API does not have (`exchange.sim`).

Tests, scenarios and the control API move the market with these: indexes, curves, walks and
pinned marks; halts; an outside trader's fills; funding a user at once or through the chain;
the house's liquidity agents and the sandbox; the vault and failed withdrawals; the next
funding rate. Each is a command like the exchange's own: the reaction loop answers what it did
(a price move lets stops fire and accounts be liquidated) before it returns.

    ex = Exchange.create(seed=7)
    ex.sim.set_index("BTC-PERP", Decimal("61200"))    # triggers and liquidations follow
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial

from ocx_sim.engine.commands import wallet
from ocx_sim.engine.commands.admission import admit_terms
from ocx_sim.engine.commands.execution import Placement
from ocx_sim.engine.commands.trading import place_order
from ocx_sim.engine.core import emit
from ocx_sim.engine.core.accounts import Bucket, User
from ocx_sim.engine.core.index import Curve
from ocx_sim.engine.core.ledger import EntryType, SystemBucket, system_account
from ocx_sim.engine.core.markets import MarketSpec, MarketType
from ocx_sim.engine.core.money import MAX_INTEGER_DIGITS, USDC, usdc, usdc_amount
from ocx_sim.engine.core.orders import OrderRequest, Side, TimeInForce
from ocx_sim.engine.core.settlements import Settlement
from ocx_sim.engine.core.surface import PARAMETERS, SurfaceParams
from ocx_sim.engine.reactions import Reactions, command
from ocx_sim.engine.reactions.liquidity import LiquiditySpec
from ocx_sim.engine.reactions.option_liquidity import OptionLiquiditySpec
from ocx_sim.engine.reactions.takers import TakerSpec
from ocx_sim.engine.state import State
from ocx_sim.errors import invalid

HOUSE_ADDRESS = "0x00000000000000000000000000000000000000ff"
"""The outside trader's account (`outside_trade`)."""
HOUSE_FLOAT = Decimal(1_000_000)
LIQUIDITY_ADDRESS = "0x00000000000000000000000000000000000000fd"
"""The sandbox's market maker (`add_liquidity`)."""
TAKERS_ADDRESS = "0x00000000000000000000000000000000000000fc"
"""The sandbox's takers (`add_takers`)."""
MAX_TAKERS_PER_MINUTE = Decimal(600)
"""Ten orders a simulated second on one flow: more is a load test, not a market."""
AGENT_FUNDS = Decimal(1_000_000_000)
MAX_PRICE = Decimal(10) ** MAX_INTEGER_DIGITS
MAX_VOLATILITY = Decimal(10)
"""1000 % a year: anything wilder is a typo."""
SANDBOX_VOLATILITY = {"BTC": Decimal("0.5"), "XAUT": Decimal("0.15"), "WTIOIL": Decimal("0.4")}
DEFAULT_VOLATILITY = Decimal("0.3")
SANDBOX_QUOTE_USD = Decimal(5_000)
"""About this much notional per rung of the sandbox's ladders."""


class Sim:
    def __init__(self, state: State, reactions: Reactions) -> None:
        self._state = state
        self._reactions = reactions

    # -- money -------------------------------------------------------------------------------

    @command
    def deposit(self, user_id: str, amount: Decimal, tx_hash: str | None = None) -> bool:
        """Credit USDC to the user's wallet bucket at once, as a confirmed on-chain deposit
        (funding for tests, scenarios and the control API). A txHash is credited once only:
        a repeat returns False and changes nothing."""
        user = self._state.user(user_id)
        amount = usdc_amount(amount, "amount")
        return wallet.credit_deposit(self._state, user, amount, tx_hash) is not None

    @command
    def submit_deposit(
        self, wallet_address: str, amount: Decimal, tx_hash: str | None = None
    ) -> Settlement:
        """A deposit seen on chain from `wallet_address` (its user is created if new): a
        `pending` settlement, credited after 2 confirmations 2 s apart. A txHash seen before
        answers its existing record."""
        amount = usdc_amount(amount, "amount")
        user = wallet.register_user(self._state, wallet_address)
        return wallet.submit_deposit(self._state, user, amount, tx_hash)

    @command
    def set_vault_liquidity(self, amount: Decimal | None) -> None:
        """The vault's USDC for withdrawals (None: unlimited, the default). A withdrawal the
        vault cannot pay waits `insufficient_liquidity`, retried by every keeper run; sending
        one spends its amount, and credited deposits add theirs. Logged (`VaultLiquiditySet`)."""
        if amount is not None:
            amount = usdc_amount(amount, "amount", zero_ok=True)
        wallet.set_vault_liquidity(self._state, amount)

    def vault_liquidity(self) -> Decimal | None:
        """The vault's USDC left for withdrawals; None when unlimited."""
        return self._state.settlements.vault_liquidity

    @command
    def fail_next_withdrawal(self) -> int:
        """Make the next withdrawal the keeper tries to send end `failed`, refunded to the
        wallet bucket (`withdraw_refund`). Each call arms one more (`WithdrawalFailureArmed`);
        answers how many are armed."""
        return wallet.arm_failure(self._state)

    # -- prices ------------------------------------------------------------------------------

    @command
    def set_index(self, market_id: str, price: Decimal | None) -> None:
        """Set the index of the market's underlying and hold it there, whatever the curve or
        a random walk do, until set again (None withdraws it: no mark, 503). An index is a
        reference, not a tradable price: it may fall between ticks."""
        state = self._state
        underlying = state.market(market_id).underlying
        price = _price_or_none(price)
        self._move_prices(
            partial(state.prices.set_index, underlying, price),
            partial(emit.index_set, state.events, underlying=underlying, price=price),
        )

    @command
    def set_curve(self, underlying: str, front: Decimal, following: Decimal) -> None:
        """Quote the underlying's reference futures curve, F1 and F2 (core/index.py): the
        index follows it from now on, rolling from F1 to F2 in the five days before F1's roll
        ends, and its two nearest futures are marked at F1 and F2 (the nearest settles at
        F1). Releases an index set by `set_index`."""
        state = self._state
        self._underlying(underlying)
        front, following = _price(front, "front"), _price(following, "following")
        self._move_prices(
            partial(state.prices.set_curve, underlying, front, following),
            partial(
                emit.curve_set,
                state.events,
                underlying=underlying,
                front=front,
                following=following,
            ),
        )

    @command
    def set_volatility(self, underlying: str, volatility: Decimal) -> None:
        """Let the underlying's curve walk (a seeded geometric Brownian motion, one step a
        second) at this annualized volatility; 0 holds it still."""
        state = self._state
        self._underlying(underlying)
        if not (volatility.is_finite() and 0 <= volatility <= MAX_VOLATILITY):
            raise invalid("volatility", f"must be between 0 and {MAX_VOLATILITY}")
        self._move_prices(
            partial(state.prices.set_volatility, underlying, float(volatility)),
            partial(
                emit.volatility_set, state.events, underlying=underlying, volatility=volatility
            ),
        )

    @command
    def set_surface(
        self,
        underlying: str,
        *,
        atm_vol: Decimal | None = None,
        term_slope: Decimal | None = None,
        skew: Decimal | None = None,
        smile: Decimal | None = None,
    ) -> SurfaceParams:
        """Set some of the underlying's surface parameters (core/surface.py), the others
        kept; option marks, the board and option margin follow at once. A surface with
        arbitrage is refused (422 naming the first parameter given, by its wire name) and
        nothing changes."""
        state = self._state
        current = state.prices.surface(underlying).params
        given = {
            wire: value
            for wire, value in zip(PARAMETERS, (atm_vol, term_slope, skew, smile), strict=True)
            if value is not None
        }
        params = SurfaceParams(
            atm_vol=current.atm_vol if atm_vol is None else atm_vol,
            term_slope=current.term_slope if term_slope is None else term_slope,
            skew=current.skew if skew is None else skew,
            smile=current.smile if smile is None else smile,
        )
        blame = next(iter(given), PARAMETERS[0])
        self._move_prices(
            partial(state.prices.set_surface, underlying, params, blame),
            partial(
                emit.surface_set,
                state.events,
                underlying=underlying,
                atm_vol=params.atm_vol,
                term_slope=params.term_slope,
                skew=params.skew,
                smile=params.smile,
            ),
        )
        return params

    @command
    def pin_mark(self, market_id: str, price: Decimal | None) -> None:
        """Pin the market's mark at `price`, on the market's tick (None releases it)."""
        state = self._state
        spec = state.market(market_id)
        if price is not None:
            spec.to_ticks(price)
        price = _price_or_none(price)
        self._move_prices(
            partial(state.prices.pin_mark, spec.id, price),
            partial(emit.mark_pinned, state.events, market_id=spec.id, price=price),
        )

    def index_curve(self, underlying: str) -> Curve:
        """The underlying's reference curve (F1, F2, their expiries, pin and walk)."""
        self._underlying(underlying)
        return self._state.prices.process.curves[underlying]

    def _move_prices(self, change: Callable[[], object], log: Callable[..., None]) -> None:
        """One change of an index, mark or basis: funding first accrues the premium that held
        until now (reactions/funding.py), then the change, logged, then the fact that marks
        moved, so what the watchers do follows its cause in the log."""
        state = self._state
        self._reactions.funding.accrue(state.now)
        change()
        log(ts=state.now)
        state.facts.marks = True

    def _underlying(self, symbol: str) -> None:
        if symbol not in self._state.catalog.underlyings:
            raise invalid("underlying", f"unknown underlying {symbol!r}")

    # -- markets -----------------------------------------------------------------------------

    @command
    def halt(self, market_id: str) -> None:
        """New orders answer 409 MARKET_HALTED until `resume`; cancels still work."""
        state = self._state
        spec = state.market(market_id)
        if spec.id not in state.halted:
            state.halted.add(spec.id)
            emit.market_halted(state.events, ts=state.now, market_id=spec.id)

    @command
    def resume(self, market_id: str) -> None:
        state = self._state
        spec = state.market(market_id)
        if spec.id in state.halted:
            state.halted.discard(spec.id)
            emit.market_resumed(state.events, ts=state.now, market_id=spec.id)

    @command
    def set_next_funding_rate(self, market_id: str, rate: Decimal) -> None:
        """Make the perpetual's next funding settlement pay `rate` (within the ±25 bps cap, on
        10 decimals, as a computed rate) instead of the rate of its time-weighted premium: a
        scenario's funding squeeze. That settlement only; the period after it is computed as
        usual (reactions/funding.py)."""
        spec = self._state.market(market_id)
        if spec.type is not MarketType.PERP:
            raise invalid("market", f"{spec.id} is not a perpetual: only perpetuals pay funding")
        self._reactions.funding.override_next(spec, rate)

    @command
    def outside_trade(
        self, market_id: str, side: Side, price: Decimal, quantity: Decimal
    ) -> Placement:
        """An outside trader's IOC limit order (the control API's `trade`): how a test forces a
        fill of resting orders. The trader is a house account funded without limit, so only
        the order's own terms and the market's state (tick, step, halt, expiry, mark, band)
        can refuse it, in the order a client's order meets them (commands/admission.py)."""
        state = self._state
        spec = state.market(market_id)
        request = OrderRequest(spec.id, side, quantity, price=price, time_in_force=TimeInForce.IOC)
        # The order's own terms first: a refused trade must leave no house account behind.
        admit_terms(state, spec, request, state.now)
        house = wallet.register_user(state, HOUSE_ADDRESS)
        house.house = True
        self._fund_house(house, spec, side, price, quantity)
        return place_order(state, house.user_id, request)

    def _fund_house(
        self, house: User, spec: MarketSpec, side: Side, price: Decimal, quantity: Decimal
    ) -> None:
        state = self._state
        if side is Side.SELL and spec.is_spot:
            held = state.ledger.balance((house.user_id, Bucket.SPOT.value, spec.base))
            if held < quantity:
                state.ledger.move(
                    state.now,
                    system_account(SystemBucket.EXTERNAL, spec.base),
                    (house.user_id, Bucket.SPOT.value, spec.base),
                    quantity - held,
                    EntryType.DEPOSIT,
                )
        bucket = Bucket(spec.bucket)
        balance = state.ledger.balance((house.user_id, bucket.value, USDC))
        needed = quantity * price * 2 + HOUSE_FLOAT
        if balance < needed:
            self._fund(house, usdc(needed - balance), bucket)

    def _fund(self, user: User, amount: Decimal, *buckets: Bucket) -> None:
        """Deposit `amount` into each of `buckets` (through the wallet bucket)."""
        wallet.credit_deposit(self._state, user, amount * len(buckets), None)
        for bucket in buckets:
            wallet.transfer(self._state, user, Bucket.WALLET, bucket, amount)

    # -- the house's liquidity ---------------------------------------------------------------

    @command
    def add_liquidity(self, spec: LiquiditySpec) -> None:
        """Keep a house market maker's ladder around the market's fair value
        (reactions/liquidity.py)."""
        state = self._state
        market = state.market(spec.market_id)
        if spec.levels < 1:
            raise invalid("levels", "an agent quotes at least one level a side")
        if spec.refresh_ms < 1:
            raise invalid("refreshMs", "must be at least 1 ms")
        market.to_lots(spec.quantity)
        agent = self._market_maker()
        if market.is_spot:
            self._stock_spot(agent, market)
        self._reactions.add_agent(agent.user_id, spec)

    def _stock_spot(self, agent: User, spec: MarketSpec) -> None:
        """A house agent on a spot market pays in the spot bucket's USDC and sells base it
        holds: it gets both once, the base as much as that USDC would buy at the index."""
        state = self._state
        if state.ledger.balance((agent.user_id, Bucket.SPOT.value, USDC)) == 0:
            self._fund(agent, AGENT_FUNDS, Bucket.SPOT)
        held = (agent.user_id, Bucket.SPOT.value, spec.base)
        if state.ledger.balance(held) == 0:
            underlying = spec.underlying
            price = (
                state.prices.index(underlying) or state.catalog.underlyings[underlying].index_price
            )
            lots = int(AGENT_FUNDS / price / spec.step)
            external = system_account(SystemBucket.EXTERNAL, spec.base)
            state.ledger.move(state.now, external, held, spec.step * lots, EntryType.DEPOSIT)

    @command
    def add_option_liquidity(self, spec: OptionLiquiditySpec) -> None:
        """Keep a house market maker's bid and ask at the board's on the underlying's options
        near the money (reactions/option_liquidity.py)."""
        state = self._state
        self._underlying(spec.underlying)
        options = state.catalog.options(spec.underlying)
        if state.catalog.underlyings[spec.underlying].strike_step is None or not options:
            raise invalid("underlying", f"{spec.underlying} lists no options")
        if spec.expiries < 1:
            raise invalid("expiries", "an agent quotes at least one expiry")
        if not (spec.moneyness.is_finite() and 0 < spec.moneyness <= 1):
            raise invalid("moneyness", "must be above 0 and at most 1 (0.10: strikes within ±10 %)")
        if spec.refresh_ms < 1:
            raise invalid("refreshMs", "must be at least 1 ms")
        options[0].to_lots(spec.quantity)
        self._reactions.add_option_agent(self._market_maker().user_id, spec)

    @command
    def add_takers(self, spec: TakerSpec) -> None:
        """Start a house taker's seeded flow of market and IOC orders on a linear market, or
        on an underlying's options (reactions/takers.py)."""
        state = self._state
        if spec.market_id is not None:
            market = state.market(spec.market_id)
            if market.is_option:
                raise invalid("market", "an option's takers are its underlying's (options:)")
        else:
            self._underlying(spec.underlying or "")
            options = state.catalog.options(spec.underlying)
            if not options:
                raise invalid("underlying", f"{spec.underlying} lists no options")
            market = options[0]
        if not (spec.per_minute.is_finite() and 0 < spec.per_minute <= MAX_TAKERS_PER_MINUTE):
            raise invalid("perMinute", f"must be above 0 and at most {MAX_TAKERS_PER_MINUTE}")
        low = market.to_lots(spec.min_quantity, "quantity.min")
        if low < 1 or market.to_lots(spec.max_quantity, "quantity.max") < low:
            raise invalid("quantity", "min must be above 0 and max at least min")
        for share, name in ((spec.buy_share, "buyShare"), (spec.ioc_share, "iocShare")):
            if not (share.is_finite() and 0 <= share <= 1):
                raise invalid(name, "must be from 0 to 1")
        if not (spec.limit_bps.is_finite() and 0 <= spec.limit_bps < 10_000):
            raise invalid("limitBps", "must be from 0 to below 10000")
        taker = state.accounts.find_address(TAKERS_ADDRESS)
        if taker is None:
            taker = wallet.register_user(state, TAKERS_ADDRESS)
            taker.house = True
            self._fund(taker, AGENT_FUNDS, Bucket.PERPS, Bucket.OPTIONS, Bucket.SPOT)
        if market.is_spot:
            self._stock_spot(taker, market)
        self._reactions.add_takers(taker.user_id, spec)

    def _market_maker(self) -> User:
        """The house market maker's account, made and funded (perps and options) on first use."""
        state = self._state
        agent = state.accounts.find_address(LIQUIDITY_ADDRESS)
        if agent is None:
            agent = wallet.register_user(state, LIQUIDITY_ADDRESS)
            agent.house = True
            self._fund(agent, AGENT_FUNDS, Bucket.PERPS, Bucket.OPTIONS)
        return agent

    @command
    def start_sandbox(self, *, options: bool = False, everywhere: bool = False) -> None:
        """Make the market live on its own (docs/fidelity.md "Prices, funding and expiries",
        sandbox): each underlying's curve in contango at its carry and walking at its
        volatility, and a liquidity agent on every perpetual. With `options`, also an options
        agent (its defaults) on every underlying that lists options. With `everywhere`, the
        liquidity agents quote every dated future and spot market too, and house takers trade
        on all of them (on the options too, with `options`): what the bundled `sandbox`
        scenario runs with both. All seeded: the same seed moves the same way."""
        state = self._state
        for symbol, underlying in state.catalog.underlyings.items():
            curve = state.prices.process.curves[symbol]
            front = state.prices.index(symbol) or underlying.index_price
            years = Decimal(curve.next_ms - curve.front_ms) / (365 * 86_400_000)
            following = (front * (1 + underlying.carry_apr * years)).quantize(Decimal("1e-8"))
            self.set_curve(symbol, front, following)
            self.set_volatility(symbol, SANDBOX_VOLATILITY.get(symbol, DEFAULT_VOLATILITY))
        flows = []
        for market in list(state.catalog):
            if market.type is MarketType.PERP or (everywhere and not market.is_option):
                index = state.prices.index(market.underlying) or Decimal(1)
                lots = max(1, int(SANDBOX_QUOTE_USD / index / market.step))
                self.add_liquidity(LiquiditySpec(market.id, market.step * lots))
                flows.append(_sandbox_takers(market, lots))
        optioned = [s for s, u in state.catalog.underlyings.items() if u.strike_step is not None]
        if options:
            for symbol in optioned:
                self.add_option_liquidity(OptionLiquiditySpec(symbol))
        if everywhere:
            for flow in flows:
                self.add_takers(flow)
            for symbol in optioned if options else ():
                self.add_takers(TakerSpec(None, *SANDBOX_OPTION_TAKERS, underlying=symbol))


def _sandbox_takers(market: MarketSpec, rung_lots: int) -> TakerSpec:
    """The sandbox's takers on a linear market whose ladder rungs are `rung_lots`: six orders
    a minute on a perpetual (a fifth IOC), one elsewhere, from a seventh of a rung to a rung
    and a half."""
    perp = market.type is MarketType.PERP
    return TakerSpec(
        market.id,
        Decimal(6 if perp else 1),
        market.step * max(1, rung_lots // 7),
        market.step * (rung_lots * 3 // 2),
        ioc_share=Decimal("0.2") if perp else Decimal(0),
    )


SANDBOX_OPTION_TAKERS = (Decimal(1), Decimal("0.10"), Decimal("1.00"))
"""An options flow in the sandbox: an order a minute, 0.1 to 1 contract."""


def _price_or_none(price: Decimal | None) -> Decimal | None:
    return None if price is None else _price(price, "price")


def _price(price: Decimal, field: str) -> Decimal:
    if not (price.is_finite() and 0 < price < MAX_PRICE):
        raise invalid(field, f"must be a positive decimal number below {MAX_PRICE}")
    return price
