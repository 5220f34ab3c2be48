"""The catalog of a world built from a scenario: the default listing on the scenario's terms.

A scenario's catalog terms (docs/scenarios.md "Catalog terms") are `underlyings.<symbol>`
(index, carry, leverage, funding horizon) and the term keys of `markets.<id>` (tick, step,
minimum, leverage, band). They make the catalog before the world's exchange exists, so no
order, position or mark ever saw the old terms; a running world refuses them (checks.py).

Rules this module keeps:
- the catalog is `default_catalog` at the world's first instant on the underlyings' terms,
  then each named market's spec replaced on its terms (`with_terms`), in place: the
  listing order, and so every answer that lists markets, is the default one;
- a market's terms name a market listed at the world's first instant (an id, or a `-F1`/`-F2`
  alias resolved then); markets listed later, as time passes (a new quarter's future, a new
  option expiry), come from their underlying's terms, never from another market's;
- every problem is reported at once, by file, line and path (`ScenarioError`); a scenario
  without catalog terms builds the default catalog (`None`: the exchange makes its own).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ocx_sim.engine.core.fees import PERP_FEE_TIERS
from ocx_sim.engine.core.markets import DEFAULT_UNDERLYINGS, Catalog, MarketSpec, default_catalog
from ocx_sim.engine.core.money import MAX_INTEGER_DIGITS, ZERO
from ocx_sim.errors import OcxError, invalid
from ocx_sim.scenarios.checks import problem_of, resolve_in
from ocx_sim.scenarios.model import MAX_LEVERAGE, MarketTerms, Problem, Scenario, ScenarioError

MAX_DECIMALS = 6
"""Price and size decimals together: price × quantity stays within the USDC quantum."""
DEEPEST_REBATE_BPS = min(tier.maker_bps for tier in PERP_FEE_TIERS)
"""A linear market's maker rate may be a rebate no deeper than the fee schedule's (options
pay none)."""


def catalog_for(scenario: Scenario, start_ms: int) -> Catalog | None:
    """The catalog of a world built from `scenario` whose clock starts at `start_ms`; None
    when the scenario has no catalog terms. Raises `ScenarioError` naming every term that
    cannot be."""
    if not scenario.has_catalog_terms:
        return None
    problems: list[Problem] = []
    underlyings = {u.symbol: u for u in DEFAULT_UNDERLYINGS}
    for terms in scenario.underlyings:
        default = underlyings.get(terms.symbol)
        if default is None:
            known = ", ".join(underlyings)
            problems.append(
                scenario.problem(terms.path, f"unknown underlying {terms.symbol!r} ({known})")
            )
            continue
        underlyings[terms.symbol] = replace(
            default,
            index_price=default.index_price if terms.index is None else terms.index,
            carry_apr=default.carry_apr if terms.carry_apr is None else terms.carry_apr,
            max_leverage=default.max_leverage if terms.max_leverage is None else terms.max_leverage,
            funding_horizon_hours=default.funding_horizon_hours
            if terms.funding_horizon_hours is None
            else terms.funding_horizon_hours,
        )
    catalog = default_catalog(start_ms, tuple(underlyings.values()))
    named: dict[str, str] = {}
    """Market id → the path whose terms it took."""
    for setup in scenario.markets:
        if setup.terms is None:
            continue
        spec = resolve_in(catalog, start_ms, setup.market)
        if spec is None:
            problems.append(
                scenario.problem(
                    setup.path,
                    f"unknown market {setup.market!r} when the world starts: catalog terms "
                    "name a market listed then (markets listed later take their underlying's "
                    "terms)",
                )
            )
            continue
        if spec.id in named:
            problems.append(
                scenario.problem(setup.path, f"{spec.id} has its terms at {named[spec.id]} too")
            )
            continue
        named[spec.id] = setup.path
        try:
            catalog.markets[spec.id] = with_terms(spec, setup.terms)
        except OcxError as error:
            problems.append(problem_of(scenario, setup.path, error))
    if problems:
        raise ScenarioError(problems)
    return catalog


def with_terms(spec: MarketSpec, terms: MarketTerms) -> MarketSpec:
    """`spec` on `terms`; 400 VALIDATION_ERROR naming the term (`tick`, `step`, `minQuantity`,
    `maxLeverage`, `band`) that cannot be. A finer tick or step than the market's decimals
    gives the market more decimals (its wire precision), while price and size decimals
    together stay within `MAX_DECIMALS`, so notionals, fees and PnL stay exact in USDC."""
    tick = spec.tick if terms.tick is None else _positive(terms.tick, "tick")
    step = spec.step if terms.step is None else _positive(terms.step, "step")
    price_decimals = max(spec.price_decimals, _decimals(tick))
    size_decimals = max(spec.size_decimals, _decimals(step))
    if price_decimals + size_decimals > MAX_DECIMALS:
        named = (
            "tick" if terms.tick is not None and price_decimals > spec.price_decimals else "step"
        )
        raise invalid(
            named,
            f"prices with {price_decimals} decimals and sizes with {size_decimals} exceed "
            f"{MAX_DECIMALS} together (price × quantity must stay exact in USDC)",
        )
    min_quantity = spec.min_quantity if terms.step is None else step
    max_leverage = spec.max_leverage
    if terms.max_leverage is not None:
        if not spec.has_positions or spec.is_option:
            why = (
                "spot pays in full: it has no leverage"
                if spec.is_spot
                else "options are margined by premium and the short-option rule, not leverage"
            )
            raise invalid("maxLeverage", why)
        if not 1 <= terms.max_leverage <= MAX_LEVERAGE:
            raise invalid("maxLeverage", f"must be between 1 and {MAX_LEVERAGE}")
        max_leverage = terms.max_leverage
    band = spec.band
    if terms.no_band:
        band = None
    elif terms.band is not None:
        if not 0 < terms.band < 1:
            raise invalid("band", "must be a fraction of the mark between 0 and 1 (0.05: ±5 %)")
        band = terms.band
    maker_bps, taker_bps = _fees(spec, terms)
    changed = replace(
        spec,
        maker_bps=maker_bps,
        taker_bps=taker_bps,
        flat_fees=spec.flat_fees or terms.maker_bps is not None or terms.taker_bps is not None,
        tick=tick,
        step=step,
        min_quantity=min_quantity,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        max_leverage=max_leverage,
        band=band,
    )
    if terms.min_quantity is None:
        return changed
    # On the step, and so at least one step: the minimum the spec refuses orders under.
    changed.to_lots(terms.min_quantity, "minQuantity")
    return replace(changed, min_quantity=terms.min_quantity)


def _fees(spec: MarketSpec, terms: MarketTerms) -> tuple[Decimal, Decimal]:
    """The market's maker and taker rates on `terms` (its own when they give none)."""
    maker = spec.maker_bps if terms.maker_bps is None else terms.maker_bps
    taker = spec.taker_bps if terms.taker_bps is None else terms.taker_bps
    floor = ZERO if spec.is_option else DEEPEST_REBATE_BPS
    if maker < floor:
        raise invalid(
            "makerFeeBps",
            f"must be at least {floor}: the fee schedule's deepest maker rebate"
            if floor
            else "must be at least 0: options pay no maker rebate",
        )
    if taker < 0:
        raise invalid("takerFeeBps", "must be at least 0: a taker never earns a rebate")
    if maker + taker < 0:
        raise invalid("takerFeeBps", f"must cover the maker's rebate ({-maker} bps)")
    return maker, taker


def _positive(value: Decimal, field_name: str) -> Decimal:
    if not value.is_finite() or not value > 0:
        raise invalid(field_name, "must be greater than zero")
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise invalid(field_name, f"must be below 1e{MAX_INTEGER_DIGITS}")
    return value


def _decimals(value: Decimal) -> int:
    """Decimal places `value` needs (`0.50` → 1, `5` → 0)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)
