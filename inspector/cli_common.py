"""What the `ckpt` command modules share (cli.py, cli_scan.py, cli_diff.py): the usage
error, C-level stderr kept quiet while hostile bytes are parsed, and every file a command
reads opened through the one inspection (analysis/inspection.py).

It imports none of them, so they import it without a cycle.
"""

from __future__ import annotations

import contextlib
import os
import sys

from .formats import CheckpointError


class UsageError(Exception):
    pass


@contextlib.contextmanager
def quiet_stderr():
    """While a hostile file is parsed, CPython itself may print to stderr (e.g. freeing a
    bytearray a corrupt pickle half-built); the command's contract is one line, ours."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def inspect_quietly(path: str, need=None):
    """`inspect(path, need=need)` (everything when None) with C-level stderr quiet."""
    # imported here: `ckpt --help` and `ckpt registry` start without the analysis modules
    from .analysis.inspection import ALL, inspect

    with quiet_stderr():
        return inspect(path, need=ALL if need is None else need)


def checkpoint_of(path: str):
    """The checkpoint alone (`ckpt tree`, `stats`, `optimizer`, `diff`): an inspection
    that needs nothing derived; a refused file is the one-line error naming it."""
    found = inspect_quietly(path, ())
    if found.read_error is not None:
        raise CheckpointError(f"{path}: {found.read_error}")
    return found.checkpoint
