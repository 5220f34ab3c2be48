"""The pytest plugin in fresh interpreters: what it imports at collection, and pytest-xdist.

These start pytest in subprocesses (a second or two each): an import check needs a fresh
interpreter, and xdist its worker processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testing.conftest import seen

pytest_plugins = ["pytester"]


LAZY_PROBE = """
import sys

HEAVY = ("starlette", "uvicorn", "httpx", "yaml", "orjson", "jwt", "anyio")
AT_COLLECTION = {name for name in sys.modules}


def test_collection_loaded_no_web_stack_and_no_world_modules(baseline):
    heavy = sorted(m for m in AT_COLLECTION if m.split(".")[0] in HEAVY)
    extra = sorted(
        m for m in AT_COLLECTION
        if m.startswith("ocx_sim") and m not in baseline
    )
    assert heavy == []
    assert extra == ["ocx_sim.testing", "ocx_sim.testing.plugin"]


def test_a_fixture_loads_them_when_first_used(ocx):
    assert "starlette" in sys.modules and "ocx_sim.app" in sys.modules
"""

LAZY_CONFTEST = """
import json, subprocess, sys
import pytest

@pytest.fixture
def baseline():
    probe = "import json, sys, ocx_sim; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    return set(json.loads(out))
"""


def test_the_plugin_imports_nothing_heavy_until_a_fixture_is_used(
    pytester: pytest.Pytester,
) -> None:
    # A fresh interpreter: this one has long since imported everything. The baseline is what
    # `import ocx_sim` loads by itself (the package's public engine API): the plugin must add
    # only its own two modules to it.
    pytester.makeconftest(LAZY_CONFTEST)
    pytester.makepyfile(test_lazy=LAZY_PROBE)

    # Other plugins installed beside ours (anyio's, Schemathesis's: a test extra) import their
    # own web stack at start-up; this is about ours, so they are left out.
    result = pytester.runpytest_subprocess(
        "-p", "no:xdist", "-p", "no:anyio", "-p", "no:schemathesis", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(passed=2)


def test_under_xdist_each_worker_runs_its_own_server_with_its_own_worlds(
    pytester: pytest.Pytester, seen_file: Path
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import pytest
        from recorder import record

        @pytest.mark.parametrize("n", range(8))
        def test_trade(ocx_server, ocx_sandbox, n):
            trader = ocx_server.account(balances={"perps": 10_000})
            placed = trader.client.post("/perps/orders", json={
                "marketId": "BTC-PERP", "side": "buy", "quantity": "0.1", "price": "68000"})
            assert placed.status_code == 200
            record(port=ocx_sandbox.port, world=ocx_server.world_id, seed=ocx_server.seed,
                   open=len(trader.client.get("/perps/orders/open").json()))
        """
    )

    result = pytester.runpytest_subprocess("-n", "2", "--ocx-seed", "5", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=8)
    rows = seen(seen_file)
    ports: dict[str, set[int]] = {}
    for row in rows:
        ports.setdefault(row["worker"], set()).add(row["port"])
    assert sorted(ports) == ["gw0", "gw1"]
    assert all(len(p) == 1 for p in ports.values())
    assert ports["gw0"] != ports["gw1"]
    assert all(row["open"] == 1 for row in rows)
    assert {row["seed"] for row in rows} == {5}
    assert len({(row["port"], row["world"]) for row in rows}) == 8
