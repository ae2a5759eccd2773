"""Readers: bytes on disk -> one tree of inert nodes. No Qt, no torch, nothing executed.

`open_checkpoint(path)` sniffs the content, picks the reader and returns a Checkpoint.
Every failure is a CheckpointError whose message is one sentence naming the problem.
"""

from __future__ import annotations

import os

from .checkpoint import Checkpoint, assemble
from .detect import sniff
from .errors import CheckpointError, LimitExceeded, TensorDataError
from .limits import DEFAULT_LIMITS, Limits
from .stubs import StorageRef, TensorInfo
from .tree import Node

__all__ = ["open_checkpoint", "Checkpoint", "CheckpointError", "LimitExceeded",
           "TensorDataError", "Limits", "Node", "TensorInfo", "StorageRef"]


def open_checkpoint(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Checkpoint:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"no such file: {path}")
    try:
        fmt = sniff(path)
        if fmt == "zip":
            return _open_zip(path, limits)
        if fmt == "pickle":
            return _open_pickle(path, limits)
        from .detect import FOREIGN_NAMES

        if fmt in FOREIGN_NAMES:
            raise CheckpointError(f"it is {FOREIGN_NAMES[fmt]}, not a PyTorch checkpoint")
        raise CheckpointError(f"the {fmt} format is recognised but not readable yet")
    except (CheckpointError, RecursionError, MemoryError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise LimitExceeded(f"the file is too deeply nested or too large to read ({type(exc).__name__})") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read the file: {exc.strerror or exc}") from None


def _open_zip(path: str, limits: Limits) -> Checkpoint:
    from .torch_zip import ZipContainer, is_torchscript

    fh = open(path, "rb")
    try:
        container = ZipContainer(path, fh, limits, os.fstat(fh.fileno()).st_size)
        fmt = "torchscript" if is_torchscript(container.names, container.root) else "zip"
        obj = container.load()
        ck = assemble(path, fmt, obj, container, container.storages, limits,
                      byteorder=container.byteorder)
        ck.warnings.extend(container.warnings)
        return ck
    except BaseException:
        fh.close()
        raise


def _open_pickle(path: str, limits: Limits) -> Checkpoint:
    from .bare_pickle import BarePickleContainer
    from .torch_legacy import LegacyContainer, starts_with_magic

    fh = open(path, "rb")
    try:
        size = os.fstat(fh.fileno()).st_size
        if not starts_with_magic(fh.read(64)):
            bare = BarePickleContainer(path, fh, limits)
            obj = bare.load()
            ck = assemble(path, "pickle", obj, bare, bare.storages, limits)
            if bare.storages:
                ck.warnings.append(f"{len(bare.storages)} storages are not in this file: "
                                   "it is a bare pickle (a data.pkl without its archive)")
            return ck
        container = LegacyContainer(path, fh, limits, size)
        obj = container.load()
        storages = dict(container.storages)
        return assemble(path, "legacy", obj, container, storages, limits,
                        byteorder=container.byteorder,
                        module_sources=container.module_sources)
    except BaseException:
        fh.close()
        raise
