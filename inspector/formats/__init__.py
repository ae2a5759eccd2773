"""Readers: bytes on disk -> one tree of inert nodes. No Qt, no torch, nothing executed.

`open_checkpoint(path)` sniffs the content (never trusting the name), picks the reader
and returns a Checkpoint. Every failure is a CheckpointError whose message is one
sentence naming the problem.
"""

from __future__ import annotations

import os

from .checkpoint import Checkpoint, assemble
from .detect import FOREIGN_NAMES, sniff
from .errors import CheckpointError, LimitExceeded, TensorDataError
from .limits import DEFAULT_LIMITS, Limits, gc_paused
from .stubs import StorageRef, TensorInfo
from .tree import Node

__all__ = ["open_checkpoint", "Checkpoint", "CheckpointError", "LimitExceeded",
           "TensorDataError", "Limits", "Node", "TensorInfo", "StorageRef"]

# What a file's extension promises, to say so when the content disagrees.
EXPECTED = {".safetensors": {"safetensors"}, ".json": {"hf-index"}, ".pt2": {"pt2"},
            ".ptl": {"torchscript"}, ".pkl": {"pickle", "legacy"}, ".npy": set(),
            ".ckpt": {"zip", "legacy"}, ".pt": {"zip", "legacy", "torchscript", "legacy-tar"},
            ".pth": {"zip", "legacy", "torchscript", "legacy-tar"},
            ".bin": {"zip", "legacy", "safetensors"}, ".tar": {"zip", "legacy", "legacy-tar", "bundle"}}
FORMAT_NAMES = {"zip": "a torch.save zip archive", "legacy": "a legacy (pre-1.6) torch.save file",
                "torchscript": "a TorchScript archive", "pt2": "a torch.export archive",
                "safetensors": "a safetensors file", "hf-index": "a shard index",
                "pickle": "a bare pickle", "legacy-tar": "a legacy tar checkpoint",
                "dcp": "a distributed checkpoint", "bundle": "an archive of torch files"}


def open_checkpoint(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Checkpoint:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"no such file: {path}")
    try:
        with gc_paused():
            if os.path.isdir(path):
                ck = _open_folder(path, limits)
            else:
                ck = _open_file(path, sniff(path), limits)
        ck.extension_note = extension_note(path, ck.format)
        if ck.extension_note:
            ck.warnings.append(ck.extension_note)
        return ck
    except CheckpointError:
        raise
    except (RecursionError, MemoryError) as exc:
        raise LimitExceeded(f"the file is too deeply nested or too large to read ({type(exc).__name__})") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read the file: {exc.strerror or exc}") from None


def extension_note(path: str, fmt: str) -> str | None:
    name = path.lower()
    ext = ".pth.tar" if name.endswith(".pth.tar") else os.path.splitext(name)[1]
    if ext == ".pth.tar":
        ext = ".tar"
    expected = EXPECTED.get(ext)
    if expected is None or fmt in expected or os.path.isdir(path):
        return None
    return f"the name ends in {ext} but the content is {FORMAT_NAMES.get(fmt, fmt)}"


def _open_file(path: str, fmt: str, limits: Limits) -> Checkpoint:
    if fmt == "zip":
        return _open_zip(path, limits)
    if fmt == "pickle":
        return _open_pickle(path, limits)
    if fmt == "safetensors":
        from .safetensors_reader import SafetensorsContainer

        return _with_handle(path, limits, lambda fh, size: SafetensorsContainer(path, fh, limits, size),
                            "safetensors")
    if fmt == "json":
        from .shard_index import ShardIndexContainer

        c = ShardIndexContainer(path, limits)
        obj = c.load()
        ck = assemble(path, "hf-index", obj, c, c.storages, limits)
        for shard, why in c.shard_errors.items():
            ck.warnings.append(f"shard {shard}: {why}")
        return ck
    if fmt == "legacy-tar":
        from .torch_tar import TarContainer

        return _with_handle(path, limits, lambda fh, size: TarContainer(path, fh, limits, size),
                            "legacy-tar")
    if fmt in FOREIGN_NAMES:
        raise CheckpointError(f"it is {FOREIGN_NAMES[fmt]}, not a PyTorch checkpoint")
    raise CheckpointError(f"the {fmt} format is not supported")


def folder_is_checkpoint(path: str) -> bool:
    """A folder that is one checkpoint: DCP, Trainer folder, shard index or model folder."""
    from .composite import is_trainer_folder

    names = os.listdir(path)
    return (".metadata" in names and any(n.endswith(".distcp") for n in names)) or \
        is_trainer_folder(names) or any(n.endswith(".index.json") for n in names) or \
        any(n in names for n in ("model.safetensors", "pytorch_model.bin"))


def _open_folder(path: str, limits: Limits) -> Checkpoint:
    names = os.listdir(path)
    if ".metadata" in names and any(n.endswith(".distcp") for n in names):
        from .dcp import DcpContainer

        c = DcpContainer(path, limits)
        obj = c.load()
        return assemble(path, "dcp", obj, c, c.storages, limits)
    from .composite import CompositeContainer, is_trainer_folder

    if is_trainer_folder(names):
        c = CompositeContainer(path, limits)
        obj = c.load_trainer()
        ck = assemble(path, "hf-trainer", obj, c, c.storages, limits)
        ck.warnings.extend(f"{label}: {why}" for label, why in c.errors.items())
        return ck
    indexes = sorted(n for n in names if n.endswith(".index.json"))
    for candidate in indexes + ["model.safetensors", "pytorch_model.bin", "model.pt"]:
        if candidate in names:
            return open_checkpoint(os.path.join(path, candidate), limits)
    raise CheckpointError("it is a folder without a shard index, a distributed checkpoint "
                          "(.metadata + .distcp) or a model file; open a file inside it")


def _with_handle(path: str, limits: Limits, make, fmt: str) -> Checkpoint:
    fh = open(path, "rb")
    try:
        container = make(fh, os.fstat(fh.fileno()).st_size)
        obj = container.load()
        fmt = getattr(container, "format", fmt)  # a tar of torch files is a bundle
        ck = assemble(path, fmt, obj, container, container.storages, limits,
                      byteorder=container.byteorder)
        ck.warnings.extend(getattr(container, "warnings", []))
        return ck
    except BaseException:
        fh.close()
        raise


def _open_zip(path: str, limits: Limits) -> Checkpoint:
    from .torch_zip import ZipContainer

    fh = open(path, "rb")
    try:
        container = ZipContainer(path, fh, limits, os.fstat(fh.fileno()).st_size)
        if container.kind != "zip":
            from .archives import open_archive

            return open_archive(path, container, limits)
        obj = container.load()
        ck = assemble(path, "zip", obj, container, container.storages, limits,
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
            unresolved = len(bare.storages)  # persistent ids; nested bytes are in the file
            ck = assemble(path, "pickle", obj, bare, bare.storages, limits)
            if unresolved:
                ck.warnings.append(f"{unresolved} storages are not in this file: "
                                   "it is a bare pickle (a data.pkl without its archive)")
            return ck
        container = LegacyContainer(path, fh, limits, size)
        obj = container.load()
        return assemble(path, "legacy", obj, container, dict(container.storages), limits,
                        byteorder=container.byteorder, module_sources=container.module_sources)
    except BaseException:
        fh.close()
        raise
