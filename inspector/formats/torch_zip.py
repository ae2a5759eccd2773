"""torch.save's zip format (torch >= 1.6): `<root>/data.pkl` plus one record per storage.

Opening reads the central directory and `data.pkl` and nothing else, so it costs the
same for a 1 MB and a 138 GB file. A storage's byte range is found from its record's
local header only when its bytes are asked for.
"""

from __future__ import annotations

import struct
import zipfile
from typing import BinaryIO

from .errors import CheckpointError, LimitExceeded, TensorDataError
from .limits import Limits
from .stubs import StorageRef, StubCounter
from .unpickler import StorageType, unpickle

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")


def find_root(names: list[str]) -> str | None:
    """The archive's root folder: the one holding data.pkl (any name, even empty)."""
    candidates = [n[: -len("data.pkl")] for n in names
                  if n.endswith("data.pkl") and n.count("/") <= 1
                  and (n == "data.pkl" or n.endswith("/data.pkl"))]
    if not candidates:
        return None
    # Prefer a root that also has the `version` record torch writes.
    for root in candidates:
        if root + "version" in names or root + ".data/version" in names:
            return root
    return candidates[0]


class ZipContainer:
    """A torch zip archive opened for reading records."""

    def __init__(self, path: str, fh: BinaryIO, limits: Limits):
        self.path = path
        self.fh = fh
        self.limits = limits
        try:
            self.zip = zipfile.ZipFile(fh)
        except zipfile.BadZipFile as exc:
            raise CheckpointError(f"the zip archive is damaged or truncated ({exc})") from None
        except (OSError, ValueError, EOFError, struct.error) as exc:
            raise CheckpointError(f"the zip archive cannot be read ({exc})") from None
        self.names = self.zip.namelist()
        root = find_root(self.names)
        if root is None:
            raise CheckpointError("the zip archive has no data.pkl: it is not a torch.save file")
        self.root = root
        self.byteorder = "little"
        if root + "byteorder" in self.zip.NameToInfo:
            order = self._small(root + "byteorder").strip()
            if order not in ("little", "big"):
                raise CheckpointError(f"unknown byte order record {order!r:.40}")
            self.byteorder = order
        self.storages: dict[str, StorageRef] = {}

    def _small(self, name: str) -> str:
        info = self.zip.getinfo(name)
        if info.file_size > 4096:
            return ""
        return self.zip.read(name).decode("ascii", "replace")

    def read_member(self, name: str, what: str) -> bytes:
        info = self.zip.getinfo(name)
        if info.file_size > self.limits.max_pickle_bytes:
            raise LimitExceeded(f"{what} is {info.file_size:,} bytes, over the "
                                f"{self.limits.max_pickle_bytes:,}-byte limit")
        try:
            return self.zip.read(name)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
                RuntimeError) as exc:
            raise CheckpointError(f"{what} cannot be read from the archive ({exc})") from None

    def persistent_load(self, pid):
        """('storage', StorageType, key, location, numel) -> the record's StorageRef."""
        if not isinstance(pid, tuple) or len(pid) < 5:
            raise CheckpointError(f"unknown persistent id {pid!r:.80}")
        typename = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if typename != "storage":
            raise CheckpointError(f"unknown persistent id type {typename!r:.40}")
        stype, key, location, numel = pid[1:5]
        key = str(key)
        ref = self.storages.get(key)
        if ref is not None:
            return ref
        if len(self.storages) >= self.limits.max_storages:
            raise LimitExceeded(f"the file references more than {self.limits.max_storages:,} storages")
        if not isinstance(stype, StorageType):
            raise CheckpointError(f"storage {key} has an unknown storage type {stype!r:.60}")
        if not isinstance(numel, int) or numel < 0:
            raise CheckpointError(f"storage {key} declares an invalid size {numel!r:.40}")
        if isinstance(location, bytes):
            location = location.decode("ascii", "replace")
        ref = StorageRef(key=key, dtype=stype.dtype, location=str(location), numel=numel,
                         record=self._record_name(key))
        info = self.zip.NameToInfo.get(ref.record) if ref.record else None
        if info is None:
            ref.error = f"storage record data/{key} is missing from the archive"
        else:
            ref.record_size = info.file_size
            ref.compressed = info.compress_type != zipfile.ZIP_STORED
        self.storages[key] = ref
        return ref

    def _record_name(self, key: str) -> str | None:
        for candidate in (f"{self.root}data/{key}", f"{self.root}.data/{key}.storage",
                          f"{self.root}constants/{key}"):
            if candidate in self.zip.NameToInfo:
                return candidate
        return f"{self.root}data/{key}"

    def load(self, member: str = "data.pkl"):
        data = self.read_member(self.root + member, member)
        counter = StubCounter(self.limits.max_objects)
        return unpickle(data, what=member, limits=self.limits,
                        persistent_load=self.persistent_load, counter=counter)

    def pickles(self) -> list[tuple[str, bytes]]:
        """Every pickle stream in the archive (for the security scan)."""
        out = []
        for name in self.names:
            if name.endswith(".pkl"):
                out.append((name, self.read_member(name, name)))
        return out

    def locate(self, ref: StorageRef) -> None:
        """Fill the absolute offset of a record's bytes from its local header."""
        if ref.data_offset is not None:
            return
        if ref.error:
            raise TensorDataError(ref.error)
        info = self.zip.NameToInfo[ref.record]
        self.fh.seek(info.header_offset)
        raw = self.fh.read(_LOCAL_HEADER.size)
        if len(raw) != _LOCAL_HEADER.size:
            raise TensorDataError(f"record {ref.record} lies beyond the end of the file")
        fields = _LOCAL_HEADER.unpack(raw)
        if fields[0] != b"PK\x03\x04":
            raise TensorDataError(f"record {ref.record} has a damaged local header")
        name_len, extra_len = fields[-2], fields[-1]
        ref.data_offset = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len

    def read_record(self, ref: StorageRef) -> bytes:
        """A compressed record's bytes, inflated into memory within the size limit."""
        if ref.record_size is not None and ref.record_size > self.limits.max_record_read:
            raise TensorDataError(f"compressed record {ref.record} is too large to inflate")
        try:
            return self.zip.read(ref.record)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise TensorDataError(f"record {ref.record} cannot be read ({exc})") from None

    def close(self) -> None:
        self.zip.close()


def is_torchscript(names: list[str], root: str) -> bool:
    return any(n.startswith(root + "code/") for n in names) or root + "constants.pkl" in names
