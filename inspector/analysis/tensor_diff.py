"""Two tensors compared chunk by chunk, in bounded memory, without loading either.

Pass 1 compares the stored bytes piece by piece (same dtype only) and stops at the first
difference: identical tensors cost one read of each, and two ranges that are holes of
sparse files (docs/FACTS.md, Larger than memory) are known to be zeros in both without
reading them. Only a tensor that differs gets pass 2, which decodes both (the same
decoding as `ckpt stats`, analysis/decode.py) and accumulates in float64:

- max |A-B| over positions where both are finite;
- relative L2 change ||A-B|| / ||A|| and cosine similarity A.B / (||A|| ||B||);
- the fraction of elements changed: |a-b| > atol + rtol*|b| (torch.isclose's rule;
  with the defaults 0, 0 any different value), a NaN/Inf that differs counts as changed
  and two NaNs at one position as equal;
- mean and population std of each (finite values, float64 sums).
Memory is a few chunks of CHUNK elements whatever the tensor's size.
"""

from __future__ import annotations

import errno
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..formats.dtypes import DType
from ..formats.errors import CheckpointError
from .decode import BLOCK, CHUNK, decode, iter_c_order

FLOAT_KINDS = ("float", "bfloat16", "float8")


class DiffCancelled(CheckpointError):
    """The comparison was cancelled (by the window's Cancel)."""

    def __init__(self, message: str = "cancelled"):
        super().__init__(message)


class Meter:
    """Progress of a whole comparison: `done` bytes covered of `total` (holes included),
    `read` bytes actually read, and a cancel flag. Shaped like ops.writer.Progress
    (`total`, `done`, `cancelled`), so the window polls it the same way."""

    def __init__(self, total: int = 0):
        self.total, self.done, self.read, self.cancelled = total, 0, 0, False


def _advance(meter, covered: int, read: int) -> None:
    if meter is None:
        return
    meter.done += covered
    meter.read = getattr(meter, "read", 0) + read
    if getattr(meter, "cancelled", False):
        raise DiffCancelled()


@dataclass
class TensorDiff:
    numel: int
    identical: bool
    changed: int = 0  # elements outside the tolerance
    max_abs: float = 0.0
    rel_l2: float | None = 0.0
    cosine: float | None = None
    norm_a: float | None = None
    norm_b: float | None = None
    mean_a: float | None = None
    mean_b: float | None = None
    std_a: float | None = None
    std_b: float | None = None
    nonfinite_a: int = 0  # NaN and Inf elements
    nonfinite_b: int = 0
    bytes_read: int = 0
    floats: bool = False
    notes: list = field(default_factory=list)

    @property
    def frac_changed(self) -> float:
        return self.changed / self.numel if self.numel else 0.0

    def to_json(self) -> dict:
        out = {
            k: getattr(self, k)
            for k in (
                "numel",
                "identical",
                "changed",
                "max_abs",
                "rel_l2",
                "cosine",
                "norm_a",
                "norm_b",
                "mean_a",
                "mean_b",
                "std_a",
                "std_b",
                "nonfinite_a",
                "nonfinite_b",
                "bytes_read",
            )
        }
        out["frac_changed"] = self.frac_changed
        out["delta_mean"] = (
            0.0
            if self.identical and self.floats
            else self.mean_b - self.mean_a
            if None not in (self.mean_a, self.mean_b)
            else None
        )
        out["delta_std"] = (
            0.0
            if self.identical and self.floats
            else self.std_b - self.std_a
            if None not in (self.std_a, self.std_b)
            else None
        )
        return out


# ---- pieces: raw element arrays, or an int n for n zero elements known from a hole ----------
_SPARSE = hasattr(os, "SEEK_DATA") and hasattr(os, "SEEK_HOLE")


def _seek(fd: int, pos: int, whence: int, end: int) -> int:
    try:
        return min(os.lseek(fd, pos, whence), end)
    except OSError as exc:  # ENXIO: no data at or after pos (the range is validated)
        if exc.errno == errno.ENXIO:
            return end
        raise


def _extents(fd: int, pos: int, end: int, item: int):
    """(start, stop, is_hole) pieces of [pos, end), cut at element boundaries; holes of a
    sparse file read as zeros, so they need not be read at all. Without SEEK_DATA (or on
    a filesystem that does not report holes) the whole range is one data piece."""
    if not _SPARSE:
        yield pos, end, False
        return
    while pos < end:
        data = _seek(fd, pos, os.SEEK_DATA, end)
        hole_end = pos + (data - pos) // item * item
        if hole_end > pos:
            yield pos, hole_end, True
            pos = hole_end
            continue
        stop = _seek(fd, pos, os.SEEK_HOLE, end)
        stop = min(end, pos + max(item, -(-(stop - pos) // item) * item))
        yield pos, stop, False
        pos = stop


def _stored_pieces(src, chunk: int, meter):
    """Reads into one reused buffer (a fresh bytes object per read costs ~5x the read);
    a piece is valid until the next one of the same stream is asked for - consumers here
    use each piece before asking for the next."""
    from ..formats.errors import TensorDataError

    fd = os.open(src.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    buf = np.empty(min(chunk, src.size) * src.item, dtype=np.uint8)
    try:
        end_all = src.offset + src.size * src.item
        for start in range(0, src.size, chunk):
            off = src.offset + start * src.item
            end = min(end_all, off + chunk * src.item)
            for lo, hi, hole in _extents(fd, off, end, src.item):
                n = (hi - lo) // src.item
                if hole:
                    _advance(meter, hi - lo, 0)
                    yield n
                    continue
                view = buf[: hi - lo]
                got = _read_into(fd, view, lo)
                if got != hi - lo:
                    raise TensorDataError("the tensor's bytes run past the end of the file")
                _advance(meter, got, got)
                yield view.view(src.raw)
    finally:
        os.close(fd)


def _read_into(fd: int, view: np.ndarray, offset: int) -> int:
    done = 0
    while done < view.size:
        if hasattr(os, "preadv"):
            n = os.preadv(fd, [memoryview(view[done:])], offset + done)
        else:
            data = os.pread(fd, view.size - done, offset + done)
            view[done : done + len(data)] = np.frombuffer(data, np.uint8)
            n = len(data)
        if n <= 0:
            break
        done += n
    return done


def pieces(src, chunk: int = CHUNK, meter=None):
    """The tensor's elements in C order as raw pieces (holes as counts of zeros)."""
    if all(hasattr(src, a) for a in ("path", "offset", "item", "raw", "size")):
        yield from _stored_pieces(src, chunk, meter)
        return
    for raw in _c_order(src, chunk):
        _advance(meter, raw.nbytes, raw.nbytes)
        yield raw


def _c_order(arr, chunk: int):
    """C-order chunks of a mapped array; a strided one goes a block of whole rows at a time
    (decode.iter_c_order goes one row at a time, one element at a time for 1-D)."""
    if hasattr(arr, "raw_chunks") or arr.flags.c_contiguous or arr.ndim == 0:
        yield from iter_c_order(arr, chunk)
        return
    row = max(1, arr.size // max(1, arr.shape[0]))
    step = max(1, chunk // row)
    for i in range(0, arr.shape[0], step):
        yield np.ascontiguousarray(arr[i : i + step]).reshape(-1)


def _size(p) -> int:
    return p if isinstance(p, int) else p.size


def _split(p, n):
    if isinstance(p, int):
        return n, (p - n or None)
    return p[:n], (p[n:] if p.size > n else None)


def aligned(pa, pb):
    """Pairs of equally long pieces from two piece streams."""
    ia, ib = iter(pa), iter(pb)
    a = b = None
    while True:
        if a is None:
            a = next(ia, None)
        if b is None:
            b = next(ib, None)
        if a is None or b is None:
            return
        n = min(_size(a), _size(b))
        xa, a = _split(a, n)
        xb, b = _split(b, n)
        yield xa, xb


def _same_bytes(a, b) -> bool:
    if isinstance(a, int) and isinstance(b, int):
        return True
    if isinstance(a, int):
        a, b = b, a
    a, b = (
        np.ascontiguousarray(a).view(np.uint8),
        (None if isinstance(b, int) else np.ascontiguousarray(b).view(np.uint8)),
    )
    wide = np.uint64 if a.size % 8 == 0 else np.uint8  # 8 bytes at a time where it fits
    if b is None:
        return not a.view(wide).any()
    return np.array_equal(a.view(wide), b.view(wide))


def _materialize(p, raw: np.dtype) -> np.ndarray:
    return np.zeros(p, dtype=raw) if isinstance(p, int) else p


# ---- pass 2 ----------------------------------------------------------------------------------
class _Side:
    """float64 count, sum and sum of squares of one tensor's finite values (a shifted
    algorithm is not needed at these magnitudes: float32 sources keep var's relative
    error near 1e-16 * (mean/std)^2)."""

    __slots__ = ("bad", "n", "q", "s")

    def __init__(self):
        self.n, self.s, self.q, self.bad = 0, 0.0, 0.0, 0

    def add(self, x: np.ndarray, q: float | None = None) -> None:
        s = float(x.sum())
        q = float(np.dot(x, x)) if q is None else q
        if math.isfinite(s) and math.isfinite(q):
            self.n, self.s, self.q = self.n + x.size, self.s + s, self.q + q
            return
        fin = x[np.isfinite(x)]
        self.bad += x.size - fin.size
        self.n += fin.size
        self.s += float(fin.sum())
        self.q += float(np.dot(fin, fin))

    def mean_std(self):
        if not self.n:
            return None, None
        m = self.s / self.n
        return m, math.sqrt(max(self.q / self.n - m * m, 0.0))


class _PairAccumulator:
    def __init__(self, dta: DType, dtb: DType, raw_a, raw_b, atol: float, rtol: float):
        self.dta, self.dtb, self.raw_a, self.raw_b = dta, dtb, raw_a, raw_b
        self.atol, self.rtol = atol, rtol
        self.sa, self.sb = _Side(), _Side()
        self.max_abs = 0.0
        self.diff2 = self.dot = 0.0  # float64 sums over positions where both are finite
        self.changed = 0

    def add_identical(self, a) -> None:
        if isinstance(a, int):  # a run of zeros in both
            self.sa.n += a
            self.sb.n += a
            return
        for i in range(0, a.size, BLOCK):
            x = decode(a[i : i + BLOCK], self.dta).astype(np.float64)
            before = self.sa.q
            self.sa.add(x)
            q = self.sa.q - before
            self.sb.add(x, q)  # with NaN/Inf, add() recounts the finite values itself
            self.dot += q

    def add_pair(self, a, b) -> None:
        a, b = _materialize(a, self.raw_a), _materialize(b, self.raw_b)
        for i in range(0, a.size, BLOCK):
            xa = decode(a[i : i + BLOCK], self.dta).astype(np.float64)
            xb = decode(b[i : i + BLOCK], self.dtb).astype(np.float64)
            bad = self.sa.bad + self.sb.bad
            self.sa.add(xa)
            self.sb.add(xb)
            if self.sa.bad + self.sb.bad != bad:  # NaN/Inf in this block: compare them apart
                fin = np.isfinite(xa) & np.isfinite(xb)
                na, nb = xa[~fin], xb[~fin]
                same = (na == nb) | (np.isnan(na) & np.isnan(nb))
                self.changed += int(np.count_nonzero(~same))
                xa, xb = xa[fin], xb[fin]
                if xa.size == 0:
                    continue
            d = xa - xb
            hi, lo = float(d.max()), float(d.min())
            self.max_abs = max(self.max_abs, hi, -lo)
            self.diff2 += float(np.dot(d, d))
            self.dot += float(np.dot(xa, xb))
            if self.atol == 0 and self.rtol == 0:
                self.changed += int(np.count_nonzero(d))
            else:
                self.changed += int(np.count_nonzero(np.abs(d) > self.atol + self.rtol * np.abs(xb)))

    def result(self, numel: int, floats: bool) -> TensorDiff:
        na, nb = math.sqrt(self.sa.q), math.sqrt(self.sb.q)
        dn = math.sqrt(self.diff2)
        rel = dn / na if na > 0 else (0.0 if dn == 0 else math.inf)
        cos = self.dot / (na * nb) if na > 0 and nb > 0 else None
        if cos is not None:
            cos = max(-1.0, min(1.0, cos))
        out = TensorDiff(
            numel=numel,
            identical=False,
            changed=self.changed,
            max_abs=self.max_abs,
            rel_l2=rel,
            cosine=cos,
            norm_a=na,
            norm_b=nb,
            nonfinite_a=self.sa.bad,
            nonfinite_b=self.sb.bad,
        )
        if floats:
            (out.mean_a, out.std_a), (out.mean_b, out.std_b) = self.sa.mean_std(), self.sb.mean_std()
        return out


def compare_sources(
    src_a,
    src_b,
    dta: DType,
    dtb: DType,
    raw_a: np.dtype,
    raw_b: np.dtype,
    atol: float = 0.0,
    rtol: float = 0.0,
    chunk: int = CHUNK,
    meter=None,
    reopen=None,
) -> TensorDiff:
    """Compare two tensors of equal element count given as chunked sources (Checkpoint.source).
    `reopen()` gives fresh sources for pass 2 (defaults to reusing these: sources re-iterate)."""
    numel = src_a.size
    floats = dta.kind in FLOAT_KINDS and dtb.kind in FLOAT_KINDS
    same_dtype = dta.name == dtb.name and raw_a == raw_b
    start = getattr(meter, "read", 0)
    covered = getattr(meter, "done", 0)
    if same_dtype:
        differs = False
        for a, b in aligned(pieces(src_a, chunk, meter), pieces(src_b, chunk, meter)):
            if not _same_bytes(a, b):
                differs = True
                break
        if not differs:
            # cosine is 1 by definition for identical tensors (norms are not read for them)
            return TensorDiff(
                numel=numel,
                identical=True,
                rel_l2=0.0,
                cosine=1.0,
                floats=floats,
                bytes_read=getattr(meter, "read", 0) - start,
            )
    if reopen is not None:
        src_a, src_b = reopen()
    if meter is not None and same_dtype:  # pass 2 covers the tensor again: progress restarts
        meter.done = covered
    acc = _PairAccumulator(dta, dtb, raw_a, raw_b, atol, rtol)
    for a, b in aligned(pieces(src_a, chunk, meter), pieces(src_b, chunk, meter)):
        if same_dtype and _same_bytes(a, b):
            acc.add_identical(a)
        else:
            acc.add_pair(a, b)
    out = acc.result(numel, floats)
    out.floats = floats
    out.bytes_read = getattr(meter, "read", 0) - start
    return out
