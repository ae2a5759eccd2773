"""What the Compare view shows for one tensor pair: the statistics of each, both
histograms over one common range (so they overlay on one axis), and the histogram of
A - B. Bounded memory: every pass reads both tensors chunk by chunk (tensor_diff.pieces,
sparse holes not read), so a tensor of any size costs a few chunks; `meter.cancelled`
stops it at the next chunk (the window cancels it when another tensor is selected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..formats.checkpoint import Checkpoint
from .decode import BLOCK, CHUNK, decode, work_dtype
from .histogram import Histogram, HistogramAccumulator
from .stats import RangeAccumulator, StatsAccumulator, TensorStats
from .tensor_diff import aligned, pieces


@dataclass
class PairDetail:
    stats_a: TensorStats
    stats_b: TensorStats
    hist_a: Histogram
    hist_b: Histogram
    hist_diff: Histogram | None  # None when shapes differ


def _blocks(pa, pb, dta, dtb, raw_a, raw_b, meter=None):
    """Decoded float64 blocks (a, b) of equal length, in C order."""
    for a, b in aligned(pieces(pa, CHUNK, meter), pieces(pb, CHUNK, meter)):
        a = np.zeros(a, raw_a) if isinstance(a, int) else a
        b = np.zeros(b, raw_b) if isinstance(b, int) else b
        for i in range(0, a.size, BLOCK):
            yield (
                decode(a[i : i + BLOCK], dta).astype(np.float64),
                decode(b[i : i + BLOCK], dtb).astype(np.float64),
            )


def _feed(ck: Checkpoint, t, acc, meter) -> None:
    """Every element of `t`, decoded, into `acc` (holes as zeros, never read)."""
    work = work_dtype(t.dtype)
    for p in pieces(ck.source(t), CHUNK, meter):
        if isinstance(p, int):  # a hole: p zeros
            z = np.zeros(min(p, BLOCK), work)
            for i in range(0, p, BLOCK):
                acc.add(z[: min(BLOCK, p - i)])
            continue
        for i in range(0, p.size, BLOCK):
            acc.add(decode(p[i : i + BLOCK], t.dtype))


def _stats(ck: Checkpoint, t, meter) -> TensorStats:
    acc = StatsAccumulator()
    _feed(ck, t, acc, meter)
    return acc.result()


def _hist(ck: Checkpoint, t, lo: float, hi: float, bins: int, meter) -> Histogram:
    acc = HistogramAccumulator(lo, hi, bins, work_dtype(t.dtype))
    _feed(ck, t, acc, meter)
    return acc.result()


def pair_detail(a: Checkpoint, b: Checkpoint, node_a, node_b, bins: int = 100, meter=None) -> PairDetail:
    ta, tb = node_a.value, node_b.value
    sa, sb = _stats(a, ta, meter), _stats(b, tb, meter)
    los = [s.min for s in (sa, sb) if s.min is not None]
    his = [s.max for s in (sa, sb) if s.max is not None]
    lo, hi = (min(los), max(his)) if los else (0.0, 1.0)
    ha, hb = _hist(a, ta, lo, hi, bins, meter), _hist(b, tb, lo, hi, bins, meter)
    hd = None
    if tuple(ta.shape) == tuple(tb.shape):
        raw_a, raw_b = ta.dtype.numpy_raw(a.byteorder), tb.dtype.numpy_raw(b.byteorder)
        rng = RangeAccumulator()
        for x, y in _blocks(a.source(ta), b.source(tb), ta.dtype, tb.dtype, raw_a, raw_b, meter):
            rng.add(x - y)
        dlo, dhi = (rng.lo, rng.hi) if rng.lo <= rng.hi else (0.0, 0.0)
        if not (math.isfinite(dlo) and math.isfinite(dhi)):
            dlo, dhi = 0.0, 0.0
        acc = HistogramAccumulator(dlo, dhi, bins, np.dtype(np.float64))
        for x, y in _blocks(a.source(ta), b.source(tb), ta.dtype, tb.dtype, raw_a, raw_b, meter):
            acc.add(x - y)
        hd = acc.result()
    return PairDetail(sa, sb, ha, hb, hd)
