"""Reading input that may be hostile, with every cost bounded before it is paid.

- `check_regular` / `open_regular`: only regular files are read. A named pipe would block
  forever, `/dev/zero` never ends, a folder where a file is expected raises deep inside a
  reader, and a symbolic link inside a checkpoint folder may point anywhere on the disk;
  each is refused with one sentence before a byte is read. The check is repeated on the
  open descriptor (opened non-blocking, so even a pipe swapped in meanwhile cannot block).
- `bounded_inflate`: gzip / bzip2 / xz / zlib / raw deflate decompressed with `max_length`,
  concatenated streams included, never past `limit` bytes of output: a 1 MB bomb that
  inflates to many GB costs `limit`, not the bomb's size.
- `ReadBudget`: the total a scan may read, inflate or walk over all the members of one
  file, so that directory entries sharing one record (an overlapping-member zip bomb)
  cannot multiply the work.
- `load_json`: JSON parsed with the nesting depth bounded (json.loads recurses in C and
  ends in RecursionError; callers then walk what it returns).
"""

from __future__ import annotations

import os
import stat
from typing import Any, BinaryIO

from .errors import CheckpointError, LimitExceeded

MAX_JSON_DEPTH = 100

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class NotARegularFile(CheckpointError):
    """The path exists but is not a regular file (or lies outside its folder)."""


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    for test, what in _KINDS:
        if test(mode):
            return what
    return "not a regular file"


def inside(path: str, folder: str) -> bool:
    """Whether `path`, with every symbolic link resolved, lies inside `folder`."""
    real, top = os.path.realpath(path), os.path.realpath(folder)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def check_regular(path: str, what: str | None = None, folder: str | None = None) -> int:
    """The size of `path` if it is a regular file (inside `folder` when given), else a
    one-line CheckpointError naming what it is."""
    what = what or os.path.basename(path) or path
    if folder is not None and not inside(path, folder):
        raise NotARegularFile(f"{what} is a symbolic link leading outside its folder; not read")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise NotARegularFile(f"{what} is a broken symbolic link") from None
        raise CheckpointError(f"no such file: {path}") from None
    except PermissionError:
        raise CheckpointError(f"{what}: permission denied") from None
    except OSError as exc:
        raise CheckpointError(f"{what} cannot be read ({exc.strerror or exc})") from None
    kind = _not_regular(st.st_mode)
    if kind is not None:
        where = " where a file is expected" if kind == "a folder" else ", not a file"
        raise NotARegularFile(f"{what} is {kind}{where}; not read")
    return st.st_size


def open_regular(path: str, what: str | None = None, folder: str | None = None) -> BinaryIO:
    """`open(path, 'rb')` for regular files only (see check_regular)."""
    check_regular(path, what, folder)
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise CheckpointError(
            f"{what or os.path.basename(path)} cannot be opened ({exc.strerror or exc})"
        ) from None
    try:
        kind = _not_regular(os.fstat(fd).st_mode)
        if kind is not None:  # replaced between the check and the open
            raise NotARegularFile(f"{what or os.path.basename(path)} is {kind}, not a file; not read")
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str, limit: int, what: str | None = None, folder: str | None = None) -> bytes:
    """All of a regular file, refused when it is over `limit` bytes."""
    with open_regular(path, what, folder) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise LimitExceeded(f"{what or os.path.basename(path)} is over the {limit:,}-byte limit")
    return data


# -- decompression -----------------------------------------------------------------------


def _decompressor(kind: str):
    import bz2
    import lzma
    import zlib

    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "zlib":
        return zlib.decompressobj()
    if kind == "deflate":
        return zlib.decompressobj(-zlib.MAX_WBITS)
    if kind in ("bz2", "bzip2"):
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor()
    raise ValueError(f"unknown compression {kind!r}")


def bounded_inflate(kind: str, data: bytes, limit: int) -> tuple[bytes, str | None]:
    """(at most `limit` bytes of output, None when that is all of it, else one line saying
    why not: over the limit, truncated or damaged - the output decoded before the problem
    is still returned). Concatenated streams (gzip members, xz and bzip2 streams) are
    followed, as the command-line tools do."""
    import lzma
    import zlib

    out = bytearray()
    rest = data
    try:
        while True:
            d = _decompressor(kind)
            # max_length: a call returns at most `room` bytes; fewer means the input is used up
            out += d.decompress(rest, limit + 1 - len(out))
            if len(out) > limit:
                del out[limit:]
                return bytes(
                    out
                ), f"the {kind} content inflates beyond {limit >> 20:,} MB; not read past that"
            if not d.eof:
                return bytes(out), f"the {kind} data ends early (truncated)"
            rest = d.unused_data
            if kind not in ("gzip", "bz2", "bzip2", "xz") or not rest.strip(b"\x00"):
                return bytes(out), None
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        return bytes(out), f"the {kind} data is damaged ({' '.join(str(exc).split())[:80]})"
    except MemoryError:
        raise LimitExceeded(f"inflating the {kind} data needs more memory than allowed") from None


class ReadBudget:
    """What one file may cost a scan, over all its members together: bytes read or
    inflated (`read`), and bytes given to the pure-Python opcode scan (`slow`, about a
    microsecond a byte). Directory entries sharing or overlapping one record (a zip bomb
    by overlap) cannot multiply the work; real archives read each member once."""

    def __init__(self, read: int, slow: int):
        self.read_left, self.slow_left = read, slow
        self.read_total, self.slow_total = read, slow

    def charge(self, n: int, what: str, slow: bool = False) -> None:
        if slow:
            if n > self.slow_left:
                self.slow_left = 0
                raise LimitExceeded(
                    f"{what}: more than {self.slow_total >> 20:,} MB of pickle-like "
                    "bytes to check one opcode at a time; not checked completely"
                )
            self.slow_left -= n
            return
        if n > self.read_left:
            self.read_left = 0
            raise LimitExceeded(
                f"{what}: the archive's members add up to more than "
                f"{self.read_total >> 20:,} MB to read (members overlapping or "
                "inflating far beyond the file's size); not checked completely"
            )
        self.read_left -= n


def scan_budget(file_size: int) -> ReadBudget:
    """A file's scan budget: each member read once, four times over, plus 512 MB; up to
    8 MB (plus an eighth of the file) scanned by the Python opcode walker."""
    return ReadBudget(4 * file_size + (512 << 20), (8 << 20) + file_size // 8)


# -- JSON ----------------------------------------------------------------------------------


def load_json(data: bytes | str, what: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """jsonsafe.parse_json (one-line errors) with the nesting depth bounded too."""
    from .jsonsafe import parse_json

    obj = parse_json(data, what)
    if isinstance(data, str):
        opens = data.count("[") + data.count("{")
    else:
        opens = data.count(b"[") + data.count(b"{")
    if opens > max_depth and json_depth(obj) > max_depth:
        raise CheckpointError(f"{what} is JSON nested more than {max_depth} levels deep")
    return obj


def json_depth(obj: Any) -> int:
    """Nesting depth of parsed JSON, walked with an explicit stack."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in o.values() if isinstance(v, (dict, list)))
        elif isinstance(o, list):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in o if isinstance(v, (dict, list)))
    return deepest
