"""`ocx-sim serve --state-dir DIR`: the server's worlds are saved as it runs and as it stops,
and a server started again on the same directory continues where they were, kill -9 included
(docs/quickstart.md "Keeping the sandbox across restarts")."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.served import Served, free_port, ocx_sim_serve

BANNER = 8
"""The banner up to the demo account's API key: the world, the secrets line (after a restore,
the restored line before it), the demo account."""


def _save_seen(state: Path, after: float) -> None:
    """Wait until the server has written its worlds' list since `after` (a wall time)."""
    index = state / "worlds.json"
    deadline = time.monotonic() + 10
    while not (index.exists() and index.stat().st_mtime > after):
        assert time.monotonic() < deadline, "the server saved nothing"
        time.sleep(0.05)


def _trader(http: httpx.Client, base: str) -> dict[str, Any]:
    made = http.post(
        f"{base}/_sim/accounts",
        json={"balances": {"perps": "10000"}, "apiKeys": [{"name": "bot", "scope": "trade"}]},
    )
    assert made.status_code == 201, made.text
    account: dict[str, Any] = made.json()
    return account


def _world_state(served: Served, base: str, account: dict[str, Any]) -> dict[str, Any]:
    """What a client of the world sees: its clock, digest, and the account's open orders, read
    with its session and with its API key."""
    with httpx.Client(base_url=served.url) as http:
        session = {"Authorization": f"Bearer {account['sessionToken']}"}
        key = {"Authorization": f"Bearer {account['apiKeys'][0]['secret']}"}
        by_session = http.get(f"{base}/perps/orders/open", headers=session)
        by_key = http.get(f"{base}/perps/orders/open", headers=key)
        assert by_session.status_code == by_key.status_code == 200, by_key.text
        return {
            "now": http.get(f"{base}/_sim/clock").json()["now"],
            "digest": http.get(f"{base}/_sim/digest").json(),
            "orders": by_session.json(),
            "same by key": by_key.json() == by_session.json(),
        }


def test_after_kill_9_a_restart_restores_worlds_sessions_keys_and_orders(tmp_path: Path) -> None:
    state = tmp_path / "state"
    flags = ["--state-dir", str(state), "--save-every", "0.2"]
    with ocx_sim_serve(flags, tmp_path, BANNER) as first, httpx.Client(base_url=first.url) as http:
        base = http.post("/_sim/worlds", json={"seed": 3}).json()["baseUrl"]
        trader = _trader(http, base)
        order = {"marketId": "BTC-PERP", "side": "buy", "type": "limit", "price": "67000.00"}
        headers = {"Authorization": f"Bearer {trader['sessionToken']}"}
        placed = http.post(
            f"{base}/perps/orders", json={**order, "quantity": "0.1"}, headers=headers
        )
        assert placed.status_code == 200, placed.text
        http.post(f"{base}/_sim/clock/advance", json={"ms": 60_000})
        before = _world_state(first, base, trader)
        changed_at = time.time()
        _save_seen(state, changed_at)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)

    with ocx_sim_serve(flags, tmp_path, BANNER) as again, httpx.Client(base_url=again.url) as http:
        after = _world_state(again, base, trader)
        demo = {"Authorization": f"Bearer {first.demo('session token')}"}
        balance = http.get("/wallet/balance", headers=demo)
        fresh = http.post("/_sim/worlds", json={"seed": 3}).json()["baseUrl"]

    assert "restored 2 worlds" in again.banner[1]
    assert again.demo("session token") == first.demo("session token")
    assert balance.status_code == 200
    assert after == before
    assert after["now"] == "2026-01-02T00:01:00.000Z"
    assert [o["id"] for o in after["orders"]] == [placed.json()["id"]]
    assert fresh != base  # a new world never takes an id handed out before


def test_a_server_stopped_with_sigterm_saves_its_worlds_as_it_stops(tmp_path: Path) -> None:
    state = tmp_path / "state"
    flags = ["--state-dir", str(state), "--save-every", "3600"]
    with ocx_sim_serve(flags, tmp_path, BANNER) as first, httpx.Client(base_url=first.url) as http:
        http.post("/_sim/clock/advance", json={"ms": 5_000})
        first.process.send_signal(signal.SIGTERM)
        # (uvicorn stops gracefully, running the app's shutdown, then dies of the signal it got)
        assert first.process.wait(timeout=20) in (0, -signal.SIGTERM)

    with ocx_sim_serve(flags, tmp_path, BANNER) as again, httpx.Client(base_url=again.url) as http:
        now = http.get("/_sim/clock").json()["now"]

    assert now == "2026-01-02T00:00:05.000Z"
    assert json.loads((state / "worlds.json").read_text())["worlds"] == ["default"]


def test_a_deleted_world_is_not_restored(tmp_path: Path) -> None:
    state = tmp_path / "state"
    flags = ["--state-dir", str(state), "--save-every", "0.2"]
    with ocx_sim_serve(flags, tmp_path, BANNER) as first, httpx.Client(base_url=first.url) as http:
        world = http.post("/_sim/worlds", json={}).json()["worldId"]
        _save_seen(state, time.time())
        assert (state / f"world-{world}.pickle").exists()
        http.delete(f"/_sim/worlds/{world}")
        _save_seen(state, time.time())

    with ocx_sim_serve(flags, tmp_path, BANNER) as again, httpx.Client(base_url=again.url) as http:
        gone = http.get(f"/w/{world}/perps/markets")

    assert gone.status_code == 404
    assert not (state / f"world-{world}.pickle").exists()


def test_state_of_another_version_is_refused_with_a_message(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "worlds.json").write_text(json.dumps({"version": 99, "created": 0, "worlds": []}))
    port = free_port()

    refused = subprocess.run(
        [sys.executable, "-m", "ocx_sim", "serve", "--port", str(port), "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert refused.returncode != 0
    assert "cannot restore the worlds kept in" in refused.stderr
    assert "version 99" in refused.stderr


def test_every_part_of_a_world_outside_its_state_is_made_anew_on_restore() -> None:
    from ocx_sim.worlds import _OUTSIDE_STATE, World, WorldConfig
    from ocx_sim.worlds.aside import pickled

    world = World("w", WorldConfig())

    restored = World.from_saved(pickled(world.saved()))

    assert set(vars(restored)) == set(vars(world))
    assert set(_OUTSIDE_STATE) <= set(vars(restored))
