"""The file summary: sizes, tensor and parameter counts, dtypes, devices, layout."""

from __future__ import annotations

from collections import Counter

from ..formats.checkpoint import Checkpoint
from ..formats.stubs import ObjectStub, TensorInfo


def view_key(t: TensorInfo):
    """Two records with the same storage, offset, shape, stride and dtype are one tensor
    (a TorchScript archive's constants and bytecode both list it; a tied weight is saved
    once): they hold the same bytes and do not 'share' a storage with each other."""
    if t.storage is None:
        return id(t)
    return (id(t.storage), t.storage_offset, t.shape, t.stride, t.dtype.name)


def distinct_tensors(ck: Checkpoint) -> list[TensorInfo]:
    seen, out = set(), []
    shared = False
    storages: set = set()
    for node in ck.tensors:
        t = node.value
        if id(t) in seen:
            continue
        seen.add(id(t))
        out.append(t)
        s = t.storage
        if s is not None:
            if id(s) in storages:
                shared = True
            storages.add(id(s))
    if not shared:  # the common case: no storage holds two tensor records
        return out
    keys, unique = set(), []
    for t in out:
        key = view_key(t)
        if key not in keys:
            keys.add(key)
            unique.append(t)
    return unique


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
        {id(t.storage) for t in tensors if t.storage is not None}
    )
    params = sum(t.numel for t in tensors if t.is_parameter)
    return {
        "path": ck.path,
        "format": ck.format,
        "file_size": ck.file_size,
        "tensor_entries": len(ck.tensors),  # tensor rows of the tree (a tied weight twice)
        "tensor_count": len(tensors),  # distinct tensors
        "quantized": _quantized(tensors),
        "metadata": _metadata(ck),
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


def _quantized(tensors: list[TensorInfo]) -> dict:
    """qscheme -> how many quantized tensors use it."""
    out: Counter = Counter()
    for t in tensors:
        if t.quantization:
            out[str(t.quantization.get("qscheme", "?"))] += 1
    return dict(out)


def _metadata(ck: Checkpoint) -> dict:
    """A safetensors file's `__metadata__` (text to text)."""
    meta = getattr(ck.container, "metadata", None)
    if isinstance(meta, dict) and meta:
        return {str(k): v if isinstance(v, str) else repr(v) for k, v in meta.items()}
    return {}


# state_dict entries that are buffers, not parameters (module.parameters() leaves them out)
BUFFER_NAMES = frozenset(
    {
        "running_mean",
        "running_var",
        "num_batches_tracked",
        "position_ids",
        "token_type_ids",
        "inv_freq",
        "masked_bias",
        "_float_tensor",
        "relative_position_index",
        "attention_mask",
        "causal_mask",
    }
)
FLOAT_KINDS = ("float", "bfloat16", "float8", "complex")


def _tensors_below(node) -> list:
    seen, out = set(), []
    for n in node.walk():
        t = n.value
        if n.kind == "tensor" and type(t) is TensorInfo and id(t) not in seen:
            seen.add(id(t))
            out.append((n, t))
    return out


def is_buffer(node, t: TensorInfo) -> bool:
    """A state_dict entry that module.parameters() would not count: a known buffer name,
    or a non-floating tensor (parameters are floating)."""
    if t.is_parameter:
        return False
    if node.name.rsplit(".", 1)[-1] in BUFFER_NAMES:
        return True
    return t.dtype.kind not in FLOAT_KINDS


def model_size(ck: Checkpoint, layout) -> dict:
    """The model's parameter count and bytes apart from its buffers, the optimizer state
    and every other tensor in the file (what `sum(p.numel() for p in model.parameters())`
    gives for the model that wrote it)."""
    all_tensors = {id(t): t for t in distinct_tensors(ck)}
    opt_ids: set = set()
    for p in getattr(layout, "optimizers", []) or []:
        node = ck.find(p)
        if node is not None:
            opt_ids.update(id(t) for _, t in _tensors_below(node))
    weights = ck.find(layout.weights) if getattr(layout, "weights", None) is not None else None
    if weights is not None:
        model = [(n, t) for n, t in _tensors_below(weights) if id(t) not in opt_ids]
    else:  # no weights recognised: every tensor that is not optimizer state
        model = [(n, t) for n, t in _tensors_below(ck.root) if id(t) not in opt_ids]
    whole_module = weights is not None and weights.kind == "module"
    params = [t for n, t in model if (t.is_parameter if whole_module else not is_buffer(n, t))]
    param_ids = {id(t) for t in params}
    buffers = [t for _, t in model if id(t) not in param_ids]
    model_ids = {id(t) for _, t in model}
    optimizer = [all_tensors[i] for i in opt_ids if i in all_tensors and i not in model_ids]
    other = [t for i, t in all_tensors.items() if i not in model_ids and i not in opt_ids]

    def total(ts):
        return sum(t.numel for t in ts), sum(t.nbytes for t in ts)

    (pn, pb), (bn, bb), (on, ob), (xn, xb) = total(params), total(buffers), total(optimizer), total(other)
    return {
        "weights": layout.weights if weights is not None else None,
        "parameters": pn,
        "parameter_bytes": pb,
        "parameter_tensors": len(params),
        "buffers": bn,
        "buffer_bytes": bb,
        "buffer_tensors": len(buffers),
        "optimizer": on,
        "optimizer_bytes": ob,
        "optimizer_tensors": len(optimizer),
        "other": xn,
        "other_bytes": xb,
        "other_tensors": len(other),
    }
