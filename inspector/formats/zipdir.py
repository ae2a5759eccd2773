"""A minimal, strict zip central-directory reader.

torch archives are plain zips (stored records, optional zip64). Python's zipfile builds
a ZipInfo object per member, which for a 10,000-tensor checkpoint costs more than
everything else the open does; this reads the directory in one read and keeps a tuple
per member. Anything it does not understand is an error with one sentence, never a
guess. (The security scan still uses zipfile, plus its own checks of local headers.)
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO, NamedTuple

import numpy as np

from .errors import CheckpointError

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOC = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")


class Member(NamedTuple):
    name: str
    header_offset: int
    compress_size: int
    file_size: int
    method: int
    flags: int
    crc: int


class ZipDirectory:
    """Reads the directory bytes at once, but decodes entries only when asked: opening a
    checkpoint looks up `data.pkl` and a few records by name (a byte search); the full
    list is decoded for the security scan or when every member is needed."""

    def __init__(self, fh: BinaryIO, file_size: int, parsed: ZipDirectory | None = None):
        """`parsed`: a directory already read from the same file, reused with another handle."""
        self.fh = fh
        self.file_size = file_size
        if parsed is not None and parsed.file_size == file_size:
            self._cd, self._count, self.end = parsed._cd, parsed._count, parsed.end
            self.cd_offset, self._columns = parsed.cd_offset, parsed._columns
            self._parsed = parsed._parsed
            if self._parsed:
                self._members, self._names, self._duplicates = parsed.members, parsed.names, parsed.duplicates
            return
        self._parsed = False
        self.end = file_size  # where the end-of-directory record (and its comment) ends
        self._columns: dict[int, Columns | None] = {}
        self._read()

    @property
    def members(self) -> dict[str, Member]:
        self._parse()
        return self._members

    @property
    def names(self) -> list[str]:
        self._parse()
        return self._names

    @property
    def duplicates(self) -> list[str]:
        self._parse()
        return self._duplicates

    def lookup(self, name: str) -> Member | None:
        """The member called `name` (the last one, as a full parse would keep)."""
        if self._parsed:
            return self._members.get(name)
        raw, cd = name.encode("utf-8"), self._cd
        at = cd.rfind(raw)
        while at >= 46:
            h = at - 46
            if cd[h : h + 4] == b"PK\x01\x02" and _CENTRAL.unpack_from(cd, h)[10] == len(raw):
                return self._entry(h)[0]
            at = cd.rfind(raw, 0, at)
        return None

    def names_ending(self, suffix: str) -> list[str]:
        """Names that end with `suffix`, found by a byte search (no full decode)."""
        if self._parsed:
            return [n for n in self._names if n.endswith(suffix)]
        raw, cd, out = suffix.encode("utf-8"), self._cd, []
        at = cd.find(raw)
        while at != -1:
            h = cd.rfind(b"PK\x01\x02", 0, at)
            if h >= 0 and h + 46 + _CENTRAL.unpack_from(cd, h)[10] == at + len(raw):
                out.append(self._entry(h)[0].name)
            at = cd.find(raw, at + 1)
        return out

    def has_prefix(self, prefix: str) -> bool:
        raw, cd = prefix.encode("utf-8"), self._cd
        at = cd.find(raw)
        while at != -1:
            if at >= 46 and cd[at - 46 : at - 42] == b"PK\x01\x02":
                return True
            at = cd.find(raw, at + 1)
        return False

    def _entry(self, pos: int) -> tuple[Member, int]:
        cd = self._cd
        if pos + 46 > len(cd):
            raise CheckpointError("the zip directory is damaged (it ends early)")
        (sig, _, _, flags, method, _, _, crc, csize, usize, nlen, elen, clen, _, _, _, offset) = (
            _CENTRAL.unpack_from(cd, pos)
        )
        if sig != b"PK\x01\x02":
            raise CheckpointError("the zip directory is damaged (bad entry signature)")
        name = cd[pos + 46 : pos + 46 + nlen].decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if usize == 0xFFFFFFFF or csize == 0xFFFFFFFF or offset == 0xFFFFFFFF:
            usize, csize, offset = zip64_extra(
                cd[pos + 46 + nlen : pos + 46 + nlen + elen], usize, csize, offset
            )
        return Member(name, offset, csize, usize, method, flags, crc), pos + 46 + nlen + elen + clen

    def _parse(self) -> None:
        if self._parsed:
            return
        members: dict[str, Member] = {}
        names: list[str] = []
        duplicates: list[str] = []
        pos = 0
        for _ in range(self._count):
            m, pos = self._entry(pos)
            if m.name in members:
                duplicates.append(m.name)
            else:
                names.append(m.name)
            members[m.name] = m
        self._members, self._names, self._duplicates = members, names, duplicates
        self._parsed = True

    def _read(self) -> None:
        fh, size = self.fh, self.file_size
        tail_len = min(size, 65535 + _EOCD.size)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):
            raise CheckpointError("the zip archive is truncated: its central directory is missing")
        _, _, _, _, count, cd_size, cd_offset, comment_len = _EOCD.unpack_from(tail, at)
        eocd_pos = size - tail_len + at
        self.end = eocd_pos + _EOCD.size + comment_len
        if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            loc_pos = eocd_pos - _EOCD64_LOC.size
            if loc_pos < 0:
                raise CheckpointError("the zip64 directory locator is missing")
            fh.seek(loc_pos)
            sig, _, eocd64_pos, _ = _EOCD64_LOC.unpack(fh.read(_EOCD64_LOC.size))
            if sig != b"PK\x06\x07" or eocd64_pos + _EOCD64.size > size:
                raise CheckpointError("the zip64 directory locator is damaged")
            fh.seek(eocd64_pos)
            fields = _EOCD64.unpack(fh.read(_EOCD64.size))
            if fields[0] != b"PK\x06\x06":
                raise CheckpointError("the zip64 end of directory record is damaged")
            count, cd_size, cd_offset = fields[7], fields[8], fields[9]
        if cd_offset + cd_size > size:
            raise CheckpointError("the zip archive is truncated: its directory lies past the end")
        fh.seek(cd_offset)
        cd = fh.read(cd_size)
        if len(cd) != cd_size:
            raise CheckpointError("the zip archive is truncated")
        self._cd, self._count, self.cd_offset = cd, count, cd_offset

    @property
    def raw(self) -> bytes:
        """The directory's bytes as read (`cd_offset` says from where)."""
        return self._cd

    def columns(self, max_rows: int) -> Columns | None:
        """The directory as columns (`directory_columns`), decoded once and kept: the
        verdict reuses what the reader read instead of decoding it again."""
        if max_rows not in self._columns:
            self._columns[max_rows] = directory_columns(self._cd, max_rows)
        return self._columns[max_rows]

    def data_offset(self, m: Member) -> int:
        """Where a member's bytes start (after its local header)."""
        self.fh.seek(m.header_offset)
        head = self.fh.read(_LOCAL.size)
        if len(head) != _LOCAL.size or head[:4] != b"PK\x03\x04":
            raise CheckpointError(f"record {m.name} has a damaged local header")
        nlen, elen = struct.unpack_from("<HH", head, 26)
        start = m.header_offset + _LOCAL.size + nlen + elen
        if start + m.compress_size > self.file_size:
            raise CheckpointError(f"record {m.name} runs past the end of the file: it is truncated")
        return start

    def local(self, m: Member, peek: int = 0) -> tuple[bytes, int, bytes]:
        """(name in the local header, offset of the data, its first `peek` bytes), one read."""
        self.fh.seek(m.header_offset)
        buf = self.fh.read(_LOCAL.size + len(m.name.encode("utf-8", "replace")) + 256 + peek)
        if len(buf) < _LOCAL.size or buf[:4] != b"PK\x03\x04":
            raise CheckpointError(f"record {m.name} has a damaged local header")
        nlen, elen = struct.unpack_from("<HH", buf, 26)
        start = _LOCAL.size + nlen + elen
        head = buf[start : start + peek]
        if len(head) < peek and m.compress_size >= peek:
            self.fh.seek(m.header_offset + start)
            head = self.fh.read(peek)
        return buf[_LOCAL.size : _LOCAL.size + nlen], m.header_offset + start, head

    def read_raw(self, m: Member, start: int, limit: int) -> bytes:
        self.fh.seek(start)
        return self.fh.read(min(m.compress_size, limit))

    def read(self, name: str, limit: int) -> bytes:
        m = self.lookup(name)
        if m is None:
            raise CheckpointError(f"{name} is missing from the archive")
        if m.file_size > limit or m.compress_size > limit:
            raise CheckpointError(f"{name} is {m.file_size:,} bytes, over the {limit:,}-byte limit")
        if m.flags & 0x1:
            raise CheckpointError(f"{name} is encrypted")
        self.fh.seek(self.data_offset(m))
        data = self.fh.read(m.compress_size)
        if m.method == 8:
            try:
                d = zlib.decompressobj(-15)
                data = d.decompress(data, limit + 1)
            except zlib.error as exc:
                raise CheckpointError(f"{name} is damaged ({exc})") from None
        elif m.method != 0:
            raise CheckpointError(f"{name} uses unsupported zip compression method {m.method}")
        if len(data) != m.file_size:
            raise CheckpointError(f"{name} is truncated or damaged (size does not match)")
        return data


def zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """The 64-bit sizes and offset from a zip64 extra field, for each value marked 0xFFFFFFFF."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, ln = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            body = extra[pos + 4 : pos + 4 + ln]
            vals = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
            it = iter(vals)
            if usize == 0xFFFFFFFF:
                usize = next(it, usize)
            if csize == 0xFFFFFFFF:
                csize = next(it, csize)
            if offset == 0xFFFFFFFF:
                offset = next(it, offset)
            return usize, csize, offset
        pos += 4 + ln
    raise CheckpointError("a zip64 entry lacks its size record")


_FIELDS = ("offset", "csize", "usize", "method", "flags", "crc", "nlen")


class Columns(NamedTuple):
    """Central-directory entries as int64 columns, one row per entry in directory order;
    `pos` is where each entry starts in the directory bytes (its name at pos + 46)."""

    pos: np.ndarray
    offset: np.ndarray
    csize: np.ndarray
    usize: np.ndarray
    method: np.ndarray
    flags: np.ndarray
    crc: np.ndarray
    nlen: np.ndarray


def directory_columns(cd: bytes, max_rows: int) -> Columns | None:
    """Every entry a one-by-one decode from byte 0 would take (entries follow each other
    while an entry signature with a whole fixed header is next), decoded at once.

    Proof: every position of the signature with room for a fixed header is listed; when
    the first is 0 and each entry's end is the next listed position, the one-by-one chain
    visits exactly these, and the last one's end is no entry (it would be listed after
    it). Otherwise (a signature inside a name or a comment, a gap, more than `max_rows`,
    a damaged zip64 field) None: decode one by one."""
    b = np.frombuffer(cd, np.uint8)
    if len(b) < 46:
        return None
    at = np.flatnonzero(b[: len(b) - 45] == 0x50)
    at = at[(b[at + 1] == 0x4B) & (b[at + 2] == 1) & (b[at + 3] == 2)]
    if not len(at) or at[0] != 0 or len(at) > max_rows:
        return None
    word = lambda k: words_at(b, at + k).astype(np.int64)  # noqa: E731
    lens, kind = word(28), word(8)  # (name, extra lengths), (flags, method)
    cols = {"nlen": lens & 0xFFFF, "flags": kind & 0xFFFF, "method": kind >> 16, "crc": word(16)}
    cols.update(csize=word(20), usize=word(24), offset=word(42))
    ends = at + 46 + cols["nlen"] + (lens >> 16) + (word(32) & 0xFFFF)  # + comment length
    if not np.array_equal(ends[:-1], at[1:]):
        return None
    big = np.flatnonzero(
        (cols["offset"] == 0xFFFFFFFF) | (cols["csize"] == 0xFFFFFFFF) | (cols["usize"] == 0xFFFFFFFF)
    )
    for i in big.tolist():  # zip64 rows: their 64-bit values from the extra field
        name_end = int(at[i]) + 46 + int(cols["nlen"][i])
        extra = cd[name_end : name_end + int(lens[i] >> 16)]
        try:
            vals = zip64_extra(extra, int(cols["usize"][i]), int(cols["csize"][i]), int(cols["offset"][i]))
        except CheckpointError:
            return None
        if max(vals) >= 1 << 62:
            return None
        cols["usize"][i], cols["csize"][i], cols["offset"][i] = vals
    return Columns(at.astype(np.int64), *(cols[f] for f in _FIELDS))


def words_at(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian 32-bit word at each offset `at` of `buf` (each at least 4 bytes
    before its end), read through the four aligned word views: no per-byte gathering."""
    out = np.empty(len(at), np.uint32)
    rem = at & 3
    for k in range(4):
        pick = rem == k
        if pick.any():
            words = buf[k : k + (len(buf) - k) // 4 * 4].view("<u4")
            out[pick] = words[(at[pick] - k) >> 2]
    return out


class Window:
    """A byte range of a file seen as a file: a zip stored inside another zip (torch.export
    archives, distributed-checkpoint chunks) or a member of a tar is read in place, never
    copied."""

    def __init__(self, fh: BinaryIO, base: int, size: int):
        self.fh, self.base, self.size, self.pos = fh, base, size, 0

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else (self.pos + offset if whence == 1 else self.size + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n is None or n < 0 else min(n, max(0, self.size - self.pos))
        self.fh.seek(self.base + self.pos)
        data = self.fh.read(n)
        self.pos += len(data)
        return data

    def readline(self) -> bytes:  # protocol 0/1 pickles read text lines
        self.fh.seek(self.base + self.pos)
        line = self.fh.readline(max(0, self.size - self.pos))
        self.pos += len(line)
        return line
