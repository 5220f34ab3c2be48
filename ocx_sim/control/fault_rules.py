"""What `POST /_sim/faults` takes, as JSON Schema (docs/control-api.md "Faults"): the rules
worlds/faults.py checks, written out for `/openapi.json` so that a request the document calls
valid is one the server adds.

- `match.path` is an OCX path pattern (`path_segments`): segments that are literals or
  `{name}` placeholders, no world prefix, no `/_sim`, no query, at most MAX_PATH_LENGTH
  characters;
- `match.account` is a userId or a 0x wallet address (`FaultMatch.check`);
- an action takes only the fields its type uses, and needs those it cannot do without
  (`FaultAction.check`): an error its `status` and `code`, a latency or a stream stall its `ms`;
  an ambiguous fault that drops answers nothing, so it takes no status, code or message;
- a stream fault matches `GET` (`check_rule`).
"""

from __future__ import annotations

from ocx_sim.gateway.schemas import ADDRESS, Schema, not_null
from ocx_sim.worlds.faults import MAX_MESSAGE_LENGTH, MAX_PATH_LENGTH, FaultType

_WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Python's `\\s`, spelled out: a regular expression's `\\s` differs between Python and the
ECMA-262 dialect JSON Schema uses."""
_SEGMENT = r"(\{[A-Za-z_][A-Za-z0-9_]*\}|[^/{}?#" + _WHITESPACE + "]+)"
MATCH_PATH: Schema = {
    "type": "string",
    "maxLength": MAX_PATH_LENGTH,
    "pattern": r"^(?!/_sim(/|$))(?!/w/)(/" + _SEGMENT + ")+$",
    "description": "an OCX path without the world prefix; {name} segments match any",
}
_USER_ID: Schema = {"type": "string", "pattern": "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-zßſﬀﬅﬆ]{25}$"}
"""A userId as ids.py `is_ulid` reads one: 26 Crockford characters in either case, the first 0
to 7. It upper-cases before it looks, so the five letters whose capitals are Crockford letters
(ß, ſ, ﬀ, ﬅ, ﬆ) pass too."""
MATCH_ACCOUNT: Schema = {
    "anyOf": [_USER_ID, ADDRESS],
    "description": "a userId or wallet address",
}
MESSAGE: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_LENGTH}

_USES: dict[FaultType, tuple[str, ...]] = {
    FaultType.ERROR: ("status", "code", "message"),
    FaultType.LATENCY: ("ms",),
    FaultType.DROP: ("drop",),
    FaultType.AMBIGUOUS: ("status", "code", "message", "drop"),
    FaultType.STREAM_DROP: ("afterFrames",),
    FaultType.STREAM_GAP: (),
    FaultType.STREAM_DUPLICATE: (),
    FaultType.STREAM_STALL: ("ms",),
}
"""The action fields each type uses; any other given is refused as a mistake."""
_NEEDS: dict[FaultType, tuple[str, ...]] = {
    FaultType.ERROR: ("status", "code"),
    FaultType.LATENCY: ("ms",),
    FaultType.STREAM_STALL: ("ms",),
}
_UNUSED: dict[str, Schema] = {
    "status": {"type": "null"},
    "code": {"type": "null"},
    "message": {"type": "null"},
    "ms": {"type": "null"},
    "drop": {"enum": [False, None]},
    "afterFrames": {"type": "null"},
}
"""An unused field is absent or null; `drop` may also be false, as every fault that does not
drop is."""
_DROPS_SILENTLY: Schema = {
    "if": {"properties": {"drop": {"const": True}}, "required": ["drop"]},
    "then": {"properties": {name: {"type": "null"} for name in ("status", "code", "message")}},
}


def _variant(kind: FaultType) -> Schema:
    needs = _NEEDS.get(kind, ())
    variant: Schema = {
        "properties": {
            "type": {"const": kind.value},
            **{name: schema for name, schema in _UNUSED.items() if name not in _USES[kind]},
        },
        **({"allOf": [not_null(*needs)]} if needs else {}),
    }
    if kind is FaultType.AMBIGUOUS:
        variant |= _DROPS_SILENTLY
    return variant


ACTION_RULES: Schema = {"oneOf": [_variant(kind) for kind in FaultType]}
"""One variant per type: the fields it uses, and those it needs."""
_STREAM_TYPES = [kind.value for kind in FaultType if kind.on_stream]
STREAM_MATCHES_GET: Schema = {
    "if": {
        "properties": {"action": {"properties": {"type": {"enum": _STREAM_TYPES}}}},
        "required": ["action"],
    },
    "then": {"properties": {"match": {"properties": {"method": {"const": "GET"}}}}},
}
"""A stream is only ever a GET, so a stream fault matches `GET`, not `*`."""
