"""`/_sim/events/stream`: the world's event log as it grows (docs/control-api.md "State"), for a
dashboard's live event list (the one at `/_sim/ui/`) or a test that waits for an event.

The snapshot is `{seq, events}`: the log's last `seq` and the events after the subscriber's
`since`, the newest `MOST` of them; each frame after it is `{seq, events, omitted}`, the events
the change added, the newest `MOST` of them, `omitted` counting the rest. A `types` filter keeps
only events of those types, in the snapshot and the updates; a change that adds none of them
sends nothing. Events are rendered by `gateway/render.py` `event_view`, exactly as
`GET /_sim/events` and the clock's advance answer them.

The view is the log's last `seq` and its stored row, so a restore that rewinds the log (or
replaces it with another of the same length) is a change too: its frame's `seq` is not above
the one sent before, which tells a reader to read `GET /_sim/events` again; its `events` are
those after the lower of the two `seq`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocx_sim.engine.exchange import Exchange
from ocx_sim.gateway.render import event_view

MOST = 500
"""The most events one frame carries."""

View = tuple[int, tuple[Any, ...] | None]


@dataclass(frozen=True, slots=True)
class SimEventsChannel:
    since: int
    """The snapshot's events are those after this `seq`."""
    codes: frozenset[int] | None
    """The event type codes kept (engine/core/events.py `EVENT_TYPES`); None keeps all."""
    token: str = "events"
    snapshot_type: str = "SimEventsSnapshot"
    update_type: str = "SimEventsUpdate"
    update_event: str = "update"

    def view(self, exchange: Exchange) -> View:
        log = exchange.events
        return log.last_seq, log.row(log.last_seq)

    def snapshot(self, exchange: Exchange, view: View) -> dict[str, Any]:
        events, _ = exchange.events.newest(self.since, MOST, self.codes)
        return {"seq": view[0], "events": [event_view(event) for event in events]}

    def update(self, exchange: Exchange, before: View, after: View) -> dict[str, Any] | None:
        log = exchange.events
        (sent, row), (last, _) = before, after
        continued = last >= sent and log.row(sent) == row
        events, omitted = log.newest(sent if continued else min(sent, last), MOST, self.codes)
        if continued and not events:
            return None  # only events the filter leaves out
        return {"seq": last, "events": [event_view(e) for e in events], "omitted": omitted}
