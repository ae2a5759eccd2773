"""Export from the tensor panel: one tensor as .npy, a histogram as CSV (atomic writes)."""

from __future__ import annotations

import numpy as np

from ..analysis.decode import decode, iter_c_order
from ..formats.dtypes import DType
from .writer import Progress, atomic_output

NPY_NATIVE = {
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "complex64",
    "complex128",
}


def export_npy(arr, dtype: DType, path: str, progress: Progress | None = None) -> str:
    """The tensor as .npy in bounded memory: its own dtype where numpy has it (bf16 and
    fp8 become float32), written in row-major chunks."""
    progress = progress or Progress()
    if dtype.name == "bool":
        out_dtype = np.dtype(np.bool_)
    elif dtype.name in NPY_NATIVE:
        out_dtype = np.dtype(dtype.raw).newbyteorder("=")
    else:
        out_dtype = np.dtype(np.float32)
    with atomic_output(path, [], force=True) as tmp:  # the save dialog asked about replacing
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=out_dtype, shape=tuple(arr.shape))
        flat = out.reshape(-1) if out.size else out
        pos = 0
        for raw in iter_c_order(arr):
            progress.check()
            vals = (
                raw.view(np.bool_)
                if dtype.name == "bool"
                else (raw if dtype.name in NPY_NATIVE else decode(raw, dtype))
            )
            flat[pos : pos + vals.size] = vals
            pos += vals.size
        out.flush()
        del out, flat
    return path


def export_histogram_csv(hist, path: str) -> str:
    with atomic_output(path, [], force=True) as tmp:
        with open(tmp, "w") as fh:
            fh.write("bin_start,bin_end,count\n")
            for lo, hi, c in zip(hist.edges[:-1], hist.edges[1:], hist.counts):
                fh.write(f"{lo!r},{hi!r},{int(c)}\n")
            for name in ("nan", "posinf", "neginf", "below", "above"):
                fh.write(f"{name},,{getattr(hist, name)}\n")
    return path
