"""The file summary: sizes, tensor and parameter counts, dtypes, devices, layout."""

from __future__ import annotations

from collections import Counter

from ..formats.checkpoint import Checkpoint
from ..formats.stubs import ObjectStub, TensorInfo


def distinct_tensors(ck: Checkpoint) -> list[TensorInfo]:
    seen, out = set(), []
    for node in ck.tensors:
        t = node.value
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def top_level(ck: Checkpoint):
    root = ck.root
    if root.kind == "dict":
        return [c.name for c in root.children]
    if isinstance(root.value, ObjectStub):
        return type(root.value).class_path()
    return root.type_name


def summarize(ck: Checkpoint) -> dict:
    tensors = distinct_tensors(ck)
    dtypes: Counter = Counter()
    devices: Counter = Counter()
    numel_total = 0
    for t in tensors:
        n = t.numel
        numel_total += n
        dtypes[t.dtype.name] += n
        devices[t.device] += 1
    roots = {id(s): s for s in ck.storages.values()}
    bytes_total = sum(s.nbytes for s in roots.values())
    shared = sum(1 for t in tensors if t.storage is not None) - len(
        {id(t.storage) for t in tensors if t.storage is not None})
    params = sum(t.numel for t in tensors if t.is_parameter)
    return {
        "path": ck.path,
        "format": ck.format,
        "file_size": ck.file_size,
        "tensor_count": len(tensors),
        "storage_count": len(roots),
        "numel_total": numel_total,
        "bytes_total": bytes_total,
        "parameter_count": params,
        "shared_storage_tensors": shared,
        "dtypes": dict(sorted(dtypes.items(), key=lambda kv: -kv[1])),
        "devices": dict(sorted(devices.items(), key=lambda kv: -kv[1])),
        "top_level": top_level(ck),
        "byteorder": ck.byteorder,
        "module_sources": [m.class_path for m in ck.module_sources],
        "warnings": list(ck.warnings),
    }
