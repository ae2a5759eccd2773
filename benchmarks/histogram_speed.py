"""Exact-histogram time for 100M float32 and 100M bf16 values against numpy.histogram.

Prints, for each dtype: our time (range found and histogram counted, in bounded chunks),
numpy.histogram's time over the same values as float32 in memory, the ratio, and whether
the counts add up - and what torch.histc counts for the same bf16 values (it saturates).

    python benchmarks/histogram_speed.py [--n 100000000] [--bins 100]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from inspector.analysis.histogram import histogram
from inspector.formats.dtypes import DTYPES


def best_of(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000_000)
    ap.add_argument("--bins", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal(args.n, dtype=np.float32)
    bf16_raw = (f32.view(np.uint32) >> 16).astype(np.uint16)  # bf16 bit patterns
    bf16_as_f32 = (bf16_raw.astype(np.uint32) << 16).view(np.float32)

    print(f"{args.n:,} values, {args.bins} bins, best of {args.repeat}")
    for name, raw, values in (("float32", f32, f32), ("bfloat16", bf16_raw, bf16_as_f32)):
        ours_t, h = best_of(
            lambda raw=raw, name=name: histogram(raw, DTYPES[name], bins=args.bins), args.repeat
        )
        np_t, (counts, edges) = best_of(
            lambda values=values: np.histogram(values, bins=args.bins), args.repeat
        )
        same = np.array_equal(np.histogram(values, bins=h.edges)[0], h.counts)
        print(
            f"{name:9} ours {ours_t:6.2f} s   numpy.histogram {np_t:6.2f} s   "
            f"ratio numpy/ours {np_t / ours_t:5.2f}x   counts sum {int(h.counts.sum()):,} "
            f"(= n: {int(h.counts.sum()) == args.n}; equal to numpy with our edges: {same})"
        )
    try:
        import torch

        t = torch.from_numpy(bf16_raw.view(np.int16)).view(torch.bfloat16)
        lo, hi = float(bf16_as_f32.min()), float(bf16_as_f32.max())
        t0 = time.perf_counter()
        hc = torch.histc(t, bins=args.bins, min=lo, max=hi)
        tt = time.perf_counter() - t0
        print(
            f"torch.histc on the bf16 values: {tt:.2f} s, counts sum {hc.double().sum().item():,.0f} "
            f"of {args.n:,} (pytorch#96613: counts in bf16 saturate)"
        )
    except ImportError:
        pass


if __name__ == "__main__":
    main()
