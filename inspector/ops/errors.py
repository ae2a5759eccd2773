"""Errors of operations: one sentence, safe to show; the output is never left half-written."""

from ..formats.errors import CheckpointError


class OpError(CheckpointError):
    """The operation cannot be done as asked (the message says why)."""


class OpCancelled(OpError):
    def __init__(self):
        super().__init__("cancelled; nothing was written")
