"""`ckpt scan -r DIR [--jobs N] [--jsonl]`: audit a whole model store in parallel.

The tree is walked lazily (files, and distributed-checkpoint folders as one item; a file
reached twice through symbolic links is judged once), and every item is judged by its
verdict-only inspection (`inspect(path, need=VERDICT)`: no tree built) in a pool of worker
processes. Each worker judges one item at a time under a memory cap (RLIMIT_AS) and a
per-item time limit: a worker that runs
out of time is killed, one that dies is replaced, and the item gets an `unreadable` line
saying why - the run goes on. Lines stream as items finish (`--jsonl`: one JSON object
per line, the summary on stderr, so that the output of several machines concatenates);
the summary counts items per verdict and gives the time. Exit 1 when anything is
dangerous or unverified, 2 only when the run itself could not be made (a path that does not exist).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time
from collections import Counter
from multiprocessing.connection import wait

DEFAULT_TIMEOUT = 300.0
DEFAULT_MEMORY_MB = 4096


def add_arguments(s) -> None:
    """The options `scan` gains (registered in cli.build_parser)."""
    s.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="walk folders: every file, distributed-checkpoint folders as one item",
    )
    s.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=0,
        metavar="N",
        help="worker processes (default: the number of CPUs)",
    )
    s.add_argument(
        "--jsonl",
        action="store_true",
        help="one JSON object per item on stdout as each finishes; summary on stderr",
    )
    s.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per item; a worker over it is stopped (default {DEFAULT_TIMEOUT:g})",
    )
    s.add_argument(
        "--memory-limit",
        type=int,
        default=DEFAULT_MEMORY_MB,
        metavar="MB",
        help=f"address space of each worker (default {DEFAULT_MEMORY_MB})",
    )


# -- what to judge ------------------------------------------------------------------------


def is_dcp_folder(names) -> bool:
    return ".metadata" in names and any(n.endswith(".distcp") for n in names)


def items(paths: list[str], recursive: bool):
    """(path, None) to judge, or (path, reason) for an argument that cannot be walked."""
    seen: set[tuple[int, int]] = set()

    def once(path: str) -> bool:
        try:
            st = os.stat(path)
        except OSError:
            return True  # broken link, vanished: let the judge say so
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return False
        seen.add(key)
        return True

    for top in paths:
        if not os.path.lexists(top):
            yield top, f"no such file or folder: {top}"
            continue
        if not os.path.isdir(top) or is_dcp_folder(_listdir(top)) or not recursive:
            if once(top):
                yield top, None
            continue
        for folder, dirs, files in os.walk(top, followlinks=False, onerror=None):
            dirs.sort()
            if is_dcp_folder(files):
                dirs[:] = []  # the folder is one checkpoint
                if once(folder):
                    yield folder, None
                continue
            keep = []
            for d in dirs:  # a linked folder is not walked into (it may lead anywhere, or loop)
                full = os.path.join(folder, d)
                if os.path.islink(full):
                    continue
                if is_dcp_folder(_listdir(full)):
                    if once(full):
                        yield full, None
                else:
                    keep.append(d)
            dirs[:] = keep
            for f in sorted(files):
                full = os.path.join(folder, f)
                if once(full):
                    yield full, None


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


# -- the workers --------------------------------------------------------------------------


def judge(path: str) -> dict:
    """One item's verdict as a JSON-ready dict (runs in a worker)."""
    from .analysis.inspection import VERDICT, inspect

    t0 = time.perf_counter()
    try:
        out = inspect(path, need=VERDICT).verdict.to_json()  # the verdict alone: no tree built
    except MemoryError:
        out = {
            "verdict": "unreadable",
            "globals": [],
            "flags": [],
            "streams": 0,
            "error": "judging it needs more memory than the worker's limit",
        }
    except Exception as exc:  # a bug of ours: still one line, and never "safe"
        out = {
            "verdict": "unreadable",
            "globals": [],
            "flags": [],
            "streams": 0,
            "error": f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}",
        }
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _worker(conn, memory_mb: int) -> None:
    if memory_mb and sys.platform.startswith("linux"):
        import resource

        cap = memory_mb << 20
        try:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        except (ValueError, OSError):
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl+C
    try:
        fd = os.open(os.devnull, os.O_WRONLY)  # CPython may print while freeing hostile
        os.dup2(fd, 2)  # objects; the command's stderr is the parent's
    except OSError:
        pass
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(judge(task))


class _Slot:
    def __init__(self, ctx, memory_mb: int):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, memory_mb), daemon=True)
        self.proc.start()
        child.close()
        self.path: str | None = None
        self.started = 0.0

    def give(self, path: str) -> None:
        self.path, self.started = path, time.monotonic()
        self.conn.send(path)

    def stop(self) -> None:
        try:
            self.proc.kill()
        except (OSError, AttributeError):
            pass
        self.proc.join(5)
        self.conn.close()


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run_pool(paths, jobs: int, timeout: float, memory_mb: int, emit) -> None:
    """Judge every path with `jobs` workers; call emit(path, result) as each finishes."""
    ctx = _context()
    pending = iter(paths)
    slots: list[_Slot] = []
    todo = True

    def feed(slot: _Slot) -> bool:
        for path in pending:
            slot.give(path)
            return True
        return False

    try:
        for _ in range(max(1, jobs)):
            slot = _Slot(ctx, memory_mb)
            slots.append(slot)
            if not feed(slot):
                todo = False
                break
        while any(s.path is not None for s in slots):
            busy = [s for s in slots if s.path is not None]
            now = time.monotonic()
            wait_for = max(0.01, min(s.started + timeout - now for s in busy))
            ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], wait_for)
            for i, s in enumerate(slots):
                if s.path is None:
                    continue
                result = _outcome(s, ready, timeout, memory_mb)
                if result is None:
                    continue
                path, s.path = s.path, None
                if result.get("seconds") is None:
                    result["seconds"] = round(time.monotonic() - s.started, 3)
                emit(path, result)
                if not s.proc.is_alive() or result.get("_restart"):
                    s.stop()
                    s = slots[i] = _Slot(ctx, memory_mb)
                if todo and not feed(s):
                    todo = False
    finally:
        for s in slots:
            if s.proc.is_alive():
                try:
                    s.conn.send(None)
                except (OSError, ValueError):
                    pass
            s.proc.join(1)
            if s.proc.is_alive():
                s.stop()


def _outcome(s: _Slot, ready, timeout: float, memory_mb: int) -> dict | None:
    """A busy worker's result: what it sent, or a failure when it died or ran out of time;
    None while it is still judging."""
    result = None
    if s.conn in ready:
        try:
            result = s.conn.recv()
        except (EOFError, OSError):
            result = None
    if result is None and (s.proc.sentinel in ready or not s.proc.is_alive()):
        s.proc.join(5)  # collect its exit status
        code = s.proc.exitcode
        why = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
        result = _failed(
            f"the worker judging it died ({why}); it may need more than {memory_mb:,} MB or crash the reader"
        )
    elif result is None and time.monotonic() - s.started > timeout:
        result = _failed(f"judging it took longer than {timeout:g} s; the worker was stopped")
    return result


def _failed(why: str) -> dict:
    return {
        "verdict": "unreadable",
        "globals": [],
        "flags": [],
        "streams": 0,
        "error": why,
        "seconds": None,
        "_restart": True,
    }


# -- the command --------------------------------------------------------------------------


def run(args) -> int:
    t0 = time.perf_counter()
    jobs = args.jobs or os.cpu_count() or 1
    counts: Counter = Counter()
    bad_args: list[str] = []
    out = sys.stdout
    tty = sys.stderr.isatty() and not args.jsonl

    def walk():
        for path, problem in items(args.files, args.recursive):
            if problem:
                bad_args.append(problem)
                print(f"ckpt: {problem}", file=sys.stderr)
            else:
                yield path

    def emit(path: str, result: dict) -> None:
        result.pop("_restart", None)
        counts[result["verdict"]] += 1
        if args.jsonl:
            out.write(json.dumps({"file": path, **result}) + "\n")
        else:
            line = f"{path}: {result['verdict']}"
            if result["verdict"] in ("dangerous", "needs-code", "unverified"):
                line += "  " + _reasons(result)
            elif result.get("error"):
                line += f" ({result['error']})"
            if tty:
                sys.stderr.write("\r\x1b[K")
            out.write(line + "\n")
            if tty:
                sys.stderr.write(f"{sum(counts.values()):,} judged…")
                sys.stderr.flush()
        out.flush()

    run_pool(walk(), jobs, args.timeout, args.memory_limit, emit)
    took = time.perf_counter() - t0
    total = sum(counts.values())
    summary = {
        "summary": {
            "items": total,
            "verdicts": dict(sorted(counts.items())),
            "seconds": round(took, 2),
            "jobs": jobs,
            "missing_arguments": bad_args,
        }
    }
    if tty:
        sys.stderr.write("\r\x1b[K")
    if args.jsonl:
        print(json.dumps(summary), file=sys.stderr)
    else:
        per = ", ".join(f"{n:,} {v}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        print(f"{total:,} items judged in {took:.1f} s with {jobs} workers" + (f": {per}" if per else ""))
    if counts.get("dangerous") or counts.get("unverified"):
        return 1  # as for single files: dangerous, or nothing we can vouch for
    return 2 if bad_args else 0


def _reasons(result: dict) -> str:
    bad = [
        f"{g['module']}.{g['name']}"
        for g in result.get("globals", [])
        if g.get("category") in ("dangerous", "needs-code")
    ]
    bits = list(dict.fromkeys(bad))[:4] + result.get("flags", [])[:2]
    return "; ".join(bits)[:300]
