"""`ckpt scan -r` over a store: wall time and peak memory, children included.

Runs, in one session and on the same files:
  baseline   `ckpt scan FILE...` - the one-process scan, every file as an argument
  -r -j N    `ckpt scan -r STORE --jobs N --jsonl` for N = 1, 2 and the CPU count
and prints for each: wall seconds, items, verdict counts, the peak resident memory of the
whole process tree (sampled every 10 ms from /proc: the parent plus its workers at the
same moment) and the largest single process (getrusage RUSAGE_CHILDREN), and the speed
ratio against the baseline.

    python benchmarks/scan_store.py [--store ../shared/corpus] [--copies K] [--hostile]

--copies K judges K copies of the store (copied to a temporary folder, not linked: the
scan judges a file reached twice only once); --hostile adds the generated hostile
structures of tests/hostile_files.py (bombs, quadratic tar and zip, pipes, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(argv: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(
            [sys.executable, "-m", "inspector.cli", *argv], stdout=out, stderr=err, cwd=ROOT, env=env
        )
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(p.pid))
                time.sleep(0.01)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        _, status, usage = os.wait4(p.pid, 0)  # ru_maxrss: the largest of it and its workers
        took = time.perf_counter() - t0
        done.set()
        t.join()
        out.seek(0)
        err.seek(0)
        return {
            "rc": os.waitstatus_to_exitcode(status),
            "seconds": took,
            "out": out.read().decode(),
            "err": err.read().decode(),
            "tree_peak": peak[0],
            "largest_process": usage.ru_maxrss * 1024,
        }


def build_store(src: str, copies: int, hostile: bool) -> str:
    if copies <= 1 and not hostile:
        return src
    dst = tempfile.mkdtemp(prefix="scan-store-")
    for i in range(max(1, copies)):
        shutil.copytree(src, os.path.join(dst, f"copy{i}"), symlinks=True)
    if hostile:
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        import hostile_files as H

        for name, build in H.BUILDERS.items():
            if name in ("nonexistent",):
                continue
            folder = os.path.join(dst, "hostile", name)
            os.makedirs(folder)
            from pathlib import Path

            build(Path(folder))
    return dst


def files_of(store: str) -> list[str]:
    out = []
    for folder, dirs, files in os.walk(store):
        dirs.sort()
        out += [os.path.join(folder, f) for f in sorted(files) if os.path.isfile(os.path.join(folder, f))]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--hostile", action="store_true")
    args = ap.parse_args()
    if not os.path.isdir(args.store):
        sys.exit(f"no store at {args.store} (the shared corpus lies beside the checkout)")
    store = build_store(args.store, args.copies, args.hostile)
    files = files_of(store)
    size = sum(os.path.getsize(f) for f in files)
    cpus = os.cpu_count() or 1
    print(f"store {store}: {len(files):,} files, {size / 1e6:.1f} MB; {cpus} CPUs")
    runs = [("baseline: ckpt scan FILE... (one process)", ["scan", *files])]
    for jobs in sorted({1, 2, cpus}):
        runs.append(
            (f"ckpt scan -r --jobs {jobs} --jsonl", ["scan", "-r", store, "--jobs", str(jobs), "--jsonl"])
        )
    base = None
    for label, argv in runs:
        r = measure(argv)
        if "-r" in argv:
            summary = json.loads(r["err"].strip().splitlines()[-1])["summary"]
            items, verdicts = summary["items"], summary["verdicts"]
        else:  # one "FILE: verdict (...)" line per file, in argument order
            verdicts: dict = {}
            known = set(files)
            items = 0
            for line in r["out"].splitlines():
                head, sep, rest = line.partition(": ")
                if sep and head in known:
                    items += 1
                    verdicts[rest.split()[0]] = verdicts.get(rest.split()[0], 0) + 1
        base = base or r["seconds"]
        largest = f"{r['largest_process'] / 2**20:.0f} MB"
        print(
            f"{label:44} {r['seconds']:7.2f} s  x{base / r['seconds']:5.2f}  items {items:,}  "
            f"tree peak {r['tree_peak'] / 2**20:6.0f} MB  largest process {largest}  exit {r['rc']}"
        )
        print(f"{'':44} {dict(sorted(verdicts.items()))}")
    if store != args.store:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
