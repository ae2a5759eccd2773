"""Exact histograms in bounded memory.

`torch.histc`/`torch.histogram` count in the input's dtype and stop counting at 512 for
bf16 (pytorch#96613). Here every chunk is decoded to float32 (float64 for 64-bit
sources), binned with integer arithmetic, and counts are summed as int64. Bin `i` holds
the values `x` with `edges[i] <= x < edges[i+1]`, the last bin closed, exactly as
`numpy.histogram(x, bins=edges)` defines it: comparisons against the float64 edges are
made exact in float32 by rounding each edge up to the nearest float32. NaN, +Inf, -Inf
and values outside a chosen range are counted apart, so that
`counts.sum() + nan + posinf + neginf + below + above == numel` always.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..formats.dtypes import DType
from .decode import BLOCK, CHUNK, broadcast_parts, reduce_chunks, work_dtype


@dataclass
class Histogram:
    edges: np.ndarray
    counts: np.ndarray
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    below: int = 0
    above: int = 0
    numel: int = 0
    exact: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def inf(self) -> int:
        return self.posinf + self.neginf

    def to_json(self) -> dict:
        return {
            "edges": [float(e) for e in self.edges],
            "counts": [int(c) for c in self.counts],
            "nan": self.nan,
            "posinf": self.posinf,
            "neginf": self.neginf,
            "below": self.below,
            "above": self.above,
            "exact": self.exact,
        }


def _round_up(e: float, dt: np.dtype):
    f = dt.type(e)
    if float(f) < e:
        f = np.nextafter(f, dt.type(np.inf))
    return f


def _round_down(e: float, dt: np.dtype):
    f = dt.type(e)
    if float(f) > e:
        f = np.nextafter(f, dt.type(-np.inf))
    return f


class HistogramAccumulator:
    """Feed decoded chunks; read `.result()`. Equal-width bins over [lo, hi]."""

    def __init__(self, lo: float, hi: float, bins: int, work: np.dtype):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError("histogram range must be finite")
        if hi < lo:
            lo, hi = hi, lo
        if lo == hi:  # numpy's convention for a constant input
            lo, hi = lo - 0.5, hi + 0.5
        if lo == hi:  # |lo| > 2**53: 0.5 vanishes; widen relatively
            lo, hi = lo - abs(lo) * 2.0**-20, hi + abs(hi) * 2.0**-20
        self.bins = bins = max(1, int(bins))
        if np.isfinite(hi - lo):
            self.edges = np.linspace(lo, hi, bins + 1)
        else:  # a range wider than the largest float (-1e308 .. 1e308): edges without overflow
            t = np.arange(bins + 1) / bins
            self.edges = lo * (1 - t) + hi * t
        self.work = work
        # Comparisons `x < e` for float32 x are exact against e rounded up to float32.
        self.lower = np.array([_round_up(e, work) for e in self.edges], dtype=work)
        upper = self.lower[1:].copy()
        upper[-1] = np.inf  # the last bin is closed
        self.upper = upper
        self.lo_c = self.lower[0]
        self.hi_c = _round_down(self.edges[-1], work)
        with np.errstate(over="ignore"):
            self.scale = work.type((bins / 2) / (hi / 2 - lo / 2))
        # bins narrower than the dtype resolves (a range of a few subnormals): the estimate
        # below cannot be made; binary search over the edges instead
        self.search = not np.isfinite(self.scale)
        # x - lo overflows when the range spans more than the largest float: halve both
        with np.errstate(over="ignore"):
            self.wide = not np.isfinite(work.type(hi) - work.type(lo))
        self.counts = np.zeros(bins, dtype=np.int64)
        self.nan = self.posinf = self.neginf = self.below = self.above = 0
        self.numel = 0

    def add(self, x: np.ndarray) -> None:
        """Count decoded values (callers pass cache-sized blocks, as numpy.histogram does)."""
        if x.size > BLOCK:
            for i in range(0, x.size, BLOCK):
                self.add(x[i : i + BLOCK])
            return
        if x.dtype != self.work:
            x = x.astype(self.work)
        self.numel += x.size
        keep = x >= self.lo_c
        keep &= x <= self.hi_c
        if not keep.all():
            rest = x[~keep]
            n_nan = int(np.count_nonzero(np.isnan(rest)))
            self.nan += n_nan
            self.posinf += int(np.count_nonzero(rest == np.inf))
            self.neginf += int(np.count_nonzero(rest == -np.inf))
            fin = rest[np.isfinite(rest)]
            self.below += int(np.count_nonzero(fin < self.lo_c))
            self.above += int(np.count_nonzero(fin > self.hi_c))
            x = x[keep]
        if x.size == 0:
            return
        if self.search:
            idx = np.searchsorted(self.lower, x, side="right").astype(np.intp) - 1
        elif self.wide:
            idx = ((x * 0.5 - self.lo_c * 0.5) * (self.scale * 2)).astype(np.intp)
        else:
            idx = ((x - self.lo_c) * self.scale).astype(np.intp)
        np.minimum(idx, self.bins - 1, out=idx)
        np.maximum(idx, 0, out=idx)
        idx -= x < self.lower[idx]
        idx += x >= self.upper[idx]
        self.counts += np.bincount(idx, minlength=self.bins)

    def merge(self, other: HistogramAccumulator) -> None:
        self.counts += other.counts
        for k in ("nan", "posinf", "neginf", "below", "above", "numel"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def repeat(self, times: int) -> None:
        """As if every value counted so far had been counted `times` times."""
        self.counts *= times
        for k in ("nan", "posinf", "neginf", "below", "above", "numel"):
            setattr(self, k, getattr(self, k) * times)

    def result(self) -> Histogram:
        return Histogram(
            edges=self.edges,
            counts=self.counts.copy(),
            nan=self.nan,
            posinf=self.posinf,
            neginf=self.neginf,
            below=self.below,
            above=self.above,
            numel=self.numel,
        )


def histogram(
    arr: np.ndarray,
    dtype: DType,
    bins: int = 100,
    range: tuple[float, float] | None = None,
    chunk: int = CHUNK,
) -> Histogram:
    """Exact histogram of a stored tensor view (raw dtype) in bounded memory."""
    if range is None:
        from .stats import finite_range

        range = finite_range(arr, dtype, chunk)
    lo, hi = (0.0, 1.0) if range is None else (float(range[0]), float(range[1]))
    arr, repeat = broadcast_parts(arr)  # a stride-0 dimension: count stored values x repeat
    accs = reduce_chunks(arr, dtype, lambda: HistogramAccumulator(lo, hi, bins, work_dtype(dtype)), chunk)
    for other in accs[1:]:
        accs[0].merge(other)
    if repeat > 1:
        accs[0].repeat(repeat)
    return accs[0].result()


def histogram_of_values(
    values: np.ndarray, bins: int = 100, range: tuple[float, float] | None = None
) -> Histogram:
    """Histogram of already-decoded numbers (e.g. a preview sample)."""
    work = np.dtype(np.float64) if values.dtype == np.float64 else np.dtype(np.float32)
    if range is None:
        fin = values[np.isfinite(values)]
        range = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 1.0)
    acc = HistogramAccumulator(range[0], range[1], bins, work)
    acc.add(values)
    return acc.result()
