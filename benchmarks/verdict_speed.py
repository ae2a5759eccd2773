"""Verdict speed: `scan_file` on a 20,000-tensor training checkpoint, against
`torch.load(weights_only=True, mmap=True)` (the baseline: the cheapest real load) and
against walking `data.pkl` with `pickletools.genops` (a static scan), in the same run;
and the verdict as `ckpt info` runs it, after the reader (its unpickler reports and zip
directory reused), against the C unpickler's own pass over `data.pkl`.

    python benchmarks/verdict_speed.py [--tensors 20000]
"""

from __future__ import annotations

import argparse
import os
import pickletools
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from open_speed import c_unpickle  # noqa: E402 (the floor, measured the same way)


def best(fn, n=3) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    import torch

    from inspector.analysis.verdict import scan_file
    from inspector.formats import open_checkpoint
    from inspector.formats.limits import gc_paused

    ap = argparse.ArgumentParser()
    ap.add_argument("--tensors", type=int, default=20000)
    n = ap.parse_args().tensors
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "train.pt")
        sd = {f"blocks.{i // 10}.layer{i % 10}.weight": torch.randn(16) for i in range(n)}
        opt = {
            "state": {i: {"step": torch.tensor(1.0), "exp_avg": torch.randn(16)} for i in range(n)},
            "param_groups": [{"lr": 1e-3, "params": list(range(n))}],
        }
        torch.save({"model": sd, "optimizer": opt}, path)
        data = zipfile.ZipFile(path).read("train/data.pkl")
        t_scan = best(lambda: scan_file(path))
        t_load = best(lambda: torch.load(path, weights_only=True, mmap=True))
        t_ops = best(lambda: sum(1 for _ in pickletools.genops(data)))
        with gc_paused():
            ck = open_checkpoint(path)
            c = ck.container
            t_info = best(lambda: scan_file(ck.path, c.reports, c.zipdir))
            t_floor = best(lambda: c_unpickle(data))
            ck.close()
    print(f"{n:,} tensors + optimizer state ({n * 3:,} tensors in all)")
    print(f"scan_file (C trace of every stream):     {t_scan * 1000:8.1f} ms")
    print(f"torch.load(weights_only=True, mmap=True): {t_load * 1000:8.1f} ms   ratio {t_scan / t_load:.2f}x")
    print(f"pickletools.genops over data.pkl:        {t_ops * 1000:8.1f} ms   ratio {t_scan / t_ops:.2f}x")
    print(f"scan_file after the reader (ckpt info):  {t_info * 1000:8.1f} ms")
    print(
        f"C unpickler over data.pkl (the floor):   {t_floor * 1000:8.1f} ms   ratio {t_info / t_floor:.2f}x"
    )


if __name__ == "__main__":
    main()
