"""`ocx-sim run --report FILE.html`: a run's report as one self-contained HTML page.

The page holds everything it needs: uPlot's script and stylesheet (vendored under
`ocx_sim/assets/uplot/`, with its licence) are inlined, the sampled series (samples.py) are a
JSON block the page's script reads, and nothing is fetched, so it opens offline. It shows the
run's summary (summary.py: counts, the digest, events per type), the results table, a chart per
charted market (mark and index), the perpetuals' funding rates, the scenario accounts' equity,
and each liquidation as a dashed red line on the charts it concerns (its market's, or every
market's for a cross-margin one; always funding and equity) and as a row of its own table.
Times are shown in UTC, as the simulator reports them.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from typing import Any

import orjson

from ocx_sim.outputs.samples import Sampler

ASSETS = files("ocx_sim") / "assets" / "uplot"

# The page's own script: it only arranges uPlot charts from the data block (uPlot draws them).
_SCRIPT = """
const data = JSON.parse(document.getElementById("ocx-data").textContent);
const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#7f7f7f", "#bcbd22", "#d62728"];
function liquidationLines(times) {
  return {hooks: {draw: [u => {
    const ctx = u.ctx, box = u.bbox;
    ctx.save();
    ctx.strokeStyle = "#d62728";
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 4]);
    for (const t of times) {
      const x = u.valToPos(t, "x", true);
      if (x < box.left || x > box.left + box.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, box.top);
      ctx.lineTo(x, box.top + box.height);
      ctx.stroke();
    }
    ctx.restore();
  }]}};
}
function chart(title, names, columns, liquidations) {
  const holder = document.createElement("div");
  holder.className = "chart";
  document.getElementById("charts").appendChild(holder);
  const opts = {
    title: title,
    width: Math.max(480, Math.min(1100, window.innerWidth - 48)),
    height: 260,
    tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    plugins: [liquidationLines(liquidations.map(l => l.t))],
    // The y axis as wide as its longest label (68,000.00 or 100,000,000 fit whole).
    axes: [{}, {size: (u, ls) => ls ? 20 + 8 * Math.max(...ls.map(l => l.length)) : 50}],
    series: [{label: "UTC"}].concat(names.map((name, i) => (
      {label: name, stroke: colors[i % colors.length], width: 1.5}
    ))),
  };
  new uPlot(opts, [data.t].concat(columns), holder);
}
for (const market of data.markets) {
  const liquidations = data.liquidations.filter(l => l.market === null || l.market === market);
  chart(market + ": mark and index", ["mark", "index"],
    [data.marks[market], data.indexes[market]], liquidations);
}
const perpetuals = Object.keys(data.funding);
if (perpetuals.length) {
  chart("Funding rate of the running period", perpetuals,
    perpetuals.map(m => data.funding[m]), data.liquidations);
}
const accounts = Object.keys(data.equity);
if (accounts.length) {
  chart("Equity of the scenario accounts (USDC)", accounts,
    accounts.map(a => data.equity[a]), data.liquidations);
}
"""

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 20px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
td.fail { color: #b00; font-weight: bold; } td.ok { color: #070; }
code { font-size: 12px; } .chart { margin: 12px 0; }
"""


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _rows(cells: list[list[str]], head: list[str], classes: list[str] | None = None) -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = []
    for i, row in enumerate(cells):
        cls = "" if classes is None else f' class="{classes[i]}"'
        body.append("<tr>" + "".join(f"<td{cls}>{escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><tr>{header}</tr>{''.join(body)}</table>"


def _data(sampler: Sampler) -> str:
    """The data block's JSON, safe inside a `<script>` element (no `</` can close it)."""
    samples = sampler.samples
    data = {
        "t": [ms / 1000 for ms in samples.times_ms],
        "markets": sampler.markets,
        "marks": samples.marks,
        "indexes": samples.indexes,
        "funding": samples.funding,
        "equity": samples.equity,
        "liquidations": sampler.liquidations(),
    }
    return orjson.dumps(data).decode().replace("</", "<\\/")


def report(result: dict[str, Any], sampler: Sampler) -> str:
    """The page for a run whose `--json` object is `result` and whose series `sampler` took."""
    results = result["results"]
    outcome = [["ok" if r["ok"] else "FAIL", r["at"], r["what"], r["detail"]] for r in results]
    liquidations = [
        [
            liq["at"],
            liq["account"],
            liq["market"] or "its cross margin",
            liq["equity"],
            liq["maintenance"],
        ]
        for liq in sampler.liquidations()
    ]
    counts = [[name, str(n)] for name, n in result["eventCounts"].items()]
    title = f"ocx-sim run: {result['scenario']}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<style>{_asset("uPlot.min.css")}</style>
<style>{_STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>seed {result["seed"]}, {escape(result["start"])} to {escape(result["end"])}
({result["durationMs"]} ms simulated, {result["wallSeconds"]} s of wall time):
{result["passed"]} passed, {result["failed"]} failed, {result["pending"]} not reached</p>
<p>digest <code>{escape(result["digest"])}</code></p>
<h2>Results</h2>
{_rows(outcome, ["", "at", "what", "detail"], ["ok" if r["ok"] else "fail" for r in results])}
<h2>Charts</h2>
<div id="charts"></div>
<h2>Liquidations</h2>
{_rows(liquidations, ["at", "account", "what was liquidated", "equity", "maintenance"])}
<h2>Events</h2>
{_rows(counts, ["type", "count"])}
<script type="application/json" id="ocx-data">{_data(sampler)}</script>
<script>{_asset("uPlot.iife.min.js")}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""
