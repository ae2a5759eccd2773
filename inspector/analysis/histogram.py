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
from .decode import BLOCK, CHUNK, reduce_chunks, work_dtype


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
        return {"edges": [float(e) for e in self.edges], "counts": [int(c) for c in self.counts],
                "nan": self.nan, "posinf": self.posinf, "neginf": self.neginf,
                "below": self.below, "above": self.above, "exact": self.exact}


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
        self.bins = bins = max(1, int(bins))
        self.edges = np.linspace(lo, hi, bins + 1)
        self.work = work
        # Comparisons `x < e` for float32 x are exact against e rounded up to float32.
        self.lower = np.array([_round_up(e, work) for e in self.edges], dtype=work)
        upper = self.lower[1:].copy()
        upper[-1] = np.inf  # the last bin is closed
        self.upper = upper
        self.lo_c = self.lower[0]
        self.hi_c = _round_down(self.edges[-1], work)
        self.scale = work.type(bins / (hi - lo))
        self.counts = np.zeros(bins, dtype=np.int64)
        self.nan = self.posinf = self.neginf = self.below = self.above = 0
        self.numel = 0

    def add(self, x: np.ndarray) -> None:
        """Count decoded values (callers pass cache-sized blocks, as numpy.histogram does)."""
        if x.size > BLOCK:
            for i in range(0, x.size, BLOCK):
                self.add(x[i:i + BLOCK])
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

    def result(self) -> Histogram:
        return Histogram(edges=self.edges, counts=self.counts.copy(), nan=self.nan,
                         posinf=self.posinf, neginf=self.neginf, below=self.below,
                         above=self.above, numel=self.numel)


def histogram(arr: np.ndarray, dtype: DType, bins: int = 100,
              range: tuple[float, float] | None = None, chunk: int = CHUNK) -> Histogram:
    """Exact histogram of a stored tensor view (raw dtype) in bounded memory."""
    if range is None:
        from .stats import finite_range

        range = finite_range(arr, dtype, chunk)
    lo, hi = (0.0, 1.0) if range is None else (float(range[0]), float(range[1]))
    accs = reduce_chunks(arr, dtype, lambda: HistogramAccumulator(lo, hi, bins, work_dtype(dtype)),
                         chunk)
    for other in accs[1:]:
        accs[0].merge(other)
    return accs[0].result()


def histogram_of_values(values: np.ndarray, bins: int = 100,
                        range: tuple[float, float] | None = None) -> Histogram:
    """Histogram of already-decoded numbers (e.g. a preview sample)."""
    work = np.dtype(np.float64) if values.dtype == np.float64 else np.dtype(np.float32)
    if range is None:
        fin = values[np.isfinite(values)]
        range = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 1.0)
    acc = HistogramAccumulator(range[0], range[1], bins, work)
    acc.add(values)
    return acc.result()
