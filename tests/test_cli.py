"""The command line: `ocx-sim serve` builds the default world and hands it to the server."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
import time
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from starlette.applications import Starlette

import ocx_sim.cli
from ocx_sim.auth.policy import Profile
from ocx_sim.auth.siwe import parse_message, prepare_message, recover_signer, sign_message
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.engine.exchange import Exchange
from ocx_sim.outputs.event_printer import EventPrinter
from ocx_sim.server import MAX_CONNECTIONS
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import ClockMode, WorldConfig
from ocx_sim.worlds.config import START_NOW
from ocx_sim.worlds.faults import FaultAction, FaultMatch, FaultType


@dataclass
class FakeServe:
    """Stands in for `ocx_sim.server.serve`: records each call instead of starting uvicorn."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        app: Starlette,
        host: str = "127.0.0.1",
        port: int = 8000,
        access_log: bool = False,
        max_connections: int = MAX_CONNECTIONS,
        http: str | None = None,
    ) -> None:
        self.calls.append(
            {
                "app": app,
                "host": host,
                "port": port,
                "access_log": access_log,
                "max_connections": max_connections,
                "http": http,
            }
        )

    @property
    def only_call(self) -> dict[str, Any]:
        assert len(self.calls) == 1
        return self.calls[0]


@pytest.fixture
def fake_serve(monkeypatch: pytest.MonkeyPatch) -> FakeServe:
    fake = FakeServe()
    monkeypatch.setattr(ocx_sim.cli, "serve", fake)
    return fake


def test_serve_builds_an_app_over_a_default_world_with_the_given_seed(
    fake_serve: FakeServe,
) -> None:
    assert ocx_sim.cli.main(["serve", "--port", "9999", "--seed", "5"]) == 0
    call = fake_serve.only_call
    assert isinstance(call["app"], Starlette)
    exchange = call["app"].state.worlds.default.exchange
    assert isinstance(exchange, Exchange)
    assert exchange.seed == 5
    assert exchange.now_ms == DEFAULT_START_MS


def test_serve_log_events_prints_the_default_worlds_notable_events_on_stdout(
    fake_serve: FakeServe, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ocx_sim.cli.main(["serve", "--log-events"]) == 0
    world = fake_serve.only_call["app"].state.worlds.default
    capsys.readouterr()

    assert [type(o) for o in world.observers] == [EventPrinter]
    world.faults.add(FaultMatch("GET", "/perps/markets"), FaultAction(FaultType.DROP))
    world.faults.hit("GET", "/perps/markets")
    world.changed()
    assert " fault " in capsys.readouterr().out


def test_serve_without_log_events_attaches_no_printer(fake_serve: FakeServe) -> None:
    assert ocx_sim.cli.main(["serve"]) == 0

    assert fake_serve.only_call["app"].state.worlds.default.observers == []


def test_serve_passes_host_127_0_0_1_and_the_given_port(fake_serve: FakeServe) -> None:
    ocx_sim.cli.main(["serve", "--port", "9999", "--seed", "5"])
    call = fake_serve.only_call
    assert call["host"] == "127.0.0.1"
    assert call["port"] == 9999
    assert call["access_log"] is False
    assert call["max_connections"] == MAX_CONNECTIONS


def test_serve_leaves_the_http_implementation_to_the_host_unless_told(
    fake_serve: FakeServe,
) -> None:
    ocx_sim.cli.main(["serve"])
    ocx_sim.cli.main(["serve", "--http", "h11"])

    assert [call["http"] for call in fake_serve.calls] == [None, "h11"]


def test_serve_passes_max_connections_to_the_server(fake_serve: FakeServe) -> None:
    ocx_sim.cli.main(["serve", "--max-connections", "40"])

    assert fake_serve.only_call["max_connections"] == 40


def test_serve_refuses_a_trusted_proxy_that_is_not_an_address_or_network(
    fake_serve: FakeServe, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        ocx_sim.cli.main(["serve", "--trusted-proxies", "10.0.0.0/8,proxy.local"])

    assert "'proxy.local' is not an IP address or network" in capsys.readouterr().err
    assert fake_serve.calls == []


def test_serve_prints_the_url_it_serves_on(
    fake_serve: FakeServe, capsys: pytest.CaptureFixture[str]
) -> None:
    ocx_sim.cli.main(["serve", "--port", "9999", "--seed", "5"])
    out = capsys.readouterr().out
    assert "http://127.0.0.1:9999" in out
    assert "seed 5" in out


def test_serve_defaults_to_port_8000_and_seed_0(fake_serve: FakeServe) -> None:
    ocx_sim.cli.main(["serve"])
    call = fake_serve.only_call
    assert (call["host"], call["port"], call["access_log"]) == ("127.0.0.1", 8000, False)
    assert call["app"].state.worlds.default.exchange.seed == 0


def test_serve_passes_host_and_access_log_options(fake_serve: FakeServe) -> None:
    ocx_sim.cli.main(["serve", "--host", "0.0.0.0", "--port", "1234", "--access-log"])
    call = fake_serve.only_call
    assert (call["host"], call["port"], call["access_log"]) == ("0.0.0.0", 1234, True)


def test_the_served_app_answers_the_market_list(fake_serve: FakeServe) -> None:
    ocx_sim.cli.main(["serve", "--seed", "5"])
    transport = httpx.ASGITransport(app=fake_serve.only_call["app"])

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/perps/markets")

    response = asyncio.run(get())
    assert response.status_code == 200
    assert "BTC-PERP" in [m["id"] for m in response.json()]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["serve", "--port", "abc"],
        ["serve", "--seed", "1.5"],
        ["serve", "--unknown"],
        ["serve", "--random-secrets", "--deterministic-secrets"],
    ],
)
def test_bad_arguments_exit_2_without_serving(fake_serve: FakeServe, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        ocx_sim.cli.main(argv)
    assert exited.value.code == 2
    assert fake_serve.calls == []


def config_of(fake_serve: FakeServe) -> WorldConfig:
    config: WorldConfig = fake_serve.only_call["app"].state.worlds.default.config
    return config


def test_serve_passes_clock_profile_rate_limit_and_sign_in_options_to_the_world(
    fake_serve: FakeServe,
) -> None:
    ocx_sim.cli.main(
        [
            "serve",
            *("--clock", "realtime", "--speed", "60", "--profile", "permissive"),
            *("--rate-limit", "30", "--siwe-domain", "app.example", "--chain-id", "1"),
            *("--chain-id", "10", "--invite-code", "ALPHA", "--invite-code", "BETA"),
            *("--trusted-proxies", "127.0.0.1, 10.0.0.0/8"),
            "--journal-bodies",
        ]
    )
    config = config_of(fake_serve)

    assert (config.clock, config.speed, config.profile) == (
        ClockMode.REALTIME,
        60.0,
        Profile.PERMISSIVE,
    )
    assert (config.order_rate_limit, config.siwe_domain, config.chain_ids) == (
        30,
        "app.example",
        (1, 10),
    )
    assert (config.invite_codes, config.trusted_proxies) == (
        ("ALPHA", "BETA"),
        (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")),
    )
    assert config.journal_bodies


def test_serve_defaults_leave_invites_off_and_accept_both_base_chains(
    fake_serve: FakeServe,
) -> None:
    ocx_sim.cli.main(["serve"])
    config = config_of(fake_serve)

    assert (config.invite_codes, config.chain_ids, config.trusted_proxies) == (
        None,
        (84532, 8453),
        (),
    )
    assert not config.journal_bodies


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "0"], "--speed must be greater than 0 and at most 10000"),
        (["--speed", "inf"], "--speed must be greater than 0 and at most 10000"),
        (["--speed", "nan"], "--speed must be greater than 0 and at most 10000"),
        (["--speed", "10001"], "--speed must be greater than 0 and at most 10000"),
        (["--seed", str(2**63)], "--seed must be a signed 64-bit integer"),
        (["--rate-limit", "0"], "--rate-limit must be at least 1"),
        (["--start", "tomorrow"], "--start must be an ISO-8601 instant or now"),
        (["--start", "NOW"], "--start must be an ISO-8601 instant or now"),
        (
            ["--start", "9999-01-01T00:00:00Z"],
            "--start must be between 1970-01-01T00:00:00Z and 9998-12-31T23:59:59.999Z",
        ),
    ],
)
def test_out_of_range_options_exit_with_a_message_without_serving(
    fake_serve: FakeServe, argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        ocx_sim.cli.main(["serve", *argv])
    assert exited.value.code == message
    assert fake_serve.calls == []


# -- ocx-sim siwe -----------------------------------------------------------------------------

KEY = "0x" + "42" * 32
WALLET = Account.from_key(KEY)


def siwe_body(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    ocx_sim.cli.main(["siwe", "--private-key", KEY, *argv])
    body: dict[str, str] = json.loads(capsys.readouterr().out)
    return body


def test_siwe_prints_a_message_for_the_sandbox_signed_by_the_wallet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = siwe_body(["--nonce", "0123456789abcdef", "--issued-at", "2026-01-02T00:00:00Z"], capsys)
    message = parse_message(body["message"])

    assert recover_signer(body["message"], body["signature"]) == WALLET.address
    assert (message.domain, message.uri, message.address) == (
        "127.0.0.1:8000",
        "http://127.0.0.1:8000",
        WALLET.address,
    )
    assert (message.nonce, message.issued_at_ms, message.chain_id) == (
        "0123456789abcdef",
        DEFAULT_START_MS,
        84532,
    )


def test_siwe_reads_the_nonce_answer_piped_in_and_names_the_given_domain_and_chain(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"nonce": "fedcba9876543210"}'))
    body = siwe_body(
        [
            *("--issued-at", "2026-01-02T00:00:00Z", "--url", "http://localhost:9000"),
            *("--domain", "app.example", "--chain-id", "8453"),
        ],
        capsys,
    )
    message = parse_message(body["message"])

    assert (message.nonce, message.domain, message.uri, message.chain_id) == (
        "fedcba9876543210",
        "app.example",
        "http://localhost:9000",
        8453,
    )


NOON = "2026-01-02T12:00:00Z"


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--private-key", "0x1234", "--nonce", "a", "--issued-at", NOON], "", "--private-key"),
        (["--private-key", KEY, "--issued-at", NOON], "not json", "standard input is not"),
        (["--private-key", KEY, "--issued-at", NOON], '{"nonce": 7}', "standard input is not"),
        (["--private-key", KEY, "--nonce", "a", "--issued-at", "noon"], "", "--issued-at must"),
    ],
)
def test_siwe_refuses_bad_input_with_a_message(
    argv: list[str], stdin: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as exited:
        ocx_sim.cli.main(["siwe", *argv])
    assert str(exited.value.code).startswith(message)


def test_siwe_without_issued_at_says_when_the_sandbox_cannot_be_reached() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    with pytest.raises(SystemExit) as exited:
        ocx_sim.cli.main(
            [
                "siwe",
                "--private-key",
                KEY,
                "--nonce",
                "abc",
                "--url",
                f"http://127.0.0.1:{port}",
            ]
        )
    assert str(exited.value.code).startswith(
        f"cannot read the sandbox's clock at http://127.0.0.1:{port}"
    )


# -- scenarios: run, validate, scenarios, serve --scenario --------------------------------------

FAILING = """
meta: {name: failing, seed: 3}
timeline:
  - {at: +1m, halt: BTC-PERP}
  - {at: +1m, expect: {event: {type: MarketHalted, count: 1}}}
  - {at: +2m, expect: {event: {type: MarketResumed}}}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_run_replays_a_bundled_scenario_and_prints_its_expectations_and_digest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ocx_sim.cli.main(["run", "funding-squeeze"]) == 0

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == (
        "scenario funding-squeeze: 6 steps, 10 expectations, 2026-01-02T00:00:00.000Z to "
        "2026-01-02T00:15:00.000Z (seed 11)"
    )
    assert lines[1].startswith("  ok   2026-01-02T00:00:10.000Z  size of crowd's cross position")
    assert lines[-2] == "10 passed, 0 failed"
    assert re.fullmatch(r"digest [0-9a-f]{64}", lines[-1])
    assert "] 100% 2026-01-02T00:15:00.000Z" in err


def test_run_gives_the_same_digest_every_time_and_another_for_another_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    digests = []
    for argv in (["run", "liquidation-cascade"], ["run", "liquidation-cascade"]):
        ocx_sim.cli.main(argv)
        digests.append(capsys.readouterr().out.splitlines()[-1])
    ocx_sim.cli.main(["run", "liquidation-cascade", "--seed", "99"])
    other = capsys.readouterr().out.splitlines()

    assert digests[0] == digests[1]
    assert other[-1] != digests[0]
    assert other[0].endswith("(seed 99)")


def test_run_exits_1_when_an_expectation_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "failing.yaml", FAILING)

    assert ocx_sim.cli.main(["run", path]) == 1

    out = capsys.readouterr().out
    assert "  ok   2026-01-02T00:01:00.000Z  MarketHalted events count = 1: found 1" in out
    assert "  FAIL 2026-01-02T00:02:00.000Z  MarketResumed events count >= 1: found 0" in out
    assert "1 passed, 1 failed" in out


def test_run_exits_1_when_an_expectation_lies_beyond_the_duration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "short.yaml", FAILING.replace("seed: 3", "seed: 3, duration: 90s"))

    assert ocx_sim.cli.main(["run", path]) == 1

    assert "1 passed, 0 failed, 1 not reached (after the run's end)" in capsys.readouterr().out


def test_run_exits_2_with_every_problem_when_the_scenario_does_not_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "timeline:\n  - {at: +1m, halt: X, colour: red}\n  - {at: x, halt: X}\n"
    path = write(tmp_path, "bad.yaml", text)

    assert ocx_sim.cli.main(["run", path]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "ocx-sim: the scenario does not load:",
        f"{path}:2: timeline[0].colour: unknown key (expected one of: at, expectError, index, "
        "mark, vol, order, cancel, cancelAll, trade, funding, deposit, withdraw, failWithdrawals, "
        "vault, halt, resume, fault, faultOff, expect)",
        f"{path}:3: timeline[1].at: 'x' is not an ISO-8601 instant such as 2026-01-02T00:05:00Z",
    ]


def test_run_exits_2_when_the_scenario_does_not_fit_the_world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "market.yaml", "timeline:\n  - {at: +1m, halt: MOON-PERP}\n")

    assert ocx_sim.cli.main(["run", path]) == 2

    assert capsys.readouterr().err.splitlines()[1] == (
        f"{path}:2: timeline[0].halt: unknown market 'MOON-PERP'"
    )


def test_validate_says_ok_or_lists_the_problems_of_each_file_and_exits_1_if_any_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.yaml", FAILING)
    bad = write(tmp_path, "bad.yaml", "meta: {nmae: x}\n")

    assert ocx_sim.cli.main(["validate", good, bad, "sandbox"]) == 1

    assert capsys.readouterr().out.splitlines() == [
        f"{good}: ok (1 steps, 2 expectations)",
        f"{bad}: invalid",
        f"  {bad}:1: meta.nmae: unknown key (expected one of: name, description, seed, start, "
        "duration); did you mean 'name'?",
        "sandbox: ok (0 steps, 7 expectations)",
    ]
    assert ocx_sim.cli.main(["validate", good, "sandbox"]) == 0


def test_scenarios_lists_the_bundled_ones_with_a_line_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ocx_sim.cli.main(["scenarios"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "exchange-outage",
        "funding-squeeze",
        "futures-expiry",
        "liquidation-cascade",
        "rate-limit-storm",
        "sandbox",
        "vol-crush",
        "withdrawal-failures",
    ]
    assert lines[5].split(None, 1)[1] == (
        "Walking indexes, a market maker on every market, house takers trading on them (make serve)"
    )


def test_serve_with_a_scenario_builds_the_default_world_from_it(
    fake_serve: FakeServe, capsys: pytest.CaptureFixture[str]
) -> None:
    ocx_sim.cli.main(["serve", "--scenario", "funding-squeeze", "--clock", "realtime"])

    world = fake_serve.only_call["app"].state.worlds.default
    assert (world.config.scenario, world.config.seed) == ("funding-squeeze", 11)
    assert [run.name for run in world.scenarios.runs] == ["funding-squeeze"]
    assert capsys.readouterr().out.startswith(
        "ocx-sim: the default world (seed 11, realtime clock, scenario funding-squeeze) on "
    )


def test_serve_seed_wins_over_the_scenarios(fake_serve: FakeServe) -> None:
    ocx_sim.cli.main(["serve", "--scenario", "funding-squeeze", "--seed", "5"])

    assert config_of(fake_serve).seed == 5


def test_serve_with_a_scenario_that_does_not_load_exits_2_without_serving(
    fake_serve: FakeServe, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ocx_sim.cli.main(["serve", "--scenario", "no-such"]) == 2

    assert fake_serve.calls == []
    assert "no bundled scenario is named 'no-such'" in capsys.readouterr().err


def test_serve_with_no_control_serves_no_sim_path(fake_serve: FakeServe) -> None:
    assert ocx_sim.cli.main(["serve", "--no-control"]) == 0
    app = fake_serve.only_call["app"]
    paths = [getattr(route, "path", "") for route in app.routes[0].app.routes]
    assert "/perps/markets" in paths
    assert not [path for path in paths if path.startswith("/_sim")]
    assert ocx_sim.cli.main(["serve"]) == 0
    with_control = [getattr(r, "path", "") for r in fake_serve.calls[1]["app"].routes[0].app.routes]
    assert "/_sim/clock" in with_control


# -- where secrets come from ------------------------------------------------------------------

SEEDED = (
    "secrets: seeded from {seed} (deterministic replays; anyone who reaches this server can "
    "sign in as anyone)"
)


@pytest.mark.parametrize(
    ("flags", "line", "random_secrets"),
    [
        ([], SEEDED.format(seed=0), False),
        (["--seed", "7"], SEEDED.format(seed=7), False),
        (["--no-control"], "secrets: random (--no-control)", True),
        (["--random-secrets"], "secrets: random (--random-secrets)", True),
        (["--no-control", "--random-secrets"], "secrets: random (--random-secrets)", True),
        (["--no-control", "--deterministic-secrets"], SEEDED.format(seed=0), False),
    ],
)
def test_serve_says_after_the_world_where_its_secrets_come_from(
    fake_serve: FakeServe,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    line: str,
    random_secrets: bool,
) -> None:
    assert ocx_sim.cli.main(["serve", *flags]) == 0

    banner = capsys.readouterr().out.splitlines()
    assert banner[0].startswith("ocx-sim: the default world")
    assert banner[1] == line
    assert banner[2].startswith("demo account")
    assert config_of(fake_serve).random_secrets is random_secrets


@pytest.mark.parametrize(
    ("flags", "warned"),
    [
        (["--host", "0.0.0.0"], True),
        (["--host", "::"], True),
        (["--host", "192.0.2.7"], True),
        (["--host", "sandbox.example"], True),
        (["--host", "0.0.0.0", "--random-secrets"], True),
        (["--host", "0.0.0.0", "--no-control"], False),
        (["--host", "127.0.0.1"], False),
        (["--host", "127.0.0.2"], False),
        (["--host", "::1"], False),
        (["--host", "localhost"], False),
    ],
)
def test_serve_warns_when_its_control_api_listens_beyond_loopback(
    fake_serve: FakeServe, capsys: pytest.CaptureFixture[str], flags: list[str], warned: bool
) -> None:
    assert ocx_sim.cli.main(["serve", *flags]) == 0

    host = flags[1]
    warning = (
        f"warning: {host} is reachable from other machines and the control API is on: anyone "
        "who reaches this server can sign in as anyone and drive the world (--no-control for a "
        "shared sandbox)"
    )
    banner = capsys.readouterr().out.splitlines()
    assert (banner[2] == warning) is warned
    assert banner[3 if warned else 2].startswith("demo account")


def test_the_demo_account_belongs_to_the_default_world_and_new_worlds_draw_secrets_as_it_does(
    fake_serve: FakeServe, capsys: pytest.CaptureFixture[str]
) -> None:
    ocx_sim.cli.main(["serve", "--random-secrets"])
    with InProcessClient(fake_serve.only_call["app"]) as client:
        made = [client.post("/_sim/worlds", json={"seed": 3}).json() for _ in range(2)]
        bases = [world["baseUrl"] for world in made]
        default_accounts = client.get("/_sim/accounts").json()["accounts"]
        new_accounts = [client.get(f"{base}/_sim/accounts").json()["accounts"] for base in bases]
        nonces = [
            client.post(f"{base}/auth/nonce", json={"walletAddress": "0x" + "ab" * 20}).json()
            for base in bases
        ]

    demo = capsys.readouterr().out.split("wallet address : ")[1].split()[0]
    assert [account["walletAddress"] for account in default_accounts] == [demo]
    assert new_accounts == [[], []]
    # Two worlds on one seed give the same nonce when secrets are seeded: not here.
    assert nonces[0] != nonces[1]


# -- the default world's start ----------------------------------------------------------------

EXPIRY_START_MS = 1_774_593_000_000
"""2026-03-27T06:30:00Z, the `meta.start` of the bundled futures-expiry scenario."""


def start_of(fake_serve: FakeServe, call: int = 0) -> int:
    now: int = fake_serve.calls[call]["app"].state.worlds.default.start_ms
    return now


def test_serve_start_sets_the_default_worlds_first_instant_and_new_worlds_default(
    fake_serve: FakeServe,
) -> None:
    ocx_sim.cli.main(["serve", "--start", "2026-03-01T12:00:00Z"])
    app = fake_serve.only_call["app"]

    assert start_of(fake_serve) == 1_772_366_400_000
    with InProcessClient(app) as client:
        created = client.post("/_sim/worlds").json()
    assert created["now"] == "2026-03-01T12:00:00.000Z"


def test_serve_start_now_is_kept_as_now_and_read_when_a_world_is_built(
    fake_serve: FakeServe,
) -> None:
    ocx_sim.cli.main(["serve", "--start", "now"])

    assert config_of(fake_serve).start == START_NOW
    assert start_of(fake_serve) % 1000 == 0
    assert start_of(fake_serve) > DEFAULT_START_MS


def test_serve_start_wins_over_the_scenarios_meta_start(fake_serve: FakeServe) -> None:
    ocx_sim.cli.main(["serve", "--scenario", "futures-expiry"])
    ocx_sim.cli.main(["serve", "--scenario", "futures-expiry", "--start", "2026-03-20T00:00:00Z"])

    assert start_of(fake_serve, 0) == EXPIRY_START_MS
    assert start_of(fake_serve, 1) == 1_773_964_800_000


def test_make_serves_sandbox_accepts_a_wallets_sign_in_stamped_with_the_wall_clocks_now(
    fake_serve: FakeServe,
) -> None:
    """The default world as `make serve` builds it: the bundled sandbox on a realtime clock."""
    ocx_sim.cli.main(["serve", "--scenario", "sandbox", "--clock", "realtime"])
    wallet = Account.from_key("0x" + "5e" * 32)

    with InProcessClient(fake_serve.only_call["app"]) as client:
        nonce = client.post("/auth/nonce", json={"walletAddress": wallet.address}).json()["nonce"]
        # A wallet stamps its own clock's now, to the millisecond.
        text = prepare_message("testserver", wallet.address, nonce, int(time.time() * 1000))
        body = {"message": text, "signature": sign_message(wallet.key.to_0x_hex(), text)}
        signed_in = client.post("/auth/siwe", json=body)

    assert signed_in.status_code == 200, signed_in.json()
    assert signed_in.json()["walletAddress"] == wallet.address


def test_serve_scenario_dir_lets_the_control_api_load_files_inside_it_by_path(
    fake_serve: FakeServe, tmp_path: Path
) -> None:
    (tmp_path / "mine.yaml").write_text("meta: {name: mine}\n")
    ocx_sim.cli.main(["serve", "--scenario-dir", str(tmp_path)])
    http = InProcessClient(fake_serve.only_call["app"])

    loaded = http.post("/_sim/scenarios", json={"name": "mine.yaml"})
    http.close()

    assert (loaded.status_code, loaded.json()["scenario"]) == (200, "mine")


def test_serve_without_a_scenario_dir_loads_no_file_by_path_over_http(
    fake_serve: FakeServe, tmp_path: Path
) -> None:
    (tmp_path / "mine.yaml").write_text("meta: {name: mine}\n")
    ocx_sim.cli.main(["serve"])
    http = InProcessClient(fake_serve.only_call["app"])

    refused = http.post("/_sim/scenarios", json={"name": str(tmp_path / "mine.yaml")})
    http.close()

    assert (refused.status_code, refused.json()["details"]["field"]) == (400, "name")


def test_serve_refuses_a_scenario_dir_that_is_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="is not a directory"):
        ocx_sim.cli.main(["serve", "--scenario-dir", str(tmp_path / "nowhere")])
