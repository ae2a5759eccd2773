"""The security verdict of a file or folder: `dangerous`, `unverified`, `needs-code`,
`safe`, or `unreadable` (not a file any loader would read).

It judges exactly what the real loader would run: every stream a loader would unpickle
(loader_streams.py, zip_archives.py) is run through CPython's C unpickler with recording
stand-ins (trace.py), each import and call is judged by capability (policy.py), and
code the loader runs from the archive is read as text (code_text.py). It fails closed:
`safe` only when every stream was parsed to the end and everything called is on the data
allowlist; a stream we could not read, parse or bound makes it `unverified` (cannot
vouch), never `safe`. Nothing is imported or executed. The static opcode scan
(pickle_scan.py) only adds evidence where the C parse did not go.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field

from ..formats.detect import FOREIGN_NAMES
from ..formats.errors import CheckpointError
from ..formats.registry import sniff
from ..formats.safe_io import bounded_inflate, check_regular, inside, load_json, open_regular, read_regular
from .carve import carve
from .evidence import CallRow, StreamReport, static_rows
from .pickle_scan import StreamScan, scan_streams

MAX_SCAN_BYTES = 1 << 30
MAX_INFLATE = 64 << 20  # gzip/bzip2/xz content inflated to look for pickles (bombs: bounded)
MAX_FOLDER_FILES = 2000
LOADABLE_SUFFIXES = (
    ".pt",
    ".pth",
    ".bin",
    ".ckpt",
    ".pkl",
    ".pickle",
    ".npy",
    ".npz",
    ".pt2",
    ".ptl",
    ".tar",
    ".safetensors",
    ".distcp",
    ".joblib",
    ".zip",
    ".jit",
    ".model",
    ".metadata",
    ".torchscript",
    ".gz",
)

_PICKLE_HEAD = tuple(bytes([0x80, p]) for p in range(2, 6))
RANK = {"dangerous": 4, "unverified": 3, "unreadable": 3, "needs-code": 2, "safe": 1}
VERDICT_WORDS = {
    "dangerous": "dangerous: loading it would run code or reach files, processes or the network",
    "unverified": "unverified: we cannot vouch for it (a part the loader reads could not be judged)",
    "needs-code": "needs code: loading it would import and run code outside the data allowlist",
    "safe": "safe: only data the loader rebuilds without running code",
    "unreadable": "unreadable: no loader would read it",
}


@dataclass
class GlobalRow:
    """One import the loader would perform (kept for the imports table)."""

    module: str
    name: str
    opcode: str
    count: int
    stream: str
    category: str  # data | reference | needs-code | dangerous
    reason: str
    called: bool

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Verdict:
    verdict: str  # dangerous | unverified | needs-code | safe | unreadable
    globals: list[GlobalRow] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    streams: list[StreamReport] = field(default_factory=list)
    error: str | None = None
    unvouched: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict,
            "summary": self.summary,
            "trustable": self.trustable,
            "imports": self.modules,
            "globals": [g.to_json() for g in self.globals],
            "flags": self.flags,
            "unverified": self.unvouched,
            "streams": [s.to_json() for s in self.streams],
            "error": self.error,
        }

    @property
    def calls(self) -> list[CallRow]:
        return [r for s in self.streams for r in s.rows]

    @property
    def modules(self) -> list[str]:
        """Every module the loader would import, exactly (from the C parse)."""
        return sorted({m for s in self.streams if s.reached for m, _ in s.imports})

    @property
    def trustable(self) -> bool:
        """Only a file we parsed completely, whose imports we list exactly, may be loaded
        on the user's word: never a dangerous, unverified or unreadable one."""
        return (
            self.verdict in ("safe", "needs-code")
            and not self.unvouched
            and all(s.complete for s in self.streams if s.reached)
        )

    @property
    def summary(self) -> str:
        if self.verdict == "dangerous":
            bad = [r.text for r in self.calls if r.category == "dangerous"]
            return "dangerous: " + "; ".join((bad[:3] + self.flags[:2])[:4])
        if self.verdict == "unverified":
            return "unverified (cannot vouch): " + "; ".join(self.unvouched[:2])
        if self.verdict == "needs-code":
            rows = [r for r in self.calls if r.category == "needs-code"]
            code = sum(1 for r in rows if r.kind == "code")
            user = sorted({r.target for r in rows if r.kind != "code"})
            parts = (
                [f"the archive's own code ({code} file{'s' if code > 1 else ''})"] if code else []
            ) + user[:5]
            return "needs code: loading it for real would run " + ", ".join(parts)
        if self.verdict == "unreadable":
            return f"unreadable: {self.error}"
        return self.verdict


def scan_file(path: str, reports: dict | None = None, zipdir=None, _depth: int = 0) -> Verdict:
    """`reports`: what the reader's unpickler already logged per zip member (a complete
    run naming only tensor-rebuild globals needs no second pass); `zipdir`: the reader's
    `formats.zipdir.ZipDirectory` of this file, whose directory is reused when its bytes
    are the file's (zip_members.ZipView)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        try:
            return _scan_folder(path, _depth)
        except CheckpointError as exc:
            return Verdict("unreadable", error=str(exc))
    if not os.path.isfile(path):  # a FIFO, device, socket or broken link: say which
        try:
            check_regular(path, os.path.basename(path) or path)
        except CheckpointError as exc:
            return Verdict("unreadable", error=str(exc))
        return Verdict("unreadable", error="it is not a regular file")
    try:
        check_regular(path, path)
        fmt = sniff(path)  # the registry's: a format's own content test, then detect.sniff
    except CheckpointError as exc:
        fmt, sniff_error = None, str(exc)
    else:
        sniff_error = None
    if fmt == "json":
        return _scan_index(path)
    from .loader_streams import Scan, scan_path

    scan = Scan(path)
    scan.reader_reports = reports or {}
    scan.reader_zipdir = zipdir
    try:
        if fmt in FOREIGN_NAMES and fmt != "npy":
            _scan_packed(path, fmt, scan)
        else:
            scan_path(path, scan, MAX_SCAN_BYTES)
    except CheckpointError as exc:
        return Verdict("unreadable", error=str(exc))
    except (OSError, zlib.error, EOFError, struct.error, ValueError) as exc:
        return Verdict(
            "unverified", error=f"cannot be scanned: {exc}", unvouched=[f"cannot be scanned: {exc}"]
        )
    v = judge(scan)
    if (
        v.verdict == "safe"
        and not any(s.complete and s.reached for s in v.streams)
        and not v.calls
        and (scan.refused or sniff_error or not v.streams)
    ):
        return _nothing_unpickled(v, scan, fmt, sniff_error)
    return v


def _scan_packed(path: str, fmt: str, scan) -> None:
    """A gzip, bz2, xz, zip, 7z ... file (pandas.read_pickle and joblib.load unpickle what
    it holds): its content scanned, or, for an archive we cannot unpack (7z), the pickles
    carved from its bytes, statically."""
    inner, problem = _unpacked(path, fmt)
    if problem:  # over the bound, truncated or damaged: the rest is not vouched for
        scan.unvouched.append(f"{fmt} content: {problem}")
    if inner:  # what pandas.read_pickle / joblib.load unpickle after decompressing
        scan.kinds.append(f"{FOREIGN_NAMES[fmt]} holding {len(inner):,} bytes")
        scan.blob(inner, f"{fmt} content", "pickle.load", 1)
        return
    scans, flags = _scan_foreign(path, fmt)
    for s in scans:
        scan.reports.append(
            StreamReport(
                s.stream, f"unpacked {fmt}", s.error is None, static_rows(s, s.stream), reached=False
            )
        )
    scan.flags.extend(flags)


def _nothing_unpickled(v: Verdict, scan, fmt: str | None, sniff_error: str | None) -> Verdict:
    """A 'safe' verdict on a file no loader unpickles anything from: safetensors says
    why; a file no loader would read, or not a checkpoint, is unreadable."""
    if fmt == "safetensors":
        v.kinds.append("safetensors (a JSON header and raw bytes: no loader unpickles it)")
        return v
    if scan.refused and not sniff_error:
        return Verdict("unreadable", error=f"no loader would read it: {scan.refused[0]}")
    if sniff_error:
        return Verdict("unreadable", error=sniff_error)
    if fmt in FOREIGN_NAMES and fmt != "npy":
        return Verdict(
            "unreadable",
            error=f"it is {FOREIGN_NAMES[fmt]}, not a PyTorch checkpoint, and holds no pickle",
        )
    return v


def judge(scan) -> Verdict:
    rows = [r for s in scan.reports for r in s.rows]
    flags = list(dict.fromkeys(scan.flags))
    unvouched = list(dict.fromkeys(scan.unvouched))
    if any(r.category == "dangerous" for r in rows) or flags:
        verdict = "dangerous"
    elif unvouched:
        verdict = "unverified"
    elif any(r.category == "needs-code" for r in rows if _reached(scan, r)):
        verdict = "needs-code"
    else:
        verdict = "safe"
    globals_ = []
    cat = {(r.stream, r.target): r for r in rows}
    for s in scan.reports:
        for m, n in s.imports:
            r = cat.get((s.stream, f"{m}.{n}"))
            globals_.append(
                GlobalRow(
                    m,
                    n,
                    "import",
                    r.count if r else 1,
                    s.stream,
                    r.category if r else "data",
                    r.reason if r else "used as data by a modelled call",
                    bool(r and r.kind != "reference"),
                )
            )
    return Verdict(
        verdict,
        globals_,
        flags,
        list(scan.reports),
        unvouched[0] if unvouched else None,
        unvouched,
        list(scan.kinds),
    )


def _reached(scan, row) -> bool:
    return any(s.reached for s in scan.reports if s.stream == row.stream)


def combine(parts: list[tuple[str, Verdict]]) -> Verdict:
    """The verdict of several files read as one checkpoint: the worst of them. A file the
    format loads that cannot be read leaves the whole `unverified`."""
    if not parts:
        return Verdict("unreadable", error="nothing to scan")
    if all(v.verdict == "unreadable" for _, v in parts):
        name, first = parts[0]
        return Verdict("unreadable", error=f"{name}: {first.error}")
    out = Verdict("safe")
    for name, v in parts:
        for s in v.streams:
            s.stream = f"{name}: {s.stream}" if s.stream else name
            for r in s.rows:
                r.stream = s.stream
        for g in v.globals:
            g.stream = f"{name}: {g.stream}" if g.stream else name
        out.globals.extend(v.globals)
        out.streams.extend(v.streams)
        out.flags.extend(f"{name}: {f}" for f in v.flags)
        out.unvouched.extend(f"{name}: {u}" for u in v.unvouched)
        verdict = v.verdict
        if verdict == "unreadable":
            verdict = "unverified"
            out.unvouched.append(f"{name}: {v.error}")
        if RANK[verdict] > RANK[out.verdict]:
            out.verdict = verdict
    out.error = out.unvouched[0] if out.unvouched else None
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
    for shard in list(dict.fromkeys(str(v) for v in wmap.values()))[:MAX_FOLDER_FILES]:
        full = os.path.normpath(os.path.join(folder, shard))
        if os.path.isfile(full):  # loaders join the name to the folder: judged wherever it lies
            v = scan_file(full)
            if not full.startswith(folder + os.sep):
                v.unvouched.append(f"the shard lies outside the index's folder ({full})")
                if v.verdict in ("safe", "needs-code"):
                    v.verdict = "unverified"
            parts.append((shard, v))
        else:
            parts.append((shard, Verdict("unreadable", error="the shard is missing")))
    return combine(parts)


def _scan_folder(path: str, depth: int = 0) -> Verdict:
    """A folder (Trainer checkpoint-N, shard-index or model folder, DCP): the worst verdict
    of the files in it that a loader reads (DCP `.metadata` is a pickle, `.distcp` files
    hold torch.save payloads)."""
    try:
        names = sorted(os.listdir(path))[:MAX_FOLDER_FILES]
    except OSError as exc:
        return Verdict("unreadable", error=f"cannot list the folder: {exc.strerror or exc}")
    from ..formats.registry import folder_members

    fmt, members = folder_members(path)  # what the folder's format loads is judged first
    parts, judged = [], set()
    for n in [m for m in members if m in names] + names:
        if n in judged:
            continue
        judged.add(n)
        full = os.path.join(path, n)
        low = n.lower()
        loadable = n == ".metadata" or low.endswith(LOADABLE_SUFFIXES)
        if loadable or n in ("data", "pickle"):
            try:  # what a loader would open: a regular file, or a link to one inside the folder
                check_regular(full, n, folder=path)
            except CheckpointError as exc:
                if loadable or not os.path.isdir(full):
                    parts.append((n, _cannot_vouch(str(exc))))
                    continue
        if os.path.isdir(full):
            if depth < 2 and inside(full, path):
                sub = _scan_folder(full, depth + 1)
                if sub.verdict != "unreadable":
                    parts.append((n, sub))
            continue
        if n == ".metadata":
            parts.append((n, _guarded(scan_file, full)))
        elif low.endswith(".distcp"):
            parts.append((n, _guarded(_scan_distcp, full)))
        elif low.endswith(LOADABLE_SUFFIXES) or n in ("data", "pickle") or n in members:
            parts.append((n, _guarded(scan_file, full)))
    if not parts:
        return Verdict("unreadable", error="the folder holds no file a checkpoint loader reads")
    v = combine(parts)
    if fmt is not None:
        v.kinds.insert(0, fmt.title)
    return v


def _cannot_vouch(problem: str) -> Verdict:
    """A file a loader would read that is not a regular file (FIFO, device, folder) or a
    link leaving the folder: never `safe`."""
    problem = problem.removesuffix("; not read")
    why = f"cannot vouch: {problem}; a loader would read it"
    return Verdict("unverified", error=why, unvouched=[why])


def _guarded(scan, path: str) -> Verdict:
    """One part of a folder scanned; any parse error of it is a one-line reason on that
    part (the same errors scan_file turns into `unverified`), never an exception."""
    try:
        return scan(path)
    except CheckpointError as exc:
        return Verdict("unreadable", error=str(exc))
    except (
        OSError,
        zlib.error,
        EOFError,
        struct.error,
        ValueError,
        IndexError,
        KeyError,
        OverflowError,
        RecursionError,
        MemoryError,
    ) as exc:
        why = f"cannot be scanned: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        return Verdict("unverified", error=why, unvouched=[why])


def _scan_distcp(path: str) -> Verdict:
    """A DCP chunk file: raw tensor bytes and, for non-tensor entries, payloads DCP hands
    to torch.load(weights_only=False): torch.save zips (found from their end records),
    legacy torch.save stacks (found by torch's magic number) and bare pickles (found by
    their protocol header, then run through the C trace; kept when they do something)."""
    from .loader_streams import _LEGACY_MAGIC, Scan

    scan = Scan(path)
    with open_regular(path) as fh:
        data = fh.read(MAX_SCAN_BYTES)
    covered = []
    for start, end in embedded_zips(data):
        scan.blob(data[start:end], f"entry at byte {start}", "torch.load", 1)
        covered.append((start, end))
    at = data.find(_LEGACY_MAGIC)
    while at >= 0 and len(scan.reports) < 4096:
        scan.pickle_file(data[at:], f"entry at byte {at}", "torch.load", 1, primary=True)
        covered.append((at, at + 1))
        at = data.find(_LEGACY_MAGIC, at + 1)
    pos, tried = 0, 0
    while tried < 4096:
        pos = data.find(b"\x80", pos)
        if pos < 0 or pos + 1 >= len(data):
            break
        if 2 <= data[pos + 1] <= 5 and not any(a <= pos < b for a, b in covered):
            tried += 1
            t = scan.pickle(
                data,
                f"entry at byte {pos}",
                "torch.load",
                1,
                start=pos,
                reached=False,
                optional=True,
                follow=False,
            )
            if t.complete and t.end > 0:
                covered.append((pos, pos + t.end))
                pos += t.end
                continue
        pos += 1
    return judge(scan)


def embedded_zips(data: bytes, limit: int = 4096) -> list[tuple[int, int]]:
    """(start, end) of each zip archive inside `data`, found from its end record (and the
    zip64 end record just before it, whose own offset is relative to the archive)."""
    out, pos = [], 0
    while len(out) < limit:
        at = data.find(b"PK\x05\x06", pos)
        if at < 0 or at + 22 > len(data):
            break
        cd_size, cd_offset, clen = struct.unpack_from("<LLH", data, at + 12)
        start = at - cd_size - cd_offset
        if (
            cd_size == 0xFFFFFFFF
            or cd_offset == 0xFFFFFFFF
            or not (0 <= start < at and data[start : start + 4] == b"PK\x03\x04")
        ):
            loc = at - 20
            if loc >= 56 and data[loc : loc + 4] == b"PK\x06\x07":
                (rec,) = struct.unpack_from("<Q", data, loc + 8)
                start = loc - 56 - rec
        if 0 <= start < at and data[start : start + 4] == b"PK\x03\x04":
            out.append((start, at + 22 + clen))
        pos = at + 4
    return out


def _scan_foreign(path: str, kind: str) -> tuple[list[StreamScan], list[str]]:
    """Containers torch cannot read: look for the pickles a payload would hide in them."""
    with open_regular(path, "the file") as fh:
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


def _unpacked(path: str, kind: str) -> tuple[bytes, str | None]:
    """The decompressed content of a gzip/bzip2/xz file, bounded by output size (a bomb
    stops at MAX_INFLATE), and why it stopped early (None when complete); b'' otherwise."""
    if kind not in ("gzip", "bzip2", "bz2", "xz"):
        return b"", None
    with open_regular(path, "the file") as fh:
        data = fh.read(MAX_SCAN_BYTES)
    return bounded_inflate(kind, data, MAX_INFLATE)


def _scan_npy(data: bytes, where: str) -> list[StreamScan]:
    """An object-dtype .npy is a header followed by a pickle (np.load(allow_pickle=True))."""
    if len(data) < 10:
        return []
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    header = data[start : start + hlen].decode("latin1", "replace")
    if "'O'" not in header and "|O" not in header:
        return []
    return scan_streams(data[start + hlen :], f"{where} object array", expect_single=True)
