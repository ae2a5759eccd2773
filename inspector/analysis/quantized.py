"""Quantized tensors: the real values `(q - zero_point) * scale` for statistics and
histograms (per tensor, or per channel along `axis`), the stored integers on request.

`values(ck, t, raw)` gives what statistics read and the dtype to decode it with: for a
quantized tensor, unless `raw`, a float32 array of the dequantized values (computed one
slice of the channel axis at a time; the result is as large as the tensor in float32),
else the tensor's own source. Computed as torch.dequantize's kernels do, so that the
values agree bit for bit: per tensor in float32 (scale cast to float), per channel in
double precision (the scales tensor is float64), then stored as float32.
"""

from __future__ import annotations

import numpy as np

from ..formats.dtypes import DTYPES
from ..formats.errors import TensorDataError
from ..formats.stubs import TensorInfo

MAX_DEQUANTIZE = 1 << 28  # elements materialised as float32 (1 GB); beyond, raw values


def is_quantized(t: TensorInfo) -> bool:
    return bool(t.quantization) and t.dtype.kind == "quant"


def _param(ck, value, what: str) -> np.ndarray:
    """A scale or zero point: a number, or a tensor stored in the file."""
    if isinstance(value, TensorInfo):
        from .decode import decode

        return decode(np.asarray(ck.array(value)).reshape(-1), value.dtype).astype(np.float64)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray([value], dtype=np.float64)
    raise TensorDataError(f"the quantizer's {what} is not a number or a tensor")


def parameters(ck, t: TensorInfo) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(scales, zero points, axis): one value each and axis None for per-tensor schemes."""
    q = t.quantization or {}
    if "scales" in q:
        axis = q.get("axis")
        if type(axis) is not int or not 0 <= axis < len(t.shape):
            raise TensorDataError(f"the quantizer's axis {axis!r:.20} does not fit shape {t.shape}")
        scales = _param(ck, q["scales"], "scales")
        zeros = _param(ck, q["zero_points"], "zero points")
        if scales.size != t.shape[axis] or zeros.size != t.shape[axis]:
            raise TensorDataError(f"the quantizer has {scales.size} scales for {t.shape[axis]} channels")
        return scales, zeros, axis
    if "scale" in q:
        return _param(ck, q["scale"], "scale"), _param(ck, q.get("zero_point", 0), "zero point"), None
    raise TensorDataError("the quantized tensor carries no scale")


def dequantize(ck, t: TensorInfo) -> np.ndarray:
    """float32 real values, as torch.dequantize computes them."""
    if t.numel > MAX_DEQUANTIZE:
        raise TensorDataError(f"{t.numel:,} elements are too many to dequantize in memory")
    scales, zeros, axis = parameters(ck, t)
    raw = np.asarray(ck.array(t))
    out = np.empty(t.shape, dtype=np.float32)
    if axis is None:
        out[...] = (raw.astype(np.float32) - np.float32(zeros[0])) * np.float32(scales[0])
        return out
    for c in range(t.shape[axis]):
        index = (slice(None),) * axis + (c,)
        out[index] = (raw[index].astype(np.float64) - zeros[c]) * scales[c]
    return out


def values(ck, t: TensorInfo, raw: bool = False):
    """(array or source, dtype) that statistics and histograms read."""
    if raw or not is_quantized(t):
        return ck.source(t), t.dtype
    return dequantize(ck, t), DTYPES["float32"]


def describe(t: TensorInfo) -> dict[str, str]:
    """The quantizer in words: qscheme, scale / zero point or their per-channel tensors."""
    out = {}
    for k, v in (t.quantization or {}).items():
        if isinstance(v, TensorInfo):
            out[k] = f"{v.numel} × {v.dtype.name}"
        elif isinstance(v, float):
            out[k] = f"{v:.6g}"
        else:
            out[k] = str(v)
    return out
