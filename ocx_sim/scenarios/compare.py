"""The comparison every expectation of a figure takes: `equals`, `atLeast`, `atMost`.

Its own module so that the expectations outside `model.py` (options.py) share it with those
inside; `model` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Comparison:
    """`equals`, or a bound on either side (both may be given)."""

    equals: Decimal | None = None
    at_least: Decimal | None = None
    at_most: Decimal | None = None

    def holds(self, value: Decimal) -> bool:
        return (
            (self.equals is None or value == self.equals)
            and (self.at_least is None or value >= self.at_least)
            and (self.at_most is None or value <= self.at_most)
        )

    def __str__(self) -> str:
        parts = []
        if self.equals is not None:
            parts.append(f"= {self.equals}")
        if self.at_least is not None:
            parts.append(f">= {self.at_least}")
        if self.at_most is not None:
            parts.append(f"<= {self.at_most}")
        return " and ".join(parts)
