"""What every reader's container offers the Checkpoint: where a storage's bytes are,
and closing. Containers whose storages already know their
byte ranges (legacy, tar, safetensors, DCP) need nothing more than this base."""

from __future__ import annotations

from .errors import TensorDataError
from .stubs import StorageRef


class Container:
    byteorder = "little"

    def locate(self, ref: StorageRef) -> None:
        """Fill `ref.data_offset` (absolute, in `ref.path` or the checkpoint's file)."""
        if ref.error:
            raise TensorDataError(ref.error)
        if ref.data_offset is None:
            raise TensorDataError(f"storage {ref.key} has no data in the file")

    def close(self) -> None:
        pass


def contiguous_strides(shape) -> tuple:
    """Row-major strides (in elements) of a shape."""
    out, acc = [], 1
    for size in reversed(shape):
        out.append(acc)
        acc *= max(size, 1)
    return tuple(reversed(out))
