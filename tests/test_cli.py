"""The command line: `ocx-sim serve` builds the default world and hands it to the server."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from eth_account import Account
from starlette.applications import Starlette

import ocx_sim.cli
from ocx_sim.auth.policy import Profile
from ocx_sim.auth.siwe import parse_message, recover_signer
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.engine.exchange import Exchange
from ocx_sim.worlds import ClockMode, WorldConfig


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
    ) -> None:
        self.calls.append({"app": app, "host": host, "port": port, "access_log": access_log})

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


def test_serve_passes_host_127_0_0_1_and_the_given_port(fake_serve: FakeServe) -> None:
    ocx_sim.cli.main(["serve", "--port", "9999", "--seed", "5"])
    call = fake_serve.only_call
    assert call["host"] == "127.0.0.1"
    assert call["port"] == 9999
    assert call["access_log"] is False


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
            "--trusted-proxies",
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
    assert (config.invite_codes, config.trusted_proxies) == (("ALPHA", "BETA"), True)


def test_serve_defaults_leave_invites_off_and_accept_both_base_chains(
    fake_serve: FakeServe,
) -> None:
    ocx_sim.cli.main(["serve"])
    config = config_of(fake_serve)

    assert (config.invite_codes, config.chain_ids, config.trusted_proxies) == (
        None,
        (84532, 8453),
        False,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "0"], "--speed must be greater than 0 and at most 10000"),
        (["--speed", "inf"], "--speed must be greater than 0 and at most 10000"),
        (["--speed", "nan"], "--speed must be greater than 0 and at most 10000"),
        (["--speed", "10001"], "--speed must be greater than 0 and at most 10000"),
        (["--seed", str(2**63)], "--seed must be a signed 64-bit integer"),
        (["--rate-limit", "0"], "--rate-limit must be at least 1"),
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
