"""How a histogram is binned by default, and what the plot says about a bin.

A fixed 100 bins is spiky for a 216-value tensor and a comb on int8: small tensors get
fewer bins (Rice rule, 2·n^(1/3)), large ones at most MAX_AUTO_BINS, and integer-valued
dtypes (int, uint, bool, quantized) get one bin per value, centred on it, when the range
holds at most MAX_INTEGER_BINS values. Tiny tensors are listed instead of binned.
"""

from __future__ import annotations

import math

import numpy as np

MIN_AUTO_BINS = 8
MAX_AUTO_BINS = 200
MAX_INTEGER_BINS = 512
LIST_VALUES_UP_TO = 16  # a tensor this small is shown as its values, not a histogram

INTEGER_KINDS = ("int", "uint", "bool", "quant")


def integer_valued(dtype) -> bool:
    return getattr(dtype, "kind", "") in INTEGER_KINDS


def auto_bins(numel: int, dtype, lo: float | None, hi: float | None) -> tuple[int, tuple | None]:
    """(bins, range) for a tensor of `numel` values of `dtype` between lo and hi.

    range is None when the caller should use the data's own min..max."""
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return rice_bins(numel), None
    if integer_valued(dtype):
        a, b = math.floor(lo), math.ceil(hi)
        width = b - a + 1
        if width <= MAX_INTEGER_BINS:
            return width, (a - 0.5, b + 0.5)
        # too many values for one bin each: whole-number bin widths, no comb
        step = math.ceil(width / MAX_AUTO_BINS)
        n = math.ceil(width / step)
        return n, (a - 0.5, a - 0.5 + n * step)
    return rice_bins(numel), None


def rice_bins(numel: int) -> int:
    if numel <= 0:
        return MIN_AUTO_BINS
    return int(min(MAX_AUTO_BINS, max(MIN_AUTO_BINS, math.ceil(2 * numel ** (1 / 3)))))


def bin_at(hist, x: float) -> int | None:
    """Index of the bin holding x, or None outside the histogram."""
    edges = np.asarray(hist.edges, dtype=np.float64)
    if len(edges) < 2 or not (edges[0] <= x <= edges[-1]):
        return None
    return int(min(len(edges) - 2, max(0, np.searchsorted(edges, x, side="right") - 1)))


def bin_readout(hist, x: float, integer: bool = False) -> str | None:
    """'[-0.0124, -0.0112): 1,234 values (2.35%)' for the bin under the mouse."""
    i = bin_at(hist, x)
    if i is None:
        return None
    lo, hi = float(hist.edges[i]), float(hist.edges[i + 1])
    n = int(hist.counts[i])
    total = int(np.sum(hist.counts))
    pct = 100.0 * n / total if total else 0.0
    if integer and hi - lo == 1.0 and (lo + 0.5).is_integer():
        where = f"value {int(lo + 0.5)}"
    else:
        close = "]" if i == len(hist.counts) - 1 else ")"
        where = f"[{lo:.4g}, {hi:.4g}{close}"
    return f"{where}: {n:,} value{'s' if n != 1 else ''} ({pct:.3g}% of {total:,})"
