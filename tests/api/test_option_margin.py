"""The options bucket's scenario margin over HTTP (docs/fidelity.md "Fees and risk", "Margin and
liquidation"): what a short, a spread and a long hold, the 422 a naked short earns, the preview's
`marginRequired`, `/portfolio/me`'s `optionsMargin`, and a volatility shock liquidating a
short straddle."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ocx_sim.engine.core import span
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.events import AccountLiquidated
from ocx_sim.engine.core.markets import MarketSpec, OptionType
from ocx_sim.engine.core.money import format_usdc, usdc
from ocx_sim.worlds import NewAccount, World
from tests.api.conftest import ApiClient, assert_error, atm_call

D = Decimal


def option(world: World, strike: int, kind: OptionType = OptionType.CALL) -> MarketSpec:
    """The BTC option of the first expiry at least three days away (`atm_call`'s)."""
    expiry = atm_call(world).expiry_ms
    return next(
        spec
        for spec in world.exchange.catalog.options("BTC")
        if spec.strike == strike and spec.option_type is kind and spec.expiry_ms == expiry
    )


def scenario_margin(world: World, sizes: list[tuple[MarketSpec, str]]) -> Decimal:
    """The scenario margin of `sizes`, worked out directly from the options' model inputs."""
    exchange = world.exchange
    exposures = []
    for spec, size in sizes:
        inputs = exchange._state.prices.option_inputs(spec, exchange.now_ms)
        assert inputs is not None
        exposures.append((inputs, float(size)))
    return usdc(D(repr(span.requirement(exposures))))


def order(
    client: ApiClient, account: NewAccount, spec: MarketSpec, side: str, qty: str, price: str
) -> Any:
    body = {"marketId": spec.id, "side": side, "quantity": qty, "price": price}
    return client.post("/orders", json=body, token=account.session_token)


def place(
    client: ApiClient, account: NewAccount, spec: MarketSpec, side: str, qty: str, price: str
) -> None:
    response = order(client, account, spec, side, qty, price)
    assert response.status_code == 200, response.json()


def options_margin(client: ApiClient, account: NewAccount) -> dict[str, str]:
    response = client.get("/portfolio/me", token=account.session_token)
    assert response.status_code == 200, response.json()
    margin: dict[str, str] = response.json()["optionsMargin"]
    return margin


def test_a_short_call_holds_its_scenario_margin_on_the_portfolio(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    call = atm_call(world)
    place(client, trader, call, "sell", "0.1", "2124.93")
    place(client, other, call, "buy", "0.1", "2124.93")

    figure = scenario_margin(world, [(call, "-0.1")])
    equity = world.exchange.margin(trader.user_id, Bucket.OPTIONS).equity  # type: ignore[arg-type]
    # the forward 15 % up with the iv × 1.25: 836.850129; maintenance 2/3 of it
    assert figure == D("836.850129")
    assert options_margin(client, trader) == {
        "initialMargin": "836.850129",
        "maintenanceMargin": format_usdc(figure * 2 / 3),
        "availableMargin": format_usdc(equity - figure),
        "marginUsage": f"{figure / equity:.4f}",
    }


def test_a_bull_call_spread_held_as_two_positions_margins_at_most_its_debit(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    low, high = atm_call(world), option(world, 70000)
    place(client, other, low, "sell", "1", "2130.00")
    place(client, trader, low, "buy", "1", "2130.00")
    place(client, other, high, "buy", "1", "1265.00")
    place(client, trader, high, "sell", "1", "1265.00")

    margin = options_margin(client, trader)

    debit = D("2130.00") - D("1265.00")
    assert D(margin["initialMargin"]) == scenario_margin(world, [(low, "1"), (high, "-1")])
    assert 0 < D(margin["initialMargin"]) <= debit
    # a naked short of the same call holds about nine times as much
    assert scenario_margin(world, [(high, "-1")]) > 8 * debit


def test_a_naked_short_is_refused_and_the_same_short_covered_by_a_long_call_is_accepted(
    client: ApiClient, world: World, other: NewAccount
) -> None:
    account = world.create_account(balances={Bucket.OPTIONS: D(3000)})
    low, high = atm_call(world), option(world, 70000)

    naked = order(client, account, high, "sell", "1", "1265.00")

    # its scenario margin and the worst fee it could pay, a taker's 3 bps of 68000
    assert_error(naked, 422, "INSUFFICIENT_MARGIN")
    required = scenario_margin(world, [(high, "-1")]) + D("20.40")
    assert naked.json()["details"] == {
        "requiredIm": format_usdc(required),
        "availableIm": "3000.00",
    }
    # with the 68000 call bought (2130 and a taker fee of 20.40), the short is a spread
    place(client, other, low, "sell", "1", "2130.00")
    place(client, account, low, "buy", "1", "2130.00")
    place(client, account, high, "sell", "1", "1265.00")
    assert world.exchange.open_orders(account.user_id)[0].market_id == high.id
    assert world.exchange.check_invariants() == []


def test_a_long_call_needs_only_its_premium_and_fee(
    client: ApiClient, world: World, other: NewAccount
) -> None:
    call = atm_call(world)
    # 0.1 × 2130 = 213 of premium; taker fee 3 bps of 0.1 × 68000 = 2.04
    short = world.create_account(balances={Bucket.OPTIONS: D("215.03")})
    exact = world.create_account(balances={Bucket.OPTIONS: D("215.04")})
    place(client, other, call, "sell", "0.2", "2130.00")

    refused = order(client, short, call, "buy", "0.1", "2130.00")
    assert_error(refused, 422, "INSUFFICIENT_MARGIN")
    assert refused.json()["details"] == {"requiredIm": "215.04", "availableIm": "215.03"}
    place(client, exact, call, "buy", "0.1", "2130.00")

    assert world.exchange.balances(exact.user_id).options == 0
    margin = options_margin(client, exact)
    # held by its own value: 0.1 × the mark, less its scenario margin
    assert D(margin["initialMargin"]) == scenario_margin(world, [(call, "0.1")])
    assert D(margin["availableMargin"]) >= 0


def test_the_preview_shows_a_sells_scenario_margin_a_bids_premium_and_nothing_for_a_cover(
    client: ApiClient, world: World, trader: NewAccount, other: NewAccount
) -> None:
    low, high = atm_call(world), option(world, 70000)

    def preview(spec: MarketSpec, side: str, price: str) -> Any:
        body = {"marketId": spec.id, "side": side, "quantity": "0.1", "price": price}
        response = client.post("/orders/preview", json=body, token=trader.session_token)
        assert response.status_code == 200, response.json()
        return response.json()

    sell = preview(high, "sell", "1300.00")
    assert sell["marginRequired"] == format_usdc(scenario_margin(world, [(high, "-0.1")]))
    assert sell["approved"] is True
    assert preview(high, "buy", "1200.00")["marginRequired"] == "120.00"

    place(client, other, low, "sell", "0.1", "2130.00")
    place(client, trader, low, "buy", "0.1", "2130.00")

    assert preview(high, "sell", "1300.00")["marginRequired"] == "0.00"


def test_a_volatility_shock_liquidates_a_short_straddle(
    client: ApiClient, world: World, other: NewAccount
) -> None:
    account = world.create_account(balances={Bucket.OPTIONS: D(9000)})
    call, put = atm_call(world), option(world, 68000, OptionType.PUT)
    place(client, account, call, "sell", "1", "2124.93")
    place(client, other, call, "buy", "1", "2124.93")
    place(client, account, put, "sell", "1", "2056.66")
    place(client, other, put, "buy", "1", "2056.66")
    # premiums 4181.59 in, maker fees 2 × 13.60: equity 9000 − 27.20 at the marks, against
    # 2/3 of the straddle's scenario margin (6537.00259)
    before = options_margin(client, account)
    assert before["initialMargin"] == "6537.00259"
    assert world.exchange.events_of(AccountLiquidated) == []

    # 30-day ATM iv from 55 % to 150 %: both legs about 3640 dearer
    world.exchange.sim.set_surface("BTC", atm_vol=D("1.5"))

    [liquidated] = world.exchange.events_of(AccountLiquidated)
    assert (liquidated.user_id, liquidated.bucket) == (account.user_id, "options")
    assert liquidated.equity < liquidated.maintenance
    assert world.exchange.positions(account.user_id) == []
    assert options_margin(client, account)["initialMargin"] == "0.00"
    assert world.exchange.check_invariants() == []
