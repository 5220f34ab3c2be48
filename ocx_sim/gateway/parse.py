"""Reading request bodies and query strings into typed values, or a 400 naming the field.

docs/fidelity.md "Wire conventions": decimals are JSON strings matching
`^-?\\d+(\\.\\d+)?$` (no exponent, no `+`, no `.5`, no NaN or Infinity), enums are their
lower-case wire strings, booleans are JSON booleans, unknown fields are ignored, and a missing
required field, a wrong type or a bad value is `400 VALIDATION_ERROR` with `details.field` the
field's wire name (`quotes[3].price` inside lists).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from ocx_sim.errors import invalid

_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
"""ASCII digits only: `\\d` would also take other scripts' digits, which Decimal then reads."""
_MISSING = object()
E = TypeVar("E", bound=StrEnum)


def decimal(
    body: Mapping[str, Any], name: str, prefix: str = "", *, positive: bool = True
) -> Decimal:
    """A required decimal string (positive unless `positive=False`)."""
    value = optional_decimal(body, name, prefix, positive=positive)
    if value is None:
        raise invalid(prefix + name, "is required")
    return value


def optional_decimal(
    body: Mapping[str, Any], name: str, prefix: str = "", *, positive: bool = True
) -> Decimal | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise invalid(prefix + name, 'must be a decimal string such as "68000.50"')
    if _DECIMAL.fullmatch(raw) is None:
        raise invalid(prefix + name, f'{raw!r} is not a decimal string such as "68000.50"')
    value = Decimal(raw)
    if positive and not value > 0:
        raise invalid(prefix + name, "must be greater than zero")
    return value


def string(body: Mapping[str, Any], name: str, prefix: str = "", *, max_length: int = 256) -> str:
    value = optional_string(body, name, prefix, max_length=max_length)
    if value is None:
        raise invalid(prefix + name, "is required")
    return value


def optional_string(
    body: Mapping[str, Any], name: str, prefix: str = "", *, max_length: int = 256
) -> str | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise invalid(prefix + name, "must be a string")
    if not 0 < len(raw) <= max_length:
        raise invalid(prefix + name, f"must be 1 to {max_length} characters")
    return raw


def boolean(body: Mapping[str, Any], name: str, prefix: str = "", default: bool = False) -> bool:
    raw = body.get(name, _MISSING)
    if raw is _MISSING or raw is None:
        return default
    if not isinstance(raw, bool):
        raise invalid(prefix + name, "must be true or false")
    return raw


def choice(body: Mapping[str, Any], name: str, kind: type[E], prefix: str = "") -> E:
    value = optional_choice(body, name, kind, prefix)
    if value is None:
        raise invalid(prefix + name, "is required")
    return value


def optional_choice(
    body: Mapping[str, Any], name: str, kind: type[E], prefix: str = ""
) -> E | None:
    raw = body.get(name)
    if raw is None:
        return None
    allowed = [member.value for member in kind]
    if not isinstance(raw, str) or raw not in allowed:
        raise invalid(prefix + name, f"must be one of {', '.join(allowed)}")
    return kind(raw)


_EXACT_FLOAT = 2**53
"""Every integer up to this is a float exactly, and none beyond it is read without rounding."""


def integer(
    body: Mapping[str, Any], name: str, *, low: int, high: int, prefix: str = ""
) -> int | None:
    """An optional JSON integer within [low, high]. JSON has one kind of number, and JSON Schema
    (so /openapi.json's `integer`) counts `7.0` as the integer 7: so does this, up to 2**53,
    past which a JSON number with a fraction part no longer reads as the number written."""
    raw = body.get(name)
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer() and abs(raw) <= _EXACT_FLOAT:
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise invalid(prefix + name, "must be an integer")
    if not low <= raw <= high:
        raise invalid(prefix + name, f"must be between {low} and {high}")
    return raw


def objects(body: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """A required list of JSON objects."""
    raw = body.get(name)
    if raw is None:
        raise invalid(name, "is required")
    if not isinstance(raw, list):
        raise invalid(name, "must be a list")
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise invalid(f"{name}[{i}]", "must be a JSON object")
    return raw


def strings(body: Mapping[str, Any], name: str) -> list[str]:
    """An optional list of strings (empty when absent)."""
    raw = body.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise invalid(name, "must be a list of strings")
    return raw


# -- query strings ----------------------------------------------------------------------------


def query_int(
    query: Mapping[str, str], name: str, *, default: int | None, low: int, high: int
) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?[0-9]+", raw):
        raise invalid(name, "must be an integer")
    # More digits than either bound has is out of range, and `int()` refuses strings of over
    # 4300 digits (Python's guard against quadratic conversion): never convert those.
    digits = raw.lstrip("-").lstrip("0") or "0"
    widest = max(len(str(abs(low))), len(str(abs(high))))
    value = None if len(digits) > widest else int(digits) * (-1 if raw[0] == "-" else 1)
    if value is None or not low <= value <= high:
        raise invalid(name, f"must be between {low} and {high}")
    return value


def query_bool(query: Mapping[str, str], name: str, *, default: bool) -> bool:
    """`true` or `false`; absent (or empty) is `default`; anything else is 400 naming it."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw not in ("true", "false"):
        raise invalid(name, "must be true or false")
    return raw == "true"


def query_choice(query: Mapping[str, str], name: str, kind: type[E]) -> E | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    allowed = [member.value for member in kind]
    if raw not in allowed:
        raise invalid(name, f"must be one of {', '.join(allowed)}")
    return kind(raw)


def query_string(query: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    raw = query.get(name)
    if raw is None or raw == "":
        if required:
            raise invalid(name, "is required")
        return None
    return raw
