"""What a file is, from its first bytes rather than its name.

Returns a format name for checkpoints, or raises CheckpointError with one sentence that
names what the file is instead (empty, text, an image, a Git LFS pointer, ...).
"""

from __future__ import annotations

import json
import os
import re
import struct

from .errors import CheckpointError
from .safe_io import check_regular, open_regular

_LFS = re.compile(rb"^version https://git-lfs\.github\.com/spec/v1\s+oid sha256:([0-9a-f]{64})\s+size (\d+)")

_GLOBAL_ARG = re.compile(r"^[A-Za-z_][\w.]* [A-Za-z_][\w.]*$")

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (Keras or h5py)"),
    (b"\x08\x01\x12", "possibly an ONNX model (protobuf)"),
]

# Containers we name but do not open; the security scan still looks inside them.
FOREIGN = [
    (b"7z\xbc\xaf\x27\x1c", "7z", "a 7-Zip archive"),
    (b"\x1f\x8b", "gzip", "a gzip-compressed file"),
    (b"BZh", "bzip2", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "xz", "an xz-compressed file"),
    (b"\x93NUMPY", "npy", "a NumPy .npy array"),
]
FOREIGN_NAMES = {kind: what for _, kind, what in FOREIGN}


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _safetensors_header(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= size - 8 and head[8:9] == b"{"


def sniff(path: str) -> str:
    """'zip', 'pickle', 'safetensors', 'legacy-tar', 'json', a FOREIGN kind, or an error."""
    if os.path.isdir(path):
        raise CheckpointError("it is a folder; open the checkpoint file inside it")
    size = check_regular(path, "it")  # a pipe would block, /dev/zero never ends
    if size == 0:
        raise CheckpointError("the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(1024)
    m = _LFS.match(head)
    if m:
        return_size = int(m.group(2))
        raise CheckpointError(
            f"it is a Git LFS pointer, not the checkpoint: the real file (sha256 "
            f"{m.group(1).decode()[:12]}..., {return_size:,} bytes) was never downloaded; "
            f"run 'git lfs pull'"
        )
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"  # the legacy torch format starts with a pickle too; the reader decides
    if _is_tar(head):
        return "legacy-tar"
    if _safetensors_header(head, size):
        return "safetensors"
    for magic, kind, _ in FOREIGN:
        if head.startswith(magic):
            return kind
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise CheckpointError(f"it is {what}, not a PyTorch checkpoint")
    if _looks_json(head) and _parses_as_json(path, size):
        return "json"
    if _parses_as_pickle(path, size):
        return "pickle"
    if size < 16:
        raise CheckpointError(f"it is only {size} bytes ({head[:16]!r}), far too small to be a checkpoint")
    if _is_text(head):
        first = head.decode("utf-8", "replace").strip().splitlines()[0][:60] if head.strip() else ""
        raise CheckpointError(f"it is a text file, not a PyTorch checkpoint (it begins {first!r})")
    raise CheckpointError("it is not a PyTorch checkpoint: the content matches no known format")


def _looks_json(head: bytes) -> bool:
    return head.lstrip()[:1] in (b"{", b"[") and _is_text(head)


def _parses_as_json(path: str, size: int) -> bool:
    try:
        with open(path, "rb") as fh:
            json.loads(fh.read(min(size, 64 << 20)))
        return True
    except RecursionError:
        return True  # JSON nested too deeply to parse: the reader says so in one line
    except (ValueError, UnicodeDecodeError):
        return False


def is_json(path: str) -> bool:
    """Whether a regular file holds JSON (a shard index naming another index, ...)."""
    try:
        with open_regular(path) as fh:  # never blocks on a pipe, never reads /dev/zero
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(1024)
    except (OSError, CheckpointError):
        return False
    return _looks_json(head) and _parses_as_json(path, size)


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head[:-4].decode("utf-8", "ignore") if len(head) > 4 else ""
        if not text:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * max(1, len(text))


def _parses_as_pickle(path: str, size: int) -> bool:
    """Protocol 0/1 pickles are text; they are pickles if the opcodes parse to a STOP."""
    import pickletools

    with open(path, "rb") as fh:
        data = fh.read(min(size, 1 << 20))
    named_global = False
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "STOP":
                return True
            if op.name in ("GLOBAL", "INST") and _GLOBAL_ARG.match(str(arg)):
                named_global = True
    except Exception:
        return named_global  # a broken pickle still runs what it named before the break
    return named_global
