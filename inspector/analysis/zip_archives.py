"""Zip archives: every member a loader could read, judged as that loader would read it.

torch.save zips, TorchScript, torch.export `.pt2`, torch.package, `.npz` and
Stable-Baselines3 zips all arrive here; the archive's kind decides which loader reads a
member, and a member's *content* decides what it is (a nested zip, a pickle, an `.npy`),
never its name alone. Structural tricks (data around the archive, names that escape,
local names that disagree with the directory, CRC mismatches) are red flags.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..formats.errors import LimitExceeded
from ..formats.safe_io import ReadBudget, scan_budget
from ..formats.zipdir import Window, words_at
from .evidence import CallRow, StreamReport
from .zip_members import Entry, ZipView
from .zip_rows import Rows, classes

MAX_INMEMORY = 256 << 20  # nested members read into memory; larger ones are streamed
MAX_TEXT = 64 << 20

_NAME_BYTES = np.zeros(256, np.uint8)
_NAME_BYTES[[ord("/"), ord("."), ord(":")]] = [1, 2, 4]
_WORD_ZIP = int.from_bytes(b"PK\x03\x04", "little")
_WORD_NPY = (int.from_bytes(b"\x93NUM", "little"), int.from_bytes(b"UMPY", "little"))
_PICKLE_HEADS = tuple(bytes([0x80, p]) for p in range(2, 6))
_RECORDS = {
    "version",
    "byteorder",
    ".format_version",
    ".storage_alignment",
    "serialization_id",
    ".data/version",
    ".data/serialization_id",
    "data/serialization_id",
}
# Globals whose calls the tracer would only count (no arguments to show, nothing nested):
# when the reader's own unpickler already read the stream completely and named only
# these, the stream's judgment is known without a second pass.
_FAST = {
    ("torch._utils", n)
    for n in (
        "_rebuild_tensor",
        "_rebuild_tensor_v2",
        "_rebuild_tensor_v3",
        "_rebuild_parameter",
        "_rebuild_parameter_with_state",
        "_rebuild_qtensor",
        "_rebuild_meta_tensor_no_storage",
    )
} | {
    ("collections", "OrderedDict"),
    ("torch", "Size"),
    ("torch", "device"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "dict"),
}


def _fast_ok(module: str, name: str) -> bool:
    from ..formats import dtypes

    if (module, name) in _FAST:
        return True
    if module in ("torch", "torch.cuda") and name in dtypes.STORAGE_CLASSES:
        return True
    return module == "torch" and dtypes.lookup(name) is not None


class Kinds(NamedTuple):
    """What the member names say the archive is (which loader reads its pickles)."""

    torchscript: bool
    pt2: bool
    package: bool
    sb3: bool
    torch_like: bool


def _kinds(view: ZipView) -> Kinds:
    """From all names at once: with every name followed by a newline and none holding
    one, each test below is exactly the per-name test it stands for (`x\\n` in the
    text: a name ends with x; `\\nx\\n`: a name is x)."""
    if view.rows is not None:
        t = "\n" + view.rows.name_text()
    else:
        t = "\n" + "".join(e.name.lower() + "\n" for e in view.entries)
    if t.count("\n") != len(view) + 1:  # a name holds a newline: ask each name
        low = [e.name.lower() for e in view.entries]
        return Kinds(
            any(n.endswith("constants.pkl") or "/code/" in f"/{n}" for n in low),
            any("serialized_exported_program" in n or n.endswith("archive_format") for n in low),
            any(n.endswith(".data/extern_modules") for n in low),
            any(n == "policy.pth" for n in low) and any(n == "data" for n in low),
            any(n.endswith(".pkl") for n in low),
        )
    return Kinds(
        "constants.pkl\n" in t or "/code/" in t or "\ncode/" in t,
        "serialized_exported_program" in t or "archive_format\n" in t,
        ".data/extern_modules\n" in t,
        "\npolicy.pth\n" in t and "\ndata\n" in t,
        ".pkl\n" in t,
    )


class _Ctx(NamedTuple):
    scan: object
    view: ZipView
    fh: object
    size: int
    where: str
    label: Callable[[str], str]
    depth: int
    kinds: Kinds
    loader: str
    reports: dict
    budget: ReadBudget
    judged: set


def scan_zip(scan, fh, size: int, where: str, depth: int, torch_load: bool) -> None:
    # the reader's directory of this very file (checked against the bytes by ZipView)
    zipdir = getattr(scan, "reader_zipdir", None) if depth == 0 and not where else None
    view = ZipView(fh, size, zipdir)
    label = (lambda n: f"{where} › {n}") if where else (lambda n: n)
    if not len(view):
        if torch_load:
            scan.refused.append(f"{where or 'the archive'}: no zip member can be read")
        return
    first = view.first_offset()
    if first > 0:  # torch.load reads such a file as a pickle (judged as one, separately)
        scan.unvouched.append(f"{first} bytes of data before the archive")
    if size > view.directory_end:  # a signature or padding, unless a loader could run it
        _after_end(scan, fh, size, view.directory_end, label, depth)
    scan.unvouched.extend(view.notes)  # duplicate names: every one is judged; readers differ
    kinds = _kinds(view)
    loader = (
        "torch.jit.load"
        if kinds.torchscript
        else "torch.package"
        if kinds.package
        else "torch.export.load"
        if kinds.pt2
        else "torch.load"
    )
    reports = getattr(scan, "reader_reports", None) or {}
    ctx = _Ctx(scan, view, fh, size, where, label, depth, kinds, loader, reports, scan_budget(size), set())
    for i in _to_visit(view, ctx.budget, size):
        if not _member(ctx, view.entry(i)):
            break


def _to_visit(view: ZipView, budget: ReadBudget, size: int) -> list[int] | range:
    """The entries `_member` must see, in order. Rows `plain_rows` proves it would leave
    alone are skipped, their reads charged at once: allowed only when every entry's
    charge together fits the budget (so no single charge could have failed, in any
    order) and no two entries share a record (so none is skipped as judged already)."""
    everything = range(len(view))
    rows = view.rows
    if rows is None:
        return everything
    plain = plain_rows(rows, size)
    if plain is None:
        return everything
    c = rows.cols
    charge = c.csize + np.minimum(c.usize, MAX_INMEMORY)
    if int(charge.sum()) > budget.read_left:
        return everything
    budget.charge(int(charge[plain].sum()), "the archive's tensor records")
    return np.flatnonzero(~plain).tolist()


def plain_rows(rows: Rows, size: int) -> np.ndarray | None:
    """Rows `_member` provably leaves alone but for charging the budget: a stored
    (method 0), unflagged (no 0x1 encryption, no 0x60) member whose local header is where
    the directory says and names it alike, whose data lies inside the file; whose name has
    a folder, no '.', no ':', no leading '/' (so it escapes nothing and is no .pkl, .py,
    .json, `data` or `.format_version`-style record) and does not end in n/r/d (the
    records `version`, `byteorder`, `serialization_id`); whose first bytes are no zip,
    .npy or binary pickle, nor a text pickle (`(`, `c`, `]`, `}` with a newline within
    its first 64 bytes, checked exactly). None: two rows share a record (the loop judges
    a record once) or a size is beyond 2**40 (sums below stay exact in int64)."""
    c = rows.cols
    if (c.csize >= 1 << 40).any() or (c.usize >= 1 << 40).any():
        return None
    if not (np.diff(c.offset) > 0).all() and len(np.unique(c.offset)) != len(rows):
        return None
    ok = rows.name_ok & (rows.start >= 0) & (rows.start + c.csize <= size)
    ok &= ((c.flags & 0x61) == 0) & (c.method == 0)
    last = rows.names[rows.first + c.nlen - 1]
    ok &= classes(rows, _NAME_BYTES) == 1  # a '/', no '.', no ':'
    ok &= (rows.names[rows.first] != ord("/")) & ~np.isin(last, list(b"nNrRdD"))
    # the first six bytes as two words (bytes 0-3, bytes 2-5); a member starting in the
    # file's last 8 bytes is looked at one by one instead
    near_end = rows.start > size - 8
    at = np.where(near_end, 0, np.maximum(rows.start, 0))
    w0, w1 = words_at(rows.buf, at), words_at(rows.buf, at + 2)
    b0, b1 = w0 & 0xFF, (w0 >> 8) & 0xFF
    ok &= ~near_end & ~((c.csize >= 4) & (w0 == _WORD_ZIP))
    ok &= ~((c.csize >= 6) & (w0 == _WORD_NPY[0]) & (w1 == _WORD_NPY[1]))
    ok &= ~((c.csize >= 2) & (b0 == 0x80) & (b1 >= 2) & (b1 <= 5))
    text = ok & (c.csize >= 1) & np.isin(b0, list(b"(c]}"))
    for i in np.flatnonzero(text).tolist():  # a newline within the first 64 bytes: looked at
        s0 = int(rows.start[i])
        if 0x0A in rows.buf[s0 : s0 + min(64, int(c.csize[i]))]:
            ok[i] = False
    return ok


def _after_end(scan, fh, size: int, end: int, label, depth: int) -> None:
    fh.seek(end)
    tail = fh.read(min(size - end, 64 << 20))
    before = len(scan.reports)
    scan.pickle(
        tail,
        label(f"{size - end} bytes after the archive's end"),
        "pickle.load",
        depth + 1,
        reached=False,
        optional=True,
    )
    if any(r.category == "dangerous" for rep in scan.reports[before:] for r in rep.rows):
        scan.flags.append(
            f"{size - end} bytes after the archive's end hold a pickle that makes dangerous calls"
        )


def _member(ctx: _Ctx, e: Entry) -> bool:
    """One member judged as its loader reads it; False: stop (the read budget is spent)."""
    scan, view, name, n = ctx.scan, ctx.view, e.name, e.name.lower()
    at = ctx.label(name)
    _name_and_flags(ctx, e, n, at)
    try:
        start, local = view.data_start(e)
    except ValueError as exc:
        scan.flags.append(str(exc))
        return True
    if local != name.encode("utf-8") and local != name.encode("cp437", "replace"):
        scan.unvouched.append(f"local header name {local!r:.40} differs from the directory name {name!r:.40}")
    rel = name.split("/", 1)[1] if "/" in name else name
    if rel.lower() in _RECORDS and e.file_size < 4096:
        return True
    is_pkl = n.endswith(".pkl") or n.endswith(".debug_pkl")
    record = (e.header_offset, e.compress_size, e.method, is_pkl)
    if record in ctx.judged:  # many directory entries naming one record: read and judged once
        return True
    ctx.judged.add(record)
    try:  # overlapping records (a zip bomb by overlap) cannot multiply the work
        ctx.budget.charge(e.compress_size + min(e.file_size, MAX_INMEMORY), at)
    except LimitExceeded as exc:
        scan.unvouched.append(str(exc))
        return False
    try:
        head = view.head(e, 64, start)
    except ValueError as exc:  # no loader can read it either; a pickle we cannot see
        if is_pkl:
            scan.unvouched.append(f"{at}: {exc}")
        return True
    if is_pkl:
        _pickle_member(ctx, e, at)
    elif not _code_member(ctx, e, n, at):
        _content_member(ctx, e, n, at, start, head)
    return True


def _name_and_flags(ctx: _Ctx, e: Entry, n: str, at: str) -> None:
    scan, name = ctx.scan, e.name
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or ":" in parts[0]:
        scan.unvouched.append(f"member name {name!r} escapes the archive folder")
    if e.flags & 0x1:  # miniz ignores the flag and reads the bytes: judged as they are
        if ctx.kinds.torch_like or n.endswith((".pkl", ".pt", ".pth", ".bin")):
            scan.unvouched.append(
                f"member {name} is marked encrypted (its content may not be "
                "what a reader with the password sees)"
            )
        elif ctx.view.all_flagged(0x1) and ctx.depth == 0 and not ctx.where:
            from ..formats.errors import CheckpointError

            raise CheckpointError("it is a password-protected zip archive, not a PyTorch checkpoint")
        else:
            scan.unvouched.append(f"{at}: encrypted, its content cannot be checked")
    if e.flags & 0x60:
        scan.unvouched.append(f"member {name} uses unusual zip flags 0x{e.flags:x}")


def _pickle_member(ctx: _Ctx, e: Entry, at: str) -> None:
    """A `.pkl` member: the reader's clean run when it vouches for it, else a C trace."""
    scan, view, name = ctx.scan, ctx.view, e.name
    # no notes: no name repeats (a repeated name with two records is a note), so the
    # reader's report is about this very member
    fast = ctx.reports.get(name) if ctx.depth == 0 and not view.notes else None
    if (
        fast is not None
        and fast.end == e.file_size
        and fast.globals
        and all(_fast_ok(m, x) for m, x in fast.globals)
    ):
        rows = [
            CallRow(
                at,
                "call" if (m, x) in fast.called or m == "torch._utils" else "reference",
                f"{m}.{x}",
                "data",
                "data-construction allowlist",
                c,
            )
            for (m, x), c in fast.globals.items()
        ]
        scan.reports.append(StreamReport(at, ctx.loader, True, rows, imports=list(fast.globals)))
        return
    if e.file_size <= MAX_INMEMORY and e.compress_size <= MAX_INMEMORY:
        data = view.read(e, MAX_INMEMORY + 1)
        if zlib.crc32(data) != e.crc:
            scan.unvouched.append(f"member {name} fails its CRC-32 check (altered after writing)")
        scan.pickle(data, at, ctx.loader, ctx.depth)
    else:
        scan.pickle(view.open_member(e), at, ctx.loader, ctx.depth)


def _code_member(ctx: _Ctx, e: Entry, n: str, at: str) -> bool:
    """Source the loader runs (TorchScript, torch.package), read as text; False: not code."""
    k = ctx.kinds
    if not (n.endswith(".py") and (k.package or k.torchscript or "/code/" in f"/{n}")):
        return False
    if e.file_size <= MAX_TEXT:
        text = ctx.view.read(e, MAX_TEXT).decode("utf-8", "replace")
        ctx.scan.code(text, at, "torch.package" if k.package else "torch.jit.load", k.package)
    else:
        ctx.scan.unvouched.append(f"{at}: code over {MAX_TEXT >> 20} MiB, not read")
    return True


def _content_member(ctx: _Ctx, e: Entry, n: str, at: str, start: int, head: bytes) -> None:
    """Any other member: what its first bytes say it is (a nested zip, an .npy, a pickle
    a loader may reach, JSON with serialized objects), never its name alone."""
    scan, view, depth, k = ctx.scan, ctx.view, ctx.depth, ctx.kinds
    small = e.file_size <= MAX_INMEMORY and e.compress_size <= MAX_INMEMORY
    if head[:4] == b"PK\x03\x04":
        if e.method == 0:
            scan.zip(Window(ctx.fh, start, e.compress_size), e.compress_size, at, depth + 1)
        elif small:
            scan.blob(view.read(e, MAX_INMEMORY), at, "torch.load", depth + 1)
        else:
            scan.unvouched.append(f"{at}: a compressed nested archive over {MAX_INMEMORY >> 20} MiB")
        return
    if head[:6] == b"\x93NUMPY":
        if small:
            scan.npy(view.read(e, MAX_INMEMORY), at, depth)
        else:
            scan.unvouched.append(f"{at}: an .npy member over {MAX_INMEMORY >> 20} MiB")
        return
    reached = k.pt2 or k.sb3 or (n.endswith((".pth", ".pt", ".bin", ".ckpt")) and not k.torch_like)
    if head.startswith(_PICKLE_HEADS) or head[:1] in (b"(", b"c", b"]", b"}") and b"\n" in head:
        _hidden_pickle(ctx, e, at, reached, small)
        return
    if (
        (n.endswith(".json") or n == "data" or "/" not in n and e.file_size < MAX_TEXT)
        and e.file_size <= MAX_TEXT
        and head.lstrip()[:1] in (b"{", b"[")
    ):
        text = view.read(e, MAX_TEXT).decode("utf-8", "replace")
        if ":serialized:" in text:
            scan.serialized_json(text, at, depth)
        if k.pt2 and '"target"' in text:
            from .code_text import judge_export_graph

            rep = judge_export_graph(text, at)
            if rep is not None:
                scan.reports.append(rep)


def _hidden_pickle(ctx: _Ctx, e: Entry, at: str, reached: bool, small: bool) -> None:
    """A member whose bytes start like a pickle: traced; when no loader unpickles it, a
    dangerous one is a red flag (it was hidden there for something to find)."""
    scan, depth = ctx.scan, ctx.depth
    if not small:
        scan.pickle(
            ctx.view.open_member(e), at, "torch.load", depth + 1, reached=reached, optional=not reached
        )
        return
    data = ctx.view.read(e, MAX_INMEMORY)
    before = len(scan.reports)
    t = scan.pickle(data, at, "torch.load", depth + 1, reached=reached, optional=not reached)
    if not reached and len(scan.reports) > before and (t.imports or t.pids):
        rows = scan.reports[before].rows
        if any(r.category == "dangerous" for r in rows) or t.flags:
            scan.flags.append(f"pickle bytes hidden in member {e.name}, which no loader unpickles")
        for r in scan.reports[before:]:
            r.reached = False
