"""USDC amounts: kept to 6 decimal places, half-even, never a float (DECISIONS.md "Wire details").

USDC-T has 6 decimals on chain (SPEC.md §2), so every balance, fee and PnL is quantized to
0.000001 once, where it is computed; sums of quantized amounts stay exact.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

USDC = "USDC"
USDC_QUANTUM = Decimal("0.000001")
MAX_AMOUNT = Decimal(10) ** 15
"""USDC amounts of 10^15 or more are refused where they come in: beyond any balance, and it keeps
quantizing to 6 dp within Decimal's 28 significant digits (`quantize` raises beyond them)."""
ZERO = Decimal(0)
BPS = Decimal(10_000)


def usdc(amount: Decimal) -> Decimal:
    """Round to the USDC quantum, half-even."""
    return amount.quantize(USDC_QUANTUM, rounding=ROUND_HALF_EVEN)


def format_usdc(amount: Decimal) -> str:
    """At least 2 dp, trailing zeros past the second dropped: `17.0525`, `1000.00`, `-0.50`."""
    text = f"{usdc(amount):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    if len(frac) < 2:
        frac = frac.ljust(2, "0")
    if whole == "-0" and frac.strip("0") == "":
        whole = "0"
    return f"{whole}.{frac}"


def bps_of(amount: Decimal, bps: Decimal) -> Decimal:
    """`bps` basis points of `amount`, quantized to USDC."""
    return usdc(amount * bps / BPS)
