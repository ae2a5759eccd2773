"""Pickle streams found at any offset of opaque bytes, in time linear in their size.

A pickle can hide anywhere in bytes a loader might unpickle (a tar member, a chunk file,
decompressed content). Carving tries every `\\x80 <protocol>` header, and done naively
each try re-parses to the end: 80,000 repeated headers in a 160 KB file took minutes.
Here:

1. Each candidate is first *walked*: opcodes and argument lengths only (no stack), with
   a table built from `pickletools`, never copying an argument. A walk ends at STOP, at
   an opcode or argument `pickletools.genops` would also reject, or at the end.
2. Candidates a previous walk stepped on are skipped: the opcode sequence from a
   position does not depend on where parsing began, and starting later only removes
   stack items and memo entries, so such a stream can only fail earlier and name a
   subset of the globals of the walk that covered it.
3. Only walks that reach STOP are scanned for real (`pickle_scan.scan_stream`, over that
   byte range only).
4. All of it draws from one budget proportional to the input (with a ceiling); when the
   budget runs out the result says so with an error stream - the content is then not
   vouched for - instead of silently stopping or running on for minutes.
"""

from __future__ import annotations

import io
import pickletools
import re
import sys

from .pickle_scan import StreamScan, scan_stream

_HEADER = re.compile(rb"\x80[\x02-\x05]")
MAX_WORK = 5_000_000  # budget units (about a microsecond each), whatever the input size

# opcode byte -> (its argument descriptor or None, argument kind): kind >= 0 a fixed
# length; -1 one line; -6 two lines; -2 / -3 / -4 / -5 a 1 / signed 4 / unsigned 4 /
# unsigned 8-byte length followed by that many bytes (pickletools' own constants)
_OPS: dict[int, tuple] = {}
for _op in pickletools.opcodes:
    _a = _op.arg
    _kind = 0 if _a is None else (-6 if _a.name == "stringnl_noescape_pair" else _a.n)
    _OPS[ord(_op.code)] = (_a, _kind)
_STOP = ord(".")
_LEN = {-2: (1, False), -3: (4, True), -4: (4, False), -5: (8, False)}
# arguments whose bytes genops validates beyond their length (numbers and strings
# written as text, UTF-8 text): checked with pickletools' own reader, so that a walk
# fails exactly where genops would
_CHECKED = {
    "decimalnl_short",
    "decimalnl_long",
    "floatnl",
    "stringnl",
    "stringnl_noescape",
    "stringnl_noescape_pair",
    "unicodestringnl",
    "unicodestring1",
    "unicodestring4",
    "unicodestring8",
}


class _Newlines:
    """Next-newline lookups: `bytes.find`, with the last answer reused for every position
    it also answers (walks mostly move forward), and the bytes searched charged."""

    __slots__ = ("data", "lo", "hi")

    def __init__(self, data: bytes):
        self.data, self.lo, self.hi = data, 1, 0

    def after(self, pos: int, budget: list[int]) -> int:
        if self.lo <= pos <= self.hi:
            return self.hi
        nl = self.data.find(b"\n", pos)
        hi = len(self.data) if nl < 0 else nl
        budget[0] -= ((hi - pos) >> 10) + 1
        self.lo, self.hi = pos, hi
        return hi


def walk(data: bytes, pos: int, lines: _Newlines, chain, budget: list[int]) -> int:
    """Follow opcodes from `pos` as `pickletools.genops` would. Every later opcode start
    that is itself a candidate header is appended to `chain` with the walk's step count
    there (`chain` holds pairs). Returns the offset just after STOP, -1 where genops would
    fail, -2 when the budget ran out; `chain[-1]` is then the total step count."""
    n = len(data)
    steps = 0
    try:
        while pos < n:
            if steps >= budget[0]:
                return -2
            code = data[pos]
            if code == 0x80 and steps and pos + 1 < n and 2 <= data[pos + 1] <= 5:
                chain.append(pos)
                chain.append(steps)
            steps += 1
            entry = _OPS.get(code)
            if entry is None:
                return -1
            if code == _STOP:
                return pos + 1
            arg, kind = entry
            start = pos = pos + 1
            if kind >= 0:
                pos += kind
            elif kind in (-1, -6):
                for _ in range(1 if kind == -1 else 2):
                    nl = lines.after(pos, budget)
                    if nl >= n:
                        return -1
                    pos = nl + 1
            else:
                width, signed = _LEN[kind]
                if pos + width > n:
                    return -1
                length = int.from_bytes(data[pos : pos + width], "little", signed=signed)
                if length < 0 or length > sys.maxsize:
                    return -1
                pos += width + length
            if pos > n:
                return -1
            if arg is not None and arg.name in _CHECKED:
                steps += (pos - start) >> 6
                try:
                    arg.reader(io.BytesIO(data[start:pos]))
                except Exception:
                    return -1
        return -1
    finally:
        budget[0] -= steps
        chain.append(steps)


SCAN_COST = 3  # budget units per opcode of a full scan (a walk step is one)


def carve(data: bytes, where: str, max_work: int | None = None) -> list[StreamScan]:
    """Pickle streams with globals found at any offset of `data`; the last entry is an
    error stream when the work budget ran out before every candidate was checked.

    A walk that genops would reject settles every candidate on it (the same failure
    awaits them). A walk that reaches STOP is a chain of candidates sharing that STOP:
    they are scanned in order until one scans cleanly - the later ones then name a
    subset of its globals, or lie inside the stream it found."""
    from array import array
    from bisect import bisect_right, insort

    budget = [max_work if max_work is not None else min(MAX_WORK, 4 * len(data) + (1 << 20))]
    settled = bytearray((len(data) >> 3) + 1)  # bitmap: candidates already decided
    starts: list[int] = []  # found streams, sorted by start; a candidate inside one is skipped
    ends: dict[int, int] = {}
    lines = _Newlines(data)

    def inside_found(p: int) -> bool:
        i = bisect_right(starts, p) - 1
        return i >= 0 and starts[i] < p < ends[starts[i]]

    found: list[StreamScan] = []
    checked = 0
    for m in _HEADER.finditer(data):
        pos = m.start()
        budget[0] -= 1
        if settled[pos >> 3] >> (pos & 7) & 1 or inside_found(pos):
            continue
        chain = array("q", [pos, 0])
        end = walk(data, pos, lines, chain, budget)
        if end == -2 or budget[0] < 0:
            return _in_order(found) + [_stopped(where, pos, len(data), checked)]
        total = chain.pop()
        if end > 0:
            for i in range(0, len(chain), 2):
                q, at = chain[i], chain[i + 1]
                if inside_found(q):
                    break
                cost = SCAN_COST * (total - at)
                if cost > budget[0]:
                    return _in_order(found) + [_stopped(where, q, len(data), checked)]
                checked += 1
                s = scan_stream(data, f"{where} content at byte {q}", q)
                budget[0] -= SCAN_COST * sum(s.opcodes.values())
                if s.error is None:
                    if s.globals:
                        found.append(s)
                        insort(starts, q)
                        ends[q] = s.end
                    break
        for i in range(0, len(chain), 2):
            q = chain[i]
            settled[q >> 3] |= 1 << (q & 7)
    return _in_order(found)


def _in_order(found: list[StreamScan]) -> list[StreamScan]:
    return sorted(found, key=lambda s: s.end)


def _stopped(where: str, pos: int, size: int, checked: int) -> StreamScan:
    return StreamScan(
        where,
        end=pos,
        error=(
            f"carving stopped at byte {pos:,} of {size:,}: more pickle-like byte sequences than "
            f"can be checked in bounded time ({checked:,} checked); the rest is not vouched for"
        ),
    )
