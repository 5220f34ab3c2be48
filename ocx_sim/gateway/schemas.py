"""Building blocks of JSON Schemas for `/openapi.json`: decimals, instants, objects, refs.

Objects list all their fields as required but those named optional, with `null` allowed where the
wire sends null (docs/fidelity.md "Wire conventions": every field is always present); extra
properties are allowed, as OCX may add fields.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

DECIMAL: Schema = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
INSTANT: Schema = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"}
ULID: Schema = {"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{26}$"}
POSITIVE_DECIMAL: Schema = {
    "type": "string",
    "pattern": r"^([0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*)$",
}
"""A request's decimal that must be greater than zero, as gateway/parse.py reads one: ASCII
digits, no sign, not all zeros (docs/fidelity.md "Wire conventions", "HTTP": digits are ASCII)."""


def requires_price_unless(field: str, value: str) -> Schema:
    """`price` is required unless `field` is `value` (present): a limit order needs its price,
    a market order names its worst price only where a market has no price band."""
    return {
        "if": {"properties": {field: {"const": value}}, "required": [field]},
        "else": {"required": ["price"]},
    }


def text(max_length: int = 256) -> Schema:
    """A request's string as gateway/parse.py reads one: 1 to `max_length` characters (256
    unless the field says otherwise)."""
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """An object whose properties are all required but `optional` ones; extra properties are
    allowed (OCX may add fields)."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}
