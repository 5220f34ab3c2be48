"""A served sandbox's memory stays flat (docs/fidelity.md "Retention"): `ocx-sim serve` runs
under the C library's allocator (ocx_sim/launch.py), and after a burst of orders placed and
cancelled its RSS comes back near where it started once the retention window has passed.
Memory, not time, is measured here: the figures do not depend on how busy the machine is."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from tests.served import ocx_sim_serve

ORDERS = 50_000
LADDER = 50
DAY_AND_AN_HOUR_MS = 25 * 3_600_000

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@linux_only
def test_the_server_runs_under_the_c_librarys_allocator(tmp_path: Path) -> None:
    with ocx_sim_serve([], tmp_path) as served:
        environment = Path(f"/proc/{served.process.pid}/environ").read_bytes().split(b"\0")

    assert b"PYTHONMALLOC=malloc" in environment


@linux_only
def test_a_burst_of_orders_leaves_the_rss_near_its_start_once_the_window_passed(
    tmp_path: Path,
) -> None:
    with ocx_sim_serve(["--rate-limit", "1000000000"], tmp_path) as served:
        pid = served.process.pid
        with httpx.Client(base_url=served.url, timeout=60) as http:
            token = http.post(
                "/_sim/accounts",
                json={"walletAddress": "0x" + "11" * 20, "balances": {"perps": "100000000"}},
            ).json()["sessionToken"]
            headers = {"authorization": f"Bearer {token}"}
            http.get("/perps/markets")
            start = _rss_mib(pid)
            for ladder in range(ORDERS // LADDER):
                quotes = [
                    {"side": "buy", "price": f"{62_000 + (ladder + rung) % 4_000}.00"}
                    | {"quantity": "0.001", "postOnly": True}
                    for rung in range(LADDER)
                ]
                body = {"marketId": "BTC-PERP", "quotes": quotes, "cancelAll": True}
                assert http.post("/perps/quotes/bulk", json=body, headers=headers).is_success
            burst = _rss_mib(pid)
            http.post("/_sim/clock/advance", json={"ms": DAY_AND_AN_HOUR_MS})
            http.get("/perps/markets")  # the world forgets before it answers
            after = _rss_mib(pid)

    print(f"RSS MiB: {start:.1f} at the start, {burst:.1f} after the burst, {after:.1f} after")
    assert burst - start > 30  # the orders were kept while young
    assert after < start * 1.2
