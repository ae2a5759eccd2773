"""Writing outputs safely: a temporary file in the target folder, renamed at the end.

Never the input, never an existing file unless asked, nothing left behind on failure or
cancel. `TorchZipWriter` writes the zip layout torch.save uses (stored records aligned
to 64 bytes, zip64 when needed) so the output loads with a plain torch.load.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager

from .errors import OpCancelled, OpError

ALIGN = 64


class Progress:
    """Byte-based progress with cooperative cancel (the GUI's Cancel sets `cancelled`)."""

    def __init__(self, callback: Callable[[int, int], None] | None = None, total: int = 0):
        self.callback = callback
        self.total = total
        self.done = 0
        self.cancelled = False

    def advance(self, n: int) -> None:
        self.done += n
        if self.cancelled:
            raise OpCancelled()
        if self.callback is not None:
            self.callback(self.done, self.total)

    def check(self) -> None:
        if self.cancelled:
            raise OpCancelled()


def check_output(inputs: list[str], output: str, force: bool) -> None:
    out = os.path.abspath(output)
    for src in inputs:
        if os.path.exists(out) and os.path.exists(src) and os.path.samefile(src, out):
            raise OpError(f"the output {output} is an input; choose another file name")
        if os.path.abspath(src) == out:
            raise OpError(f"the output {output} is an input; choose another file name")
    if os.path.exists(out) and not force:
        raise OpError(f"{output} exists; pass --force (or confirm) to replace it")
    folder = os.path.dirname(out) or "."
    if not os.path.isdir(folder):
        raise OpError(f"the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OpError(f"the folder {folder} is not writable")


@contextmanager
def atomic_output(output: str, inputs: list[str], force: bool = False):
    """Yields a temporary path beside `output` (same file name, in a hidden temporary
    folder of the target folder: torch names archive roots after the file); renames it
    over `output` on success and removes every trace on failure or cancel."""
    check_output(inputs, output, force)
    out = os.path.abspath(output)
    try:
        folder = tempfile.mkdtemp(prefix=".ckpt-", dir=os.path.dirname(out))
    except OSError as exc:
        raise OpError(f"cannot write in {os.path.dirname(out)}: {exc.strerror}") from None
    tmp = os.path.join(folder, os.path.basename(out))
    try:
        yield tmp
        if not os.path.isfile(tmp):
            raise OpError("nothing was written")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class TorchZipWriter:
    def __init__(self, path: str, root: str = "archive"):
        self.fh = open(path, "wb")
        self.zip = zipfile.ZipFile(self.fh, "w", zipfile.ZIP_STORED, allowZip64=True)
        self.root = root.strip("/")

    def write(
        self, name: str, chunks: Iterable[bytes] | bytes, size: int, progress: Progress | None = None
    ) -> None:
        full = f"{self.root}/{name}"
        info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        zip64 = size >= (1 << 31)
        start = self.fh.tell()
        header = 30 + len(full.encode()) + 4 + (20 if zip64 else 0)
        pad = (-(start + header)) % ALIGN
        info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # like torch's "FB" padding
        written = 0
        with self.zip.open(info, "w", force_zip64=zip64) as out:
            for chunk in [chunks] if isinstance(chunks, (bytes, bytearray, memoryview)) else chunks:
                out.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress.advance(len(chunk))
        if written != size:
            raise OpError(f"{name}: wrote {written} bytes, expected {size}")

    def close(self) -> None:
        self.zip.close()
        self.fh.close()


def copy_range(path: str, offset: int, size: int, block: int = 8 << 20):
    """The bytes [offset, offset+size) of a file, in blocks."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        left = size
        while left > 0:
            data = fh.read(min(block, left))
            if not data:
                raise OpError(f"{path} ends early: it is truncated")
            left -= len(data)
            yield data
