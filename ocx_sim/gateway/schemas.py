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
USDC_AMOUNT: Schema = {
    "type": "string",
    "pattern": r"^(0*[1-9][0-9]{0,14}(\.[0-9]{1,6}0*)?|0+\.[0-9]{0,5}[1-9]0*)$",
}
"""A USDC amount that must be greater than zero, as engine/core/money.py `usdc_amount` takes
one: a positive decimal below 1e15 (15 digits before the point, leading zeros aside) with at
most 6 decimal places (zeros past the sixth change nothing, so they are taken)."""
USDC_BALANCE: Schema = {
    "type": "string",
    "pattern": r"^(0*[0-9]{1,15}(\.[0-9]{1,6}0*)?|-0+(\.0+)?)$",
}
"""A USDC amount that may be zero (`usdc_amount(..., zero_ok=True)`): as `USDC_AMOUNT`, or a
zero, which the wire's decimal lets carry a minus sign (`-0` is zero)."""
ADDRESS: Schema = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}
"""A wallet address as engine/core/accounts.py `checksum_address` takes one: `0x` and 20 bytes of
hex in either case, the EIP-55 checksum not checked."""


def not_null(*names: str) -> Schema:
    """`names` are present and not null: the parsers read a null field as an absent one
    (gateway/parse.py), so a rule that needs a field needs it non-null."""
    return {
        "required": list(names),
        "properties": {name: {"not": {"type": "null"}} for name in names},
    }


def at_least_one_of(*names: str) -> Schema:
    """One of `names` or more, not null: a modify's new price and/or quantity."""
    return {"anyOf": [not_null(name) for name in names]}


def exactly_one_of(*names: str) -> Schema:
    """Exactly one of `names`, not null (the others absent or null): a scenario's `name` or
    its `yaml`."""
    return {"oneOf": [not_null(name) for name in names]}


def requires_price_unless(field: str, value: str) -> Schema:
    """`price` is required unless `field` is `value` (present): a limit order needs its price,
    a market order names its worst price only where a market has no price band."""
    return {
        "if": {"properties": {field: {"const": value}}, "required": [field]},
        "else": not_null("price"),
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
