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
- Plain data only, so a world deep-copies and pickles with its journal; it is kept column
  by column (`Journal`), so that a kept entry is no object of its own.

Not in the journal: requests no world answered (an unknown world's paths, unrouted paths and
wrong methods, `/openapi.json`).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import orjson

CAPACITY = 10_000
SECRET_KEYS = frozenset({"sessionToken", "secret", "privateKey"})
"""Keys whose values a journal never keeps (docs/control-api.md "State")."""
REDACTED = "***"
LATENCY_DECIMALS = 3
SHARED_STRINGS = 4096
"""Distinct methods, paths and accounts a journal shares among its entries at most."""
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
    """The latest `capacity` entries, kept column by column in a ring (the `seq`-th entry in
    slot `(seq - 1) % capacity`): numbers in typed arrays, strings shared with the entries
    before them. A journal entry then costs no object of its own while it is kept, and a burst
    of requests leaves nothing scattered among the memory its orders took, which a world gives
    back once it forgets them (docs/fidelity.md "Retention"). `JournalEntry`s are made as they
    are read."""

    def __init__(self, capacity: int = CAPACITY, *, bodies: bool = False) -> None:
        self._capacity = capacity
        self._seq = 0
        self.keeps_bodies = bodies
        """Whether entries hold the request's and answer's bodies (`record`'s `bodies`)."""
        self._times = array("q")
        self._statuses = array("h")
        """-1 for None."""
        self._latencies = array("d")
        self._frames = array("q")
        """-1 for None."""
        self._methods: list[str] = []
        self._paths: list[str] = []
        self._accounts: list[str | None] = []
        self._bodies: list[tuple[Any, Any] | None] = []
        self._strings: dict[str, str] = {}
        """The strings kept, each once: an entry's method, path and account are these."""

    def __len__(self) -> int:
        return len(self._times)

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
        entry = JournalEntry(
            self._seq,
            time_ms,
            self._shared(method),
            self._shared(path),
            None if account is None else self._shared(account),
            status,
            round(latency_ms, LATENCY_DECIMALS),
            kept,
            frames,
        )
        slot = (self._seq - 1) % self._capacity
        if slot == len(self._times):
            self._grow()
        self._times[slot] = time_ms
        self._statuses[slot] = -1 if status is None else status
        self._latencies[slot] = entry.latency_ms
        self._frames[slot] = -1 if frames is None else frames
        self._methods[slot] = entry.method
        self._paths[slot] = entry.path
        self._accounts[slot] = entry.account
        self._bodies[slot] = kept
        return entry

    def _grow(self) -> None:
        """One more slot in every column (until the ring is full)."""
        for numbers in (self._times, self._statuses, self._frames):
            numbers.append(0)
        self._latencies.append(0.0)
        self._methods.append("")
        self._paths.append("")
        self._accounts.append(None)
        self._bodies.append(None)

    def _shared(self, text: str) -> str:
        """`text`, as the journal already holds it when it does (the cache starts over past
        `SHARED_STRINGS`, so paths that name an order each cannot grow it for ever)."""
        strings = self._strings
        held = strings.get(text)
        if held is None:
            if len(strings) >= SHARED_STRINGS:
                strings.clear()
            held = strings[text] = text
        return held

    def entries(self, since: int = 0, limit: int | None = None) -> list[JournalEntry]:
        """The entries with `seq > since`, oldest first; only the oldest `limit` of them when
        given (so a reader pages forward with `since` = the last seq it saw)."""
        first = max(since, self._seq - len(self._times)) + 1
        last = self._seq if limit is None else min(self._seq, first + limit - 1)
        return [self._entry(seq) for seq in range(first, last + 1)]

    def _entry(self, seq: int) -> JournalEntry:
        slot = (seq - 1) % self._capacity
        status, frames = self._statuses[slot], self._frames[slot]
        return JournalEntry(
            seq,
            self._times[slot],
            self._methods[slot],
            self._paths[slot],
            self._accounts[slot],
            None if status < 0 else status,
            self._latencies[slot],
            self._bodies[slot],
            None if frames < 0 else frames,
        )
