"""The open function of each registered format (kinds.py): `(path, limits) -> Checkpoint`.
Each hands the bytes to its reader's container and assembles the tree.

The readers are imported inside each function, when that format is first opened: `ckpt`
and the window import the registry at start-up, and most runs open one or two formats
(a start-up cost, not an import cycle)."""

from __future__ import annotations

import os

from .checkpoint import Checkpoint, assemble
from .limits import Limits


def open_zip(path: str, limits: Limits) -> Checkpoint:
    from .torch_zip import ZipContainer

    fh = open(path, "rb")
    try:
        container = ZipContainer(path, fh, limits, os.fstat(fh.fileno()).st_size)
        if container.kind != "zip":
            from .archives import open_archive

            return open_archive(path, container, limits)
        obj = container.load()
        ck = assemble(path, "zip", obj, container, container.storages, limits, byteorder=container.byteorder)
        ck.warnings.extend(container.warnings)
        return ck
    except BaseException:
        fh.close()
        raise


def open_pickle(path: str, limits: Limits) -> Checkpoint:
    """A legacy torch.save stack (from its magic number) or a bare pickle."""
    from .bare_pickle import BarePickleContainer
    from .torch_legacy import LegacyContainer, starts_with_magic

    fh = open(path, "rb")
    try:
        size = os.fstat(fh.fileno()).st_size
        if not starts_with_magic(fh.read(64)):
            bare = BarePickleContainer(path, fh, limits)
            obj = bare.load()
            unresolved = len(bare.storages)  # persistent ids; nested bytes are in the file
            ck = assemble(path, "pickle", obj, bare, bare.storages, limits)
            if unresolved:
                ck.warnings.append(
                    f"{unresolved} storages are not in this file: "
                    "it is a bare pickle (a data.pkl without its archive)"
                )
            return ck
        container = LegacyContainer(path, fh, limits, size)
        obj = container.load()
        return assemble(
            path,
            "legacy",
            obj,
            container,
            dict(container.storages),
            limits,
            byteorder=container.byteorder,
            module_sources=container.module_sources,
        )
    except BaseException:
        fh.close()
        raise


def open_safetensors(path: str, limits: Limits) -> Checkpoint:
    from .safetensors_reader import SafetensorsContainer

    return _with_handle(
        path, limits, lambda fh, size: SafetensorsContainer(path, fh, limits, size), "safetensors"
    )


def open_tar(path: str, limits: Limits) -> Checkpoint:
    from .torch_tar import TarContainer

    return _with_handle(path, limits, lambda fh, size: TarContainer(path, fh, limits, size), "legacy-tar")


def open_index(path: str, limits: Limits) -> Checkpoint:
    from .shard_index import ShardIndexContainer

    c = ShardIndexContainer(path, limits)
    obj = c.load()
    ck = assemble(path, "hf-index", obj, c, c.storages, limits)
    for shard, why in c.shard_errors.items():
        ck.warnings.append(f"shard {shard}: {why}")
    return ck


def open_dcp(path: str, limits: Limits) -> Checkpoint:
    from .dcp import DcpContainer

    c = DcpContainer(path, limits)
    obj = c.load()
    return assemble(path, "dcp", obj, c, c.storages, limits)


def open_trainer(path: str, limits: Limits) -> Checkpoint:
    from .composite import CompositeContainer

    c = CompositeContainer(path, limits)
    obj = c.load_trainer()
    ck = assemble(path, "hf-trainer", obj, c, c.storages, limits)
    ck.warnings.extend(f"{label}: {why}" for label, why in c.errors.items())
    return ck


def _with_handle(path: str, limits: Limits, make, fmt: str) -> Checkpoint:
    fh = open(path, "rb")
    try:
        container = make(fh, os.fstat(fh.fileno()).st_size)
        obj = container.load()
        fmt = getattr(container, "format", fmt)  # a tar of torch files is a bundle
        ck = assemble(path, fmt, obj, container, container.storages, limits, byteorder=container.byteorder)
        ck.warnings.extend(getattr(container, "warnings", []))
        return ck
    except BaseException:
        fh.close()
        raise
