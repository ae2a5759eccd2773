"""Zip archives: every member a loader could read, judged as that loader would read it.

torch.save zips, TorchScript, torch.export `.pt2`, torch.package, `.npz` and
Stable-Baselines3 zips all arrive here; the archive's kind decides which loader reads a
member, and a member's *content* decides what it is (a nested zip, a pickle, an `.npy`),
never its name alone. Structural tricks (data around the archive, names that escape,
local names that disagree with the directory, CRC mismatches) are red flags.
"""

from __future__ import annotations

import zlib

from ..formats.errors import LimitExceeded
from ..formats.safe_io import scan_budget
from ..formats.zipdir import Window
from .evidence import CallRow, StreamReport
from .zip_members import ZipView

MAX_INMEMORY = 256 << 20  # nested members read into memory; larger ones are streamed
MAX_TEXT = 64 << 20

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


def scan_zip(scan, fh, size: int, where: str, depth: int, torch_load: bool) -> None:
    view = ZipView(fh, size)
    label = (lambda n: f"{where} › {n}") if where else (lambda n: n)
    if not view.entries:
        if torch_load:
            scan.refused.append(f"{where or 'the archive'}: no zip member can be read")
        return
    first = min(e.header_offset for e in view.entries)
    if first > 0:  # torch.load reads such a file as a pickle (judged as one, separately)
        scan.unvouched.append(f"{first} bytes of data before the archive")
    if size > view.directory_end:  # a signature or padding, unless a loader could run it
        fh.seek(view.directory_end)
        tail = fh.read(min(size - view.directory_end, 64 << 20))
        before = len(scan.reports)
        scan.pickle(
            tail,
            label(f"{size - view.directory_end} bytes after the archive's end"),
            "pickle.load",
            depth + 1,
            reached=False,
            optional=True,
        )
        if any(r.category == "dangerous" for rep in scan.reports[before:] for r in rep.rows):
            scan.flags.append(
                f"{size - view.directory_end} bytes after the archive's end hold a "
                "pickle that makes dangerous calls"
            )
    scan.unvouched.extend(view.notes)  # duplicate names: every one is judged; readers differ
    low = [e.name.lower() for e in view.entries]
    torchscript = any(n.endswith("constants.pkl") or "/code/" in f"/{n}" for n in low)
    pt2 = any("serialized_exported_program" in n or n.endswith("archive_format") for n in low)
    package = any(n.endswith(".data/extern_modules") for n in low)
    sb3 = any(n == "policy.pth" for n in low) and any(n == "data" for n in low)
    torch_like = any(n.endswith(".pkl") for n in low)
    reports = getattr(scan, "reader_reports", None) or {}
    judged, budget = set(), scan_budget(size)
    for e, n in zip(view.entries, low):
        name = e.name
        at = label(name)
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or ":" in parts[0]:
            scan.unvouched.append(f"member name {name!r} escapes the archive folder")
        if e.flags & 0x1:  # miniz ignores the flag and reads the bytes: judged as they are
            if torch_like or n.endswith((".pkl", ".pt", ".pth", ".bin")):
                scan.unvouched.append(
                    f"member {name} is marked encrypted (its content may not be "
                    "what a reader with the password sees)"
                )
            elif all(x.flags & 0x1 for x in view.entries) and depth == 0 and not where:
                from ..formats.errors import CheckpointError

                raise CheckpointError("it is a password-protected zip archive, not a PyTorch checkpoint")
            else:
                scan.unvouched.append(f"{at}: encrypted, its content cannot be checked")
        if e.flags & 0x60:
            scan.unvouched.append(f"member {name} uses unusual zip flags 0x{e.flags:x}")
        try:
            start, local = view.data_start(e)
        except ValueError as exc:
            scan.flags.append(str(exc))
            continue
        if local != name.encode("utf-8") and local != name.encode("cp437", "replace"):
            scan.unvouched.append(
                f"local header name {local!r:.40} differs from the directory name {name!r:.40}"
            )
        rel = name.split("/", 1)[1] if "/" in name else name
        if rel.lower() in _RECORDS and e.file_size < 4096:
            continue
        is_pkl = n.endswith(".pkl") or n.endswith(".debug_pkl")
        record = (e.header_offset, e.compress_size, e.method, is_pkl)
        if record in judged:  # many directory entries naming one record: read and judged once
            continue
        judged.add(record)
        try:  # overlapping records (a zip bomb by overlap) cannot multiply the work
            budget.charge(e.compress_size + min(e.file_size, MAX_INMEMORY), at)
        except LimitExceeded as exc:
            scan.unvouched.append(str(exc))
            break
        try:
            head = view.head(e, 64, start)
        except ValueError as exc:  # no loader can read it either; a pickle we cannot see
            if is_pkl:
                scan.unvouched.append(f"{at}: {exc}")
            continue
        loader = (
            "torch.jit.load"
            if torchscript
            else "torch.package"
            if package
            else "torch.export.load"
            if pt2
            else "torch.load"
        )
        small = e.file_size <= MAX_INMEMORY and e.compress_size <= MAX_INMEMORY
        if is_pkl:
            fast = (
                reports.get(name)
                if depth == 0 and not view.notes and sum(x.name == name for x in view.entries) == 1
                else None
            )
            if (
                fast is not None
                and fast.end == e.file_size
                and fast.globals
                and all(_fast_ok(m, x) for m, x in fast.globals)
            ):
                scan.reports.append(
                    StreamReport(
                        at,
                        loader,
                        True,
                        [
                            CallRow(
                                at,
                                "call" if (m, x) in fast.called or m == "torch._utils" else "reference",
                                f"{m}.{x}",
                                "data",
                                "data-construction allowlist",
                                c,
                            )
                            for (m, x), c in fast.globals.items()
                        ],
                        imports=list(fast.globals),
                    )
                )
                continue
            if small:
                data = view.read(e, MAX_INMEMORY + 1)
                if zlib.crc32(data) != e.crc:
                    scan.unvouched.append(f"member {name} fails its CRC-32 check (altered after writing)")
                scan.pickle(data, at, loader, depth)
            else:
                scan.pickle(view.open_member(e), at, loader, depth)
            continue
        if n.endswith(".py") and (package or torchscript or "/code/" in f"/{n}"):
            if e.file_size <= MAX_TEXT:
                text = view.read(e, MAX_TEXT).decode("utf-8", "replace")
                scan.code(text, at, "torch.package" if package else "torch.jit.load", package)
            else:
                scan.unvouched.append(f"{at}: code over {MAX_TEXT >> 20} MiB, not read")
            continue
        if head[:4] == b"PK\x03\x04":
            if e.method == 0:
                scan.zip(Window(fh, start, e.compress_size), e.compress_size, at, depth + 1)
            elif small:
                data = view.read(e, MAX_INMEMORY)
                scan.blob(data, at, "torch.load", depth + 1)
            else:
                scan.unvouched.append(f"{at}: a compressed nested archive over {MAX_INMEMORY >> 20} MiB")
            continue
        if head[:6] == b"\x93NUMPY":
            if small:
                scan.npy(view.read(e, MAX_INMEMORY), at, depth)
            else:
                scan.unvouched.append(f"{at}: an .npy member over {MAX_INMEMORY >> 20} MiB")
            continue
        reached = pt2 or sb3 or (n.endswith((".pth", ".pt", ".bin", ".ckpt")) and not torch_like)
        if head.startswith(_PICKLE_HEADS) or head[:1] in (b"(", b"c", b"]", b"}") and b"\n" in head:
            if not small:
                scan.pickle(
                    view.open_member(e), at, "torch.load", depth + 1, reached=reached, optional=not reached
                )
                continue
            data = view.read(e, MAX_INMEMORY)
            before = len(scan.reports)
            t = scan.pickle(data, at, "torch.load", depth + 1, reached=reached, optional=not reached)
            if not reached and len(scan.reports) > before and (t.imports or t.pids):
                rows = scan.reports[before].rows
                if any(r.category == "dangerous" for r in rows) or t.flags:
                    scan.flags.append(f"pickle bytes hidden in member {name}, which no loader unpickles")
                for r in scan.reports[before:]:
                    r.reached = False
            continue
        if (
            (n.endswith(".json") or n == "data" or "/" not in n and e.file_size < MAX_TEXT)
            and e.file_size <= MAX_TEXT
            and head.lstrip()[:1] in (b"{", b"[")
        ):
            text = view.read(e, MAX_TEXT).decode("utf-8", "replace")
            if ":serialized:" in text:
                scan.serialized_json(text, at, depth)
            if pt2 and '"target"' in text:
                from .code_text import judge_export_graph

                rep = judge_export_graph(text, at)
                if rep is not None:
                    scan.reports.append(rep)
