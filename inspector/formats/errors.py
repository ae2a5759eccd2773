"""Errors a reader raises: one line, naming the problem, safe to show to a user."""


class CheckpointError(Exception):
    """The file cannot be read (or not this part of it). The message is one sentence."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class LimitExceeded(CheckpointError):
    """A resource limit (size, depth, node count, memo, memory) stopped the parse."""


class TensorDataError(CheckpointError):
    """One tensor's bytes cannot be viewed; the rest of the file stays usable."""
