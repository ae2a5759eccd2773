"""The legacy tar format of the oldest torch releases: a tar of `sys_info`, `pickle`,
`storages` and `tensors`. `torch.load(weights_only=True)` refuses it.

`tensors` may be missing (see load). `storages`: a pickled count, then per storage a pickled (key, location, storage type),
an 8-byte element count and the raw bytes. Then a pickled list of storage views.
`tensors`: a pickled count, then per tensor a pickled (key, storage id, type), int32
ndim, 4 padding bytes, sizes, strides and the storage offset as int64. `pickle`: the
object, whose persistent ids are the keys of those tensors and storages. Members of a
tar are stored as they are, so every byte range maps straight into the file.
"""

from __future__ import annotations

import struct
import tarfile
from typing import BinaryIO

from .bundle_names import looks_like_bundle
from .container import Container
from .errors import CheckpointError, LimitExceeded
from .limits import Limits
from .stubs import ObjectStub, StorageRef, StubCounter, TensorInfo, key_str
from .unpickler import StorageType, unpickle
from .zipdir import Window


def _Member(fh: BinaryIO, info: tarfile.TarInfo) -> Window:
    """A tar member read in place (tar stores members as they are)."""
    return Window(fh, info.offset_data, info.size)


class TarContainer(Container):
    def __init__(self, path: str, fh: BinaryIO, limits: Limits, file_size: int):
        self.path = path
        self.fh = fh
        self.limits = limits
        self.storages: dict[str, StorageRef] = {}
        self.counter = StubCounter(limits.max_objects)
        self.objects: dict[str, object] = {}

    def _pickle(self, member, what: str):
        """One pickle from the member's current position (left just after it)."""
        return unpickle(member, what=what, limits=self.limits, counter=self.counter)

    def load(self):
        try:
            tar = tarfile.open(fileobj=self.fh, mode="r:")
            members = {m.name: m for m in tar.getmembers()}
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise CheckpointError(f"the tar archive is damaged ({exc})") from None
        if not all(n in members and members[n].isfile() for n in ("storages", "pickle")):
            if looks_like_bundle(list(members)):  # a tar of torch files (NeMo-style)
                return self._bundle(members)
        for needed in ("storages", "pickle"):
            if needed not in members or not members[needed].isfile():
                raise CheckpointError(f"the tar archive has no '{needed}' member: not a torch checkpoint")
        self._storages(_Member(self.fh, members["storages"]))
        # Some exporters write no `tensors` member: their pickle rebuilds each tensor with
        # _rebuild_tensor_v2 on a storage's persistent id (torch.load itself fails on them).
        if "tensors" in members and members["tensors"].isfile():
            self._tensors(_Member(self.fh, members["tensors"]))
        main = _Member(self.fh, members["pickle"])
        if main.size > self.limits.max_pickle_bytes:
            raise LimitExceeded("the pickle member is over the size limit")
        return unpickle(
            main.read(),
            what="the pickle member",
            limits=self.limits,
            persistent_load=self._persistent,
            counter=self.counter,
        )

    def _bundle(self, members: dict) -> dict:
        """Each member read as what it is (tar stores members as they are: in place)."""
        from .bundle import Entry, read_entries

        self.format = "bundle"
        self.warnings: list[str] = []
        entries = []
        for name, info in members.items():
            if not info.isfile():
                continue

            def read(limit, info=info, name=name):
                if info.size > limit:
                    raise LimitExceeded(f"{name} is {info.size:,} bytes, over the {limit:,}-byte limit")
                return _Member(self.fh, info).read(info.size)

            entries.append(Entry(name, info.size, info.offset_data, read))
        return read_entries(self.path, self.fh, entries, self.limits, self.storages, self.warnings)

    def _storages(self, m: _Member) -> None:
        count = self._pickle(m, "the storage count")
        if type(count) is not int or count < 0 or count > self.limits.max_storages:
            raise CheckpointError("the storage count is invalid")
        for _ in range(count):
            entry = self._pickle(m, "a storage header")
            if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[2], StorageType)):
                raise CheckpointError("a storage header is malformed")
            key, location, stype = entry
            head = m.read(8)
            if len(head) != 8:
                raise CheckpointError("the storages member is truncated")
            (numel,) = struct.unpack("<q", head)
            size = numel * stype.dtype.itemsize
            if numel < 0 or m.pos + size > m.size:
                raise CheckpointError(f"storage {key} runs past the end of its member (truncated)")
            ref = StorageRef(
                key=key_str(key),
                dtype=stype.dtype,
                location=key_str(location),
                numel=numel,
                record="storages",
                data_offset=m.base + m.pos,
                record_size=size,
            )
            self.storages[ref.key] = ref
            self.objects[key_str(key)] = ref
            m.seek(m.pos + size)
        views = self._pickle(m, "the storage views")
        for view in views if isinstance(views, list) else []:
            if not (isinstance(view, tuple) and len(view) == 4):
                continue
            target, root, offset, numel = view
            base = self.storages.get(key_str(root))
            if base is None or type(offset) is not int or type(numel) is not int:
                continue
            ref = StorageRef(
                key=key_str(target),
                dtype=base.dtype,
                location=base.location,
                numel=numel,
                record="storages",
                data_offset=base.data_offset + offset * base.dtype.itemsize,
                record_size=numel * base.dtype.itemsize,
            )
            if offset < 0 or offset + numel > base.numel:
                ref.error = f"storage view {target} lies outside its storage"
            self.objects[key_str(target)] = ref

    def _tensors(self, m: _Member) -> None:
        count = self._pickle(m, "the tensor count")
        if type(count) is not int or count < 0 or count > self.limits.max_storages:
            raise CheckpointError("the tensor count is invalid")
        for _ in range(count):
            entry = self._pickle(m, "a tensor header")
            if not (isinstance(entry, tuple) and len(entry) == 3):
                raise CheckpointError("a tensor header is malformed")
            key, storage_id, _type = entry
            head = m.read(8)
            if len(head) != 8:
                raise CheckpointError("the tensors member is truncated")
            (ndim,) = struct.unpack("<i", head[:4])
            if not 0 <= ndim <= 64:
                raise CheckpointError(f"tensor {key} has {ndim} dimensions")
            body = m.read(16 * ndim + 8)
            if len(body) != 16 * ndim + 8:
                raise CheckpointError("the tensors member is truncated")
            sizes = struct.unpack(f"<{ndim}q", body[: 8 * ndim])
            strides = struct.unpack(f"<{ndim}q", body[8 * ndim : 16 * ndim])
            (offset,) = struct.unpack("<q", body[16 * ndim :])
            storage = self.objects.get(key_str(storage_id))
            if not isinstance(storage, StorageRef):
                raise CheckpointError(f"tensor {key} refers to an unknown storage")
            self.objects[key_str(key)] = TensorInfo(
                storage, storage.dtype, sizes, strides, offset, rebuild="legacy-tar"
            )

    def _persistent(self, pid):
        if isinstance(pid, tuple) and len(pid) >= 3 and pid[0] in ("storage", b"storage"):
            pid = pid[2]  # ('storage', type, key, location, size, view) as torch.save writes it
        elif isinstance(pid, tuple) and pid:  # ('module', cls, source_file, source)
            cls = pid[0]
            return cls if isinstance(cls, type) and issubclass(cls, ObjectStub) else None
        obj = self.objects.get(key_str(pid))
        if obj is None:
            raise CheckpointError(f"unknown persistent id {pid!r:.40}")
        return obj
