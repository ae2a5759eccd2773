"""Our validated, memory-mapped tensor views as torch tensors - for the operations that
hand tensors to torch (strip, extract, export). Zero-copy where torch allows it, and
tensors that shared a storage in the file share one in torch (tied weights stay tied)."""

from __future__ import annotations

import warnings

import numpy as np

from ..formats.checkpoint import Checkpoint
from ..formats.stubs import TensorInfo
from ..formats.tensor_data import extent


def torch_dtype(name: str):
    import torch

    return getattr(torch, name)


def to_torch(ck: Checkpoint, infos: list[TensorInfo], cast: str | None = None) -> dict[int, object]:
    """id(TensorInfo) -> torch.Tensor, one torch storage per file storage."""
    import torch

    storages: dict[int, object] = {}
    out: dict[int, object] = {}
    for t in infos:
        s = t.storage
        key = id(s)
        if key not in storages:
            # the whole storage as a flat tensor: every view of it is cut from this one
            whole = TensorInfo(s, t.dtype, (s.nbytes // t.dtype.itemsize,), (1,), 0)
            arr = np.asarray(ck.array(whole))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # read-only mapping: torch warns, never writes
                flat = torch.from_numpy(arr.view(_numpy_carrier(t.dtype)))
            flat = flat.view(torch_dtype(t.dtype.name)) if t.dtype.kind in ("bfloat16", "float8") else flat
            storages[key] = flat
        extent(t)  # validated again: shape/stride/offset inside the storage
        view = storages[key].as_strided(t.shape, t.stride, t.storage_offset)
        if cast is not None and view.is_floating_point():
            view = view.to(torch_dtype(cast))
        out[id(t)] = view
    return out


def _numpy_carrier(dtype) -> np.dtype:
    if dtype.kind in ("bfloat16",):
        return np.dtype(np.int16)
    if dtype.kind == "float8":
        return np.dtype(np.uint8)
    return np.dtype(dtype.raw)
