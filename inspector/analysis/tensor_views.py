"""Pieces of a tensor for display: a 2-D slice of its values, a heatmap."""

from __future__ import annotations

import re

import numpy as np

from ..formats.dtypes import DType
from .decode import decode

_INDEX = re.compile(r"^\s*(-?\d+)?\s*(?::\s*(-?\d+)?\s*)?$")


def default_slice(shape: tuple) -> str:
    if len(shape) <= 2:
        return ", ".join(":" for _ in shape)
    return ", ".join(["0"] * (len(shape) - 2) + [":", ":"])


def parse_slice(text: str, shape: tuple) -> tuple:
    """'0, :, 2:5' -> an index tuple; only integers and colons, never evaluated."""
    parts = [p for p in text.split(",")] if text.strip() else []
    if len(parts) > len(shape):
        raise ValueError(f"the tensor has {len(shape)} dimensions")
    out = []
    for part, size in zip(parts, shape):
        part = part.strip()
        if part == ":" or part == "":
            out.append(slice(None))
            continue
        if ":" not in part:
            i = int(part)
            if not -size <= i < size:
                raise ValueError(f"index {i} is outside 0..{size - 1}")
            out.append(i)
            continue
        a, _, b = part.partition(":")
        out.append(slice(int(a) if a.strip() else None, int(b) if b.strip() else None))
    return tuple(out)


def as_2d(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    if arr.ndim == 1:
        return arr.reshape(1, -1)
    if arr.ndim == 2:
        return arr
    return arr.reshape(arr.shape[0], -1)


def values_2d(arr: np.ndarray, dtype: DType, index: tuple, max_rows=1000, max_cols=256) -> np.ndarray:
    """Decoded values of `arr[index]` as a 2-D array capped to max_rows x max_cols."""
    part = np.asarray(arr[index] if index else arr)
    if part.ndim > 2:
        part = part[:max_rows]
    part = as_2d(part)[:max_rows, :max_cols]
    return decode(np.ascontiguousarray(part).reshape(-1), dtype).reshape(part.shape)


def heatmap(arr: np.ndarray, dtype: DType, max_side: int = 512) -> np.ndarray:
    """A 2-D picture of the tensor: matrices as they are, conv filters as (out, in*k*k),
    strided down to at most max_side per axis."""
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim > 2 and not arr.flags.c_contiguous:
        # pick the sampled (row, flattened column) elements directly: a copy of the whole
        # would be enormous for an expanded tensor (stride 0, 2**40 elements, 4 bytes stored)
        rows, rest = arr.shape[0], int(np.prod(arr.shape[1:], dtype=object))
        sr, sc = max(1, -(-rows // max_side)), max(1, -(-rest // max_side))
        r = np.arange(0, rows, sr)[:, None]
        cols = np.unravel_index(np.arange(0, rest, sc, dtype=np.int64), arr.shape[1:])
        small = np.ascontiguousarray(arr[(r, *(c[None, :] for c in cols))])
        return decode(small.reshape(-1), dtype).reshape(small.shape)
    if arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    sr = max(1, -(-arr.shape[0] // max_side))
    sc = max(1, -(-arr.shape[1] // max_side))
    small = np.ascontiguousarray(arr[::sr, ::sc])
    return decode(small.reshape(-1), dtype).reshape(small.shape)
