"""Per-tensor statistics in one bounded-memory pass.

min/max/mean/std/L2 norm are over the finite values (NaN and Inf are counted apart, so a
single NaN does not hide the rest); std is the population standard deviation. Chunks are
combined with Chan's parallel update, so precision does not depend on the tensor's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..formats.dtypes import DType
from .decode import CHUNK, broadcast_parts, reduce_chunks


@dataclass
class TensorStats:
    numel: int = 0
    finite: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    l2: float | None = None
    zeros: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0

    @property
    def inf(self) -> int:
        return self.posinf + self.neginf

    def to_json(self) -> dict:
        return {
            "numel": self.numel,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "l2_norm": self.l2,
            "zeros": self.zeros,
            "nan": self.nan,
            "inf": self.inf,
            "posinf": self.posinf,
            "neginf": self.neginf,
        }


class StatsAccumulator:
    def __init__(self):
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.lo = math.inf
        self.hi = -math.inf
        self.zeros = self.nan = self.posinf = self.neginf = self.numel = 0

    def add(self, x: np.ndarray) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # huge magnitudes: no warning lines
            self._add(x)

    def _add(self, x: np.ndarray) -> None:
        self.numel += x.size
        if x.size == 0:
            return
        lo, hi = x.min(), x.max()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            nan = np.isnan(x)
            self.nan += int(np.count_nonzero(nan))
            self.posinf += int(np.count_nonzero(x == np.inf))
            self.neginf += int(np.count_nonzero(x == -np.inf))
            x = x[np.isfinite(x)]
            if x.size == 0:
                return
            lo, hi = x.min(), x.max()
        n = x.size
        self.zeros += n - int(np.count_nonzero(x))
        self.lo = min(self.lo, float(lo))
        self.hi = max(self.hi, float(hi))
        m = float(x.sum(dtype=np.float64)) / n
        if not math.isfinite(m):  # the sum overflows (values near the float64 maximum)
            m = float((x / n).sum(dtype=np.float64))
        d = x - x.dtype.type(m)
        m2 = float(np.dot(d, d))
        if not math.isfinite(m2):  # float32 overflow for huge magnitudes
            d64 = x.astype(np.float64) - m
            m2 = float(np.dot(d64, d64))
        total = self.n + n
        delta = m - self.mean
        self.mean += delta * (n / total)
        self.m2 += m2 + delta * (delta * (self.n * n / total))  # (0 when first: never inf * 0)
        self.n = total

    def merge(self, other: StatsAccumulator) -> None:
        if other.n:
            total = self.n + other.n
            delta = other.mean - self.mean
            self.mean += delta * (other.n / total)
            self.m2 += other.m2 + delta * (delta * (self.n * other.n / total))
            self.n = total
            self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)
        for k in ("zeros", "nan", "posinf", "neginf", "numel"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def repeat(self, times: int) -> None:
        """As if every value added so far had been added `times` times: the mean, min, max
        and (population) std stay, the counts, the sum of squared deviations and so the
        squared L2 norm scale."""
        self.n *= times
        self.m2 *= times
        for k in ("zeros", "nan", "posinf", "neginf", "numel"):
            setattr(self, k, getattr(self, k) * times)

    def result(self) -> TensorStats:
        s = TensorStats(
            numel=self.numel,
            finite=self.n,
            zeros=self.zeros,
            nan=self.nan,
            posinf=self.posinf,
            neginf=self.neginf,
        )
        if self.n:
            s.min, s.max, s.mean = self.lo, self.hi, self.mean
            s.std = math.sqrt(max(self.m2, 0.0) / self.n)
            # sum of squares = n (std^2 + mean^2); hypot keeps 1e300-sized values finite
            s.l2 = math.sqrt(self.n) * math.hypot(s.std, self.mean)
        return s


def tensor_stats(arr: np.ndarray, dtype: DType, chunk: int = CHUNK) -> TensorStats:
    arr, repeat = broadcast_parts(arr)
    accs = reduce_chunks(arr, dtype, StatsAccumulator, chunk)
    for other in accs[1:]:
        accs[0].merge(other)
    if repeat > 1:
        accs[0].repeat(repeat)
    return accs[0].result()


class RangeAccumulator:
    def __init__(self):
        self.lo, self.hi = math.inf, -math.inf

    def add(self, x: np.ndarray) -> None:
        if x.size == 0:
            return
        a, b = x.min(), x.max()
        if not (np.isfinite(a) and np.isfinite(b)):
            x = x[np.isfinite(x)]
            if x.size == 0:
                return
            a, b = x.min(), x.max()
        self.lo, self.hi = min(self.lo, float(a)), max(self.hi, float(b))


def finite_range(arr: np.ndarray, dtype: DType, chunk: int = CHUNK) -> tuple[float, float] | None:
    arr, _ = broadcast_parts(arr)
    accs = reduce_chunks(arr, dtype, RangeAccumulator, chunk)
    lo, hi = min(a.lo for a in accs), max(a.hi for a in accs)
    return (lo, hi) if lo <= hi else None
