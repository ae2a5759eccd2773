"""Every zip member any reader could see, and its bytes, read the way loaders read them.

Readers disagree on which directory a zip has: torch's reader (miniz) takes the end
record's directory, or the zip64 one its locator points to; Python's zipfile takes the
end record, streaming readers walk the local headers from the first byte. An attacker
who hides a member from one view shows it to another, so the verdict takes the union:
the directory named by every end record and zip64 locator in the tail, and the local
headers walked from the start. Member contents are inflated as a stream (never skipped
for size); the verdict reads what it needs of them through `open_member`.
"""

from __future__ import annotations

import io
import mmap
import struct
import zlib
from typing import NamedTuple

import numpy as np

from ..formats.errors import CheckpointError
from ..formats.zipdir import Columns, directory_columns, zip64_extra
from . import zip_rows

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOC = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
MAX_MEMBERS = 200_000
MAX_DIRECTORY = 256 << 20
_WINDOW = 64 << 10
BULK = True  # directories as columns, members as rows; tests turn it off to compare


class Entry(NamedTuple):
    name: str
    header_offset: int  # relative to the archive's base
    compress_size: int
    file_size: int
    method: int
    flags: int
    crc: int
    source: str  # which view found it: 'directory', 'zip64 directory', 'local headers'


class _Block(NamedTuple):
    """One directory's entries: decoded one by one (`listed`) or as columns (`cols`)."""

    label: str
    cd: bytes
    cols: Columns | None
    listed: list[Entry] | None
    count: int

    def entries(self) -> list[Entry]:
        if self.listed is not None:
            return self.listed
        rows = zip_rows.Rows(None, self.cd, self.cols, self.label)
        return [Entry(*rows.fields(i)) for i in range(self.count)]


class ZipView:
    """The members of a zip in `fh` (a file or Window) of `size` bytes."""

    def __init__(self, fh, size: int, zipdir=None):
        """`zipdir`: the reader's `formats.zipdir.ZipDirectory` of this file, whose
        directory bytes (and their decoding) are reused when they are the ones here."""
        self.fh, self.size = fh, size
        self.notes: list[str] = []  # anomalies worth showing
        self.directory_end = size
        self.first_header = None
        self._starts: dict[int, tuple[int, bytes]] = {}  # header offset -> (data start, local name)
        self._buf, self._buf_at = b"", -1  # a window of the file: small reads of many members
        blocks = self._directories(zipdir)
        # one directory, nothing more on the local walk: its entries as numpy rows (the
        # walk itself runs unless the rows prove it finds nothing else)
        self.rows = self._as_rows(blocks)
        walked = [] if self.rows is not None and zip_rows.walk_proved(self.rows) else self._local_walk()
        if walked:
            self.rows = None
        self._entries = None if self.rows is not None else self._union(blocks, walked)

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = [self.entry(i) for i in range(len(self.rows))]
        return self._entries

    def __len__(self) -> int:
        return len(self.rows) if self._entries is None else len(self._entries)

    def entry(self, i: int) -> Entry:
        return Entry(*self.rows.fields(i)) if self._entries is None else self._entries[i]

    def first_offset(self) -> int:
        if self._entries is None:
            return int(self.rows.cols.offset.min())
        return min(e.header_offset for e in self._entries)

    def all_flagged(self, bit: int) -> bool:
        if self._entries is None:
            return bool((self.rows.cols.flags & bit).all())
        return all(e.flags & bit for e in self._entries)

    def _union(self, blocks: list, walked: list[Entry]) -> list[Entry]:
        out, seen = [], set()
        for e in [e for b in blocks for e in b.entries()] + walked:
            key = (e.name, e.header_offset)
            if key not in seen:
                seen.add(key)
                out.append(e)
        names = {}
        for e in out:
            names.setdefault(e.name, set()).add(e.header_offset)
        dup = [n for n, offs in names.items() if len(offs) > 1]
        if dup:
            self.notes.append(f"the archive has more than one member named {dup[0]!r}")
        return out

    def _as_rows(self, blocks: list):
        """The rows of the one directory holding entries, over an mmap of the file; None
        when there are several (the union is taken one by one), the file cannot be
        mapped (a member of another archive, bytes in memory) or `zip_rows.build` says no."""
        full = [b for b in blocks if b.count]
        if not BULK or len(full) != 1 or full[0].cols is None:
            return None
        # members a few KiB apart touch every page: map them all in one call rather
        # than fault them in one by one (sparse ones are faulted where read)
        populate = getattr(mmap, "MAP_POPULATE", 0) if self.size <= full[0].count * 8192 else 0
        try:
            if populate:  # Linux
                mm = mmap.mmap(self.fh.fileno(), 0, flags=mmap.MAP_SHARED | populate, prot=mmap.PROT_READ)
            else:
                mm = mmap.mmap(self.fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (AttributeError, OSError, ValueError, TypeError):
            return None
        buf = np.frombuffer(mm, np.uint8)
        if len(buf) != self.size:
            return None
        return zip_rows.build(buf, full[0].cd, full[0].cols, full[0].label)

    # -- central directories
    def _directories(self, zipdir=None) -> list[_Block]:
        fh, size = self.fh, self.size
        tail_len = min(size, 65535 + _EOCD.size + _EOCD64_LOC.size + 4096)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):  # readers take the last end record only
            return []
        _, _, _, _, count, cd_size, cd_offset, clen = _EOCD.unpack_from(tail, at)
        eocd_pos = size - tail_len + at
        self.directory_end = eocd_pos + _EOCD.size + clen
        cands = [("directory", cd_offset, cd_size, count)]
        loc = at - _EOCD64_LOC.size
        if loc >= 0 and tail[loc : loc + 4] == b"PK\x06\x07":
            _, _, rec, _ = _EOCD64_LOC.unpack_from(tail, loc)
            if rec + _EOCD64.size <= size:
                fh.seek(rec)
                raw = fh.read(_EOCD64.size)
                if raw[:4] == b"PK\x06\x06":
                    f = _EOCD64.unpack(raw)
                    cands.append(("zip64 directory", f[9], f[8], f[7]))
        # a prefix before the archive shifts every offset (self-extracting style)
        shift = eocd_pos - cd_size - cd_offset
        if 0 < shift < size and cd_size < size:
            cands.append(("shifted directory", cd_offset + shift, cd_size, count))
        out, seen_dirs = [], set()
        for label, off, length, _count in cands:
            if off in seen_dirs or off < 0 or length <= 0 or off + length > size:
                continue
            seen_dirs.add(off)
            moved = shift if label == "shifted directory" else 0
            out.append(self._central(label, off, min(length, MAX_DIRECTORY), zipdir, moved))
        return out

    def _central(self, label: str, off: int, length: int, zipdir, shift: int) -> _Block:
        self.fh.seek(off)
        if shift:  # the prefix's first bytes tell: most such candidates are no directory
            if self.fh.read(4) != b"PK\x01\x02":
                return _Block(label, b"", None, [], 0)
            self.fh.seek(off)
        cd = self.fh.read(length)
        if not BULK or shift:
            cols = None
        elif (  # the reader decoded these very bytes already (same place, same content)
            zipdir is not None
            and zipdir.file_size == self.size
            and zipdir.cd_offset == off
            and zipdir.raw == cd
        ):
            cols = zipdir.columns(MAX_MEMBERS)
        else:
            cols = directory_columns(cd, MAX_MEMBERS)
        if cols is not None:
            return _Block(label, cd, cols, None, len(cols.pos))
        out, pos = [], 0
        while pos + 46 <= len(cd) and len(out) < MAX_MEMBERS and cd[pos : pos + 4] == b"PK\x01\x02":
            (_, _, _, flags, method, _, _, crc, csize, usize, nlen, elen, clen, _, _, _, offset) = (
                _CENTRAL.unpack_from(cd, pos)
            )
            raw = cd[pos + 46 : pos + 46 + nlen]
            name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            if 0xFFFFFFFF in (usize, csize, offset):
                try:
                    usize, csize, offset = zip64_extra(
                        cd[pos + 46 + nlen : pos + 46 + nlen + elen], usize, csize, offset
                    )
                except CheckpointError as exc:  # a damaged record: that member cannot be vouched for
                    self.notes.append(f"{label} entry {name!r}: {exc}; not read")
                    pos += 46 + nlen + elen + clen
                    continue
            out.append(Entry(name, offset + shift, csize, usize, method, flags, crc, label))
            pos += 46 + nlen + elen + clen
        return _Block(label, cd, None, out, len(out))

    def _pread(self, pos: int, n: int) -> bytes:
        """`n` bytes at `pos`, through a 64 KiB window: 80,000 members' headers and first
        bytes are read in a few hundred reads instead of 80,000 seeks."""
        at = pos - self._buf_at
        if self._buf_at >= 0 and 0 <= at and at + n <= len(self._buf):
            return self._buf[at : at + n]
        self.fh.seek(pos)
        if n > _WINDOW:
            return self.fh.read(n)
        # a window only where members lie close together (else a 2 GB file with 500
        # tensors would read 64 KiB per header instead of a few hundred bytes)
        near = self._buf_at >= 0 and 0 <= pos - self._buf_at < len(self._buf) + _WINDOW
        self._buf, self._buf_at = self.fh.read(_WINDOW if near else max(n, 512)), pos
        return self._buf[:n]

    # -- local headers, walked from the start
    def _local_walk(self) -> list[Entry]:
        out, pos = [], 0
        while pos + _LOCAL.size <= self.size and len(out) < MAX_MEMBERS:
            head = self._pread(pos, _LOCAL.size)
            if head[:4] != b"PK\x03\x04":
                break
            _, _, flags, method, _, _, crc, csize, usize, nlen, elen = _LOCAL.unpack(head)
            rest = self._pread(pos + _LOCAL.size, nlen + elen)
            name_raw, extra = rest[:nlen], rest[nlen:]
            if 0xFFFFFFFF in (csize, usize):
                try:
                    usize, csize, _ = zip64_extra(extra, usize, csize, 0)
                except CheckpointError:
                    break
            if self.first_header is None:
                self.first_header = pos
            if (
                flags & 0x8
                or method not in (0, 8)
                or not nlen
                or pos + _LOCAL.size + nlen + elen + csize > self.size
            ):
                break  # sizes after the data, or not a member any reader would take
            name = name_raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            out.append(Entry(name, pos, csize, usize, method, flags, crc, "local headers"))
            self._starts[pos] = (pos + _LOCAL.size + nlen + elen, name_raw)
            pos += _LOCAL.size + nlen + elen + csize
        return out

    # -- reading
    def data_start(self, e: Entry) -> tuple[int, bytes]:
        """(offset of the member's data, the name in its local header)."""
        known = self._starts.get(e.header_offset)
        if known is not None:
            return known
        head = self._pread(e.header_offset, _LOCAL.size)
        if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
            raise ValueError(f"member {e.name} has no local header where the directory says")
        nlen, elen = struct.unpack_from("<HH", head, 26)
        local_name = self._pread(e.header_offset + _LOCAL.size, nlen)
        self._starts[e.header_offset] = out = (e.header_offset + _LOCAL.size + nlen + elen, local_name)
        return out

    def open_member(self, e: Entry, limit: int | None = None) -> MemberStream:
        start, _ = self.data_start(e)
        return MemberStream(self.fh, start, e.compress_size, e.method, limit)

    def head(self, e: Entry, n: int = 64, start: int | None = None) -> bytes:
        """The first `n` bytes of the member's content (`start`: its data_start, known)."""
        if e.method == 0:
            if start is None:
                start, _ = self.data_start(e)
            return self._pread(start, min(n, e.compress_size))
        return self.open_member(e, n).read(n)

    def read(self, e: Entry, limit: int) -> bytes:
        return self.open_member(e, limit).read(limit)


class _Unbounded:
    """bz2/lzma decompressors behind zlib's (data, max_length) interface."""

    def __init__(self, d):
        self.d = d

    @property
    def unconsumed_tail(self) -> bytes:  # output still pending inside the decompressor
        pending = getattr(self.d, "needs_input", True) is False and not getattr(self.d, "eof", False)
        return b"\0" if pending else b""

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if data == b"\0" and self.unconsumed_tail:
            data = b""  # continue with what the decompressor holds
        try:
            try:
                return self.d.decompress(data, max_length)
            except TypeError:  # zipfile's LZMA wrapper takes no max_length
                return self.d.decompress(data)
        except (OSError, EOFError, ValueError) as exc:
            raise zlib.error(str(exc)) from None


class MemberStream(io.RawIOBase):
    """A member's bytes as a readable stream: stored ones read in place, deflated ones
    inflated as they are read, so a huge member is scanned without holding it."""

    def __init__(self, fh, start: int, length: int, method: int, limit: int | None):
        self.fh, self.start, self.length, self.method = fh, start, length, method
        self.raw_pos = 0
        self.limit = limit
        self.out = 0
        self.buf = b""
        if method == 8:
            self.z = zlib.decompressobj(-15)
        elif method in (12, 14):  # bzip2, lzma: Python's zipfile (numpy.load) reads them
            import zipfile

            self.z = _Unbounded(zipfile._get_decompressor(method))
        elif method == 0:
            self.z = None
        else:
            raise ValueError(f"zip compression method {method} is not supported")
        self.truncated = False

    def readable(self):
        return True

    def _fill(self, want: int) -> None:
        """Grow the buffer to `want` bytes (or the member's end), inflating only as much as
        asked: a small compressed member that claims gigabytes costs what is read."""
        try:
            while len(self.buf) < want:
                room = max(want - len(self.buf), 1 << 16)
                if self.z is not None and self.z.unconsumed_tail:
                    self.buf += self.z.decompress(self.z.unconsumed_tail, room)
                    continue
                if self.raw_pos >= self.length:
                    break
                self.fh.seek(self.start + self.raw_pos)
                chunk = self.fh.read(min(1 << 20, self.length - self.raw_pos))
                if not chunk:
                    self.raw_pos = self.length
                    break
                self.raw_pos += len(chunk)
                self.buf += chunk if self.z is None else self.z.decompress(chunk, room)
        except zlib.error as exc:
            raise ValueError(f"the compressed data is damaged ({exc})") from None

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = (self.limit or (1 << 30)) - self.out
        if self.limit is not None:
            n = min(n, max(0, self.limit - self.out))
            if n == 0 and self.out >= self.limit:
                self.truncated = True
        self._fill(n)
        data, self.buf = self.buf[:n], self.buf[n:]
        self.out += len(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        line = b""
        while not line.endswith(b"\n") and (size < 0 or len(line) < size):
            self._fill(64)
            if not self.buf:
                break
            cut = self.buf.find(b"\n")
            take = len(self.buf) if cut < 0 else cut + 1
            if size >= 0:
                take = min(take, size - len(line))
            line += self.read(take)
        return line

    def peek(self, n: int = 1) -> bytes:
        self._fill(n)
        return self.buf[: max(n, 1)]

    def tell(self) -> int:
        return self.out

    def seekable(self) -> bool:
        return False
