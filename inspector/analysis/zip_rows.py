"""A zip's directory entries as numpy columns over the mapped file.

An 80,000-member torch.save zip read member by member costs the verdict a seek, a read
and a few objects per member. Here the local header, the local name and the first bytes
of every member are read at once (fancy indexing over an mmap of the file), and a member
becomes an entry only when the verdict must look at it one by one (`zip_archives.plain_rows`
says which need not). `build` returns None unless this is exactly what the
one-by-one view would hold; the caller then takes that path. See docs/ARCHITECTURE.md
(safety model).
"""

from __future__ import annotations

import numpy as np

from ..formats.zipdir import Columns, words_at

_LOCAL_SIG = 0x04034B50  # b"PK\x03\x04" read little-endian


class Rows:
    """One row per directory entry, in directory order, all names distinct and ASCII."""

    def __init__(self, buf: np.ndarray, cd: bytes, cols: Columns, source: str):
        self.buf, self.cd, self.cols, self.source = buf, cd, cols, source
        self.start = np.empty(0, np.int64)  # where each member's data starts; -1: no local header
        self.name_ok = np.empty(0, bool)  # the local header names it exactly as the directory
        self.names = np.empty(0, np.uint8)  # every name's bytes, one after the other
        self.first = np.empty(0, np.int64)  # where each row's name starts in `names`
        self.text = b""  # every name followed by a newline

    def __len__(self) -> int:
        return len(self.cols.pos)

    def fields(self, i: int) -> tuple:
        """Row `i` as `zip_members.Entry`'s fields, decoded as a one-by-one read decodes."""
        c = self.cols
        flags, at = int(c.flags[i]), int(c.pos[i]) + 46
        name = self.cd[at : at + int(c.nlen[i])].decode("utf-8" if flags & 0x800 else "cp437", "replace")
        return (
            name,
            int(c.offset[i]),
            int(c.csize[i]),
            int(c.usize[i]),
            int(c.method[i]),
            flags,
            int(c.crc[i]),
            self.source,
        )

    def name_text(self) -> str:
        """Every name, lower-cased, each followed by a newline (names are ASCII)."""
        return self.text.decode("ascii").lower()


def build(buf: np.ndarray, cd: bytes, cols: Columns, source: str) -> Rows | None:
    """The rows, or None when a one-by-one view could differ: a name that is empty, runs
    past the directory, is not ASCII (decoding is the identity only for ASCII, under
    both UTF-8 and cp437) or repeats (duplicates are judged one by one), or a name
    holds a newline (the names' text below would not split back into them)."""
    n, cdb, nlen = len(cols.pos), np.frombuffer(cd, np.uint8), cols.nlen
    if not n or (nlen == 0).any() or int((cols.pos + 46 + nlen).max()) > len(cdb):
        return None
    rows = Rows(buf, cd, cols, source)
    rows.first = first = np.cumsum(nlen) - nlen
    flat = np.arange(int(nlen.sum()))
    rows.names = cdb[np.repeat(cols.pos + 46 - first, nlen) + flat]
    if (rows.names >= 0x80).any():
        return None
    rows.text = np.insert(rows.names, first + nlen, 0x0A).tobytes()
    parts = rows.text.split(b"\n")  # n names and the empty rest: distinct iff n + 1 kinds
    if len(parts) != n + 1 or len(set(parts)) != n + 1:
        return None
    _local(rows, flat)
    return rows


def _local(rows: Rows, flat: np.ndarray) -> None:
    """Each member's local header read where the directory says (as `ZipView.data_start`
    does one by one): its signature, where its data starts, and whether its name is the
    directory's byte for byte."""
    buf, c, size = rows.buf, rows.cols, len(rows.buf)
    has = c.offset + 30 <= size
    at = np.where(has, c.offset, 0)
    ok = has & (words_at(buf, at) == _LOCAL_SIG)
    lens = words_at(buf, at + 26).astype(np.int64)  # name length, extra length
    nlen, elen = lens & 0xFFFF, lens >> 16
    rows.start = np.where(ok, at + 30 + nlen + elen, -1)
    same = ok & (nlen == c.nlen) & (at + 30 + c.nlen <= size)
    where = np.repeat(np.where(same, at + 30, 0) - rows.first, c.nlen) + flat
    differs = buf[np.minimum(where, size - 1)] != rows.names
    rows.name_ok = same & ~np.logical_or.reduceat(differs, rows.first)


def classes(rows: Rows, table: np.ndarray) -> np.ndarray:
    """Per row, the OR of `table[b]` over the bytes b of its name (one pass for several
    byte classes)."""
    return np.bitwise_or.reduceat(table[rows.names], rows.first)


def walk_proved(rows: Rows) -> bool:
    """True when walking the local headers from byte 0 (`ZipView._local_walk`) provably
    finds no member but these rows (same name, same offset), so the walk need not run.

    The walk takes a header it can size (signature, no data descriptor 0x8, method 0 or
    8, a name, data inside the file) and goes on after its data; at anything else it
    stops. Proved: the rows it can size, in offset order from byte 0, follow each other
    exactly, each named as the directory names it, and where the chain ends the walk
    stops (no signature there, or a header it cannot size). A zip64 size in a local
    header, a gap, an overlap or a differing name: not proved (the walk runs)."""
    c, buf, size = rows.cols, rows.buf, len(rows.buf)
    order = np.argsort(c.offset, kind="stable")
    o, ok = c.offset[order], rows.start[order] >= 0  # signature where the directory says
    at = np.where(ok, o, 0)
    kind, lens = words_at(buf, at + 6).astype(np.int64), words_at(buf, at + 26).astype(np.int64)
    csize, usize = words_at(buf, at + 18).astype(np.int64), words_at(buf, at + 22).astype(np.int64)
    if ((csize == 0xFFFFFFFF) | (usize == 0xFFFFFFFF))[ok].any():
        return False
    end = o + 30 + (lens & 0xFFFF) + (lens >> 16) + csize
    sized = ok & ((kind & 0x8) == 0) & np.isin(kind >> 16, (0, 8)) & ((lens & 0xFFFF) > 0) & (end <= size)
    clean = sized & rows.name_ok[order]
    if o[0] != 0:
        return _stops_at(buf, 0)
    k = int(np.argmin(clean)) if not clean.all() else len(o)  # the first row the walk cannot take
    if k and not np.array_equal(end[: k - 1], o[1:k]):
        return False
    here = int(end[k - 1]) if k else 0
    j = int(np.searchsorted(o, here))
    if j < len(o) and o[j] == here:  # on a row: the walk must stop there, not take it
        return not sized[j]
    return _stops_at(buf, here)


def _stops_at(buf: np.ndarray, pos: int) -> bool:
    """The walk stops at `pos`: no whole local header with its signature starts there."""
    return pos + 30 > len(buf) or bytes(buf[pos : pos + 4]) != b"PK\x03\x04"
