"""`ocx-sim run --json`: a scenario run's result as one JSON object.

`{scenario, seed, start, end, durationMs, wallSeconds, results, passed, failed, pending, digest,
eventCounts}`: instants as ISO, `durationMs` the simulated span, `wallSeconds` the real time
the replay took, `results` each `{at, what, ok, detail}` (the wire shape of
`GET /_sim/scenarios`), `eventCounts` how many events of each type the log holds, by type
name in the order each type first appeared.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ocx_sim.clock import format_ms
from ocx_sim.engine.core.events import EventLog, event_type
from ocx_sim.scenarios.player import Run


def event_counts(log: EventLog) -> dict[str, int]:
    """Events per type name, in the order each type first appeared."""
    return dict(Counter(event_type(event) for event in log))


def summary(run: Run, seed: int, log: EventLog, wall_seconds: float) -> dict[str, Any]:
    failed = len(run.failed)
    return {
        "scenario": run.name,
        "seed": seed,
        "start": format_ms(run.origin_ms),
        "end": format_ms(run.end_ms),
        "durationMs": run.end_ms - run.origin_ms,
        "wallSeconds": round(wall_seconds, 3),
        "results": [
            {"at": format_ms(r.at_ms), "what": r.what, "ok": r.ok, "detail": r.detail}
            for r in run.results
        ],
        "passed": len(run.results) - failed,
        "failed": failed,
        "pending": run.pending,
        "digest": log.digest(),
        "eventCounts": event_counts(log),
    }
