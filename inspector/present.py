"""Text for people: how nodes, sizes and values are written (shared by CLI and GUI)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .formats.stubs import ModuleSource, NumpyArray, ObjectStub, StorageRef, TensorInfo
from .formats.tree import Node


def human_bytes(n: int | None) -> str:
    if n is None:
        return ""
    step = 1024.0
    if n >= 1 << 100:  # a hostile header's size: no float holds it
        return f"~2^{n.bit_length() - 1} B"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(value) < step or unit == "PB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= step
    return f"{n} B"


def human_count(n: int) -> str:
    for div, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def value_text(value: Any, limit: int = 80) -> str:
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (bytes, bytearray)):
        text = f"{len(value)} bytes: {bytes(value[:24])!r}"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, type) and issubclass(value, ObjectStub):
        text = value.class_path()
    elif isinstance(value, ObjectStub):
        text = type(value).class_path()
    elif isinstance(value, NumpyArray):
        if value.value is not None and value.value.size <= 8:
            text = np.array2string(value.value, threshold=8)
        else:
            text = f"ndarray{shape_text(value.shape)} {value.dtype}"
    elif isinstance(value, ModuleSource):
        text = f"class source of {value.class_path}"
    elif isinstance(value, StorageRef):
        text = f"storage {value.key} ({value.dtype.name}, {value.numel} elements, {value.location})"
    elif isinstance(value, np.generic):
        text = repr(value.item())
    else:
        try:
            text = repr(value)
        except Exception:  # a stub's repr is ours, but stay safe
            text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def node_row(node: Node) -> dict:
    """The columns shown for a node: name, type, shape, dtype, device, elements, size."""
    row = {"name": node.name, "type": node.type_name, "shape": "", "dtype": "", "device": "",
           "elements": "", "size": "", "value": ""}
    v = node.value
    if node.kind == "tensor" and isinstance(v, TensorInfo):
        row.update(shape=shape_text(v.shape), dtype=v.dtype.name, device=v.device,
                   elements=f"{v.numel:,}", size=human_bytes(v.nbytes))
    elif node.kind == "ref" and node.ref is not None:
        row["value"] = f"→ same object as /{node.ref.path}"
    elif node.kind in ("dict", "list", "tuple", "set", "module", "object"):
        row["elements"] = f"{len(node.children)} items" if node.kind != "module" else ""
    elif node.kind == "truncated":
        row["value"] = "(not expanded)"
    else:
        row["value"] = value_text(v)
    return row


def node_json(node: Node, depth: int | None = None) -> dict:
    out: dict[str, Any] = {"name": node.name, "path": node.path, "kind": node.kind,
                           "type": node.type_name}
    v = node.value
    if node.kind == "tensor" and isinstance(v, TensorInfo):
        out.update(dtype=v.dtype.name, shape=list(v.shape), stride=list(v.stride),
                   storage_offset=v.storage_offset, device=v.device, numel=v.numel,
                   requires_grad=v.requires_grad, is_parameter=v.is_parameter)
        if v.storage is not None:
            out["storage"] = {"key": v.storage.key, "location": v.storage.location,
                              "numel": v.storage.numel, "record": v.storage.record}
        if v.quantization:
            from .analysis.quantized import describe

            out["quantization"] = describe(v)
        if v.tensor_type:
            out["tensor_type"] = v.tensor_type
        if v.layout == "dcp":
            out["chunks"] = [{"offsets": list(c["offsets"]), "sizes": list(c["sizes"]),
                              "file": c["file"]} for c in v.parts["chunks"]]
    elif node.kind == "ref" and node.ref is not None:
        out["ref"] = node.ref.path
    elif node.kind in ("value", "class", "storage"):
        out["value"] = _json_value(v)
    if node.children and (depth is None or depth > 0):
        out["children"] = [node_json(c, None if depth is None else depth - 1) for c in node.children]
    elif node.children:
        out["child_count"] = len(node.children)
    return out


def _json_value(v: Any):
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, float):
        return v if np.isfinite(v) else repr(v)
    return value_text(v, limit=200)


def extra_summary_rows(s: dict) -> list[tuple[str, str]]:
    """Plain-text rows for the window's summary: tree entries beside distinct tensors,
    quantized schemes, a safetensors file's metadata (the CLI's `info` prints the same)."""
    rows = []
    entries = s.get("tensor_entries", s["tensor_count"])
    if entries != s["tensor_count"]:
        rows.append(("Tree entries", f"{entries:,} tensor rows for {s['tensor_count']:,} distinct "
                                     "tensors (the same tensor listed in several places)"))
    if s.get("quantized"):
        rows.append(("Quantized", ", ".join(f"{n} {k}" for k, n in s["quantized"].items())
                     + " (statistics show real values)"))
    for k, v in s.get("metadata", {}).items():
        rows.append((f"Metadata {k}", " ".join(str(v).split())[:200]))
    return rows
