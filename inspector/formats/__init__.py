"""Readers: bytes on disk -> one tree of inert nodes. No Qt, no torch, nothing executed.

`open_checkpoint(path)` sniffs the content (never trusting the name), picks the reader
and returns a Checkpoint. Every failure is a CheckpointError whose message is one
sentence naming the problem.
"""

from __future__ import annotations

import os

from .checkpoint import Checkpoint
from .errors import CheckpointError, LimitExceeded, TensorDataError
from .limits import DEFAULT_LIMITS, Limits, gc_paused
from .registry import sniff as _registry_sniff
from .stubs import StorageRef, TensorInfo
from .tree import Node

__all__ = [
    "open_checkpoint",
    "Checkpoint",
    "CheckpointError",
    "LimitExceeded",
    "TensorDataError",
    "Limits",
    "Node",
    "TensorInfo",
    "StorageRef",
]

# What a file's extension promises, to say so when the content disagrees.
EXPECTED = {
    ".safetensors": {"safetensors"},
    ".json": {"hf-index"},
    ".pt2": {"pt2"},
    ".ptl": {"torchscript"},
    ".pkl": {"pickle", "legacy"},
    ".npy": set(),
    ".ckpt": {"zip", "legacy"},
    ".pt": {"zip", "legacy", "torchscript", "legacy-tar"},
    ".pth": {"zip", "legacy", "torchscript", "legacy-tar"},
    ".bin": {"zip", "legacy", "safetensors"},
    ".tar": {"zip", "legacy", "legacy-tar", "bundle"},
}


def open_checkpoint(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Checkpoint:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"no such file: {path}")
    try:
        with gc_paused(freeze=True):  # the tree lives as long as the Checkpoint
            if os.path.isdir(path):
                ck = _open_folder(path, limits)
            else:
                ck = _open_file(path, _registry_sniff(path), limits)
        ck.extension_note = extension_note(path, ck.format)
        if ck.extension_note:
            ck.warnings.append(ck.extension_note)
        return ck
    except CheckpointError:
        raise
    except (RecursionError, MemoryError) as exc:
        raise LimitExceeded(
            f"the file is too deeply nested or too large to read ({type(exc).__name__})"
        ) from None
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
    from .registry import title

    return f"the name ends in {ext} but the content is {title(fmt)}"


def _open_file(path: str, fmt: str, limits: Limits) -> Checkpoint:
    """A file whose content `detect.sniff` calls `fmt`, opened by its registered format."""
    from . import registry

    return registry.open_file(path, fmt, limits)


def folder_is_checkpoint(path: str) -> bool:
    """A folder that is one checkpoint (DCP, Trainer folder, shard index, model folder):
    the window opens it whole; any other folder is a run of files (epoch folder)."""
    from . import registry

    fmt = registry.for_folder(path)
    return fmt is not None and fmt.whole


def _open_folder(path: str, limits: Limits) -> Checkpoint:
    from . import registry

    return registry.open_folder(path, limits)
