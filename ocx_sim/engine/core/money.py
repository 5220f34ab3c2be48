"""USDC amounts: kept to 6 decimal places, half-even, never a float (docs/fidelity.md "Wire
conventions").

USDC has 6 decimals on chain, so every balance, fee and PnL is quantized to 0.000001 once, where it
is computed; sums of quantized amounts stay exact.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from ocx_sim.errors import invalid

USDC = "USDC"
USDC_QUANTUM = Decimal("0.000001")
MAX_INTEGER_DIGITS = 15
"""Prices, sizes and USDC amounts of 10^15 or more are refused where they come in: far beyond
any market or balance, and it keeps every conversion exact within Decimal's 28 significant
digits (`quantize` to 6 dp raises beyond them)."""
ZERO = Decimal(0)
BPS = Decimal(10_000)


def usdc(amount: Decimal) -> Decimal:
    """Round to the USDC quantum, half-even."""
    return amount.quantize(USDC_QUANTUM, rounding=ROUND_HALF_EVEN)


def usdc_amount(amount: Decimal, field_name: str, *, zero_ok: bool = False) -> Decimal:
    """An incoming USDC amount as it is, or 400 naming the field: finite, positive (or zero
    when `zero_ok`), below 1e15, at most 6 decimal places."""
    if not amount.is_finite():
        raise invalid(field_name, "must be a finite decimal number")
    if amount < 0 or (amount == 0 and not zero_ok):
        raise invalid(
            field_name, "must not be negative" if zero_ok else "must be greater than zero"
        )
    if amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise invalid(field_name, f"must be below 1e{MAX_INTEGER_DIGITS}")
    if usdc(amount) != amount:
        raise invalid(field_name, "USDC amounts have at most 6 decimal places")
    return amount


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
