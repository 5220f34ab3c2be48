"""Durations as text: the one grammar scenario files (`at: +5m`, `over`, `every`, `refresh`,
`meta.duration`) and the testing handle's `ocx.clock.advance("5m")` both read.

Grammar (docs/scenarios.md, "How time works"): one or more parts, each a number and a unit,
optionally separated by spaces:

    part   = number unit
    number = digits [ "." digits ]          (no sign, no exponent)
    unit   = "w" | "d" | "h" | "m" | "s" | "ms"

- units largest first, each at most once: `1h30m`, `1h 30m`, `2d`, `90s`, `250ms`, `1.5s`,
  `1w2d`; not `30m1h`, `5m5m`, `5M`, `5`, `-5m`, `1e3s`, ` 5m`;
- the total is exact (fractions, never a float or a rounded Decimal) and must be a whole
  number of milliseconds: `1.5s` is 1500, `1.5ms` is refused;
- at most `MAX_LENGTH` characters (no duration needs more, and it bounds the integers read);
- zero (`0s`) is a duration; whether zero, or a century, is allowed is the reader's business.

Each refusal is a `DurationError` (a `ValueError`) whose message quotes the text and says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

UNIT_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
"""Milliseconds per unit, largest first: the order the parts of a duration are written in."""
MAX_LENGTH = 64
EXAMPLES = "90s, 5m, 1h30m or 250ms"

# One optional group per unit, in UNIT_MS order, each followed by any spaces; `ms` comes after
# `s`, so in `5ms` the regex backtracks from `5m` to the `ms` group.
_GRAMMAR = re.compile("".join(rf"(?:([0-9]+(?:\.[0-9]+)?){unit} *)?" for unit in UNIT_MS))


class DurationError(ValueError):
    """A text that is not a duration: `text` as given, `malformed` when it breaks the grammar
    (rather than naming a fraction of a millisecond)."""

    def __init__(self, text: str, why: str, *, malformed: bool) -> None:
        super().__init__(f"{text!r} {why}")
        self.text = text
        self.malformed = malformed


def parse_duration(text: str) -> int:
    """Whole milliseconds from a duration such as `5m`, `1h30m` or `1.5s` (grammar above)."""
    if len(text) > MAX_LENGTH:
        raise DurationError(
            text[:MAX_LENGTH] + "…", f"is longer than {MAX_LENGTH} characters", malformed=True
        )
    match = _GRAMMAR.fullmatch(text)
    # The pattern's groups are all optional and each may trail spaces: the empty text and a
    # trailing space would match it, so they are refused here.
    if match is None or not text or text.endswith(" "):
        raise DurationError(text, f"is not a duration such as {EXAMPLES}", malformed=True)
    total = sum(
        (
            Fraction(number) * unit_ms
            for number, unit_ms in zip(match.groups(), UNIT_MS.values(), strict=True)
            if number is not None
        ),
        Fraction(0),
    )
    if total.denominator != 1:
        raise DurationError(text, "is not a whole number of milliseconds", malformed=False)
    return int(total)


@dataclass(frozen=True, slots=True)
class At:
    """When a step runs: `ms` after the instant the scenario was loaded (`relative`), or at
    the absolute instant `ms` (unix ms)."""

    ms: int
    relative: bool

    def resolve(self, origin_ms: int) -> int:
        return origin_ms + self.ms if self.relative else self.ms
