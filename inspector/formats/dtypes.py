"""The dtypes a checkpoint can name, and how their bytes are read without torch.

Names follow torch (`float32`, `bfloat16`, `qint8`, ...). `raw` is the numpy dtype that
holds one element's bytes unchanged; `decode` (see analysis) turns those into numbers.
The legacy `torch.XxxStorage` class names map to dtypes here, because the zip format
still pickles storages by those names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    name: str
    itemsize: int
    raw: str  # numpy type string of the stored bytes, without byte order
    kind: str  # 'float', 'int', 'uint', 'bool', 'complex', 'quant', 'float8', 'bits'

    def numpy_raw(self, byteorder: str = "little") -> np.dtype:
        dt = np.dtype(self.raw)
        if dt.itemsize > 1:
            dt = dt.newbyteorder("<" if byteorder == "little" else ">")
        return dt


_TABLE = [
    DType("float64", 8, "f8", "float"),
    DType("float32", 4, "f4", "float"),
    DType("float16", 2, "f2", "float"),
    DType("bfloat16", 2, "u2", "bfloat16"),
    DType("int64", 8, "i8", "int"),
    DType("int32", 4, "i4", "int"),
    DType("int16", 2, "i2", "int"),
    DType("int8", 1, "i1", "int"),
    DType("uint8", 1, "u1", "uint"),
    DType("uint16", 2, "u2", "uint"),
    DType("uint32", 4, "u4", "uint"),
    DType("uint64", 8, "u8", "uint"),
    DType("bool", 1, "u1", "bool"),
    DType("complex128", 16, "c16", "complex"),
    DType("complex64", 8, "c8", "complex"),
    DType("complex32", 4, "u4", "bits"),
    DType("qint8", 1, "i1", "quant"),
    DType("quint8", 1, "u1", "quant"),
    DType("qint32", 4, "i4", "quant"),
    DType("quint4x2", 1, "u1", "bits"),
    DType("quint2x4", 1, "u1", "bits"),
    DType("float8_e4m3fn", 1, "u1", "float8"),
    DType("float8_e5m2", 1, "u1", "float8"),
    DType("float8_e4m3fnuz", 1, "u1", "float8"),
    DType("float8_e5m2fnuz", 1, "u1", "float8"),
    DType("float8_e8m0fnu", 1, "u1", "bits"),
    DType("float4_e2m1fn_x2", 1, "u1", "bits"),
    DType("bits8", 1, "u1", "bits"),
    DType("bits16", 2, "u2", "bits"),
    DType("bits1x8", 1, "u1", "bits"),
    DType("bits2x4", 1, "u1", "bits"),
    DType("bits4x2", 1, "u1", "bits"),
]
for _n in range(1, 8):
    _TABLE.append(DType(f"int{_n}", 1, "i1", "int"))
    _TABLE.append(DType(f"uint{_n}", 1, "u1", "uint"))

DTYPES: dict[str, DType] = {d.name: d for d in _TABLE}

# torch attribute aliases that pickles may name (torch.float is torch.float32, ...)
ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "cfloat": "complex64",
    "cdouble": "complex128",
    "chalf": "complex32",
}

STORAGE_CLASSES = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "BFloat16Storage": "bfloat16",
    "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64",
    "QInt8Storage": "qint8",
    "QInt32Storage": "qint32",
    "QUInt8Storage": "quint8",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8",
}
# The pre-1.0 CUDA storage classes live in torch.cuda and mean the same dtypes.


def lookup(name: str) -> DType | None:
    name = ALIASES.get(name, name)
    return DTYPES.get(name)
