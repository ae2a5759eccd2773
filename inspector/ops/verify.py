"""Re-open an output with our own reader and check it against what it should hold."""

from __future__ import annotations

import numpy as np

from ..formats import open_checkpoint
from ..formats.checkpoint import Checkpoint
from ..present import node_json
from .errors import OpError
from .results import Verified


def raw_bytes(ck: Checkpoint, node) -> bytes:
    return np.ascontiguousarray(ck.array(node)).tobytes()


def structure(ck: Checkpoint) -> dict:
    """The tree without what an operation may legitimately change (device tags, storage
    keys and records): everything else must survive."""

    def strip(d: dict) -> dict:
        d = {k: v for k, v in d.items() if k not in ("device", "storage", "path")}
        if "children" in d:
            d["children"] = [strip(c) for c in d["children"]]
        return d

    return strip(node_json(ck.root))


def verify_same(src: Checkpoint, out_path: str, cast: dict | None = None) -> Verified:
    """Every tensor of `src` is in the output at the same path with the same bytes (or
    `cast[path](src_bytes)` for cast ones); the rest of the tree is unchanged."""
    out = open_checkpoint(out_path)
    try:
        src_paths = [n.path for n in src.tensors]
        out_paths = [n.path for n in out.tensors]
        if src_paths != out_paths:
            raise OpError("verification failed: the output's tensors differ from the input's")
        changed = 0
        for a, b in zip(src.tensors, out.tensors):
            want = raw_bytes(src, a)
            if cast and a.path in cast:
                want = cast[a.path](np.asarray(src.array(a))).tobytes()
                changed += 1
            if raw_bytes(out, b) != want:
                raise OpError(f"verification failed: {a.path} differs after writing")
        s1, s2 = structure(src), structure(out)
        if cast:
            s1, s2 = _no_dtype(s1), _no_dtype(s2)
        if s1 != s2:
            raise OpError("verification failed: non-tensor content changed")
        return Verified(len(src_paths), changed, sorted({n.value.device for n in out.tensors}))
    finally:
        out.close()


def _no_dtype(d: dict) -> dict:
    d = {k: v for k, v in d.items() if k not in ("dtype",)}
    if "children" in d:
        d["children"] = [_no_dtype(c) for c in d["children"]]
    return d


def verify_tensors(src, expected: dict, out_path: str, cast: str | None = None) -> None:
    """Every tensor written is at its path with the source's bytes - or, when cast, values
    within the target dtype's rounding (an fp16 overflow is reported, not written)."""
    from ..analysis.decode import decode

    tolerance = {"bfloat16": (2.0**-8, 0.0), "float16": (2.0**-11, 6e-8)}
    out = open_checkpoint(out_path)
    try:
        for path, node in expected.items():
            got = out.tensor_node(path) if path else out.root
            a = np.ascontiguousarray(src.array(node))
            b = np.ascontiguousarray(out.array(got))
            if a.shape != b.shape:
                raise OpError(f"verification failed: {path} changed shape")
            if got.value.dtype.name == node.value.dtype.name:
                if a.tobytes() != b.tobytes():
                    raise OpError(f"verification failed: {path} differs in the output")
                continue
            rtol, atol = tolerance.get(cast, (0.0, 0.0))
            x = decode(a.reshape(-1), node.value.dtype).astype(np.float64)
            y = decode(b.reshape(-1), got.value.dtype).astype(np.float64)
            if not np.allclose(y, x, rtol=rtol, atol=atol, equal_nan=True):
                raise OpError(
                    f"{path} does not fit in {cast} (values overflow or underflow); nothing was written"
                )
    finally:
        out.close()
