"""torch.save's legacy format (before 1.6, or `_use_new_zipfile_serialization=False`).

A stack of pickles: magic number, protocol version, sys info, the object, the list of
storage keys; then for each key, in that list's order, an 8-byte element count and the
raw bytes. Files written by Python 2 store text as byte strings, read as latin-1 when
they are not UTF-8. Whole modules carry their class source in a persistent id
('module', cls, file, source): we keep the source as text and never run it.
"""

from __future__ import annotations

import re
import struct
from typing import BinaryIO

from . import dtypes
from .container import Container
from .errors import CheckpointError, LimitExceeded
from .limits import Limits
from .stubs import ModuleSource, ObjectStub, StorageRef, StubCounter, key_str
from .unpickler import StorageType, unpickle

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
_MAGIC_BINARY = MAGIC_NUMBER.to_bytes(10, "little")
_MAGIC_TEXT = str(MAGIC_NUMBER).encode()


def starts_with_magic(head: bytes) -> bool:
    """The first pickle of a legacy file is the magic number (binary or text protocols)."""
    return _MAGIC_BINARY in head[:40] or _MAGIC_TEXT in head[:40]


_TEXT_PID = re.compile(
    r"^\('storage', <class 'torch\.(?:cuda\.)?(\w+)'>, '(\w+)', '([\w:.-]+)', (\d+), None\)$"
)


def parse_text_pid(text: str):
    """Protocol 0 writes persistent ids as the tuple's repr; read it without eval."""
    m = _TEXT_PID.match(text.strip())
    if not m:
        raise CheckpointError(f"unknown persistent id {text!r:.80}")
    name, key, location, numel = m.groups()
    if name not in dtypes.STORAGE_CLASSES:
        raise CheckpointError(f"unknown storage type {name!r:.40}")
    return (
        "storage",
        StorageType(name, dtypes.DTYPES[dtypes.STORAGE_CLASSES[name]]),
        key,
        location,
        int(numel),
        None,
    )


class LegacyContainer(Container):
    def __init__(self, path: str, fh: BinaryIO, limits: Limits, file_size: int):
        self.path = path
        self.fh = fh
        self.limits = limits
        self.file_size = file_size
        self.storages: dict[str, StorageRef] = {}
        self.views: dict[str, StorageRef] = {}
        self.module_sources: list[ModuleSource] = []
        self.sys_info = None
        self.streams: list[tuple[str, int, int]] = []  # (name, start, end) of each pickle
        self.counter = StubCounter(limits.max_objects)

    def _next(self, what: str, persistent=None):
        start = self.fh.tell()
        value = unpickle(
            self.fh, what=what, limits=self.limits, persistent_load=persistent, counter=self.counter
        )
        self.streams.append((what, start, self.fh.tell()))
        return value

    def load(self):
        self.fh.seek(0)
        magic = self._next("the magic number")
        if magic != MAGIC_NUMBER:
            raise CheckpointError("the file is a pickle but not a torch.save file (no torch magic number)")
        version = self._next("the protocol version")
        if version != PROTOCOL_VERSION:
            raise CheckpointError(f"unsupported legacy protocol version {version!r:.40}")
        self.sys_info = self._next("the system info")
        if isinstance(self.sys_info, dict) and self.sys_info.get("little_endian") is False:
            self.byteorder = "big"
        result = self._next("the object pickle", self.persistent_load)
        keys = self._next("the storage key list")
        self._lay_out_storages(keys)
        return result

    def persistent_load(self, pid):
        if isinstance(pid, str):
            pid = parse_text_pid(pid)
        if not isinstance(pid, tuple) or not pid:
            raise CheckpointError(f"unknown persistent id {pid!r:.80}")
        typename = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if typename == "module":
            cls = pid[1] if len(pid) > 1 else None
            path = cls.class_path() if isinstance(cls, type) and issubclass(cls, ObjectStub) else repr(cls)
            src_file = pid[2] if len(pid) > 2 else None
            source = pid[3] if len(pid) > 3 else None
            self.module_sources.append(
                ModuleSource(
                    path,
                    src_file if isinstance(src_file, str) else None,
                    source if isinstance(source, str) else None,
                )
            )
            return cls
        if typename != "storage" or len(pid) < 6:
            raise CheckpointError(f"unknown persistent id type {typename!r:.40}")
        stype, root_key, location, numel, view = pid[1:6]
        root_key = key_str(root_key)
        if isinstance(location, bytes):
            location = location.decode("ascii", "replace")
        if not isinstance(stype, StorageType):
            raise CheckpointError(f"storage {root_key} has an unknown storage type {stype!r:.60}")
        if not isinstance(numel, int) or numel < 0 or numel >> 62:
            raise CheckpointError(f"storage {root_key} declares an invalid size {numel!r:.40}")
        root = self.storages.get(root_key)
        if root is None:
            if len(self.storages) >= self.limits.max_storages:
                raise LimitExceeded(f"the file references more than {self.limits.max_storages:,} storages")
            root = StorageRef(key=root_key, dtype=stype.dtype, location=key_str(location), numel=numel)
            self.storages[root_key] = root
        if view is None:
            return root
        if not (isinstance(view, tuple) and len(view) == 3):
            raise CheckpointError(f"storage {root_key} has a malformed view record")
        view_key, offset, size = key_str(view[0]), view[1], view[2]
        ref = self.views.get(view_key)
        if ref is None:
            ref = StorageRef(
                key=view_key, dtype=stype.dtype, location=key_str(location), numel=size, view_offset=offset
            )
            ref.record = root_key  # resolved through the root storage
            self.views[view_key] = ref
        return ref

    def _lay_out_storages(self, keys) -> None:
        """Walk the raw storage section: an int64 count and the bytes, per key."""
        if not isinstance(keys, list):
            raise CheckpointError("the storage key list is malformed")
        pos = self.fh.tell()
        for key in keys:
            key = key_str(key)
            ref = self.storages.get(key)
            if ref is None:
                raise CheckpointError(f"storage key {key} is listed but never used")
            self.fh.seek(pos)
            head = self.fh.read(8)
            if len(head) != 8:
                ref.error = f"storage {key} is missing: the file is truncated"
                break
            (count,) = struct.unpack("<q" if self.byteorder == "little" else ">q", head)
            size = count * ref.dtype.itemsize
            if count < 0 or pos + 8 + size > self.file_size:
                ref.error = f"storage {key} runs past the end of the file: it is truncated"
                break
            ref.data_offset, ref.record_size = pos + 8, size
            pos += 8 + size
        cut = any(r.error for r in self.storages.values())
        for ref in self.storages.values():
            if ref.data_offset is None and ref.error is None:
                ref.error = (
                    f"storage {ref.key} is missing: the file is truncated"
                    if cut
                    else f"storage {ref.key} has no data in the file"
                )
        for view in self.views.values():
            root = self.storages.get(view.record)
            if root is None or root.data_offset is None:
                view.error = root.error if root is not None else "view of an unknown storage"
                continue
            if (
                not isinstance(view.view_offset, int)
                or view.view_offset < 0
                or not isinstance(view.numel, int)
                or (view.view_offset + view.numel) * view.dtype.itemsize > root.record_size
            ):
                view.error = f"storage view {view.key} lies outside its storage"
                continue
            view.data_offset = root.data_offset + view.view_offset * view.dtype.itemsize
            view.record_size = view.numel * view.dtype.itemsize
