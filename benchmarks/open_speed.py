"""Open time and peak memory: our reader against torch.load, torch.load(mmap=True) and
the floor (reading the zip directory and data.pkl alone).

Files: a ~2 GB checkpoint with 500 tensors, one with 10,000 small tensors, and the same
keys as the 2 GB file with tiny tensors (for the memory comparison). Then the training
checkpoint of benchmarks/gui_speed.py (20,000 parameters and their Adam state: 80,000
tensors): the whole `ckpt info` command in a subprocess (minus the start-up of
`python -m inspector.cli --help`) and the window's parse (`inspect(path)`, in-process:
tree, summary, training card, optimizer maps, verdict), against the C-unpickler floor on its data.pkl (a real
pickle.Unpickler pass with inert persistent_load/find_class) and against
torch.load(weights_only=True, mmap=True). Each measurement runs
in a fresh process: time is the best of several opens after one warm-up, until the
result is in hand (freeing it is not timed, for any method); memory is the rise of the
peak resident set during the first open.

    python benchmarks/open_speed.py [--dir bench-out] [--gb 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def worker(method: str, path: str, repeat: int) -> None:
    """Run in a child process: time `method` on `path`, print JSON."""
    if method == "inspect":  # what the window's loader runs (gui/loader.load)
        from inspector.analysis.inspection import inspect

        def op():
            return inspect(path)  # its checkpoint is closed after the clock stops
    elif method in ("ours", "ours + summary"):
        from inspector.analysis.summary import summarize
        from inspector.formats import open_checkpoint

        def op():
            ck = open_checkpoint(path)  # directory, data.pkl, the node tree
            if method == "ours + summary":
                summarize(ck)  # what `ckpt info` adds: counts, dtypes, devices
            return ck
    elif method == "c-unpickler floor":
        import zipfile

        with zipfile.ZipFile(path) as z:
            data = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))

        def op():
            return c_unpickle(data)
    elif method == "floor":
        import zipfile

        def op():
            with zipfile.ZipFile(path) as z:
                name = next(n for n in z.namelist() if n.endswith("data.pkl"))
                z.read(name)
    else:
        import torch

        mmap = method == "torch.load(mmap=True)"

        def op():
            return torch.load(path, weights_only=True, mmap=mmap)

    import gc

    def release(result) -> None:  # outside the clock: what each method hands back
        ck = getattr(result, "checkpoint", result)  # an Inspection holds its Checkpoint
        if hasattr(ck, "close"):
            ck.close()
        del result
        gc.collect()  # the previous repetition's garbage is not this open's work

    base = rss_kb("VmRSS")
    t0 = time.perf_counter()
    result = op()
    first = time.perf_counter() - t0
    peak = rss_kb("VmHWM") - base
    times = [first]
    for _ in range(repeat - 1):
        release(result)
        t0 = time.perf_counter()
        result = op()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"time": min(times), "peak_mb": peak / 1024}))


def c_unpickle(data: bytes):
    """The C unpickler over `data`, every global a function returning None and every
    persistent id None: the floor, what any reading of the stream costs
    (verdict_speed.py uses it too)."""
    import io
    import pickle

    def cheap(*a, **k):
        return None

    class Floor(pickle.Unpickler):
        def persistent_load(self, pid):
            return None

        def find_class(self, module, name):
            return cheap

    return Floor(io.BytesIO(data)).load()


def measure(method: str, path: str, repeat: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.path.dirname(HERE)}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", method, path, str(repeat)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def command_time(args: list[str], repeat: int) -> float:
    """Best wall time of a whole `python -m inspector.cli ...` run, after one warm-up run.
    Bytecode is cached as after an install (PYTHONDONTWRITEBYTECODE, set on some machines,
    would make every run compile the package's sources again: docs/FACTS.md)."""
    env = {**os.environ, "PYTHONPATH": os.path.dirname(HERE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    best = float("inf")
    for i in range(repeat + 1):  # run 0 writes the bytecode
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "inspector.cli", *args],
            capture_output=True,
            env=env,
            cwd=os.path.dirname(HERE),
        )
        if i:
            best = min(best, time.perf_counter() - t0)
    return best


def adam_section(d: str, repeat: int) -> None:
    sys.path.insert(0, HERE)
    from gui_speed import make

    path = os.path.join(d, "adam_20000.pt")
    if not os.path.exists(path):
        make(path, 20_000)
    print(
        f"\n20k-param Adam training checkpoint (80,000 tensors): {path} "
        f"({os.path.getsize(path) / 2**20:.1f} MiB)"
    )
    startup = command_time(["--help"], repeat)
    info = command_time(["info", path], repeat) - startup
    floor = measure("c-unpickler floor", path, repeat)["time"]
    ours = measure("inspect", path, repeat)["time"]
    mmap = measure("torch.load(mmap=True)", path, max(1, repeat // 2))["time"]
    print(f"  ckpt info (whole command, start-up {startup * 1000:.0f} ms subtracted) {info * 1000:9.1f} ms")
    print(f"  inspect(path) (the window's parse)        {ours * 1000:9.1f} ms")
    print(f"  C-unpickler floor on data.pkl             {floor * 1000:9.1f} ms")
    print(f"  torch.load(weights_only, mmap=True)       {mmap * 1000:9.1f} ms")
    print(
        f"  ckpt info / floor = {info / floor:5.2f}x   window's parse / floor = {ours / floor:5.2f}x   "
        f"torch.load(mmap) / ckpt info = {mmap / info:5.2f}x"
    )


def make_files(d: str, gb: float) -> dict[str, str]:
    import torch

    os.makedirs(d, exist_ok=True)
    files = {}
    per = int(gb * (1 << 30) / 500 / 4)
    big = os.path.join(d, f"big_500x{per}.pt")
    if not os.path.exists(big):
        torch.save({f"layer.{i}.weight": torch.randn(per) for i in range(500)}, big)
    files["2GB/500"] = big
    tiny = os.path.join(d, "tiny_500.pt")
    if not os.path.exists(tiny):
        torch.save({f"layer.{i}.weight": torch.randn(4) for i in range(500)}, tiny)
    files["tiny/500"] = tiny
    many = os.path.join(d, "many_10000.pt")
    if not os.path.exists(many):
        torch.save({f"blocks.{i // 10}.p{i % 10}": torch.randn(64) for i in range(10_000)}, many)
    files["10k"] = many
    return files


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=os.path.join(os.path.dirname(HERE), "bench-out"))
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only-adam", action="store_true", help="only the 80,000-tensor training file")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    if args.only_adam:
        adam_section(args.dir, args.repeat)
        return
    files = make_files(args.dir, args.gb)
    results: dict[tuple[str, str], dict] = {}
    for label, path in files.items():
        size = os.path.getsize(path)
        print(f"\n{label}: {path} ({size / 2**30:.2f} GiB)")
        for method in ("ours", "ours + summary", "floor", "torch.load(mmap=True)", "torch.load"):
            reps = 1 if (method == "torch.load" and label.startswith("2GB")) else args.repeat
            r = measure(method, path, reps)
            results[(label, method)] = r
            print(f"  {method:22} {r['time'] * 1000:9.1f} ms   peak +{r['peak_mb']:8.1f} MB")
    print("\nratios")
    for label in ("2GB/500", "10k"):
        ours = results[(label, "ours")]["time"]
        floor = results[(label, "floor")]["time"]
        print(
            f"  {label:8} torch.load / ours = {results[(label, 'torch.load')]['time'] / ours:7.1f}x   "
            f"torch.load(mmap) / ours = {results[(label, 'torch.load(mmap=True)')]['time'] / ours:6.1f}x   "
            f"ours / floor = {ours / floor:5.2f}x   "
            f"(ours + summary) / floor = {results[(label, 'ours + summary')]['time'] / floor:5.2f}x"
        )
    extra = results[("2GB/500", "ours")]["peak_mb"] - results[("tiny/500", "ours")]["peak_mb"]
    print(f"  memory: ours on 2 GB file minus ours on same keys with tiny tensors = {extra:+.1f} MB")
    adam_section(args.dir, args.repeat)


if __name__ == "__main__":
    main()
