"""Stored elements -> numbers, one bounded chunk at a time.

bf16 is the top half of a float32, fp8 formats decode through a 256-entry table, ints
and bools widen; everything becomes float32 (float64 for 64-bit and complex sources,
whose magnitudes are used). Chunks are at most 2**22 elements, so memory stays bounded
by a few chunks whatever the tensor's size, and float32 counting never saturates.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from functools import cache

import numpy as np

from ..formats.dtypes import DType

CHUNK = 1 << 22


@cache
def fp8_table(name: str) -> np.ndarray:
    """float32 value of each of the 256 bit patterns of an 8-bit float format."""
    exp_bits, man_bits, bias, fn, uz = {
        "float8_e4m3fn": (4, 3, 7, True, False),
        "float8_e5m2": (5, 2, 15, False, False),
        "float8_e4m3fnuz": (4, 3, 8, True, True),
        "float8_e5m2fnuz": (5, 2, 16, True, True),
    }[name]
    out = np.empty(256, dtype=np.float32)
    for b in range(256):
        sign = -1.0 if b & 0x80 else 1.0
        e = (b >> man_bits) & ((1 << exp_bits) - 1)
        m = b & ((1 << man_bits) - 1)
        if uz and b == 0x80:
            out[b] = np.nan
            continue
        if not fn and e == (1 << exp_bits) - 1:
            out[b] = sign * np.inf if m == 0 else np.nan
            continue
        if fn and not uz and e == (1 << exp_bits) - 1 and m == (1 << man_bits) - 1:
            out[b] = np.nan
            continue
        if e == 0:
            out[b] = sign * (m / (1 << man_bits)) * 2.0 ** (1 - bias)
        else:
            out[b] = sign * (1 + m / (1 << man_bits)) * 2.0 ** (e - bias)
    return out


def work_dtype(dtype: DType) -> np.dtype:
    if dtype.name in ("float64", "int64", "uint64", "int32", "uint32", "complex128", "complex64", "qint32"):
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def decode(raw: np.ndarray, dtype: DType) -> np.ndarray:
    """A 1-D chunk of stored elements as float32/float64 numbers."""
    if dtype.kind == "bfloat16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if dtype.kind == "float8":
        return fp8_table(dtype.name)[raw]
    if dtype.kind == "complex":
        return np.abs(raw).astype(np.float64)
    return raw.astype(work_dtype(dtype), copy=False)


def broadcast_parts(arr) -> tuple:
    """(the tensor without its repeated dimensions, how many times each of its elements
    appears in the whole). A dimension of stride 0 (`torch.zeros(1).expand(2**40)`, saved
    as one stored element) repeats what lies below it; statistics and counts of the whole
    follow from the stored elements times the repeat, without visiting 2**40 of them."""
    if not isinstance(arr, np.ndarray) or arr.size == 0:
        return arr, 1
    repeat, index = 1, []
    for n, st in zip(arr.shape, arr.strides):
        if st == 0 and n > 1:
            repeat *= n
            index.append(slice(0, 1))
        else:
            index.append(slice(None))
    return (arr, 1) if repeat == 1 else (arr[tuple(index)], repeat)


def iter_raw_chunks(arr, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """1-D chunks covering every element once (memory order; order does not matter here).
    `arr` is an array or a source with `raw_chunks` (formats.tensor_data.StoredTensor)."""
    if arr.size == 0:
        return
    if hasattr(arr, "raw_chunks"):
        yield from arr.raw_chunks(chunk)
        return
    if arr.flags.c_contiguous or arr.flags.f_contiguous:
        flat = arr.ravel(order="K")
        for i in range(0, flat.size, chunk):
            yield flat[i : i + chunk]
        return
    it = np.nditer(
        arr,
        flags=["external_loop", "buffered", "zerosize_ok"],
        op_flags=[["readonly"]],
        buffersize=chunk,
        order="K",
    )
    yield from it


def iter_c_order(arr, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """1-D chunks in C (row-major) order - what a file format needs, unlike statistics."""
    if arr.size == 0:
        return
    if hasattr(arr, "raw_chunks"):  # sources are only made for C-contiguous tensors
        yield from arr.raw_chunks(chunk)
    elif arr.flags.c_contiguous:
        flat = arr.reshape(-1)
        for i in range(0, flat.size, chunk):
            yield flat[i : i + chunk]
    elif arr.ndim == 0:
        yield arr.reshape(1)
    else:
        for i in range(arr.shape[0]):
            yield from iter_c_order(np.ascontiguousarray(arr[i]), chunk)


def iter_chunks(arr: np.ndarray, dtype: DType, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    for raw in iter_raw_chunks(arr, chunk):
        yield decode(raw, dtype)


BLOCK = 1 << 16  # elements decoded and processed at a time: temporaries stay in cache


def iter_blocks(raw: np.ndarray, dtype: DType, block: int = BLOCK) -> Iterator[np.ndarray]:
    """Decoded, cache-sized pieces of one raw chunk."""
    for i in range(0, raw.size, block):
        yield decode(raw[i : i + block], dtype)


def workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def reduce_chunks(arr: np.ndarray, dtype: DType, make, chunk: int = CHUNK, threads: int | None = None):
    """Feed every decoded block of `arr` to accumulators made by `make()`, one per thread
    (numpy releases the GIL in its loops), and return them for the caller to merge."""
    threads = threads or workers()
    chunks = iter_raw_chunks(arr, chunk)
    lock = threading.Lock()
    accs = [make() for _ in range(threads)]

    def run(acc):
        while True:
            with lock:
                raw = next(chunks, None)
            if raw is None:
                return
            for x in iter_blocks(raw, dtype):
                acc.add(x)

    if threads == 1 or arr.size <= chunk:
        run(accs[0])
        return accs[:1]
    pool = [threading.Thread(target=run, args=(a,), daemon=True) for a in accs]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return accs


RUN = 4096  # a preview reads random runs of this many elements: few pages, any tensor size


def sample(arr, dtype: DType, size: int = 1 << 20, seed: int = 0) -> np.ndarray:
    """A fixed-size random sample (all elements when the tensor is smaller). From a
    chunked source it is `size // RUN` random runs, so only those pages are read."""
    arr, _ = broadcast_parts(arr)  # uniform over the stored elements = uniform over the whole
    n = arr.size
    if n <= size:
        return np.concatenate(list(iter_chunks(arr, dtype))) if n else np.empty(0, np.float32)
    rng = np.random.default_rng(seed)
    if hasattr(arr, "runs"):
        starts = np.sort(rng.integers(0, n - RUN, size=size // RUN, dtype=np.int64))
        return decode(arr.runs(starts, RUN), dtype)
    flat_idx = np.sort(rng.integers(0, n, size=size, dtype=np.int64))
    if arr.flags.c_contiguous:
        picked = arr.reshape(-1)[flat_idx]
    else:
        picked = arr[np.unravel_index(flat_idx, arr.shape)]
    return decode(np.ascontiguousarray(picked), dtype)
