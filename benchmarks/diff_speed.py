"""`ckpt diff` against the script people write, and on the 138 GB skeleton pair.

1. Two ~1 GB float32 checkpoints (64 tensors of 4M values) that differ in one layer:
   `ckpt diff` (in a fresh process) against a plain script that `torch.load`s both and
   compares every tensor with `torch.equal`, then norms of the ones that differ. Both
   run with the files in the page cache (each is run once first, untimed), then three
   times each, interleaved; the best wall time and its CPU time are reported (a shared
   machine's load only ever adds time).
2. Two copies of the Llama-2-70B skeleton (benchmarks/make_skeleton.py: 138 GB apparent,
   sparse): time, bytes actually read, and peak memory (VmHWM of the process).

Targets (issue 15): faster than the script; peak memory <= 300 MB whatever the size.

    python benchmarks/diff_speed.py [--out /tmp/diff-bench] [--skip-skeleton]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Peak memory is VmHWM of the process itself: ru_maxrss survives exec, so a child started
# from this (large) process would report the parent's peak.
PEAK = r"""
def peak():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""

BASELINE = (
    PEAK
    + r"""
import sys, time, torch
t0 = time.perf_counter()
a = torch.load(sys.argv[1], weights_only=True, mmap=False)
b = torch.load(sys.argv[2], weights_only=True, mmap=False)
changed = {}
for k in a:
    if k in b and not torch.equal(a[k], b[k]):
        x, y = a[k].double(), b[k].double()
        changed[k] = ((x - y).norm() / x.norm()).item()
dt = time.perf_counter() - t0
import os
print(dt, peak(), len(changed), sum(os.times()[:2]))
"""
)

OURS = (
    PEAK
    + r"""
import json, sys, time
sys.argv = ["ckpt", "diff", sys.argv[1], sys.argv[2], "--json"]
import io, contextlib
from inspector.cli import main
t0 = time.perf_counter()
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = main(sys.argv[1:])
dt = time.perf_counter() - t0
out = json.loads(buf.getvalue())
import os
print(dt, peak(), out["counts"]["changed"], out["bytes_read"], code, sum(os.times()[:2]))
"""
)


def run(code: str, *args) -> list[str]:
    r = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT, "PYTHONWARNINGS": "ignore"},
    )
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    return r.stdout.split()


def mb(n) -> str:
    return f"{int(n) / 2**20:,.0f} MB"


def one_gb_pair(out: str) -> None:
    import torch

    a, b = os.path.join(out, "a.pt"), os.path.join(out, "b.pt")
    torch.manual_seed(0)
    sd = {f"layers.{i}.weight": torch.randn(2048, 2048) for i in range(64)}
    torch.save(sd, a)
    sd["layers.40.weight"] = sd["layers.40.weight"] + 1e-3 * torch.randn(2048, 2048)
    torch.save(sd, b)
    del sd
    size = os.path.getsize(a)
    print(f"pair: 2 x {size / 1e9:.2f} GB, 64 float32 tensors, one layer differs")
    run(BASELINE, a, b)  # warm the page cache
    run(OURS, a, b)
    bases, ourss = [], []
    for _ in range(3):
        bases.append(run(BASELINE, a, b))
        ourss.append(run(OURS, a, b))
    base = min(bases, key=lambda r: float(r[0]))
    ours = min(ourss, key=lambda r: float(r[0]))
    tb, to = float(base[0]), float(ours[0])
    print(
        f"  torch.load + torch.equal/norm script: {tb:6.2f} s (cpu {float(base[3]):.2f} s), "
        f"peak {mb(base[1])}, {base[2]} changed"
    )
    print(
        f"  ckpt diff:                           {to:6.2f} s (cpu {float(ours[5]):.2f} s), "
        f"peak {mb(ours[1])}, {ours[2]} changed, read {int(ours[3]) / 1e9:.2f} GB"
    )
    print(f"  ckpt diff is {tb / to:.1f}x faster, using {int(base[1]) / int(ours[1]):.1f}x less memory")
    os.remove(a)
    os.remove(b)


def skeleton_pair(out: str) -> None:
    sys.path.insert(0, HERE)
    from make_skeleton import write_skeleton

    a, b = os.path.join(out, "sk_a.pt"), os.path.join(out, "sk_b.pt")
    write_skeleton(a)
    write_skeleton(b)
    size = os.path.getsize(a)
    disk = os.stat(a).st_blocks * 512
    print(f"skeleton pair: 2 x {size / 1e9:.1f} GB apparent, {disk / 1e6:.1f} MB on disk each")
    ours = run(OURS, a, b)
    print(
        f"  ckpt diff: {float(ours[0]):.2f} s, peak {mb(ours[1])}, {ours[2]} changed, "
        f"read {int(ours[3]) / 1e6:.1f} MB of {2 * size / 1e9:.0f} GB, exit {ours[4]}"
    )
    os.remove(a)
    os.remove(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/diff-bench")
    ap.add_argument("--skip-skeleton", action="store_true")
    ap.add_argument("--skip-pair", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    try:
        if not args.skip_pair:
            one_gb_pair(args.out)
        if not args.skip_skeleton:
            skeleton_pair(args.out)
    finally:
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
