"""Faults and the journal (docs/control-api.md "Faults", and "State" for `GET /_sim/journal`).

- `POST /_sim/faults` `{match: {method, path, account?}, action, times?, probability?}` adds a
  rule after every existing one → 201 `{faultId, match, action, times, probability, remaining}`.
  `times` absent is 1; `times: null` is until removed (answered as null, with `remaining` null).
  Every bad value is 400 naming the field (`match.method`, `action.status`, `times`, …) and
  adds nothing; the rules themselves (worlds/faults.py) say what is refused.
- `GET /_sim/faults` → `{faults: [{faultId, match, action, remaining}]}`, the rules still in
  force in the order they are tried; a used-up rule is gone.
- `DELETE /_sim/faults/{faultId}` → `{faultId, deleted: true}`; 404 for an id that is not (or
  no longer) a rule.
- `GET /_sim/journal?since=N&limit=N&path=&status=&account=` → `{entries: [{seq, time,
  method, path, account, status, latencyMs}]}`, oldest first, only `seq > since` (0 when
  absent) that pass every filter given (`path` a substring of the entry's, `status` a code
  such as `404` or a class such as `4xx`, `account` a userId or wallet address), the oldest
  `limit` of them (1 to 10,000; all when absent). `status` is null for a dropped connection;
  `latencyMs` is real milliseconds (three decimals). In a world made with `journalBodies`,
  each entry adds `request` and `response`: the bodies as parsed JSON, null when there is none
  or it is not JSON, credentials redacted (worlds/journal.py). A stream's entry is written
  when it ends, with `frames` (the frames sent) and `latencyMs` the time it was open.

Stream faults (`stream_drop {afterFrames?}`, `stream_gap`, `stream_duplicate`,
`stream_stall {ms}`) must match `GET`; `afterFrames` shows as 1 when absent, null on others.

Answers show every field of a match and an action, null where unset, and the action's
effective answer: an ambiguous fault shows the status, code and message it will answer (504,
UPSTREAM_DEGRADED and a message saying the request may have been processed, unless given), and
`drop` is true for every fault that drops the connection, a `drop` fault included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.clock import format_ms
from ocx_sim.control.accounts import find_account
from ocx_sim.control.fault_rules import (
    ACTION_RULES,
    MATCH_ACCOUNT,
    MATCH_PATH,
    MESSAGE,
    STREAM_MATCHES_GET,
)
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.gateway import parse
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import INSTANT, ULID, Schema, array, enum, nullable, obj, ref
from ocx_sim.worlds.faults import (
    ERROR_CODE,
    MAX_LATENCY_MS,
    MAX_TIMES,
    METHODS,
    Fault,
    FaultAction,
    FaultMatch,
    FaultType,
)
from ocx_sim.worlds.journal import CAPACITY as JOURNAL_CAPACITY
from ocx_sim.worlds.journal import JournalEntry

SEQ_HIGH = 2**63 - 1
_STATUS_CODE = re.compile(r"[1-5][0-9]{2}")
_STATUS_CLASS = re.compile(r"[1-5]xx")


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    raw = body.get(name)
    if raw is None:
        raise invalid(name, "is required")
    if not isinstance(raw, dict):
        raise invalid(name, "must be a JSON object")
    return raw


def match_view(match: FaultMatch) -> dict[str, Any]:
    return {"method": match.method, "path": match.path, "account": match.account}


def action_view(action: FaultAction) -> dict[str, Any]:
    return {
        "type": action.type.value,
        "status": action.answer_status,
        "code": action.answer_code,
        "message": action.answer_message,
        "ms": action.ms,
        "drop": action.drops,
        "afterFrames": (action.after_frames or 1) if action.type is FaultType.STREAM_DROP else None,
    }


def fault_view(fault: Fault) -> dict[str, Any]:
    """`{faultId, match, action, remaining}`, as `GET /_sim/faults` lists it."""
    return {
        "faultId": fault.fault_id,
        "match": match_view(fault.match),
        "action": action_view(fault.action),
        "remaining": fault.remaining,
    }


def entry_view(entry: JournalEntry) -> dict[str, Any]:
    view = {
        "seq": entry.seq,
        "time": format_ms(entry.time_ms),
        "method": entry.method,
        "path": entry.path,
        "account": entry.account,
        "status": entry.status,
        "latencyMs": entry.latency_ms,
    }
    if entry.bodies is not None:
        view["request"], view["response"] = entry.bodies
    if entry.frames is not None:
        view["frames"] = entry.frames
    return view


async def add_fault(call: Call) -> Any:
    """Add a fault rule; it applies to the world's next matching OCX requests."""
    body = call.body
    raw_match = _object(body, "match")
    raw_action = _object(body, "action")
    # Values go in unchecked: the rules check them (types included) for every caller alike.
    method: Any = raw_match.get("method")
    path: Any = raw_match.get("path")
    kind: Any = raw_action.get("type")
    match = FaultMatch(method, path, raw_match.get("account"))
    drop = raw_action.get("drop")
    action = FaultAction(
        kind,
        raw_action.get("status"),
        raw_action.get("code"),
        raw_action.get("message"),
        raw_action.get("ms"),
        False if drop is None else drop,
        raw_action.get("afterFrames"),
    )
    # Absent is one request; null is every request until the rule is removed.
    times = body.get("times", 1)
    faults = call.world.faults
    fault_id = faults.add(match, action, times, body.get("probability"))
    fault = faults.get(fault_id)
    assert fault is not None  # just added, and nothing has run since
    return {**fault_view(fault), "times": fault.times, "probability": fault.probability}


async def list_faults(call: Call) -> Any:
    """The rules in force, in the order they are tried."""
    return {"faults": [fault_view(fault) for fault in call.world.faults.rules()]}


async def delete_fault(call: Call) -> Any:
    """Remove a rule before it is used up."""
    fault_id = call.path_param("faultId")
    if not call.world.faults.remove(fault_id):
        raise OcxError(ErrorCode.NOT_FOUND, f"Unknown fault {fault_id!r}", {"faultId": fault_id})
    return {"faultId": fault_id, "deleted": True}


async def get_journal(call: Call) -> Any:
    """The requests the world answered after `since`, oldest first, that pass the filters
    (`path`, `status`, `account`), at most `limit` of those."""
    query = call.query
    since = parse.query_int(query, "since", default=0, low=0, high=SEQ_HIGH) or 0
    limit = parse.query_int(query, "limit", default=None, low=1, high=JOURNAL_CAPACITY)
    keep = _journal_filter(call)
    if keep is None:
        entries = call.world.journal.entries(since, limit)
    else:
        # Filtered first, then cut: `limit` counts the entries answered, not those read.
        entries = [e for e in call.world.journal.entries(since) if keep(e)][:limit]
    return {"entries": [entry_view(entry) for entry in entries]}


def _journal_filter(call: Call) -> Callable[[JournalEntry], bool] | None:
    """The entries the query's filters keep, all of them together; None without a filter."""
    tests: list[Callable[[JournalEntry], bool]] = []
    path = parse.query_string(call.query, "path")
    if path is not None:
        tests.append(lambda entry: path in entry.path)
    status = _status_filter(parse.query_string(call.query, "status"))
    if status is not None:
        tests.append(status)
    account = parse.query_string(call.query, "account")
    if account is not None:
        user = find_account(call.exchange, account)
        user_id = account if user is None else user.user_id
        tests.append(lambda entry: entry.account == user_id)
    if not tests:
        return None
    return lambda entry: all(test(entry) for test in tests)


def _status_filter(raw: str | None) -> Callable[[JournalEntry], bool] | None:
    """`404` keeps that status, `4xx` its class; a dropped connection (no status) matches
    neither."""
    if raw is None:
        return None
    if _STATUS_CODE.fullmatch(raw):
        code = int(raw)
        return lambda entry: entry.status == code
    if _STATUS_CLASS.fullmatch(raw):
        hundreds = int(raw[0])
        return lambda entry: entry.status is not None and entry.status // 100 == hundreds
    raise invalid("status", "must be a status code such as 404 or a class: 2xx, 3xx, 4xx, 5xx")


_STATUS: Schema = {"type": "integer", "minimum": 400, "maximum": 599}
_CODE: Schema = {
    "type": "string",
    "pattern": "^" + ERROR_CODE.pattern + "$",
    "description": "any upper-case code, the catalog's or not",
}
_TIMES: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_TIMES}
_PROBABILITY: Schema = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
_MATCH: Schema = obj(
    {
        "method": enum(*METHODS),
        "path": {"type": "string", "description": "an OCX path; {name} segments match any"},
        "account": {**nullable(MATCH_ACCOUNT), "description": "a userId or wallet address"},
    },
    optional=("account",),
)
_ACTION: Schema = obj(
    {
        "type": enum(*(kind.value for kind in FaultType)),
        "status": nullable(_STATUS),
        "code": nullable(_CODE),
        "message": nullable({"type": "string"}),
        "ms": nullable({"type": "integer", "minimum": 1, "maximum": MAX_LATENCY_MS}),
        "drop": {"type": "boolean"},
        "afterFrames": {
            **nullable({"type": "integer", "minimum": 1, "maximum": MAX_TIMES}),
            "description": "stream_drop: the stream ends after this many frames (default 1)",
        },
    },
    optional=("status", "code", "message", "ms", "drop", "afterFrames"),
)
_FAULT_FIELDS: dict[str, Schema] = {
    "faultId": ULID,
    "match": {**_MATCH, "required": ["method", "path", "account"]},
    "action": {
        **_ACTION,
        "required": ["type", "status", "code", "message", "ms", "drop", "afterFrames"],
    },
    "remaining": {
        **nullable({"type": "integer", "minimum": 1}),
        "description": "requests it will still hit; null until removed",
    },
}
COMPONENTS: dict[str, Schema] = {
    "SimFault": obj(_FAULT_FIELDS),
    "SimFaultCreated": obj(
        {**_FAULT_FIELDS, "times": nullable(_TIMES), "probability": nullable(_PROBABILITY)}
    ),
    "SimJournalEntry": obj(
        {
            "seq": {"type": "integer", "minimum": 1},
            "time": INSTANT,
            "method": {"type": "string"},
            "path": {"type": "string"},
            "account": nullable({"type": "string"}),
            "status": {
                **nullable({"type": "integer"}),
                "description": "null when the connection was dropped",
            },
            "latencyMs": {"type": "number", "minimum": 0},
            "frames": {
                "type": "integer",
                "minimum": 0,
                "description": "a stream's: the frames sent (its latencyMs: the time it was open)",
            },
            "request": {
                "description": "journalBodies: the request's JSON body, credentials as "
                '"***"; null when none or not JSON'
            },
            "response": {
                "description": "journalBodies: the answer's JSON body, credentials as "
                '"***"; null when none or not JSON'
            },
        },
        optional=("request", "response", "frames"),
    ),
}
ADD_FAULT: Schema = (
    obj(
        {
            "match": _MATCH | {"properties": {**_MATCH["properties"], "path": MATCH_PATH}},
            "action": _ACTION
            | {"properties": {**_ACTION["properties"], "message": MESSAGE}}
            | ACTION_RULES,
            "times": {**nullable(_TIMES), "description": "default 1; null: until removed"},
            "probability": _PROBABILITY,
        },
        optional=("times", "probability"),
    )
    | STREAM_MATCHES_GET
)
ENDPOINTS = [
    Endpoint(
        "POST",
        "/_sim/faults",
        add_fault,
        Access.PUBLIC,
        "Add a fault rule for the world's OCX requests",
        response=ref("SimFaultCreated"),
        request=ADD_FAULT,
        tag="control",
        status=201,
    ),
    Endpoint(
        "GET",
        "/_sim/faults",
        list_faults,
        Access.PUBLIC,
        "List the fault rules in force, in the order they are tried",
        response=obj({"faults": array(ref("SimFault"))}),
        tag="control",
    ),
    Endpoint(
        "DELETE",
        "/_sim/faults/{faultId}",
        delete_fault,
        Access.PUBLIC,
        "Remove a fault rule",
        response=obj({"faultId": {"type": "string"}, "deleted": {"const": True}}),
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/journal",
        get_journal,
        Access.PUBLIC,
        "Every request the world answered, oldest first",
        response=obj({"entries": array(ref("SimJournalEntry"))}),
        query={
            "since": {"type": "integer", "minimum": 0, "maximum": SEQ_HIGH},
            "limit": {"type": "integer", "minimum": 1, "maximum": JOURNAL_CAPACITY},
            "path": {"type": "string", "description": "keep entries whose path contains it"},
            "status": {
                "type": "string",
                "pattern": "^[1-5]([0-9]{2}|xx)$",
                "description": "a status (404) or a class (4xx)",
            },
            "account": {"type": "string", "description": "a userId or wallet address"},
        },
        tag="control",
    ),
]
