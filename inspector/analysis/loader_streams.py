"""Which streams each loader would unpickle, per format, and their judgment.

A file is what every plausible loader would take it for; where two disagree both are
judged. `torch.load` reads a zip whose first bytes are a local header through its zip
reader (`<root>/data.pkl`, names matched case-insensitively), otherwise tries the legacy
tar layout and then `pickle.load` from byte 0 (the legacy magic stack: five pickles);
`numpy.load(allow_pickle=True)` unpickles object arrays after a `.npy` header, member by
member in an `.npz`; `torch.jit.load` reads `data.pkl`/`constants.pkl` and runs `code/`;
`torch.export.load` loads nested torch.save payloads (weights, constants, sample
inputs); `torch.package` runs the module sources in the archive; DCP reads `.metadata`
with `pickle.load` and `torch.load`s non-tensor entries; `torch.storage._load_from_bytes`
and Stable-Baselines3's base64 `:serialized:` values are nested streams. Nested
archives and streams are followed to a fixed depth.
"""

from __future__ import annotations

import base64
import io
import os
import re
import struct
import tarfile

from . import code_text
from .evidence import StreamReport, judge_trace, static_rows
from .pickle_scan import scan_stream
from .trace import is_ref, trace_stream
from .zip_archives import MAX_INMEMORY

MAX_DEPTH = 4
_PICKLE_HEADS = tuple(bytes([0x80, p]) for p in range(2, 6))
_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
_TORCH_RECORDS = {
    "version",
    "byteorder",
    ".format_version",
    ".storage_alignment",
    "serialization_id",
    ".data/version",
    ".data/serialization_id",
}


class Scan:
    """What one file's scan found: stream reports, red flags, and what we cannot vouch for."""

    def __init__(self, path: str):
        self.path = path
        self.reports: list[StreamReport] = []
        self.flags: list[str] = []  # structural red flags: dangerous
        self.unvouched: list[str] = []  # streams we could not read or parse to the end
        self.kinds: list[str] = []  # how each loader took the file
        self.refused: list[str] = []  # readings a loader would refuse at once (nothing runs)
        self.reader_reports: dict = {}
        self.reader_zipdir = None  # the reader's formats.zipdir.ZipDirectory of this file

    # -- pickles
    def pickle(
        self,
        src,
        where: str,
        loader: str,
        depth: int,
        start: int = 0,
        reached: bool = True,
        persistent: bool = True,
        optional: bool = False,
        follow: bool = True,
    ):
        """Judge the stream at `start` of `src` (bytes or file). `optional`: another
        loader's reading of the same bytes, which counts only if it gets anywhere.
        Returns the trace (its `.value` is the unpickled stand-in)."""
        t = trace_stream(src, where, start=start, loader=loader)
        acted = any(k != "persistent-id" for k, _ in t.events)
        if not t.complete and not acted:
            # refused before it imported or called anything: provably nothing runs, and
            # no loader takes these bytes for a pickle (judged `unreadable` if nothing else is)
            self.refused.append(f"{where or 'the file'}: {t.error}")
            if optional:
                return t
        rep = judge_trace(t, reached=reached and not optional)
        self.reports.append(rep)
        if not t.complete:
            if reached and not optional and acted:
                self.unvouched.append(f"{where}: {t.error}")
            data = _as_bytes(src)
            if data is not None:  # evidence from where the C parser stopped on
                s = scan_stream(data, where, start)
                have = {r.target for r in rep.rows} | {f"{m}.{n}" for m, n in t.imports}
                rep.rows.extend(r for r in static_rows(s, where) if r.target not in have)
                self.flags.extend(f"{where}: {f}" for f in s.flags if "after STOP" not in f)
        self.flags.extend(f"{where}: {f}" for f in t.flags)
        for what, blob in t.nested:
            self.blob(blob, f"{where} › {what}", "torch.load", depth + 1)
        if follow and t.complete:
            self._after_stop(src, where, loader, start + t.end, depth)
        return t

    def _after_stop(self, src, where: str, loader: str, pos: int, depth: int) -> None:
        """Bytes after STOP: no loader we know reads on, but a second stream there is
        judged (a reader that does, or a later stage of the same one, would run it)."""
        data = _as_bytes(src)
        if data is None or pos >= len(data) or not data[pos:].strip(b"\x00\n\r \t"):
            return
        for i in range(2, 18):
            t = trace_stream(data, f"{where} (stream {i}, after STOP)", start=pos, loader=loader)
            if not t.events and not t.complete:
                break
            rep = judge_trace(t, reached=False)
            self.reports.append(rep)
            self.flags.extend(f"{where}: {f}" for f in t.flags)
            for what, blob in t.nested:
                before = len(self.reports)
                self.blob(blob, f"{where} (stream {i}) › {what}", "torch.load", depth + 1)
                if any(r.category == "dangerous" for x in self.reports[before:] for r in x.rows):
                    self.flags.append(f"{where}: a later pickle stream loads a dangerous payload")
            if any(r.category == "dangerous" for r in rep.rows):
                self.flags.append(f"{where}: a second pickle stream after STOP makes dangerous calls")
            if not t.complete or t.end <= 0:
                break
            pos += t.end
            if pos >= len(data) or not data[pos:].strip(b"\x00\n\r \t"):
                break

    # -- blobs of unknown kind (nested payloads, members, files)
    def blob(self, data: bytes, where: str, loader: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.unvouched.append(f"{where}: nested deeper than {MAX_DEPTH} levels")
            return
        if data[:4] == b"PK\x03\x04" or (b"PK\x05\x06" in data[-(65536 + 22) :] and loader != "pickle.load"):
            self.zip(io.BytesIO(data), len(data), where, depth, torch_load=data[:4] == b"PK\x03\x04")
            if data[:4] == b"PK\x03\x04":
                return
        if data[:6] == b"\x93NUMPY":
            self.npy(data, where, depth)
            return
        self.tar_bytes(data, where, depth)
        self.pickle_file(data, where, loader, depth, primary=True)

    def pickle_file(self, data, where: str, loader: str, depth: int, primary: bool) -> None:
        """torch.load's non-zip path: pickle.load from byte 0 (the legacy stack when the
        first stream is torch's magic number); plain pickle.load for other loaders."""
        head = data[:16] if isinstance(data, (bytes, bytearray)) else _peek(data, 16)
        if head.startswith(_LEGACY_MAGIC):
            self.kinds.append("legacy torch.save stack")
            pos = 0
            names = ["magic number", "protocol version", "system info", "object", "storage keys"]
            for name in names:
                t = self.pickle(
                    data, f"{where} {name}" if where else name, "torch.load", depth, start=pos, follow=False
                )
                if not t.complete:
                    return
                pos += t.end
                if name in ("magic number", "protocol version") and (t.imports or t.pids):
                    self.flags.append(f"the legacy {name} pickle is not a plain number")
            return
        t = self.pickle(data, where or "pickle", loader, depth, optional=not primary)
        if t.complete and not primary:
            self.kinds.append("a pickle (torch.load would unpickle it)")

    # -- numpy
    def npy(self, data: bytes, where: str, depth: int) -> None:
        info = npy_header(data)
        if info is None:
            self.unvouched.append(f"{where}: the .npy header cannot be read")
            return
        start, has_object = info
        if has_object:
            self.pickle(data, f"{where} object array", "numpy.load(allow_pickle=True)", depth, start=start)

    # -- tar (torch's legacy tar layout; torch.load tries it before pickle)
    def tar_bytes(self, data: bytes, where: str, depth: int) -> None:
        self.tar(io.BytesIO(data), where, depth)

    def tar(self, fh, where: str, depth: int) -> bool:
        try:
            tar = tarfile.open(fileobj=fh, mode="r:", format=tarfile.PAX_FORMAT)
            members = tar.getmembers()[:100_000]
        except (tarfile.TarError, OSError, EOFError, ValueError, UnicodeError):
            return False
        self.kinds.append("legacy tar checkpoint")
        for m in members:
            if not m.isfile():
                continue
            shown = m.name if m.name.isprintable() else ascii(m.name)
            name = f"{where} {shown}" if where else shown
            f = tar.extractfile(m)
            if f is None:
                continue
            data = f.read(MAX_INMEMORY + 1)
            if len(data) > MAX_INMEMORY:
                self.unvouched.append(f"{name}: over {MAX_INMEMORY >> 20} MiB, not scanned")
                continue
            if m.name == "storages":
                self._tar_records(data, name, depth, tensors=False)
            elif m.name == "tensors":
                self._tar_records(data, name, depth, tensors=True)
            elif m.name in ("pickle", "sys_info"):
                self.pickle(data, name, "torch.load", depth)
            else:
                self.blob(data, name, "torch.load", depth + 1)
        return True

    def _tar_records(self, data: bytes, where: str, depth: int, tensors: bool) -> None:
        """`storages`: count, then per storage a pickle (key, location, type) and raw bytes,
        then the views pickle; `tensors`: count, then a pickle and a struct per tensor."""
        from ..formats import dtypes

        t = self.pickle(data, f"{where} count", "torch.load", depth, follow=False)
        if not t.complete:
            return
        pos, n = t.end, t.value
        if not isinstance(n, int) or n < 0 or n > 10_000_000:
            self.unvouched.append(f"{where}: the record count is not a number")
            return
        for i in range(n):
            t = self.pickle(data, f"{where} record {i}", "torch.load", depth, start=pos, follow=False)
            if not t.complete:
                return
            pos += t.end
            try:
                if tensors:
                    (ndim,) = struct.unpack_from("<i", data, pos)
                    if not 0 <= ndim <= 64:
                        raise ValueError
                    pos += 8 + 16 * ndim + 8
                else:
                    stype = t.value[2] if isinstance(t.value, tuple) and len(t.value) > 2 else None
                    name = stype._path.rsplit(".", 1)[-1] if is_ref(stype) else ""
                    kind = dtypes.STORAGE_CLASSES.get(name)
                    if kind is None:
                        raise ValueError
                    (numel,) = struct.unpack_from("<q", data, pos)
                    pos += 8 + numel * dtypes.DTYPES[kind].itemsize
            except (struct.error, ValueError, IndexError, KeyError, AttributeError):
                self.unvouched.append(f"{where}: record {i} cannot be followed as torch would")
                from .carve import carve

                for s in carve(data[pos:], where):
                    self.reports.append(StreamReport(s.stream, "torch.load", False, static_rows(s, s.stream)))
                return
            if pos > len(data):
                self.unvouched.append(f"{where}: record {i} runs past the end")
                return
        if not tensors and pos < len(data):
            self.pickle(data, f"{where} views", "torch.load", depth, start=pos, follow=False)

    # -- zip archives
    def zip(self, fh, size: int, where: str, depth: int, torch_load: bool = True) -> None:
        from .zip_archives import scan_zip

        scan_zip(self, fh, size, where, depth, torch_load)

    # -- code the loader runs (TorchScript code/, torch.package modules)
    def code(self, text: str, where: str, loader: str, package: bool) -> None:
        rep = code_text.judge_source(text, where, loader, package)
        if rep is not None:
            self.reports.append(rep)

    def serialized_json(self, text: str, where: str, depth: int) -> None:
        """Stable-Baselines3 `data`: values under ':serialized:' are base64 cloudpickles."""
        for i, m in enumerate(re.finditer(r'":serialized:"\s*:\s*"([A-Za-z0-9+/=\\n]+)"', text)):
            if i >= 256:
                break
            try:
                raw = base64.b64decode(m.group(1).replace("\\n", ""))
            except ValueError:
                continue
            self.pickle(raw, f"{where} :serialized: value {i + 1}", "cloudpickle.loads", depth + 1)


def npy_header(data: bytes) -> tuple[int, bool] | None:
    """(where the array data starts, whether numpy would unpickle it)."""
    import ast

    import numpy as np

    if len(data) < 10 or data[:6] != b"\x93NUMPY":
        return None
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    elif major in (2, 3):
        if len(data) < 12:
            return None
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    else:
        return None
    raw = data[start : start + hlen]
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin1"))
        descr = header["descr"]
        dtype = np.lib.format.descr_to_dtype(descr)
        has_object = bool(dtype.hasobject)
    except Exception:
        has_object = b"O" in raw  # numpy would refuse it; judge the bytes after it anyway
    return start + hlen, has_object


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _as_bytes(src):
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    return None


def _peek(fh, n: int) -> bytes:
    here = fh.tell()
    data = fh.read(n)
    fh.seek(here)
    return data


def scan_path(path: str, scan: Scan, limit: int) -> None:
    """Every reading of the file at `path` a loader could make."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(1024)
        if head[:4] == b"PK\x03\x04" or _tail_has_eocd(fh, size):
            scan.kinds.append("zip archive")
            scan.zip(fh, size, "", 0, torch_load=head[:4] == b"PK\x03\x04")
            if head[:4] == b"PK\x03\x04":
                return
        if head[:6] == b"\x93NUMPY":
            scan.kinds.append("numpy .npy")
            fh.seek(0)
            top = fh.read(1 << 20)  # the header; the array data is only read when it is a pickle
            info = npy_header(top)
            if info is None:
                scan.unvouched.append("the .npy header cannot be read")
            elif info[1]:
                src = _read(fh, limit, scan, path) if size <= MAX_INMEMORY else fh
                scan.pickle(src, "object array", "numpy.load(allow_pickle=True)", 0, start=info[0])
            return
        fh.seek(0)
        scan.tar(fh, "", 0)  # torch.load tries its tar layout first (tarfile decides, not a magic)
        primary = head[:1] == b"\x80" or _looks_like_text_pickle(head)
        if size <= MAX_INMEMORY:
            data = _read(fh, limit, scan, path)
            scan.pickle_file(data, "", "torch.load / pickle.load", 0, primary=primary)
        else:  # streamed from the file: nothing is skipped for size
            fh.seek(0)
            scan.pickle_file(fh, "", "torch.load / pickle.load", 0, primary=primary)


def _read(fh, limit: int, scan: Scan, path: str) -> bytes:
    fh.seek(0)
    data = fh.read(limit + 1)
    if len(data) > limit:
        scan.unvouched.append(f"the file is over {limit:,} bytes; only its first {limit:,} were judged")
        data = data[:limit]
    return data


def _tail_has_eocd(fh, size: int) -> bool:
    n = min(size, 65535 + 22)
    fh.seek(size - n)
    return b"PK\x05\x06" in fh.read(n)


def _looks_like_text_pickle(head: bytes) -> bool:
    return head[:1] in (b"(", b"c", b"}", b"]", b"I", b"S", b"V", b"N", b"i") and b"\n" in head[:256]
