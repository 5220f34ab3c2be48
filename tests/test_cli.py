"""The command line: `ocx-sim serve` builds the default world and hands it to the server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import ocx_sim.cli
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.engine.exchange import Exchange


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
