"""A tensor's bytes as a read-only numpy view, built only after validation.

Checks, in order: the tensor has a storage and the storage has data in the file; the
record holds at least the bytes the storage declares; shape, stride and offset are
non-negative and every element they address lies inside the storage. Then only the byte
range the tensor spans is mapped (not the record, not the file), so a 470 MB tensor of
a 138 GB file costs a 470 MB mapping, released when the array is dropped.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from .container import contiguous_strides
from .errors import TensorDataError
from .stubs import StorageRef, TensorInfo

_MAX_INDEX = 1 << 62


def extent(t: TensorInfo) -> tuple[int, int]:
    """(first, last + 1) storage element indices the tensor addresses; validates."""
    if len(t.shape) != len(t.stride):
        raise TensorDataError(f"shape {t.shape} and stride {t.stride} have different lengths")
    if any(s < 0 for s in t.shape):
        raise TensorDataError(f"negative size in shape {t.shape}")
    if any(s < 0 for s in t.stride):
        raise TensorDataError(f"negative stride {t.stride} is not supported")
    if t.storage_offset < 0:
        raise TensorDataError(f"negative storage offset {t.storage_offset}")
    numel = t.numel
    if numel == 0:
        return t.storage_offset, t.storage_offset
    last = t.storage_offset + sum((size - 1) * st for size, st in zip(t.shape, t.stride))
    if last >= _MAX_INDEX or numel >= _MAX_INDEX:
        raise TensorDataError(f"shape {t.shape} with stride {t.stride} overflows")
    return t.storage_offset, last + 1


def validate(t: TensorInfo) -> StorageRef:
    s = t.storage
    if s is None:
        raise TensorDataError("the tensor has no stored data (a meta or fake tensor)")
    if s.error:
        raise TensorDataError(s.error)
    if t.dtype.itemsize != s.dtype.itemsize and s.dtype.name != "uint8":
        raise TensorDataError(f"tensor dtype {t.dtype.name} does not match storage dtype {s.dtype.name}")
    start, stop = extent(t)
    storage_elems = s.nbytes // t.dtype.itemsize
    if stop > storage_elems:
        raise TensorDataError(
            f"the tensor addresses element {stop - 1:,} but its storage holds {storage_elems:,}"
        )
    if s.record_size is not None and s.record_size < s.nbytes:
        raise TensorDataError(
            f"storage {s.key} declares {s.nbytes:,} bytes but the file holds {s.record_size:,}"
        )
    return s


def tensor_array(container, path: str, t: TensorInfo, byteorder: str = "little") -> np.ndarray:
    """The tensor's elements as stored (raw dtype: bf16 as uint16, ...), read-only."""
    s = t.storage
    if s is None:
        raise TensorDataError("the tensor has no stored data (a meta or fake tensor)")
    container, path = s.source or container, s.path or path
    container.locate(s)  # finds the record first: its size is part of the validation
    validate(t)
    raw = t.dtype.numpy_raw(byteorder)
    item = t.dtype.itemsize
    start, stop = extent(t)
    if stop == start:
        return np.empty(t.shape, dtype=raw)
    span = stop - start
    if s.compressed:
        data = container.read_record(s)
        buf = np.frombuffer(data, dtype=raw, count=span, offset=start * item)
    else:
        buf = _map_range(path, s.data_offset + start * item, span * item, raw)
    arr = np.lib.stride_tricks.as_strided(
        buf, shape=t.shape, strides=tuple(st * item for st in t.stride), writeable=False
    )
    return arr


def _map_range(path: str, offset: int, length: int, raw: np.dtype) -> np.ndarray:
    size = os.path.getsize(path)
    if offset + length > size:
        raise TensorDataError(f"the tensor's bytes run past the end of the file ({size:,} bytes)")
    gran = mmap.ALLOCATIONGRANULARITY
    base = offset - offset % gran
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        mm = mmap.mmap(fd, length + (offset - base), access=mmap.ACCESS_READ, offset=base)
    except (OSError, ValueError, OverflowError) as exc:
        raise TensorDataError(f"the tensor's bytes cannot be mapped ({exc})") from None
    finally:
        os.close(fd)
    return np.frombuffer(mm, dtype=raw, count=length // raw.itemsize, offset=offset - base)


class StoredTensor:
    """A contiguous tensor read in chunks with pread: memory stays bounded by the chunk,
    not by the tensor (a mapping would keep every page it touched resident)."""

    def __init__(self, path: str, offset: int, t: TensorInfo, raw: np.dtype):
        self.path = path
        self.offset = offset
        self.shape = t.shape
        self.size = t.numel
        self.raw = raw
        self.item = raw.itemsize

    def _read(self, fd: int, start: int, count: int) -> np.ndarray:
        want = count * self.item
        buf = os.pread(fd, want, self.offset + start * self.item)
        if len(buf) != want:
            raise TensorDataError("the tensor's bytes run past the end of the file")
        return np.frombuffer(buf, dtype=self.raw)

    def raw_chunks(self, chunk: int):
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            for start in range(0, self.size, chunk):
                yield self._read(fd, start, min(chunk, self.size - start))
        finally:
            os.close(fd)

    def runs(self, starts, length: int) -> np.ndarray:
        """Elements [s, s+length) for each start, concatenated (for previews)."""
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            return np.concatenate([self._read(fd, int(s), min(length, self.size - int(s))) for s in starts])
        finally:
            os.close(fd)


def tensor_source(container, path: str, t: TensorInfo, byteorder: str = "little"):
    """What statistics read: a StoredTensor for contiguous uncompressed tensors, else the
    validated mapped view."""
    s = t.storage
    if s is None:
        raise TensorDataError("the tensor has no stored data (a meta or fake tensor)")
    container, path = s.source or container, s.path or path
    container.locate(s)
    validate(t)
    contiguous = contiguous_strides(t.shape) == tuple(t.stride) or t.numel <= 1
    if contiguous and not s.compressed and hasattr(os, "pread") and t.numel > 0:
        start, _ = extent(t)
        return StoredTensor(path, s.data_offset + start * t.dtype.itemsize, t, t.dtype.numpy_raw(byteorder))
    return tensor_array(container, path, t, byteorder)
