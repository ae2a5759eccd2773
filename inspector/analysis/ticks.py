"""Axis tick labels a person reads without a hidden multiplier.

Values are written in the tensor's own units: plain decimals with as many digits as the
tick spacing needs while they stay short, scientific notation (`-2e-04`) for very small
or very large numbers. Counts are whole numbers with SI suffixes (`12k`, `3.4M`), and a
log-scale count axis puts its ticks on powers of ten.
"""

from __future__ import annotations

import math


def value_ticks(values, spacing: float) -> list[str]:
    """Labels for ticks `values` spaced `spacing` apart."""
    if not values:
        return []
    spacing = abs(spacing) or max(abs(v) for v in values) or 1.0
    biggest = max(abs(v) for v in values)
    if biggest >= 1e5 or (biggest and spacing < 1e-3):
        digits = max(0, int(math.floor(math.log10(biggest or 1))) - int(math.floor(math.log10(spacing))))
        digits = min(digits, 6)
        return [("0" if abs(v) < spacing * 1e-6 else f"{v:.{digits}e}") for v in values]
    decimals = max(0, -int(math.floor(math.log10(spacing) + 1e-9)))
    if not float(f"{spacing:.{decimals}f}") == round(spacing, 12):
        decimals += 1  # spacing such as 0.25 or 2.5
    out = []
    for v in values:
        s = f"{v:.{decimals}f}"
        if s.startswith("-") and float(s) == 0:
            s = s[1:]
        out.append(s)
    return out


def count_text(n: float) -> str:
    """12 -> '12', 12000 -> '12k', 3400000 -> '3.4M' (whole counts only)."""
    n = float(n)
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            v = n / div
            return (f"{v:.0f}" if v >= 100 or float(v).is_integer() else f"{v:.3g}") + unit
    return f"{int(round(n)):d}"


def integer_spacing(spacing: float) -> float:
    """A count axis never ticks between whole numbers: round the spacing up to 1, 2, 5 × 10^k."""
    if spacing <= 1:
        return 1.0
    k = 10 ** math.floor(math.log10(spacing))
    for m in (1, 2, 5, 10):
        if m * k >= spacing - 1e-9:
            return float(m * k)
    return float(10 * k)


def log_count_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks of a log10 count axis between log10 values lo and hi: (position, label),
    at the powers of ten (1, 10, 100, 1k, ...)."""
    first, last = max(0, math.ceil(lo - 1e-9)), math.floor(hi + 1e-9)
    return [(float(k), count_text(10**k)) for k in range(int(first), int(last) + 1)]
