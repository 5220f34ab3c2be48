"""Giving memory back to the operating system after a world forgets a lot (docs/fidelity.md
"Retention").

Python hands freed memory to its allocator, which keeps it for the next allocation: a server
that forgot a burst of orders would hold their pages for good. glibc's `malloc_trim` releases
every free page of its heap; it is called once a world has forgotten `TRIM_AFTER` things since
the last call, so its cost (a walk of the heap) is paid rarely. Elsewhere (another C library)
`give_back` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

TRIM_AFTER = 10_000
"""Things forgotten (orders, fills, ledger entries, events) between two trims."""


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def give_back() -> None:
    """Release the allocator's free pages to the operating system, where it can."""
    if _TRIM is not None:
        _TRIM(0)
