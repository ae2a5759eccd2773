"""A bare pickle: e.g. a `data.pkl` taken out of its torch zip archive.

Its tensors are shown with their metadata; their storages live in records that are not
in this file, so each is marked unresolved and asking for its bytes says so.
"""

from __future__ import annotations

from typing import BinaryIO

from .container import Container
from .errors import CheckpointError, LimitExceeded
from .limits import Limits
from .stubs import StorageRef, key_str
from .unpickler import StorageType, unpickle

UNRESOLVED = "the storage's bytes are not in this file (a bare pickle: its archive records are missing)"


class BarePickleContainer(Container):
    def __init__(self, path: str, fh: BinaryIO, limits: Limits):
        self.path = path
        self.fh = fh
        self.limits = limits
        self.storages: dict[str, StorageRef] = {}
        self.end = 0

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] not in ("storage", b"storage"):
            raise CheckpointError(f"unknown persistent id {pid!r:.80}")
        stype, key, location, numel = pid[1:5]
        key = key_str(key)
        ref = self.storages.get(key)
        if ref is None:
            if len(self.storages) >= self.limits.max_storages:
                raise LimitExceeded(f"the file references more than {self.limits.max_storages:,} storages")
            if not isinstance(stype, StorageType) or not isinstance(numel, int) or numel < 0 or numel >> 62:
                raise CheckpointError(f"storage {key} is declared with invalid metadata")
            if isinstance(location, bytes):
                location = location.decode("ascii", "replace")
            ref = StorageRef(
                key=key, dtype=stype.dtype, location=key_str(location), numel=numel, error=UNRESOLVED
            )
            self.storages[key] = ref
        return ref

    def load(self):
        self.fh.seek(0)
        obj = unpickle(self.fh, what="the pickle", limits=self.limits, persistent_load=self.persistent_load)
        self.end = self.fh.tell()
        return obj

    def locate(self, ref: StorageRef) -> None:
        from .errors import TensorDataError

        raise TensorDataError(ref.error or UNRESOLVED)
