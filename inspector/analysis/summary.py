"""The file summary: sizes, tensor and parameter counts, dtypes, devices, layout."""

from __future__ import annotations

import math
from collections import Counter
from itertools import compress
from operator import attrgetter, itemgetter, mul

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
    """Every tensor of the file once (a tied weight's second entry left out)."""
    return tensor_table(ck).tensors


def _distinct(nodes) -> list[TensorInfo]:
    values = [n.value for n in nodes]
    if len(set(map(id, values))) == len(values):  # C-speed checks for the common case
        out = values
    else:
        seen: set = set()
        out = [t for t in values if not (id(t) in seen or seen.add(id(t)))]
    storages = [id(t.storage) for t in out if t.storage is not None]
    if len(set(storages)) == len(storages):  # no storage holds two tensor records
        return out
    keys: set = set()
    unique = []
    for t in out:
        key = view_key(t)
        if key not in keys:
            keys.add(key)
            unique.append(t)
    return unique


class TensorTable:
    """Columns over the distinct tensors of a checkpoint, made once at C speed (map and
    attrgetter, no Python loop per tensor): element counts, bytes, and each tensor's row."""

    def __init__(self, tensors: list[TensorInfo]):
        self.tensors = tensors
        self.numel = numels(tensors)
        self.nbytes = list(map(mul, self.numel, map(attrgetter("dtype.itemsize"), tensors)))
        self.row = dict(zip(map(id, tensors), range(len(tensors))))

    def totals(self, ids) -> tuple[int, int, int]:
        """(tensors, elements, bytes) of the distinct tensors among `ids`."""
        rows = [r for r in map(self.row.get, ids) if r is not None]
        return len(rows), sum(map(self.numel.__getitem__, rows)), sum(map(self.nbytes.__getitem__, rows))


def tensor_table(ck: Checkpoint) -> TensorTable:
    """The table of the checkpoint's distinct tensors, made once per checkpoint: the
    summary, the model size and the window all ask for it."""
    cached = ck.__dict__.get("_table")
    if cached is not None and cached[0] == len(ck.tensors):
        return cached[1]
    table = TensorTable(_distinct(ck.tensors))
    ck.__dict__["_table"] = (len(ck.tensors), table)
    return table


def numels(tensors: list[TensorInfo]) -> list[int]:
    """`t.numel` of each tensor, at C speed when every shape holds plain ints (the reader
    validated them so; anything else takes the property)."""
    try:
        out = list(map(math.prod, map(attrgetter("shape"), tensors)))
    except TypeError:
        return [t.numel for t in tensors]
    if set(map(type, out)) <= {int}:
        return out
    return [t.numel for t in tensors]


def top_level(ck: Checkpoint):
    root = ck.root
    if root.kind == "dict":
        return [c.name for c in root.children]
    if isinstance(root.value, ObjectStub):
        return type(root.value).class_path()
    return root.type_name


def summarize(ck: Checkpoint) -> dict:
    table = tensor_table(ck)
    tensors, sizes = table.tensors, table.numel
    storages = list(map(attrgetter("storage"), tensors))
    if None not in storages:  # every tensor has a storage: its device tag (C speed)
        with_storage = list(map(id, storages))
        devices = Counter(map(attrgetter("location"), storages))
    else:
        with_storage = [id(s) for s in storages if s is not None]
        devices = Counter(t.device for t in tensors)
    every = list(ck.storages.values())
    roots = dict(zip(map(id, every), every))
    itemsizes = map(attrgetter("dtype.itemsize"), roots.values())
    bytes_total = sum(map(mul, map(attrgetter("numel"), roots.values()), itemsizes))
    return {
        "path": ck.path,
        "format": ck.format,
        "file_size": ck.file_size,
        "tensor_entries": len(ck.tensors),  # tensor rows of the tree (a tied weight twice)
        "tensor_count": len(tensors),  # distinct tensors
        "quantized": _quantized(tensors),
        "metadata": _metadata(ck),
        "storage_count": len(roots),
        "numel_total": sum(sizes),
        "bytes_total": bytes_total,
        "parameter_count": sum(compress(sizes, map(attrgetter("is_parameter"), tensors))),
        "shared_storage_tensors": len(with_storage) - len(set(with_storage)),
        "dtypes": _by_dtype(tensors, sizes),
        "devices": dict(sorted(devices.items(), key=lambda kv: -kv[1])),
        "top_level": top_level(ck),
        "byteorder": ck.byteorder,
        "module_sources": [m.class_path for m in ck.module_sources],
        "warnings": list(ck.warnings),
    }


def _by_dtype(tensors: list[TensorInfo], sizes: list[int]) -> dict[str, int]:
    """dtype name -> elements, largest first; one C-speed pass per distinct dtype."""
    kinds = list(map(attrgetter("dtype"), tensors))
    ids = list(map(id, kinds))
    distinct = dict(zip(ids, kinds))  # first seen first (ties keep the file's order)
    out: Counter = Counter()
    for key, dtype in distinct.items():
        out[dtype.name] += sum(sizes) if len(distinct) == 1 else sum(compress(sizes, map(key.__eq__, ids)))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


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


def _edge_tensor(node, last: bool):
    """The first (or last) tensor node at or below `node` in depth-first file order."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.kind == "tensor":
            return n
        stack.extend(n.children if last else reversed(n.children))
    return None


def tensor_nodes_below(ck: Checkpoint, node) -> list:
    """The tensor nodes at or below `node`. `ck.tensors` lists the tree's tensor nodes in
    depth-first pre-order (TreeBuilder), so those below one node are one slice of it,
    found from its first and last tensor - no walk over the subtree's other nodes."""
    first = _edge_tensor(node, last=False)
    if first is None:
        return []
    last = _edge_tensor(node, last=True)
    try:
        i, j = ck.tensors.index(first), ck.tensors.index(last)
    except ValueError:  # a tree not built by TreeBuilder: walk it
        return [n for n in node.walk() if n.kind == "tensor"]
    return ck.tensors[i : j + 1]


def _tensors_below(ck: Checkpoint, node) -> list:
    """(node, tensor) for every tensor at or below `node`, each tensor once."""
    nodes = tensor_nodes_below(ck, node)
    values = list(map(attrgetter("value"), nodes))
    if set(map(type, values)) <= {TensorInfo} and len(set(map(id, values))) == len(values):
        return list(zip(nodes, values))  # the common case, checked at C speed
    seen, out = set(), []
    for n, t in zip(nodes, values):
        if type(t) is TensorInfo and id(t) not in seen:
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
    opt_ids: set = set()
    for p in getattr(layout, "optimizers", []) or []:
        node = ck.find(p)
        if node is not None:
            opt_ids.update(map(id, map(attrgetter("value"), tensor_nodes_below(ck, node))))
    weights = ck.find(layout.weights) if getattr(layout, "weights", None) is not None else None
    below = _tensors_below(ck, weights if weights is not None else ck.root)
    if opt_ids.isdisjoint(map(id, map(itemgetter(1), below))):
        model = below  # the common case, checked at C speed
    else:
        model = [(n, t) for n, t in below if id(t) not in opt_ids]
    whole_module = weights is not None and weights.kind == "module"
    params = [t for n, t in model if (t.is_parameter if whole_module else not is_buffer(n, t))]
    model_ids = set(map(id, map(itemgetter(1), model)))
    param_ids = set(map(id, params))
    table = tensor_table(ck)
    every = table.row.keys()
    if not model_ids <= every:  # a second record of one view: counted with the model
        extra = [t for _, t in model if id(t) not in every]
        table = TensorTable(table.tensors + extra)
    (pt, pn, pb), (bt, bn, bb) = table.totals(param_ids), table.totals(model_ids - param_ids)
    (ot, on, ob) = table.totals((opt_ids - model_ids) & every)
    (xt, xn, xb) = table.totals(every - model_ids - opt_ids)
    return {
        "weights": layout.weights if weights is not None else None,
        "parameters": pn,
        "parameter_bytes": pb,
        "parameter_tensors": pt,
        "buffers": bn,
        "buffer_bytes": bb,
        "buffer_tensors": bt,
        "optimizer": on,
        "optimizer_bytes": ob,
        "optimizer_tensors": ot,
        "other": xn,
        "other_bytes": xb,
        "other_tensors": xt,
    }
