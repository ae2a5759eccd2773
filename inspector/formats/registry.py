"""The format registry: every format the inspector knows, in one list.

Each `Format` says how it is recognised (for a file: the kind `detect.sniff` finds in
its first bytes, never its name; for a folder: the names it holds), how it opens (a
function `(path, limits) -> Checkpoint`) and, for a folder, which of its files a loader
reads (what the security verdict judges). Opening (`formats.open_checkpoint`), the
folder rules (`folder_is_checkpoint`), `ckpt scan` and the window all ask this module.

Adding a format is one module with its reader and one `register(Format(...))` call in
`formats/kinds.py`. This module knows no format itself: kinds.py registers the built-in
ones when the package `inspector.formats` is imported (so no import cycle runs from the
registry to the readers and back). Formats that share a sniffed kind (a torch.save zip, TorchScript and
torch.export are all zip archives; a legacy torch.save stack and a bare pickle both start
with a pickle) have one *opener* entry that tells them apart from the content and
*variant* entries (`opener=None`) that name them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .detect import sniff as detect_sniff
from .errors import CheckpointError


@dataclass(frozen=True)
class Format:
    name: str  # the Checkpoint.format it produces ("zip", "dcp", "hf-trainer", ...)
    title: str  # "a torch.save zip archive": used in messages
    sniff: str | None = None  # file formats: the detect.sniff kind of their content
    magic: Callable[[bytes], bool] | None = None  # or: own test of the first 1024 bytes
    folder: Callable[[list[str]], bool] | None = None  # folder formats: from the names inside
    opener: Callable | None = None  # (path, limits) -> Checkpoint; None: a variant or foreign
    members: Callable[[str, list[str]], list[str]] | None = None  # folder: files a loader reads
    foreign: bool = False  # named, never opened (a gzip, a 7z, an .npy)
    variant_of: str | None = None  # told apart from the content by that format's opener
    whole: bool = True  # folder: the window opens it as one checkpoint (else: its files)

    @property
    def is_folder(self) -> bool:
        return self.folder is not None


FORMATS: list[Format] = []


def register(fmt: Format) -> Format:
    if any(f.name == fmt.name for f in FORMATS):
        raise ValueError(f"format {fmt.name!r} is registered twice")
    FORMATS.append(fmt)
    return fmt


def get(name: str) -> Format | None:
    return next((f for f in FORMATS if f.name == name), None)


def title(name: str) -> str:
    f = get(name)
    return f.title if f else name


def for_sniff(kind: str) -> Format | None:
    """The format that opens files whose content `detect.sniff` calls `kind`."""
    return next((f for f in FORMATS if f.sniff == kind and (f.opener or f.foreign)), None)


def for_folder(path: str, names: list[str] | None = None) -> Format | None:
    """The folder format of `path`, first match in registry order (DCP before Trainer
    before shard index before model folder), or None."""
    if names is None:
        names = os.listdir(path)
    return next((f for f in FORMATS if f.folder is not None and f.folder(names)), None)


def sniff(path: str) -> str:
    """The kind of a file's content: a format's own `magic` test first, then detect.sniff
    (which names what a non-checkpoint file is)."""
    tests = [f for f in FORMATS if f.magic is not None]
    if tests and os.path.isfile(path):
        with open(path, "rb") as fh:
            head = fh.read(1024)
        for f in tests:
            if f.magic(head):
                return f.sniff or f.name
    return detect_sniff(path)


def open_file(path: str, kind: str, limits):
    fmt = for_sniff(kind) or get(kind)
    if fmt is None:
        raise CheckpointError(f"the {kind} format is not supported")
    if fmt.foreign:
        raise CheckpointError(f"it is {fmt.title}, not a PyTorch checkpoint")
    return fmt.opener(path, limits)


def open_folder(path: str, limits):
    names = os.listdir(path)
    fmt = for_folder(path, names)
    if fmt is None:
        raise CheckpointError(
            "it is a folder without a shard index, a distributed checkpoint "
            "(.metadata + .distcp) or a model file; open a file inside it"
        )
    return fmt.opener(path, limits)


def folder_members(path: str) -> tuple[Format | None, list[str]]:
    """(the folder's format, the files in it its loader reads), [] when none is known."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None, []
    fmt = for_folder(path, names)
    if fmt is None or fmt.members is None:
        return fmt, []
    return fmt, fmt.members(path, names)
