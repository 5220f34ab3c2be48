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
- `latency_ms` is real time, the only field that differs between two runs of the same requests,
  kept rounded to `LATENCY_DECIMALS` decimals (whole microseconds, docs/control-api.md
  "`GET /_sim/journal`") whatever the caller measured.
- A journal made to keep bodies (a world's `journalBodies`) holds each request's and answer's
  parsed JSON (None when there is none or it is not JSON; a note of its size when larger
  than `LARGEST_KEPT_BODY`), with every credential a body can
  carry (`SECRET_KEYS`: session tokens, API-key secrets, private keys) replaced by `REDACTED`
  at any depth before it is kept: nothing read from the journal can sign anyone in. Without
  it, no entry holds bodies.
- A stream's entry (one per connection) is written when the stream ends, so its `seq` follows
  the requests answered while it was open; its `latency_ms` is the time it was open and its
  `frames` the frames sent (None on every other entry).
- Plain data only, so a world deep-copies and pickles with its journal.

Not in the journal: requests no world answered (an unknown world's paths, unrouted paths and
wrong methods, `/openapi.json`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson

CAPACITY = 10_000
SECRET_KEYS = frozenset({"sessionToken", "secret", "privateKey"})
"""Keys whose values a journal never keeps (docs/control-api.md "State")."""
REDACTED = "***"
LATENCY_DECIMALS = 3
LARGEST_KEPT_BODY = 16 * 1024
"""Bytes of a body the journal keeps at most: a larger one is kept as a note of its size, so
a journal of `CAPACITY` entries holds a bounded amount (docs/control-api.md "State")."""


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
    bodies: tuple[Any, Any] | None = None
    """(request, answer) as parsed JSON with credentials redacted, in a journal that keeps
    bodies; None in one that does not."""
    frames: int | None = None
    """A stream's: the frames sent before it ended; None for any other request."""


def parse_body(raw: bytes | None) -> Any:
    """A body as parsed JSON, credentials redacted; None when there is none or it is not
    JSON."""
    if not raw:
        return None
    if len(raw) > LARGEST_KEPT_BODY:
        return (
            f"({len(raw)} bytes, not kept: the journal keeps bodies of at most {LARGEST_KEPT_BODY})"
        )
    try:
        return redact(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return None


def redact(value: Any) -> Any:
    """`value` with the value of every `SECRET_KEYS` key, at any depth, replaced by `REDACTED`
    (a null stays null: there is nothing to hide)."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if key in SECRET_KEYS and item is not None else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


class Journal:
    def __init__(self, capacity: int = CAPACITY, *, bodies: bool = False) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._seq = 0
        self.keeps_bodies = bodies
        """Whether entries hold the request's and answer's bodies (`record`'s `bodies`)."""

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
        bodies: tuple[bytes | None, bytes | None] | None = None,
        *,
        frames: int | None = None,
    ) -> JournalEntry:
        """Add an entry; `bodies` (the raw request and answer) are kept, parsed and redacted,
        only by a journal that keeps bodies."""
        self._seq += 1
        kept = None
        if self.keeps_bodies:
            request, answer = bodies or (None, None)
            kept = (parse_body(request), parse_body(answer))
        latency = round(latency_ms, LATENCY_DECIMALS)
        entry = JournalEntry(
            self._seq, time_ms, method, path, account, status, latency, kept, frames
        )
        self._entries.append(entry)
        return entry

    def entries(self, since: int = 0, limit: int | None = None) -> list[JournalEntry]:
        """The entries with `seq > since`, oldest first; only the oldest `limit` of them when
        given (so a reader pages forward with `since` = the last seq it saw)."""
        kept = self._entries
        first = 0 if not kept or since < kept[0].seq else since - kept[0].seq + 1
        # Seqs are consecutive within what is kept: the first wanted one is at a known index.
        return list(islice(kept, first, None if limit is None else first + limit))
