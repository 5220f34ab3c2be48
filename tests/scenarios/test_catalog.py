"""Catalog terms in a scenario (docs/scenarios.md "Catalog terms"): read by the loader, made
into the catalog of a world built from the scenario, refused by a running world, and seen
everywhere downstream over HTTP: the market listing, order entry, margin, the band, marks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from ocx_sim import cli
from ocx_sim.app import create_app
from ocx_sim.clock import parse_iso
from ocx_sim.engine.core.markets import carry_forward
from ocx_sim.scenarios.checks import BUILD_ONLY
from ocx_sim.scenarios.model import MarketTerms, UnderlyingTerms
from ocx_sim.testing import OcxWorld, in_process_world
from ocx_sim.testing.client import InProcessClient
from ocx_sim.testing.world import Account
from ocx_sim.worlds import World, WorldConfig, Worlds
from tests.scenarios.conftest import scenario

D = Decimal
PERP = "BTC-PERP"
TERMS = """
markets:
  BTC-PERP: {tick: "0.50", step: "0.001", minQuantity: "0.010", maxLeverage: 50, band: "0.15"}
"""


@pytest.fixture
def write(tmp_path: Path) -> Iterator[Any]:
    def write(text: str, name: str = "terms.yaml") -> Path:
        path = tmp_path / name
        path.write_text(dedent(text))
        return path

    yield write


@contextmanager
def built(path: Path, **config: Any) -> Iterator[OcxWorld]:
    """A world built from the scenario file (`POST /_sim/worlds {scenario}`), in process."""
    with in_process_world({"scenario": str(path), **config}) as world:
        yield world


def trader(world: OcxWorld) -> Account:
    return world.account(balances={"perps": "1000000"}, api_keys=["trade"])


def market(world: OcxWorld, market_id: str) -> dict[str, Any]:
    listed = world.client.get("/perps/markets").json()
    return next(m for m in listed if m["id"] == market_id)


def order(**fields: str) -> dict[str, str]:
    return {"marketId": PERP, "side": "buy", "quantity": "0.100", "price": "68000.00", **fields}


def refused(answer: Any, status: int, code: str, field: str) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()
    assert answer.status_code == status, body
    assert body["code"] == code, body
    assert body["details"]["field"] == field, body
    return body


def build_problems(path: Path) -> list[str]:
    """What `POST /_sim/worlds {scenario}` says of a scenario whose terms cannot be."""
    client = InProcessClient(create_app(Worlds(WorldConfig(seed=7))))
    try:
        sent = {"scenario": path.read_text(), "scenarioSource": str(path)}
        answer = client.post("/_sim/worlds", json=sent)
    finally:
        client.close()
    body = refused(answer, 400, "VALIDATION_ERROR", "scenario")
    found = body["details"]["problems"]
    assert {p["source"] for p in found} == {str(path)}  # each names the file, line and path
    return [f"{p['line']}: {p['path']}: {p['message']}" for p in found]


# -- the loader -------------------------------------------------------------------------------


def test_catalog_terms_read_into_a_markets_terms_and_an_underlyings() -> None:
    s = scenario(
        """
        markets:
          BTC-PERP: {tick: "0.50", step: "0.001", minQuantity: "0.010", maxLeverage: 50,
                     band: "0.10", halted: true}
          BTC-USDC-F1: {band: ~, tick: ~}
          ETH-PERP: {mark: "1.00"}
        underlyings:
          BTC: {index: "90000.12345678", carryApr: "-0.02", maxLeverage: 25,
                fundingHorizonHours: 1}
        """
    )

    perp, future, plain = s.markets
    assert perp.terms == MarketTerms(D("0.50"), D("0.001"), D("0.010"), 50, D("0.10"))
    assert perp.term_keys == ("tick", "step", "minQuantity", "maxLeverage", "band")
    assert perp.halted  # the market's state keys stay beside its terms
    assert future.terms == MarketTerms(no_band=True)  # `tick: ~` is left out, `band: ~` is not
    assert future.term_keys == ("band",)
    assert (plain.terms, plain.term_keys) == (None, ())
    assert s.underlyings == (
        UnderlyingTerms("underlyings.BTC", "BTC", D("90000.12345678"), D("-0.02"), 25, 1),
    )
    assert s.has_catalog_terms
    assert not s.without_catalog_terms().has_catalog_terms
    assert s.without_catalog_terms().markets[0].halted


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "markets:\n  BTC-PERP: {tick: 0.5}\n",
            '2: markets.BTC-PERP.tick: expected a decimal string such as "68000.50" '
            "(quote it: decimals are strings)",
        ),
        (
            'markets:\n  BTC-PERP: {step: "0"}\n',
            "2: markets.BTC-PERP.step: must be greater than zero",
        ),
        (
            'markets:\n  BTC-PERP: {minQuantity: "-1"}\n',
            "2: markets.BTC-PERP.minQuantity: must be greater than zero",
        ),
        (
            "markets:\n  BTC-PERP: {maxLeverage: 0}\n",
            "2: markets.BTC-PERP.maxLeverage: must be between 1 and 100",
        ),
        (
            'markets:\n  BTC-PERP: {maxLeverage: "20"}\n',
            "2: markets.BTC-PERP.maxLeverage: expected an integer",
        ),
        (
            'markets:\n  BTC-PERP: {band: "1"}\n',
            '2: markets.BTC-PERP.band: must be a fraction of the mark below 1 ("0.05": ±5 %), or ~',
        ),
        (
            'markets:\n  BTC-PERP:\n    tickSize: "1"\n',
            "3: markets.BTC-PERP.tickSize: unknown key (expected one of: index, curve, "
            "volatility, mark, halted, tick, step, minQuantity, maxLeverage, band, makerFeeBps, "
            "takerFeeBps); did you mean 'tick'?",
        ),
        (
            'underlyings:\n  BTC: {carryApr: "-1"}\n',
            "2: underlyings.BTC.carryApr: must be above -1 and at most 1",
        ),
        (
            'underlyings:\n  BTC: {carryApr: "1.5"}\n',
            "2: underlyings.BTC.carryApr: must be above -1 and at most 1",
        ),
        (
            'underlyings:\n  BTC: {index: "68000.000000001"}\n',
            "2: underlyings.BTC.index: is finer than an index keeps (0.00000001)",
        ),
        (
            'underlyings:\n  BTC: {index: "0"}\n',
            "2: underlyings.BTC.index: must be greater than zero",
        ),
        (
            "underlyings:\n  BTC: {maxLeverage: 101}\n",
            "2: underlyings.BTC.maxLeverage: must be between 1 and 100",
        ),
        (
            "underlyings:\n  BTC: {fundingHorizonHours: 0}\n",
            "2: underlyings.BTC.fundingHorizonHours: must be between 1 and 720",
        ),
        (
            "underlyings:\n  BTC: {fundingHorizonHours: 721}\n",
            "2: underlyings.BTC.fundingHorizonHours: must be between 1 and 720",
        ),
        (
            'underlyings:\n  BTC: {fundingHorizonHours: "8"}\n',
            "2: underlyings.BTC.fundingHorizonHours: expected an integer",
        ),
        (
            "underlyings:\n  BTC: {fundingHorizonHours: 1.5}\n",
            "2: underlyings.BTC.fundingHorizonHours: expected an integer",
        ),
        (
            'underlyings:\n  BTC: {mark: "1"}\n',
            "2: underlyings.BTC.mark: unknown key (expected one of: index, carryApr, maxLeverage, "
            "fundingHorizonHours)",
        ),
    ],
)
def test_each_mistaken_term_is_refused_by_line_and_path(
    write: Any, text: str, problem: str
) -> None:
    assert build_problems(write(text)) == [problem]


# -- building a world -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'markets:\n  BTC-USDC-2026-09-25: {tick: "1"}\n',
            "2: markets.BTC-USDC-2026-09-25: unknown market 'BTC-USDC-2026-09-25' when the world "
            "starts: catalog terms name a market listed then (markets listed later take their "
            "underlying's terms)",
        ),
        (
            'underlyings:\n  DOGE: {index: "1"}\n',
            "2: underlyings.DOGE: unknown underlying 'DOGE' (BTC, XAUT, WTIOIL)",
        ),
        (
            "markets:\n  BTC-USDC-SPOT: {maxLeverage: 5}\n",
            "2: markets.BTC-USDC-SPOT.maxLeverage: spot pays in full: it has no leverage",
        ),
        (
            "markets:\n  BTC-2026-01-09-68000-C: {maxLeverage: 5}\n",
            "2: markets.BTC-2026-01-09-68000-C.maxLeverage: options are margined by premium and "
            "the short-option rule, not leverage",
        ),
        (
            'markets:\n  BTC-PERP: {step: "0.001", minQuantity: "0.0015"}\n',
            "2: markets.BTC-PERP.minQuantity: 0.0015 is not a multiple of the step size 0.001",
        ),
        (
            'markets:\n  BTC-PERP: {tick: "0.00001"}\n',
            "2: markets.BTC-PERP.tick: prices with 5 decimals and sizes with 4 exceed 6 together "
            "(price × quantity must stay exact in USDC)",
        ),
        (
            'markets:\n  BTC-PERP: {step: "0.00001"}\n',
            "2: markets.BTC-PERP.step: prices with 2 decimals and sizes with 5 exceed 6 together "
            "(price × quantity must stay exact in USDC)",
        ),
        (
            'markets:\n  BTC-USDC-F1: {band: "0.2"}\n  BTC-USDC-2026-03-27: {band: "0.3"}\n',
            "3: markets.BTC-USDC-2026-03-27: BTC-USDC-2026-03-27 has its terms at "
            "markets.BTC-USDC-F1 too",
        ),
        (
            'markets:\n  BTC-PERP: {tick: "0.50"}\naccounts: {bob: {balances: {perps: "9000"}}}\n'
            'books:\n  - {account: bob, market: BTC-PERP, side: sell, price: "68000.25", '
            'quantity: "0.1"}\n',
            "5: books[0].price: 68000.25 is not a multiple of the tick size 0.50",
        ),
    ],
)
def test_a_world_is_not_built_from_terms_that_cannot_be(
    write: Any, text: str, problem: str
) -> None:
    assert build_problems(write(text)) == [problem]


def test_a_running_world_refuses_catalog_terms_naming_each_one() -> None:
    text = TERMS + 'underlyings:\n  BTC: {index: "70000"}\n'
    with in_process_world({"seed": 7}) as world:
        answer = world.client.post("/_sim/scenarios", json={"yaml": dedent(text)})
        tradeable = market(world, PERP)

    body = refused(answer, 400, "VALIDATION_ERROR", "yaml")
    paths = [p["path"] for p in body["details"]["problems"]]
    assert paths == [
        "underlyings.BTC",
        "markets.BTC-PERP.tick",
        "markets.BTC-PERP.step",
        "markets.BTC-PERP.minQuantity",
        "markets.BTC-PERP.maxLeverage",
        "markets.BTC-PERP.band",
    ]
    assert {p["message"] for p in body["details"]["problems"]} == {BUILD_ONLY}
    assert tradeable["tickSize"] == "0.01"  # nothing changed


def test_market_state_keys_work_beside_terms_in_a_built_world_and_alone_in_a_running_one(
    write: Any,
) -> None:
    path = write('markets:\n  BTC-PERP: {tick: "0.50", halted: true, mark: "68000.50"}\n')
    with built(path) as world:
        perp = market(world, PERP)
    with in_process_world({"seed": 7}) as world:
        world.load_scenario(write("markets:\n  BTC-PERP: {halted: true}\n", "state.yaml"))
        running = market(world, PERP)

    assert (perp["tickSize"], perp["tradingStatus"], perp["markPrice"]) == (
        "0.50",
        "halted",
        "68000.50",
    )
    assert running["tradingStatus"] == "halted"


# -- what the terms do, over HTTP -------------------------------------------------------------


def test_the_market_listing_shows_the_new_tick_step_minimum_and_band(write: Any) -> None:
    with built(write(TERMS)) as world:
        perp = market(world, PERP)
        spot = market(world, "BTC-USDC-SPOT")

    assert (perp["tickSize"], perp["stepSize"], perp["minQuantity"]) == ("0.50", "0.0010", "0.0100")
    assert (perp["priceBandLow"], perp["priceBandHigh"]) == ("57800.00", "78200.00")  # ±15 %
    assert (spot["tickSize"], spot["priceBandLow"]) == ("0.01", "61200.00")  # others: ±10 %


def test_a_new_step_without_a_minimum_makes_one_step_the_minimum(write: Any) -> None:
    with built(write('markets:\n  XAUT-USDC-PERP: {step: "0.01"}\n')) as world:
        gold = market(world, "XAUT-USDC-PERP")

    assert (gold["stepSize"], gold["minQuantity"]) == ("0.010", "0.010")  # was 0.001


def test_a_finer_tick_gives_the_market_more_price_decimals(write: Any) -> None:
    with built(write('markets:\n  WTIOIL-PERP: {tick: "0.005"}\n')) as world:
        oil = market(world, "WTIOIL-PERP")
        buyer = trader(world)
        placed = buyer.client.post(
            "/perps/orders",
            json={"marketId": "WTIOIL-PERP", "side": "buy", "quantity": "1", "price": "69.995"},
        )

    assert (oil["priceDecimals"], oil["tickSize"], oil["markPrice"]) == (3, "0.005", "70.000")
    assert placed.status_code == 200, placed.json()
    assert placed.json()["price"] == "69.995"


def test_orders_off_the_new_tick_or_step_or_under_the_new_minimum_are_refused(
    write: Any,
) -> None:
    with built(write(TERMS)) as world:
        buyer = trader(world)
        off_tick = buyer.client.post("/perps/orders", json=order(price="68000.25"))
        off_step = buyer.client.post("/perps/orders", json=order(quantity="0.0105"))
        too_small = buyer.client.post("/perps/orders", json=order(quantity="0.009"))
        on_terms = buyer.client.post("/perps/orders", json=order(price="68000.50"))

    assert "tick size 0.50" in refused(off_tick, 400, "VALIDATION_ERROR", "price")["message"]
    assert "step size 0.001" in refused(off_step, 400, "VALIDATION_ERROR", "quantity")["message"]
    assert "minimum 0.010" in refused(too_small, 400, "VALIDATION_ERROR", "quantity")["message"]
    assert on_terms.status_code == 200, on_terms.json()


def test_margin_is_held_at_the_new_leverage(write: Any) -> None:
    with built(write(TERMS)) as world:
        buyer = trader(world)
        preview = buyer.client.post("/perps/orders/preview", json=order()).json()
        buyer.client.post("/perps/orders", json=order())
        balances = buyer.client.get("/perps/balances").json()

    # 0.1 × 68000 / 50, where the default 20 holds 340.
    assert preview["marginRequired"] == "136.00"
    assert D(balances["initialMargin"]) == D("136")


def test_the_band_admits_prices_within_its_new_width_and_none_lifts_it(write: Any) -> None:
    text = TERMS + "  BTC-USDC-F1: {band: ~}\n"
    with built(write(text)) as world:
        future = market(world, "BTC-USDC-2026-03-27")
        buyer = trader(world)
        inside = buyer.client.post("/perps/orders", json=order(price="76000.00"))
        outside = buyer.client.post("/perps/orders", json=order(price="78500.00"))
        anywhere = buyer.client.post(
            "/perps/orders", json=order(marketId=future["id"], price="90000.00", quantity="0.01")
        )
        unbounded = buyer.client.post(
            "/perps/orders",
            json={"marketId": future["id"], "side": "buy", "type": "market", "quantity": "0.01"},
        )

    assert inside.status_code == 200, inside.json()  # 12 % over the mark: outside the default
    refused(outside, 422, "PRICE_OUT_OF_BAND", "price")
    assert future["priceBandLow"] is None
    assert anywhere.status_code == 200, anywhere.json()
    refused(unbounded, 400, "VALIDATION_ERROR", "price")


def test_an_underlyings_index_and_carry_set_its_marks_and_its_option_strikes(write: Any) -> None:
    path = write('underlyings:\n  BTC: {index: "90000.00", carryApr: "0.08"}\n')
    with built(path) as world:
        perp = market(world, PERP)
        future = market(world, "BTC-USDC-2026-03-27")
        books = {
            strike: world.client.get(f"/orderbook/BTC-2026-01-09-{strike}-C").status_code
            for strike in (62000, 90000, 108000)
        }

    assert perp["markPrice"] == "90000.00"
    start, expiry = parse_iso("2026-01-02T00:00:00Z"), parse_iso(future["expiry"])
    fair = carry_forward(D("90000"), D("0.08"), start, expiry)
    assert D(future["markPrice"]) == fair.quantize(D("0.01"))
    assert D(future["markPrice"]) > carry_forward(D("90000"), D("0.05"), start, expiry)
    # The strike grid sits around 90000 (72000 to 108000), not 68000 (56000 to 80000).
    assert books == {62000: 404, 90000: 200, 108000: 200}


def test_an_underlyings_funding_horizon_sets_how_fast_its_perpetual_pays_a_premium_off(
    write: Any,
) -> None:
    path = write(
        "underlyings:\n  BTC: {fundingHorizonHours: 1}\n  XAUT: {fundingHorizonHours: 720}\n"
    )
    with built(path) as world:
        world.control("POST", "/_sim/markets/BTC-PERP/mark", {"price": "68652.80"})
        world.control("POST", "/_sim/markets/XAUT-USDC-PERP/mark", {"price": "4038.40"})
        world.control("POST", "/_sim/markets/WTIOIL-PERP/mark", {"price": "70.67"})
        stats = {s["marketId"]: s for s in world.client.get("/perps/market-stats").json()}

    # A premium of 0.0096 (0.0095714… on oil's tick), paid off over H: × 5 min / H a period.
    assert (stats[PERP]["fundingRate"], stats[PERP]["funding1hPct"]) == ("0.0008", "0.96")
    # 0.0096 × 5 / 43200 = 0.00000111…, to 10 decimals
    assert stats["XAUT-USDC-PERP"]["fundingRate"] == "0.0000011111"
    # the default 8 hours: 0.67 / 70 / 96 = 0.0000997023…
    assert stats["WTIOIL-PERP"]["fundingRate"] == "0.0000997024"


def test_a_relisted_future_takes_its_underlyings_leverage_not_its_predecessors(
    write: Any,
) -> None:
    text = """
        meta: {start: 2026-03-27T07:00:00Z}
        underlyings:
          BTC: {maxLeverage: 25}
        markets:
          BTC-USDC-F1: {maxLeverage: 5, tick: "1"}
        """
    with built(write(text)) as world:
        buyer = trader(world)
        expiring = {"marketId": "BTC-USDC-2026-03-27", "quantity": "0.1", "price": "68000"}
        before = buyer.client.post("/perps/orders/preview", json=order(**expiring)).json()
        world.clock.advance("2h")
        relisted = market(world, "BTC-USDC-2026-09-25")
        price = relisted["markPrice"]
        after = buyer.client.post(
            "/perps/orders/preview",
            json=order(marketId=relisted["id"], quantity="0.1", price=price),
        ).json()
        perp = buyer.client.post("/perps/orders/preview", json=order(quantity="0.1")).json()

    assert before["marginRequired"] == "1360.00"  # 6800 / 5
    assert relisted["tickSize"] == "0.01"  # the default tick, not the expired future's
    assert D(after["marginRequired"]) == D("0.1") * D(price) / 25
    assert perp["marginRequired"] == "272.00"  # the perpetual takes the underlying's 25 too


# -- determinism, reset, snapshots, the CLI ---------------------------------------------------


def play(world: OcxWorld) -> str:
    buyer, seller = trader(world), trader(world)
    seller.client.post("/perps/orders", json=order(side="sell", price="68000.50"))
    buyer.client.post("/perps/orders", json=order(price="68000.50", quantity="0.050"))
    world.clock.advance("10m")
    return world.digest()


def test_the_same_scenario_builds_worlds_that_play_byte_for_byte_alike(write: Any) -> None:
    path = write(TERMS + 'underlyings:\n  BTC: {carryApr: "0.09"}\n')
    with built(path, seed=11) as first, built(path, seed=11) as second:
        tick = market(first, PERP)["tickSize"]
        digests = play(first), play(second)

    assert tick == "0.50"
    assert digests[0] == digests[1]


def test_a_reset_world_keeps_its_terms_as_does_a_restored_one(write: Any) -> None:
    with built(write(TERMS)) as world:
        snapshot = world.control("POST", "/_sim/snapshot")["snapshotId"]
        world.control("POST", "/_sim/reset", {})
        after_reset = market(world, PERP)
        world.control("POST", "/_sim/restore", {"snapshotId": snapshot})
        after_restore = market(world, PERP)
        buyer = trader(world)
        off_tick = buyer.client.post("/perps/orders", json=order(price="68000.25"))

    assert after_reset["tickSize"] == after_restore["tickSize"] == "0.50"
    refused(off_tick, 400, "VALIDATION_ERROR", "price")


def test_a_world_built_from_a_scenario_reads_its_terms_anew_on_reset(write: Any) -> None:
    path = write(TERMS)
    world = World("t", WorldConfig(seed=7, scenario=str(path)))
    path.write_text(dedent(TERMS).replace('"0.50"', '"0.25"'))

    world.reset()

    assert world.exchange.catalog.get(PERP).tick == D("0.25")


def test_validate_builds_a_world_from_each_file_so_it_judges_the_terms(
    write: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(TERMS, "good.yaml")
    bad = write("markets:\n  BTC-USDC-SPOT: {maxLeverage: 3}\n", "bad.yaml")

    code = cli.main(["validate", str(good), str(bad)])

    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{good}: ok (0 steps, 0 expectations)",
        f"{bad}: invalid",
        f"  {bad}:2: markets.BTC-USDC-SPOT.maxLeverage: spot pays in full: it has no leverage",
    ]


# -- fees -------------------------------------------------------------------------------------

FEES = 'markets:\n  BTC-PERP: {makerFeeBps: "1", takerFeeBps: "10"}\n'


def test_fills_pay_a_markets_own_fees_and_the_listing_and_preview_show_them(write: Any) -> None:
    with built(write(FEES)) as world:
        perp = market(world, PERP)
        maker, taker = trader(world), trader(world)
        maker.client.post("/perps/orders", json=order(side="sell", quantity="0.100"))
        preview = taker.client.post("/perps/orders/preview", json=order()).json()
        [fill] = taker.client.post("/perps/orders", json=order()).json()["fills"]
        [made] = maker.client.get("/perps/trades").json()

    assert (perp["makerFeeBps"], perp["takerFeeBps"]) == ("1", "10")
    assert (preview["feeBps"], preview["estFee"]) == ("10", "6.80")
    assert (fill["feeRole"], fill["fee"]) == ("taker", "6.80")  # 10 bps of 6800, not 5
    assert D(made["fee"]) == D("0.68")  # 1 bps, not 2


def test_a_markets_own_fees_hold_at_every_volume_tier(write: Any) -> None:
    with built(write(FEES)) as world:
        maker, taker = trader(world), trader(world)
        # 15 × 68000 = 1.02 M of volume: the schedule's second tier (taker 4.5 bps).
        maker.client.post("/perps/orders", json=order(side="sell", quantity="15.100"))
        taker.client.post("/perps/orders", json=order(quantity="15.000"))
        [fill] = taker.client.post("/perps/orders", json=order()).json()["fills"]

    assert fill["fee"] == "6.80"  # still 10 bps (the tier would charge 3.06)


def test_a_spot_bid_locks_enough_for_the_markets_own_taker_fee(write: Any) -> None:
    path = write('markets:\n  BTC-USDC-SPOT: {takerFeeBps: "50"}\n')
    with built(path) as world:
        # 6800 + 5 bps would do on the default schedule; 50 bps needs 6834.
        buyer = world.account(balances={"spot": "6810"}, api_keys=["trade"])
        spot = {"marketId": "BTC-USDC-SPOT", "side": "buy", "quantity": "0.1000"}
        short = buyer.client.post("/orders", json={**spot, "price": "68000.00"})

    refused_ = short.json()
    assert (short.status_code, refused_["code"]) == (400, "INSUFFICIENT_BALANCE"), refused_
    assert refused_["details"]["required"] == "6834.000000"


@pytest.mark.parametrize(
    ("terms", "problem"),
    [
        (
            '{makerFeeBps: "-1"}',
            "makerFeeBps: must be at least -0.5: the fee schedule's deepest maker rebate",
        ),
        ('{takerFeeBps: "-1"}', "takerFeeBps: must be at least 0: a taker never earns a rebate"),
        (
            '{makerFeeBps: "-0.5", takerFeeBps: "0.25"}',
            "takerFeeBps: must cover the maker's rebate (0.5 bps)",
        ),
        ('{makerFeeBps: "200"}', "makerFeeBps: must be between -100 and 100 (bps)"),
    ],
)
def test_fees_beyond_what_the_schedule_allows_are_refused(
    write: Any, terms: str, problem: str
) -> None:
    found = build_problems(write(f"markets:\n  BTC-PERP: {terms}\n"))

    assert found == [f"2: markets.BTC-PERP.{problem}"]


def test_an_option_market_pays_no_maker_rebate(write: Any) -> None:
    path = write('markets:\n  BTC-2026-01-09-68000-C: {makerFeeBps: "-0.1"}\n')

    assert build_problems(path) == [
        "2: markets.BTC-2026-01-09-68000-C.makerFeeBps: must be at least 0: options pay no "
        "maker rebate"
    ]


def test_an_option_fill_pays_the_option_markets_own_rate_under_the_premium_cap(
    write: Any,
) -> None:
    call = "BTC-2026-01-09-68000-C"
    with built(write(f'markets:\n  {call}: {{makerFeeBps: "0", takerFeeBps: "1"}}\n')) as world:
        seller = world.account(balances={"options": "100000"}, api_keys=["trade"])
        buyer = world.account(balances={"options": "100000"}, api_keys=["trade"])
        ask = {"marketId": call, "side": "sell", "quantity": "0.50", "price": "2150.00"}
        seller.client.post("/options/orders", json=ask)
        bought = buyer.client.post("/options/orders", json={**ask, "side": "buy"}).json()
        sold = seller.client.get("/options/trades/me").json()

    # 1 bps of the underlying notional, 0.5 × 68000 (the schedule's 3 bps would be 10.20).
    assert bought["fills"][0]["fee"] == "3.40"
    assert D(sold[0]["fee"]) == 0
