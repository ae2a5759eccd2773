"""torch.save streams held inside something else, read with our own readers.

- `torch.storage._load_from_bytes(b'...')`: how a plain `pickle.dump` (or `copy.deepcopy`)
  of a tensor stores its storage. The bytes are a complete legacy torch.save stream (magic
  number, protocol, sys info, the storage's persistent id, the key list, the raw bytes);
  torch itself would `torch.load` them. We read them with LegacyContainer (or, for a zip,
  ZipContainer) over the bytes in memory, and the tensor's data comes from those bytes.
- Members of another archive (a stable-baselines3 `.zip`, a zip of `.pth` files) that had
  to be inflated into memory.

Storages read from memory are marked `compressed` with this module's container as their
`source`: tensor_data then asks `read_record` for the bytes instead of mapping the file.
"""

from __future__ import annotations

import io
import itertools
import threading

from .container import Container
from .errors import CheckpointError, TensorDataError
from .limits import Limits
from .stubs import StorageRef
from .unpickler import set_bytes_reader

_local = threading.local()
MAX_NESTING = 2  # a storage's bytes never legitimately hold further nested streams
_serial = itertools.count(1)


class BytesContainer(Container):
    """Storages whose bytes lie in a buffer in memory (offsets are into the buffer)."""

    def __init__(self, data: bytes, label: str):
        self.data = memoryview(data)
        self.label = label

    def read_record(self, ref: StorageRef) -> memoryview:
        if ref.data_offset is None or ref.record_size is None:
            raise TensorDataError(ref.error or f"storage {ref.key} has no data")
        return self.data[ref.data_offset : ref.data_offset + ref.record_size]


class MemoryZip(Container):
    """A torch.save zip held in memory: records located by the inner reader."""

    def __init__(self, inner, data: bytes):
        self.inner = inner
        self.data = memoryview(data)

    def locate(self, ref: StorageRef) -> None:
        self.inner.locate(ref)
        ref.compressed = True  # read through read_record, never by mapping a file

    def read_record(self, ref: StorageRef):
        m = self.inner.dir.lookup(ref.record)
        if m is not None and m.method != 0:
            return self.inner.read_record(ref)
        return self.data[ref.data_offset : ref.data_offset + ref.record_size]


def read_torch_bytes(data: bytes, limits: Limits, what: str, counter=None):
    """The object a torch.save stream (legacy or zip) in memory holds, and its storages
    (each readable from memory). Raises CheckpointError naming `what`."""
    depth = getattr(_local, "depth", 0)
    if depth >= MAX_NESTING:
        raise CheckpointError(f"{what}: torch.save bytes nested more than {MAX_NESTING} deep")
    _local.depth = depth + 1
    try:
        return _read(bytes(data), limits, what, counter)
    finally:
        _local.depth = depth


def _read(data: bytes, limits: Limits, what: str, counter=None):
    from .torch_legacy import LegacyContainer, starts_with_magic

    if data[:4] == b"PK\x03\x04":
        from .torch_zip import ZipContainer

        inner = ZipContainer(f"<{what}>", io.BytesIO(data), limits, len(data))
        if inner.kind != "zip":
            raise CheckpointError(f"{what} is a {inner.kind} archive, not a torch.save file")
        obj = inner.load(deferred=False)
        source = MemoryZip(inner, data)
        storages = list(inner.storages.values())
    elif starts_with_magic(data[:64]):
        inner = LegacyContainer(f"<{what}>", io.BytesIO(data), limits, len(data))
        if counter is not None:
            inner.counter = counter  # objects inside count against the outer pickle's limit
        obj = inner.load()
        source = BytesContainer(data, what)
        storages = list(inner.storages.values()) + list(inner.views.values())
        for ref in storages:
            ref.compressed = True
    else:
        raise CheckpointError(f"{what} is not a torch.save stream")
    for ref in storages:
        ref.source = source
    return obj, storages


def load_from_bytes(limits: Limits, counter, cache: dict, data=None, *_ignored):
    """Recorder for `torch.storage._load_from_bytes(b)`: the storage those bytes hold.
    A stream we cannot read becomes a storage carrying the reason, so the rest of the file
    still opens and asking for this tensor's data says why it cannot be read. Each stream
    counts as at least 256 objects against the outer pickle's object limit (5M: ~20,000
    nested storages), so a pickle of many tiny streams ends in a one-line error within
    seconds; the same bytes object (a memo reference) is read once."""
    from . import dtypes as dt

    hit = cache.get(id(data))
    if hit is not None and hit[0] is data:
        return hit[1]
    if counter is not None and isinstance(data, (bytes, bytearray)):
        counter.count += max(256, len(data) // 64)
        counter.tick()
    result = _load(limits, counter, data, dt)
    cache[id(data)] = (data, result)  # the data kept alive so that its id stays unique
    return result


def _load(limits: Limits, counter, data, dt):
    n = next(_serial)
    if not isinstance(data, (bytes, bytearray)):
        return _broken(n, "the nested storage bytes are not bytes", dt)
    try:
        obj, storages = read_torch_bytes(data, limits, "nested torch.save bytes", counter)
    except CheckpointError as exc:
        return _broken(n, str(exc), dt)
    if not isinstance(obj, StorageRef):
        return _broken(n, "the nested torch.save bytes do not hold a storage", dt)
    for ref in storages:
        ref.key = f"bytes{n}/{ref.key}"
    return obj


def _broken(n: int, why: str, dt) -> StorageRef:
    return StorageRef(key=f"bytes{n}", dtype=dt.DTYPES["uint8"], location="cpu", numel=0, error=why)


set_bytes_reader(load_from_bytes)  # the unpickler's reader of _load_from_bytes payloads
