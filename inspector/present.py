"""Text for people: how nodes, sizes and values are written (shared by CLI and GUI)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .formats.stubs import INT_STR_BITS as _INT_STR_BITS
from .formats.stubs import ModuleSource, NumpyArray, ObjectStub, StorageRef, TensorInfo, int_text
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
    if type(value) is int or isinstance(value, int) and not isinstance(value, bool):
        text = int_text(int(value))
    elif isinstance(value, str):
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
    row = {
        "name": node.name,
        "type": node.type_name,
        "shape": "",
        "dtype": "",
        "device": "",
        "elements": "",
        "size": "",
        "value": "",
    }
    v = node.value
    if node.kind == "tensor" and isinstance(v, TensorInfo):
        row.update(
            shape=shape_text(v.shape),
            dtype=v.dtype.name,
            device=v.device,
            elements=f"{v.numel:,}",
            size=human_bytes(v.nbytes),
        )
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
    """The node and its children (to `depth` levels) as JSON-ready dicts; built with an
    explicit stack, since a file may nest its tree hundreds of levels deep."""
    root: dict[str, Any] = {}
    stack = [(node, depth, root)]
    while stack:
        n, d, out = stack.pop()
        _node_fields(n, out)
        if n.children and (d is None or d > 0):
            kids = [{} for _ in n.children]
            out["children"] = kids
            stack.extend((c, None if d is None else d - 1, k) for c, k in zip(n.children, kids))
        elif n.children:
            out["child_count"] = len(n.children)
    return root


def _node_fields(node: Node, out: dict) -> None:
    out.update(name=node.name, path=node.path, kind=node.kind, type=node.type_name)
    v = node.value
    if node.kind == "tensor" and isinstance(v, TensorInfo):
        out.update(
            dtype=v.dtype.name,
            shape=list(v.shape),
            stride=list(v.stride),
            storage_offset=v.storage_offset,
            device=v.device,
            numel=v.numel,
            requires_grad=v.requires_grad,
            is_parameter=v.is_parameter,
        )
        if v.storage is not None:
            out["storage"] = {
                "key": v.storage.key,
                "location": v.storage.location,
                "numel": v.storage.numel,
                "record": v.storage.record,
            }
        if v.quantization:
            from .analysis.quantized import describe

            out["quantization"] = describe(v)
        if v.tensor_type:
            out["tensor_type"] = v.tensor_type
        if v.layout == "dcp":
            out["chunks"] = [
                {"offsets": list(c["offsets"]), "sizes": list(c["sizes"]), "file": c["file"]}
                for c in v.parts["chunks"]
            ]
    elif node.kind == "ref" and node.ref is not None:
        out["ref"] = node.ref.path
    elif node.kind in ("value", "class", "storage"):
        out["value"] = _json_value(v)


def _json_value(v: Any):
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > _INT_STR_BITS:
        return int_text(v)  # json.dumps would fail on it (over 4300 digits)
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
        rows.append(
            (
                "Tree entries",
                f"{entries:,} tensor rows for {s['tensor_count']:,} distinct "
                "tensors (the same tensor listed in several places)",
            )
        )
    if s.get("quantized"):
        rows.append(
            (
                "Quantized",
                ", ".join(f"{n} {k}" for k, n in s["quantized"].items()) + " (statistics show real values)",
            )
        )
    for k, v in s.get("metadata", {}).items():
        rows.append((f"Metadata {k}", " ".join(str(v).split())[:200]))
    return rows


def dumps_json(obj: Any, indent: int = 1) -> str:
    """json.dumps(obj, indent=indent, default=str); for output nested deeper than the
    encoder's recursion allows (a tree of hundreds of levels), the same text written with
    an explicit stack."""
    import json

    try:
        return json.dumps(obj, indent=indent, default=str)
    except RecursionError:
        pass
    from json.encoder import encode_basestring_ascii as quote

    def scalar(o) -> str:
        if o is None or isinstance(o, bool):
            return {None: "null", True: "true", False: "false"}[o]
        if isinstance(o, int):
            return int.__repr__(o)
        if isinstance(o, float):
            return (
                float.__repr__(o)
                if math.isfinite(o)
                else ("NaN" if o != o else ("Infinity" if o > 0 else "-Infinity"))
            )
        return quote(o if isinstance(o, str) else str(o))

    parts: list[str] = []
    stack: list[tuple[bool, Any, int]] = [(False, obj, 0)]  # (raw text?, item, level)
    while stack:
        raw, o, level = stack.pop()
        if raw:
            parts.append(o)
            continue
        if isinstance(o, dict) and o or isinstance(o, (list, tuple)) and o:
            pad = "\n" + " " * (indent * (level + 1))
            is_dict = isinstance(o, dict)
            todo: list[tuple[bool, Any, int]] = [(True, "{" if is_dict else "[", 0)]
            for i, item in enumerate(o.items() if is_dict else o):
                sep = ("," if i else "") + pad
                if is_dict:
                    sep += (
                        quote(item[0]) if isinstance(item[0], str) else '"' + scalar(item[0]).strip('"') + '"'
                    ) + ": "
                    item = item[1]
                todo += [(True, sep, 0), (False, item, level + 1)]
            todo.append((True, "\n" + " " * (indent * level) + ("}" if is_dict else "]"), 0))
            stack.extend(reversed(todo))
        elif isinstance(o, dict):
            parts.append("{}")
        elif isinstance(o, (list, tuple)):
            parts.append("[]")
        else:
            parts.append(scalar(o))
    return "".join(parts)
