"""safetensors: an 8-byte header length, a JSON header, then raw tensor bytes.

The header is validated twice: by the safetensors library's `safe_open` (which reads
only the header) and by our own parse, which keeps each tensor's byte range so that its
bytes are mapped or read on demand like any other record. `__metadata__` is shown.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from . import dtypes as dt
from .container import Container, contiguous_strides
from .errors import CheckpointError, LimitExceeded
from .limits import Limits
from .safe_io import load_json
from .stubs import StorageRef, TensorInfo

MAX_HEADER = 100 << 20

DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "U16": "uint16",
    "U32": "uint32",
    "U64": "uint64",
    "BOOL": "bool",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "C64": "complex64",
}


class SafetensorsContainer(Container):
    def __init__(
        self, path: str, fh: BinaryIO, limits: Limits, file_size: int, base: int = 0, validate: bool = True
    ):
        """`base`: where this file starts inside `path` (a member of an archive, read
        through a Window); `validate`: also ask the safetensors library (whole files only)."""
        self.base = base
        self.validate = validate
        self.path = path
        self.fh = fh
        self.limits = limits
        self.file_size = file_size
        self.storages: dict[str, StorageRef] = {}
        self.metadata: dict = {}

    def load(self) -> dict:
        if self.validate:
            _validate_with_library(self.path)
        self.fh.seek(0)
        head = self.fh.read(8)
        if len(head) != 8:
            raise CheckpointError("the safetensors file is truncated")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or n > self.file_size - 8:
            raise LimitExceeded(f"the safetensors header claims {n:,} bytes")
        header = load_json(self.fh.read(n), "the safetensors header")
        if not isinstance(header, dict):
            raise CheckpointError("the safetensors header is not a JSON object")
        base = self.base + 8 + n
        out: dict = {}
        meta = header.pop("__metadata__", None)
        if isinstance(meta, dict):
            self.metadata = meta
        for name, entry in header.items():
            out[name] = self._tensor(name, entry, base)
        if meta is not None:
            out["__metadata__"] = meta
        return out

    def _tensor(self, name: str, entry, base: int) -> TensorInfo:
        if not isinstance(entry, dict):
            raise CheckpointError(f"safetensors entry {name!r:.60} is malformed")
        dtype = dt.DTYPES.get(DTYPES.get(entry.get("dtype"), ""))
        shape = entry.get("shape")
        offsets = entry.get("data_offsets")
        if dtype is None:
            raise CheckpointError(
                f"safetensors entry {name!r:.60} has unknown dtype {entry.get('dtype')!r:.20}"
            )
        if not (isinstance(shape, list) and all(type(s) is int and 0 <= s < 1 << 62 for s in shape)):
            raise CheckpointError(f"safetensors entry {name!r:.60} has an invalid shape")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1]
        ):
            raise CheckpointError(f"safetensors entry {name!r:.60} has invalid data offsets")
        shape_t = tuple(shape)
        numel = 1
        for s in shape_t:
            numel *= s
        ref = StorageRef(
            key=name,
            dtype=dtype,
            location="cpu",
            numel=numel,
            record=name,
            data_offset=base + offsets[0],
            record_size=offsets[1] - offsets[0],
        )
        if ref.record_size != numel * dtype.itemsize:
            ref.error = (
                f"{name}: the header gives {ref.record_size:,} bytes for {numel:,} elements of {dtype.name}"
            )
        elif base + offsets[1] > self.base + self.file_size:
            ref.error = f"{name}: its bytes lie past the end of the file (truncated)"
        self.storages[name] = ref
        return TensorInfo(ref, dtype, shape_t, contiguous_strides(shape_t), 0, rebuild="safetensors")


def _validate_with_library(path: str) -> None:
    try:
        from safetensors import safe_open
    except ImportError:  # the library is a dependency; our own parse still validates
        return
    try:
        with safe_open(path, framework="numpy") as f:
            f.keys()
    except Exception as exc:  # the library raises its own error types
        text = " ".join(str(exc).split())[:160]
        raise CheckpointError(f"the safetensors file is invalid ({text})") from None
