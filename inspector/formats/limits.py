"""Bounds that make a hostile file end in a one-line error instead of a crash or OOM.

`Limits` holds the numbers; `memory_guard` caps the process's private heap while a
pickle is interpreted, because the C unpickler sizes its memo from an index the file
chooses (`LONG_BINPUT 0x7fffffff` asks for a 16 GB table) and would touch every page
of it before any Python code runs.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import LimitExceeded


@dataclass(frozen=True)
class Limits:
    max_pickle_bytes: int = 1 << 30  # one pickle stream (data.pkl) read into memory
    max_objects: int = 5_000_000  # objects the unpickler may create through our stand-ins
    max_storages: int = 2_000_000  # persistent ids (storage references)
    max_nodes: int = 2_000_000  # nodes in the tree we build
    max_depth: int = 500  # nesting shown; deeper levels are cut with a marker
    heap_budget: int = 4 << 30  # extra private memory allowed while unpickling
    max_record_read: int = 1 << 30  # a compressed record we would inflate into memory
    max_globals: int = 50_000  # distinct classes/functions one pickle names (real ones: < 1,000)


DEFAULT_LIMITS = Limits()

_guard_lock = threading.Lock()
_guard_depth = 0
_guard_saved = None


def _data_size() -> int | None:
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@contextmanager
def memory_guard(budget: int):
    """Cap RLIMIT_DATA at (current private data + budget) for the block (Linux only).

    Nested or concurrent guards share one cap, set by the first and lifted by the last.
    An allocation beyond it fails with MemoryError, which readers turn into a message.
    """
    global _guard_depth, _guard_saved
    if not sys.platform.startswith("linux"):
        yield
        return
    import resource

    with _guard_lock:
        if _guard_depth == 0:
            current = _data_size()
            soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
            if current is not None:
                cap = current + budget
                if hard != resource.RLIM_INFINITY:
                    cap = min(cap, hard)
                if soft == resource.RLIM_INFINITY or cap < soft:
                    try:
                        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
                        _guard_saved = (soft, hard)
                    except (ValueError, OSError):
                        _guard_saved = None
        _guard_depth += 1
    try:
        yield
    except MemoryError:
        raise LimitExceeded(
            f"the file asks for more than {budget >> 20} MB of memory while being read"
        ) from None
    finally:
        with _guard_lock:
            _guard_depth -= 1
            if _guard_depth == 0 and _guard_saved is not None:
                resource.setrlimit(resource.RLIMIT_DATA, _guard_saved)
                _guard_saved = None


_copies = threading.local()


@contextmanager
def copy_budget(elements: int):
    """While a pickle is interpreted: how many elements our stand-ins may copy in total.
    One opcode can make a recorder copy a whole memoised container (`OrderedDict(big)`
    repeated through the memo costs 5 bytes a call and K elements each time): without a
    bound a 1 MB file keeps the reader busy for hours."""
    saved = getattr(_copies, "left", None)
    _copies.left = elements
    try:
        yield
    finally:
        _copies.left = saved


def charge_copy(n: int) -> None:
    left = getattr(_copies, "left", None)
    if left is None:
        return
    left -= n
    _copies.left = left
    if left < 0:
        raise LimitExceeded(
            "the pickle makes the reader copy its data over and over "
            "(a memoised container rebuilt again and again); refused"
        )


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


_gc_freeze = False


@contextmanager
def gc_paused(freeze: bool = False):
    """No cyclic garbage collection while a file is parsed and its tree built.

    Unpickling creates tens of thousands of container objects at once; the collector
    would walk them again and again (a third of the open time of a 10,000-tensor file).
    `freeze`: what the parse built lives as long as the checkpoint it returns, so when the
    outermost pause ends well those objects are moved out of the collector's sight
    (`gc.freeze`) instead of being walked once more (a third of an 80,000-tensor
    `ckpt info`: docs/FACTS.md); `gc_release()` (Checkpoint.close) hands them back. A
    failed parse, or a pause that built nothing to keep (a verdict alone), freezes nothing:
    collection resumes and catches up."""
    import gc

    global _gc_depth, _gc_was_enabled, _gc_freeze
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            _gc_freeze = False
            gc.disable()
        _gc_depth += 1
    ok = False
    try:
        yield
        ok = True
    finally:
        with _gc_lock:
            _gc_depth -= 1
            _gc_freeze = _gc_freeze or (freeze and ok)
            if _gc_depth == 0 and _gc_was_enabled:
                if _gc_freeze and ok:
                    gc.freeze()
                gc.enable()


def gc_release() -> None:
    """Objects frozen after parses go back to the collector's oldest generation, to be
    collected with it once nothing refers to them (a closed checkpoint's tree)."""
    import gc

    with _gc_lock:
        if _gc_depth == 0:
            gc.unfreeze()
