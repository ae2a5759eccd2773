"""Readers: bytes on disk -> one tree of inert nodes. No Qt, no torch, nothing executed.

`open_checkpoint(path)` (opening.py) sniffs the content (never trusting the name), asks
the format registry for the reader and returns a Checkpoint. Every failure is a
CheckpointError whose message is one sentence naming the problem.
"""

from __future__ import annotations

# The built-in formats register themselves here, before any lookup: registry.py holds the
# list and knows no format, so that no import cycle runs registry -> kinds -> readers.
from . import kinds as _kinds  # noqa: F401
from .checkpoint import Checkpoint
from .errors import CheckpointError, LimitExceeded, TensorDataError
from .limits import Limits
from .opening import EXPECTED, extension_note, folder_is_checkpoint, open_checkpoint
from .stubs import StorageRef, TensorInfo
from .tree import Node

__all__ = [
    "open_checkpoint",
    "folder_is_checkpoint",
    "extension_note",
    "EXPECTED",
    "Checkpoint",
    "CheckpointError",
    "LimitExceeded",
    "TensorDataError",
    "Limits",
    "Node",
    "TensorInfo",
    "StorageRef",
]
