"""`ocx-sim run`'s outputs beside its lines: `--trace` (the event log as JSON lines, as
`GET /_sim/events` shows each event), `--json` (the result as one JSON object on stdout) and
`--report` (a self-contained HTML page of charts, the results and the digest)."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

import ocx_sim.cli
from ocx_sim.app import create_app
from ocx_sim.engine.core.events import EventLog
from ocx_sim.outputs.report import ASSETS
from ocx_sim.outputs.samples import MAX_SAMPLES, MIN_INTERVAL_MS, sample_interval
from ocx_sim.outputs.trace import Trace
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import World, WorldConfig, Worlds

SCENARIO = "funding-squeeze"
"""Fifteen simulated minutes: two accounts, two fills, two funding settlements."""
END = "2026-01-02T00:15:00.000Z"
RESULT_KEYS = {
    "scenario",
    "seed",
    "start",
    "end",
    "durationMs",
    "wallSeconds",
    "results",
    "passed",
    "failed",
    "pending",
    "digest",
    "eventCounts",
}


def served_events(scenario: str, end: str) -> list[dict[str, Any]]:
    """What `GET /_sim/events` answers of a server playing `scenario` up to `end`."""
    worlds = Worlds(WorldConfig(scenario=scenario, seed=11))
    client = InProcessClient(create_app(worlds), host="127.0.0.1:8000")
    try:
        assert client.post("/_sim/clock/advance", json={"to": end}).status_code == 200
        events: list[dict[str, Any]] = client.get("/_sim/events").json()["events"]
    finally:
        client.close()
    return events


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = ocx_sim.cli.main(argv)
    out = capsys.readouterr().out
    # Exactly one JSON object and its newline: nothing else reaches stdout.
    assert out.count("\n") == 1 and out.endswith("}\n")
    result = json.loads(out)
    assert isinstance(result, dict)
    return code, result


# -- --trace -------------------------------------------------------------------------------------


def test_trace_writes_every_event_as_get_sim_events_shows_it_in_order(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"

    assert ocx_sim.cli.main(["run", SCENARIO, "--trace", str(trace)]) == 0

    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert lines == served_events(SCENARIO, END)
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert {"TradeExecuted", "FundingSettled"} <= {line["type"] for line in lines}


def test_the_trace_is_written_as_the_run_advances_not_at_its_end() -> None:
    world = World("w", WorldConfig(scenario=SCENARIO))
    out = io.BytesIO()
    trace = Trace(world.exchange.events, out)

    trace.write_new()
    setup = out.getvalue().count(b"\n")
    world.exchange.advance_by(300_000)
    trace.write_new()
    first_funding = out.getvalue().count(b"\n")
    trace.write_new()

    log: EventLog = world.exchange.events
    assert 0 < setup < first_funding == log.last_seq == trace.written
    assert out.getvalue().count(b"\n") == first_funding  # nothing twice


def test_trace_to_a_file_that_cannot_be_written_exits_with_a_message(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="cannot write"):
        ocx_sim.cli.main(["run", SCENARIO, "--trace", str(tmp_path / "no" / "trace.jsonl")])


# -- --json --------------------------------------------------------------------------------------


def test_json_prints_the_result_as_one_object_and_the_bar_stays_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ocx_sim.cli.main(["run", SCENARIO]) == 0
    digest_line = capsys.readouterr().out.splitlines()[-1]
    trace = tmp_path / "trace.jsonl"

    code, result = run_json(["run", SCENARIO, "--json", "--trace", str(trace)], capsys)

    assert code == 0
    assert set(result) == RESULT_KEYS
    assert result["scenario"] == SCENARIO
    assert result["seed"] == 11
    assert (result["start"], result["end"]) == ("2026-01-02T00:00:00.000Z", END)
    assert result["durationMs"] == 900_000
    assert isinstance(result["wallSeconds"], float) and result["wallSeconds"] >= 0
    assert (result["passed"], result["failed"], result["pending"]) == (10, 0, 0)
    assert len(result["results"]) == 10
    assert result["results"][0] == {
        "at": "2026-01-02T00:00:10.000Z",
        "what": "size of crowd's cross position in BTC-PERP = 2",
        "ok": True,
        "detail": "is 2.0000",
    }
    assert digest_line == f"digest {result['digest']}"
    types = [json.loads(line)["type"] for line in trace.read_text().splitlines()]
    assert result["eventCounts"] == {t: types.count(t) for t in dict.fromkeys(types)}
    assert result["eventCounts"]["FundingSettled"] == 2


def test_json_exits_1_and_lists_the_failure_and_what_was_not_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "failing.yaml"
    path.write_text(
        "meta: {name: failing, seed: 3, duration: 90s}\n"
        "timeline:\n"
        "  - {at: +1m, expect: {event: {type: MarketHalted}}}\n"
        "  - {at: +2m, expect: {event: {type: MarketResumed}}}\n"
    )

    code, result = run_json(["run", str(path), "--json"], capsys)

    assert code == 1
    assert (result["passed"], result["failed"], result["pending"]) == (0, 1, 1)
    assert result["results"] == [
        {
            "at": "2026-01-02T00:01:00.000Z",
            "what": "MarketHalted events count >= 1",
            "ok": False,
            "detail": "found 0",
        }
    ]


# -- --report ------------------------------------------------------------------------------------


def report_data(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="ocx-data">(.*?)</script>', page, re.S)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_report_is_one_offline_page_with_uplot_inlined_and_every_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page_path = tmp_path / "report.html"

    assert ocx_sim.cli.main(["run", "liquidation-cascade", "--report", str(page_path)]) == 0

    out = capsys.readouterr().out
    page = page_path.read_text()
    assert (ASSETS / "uPlot.iife.min.js").read_text() in page
    assert (ASSETS / "uPlot.min.css").read_text() in page
    # Nothing is loaded from anywhere: no src or href attribute at all.
    assert re.search(r"\s(src|href)=", page) is None
    assert out.splitlines()[-1].removeprefix("digest ") in page
    assert "index of BTC-PERP = 61200" in page  # a result's row
    data = report_data(page)
    assert data["markets"] == ["BTC-PERP"]
    samples = len(data["t"])
    assert samples > 10
    assert all(b - a <= MIN_INTERVAL_MS / 1000 for a, b in itertools.pairwise(data["t"]))
    for series in (data["marks"], data["indexes"], data["funding"]):
        assert list(series) == ["BTC-PERP"]
        assert len(series["BTC-PERP"]) == samples
    assert data["marks"]["BTC-PERP"][0] > data["marks"]["BTC-PERP"][-1]  # the slide
    assert list(data["equity"]) == ["whale", "maker", "high", "mid", "low"]
    assert all(len(column) == samples for column in data["equity"].values())
    liquidated = [liquidation["account"] for liquidation in data["liquidations"]]
    assert liquidated[:3] == ["high", "mid", "low"]


def test_report_to_a_file_that_cannot_be_written_exits_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match="cannot write"):
        ocx_sim.cli.main(["run", SCENARIO, "--report", str(tmp_path / "no" / "report.html")])

    assert "100%" not in capsys.readouterr().err


def test_a_long_runs_report_keeps_a_bounded_number_of_samples() -> None:
    week = 7 * 86_400_000

    assert sample_interval(15 * 60_000) == MIN_INTERVAL_MS
    assert week // sample_interval(week) <= MAX_SAMPLES
