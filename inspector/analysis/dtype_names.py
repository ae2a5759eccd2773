"""The short names people type for dtypes, in one table.

Search queries (`dtype:bf16`), `--dtype` casts on the command line and the cast choices in
the Convert dialogs all read their spellings from here.
"""

from __future__ import annotations

DTYPE_ALIASES = {
    "bf16": "bfloat16",
    "fp16": "float16",
    "half": "float16",
    "fp32": "float32",
    "float": "float32",
    "fp64": "float64",
    "double": "float64",
    "long": "int64",
    "int": "int32",
    "fp8": "float8",
}
SHORT_DTYPES = {v: k for k, v in DTYPE_ALIASES.items() if k in ("bf16", "fp16", "fp32", "fp64")}

# Floating casts the operations offer: the dtype -> torch's storage class for it.
CAST_STORAGES = {"bfloat16": "BFloat16Storage", "float16": "HalfStorage"}
CAST_CHOICES = ("bf16", "fp16")  # what the command line and the dialogs offer


def cast_dtype(name: str | None) -> str | None:
    """The dtype a `--dtype` value names (bf16, bfloat16, fp16, half, float16), None for
    "keep dtypes"; ValueError for anything else."""
    if name is None:
        return None
    full = DTYPE_ALIASES.get(name, name)
    if full not in CAST_STORAGES:
        raise ValueError(f"--dtype must be bf16 or fp16, not {name!r}")
    return full
