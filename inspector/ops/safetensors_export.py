"""Export a state_dict to safetensors, streamed (no tensor is loaded whole).

safetensors refuses tensors that share memory: tied weights are written once per name
(their bytes copied) and the aliasing is recorded in `__metadata__["tied"]`. Non-tensor
scalars of the checkpoint (epoch, loss, ...) are carried as `__metadata__` strings.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from ..analysis.decode import iter_c_order
from ..formats import open_checkpoint
from .errors import OpError
from .objects import state_dict_of
from .results import SafetensorsResult
from .writer import Progress, atomic_output

ST_DTYPES = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint8": "U8",
    "uint16": "U16",
    "uint32": "U32",
    "uint64": "U64",
    "bool": "BOOL",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "complex64": "C64",
}


def _weights_key(ck, state_key):
    if state_key is not None:
        return state_key
    from ..analysis.layouts import recognise

    w = recognise(ck).weights
    if w is None:
        raise OpError("no state_dict recognised; name it with --state-key PATH")
    return w


def _header(pairs) -> tuple[dict, int, dict]:
    """(the safetensors header of `pairs` laid end to end, the data size, tied names: a
    tensor with the same storage, offset, shape and stride as an earlier one -> its name)."""
    header: dict = {}
    offset = 0
    first_name: dict = {}
    tied: dict = {}
    for name, n in pairs:
        t = n.value
        st = ST_DTYPES.get(t.dtype.name)
        if st is None:
            raise OpError(f"{name}: safetensors has no {t.dtype.name} type")
        header[name] = {"dtype": st, "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
        ident = (id(t.storage), t.storage_offset, t.shape, t.stride)
        if ident in first_name:
            tied[name] = first_name[ident]
        else:
            first_name[ident] = name
    return header, offset, tied


def _verify(ck, written: str, pairs) -> None:
    """Every tensor read back from the written file, byte for byte as in the source."""
    check = open_checkpoint(written)
    try:
        for name, n in pairs:
            a = np.ascontiguousarray(ck.array(n.value)).tobytes()
            b = np.ascontiguousarray(check.array(check.tensor_node(name))).tobytes()
            if a != b:
                raise OpError(f"verification failed: {name} differs")
    finally:
        check.close()


def export_safetensors(
    path: str,
    output: str,
    state_key: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> SafetensorsResult:
    progress = progress or Progress()
    ck = open_checkpoint(path)
    try:
        key = _weights_key(ck, state_key)
        node = ck.find(key)
        if node is None:
            raise OpError(f"no entry named {key!r}")
        pairs = state_dict_of(ck, node)
        header, offset, tied = _header(pairs)
        meta = {"format": "pt", "source": os.path.basename(path)}
        if tied:
            meta["tied"] = json.dumps(tied)
        for c in ck.root.children:
            if c.kind == "value" and isinstance(c.value, (int, float, str, bool)) and c.path != key:
                meta[c.name] = str(c.value)
        header["__metadata__"] = meta
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * ((-len(raw)) % 8)
        progress.total = offset
        with atomic_output(output, [path], force) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(struct.pack("<Q", len(raw)))
                fh.write(raw)
                for _, n in pairs:
                    src = ck.source(n.value)
                    for chunk in iter_c_order(src):
                        data = (
                            np.ascontiguousarray(chunk)
                            .astype(chunk.dtype.newbyteorder("<"), copy=False)
                            .tobytes()
                        )
                        fh.write(data)
                        progress.advance(len(data))
            _verify(ck, tmp, pairs)
        return SafetensorsResult(
            os.path.abspath(output), len(pairs), tied, {k: v for k, v in meta.items() if k != "tied"}
        )
    finally:
        ck.close()
