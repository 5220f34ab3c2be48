"""Fault rules: the failures a test injects into a world's OCX requests (docs/control-api.md
"Faults").

A rule is a `FaultMatch` (method, path pattern, optional account), a `FaultAction` (error,
latency, drop, ambiguous; or a stream fault: stream_drop, stream_gap, stream_duplicate,
stream_stall), a count (`times`, default 1; None: until removed) and an optional
`probability`. The gateway (gateway/endpoint.py) asks `Faults.hit` once per OCX request and
applies the action it gets back; this module only decides which rule, if any, a request hits.

Stream faults act on an open stream, not on a request's answer, so the two kinds are matched
apart: `hit(..., stream=False)` (every request, before its handler) tries only the request
rules, and `hit(..., stream=True)` (once a request has become a stream) only the stream rules.
A stream request a handler refuses (400, 404) uses no stream rule; a stream may be hit by one
rule of each kind (a latency fault delays its opening, a stream_gap then acts on it). A stream
rule must match `GET` (a stream is only ever a GET).

Invariants kept here:
- Rules are tried in creation order; the first that matches and, if probabilistic, draws a hit
  is the one applied. Later rules are not consulted (and draw nothing) for that request.
- A rule's `remaining` counts the requests it hits, down to zero, and then the rule is gone:
  not listed, not removable, never hit again.
- Probability draws come from the world's seed through its own `faults` stream, created once
  per world, one draw per matching request of a probabilistic rule; the same seed and the same
  requests hit the same requests, and drawing moves no other stream. Fault ids come from a
  separate `fault-ids` stream, so adding a rule moves neither the draws nor the exchange's ids.
- `/_sim` paths cannot be matched: a fault must never lock the tester out of removing it.
- Every hit is counted (`hit_count`) and the latest `HIT_CAPACITY` are kept as `FaultHit`s
  (`hits_since`), for `ocx-sim serve --log-events`; the request's journal entry is written
  only once its answer is ready, and says nothing of faults, so this is where a hit is known.
- Everything here is plain data (no closures), so a world deep-copies with its rules.

Validation raises `invalid(field, why)` with the HTTP body's field names (`match.path`,
`action.status`, `times`, …), so the control endpoint and the scenario loader refuse the same
things the same way. Values are checked for their types too: a loader may pass YAML's.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ocx_sim.clock import Clock
from ocx_sim.errors import ErrorCode, invalid
from ocx_sim.ids import ULID_TAIL_BITS, RandomStream, encode_ulid, is_ulid

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "*")
MAX_PATH_LENGTH = 512
MAX_MESSAGE_LENGTH = 1024
MAX_LATENCY_MS = 300_000
"""Five minutes: beyond any client's timeout, and a held request holds nothing else up."""
MAX_TIMES = 1_000_000_000
HIT_CAPACITY = 1_000
"""How many of the latest hits are kept (`Faults.hits_since`): a reader that falls further
behind than this sees a gap, as the journal's does."""
AMBIGUOUS_STATUS = 504
AMBIGUOUS_CODE = ErrorCode.UPSTREAM_DEGRADED
AMBIGUOUS_MESSAGE = "The exchange did not answer in time; the request may have been processed"
"""What an ambiguous fault answers by default: the gateway timeout a load balancer gives when
the exchange behind it is slow. The catalog has no 504 code; UPSTREAM_DEGRADED (retry shortly)
is the nearest in meaning, and the message says what the client cannot know."""

ERROR_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
"""An error action's `code`: any upper-case code, the catalog's or not (docs/control-api.md
"Faults"): OCX warns that new codes may appear, and a client must cope with one it has never
seen."""
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_LITERAL = re.compile(r"[^/{}?#\s]+")


class FaultType(StrEnum):
    ERROR = "error"
    LATENCY = "latency"
    DROP = "drop"
    AMBIGUOUS = "ambiguous"
    STREAM_DROP = "stream_drop"
    STREAM_GAP = "stream_gap"
    STREAM_DUPLICATE = "stream_duplicate"
    STREAM_STALL = "stream_stall"

    @property
    def on_stream(self) -> bool:
        """Whether it acts on an open stream (streams/hub.py) rather than on an answer."""
        return self.value.startswith("stream_")


@dataclass(frozen=True, slots=True)
class FaultMatch:
    method: str
    """Upper case ("POST"); "*" matches any."""
    path: str
    """An OCX path without the world prefix; `{name}` segments match any one segment."""
    account: str | None = None
    """A userId or a wallet address (any case); None matches every caller, anonymous included."""

    def check(self) -> None:
        """400 naming `match.method`, `match.path` or `match.account` unless well-formed."""
        if self.method is None:
            raise invalid("match.method", "is required")
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise invalid("match.method", f"must be one of {', '.join(METHODS)}")
        path_segments(self.path)
        account = self.account
        if account is not None and not (
            isinstance(account, str) and (is_ulid(account) or _ADDRESS.fullmatch(account))
        ):
            raise invalid("match.account", "must be a userId (a ULID) or a 0x wallet address")


@dataclass(frozen=True, slots=True)
class FaultAction:
    type: FaultType
    status: int | None = None
    """error: required; ambiguous: the status answered instead of the real one (default 504)."""
    code: str | None = None
    """error: required, any code matching ERROR_CODE; ambiguous: optional (default
    UPSTREAM_DEGRADED)."""
    message: str | None = None
    """error, ambiguous: the error body's message (default: the catalog's for a catalog code,
    a generic one for any other, AMBIGUOUS_MESSAGE for an ambiguous fault without a code)."""
    ms: int | None = None
    """latency: real milliseconds the answer is held back."""
    drop: bool = False
    """ambiguous: drop the connection instead of answering `status` (a drop fault may say
    true too: it drops anyway)."""
    after_frames: int | None = None
    """stream_drop: the stream ends right after this many frames (None: 1, the snapshot)."""

    def check(self) -> None:
        """400 naming the first `action.*` field that is missing, malformed or not for this
        type (a field that would be silently ignored is refused: it is a mistake)."""
        kind = self.type
        if kind is None:
            raise invalid("action.type", "is required")
        if not isinstance(kind, str) or kind not in _TYPES:
            raise invalid("action.type", f"must be one of {', '.join(_TYPES)}")
        kind = FaultType(kind)
        if not isinstance(self.drop, bool):
            raise invalid("action.drop", "must be true or false")
        allowed = _FIELDS[kind]
        for name in ("status", "code", "message", "ms", "drop", "after_frames"):
            value = getattr(self, name)
            # Identity, not ==: an `ms` of 0 is given, not absent.
            if name not in allowed and value is not None and value is not False:
                raise invalid(_field(name), f"is not used by a {kind.value} fault")
        if kind is FaultType.ERROR:
            if self.status is None:
                raise invalid("action.status", "is required for an error fault")
            if self.code is None:
                raise invalid("action.code", "is required for an error fault")
        if kind in (FaultType.LATENCY, FaultType.STREAM_STALL) and self.ms is None:
            raise invalid("action.ms", f"is required for a {kind.value} fault")
        if self.after_frames is not None:
            _check_int(self.after_frames, "action.afterFrames", 1, MAX_TIMES)
        if self.status is not None:
            _check_int(self.status, "action.status", 400, 599)
        if self.code is not None and (
            not isinstance(self.code, str) or ERROR_CODE.fullmatch(self.code) is None
        ):
            raise invalid(
                "action.code",
                "must be an upper-case code matching ^[A-Z][A-Z0-9_]{0,63}$ (VALIDATION_ERROR, …)",
            )
        if self.message is not None and not (
            isinstance(self.message, str) and 0 < len(self.message) <= MAX_MESSAGE_LENGTH
        ):
            raise invalid("action.message", f"must be a string of 1 to {MAX_MESSAGE_LENGTH}")
        if self.ms is not None:
            _check_int(self.ms, "action.ms", 1, MAX_LATENCY_MS)
        if self.drop and (self.status, self.code, self.message) != (None, None, None):
            raise invalid("action.drop", "an ambiguous fault either answers an error or drops")

    @property
    def drops(self) -> bool:
        """Whether the connection is dropped without an answer."""
        return self.type is FaultType.DROP or self.drop

    @property
    def answer_status(self) -> int | None:
        """The status answered (error, ambiguous without drop), else None."""
        if self.type is FaultType.AMBIGUOUS and not self.drop:
            return AMBIGUOUS_STATUS if self.status is None else self.status
        return self.status

    @property
    def answer_code(self) -> str | None:
        """The code answered (error, ambiguous without drop), else None."""
        if self.type is FaultType.AMBIGUOUS and not self.drop:
            return AMBIGUOUS_CODE.value if self.code is None else self.code
        return self.code

    @property
    def answer_message(self) -> str | None:
        """The message given, or None for the code's default (the catalog's, or a generic one
        for a code outside it; an ambiguous fault without a code has its own)."""
        if self.message is None and self.type is FaultType.AMBIGUOUS and not self.drop:
            return AMBIGUOUS_MESSAGE if self.code is None else None
        return self.message


_TYPES = tuple(kind.value for kind in FaultType)
_FIELDS: dict[FaultType, frozenset[str]] = {
    FaultType.ERROR: frozenset({"status", "code", "message"}),
    FaultType.LATENCY: frozenset({"ms"}),
    FaultType.DROP: frozenset({"drop"}),
    FaultType.AMBIGUOUS: frozenset({"status", "code", "message", "drop"}),
    FaultType.STREAM_DROP: frozenset({"after_frames"}),
    FaultType.STREAM_GAP: frozenset(),
    FaultType.STREAM_DUPLICATE: frozenset(),
    FaultType.STREAM_STALL: frozenset({"ms"}),
}


def _field(name: str) -> str:
    """An action attribute's name in the HTTP body (`action.afterFrames`)."""
    return "action.afterFrames" if name == "after_frames" else f"action.{name}"


def _check_int(value: Any, field: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be an integer")
    if not low <= value <= high:
        raise invalid(field, f"must be between {low} and {high}")


def path_segments(path: Any) -> tuple[str | None, ...]:
    """A path pattern's segments, None for each `{name}`; 400 naming `match.path` unless it is
    an OCX path (`/perps/orders/{id}/cancel`): no world prefix, no `/_sim`, no query."""
    if path is None:
        raise invalid("match.path", "is required")
    if not isinstance(path, str) or not path.startswith("/"):
        raise invalid("match.path", 'must be a path such as "/perps/orders/{id}/cancel"')
    if len(path) > MAX_PATH_LENGTH:
        raise invalid("match.path", f"must be at most {MAX_PATH_LENGTH} characters")
    parts = path[1:].split("/")
    if parts[0] == "_sim":
        raise invalid(
            "match.path", "/_sim paths cannot be faulted (the faults must stay removable)"
        )
    if parts[0] == "w" and len(parts) > 1:
        raise invalid("match.path", "give the path without the world prefix /w/{worldId}")
    segments: list[str | None] = []
    for part in parts:
        if _PLACEHOLDER.fullmatch(part):
            segments.append(None)
        elif _LITERAL.fullmatch(part):
            segments.append(part)
        else:
            raise invalid(
                "match.path",
                f"segment {part!r} must be a literal or a {{name}} placeholder "
                "(no empty segment, trailing slash or query)",
            )
    return tuple(segments)


def check_rule(
    match: FaultMatch, action: FaultAction, times: int | None, probability: float | None
) -> None:
    """Everything `Faults.add` refuses, without adding (for `ocx-sim validate`)."""
    match.check()
    action.check()
    if FaultType(action.type).on_stream and match.method != "GET":
        raise invalid("match.method", "must be GET for a stream fault (a stream is a GET)")
    if times is not None:
        _check_int(times, "times", 1, MAX_TIMES)
    if probability is not None and (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not math.isfinite(probability)
        or not 0 < probability <= 1
    ):
        raise invalid("probability", "must be a number greater than 0 and at most 1")


@dataclass(slots=True)
class Fault:
    """One rule as the world keeps it."""

    fault_id: str
    match: FaultMatch
    action: FaultAction
    times: int | None
    """As created: how many requests it hits in all; None until removed."""
    probability: float | None
    remaining: int | None
    """Requests it will still hit; None until removed."""
    segments: tuple[str | None, ...]
    account: str | None
    """`match.account` in lower case."""

    def matches(self, method: str, parts: list[str], accounts: tuple[str, ...]) -> bool:
        """`parts`: the request path split on "/" (without its leading ""); `accounts`: the
        caller's userId and wallet address in lower case, () when anonymous."""
        wanted = self.match.method
        if wanted != "*" and wanted != method:
            return False
        segments = self.segments
        if len(parts) != len(segments):
            return False
        for segment, part in zip(segments, parts, strict=True):
            if segment is None:
                if not part:
                    return False
            elif segment != part:
                return False
        return self.account is None or self.account in accounts


@dataclass(frozen=True, slots=True)
class FaultHit:
    """A request (or stream) a rule hit."""

    seq: int
    """Counts hits from 1 per world."""
    time_ms: int
    fault_id: str
    type: FaultType
    method: str
    path: str
    user_id: str | None
    remaining: int | None
    """What the rule will still hit after this one (0: used up); None until removed."""


class Faults:
    """A world's fault rules, in creation order."""

    def __init__(self, clock: Clock, draws: RandomStream, ids: RandomStream) -> None:
        self._clock = clock
        self._draws = draws
        self._ids = ids
        self._rules: dict[str, Fault] = {}
        self._last_ms = -1
        self._last_tail = 0
        self.hit_count = 0
        self._hits: deque[FaultHit] = deque(maxlen=HIT_CAPACITY)

    def __len__(self) -> int:
        return len(self._rules)

    def add(
        self,
        match: FaultMatch,
        action: FaultAction,
        times: int | None = 1,
        probability: float | None = None,
    ) -> str:
        """Add a rule after every existing one; answers its id. 400 naming the field for a bad
        value (see `check_rule`); nothing is added then."""
        check_rule(match, action, times, probability)
        action = FaultAction(
            FaultType(action.type),
            action.status,
            action.code,
            action.message,
            action.ms,
            action.drop,
            action.after_frames,
        )
        fault_id = self._next_id()
        self._rules[fault_id] = Fault(
            fault_id,
            match,
            action,
            times,
            None if probability is None else float(probability),
            times,
            path_segments(match.path),
            None if match.account is None else match.account.lower(),
        )
        return fault_id

    def remove(self, fault_id: str) -> bool:
        """Remove a rule; False when there is none by that id (never was, removed, used up)."""
        return self._rules.pop(fault_id, None) is not None

    def get(self, fault_id: str) -> Fault | None:
        return self._rules.get(fault_id)

    def rules(self) -> list[Fault]:
        """The rules still in force, in creation order."""
        return list(self._rules.values())

    def hit(
        self,
        method: str,
        path: str,
        user_id: str | None = None,
        wallet: str | None = None,
        *,
        stream: bool = False,
    ) -> Fault | None:
        """The rule this request hits, counted down (and gone when used up), or None.
        `path` is the request's path without the world prefix; `user_id` and `wallet` are the
        authenticated caller's (None when anonymous). Only stream rules are tried when
        `stream`, only request rules otherwise (module docstring)."""
        if not self._rules:
            return None
        parts = path[1:].split("/")
        accounts = tuple(a.lower() for a in (user_id, wallet) if a is not None)
        for fault in list(self._rules.values()):
            if fault.action.type.on_stream is not stream:
                continue
            if not fault.matches(method, parts, accounts):
                continue
            if fault.probability is not None and not self._draws.random() < fault.probability:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    del self._rules[fault.fault_id]
            self.hit_count += 1
            self._hits.append(
                FaultHit(
                    self.hit_count,
                    self._clock.now_ms,
                    fault.fault_id,
                    fault.action.type,
                    method,
                    path,
                    user_id,
                    fault.remaining,
                )
            )
            return fault
        return None

    def hits_since(self, seq: int) -> list[FaultHit]:
        """The kept hits with `seq` greater than the given one, oldest first."""
        return [hit for hit in self._hits if hit.seq > seq]

    def _next_id(self) -> str:
        """A ULID on the world's clock from the `fault-ids` stream, counted up within one
        millisecond (the monotonic-ULID rule of ids.py), so ids sort in creation order."""
        now = self._clock.now_ms
        if now > self._last_ms:
            self._last_ms = now
            self._last_tail = self._ids.getrandbits(ULID_TAIL_BITS - 1)
        else:
            self._last_tail += 1
        return encode_ulid(self._last_ms, self._last_tail)
