"""The `stream` expectation (docs/scenarios.md "Expectations"): what a stream sends for
everything that changed from `since` to the expectation's instant.

That is the frame a client subscribed at `since` gets when the clock is then advanced to the
instant in one go (docs/fidelity.md "Streams": one frame per advance, everything it changed
together), or nothing when nothing the stream shows changed. It does not depend on how often
anyone looked in between, so `ocx-sim run`, a served world and a test judge it alike.

The streams sit above the scenarios (they are HTTP endpoints), so they lend the scenarios a
`StreamLens` when they load (`install`, called by ocx_sim/streams/lens.py; the app, the CLI and
the test fixtures all load them). What is kept between `since` and the judgement is the
stream's view: plain data, so a snapshot of the world copies it with the run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.scenarios.durations import At

DETAIL_CHARS = 400
"""How much of the frame's payload a result's detail shows."""

Plain = Any
"""YAML data as plain values: dicts, lists, text and None."""


@dataclass(frozen=True, slots=True)
class ExpectStream:
    path: str
    query: tuple[tuple[str, str], ...] = ()
    account: str | None = None
    where: Plain = None
    """The payload must hold these values (`holds`); None: any frame."""
    sent: bool = True
    """False: the stream must send nothing."""
    since: At | None = None
    """None: from the scenario's load."""


class StreamLens(Protocol):
    """What a `stream` expectation needs of the streams (ocx_sim/streams/lens.py)."""

    def private(self, path: str) -> bool:
        """Whether the stream at `path` is an account's; 400 naming `path` when no stream is
        there."""

    def view(
        self, exchange: Exchange, path: str, user_id: str | None, query: Mapping[str, str]
    ) -> object:
        """What the stream shows now; its parameters are checked as a request's are."""

    def change(
        self,
        exchange: Exchange,
        path: str,
        user_id: str | None,
        query: Mapping[str, str],
        before: object,
    ) -> dict[str, Any] | None:
        """The payload of the frame the stream sends for the change from `before` (a `view`)
        to now; None when nothing it shows changed."""


_lenses: list[StreamLens] = []


def install(lens: StreamLens) -> None:
    _lenses[:] = [lens]


def lens() -> StreamLens:
    if not _lenses:
        raise OcxError(
            ErrorCode.VALIDATION_ERROR,
            "stream expectations need the streams loaded (import ocx_sim.streams; the server, "
            "the CLI and the test fixtures do)",
        )
    return _lenses[0]


def holds(value: Any, where: Plain) -> bool:
    """Whether a payload `value` holds `where`: a mapping's keys each hold their value, a list
    holds what one of its items holds (a list in `where`: each of its items), a decimal equals
    as a number (`"1.50"` is `1.5`), true and false as written, `~` only null."""
    if isinstance(value, list) and not isinstance(where, list):
        return any(holds(item, where) for item in value)
    if isinstance(where, dict):
        return isinstance(value, dict) and all(
            key in value and holds(value[key], wanted) for key, wanted in where.items()
        )
    if isinstance(where, list):
        return isinstance(value, list) and all(
            any(holds(item, wanted) for item in value) for wanted in where
        )
    if where is None or value is None:
        return where is None and value is None
    if isinstance(value, bool):
        return bool(where == ("true" if value else "false"))
    if isinstance(value, dict):
        return False
    return _same(str(value), where)


def _same(value: str, wanted: str) -> bool:
    try:
        return Decimal(value) == Decimal(wanted)
    except InvalidOperation:
        return value == wanted


def judged(
    e: ExpectStream, account: str | None, since: str, payload: dict[str, Any] | None
) -> tuple[str, bool, str]:
    """`(what, ok, detail)` of the frame `payload` (None: none sent)."""
    whose = f"{account}'s {e.path}" if account else e.path
    if not e.sent:
        what = f"{whose} sends nothing after {since}"
    elif e.where is None:
        what = f"{whose} sends a frame after {since}"
    else:
        what = f"{whose} sends a frame holding {json.dumps(e.where)} after {since}"
    if payload is None:
        return what, not e.sent, "sent nothing"
    ok = e.sent and (e.where is None or holds(payload, e.where))
    text = json.dumps(payload, separators=(",", ":"))
    if len(text) > DETAIL_CHARS:
        text = text[: DETAIL_CHARS - 1] + "…"
    return what, ok, f"sent {text}"
