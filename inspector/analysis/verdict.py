"""The security verdict of a file: `dangerous`, `needs-code` or `safe`.

Computed from the bytes alone (it works on files the reader refuses): every pickle
stream in the file is scanned statically (pickle_scan), every global classified
(globals_policy), and the container is checked for structural tricks (zip anomalies,
pickles hidden in other members, extra streams). Nothing is imported or executed.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field

from ..formats.detect import FOREIGN_NAMES, is_json, sniff
from ..formats.errors import CheckpointError
from ..formats.safe_io import bounded_inflate, check_regular, load_json, open_regular, read_regular, scan_budget
from ..formats.zipdir import ZipDirectory
from .carve import carve
from .globals_policy import classify
from .pickle_scan import StreamScan, from_report, scan_stream, scan_streams

MAX_SCAN_BYTES = 1 << 30
MAX_INFLATE = 64 << 20  # gzip/bzip2/xz content inflated to look for pickles (issue 12: bombs)
_PICKLE_HEAD = tuple(bytes([0x80, p]) for p in range(2, 6))
_TORCH_RECORDS = {"version", "byteorder", ".format_version", ".storage_alignment",
                  ".data/version", ".data/serialization_id", "data/serialization_id"}


@dataclass
class GlobalRow:
    module: str
    name: str
    opcode: str
    count: int
    stream: str
    category: str
    reason: str
    called: bool

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Verdict:
    verdict: str  # dangerous | needs-code | safe | unreadable
    globals: list[GlobalRow] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    streams: int = 0
    error: str | None = None

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "globals": [g.to_json() for g in self.globals],
                "flags": self.flags, "streams": self.streams, "error": self.error}

    @property
    def summary(self) -> str:
        if self.verdict == "dangerous":
            bad = [f"{g.module}.{g.name}" for g in self.globals if g.category == "dangerous"]
            return "dangerous: " + "; ".join((bad[:4] + self.flags[:2])[:5])
        if self.verdict == "needs-code":
            user = sorted({f"{g.module}.{g.name}" for g in self.globals if g.category == "user-code"})
            return "needs code: loading it for real would import " + ", ".join(user[:5])
        return self.verdict


def scan_file(path: str, reports: dict | None = None, zipdir: ZipDirectory | None = None) -> Verdict:
    """`reports`: what the reader's unpickler already logged per zip member (a clean,
    complete run makes re-scanning that stream unnecessary); `zipdir`: the reader's parsed
    zip directory, to avoid parsing it twice."""
    path = os.fspath(path)
    if os.path.isdir(path):
        try:
            return _scan_folder(path)
        except CheckpointError as exc:
            return Verdict("unreadable", error=str(exc))
    try:
        check_regular(path, path)
        fmt = sniff(path)
    except CheckpointError as exc:
        return Verdict("unreadable", error=str(exc))
    if fmt == "json":
        return _scan_index(path)
    try:
        if fmt == "zip":
            scans, flags = _scan_zip(path, reports or {}, zipdir)
        elif fmt == "pickle":
            scans, flags = _scan_pickle_file(path)
        elif fmt == "legacy-tar":
            scans, flags = _scan_tar(path)
        elif fmt in FOREIGN_NAMES:
            scans, flags = _scan_foreign(path, fmt)
            if not scans:
                return Verdict("unreadable", error=f"it is {FOREIGN_NAMES[fmt]}, not a PyTorch "
                                                   "checkpoint, and holds no pickle")
        else:
            return Verdict("safe", streams=0)  # safetensors, json, tar: no pickle here
    except CheckpointError as exc:
        return Verdict("unreadable", error=str(exc))
    except (OSError, zlib.error, EOFError, struct.error, ValueError) as exc:
        return Verdict("unreadable", error=f"cannot be scanned: {exc}")
    return judge(scans, flags)


def judge(scans: list[StreamScan], flags: list[str]) -> Verdict:
    rows: list[GlobalRow] = []
    all_flags = list(flags)
    for s in scans:
        all_flags.extend(f"{s.stream}: {f}" for f in s.flags)
        for u in s.globals.values():
            category, reason = classify(u.module, u.name)
            if u.module.startswith("<"):
                category, reason = "dangerous", "global resolved at load time"
            rows.append(GlobalRow(u.module, u.name, u.opcode, u.count, u.stream, category,
                                  reason, u.called))
    errors = [f"{s.stream}: {s.error}" for s in scans if s.error]
    if any(r.category == "dangerous" for r in rows) or all_flags:
        verdict = "dangerous"
    elif any(r.category == "user-code" for r in rows):
        verdict = "needs-code"
    elif errors and not rows:
        return Verdict("unreadable", rows, all_flags, len(scans), errors[0])
    else:
        verdict = "safe"
    v = Verdict(verdict, rows, all_flags, len(scans), errors[0] if errors else None)
    return v


RANK = {"dangerous": 3, "needs-code": 2, "safe": 1, "unreadable": 0}


def combine(parts: list[tuple[str, Verdict]]) -> Verdict:
    """The verdict of several files read as one checkpoint: the worst of them."""
    out = Verdict("safe")
    readable = [(n, v) for n, v in parts if v.verdict != "unreadable"]
    if not readable:
        return Verdict("unreadable", error=parts[0][1].error if parts else "nothing to scan")
    for name, v in readable:
        for g in v.globals:
            g.stream = f"{name}: {g.stream}"
        out.globals.extend(v.globals)
        out.flags.extend(f"{name}: {f}" for f in v.flags)
        out.streams += v.streams
        if RANK[v.verdict] > RANK[out.verdict]:
            out.verdict = v.verdict
    return out


def _scan_index(path: str) -> Verdict:
    """A shard index: the verdicts of the shards it names (the JSON itself runs nothing)."""
    try:
        index = load_json(read_regular(path, 64 << 20, path), "the index")
    except CheckpointError:
        return Verdict("unreadable", error="it is a JSON file that is not a shard index")
    wmap = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(wmap, dict):
        return Verdict("unreadable", error="it is a JSON file without a weight_map")
    folder = os.path.dirname(os.path.abspath(path))
    parts = []
    for shard in dict.fromkeys(str(v) for v in wmap.values()):
        full = os.path.normpath(os.path.join(folder, shard))
        if full.startswith(folder + os.sep) and os.path.isfile(full) and not is_json(full):
            parts.append((shard, scan_file(full)))  # (a JSON "shard" - another index - is no pickle)
    if not parts:
        return Verdict("unreadable", error="none of the shards it names is in the folder")
    return combine(parts)


def _scan_folder(path: str) -> Verdict:
    """A distributed checkpoint: `.metadata` (a pickle) and the chunk files."""
    names = sorted(os.listdir(path))
    if ".metadata" not in names:
        return Verdict("unreadable", error="it is a folder, not a distributed checkpoint")
    with open_regular(os.path.join(path, ".metadata"), ".metadata", folder=path) as fh:
        meta = fh.read(MAX_SCAN_BYTES)
    parts = [(".metadata", judge(scan_streams(meta, ".metadata"), []))]
    for n in names:
        if n.endswith(".distcp"):
            with open_regular(os.path.join(path, n), n, folder=path) as fh:
                parts.append((n, judge(carve(fh.read(MAX_SCAN_BYTES), n), [])))
    return combine(parts)


def _scan_tar(path: str) -> tuple[list[StreamScan], list[str]]:
    import tarfile

    scans: list[StreamScan] = []
    try:
        with tarfile.open(path, "r:") as tar:
            for m in tar.getmembers():
                if not m.isfile() or m.size > MAX_SCAN_BYTES:
                    continue
                data = tar.extractfile(m).read()
                if m.name in ("pickle", "sys_info"):
                    scans.extend(scan_streams(data, m.name, expect_single=True))
                else:
                    scans.extend(carve(data, m.name))
    except (tarfile.TarError, OSError) as exc:
        raise CheckpointError(f"the tar archive is damaged ({exc})") from None
    return scans, []


def _scan_pickle_file(path: str) -> tuple[list[StreamScan], list[str]]:
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
        from ..formats.torch_legacy import starts_with_magic

        if starts_with_magic(head):
            return _scan_legacy(fh, size)
        if size > MAX_SCAN_BYTES:
            raise CheckpointError("the pickle is too large to scan")
        fh.seek(0)
        data = fh.read()
    return scan_streams(data, "pickle", expect_single=True), []


def _scan_legacy(fh, size: int) -> tuple[list[StreamScan], list[str]]:
    """Five pickles, then raw storage bytes which are not scanned as pickles."""
    fh.seek(0)
    data = fh.read(min(size, MAX_SCAN_BYTES))
    scans, flags, pos = [], [], 0
    names = ["magic number", "protocol version", "system info", "object", "storage keys"]
    for name in names:
        s = scan_stream(data, f"legacy {name}", pos)
        scans.append(s)
        if s.error:
            break
        pos = s.end
    if any(s.globals for s in scans[:2]):
        flags.append("the legacy header pickles are not plain numbers")
    return scans, flags


def _scan_zip(path: str, reports: dict, known: ZipDirectory | None = None
              ) -> tuple[list[StreamScan], list[str]]:
    flags: list[str] = []
    scans: list[StreamScan] = []
    size = os.path.getsize(path)
    budget = scan_budget(size)
    scanned_at: set[int] = set()  # local headers already read: entries naming one record scan it once
    with open(path, "rb") as fh:
        try:
            zd = ZipDirectory(fh, size, known)
        except CheckpointError as exc:
            raise CheckpointError(f"the zip archive is damaged ({exc})") from None
        names = zd.names
        if zd.duplicates:
            flags.append(f"the archive has duplicate member names ({zd.duplicates[0]})")
        members = [zd.members[n] for n in names]
        first_header = min((m.header_offset for m in members), default=0)
        if first_header > 0:
            flags.append(f"{first_header} bytes of data before the archive")
        if size > zd.end:
            flags.append(f"{size - zd.end} bytes of data after the archive's end")
        storage_keys = _referenced_records(names)
        torch_like = any(n.endswith(".pkl") for n in names)
        encrypted: list[str] = []
        for m in members:
            n = m.name
            if n.startswith("/") or ".." in n.split("/") or ":" in n.split("/")[0]:
                flags.append(f"member name {n!r} escapes the archive folder")
            if m.flags & 0x1:
                encrypted.append(n)
                continue
            if m.flags & 0x60:
                flags.append(f"member {n} uses unusual zip flags 0x{m.flags:x}")
            try:
                local, start, head = zd.local(m, peek=2)
            except CheckpointError as exc:
                flags.append(str(exc))
                continue
            if local != n.encode("utf-8") and local != n.encode("cp437", "replace"):
                flags.append(f"local header name {local!r:.40} differs from the directory name {n!r:.40}")
            if m.header_offset in scanned_at:
                continue
            scanned_at.add(m.header_offset)
            is_pkl = n.endswith(".pkl") or n.endswith(".debug_pkl")
            rel = n.split("/", 1)[1] if "/" in n else n
            if not is_pkl and rel in _TORCH_RECORDS:
                continue
            if "/code/" in f"/{n}" and n.endswith(".py"):
                continue  # TorchScript source: text, shown and never executed
            if not is_pkl and n in storage_keys:
                if m.method == 0 and head in _PICKLE_HEAD:
                    budget.charge(min(m.compress_size, MAX_SCAN_BYTES), n, slow=True)
                    probe = scan_stream(zd.read_raw(m, start, MAX_SCAN_BYTES), n)
                    if probe.error is None and probe.globals:
                        flags.append(f"pickle bytes hidden in storage record {n}")
                        scans.append(probe)
                continue
            if m.file_size > MAX_SCAN_BYTES:
                continue
            if m.method != 0 and n.endswith(".pkl"):
                flags.append(f"pickle member {n} is compressed")
            budget.charge(m.file_size, n)
            try:
                data = zd.read(n, MAX_SCAN_BYTES)
            except CheckpointError as exc:
                flags.append(f"member {n}: {exc}")
                continue
            if zlib.crc32(data) != m.crc:
                flags.append(f"member {n} fails its CRC-32 check (altered after writing)")
            if is_pkl:
                known = from_report(reports.get(n), n, len(data))
                scans.extend([known] if known else scan_streams(data, n, expect_single=True))
            elif n.endswith(".npy"):
                scans.extend(_scan_npy(data, n))
            elif data.startswith(_PICKLE_HEAD) or data[:1] in (b"c", b"(") and b"\n" in data[:64]:
                budget.charge(len(data), n, slow=True)
                probe = scan_stream(data, n)
                if probe.error is None and (probe.globals or data.startswith(_PICKLE_HEAD)):
                    flags.append(f"pickle bytes hidden in member {n}, which is not a .pkl")
                    scans.append(probe)
        for n in encrypted:
            if torch_like or n.endswith((".pkl", ".pt", ".pth", ".bin")):
                flags.append(f"member {n} is encrypted (its content cannot be checked)")
        if encrypted and not scans and not flags:
            raise CheckpointError("it is a password-protected zip archive, not a PyTorch checkpoint")
    return scans, flags


def _scan_foreign(path: str, kind: str) -> tuple[list[StreamScan], list[str]]:
    """Containers torch cannot read: look for the pickles a payload would hide in them."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_SCAN_BYTES)
    if kind == "npy":
        return _scan_npy(data, "npy"), []
    unread: list[StreamScan] = []
    if kind in ("gzip", "bzip2", "xz"):
        inner, problem = bounded_inflate(kind, data, MAX_INFLATE)
        if problem:  # over the bound, truncated or damaged: what lies beyond is not vouched for
            unread.append(StreamScan(f"{kind} content", end=len(inner), error=problem))
        if inner.startswith(_PICKLE_HEAD):
            return scan_streams(inner, f"{kind} content") + unread, []
        data = inner or data
    return carve(data, kind) + unread, []


def _scan_npy(data: bytes, where: str) -> list[StreamScan]:
    """An object-dtype .npy is a header followed by a pickle (np.load(allow_pickle=True))."""
    if len(data) < 10:
        return []
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    header = data[start:start + hlen].decode("latin1", "replace")
    if "'O'" not in header and "|O" not in header:
        return []
    return scan_streams(data[start + hlen:], f"{where} object array", expect_single=True)


def _referenced_records(names: list[str]) -> set[str]:
    """Storage records (`<root>/data/<key>`, `constants/<key>`) are raw tensor bytes."""
    out = set()
    for n in names:
        parts = n.split("/")
        if len(parts) >= 3 and parts[-2] in ("data", "constants", ".data") and not n.endswith(".pkl"):
            out.add(n)
    return out
