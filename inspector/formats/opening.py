"""Opening a path: `open_checkpoint(path)` asks the format registry (registry.py) which
format a file's content or a folder's names are, and opens it with that format's opener.

The multi-file containers (composite.py, shard_index.py) and the model-folder opener open
their parts through this module, and it knows no reader itself, so no import cycle runs
through opening (docs/ARCHITECTURE.md, "The format registry"). The built-in formats are
registered by kinds.py, which the package `inspector.formats` imports before anything else.
"""

from __future__ import annotations

import os

from . import registry
from .checkpoint import Checkpoint
from .errors import CheckpointError, LimitExceeded
from .limits import DEFAULT_LIMITS, Limits, gc_paused

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
                ck = registry.open_folder(path, limits)
            else:
                ck = registry.open_file(path, registry.sniff(path), limits)
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
    return f"the name ends in {ext} but the content is {registry.title(fmt)}"


def folder_is_checkpoint(path: str) -> bool:
    """A folder that is one checkpoint (DCP, Trainer folder, shard index, model folder):
    the window opens it whole; any other folder is a run of files (epoch folder)."""
    fmt = registry.for_folder(path)
    return fmt is not None and fmt.whole
