"""A 138 GB Llama-70B-shaped checkpoint on a 24 GB machine.

Prints: `ckpt info --json` wall time beyond interpreter start-up and peak memory;
`ckpt stats` of model.layers.79.mlp.down_proj.weight (235M bf16 values) time and peak
memory against numpy.histogram over the same number of float32 values in memory; what
torch.load(mmap=True) and plain torch.load do with the file (plain torch.load runs under
a 16 GB address-space cap so that it fails instead of exhausting the machine); and how
long the desktop window takes to show the tree.

    python benchmarks/make_skeleton.py -o bench-out/llama70b.pt --safetensors-shards bench-out/llama70b-safetensors
    python benchmarks/scale_speed.py bench-out/llama70b.pt
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

KEY = "model.layers.79.mlp.down_proj.weight"
PY = sys.executable


def run(cmd: list[str], limit_as: int | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, result) of a child process, optionally under an address-space cap."""

    def cap():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))

    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=cap if limit_as else None)
    return time.perf_counter() - t0, r


def peak_of(r: subprocess.CompletedProcess) -> float:
    for line in r.stderr.splitlines():
        if line.startswith("PEAK_KB"):
            return int(line.split()[1]) / 1024
    return 0.0


REPORT_PEAK = (
    "\nhwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "import sys as _s; _s.stderr.write(f'\\nPEAK_KB {hwm}\\n')\n"
)


def measured(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a module as `python -m` would, then report the child's own peak (VmHWM)."""
    code = (
        "import runpy, sys\nsys.argv = sys.argv[1:]\n"
        "try:\n    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
        "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n" + REPORT_PEAK + "sys.exit(code)\n"
    )
    wall, r = run([PY, "-c", code, *cmd])
    return wall, peak_of(r), r


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "bench-out/llama70b.pt"
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: run benchmarks/make_skeleton.py first")
    st = os.stat(path)
    print(f"{path}: {st.st_size:,} bytes apparent, {st.st_blocks * 512:,} on disk")

    startup = min(run([PY, "-c", "pass"])[0] for _ in range(3))
    infos = [measured(["inspector.cli", "info", "--json", path]) for _ in range(3)]
    wall, peak, r = min(infos, key=lambda x: x[0])
    info = json.loads(r.stdout)
    print(
        f"ckpt info --json: {wall:.3f} s wall, {wall - startup:.3f} s beyond interpreter start-up "
        f"({startup:.3f} s), peak {peak:.0f} MB, tensor_count {info['tensor_count']}, "
        f"numel_total {info['numel_total']:,}"
    )

    wall, peak, r = measured(["inspector.cli", "stats", "--json", "--bins", "100", path, KEY])
    stats = json.loads(r.stdout)
    counts = sum(stats["histogram"]["counts"]) + stats["nan"] + stats["inf"]
    print(
        f"ckpt stats {KEY}: {wall:.2f} s wall, peak {peak:.0f} MB, numel {stats['numel']:,}, "
        f"histogram counts + nan + inf = {counts:,} (equal: {counts == stats['numel']})"
    )

    import numpy as np

    n = stats["numel"]
    values = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    t0 = time.perf_counter()
    np.histogram(values, bins=100)
    np_t = time.perf_counter() - t0
    del values
    print(
        f"numpy.histogram over {n:,} float32 values in memory: {np_t:.2f} s; "
        f"ckpt stats (whole command, start-up included) / numpy = {wall / np_t:.2f}x"
    )

    code = (
        "import torch, sys\ntry:\n    torch.load(sys.argv[1], weights_only=True, mmap=True); print('loaded')\n"
        "except Exception as e:\n    print(f'{type(e).__name__}: {e}'.splitlines()[0], file=sys.stderr)\n"
    )
    wall, peak, r = measured_code(code, path)
    print(f"torch.load(mmap=True): {describe(r)} after {wall:.2f} s, peak {peak:.0f} MB")
    code = (
        "import torch, sys\ntry:\n    torch.load(sys.argv[1], weights_only=True); print('loaded')\n"
        "except Exception as e:\n    print(f'{type(e).__name__}: {e}'.splitlines()[0], file=sys.stderr)\n"
    )
    wall, peak, r = measured_code(code, path, limit_as=16 << 30)
    print(f"torch.load (16 GB address-space cap): {describe(r)} after {wall:.2f} s, peak {peak:.0f} MB")

    code = (
        "import sys, time, os; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from inspector.gui.main_window import MainWindow\n"
        "app = QApplication([]); w = MainWindow(synchronous=True); w.show()\n"
        "t0 = time.perf_counter(); w.open_paths([sys.argv[1]]); app.processEvents()\n"
        "t1 = time.perf_counter(); w.select_path('" + KEY + "'); app.processEvents()\n"
        "t2 = time.perf_counter()\n"
        "print(f'{t1 - t0:.3f} {t2 - t1:.3f} {len(w.model.files()[0].ck.tensors)}')\n"
    )
    wall, peak, r = measured_code(code, path, env={"CHECKPOINT_INSPECTOR_SETTINGS": "/tmp/ci-bench-settings"})
    if r.returncode == 0:
        shown, stats_t, count = r.stdout.split()[-3:]
        print(
            f"GUI: tree of {count} tensors shown {float(shown):.3f} s after the open started; "
            f"selecting {KEY} with exact statistics {float(stats_t):.2f} s; process peak {peak:.0f} MB"
        )
    else:
        print("GUI: failed:", r.stderr.strip().splitlines()[-1:])
    index = os.path.join(os.path.dirname(path), "llama70b-safetensors", "model.safetensors.index.json")
    if os.path.exists(index):
        wall, peak, r = measured(["inspector.cli", "info", "--json", index])
        info = json.loads(r.stdout)
        print(
            f"ckpt info on the 2-shard safetensors set: {wall:.3f} s wall, peak {peak:.0f} MB, "
            f"tensor_count {info['tensor_count']}"
        )


def measured_code(code: str, path: str, limit_as: int | None = None, env: dict | None = None):
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        wall, r = run([PY, "-c", code + REPORT_PEAK, path], limit_as)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return wall, peak_of(r), r


def describe(r: subprocess.CompletedProcess) -> str:
    if r.returncode == 0 and "loaded" in r.stdout:
        return "loaded"
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("PEAK_KB")]
    last = lines[-1] if lines else f"exit {r.returncode}"
    return "error: " + last[:160]


if __name__ == "__main__":
    main()
