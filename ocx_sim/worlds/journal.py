"""The journal: every request a world answered (docs/control-api.md "State",
`GET /_sim/journal`).

The gateway (gateway/endpoint.py) records one entry per request an endpoint of the world
answered, `/_sim` requests included, so a test sees its own setup beside its client's calls.
An entry is written once the answer is ready, so the request that reads the journal is not in
what it reads, and a fault's injected latency is in its `latencyMs`.

Invariants kept here:
- `seq` counts from 1 in the order requests were answered, never reused; entries are kept in
  that order. `time` is the world's simulated instant when the request arrived, so under
  injected latency a later entry may carry an earlier time.
- Only the latest `CAPACITY` entries are kept (a sandbox serves requests for days); `seq` keeps
  counting, so a reader sees a gap at the front rather than renumbered entries.
- `latency_ms` is real time, the only field that differs between two runs of the same requests.
- Plain data only, so a world deep-copies with its journal.

Not in the journal: requests no world answered (an unknown world's paths, unrouted paths and
wrong methods, `/openapi.json`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice

CAPACITY = 10_000


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    time_ms: int
    """The world's instant when the request arrived."""
    method: str
    path: str
    """Without the world prefix and without the query string."""
    account: str | None
    """The caller's userId, or None when anonymous (every /_sim request)."""
    status: int | None
    """The status answered; None when the connection was dropped without an answer."""
    latency_ms: float
    """Real milliseconds from arrival to answer, injected latency included."""


class Journal:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def last_seq(self) -> int:
        """The seq of the latest entry; 0 before the first."""
        return self._seq

    def record(
        self,
        time_ms: int,
        method: str,
        path: str,
        account: str | None,
        status: int | None,
        latency_ms: float,
    ) -> JournalEntry:
        self._seq += 1
        entry = JournalEntry(self._seq, time_ms, method, path, account, status, latency_ms)
        self._entries.append(entry)
        return entry

    def entries(self, since: int = 0) -> list[JournalEntry]:
        """The entries with `seq > since`, oldest first."""
        kept = self._entries
        if not kept or since < kept[0].seq:
            return list(kept)
        # Seqs are consecutive within what is kept: the first wanted one is at a known index.
        return list(islice(kept, since - kept[0].seq + 1, None))
