"""torch.save's zip format (torch >= 1.6): `<root>/data.pkl` plus one record per storage.

Opening reads the central directory and `data.pkl` and nothing else, so it costs the
same for a 1 MB and a 138 GB file. A storage's byte range is found from its record's
local header only when its bytes are asked for.
"""

from __future__ import annotations

import functools
import threading
import zlib
from typing import BinaryIO

from .bundle_names import looks_like_bundle
from .container import Container
from .deferred import Realizer
from .errors import CheckpointError, LimitExceeded, TensorDataError
from .limits import Limits
from .stubs import StorageRef, StubCounter, key_str
from .unpickler import StorageType, UnpickleReport, rebuild_tensor_v2, unpickle
from .zipdir import ZipDirectory


def find_root(names: list[str], has) -> str | None:
    """The archive's root folder: the one holding data.pkl (any name, even empty).
    `names` are the members ending in data.pkl; `has(name)` tells whether one exists."""
    candidates = [
        n[: -len("data.pkl")]
        for n in names
        if n.endswith("data.pkl") and n.count("/") <= 1 and (n == "data.pkl" or n.endswith("/data.pkl"))
    ]
    if not candidates:
        return None
    # Prefer a root that also has the `version` record torch writes.
    for root in candidates:
        if has(root + "version") or has(root + ".data/version"):
            return root
    return candidates[0]


class ZipContainer(Container):
    """A torch zip archive opened for reading records."""

    def __init__(self, path: str, fh: BinaryIO, limits: Limits, file_size: int, base: int = 0):
        """`base`: where this archive starts in the file at `path` (an archive stored inside
        another one is read through a Window over `fh`)."""
        self.path = path
        self.fh = fh
        self.limits = limits
        self.base = base
        self.dir = ZipDirectory(fh, file_size)
        self.warnings: list[str] = []
        d = self.dir
        root = find_root(d.names_ending("data.pkl"), lambda n: d.lookup(n) is not None)
        self.kind = "zip"
        if root is None:
            root, self.kind = _other_archive(d.names)
        if root is None:
            if looks_like_bundle(d.names):  # a zip of torch files (stable-baselines3, ...)
                root, self.kind = "", "bundle"
        if root is None:
            if any(m.flags & 0x1 for m in d.members.values()):
                raise CheckpointError("it is a password-protected zip archive, not a PyTorch checkpoint")
            raise CheckpointError("the zip archive has no data.pkl: it is not a torch.save file")
        if self.kind == "zip" and (
            d.lookup(root + "constants.pkl") is not None or d.has_prefix(root + "code/")
        ):
            self.kind = "torchscript"
        self.root = root
        self.data_prefix = root + "data/"
        self.byteorder = "little"
        if d.lookup(root + "byteorder") is not None:
            order = (
                self.read_member(root + "byteorder", "the byteorder record", 64)
                .decode("ascii", "replace")
                .strip()
            )
            if order not in ("little", "big"):
                raise CheckpointError(f"unknown byte order record {order!r:.40}")
            self.byteorder = order
        self.storages: dict[str, StorageRef] = {}
        self.reports: dict[str, UnpickleReport] = {}  # member -> what its pickle named
        self.realizers: list[Realizer] = []
        self._lock = threading.Lock()  # the file handle is shared by GUI worker threads

    @property
    def members(self):
        return self.dir.members

    @property
    def zipdir(self):
        """The zip directory, decoded once: the verdict reuses it."""
        return self.dir

    @property
    def names(self) -> list[str]:
        return self.dir.names

    def read_member(self, name: str, what: str, limit: int | None = None) -> bytes:
        limit = self.limits.max_pickle_bytes if limit is None else limit
        m = self.dir.lookup(name)
        if m is None:
            raise CheckpointError(f"{what} is missing from the archive")
        if m.file_size > limit:
            raise LimitExceeded(f"{what} is {m.file_size:,} bytes, over the {limit:,}-byte limit")
        data = self.dir.read(name, limit)
        if zlib.crc32(data) != m.crc:
            self.warnings.append(f"{name} does not match its CRC-32: the archive was altered or damaged")
        return data

    def persistent_load(self, pid):
        """('storage', StorageType, key, location, numel) -> the record's StorageRef, for
        the member being loaded now."""
        return self._resolve(self.data_prefix, self._key_prefix, pid)

    def _resolve(self, data_prefix: str, key_prefix: str, pid):
        """The records of `data.pkl` are `data/<key>`; those of TorchScript's
        `constants.pkl` are `constants/<key>` (keys prefixed so that they do not collide)."""
        if type(pid) is not tuple or len(pid) < 5:
            raise CheckpointError(f"unknown persistent id {pid!r:.80}")
        typename, stype, key, location, numel = pid[:5]
        if typename != "storage" and typename != b"storage":
            raise CheckpointError(f"unknown persistent id type {typename!r:.40}")
        if type(key) is not str:
            key = key_str(key)
        name = key_prefix + key  # constants/0 beside data/0
        ref = self.storages.get(name)
        if ref is not None:
            return ref
        if len(self.storages) >= self.limits.max_storages:
            raise LimitExceeded(f"the file references more than {self.limits.max_storages:,} storages")
        if type(stype) is not StorageType:
            raise CheckpointError(f"storage {key} has an unknown storage type {stype!r:.60}")
        if type(numel) is not int or numel < 0 or numel >> 62:
            raise CheckpointError(f"storage {key} declares an invalid size {numel!r:.40}")
        if type(location) is not str:
            location = (
                location.decode("ascii", "replace") if isinstance(location, bytes) else key_str(location)
            )
        # the record itself is looked up when its bytes are first asked for (locate)
        ref = StorageRef(name, stype.dtype, location, numel, data_prefix + key)
        self.storages[name] = ref
        return ref

    def _member_for(self, ref: StorageRef):
        """The record of a storage: `data/<key>`, or where older writers put it."""
        members = self.dir.members
        m = members.get(ref.record)
        if m is None and ref.record.startswith(self.root + "data/"):
            key = ref.record[len(self.root) + 5 :]
            for candidate in (f"{self.root}.data/{key}.storage", f"{self.root}constants/{key}"):
                if candidate in members:
                    ref.record = candidate
                    return members[candidate]
        return m

    def load(self, member: str = "data.pkl", records: str = "data/", deferred: bool = True):
        """Unpickle `<root>/<member>`; its storages are the records under `<root>/<records>`.
        `deferred`: tensors become C-built records realised with the tree (deferred.py);
        callers that need every storage registered right away pass False."""
        self.data_prefix = self.root + records
        self._key_prefix = "" if records == "data/" else records
        data = self.read_member(self.root + member, member)
        counter = StubCounter(self.limits.max_objects)
        report = UnpickleReport()
        # realised later: bind this member's record prefixes now
        resolve = functools.partial(self._resolve, self.data_prefix, self._key_prefix)
        realizer = Realizer(resolve, rebuild_tensor_v2) if deferred else None
        if realizer is not None:
            self.realizers.append(realizer)
        obj = unpickle(
            data,
            what=member,
            limits=self.limits,
            counter=counter,
            report=report,
            persistent_load=self.persistent_load,
            deferred=realizer,
        )
        self.reports[self.root + member] = report
        return obj

    def locate(self, ref: StorageRef) -> None:
        """Find the storage's record and the absolute offset of its bytes."""
        if ref.data_offset is not None:
            return
        if ref.error:
            raise TensorDataError(ref.error)
        with self._lock:
            m = self._member_for(ref)
            if m is None:
                ref.error = f"storage record {ref.record[len(self.root) :]} is missing from the archive"
                raise TensorDataError(ref.error)
            ref.record_size = m.file_size
            ref.compressed = m.method != 0
            try:
                ref.data_offset = self.base + self.dir.data_offset(m)
            except CheckpointError as exc:
                raise TensorDataError(str(exc)) from None

    def read_record(self, ref: StorageRef) -> bytes:
        """A compressed record's bytes, inflated into memory within the size limit."""
        try:
            with self._lock:
                return self.dir.read(ref.record, self.limits.max_record_read)
        except CheckpointError as exc:
            raise TensorDataError(str(exc)) from None


def _other_archive(names: list[str]) -> tuple[str | None, str]:
    """Archives without data.pkl: torch.export (.pt2, old and current layouts) and the
    oldest TorchScript layout (model.json + tensors/)."""
    for n in names:
        for marker, kind in (
            ("archive_format", "pt2"),
            ("serialized_exported_program.json", "pt2-old"),
            ("model.json", "torchscript-old"),
        ):
            if n == marker or n.endswith("/" + marker):
                root = n[: -len(marker)]
                if root.count("/") <= 1:
                    return root, kind
    return None, "zip"
