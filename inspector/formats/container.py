"""The container protocol: what every reader's container offers the Checkpoint.

A container is one opened file (or folder) of one format. It owns its file handles
(`close` releases them), reads the object tree (`load`), knows where each storage's bytes
are (`storages`, `locate`), names the files it reads (`members`: an archive's member names, a multi-file checkpoint's files) and collects what went
wrong without failing the whole read (`warnings`). What the security verdict can reuse
from the read is typed here too: `reports` (what the reader's unpickler named, per
pickle member) and `zipdir` (the decoded zip directory), empty for other formats.

`MultiFileContainer` is the base of containers built from other checkpoints (a Trainer
folder, a shard index, a DCP folder, a bundle): its parts are opened Checkpoints, closed
with it, and their files are its members.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import BinaryIO, Protocol, runtime_checkable

from .errors import TensorDataError
from .stubs import StorageRef


@runtime_checkable
class ContainerProtocol(Protocol):
    path: str
    byteorder: str
    storages: dict
    warnings: list

    def load(self) -> object: ...

    @property
    def members(self) -> Collection[str]: ...

    def locate(self, ref: StorageRef) -> None: ...

    def close(self) -> None: ...


class Container:
    """The base: containers whose storages already know their byte ranges (legacy, tar,
    safetensors) need nothing more than this."""

    byteorder = "little"
    path: str = ""
    fh: BinaryIO | None = None  # the file handle this container owns (closed by close())
    reports: Mapping = MappingProxyType({})  # pickle member -> the reader's UnpickleReport
    zipdir = None  # formats.zipdir.ZipDirectory of a zip container, decoded once

    storages: dict  # key -> StorageRef (set by each reader's __init__)
    warnings: list  # what went wrong without failing the read

    def __init__(self) -> None:
        self.storages, self.warnings = {}, []

    def load(self) -> object:
        raise NotImplementedError

    @property
    def members(self) -> Collection[str]:
        """What this container holds: the member names of an archive, the files of a
        multi-file checkpoint, else the one file it reads."""
        return [self.path] if self.path else []

    def locate(self, ref: StorageRef) -> None:
        """Fill `ref.data_offset` (absolute, in `ref.path` or the checkpoint's file)."""
        if ref.error:
            raise TensorDataError(ref.error)
        if ref.data_offset is None:
            raise TensorDataError(f"storage {ref.key} has no data in the file")

    def close(self) -> None:
        fh = self.__dict__.get("fh")
        if fh is not None and hasattr(fh, "close"):
            fh.close()


class MultiFileContainer(Container):
    """Several files read as one: `subs` holds the opened parts (label -> Checkpoint, whose
    storages carry their own container), `handles` the files read directly (DCP chunks)."""

    subs: dict

    @property
    def members(self) -> list[str]:
        import os

        subs = [sub.path for sub in self.__dict__.get("subs", {}).values()]
        return subs + [os.path.join(self.path, n) for n in self.__dict__.get("handles", {})]

    def close(self) -> None:
        for sub in self.__dict__.get("subs", {}).values():
            sub.close()


def contiguous_strides(shape) -> tuple:
    """Row-major strides (in elements) of a shape."""
    out, acc = [], 1
    for size in reversed(shape):
        out.append(acc)
        acc *= max(size, 1)
    return tuple(reversed(out))
