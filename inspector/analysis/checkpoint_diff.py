"""What differs between two checkpoints, of any formats we open: `ckpt diff` and the
window's Compare view.

Tensors are keyed by their state_dict key for the model weights (the state_dict the
layout recognises, analysis/layouts.py) and by tree path for every other tensor
(optimizer state, buffers kept elsewhere). Keys align exactly first; then a prefix rule
(analysis/key_alignment.py) when it explains more keys, reported as the rule used. Each
common tensor is compared chunk by chunk (analysis/tensor_diff.py); plain values (epoch,
step, hyper-parameters, scheduler state, optimizer param-group settings, top-level keys)
form a small structural diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..formats.checkpoint import Checkpoint
from ..formats.errors import CheckpointError
from ..formats.tree import Node
from .key_alignment import flatten_state_dict, propose_rule, rename
from .layouts import EPOCH, STEP, is_optimizer_state, recognise
from .tensor_diff import DiffCancelled, Meter, TensorDiff, compare_sources

STATUSES = ("identical", "equal", "changed", "shape", "added", "removed", "error")
MAX_STRUCTURE = 500  # structural differences listed (the rest are counted)
# Root entries a format's reader adds around the tensors (index metadata, the shard list,
# safetensors' __metadata__): compared between two files of that format, ignored when the
# other file is of another format (a .pt against its safetensors export is not "different").
ENVELOPE = {"hf-index": {"metadata", "__shards__"}, "safetensors": {"__metadata__"}}


@dataclass
class TensorRow:
    key: str  # A's key (B's key for an added tensor)
    key_b: str | None
    status: str  # one of STATUSES; 'pending' until compared
    shape_a: tuple | None = None
    shape_b: tuple | None = None
    dtype_a: str | None = None
    dtype_b: str | None = None
    diff: TensorDiff | None = None
    error: str | None = None
    node_a: Node | None = field(default=None, repr=False)
    node_b: Node | None = field(default=None, repr=False)

    @property
    def nbytes(self) -> int:
        return sum(n.value.nbytes for n in (self.node_a, self.node_b) if n is not None)

    @property
    def rel_change(self) -> float | None:
        return self.diff.rel_l2 if self.diff is not None else None

    def to_json(self) -> dict:
        out = {
            "key": self.key,
            "key_b": self.key_b,
            "status": self.status,
            "shape_a": list(self.shape_a) if self.shape_a is not None else None,
            "shape_b": list(self.shape_b) if self.shape_b is not None else None,
            "dtype_a": self.dtype_a,
            "dtype_b": self.dtype_b,
            "dtype_changed": None not in (self.dtype_a, self.dtype_b) and self.dtype_a != self.dtype_b,
        }
        if self.diff is not None:
            out.update(self.diff.to_json())
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class CheckpointDiff:
    path_a: str
    path_b: str
    format_a: str
    format_b: str
    rule: str | None
    rows: list[TensorRow]
    structure: list[dict]
    structure_more: int = 0
    atol: float = 0.0
    rtol: float = 0.0
    bytes_read: int = 0
    complete: bool = False

    def counts(self) -> dict:
        out = {s: 0 for s in STATUSES}
        for r in self.rows:
            if r.status in out:
                out[r.status] += 1
        out["dtype_changed"] = sum(
            1 for r in self.rows if None not in (r.dtype_a, r.dtype_b) and r.dtype_a != r.dtype_b
        )
        out["structure"] = len(self.structure) + self.structure_more
        return out

    @property
    def differs(self) -> bool:
        c = self.counts()
        return any(c[k] for k in ("changed", "shape", "added", "removed", "structure"))

    def summary(self) -> str:
        c = self.counts()
        parts = [f"{c['identical']} identical"]
        if c["equal"] or self.atol or self.rtol:
            parts.append(f"{c['equal']} equal within tolerance")
        parts += [f"{c['changed']} changed", f"{c['added']} added", f"{c['removed']} removed"]
        if c["shape"]:
            parts.append(f"{c['shape']} shape changed")
        if c["dtype_changed"]:
            parts.append(f"{c['dtype_changed']} dtype changed")
        if c["error"]:
            parts.append(f"{c['error']} unreadable")
        parts.append(f"{c['structure']} other differences")
        return ", ".join(parts)

    def changed_sorted(self) -> list[TensorRow]:
        rows = [r for r in self.rows if r.status in ("changed", "equal")]
        return sorted(rows, key=lambda r: -(r.rel_change if r.rel_change is not None else 0.0))

    def to_json(self) -> dict:
        return {
            "a": self.path_a,
            "b": self.path_b,
            "format_a": self.format_a,
            "format_b": self.format_b,
            "rule": self.rule,
            "atol": self.atol,
            "rtol": self.rtol,
            "counts": self.counts(),
            "differs": self.differs,
            "bytes_read": self.bytes_read,
            "complete": self.complete,
            "tensors": [r.to_json() for r in self.rows],
            "structure": self.structure,
            "structure_more": self.structure_more,
        }


# ---- keys ------------------------------------------------------------------------------------
def tensor_keys(ck: Checkpoint) -> tuple[dict[str, Node], set[str]]:
    """key -> tensor node, and the set of keys that are model-weight state_dict keys."""
    weights = recognise(ck).weights
    out: dict[str, Node] = {}
    weight_keys: set[str] = set()
    seen: set[int] = set()
    wnode = ck.find(weights) if weights is not None else None
    if wnode is not None:
        for k, n in flatten_state_dict(wnode, follow_refs=True) or []:
            out.setdefault(k, n)
            weight_keys.add(k)
            seen.add(id(n))
    for n in ck.root.walk():
        if n.kind == "tensor" and id(n) not in seen:
            out.setdefault(n.path, n)
    return out, weight_keys


def plan_diff(a: Checkpoint, b: Checkpoint) -> CheckpointDiff:
    ka, wa = tensor_keys(a)
    kb, wb = tensor_keys(b)
    rule = propose_rule([k for k in wa if k not in kb], [k for k in wb if k not in ka])
    mapped = {k: (rename(k, rule.strip, rule.add, []) if k in wa and k not in kb else k) for k in ka}
    if len(set(mapped.values())) != len(mapped):  # a rule that merges keys is no rule
        rule, mapped = propose_rule([], []), {k: k for k in ka}
    rows, used = [], set()
    for k, na in ka.items():
        kb_key = mapped[k]
        nb = kb.get(kb_key)
        if nb is None:
            rows.append(
                TensorRow(
                    k, None, "removed", tuple(na.value.shape), None, na.value.dtype.name, None, node_a=na
                )
            )
            continue
        used.add(kb_key)
        ta, tb = na.value, nb.value
        status = "shape" if tuple(ta.shape) != tuple(tb.shape) else "pending"
        rows.append(
            TensorRow(
                k,
                kb_key if kb_key != k else None,
                status,
                tuple(ta.shape),
                tuple(tb.shape),
                ta.dtype.name,
                tb.dtype.name,
                node_a=na,
                node_b=nb,
            )
        )
    for k, nb in kb.items():
        if k not in used:
            rows.append(
                TensorRow(k, None, "added", None, tuple(nb.value.shape), None, nb.value.dtype.name, node_b=nb)
            )
    skip = {id(n) for n in ka.values()} | {id(n) for n in kb.values()}
    structure, more = structural_diff(a, b, skip)
    return CheckpointDiff(
        a.path, b.path, a.format, b.format, None if rule.empty else rule.short(), rows, structure, more
    )


# ---- tensors ---------------------------------------------------------------------------------
def compare_row(a: Checkpoint, b: Checkpoint, row: TensorRow, atol=0.0, rtol=0.0, meter=None) -> None:
    ta, tb = row.node_a.value, row.node_b.value
    try:

        def sources():
            return a.source(ta), b.source(tb)

        sa, sb = sources()
        row.diff = compare_sources(
            sa,
            sb,
            ta.dtype,
            tb.dtype,
            ta.dtype.numpy_raw(a.byteorder),
            tb.dtype.numpy_raw(b.byteorder),
            atol,
            rtol,
            meter=meter,
            reopen=sources,
        )
    except DiffCancelled:
        raise
    except CheckpointError as exc:
        row.status, row.error = "error", str(exc)
        return
    except (OSError, ValueError) as exc:
        row.status, row.error = "error", f"cannot read the tensor ({exc})"
        return
    d = row.diff
    row.status = "identical" if d.identical else ("equal" if d.changed == 0 else "changed")


def run_diff(
    a: Checkpoint, b: Checkpoint, result: CheckpointDiff, atol=0.0, rtol=0.0, meter=None, on_row=None
) -> CheckpointDiff:
    """Compare every pending row; `meter` (tensor_diff.Meter or ops Progress) gets the
    progress and may cancel; `on_row(row)` is called after each tensor."""
    result.atol, result.rtol = atol, rtol
    meter = meter if meter is not None else Meter()
    todo = [r for r in result.rows if r.status == "pending"]
    meter.total = sum(r.nbytes for r in todo)
    for row in todo:
        compare_row(a, b, row, atol, rtol, meter)
        if on_row is not None:
            on_row(row)
    result.bytes_read = getattr(meter, "read", 0)
    result.complete = True
    return result


def diff_checkpoints(a: Checkpoint, b: Checkpoint, atol=0.0, rtol=0.0, meter=None) -> CheckpointDiff:
    return run_diff(a, b, plan_diff(a, b), atol, rtol, meter)


# ---- everything that is not a tensor --------------------------------------------------------
def _display(n: Node) -> str:
    if n.kind == "value":
        return repr(n.value)[:200]
    if n.children or n.kind in ("dict", "list", "tuple", "set", "module", "object"):
        return f"{n.type_name} ({len(n.children)} entries)"
    return n.type_name


def _plain_nodes(ck: Checkpoint, skip: set[int]) -> dict[str, Node]:
    """path -> node of every entry that is not a tensor, a compared tensor container's
    content, or an optimizer's per-parameter state (its tensors are compared as tensors)."""
    out: dict[str, Node] = {}
    stack = list(reversed(ck.root.children))
    while stack:
        n = stack.pop()
        if id(n) in skip or n.kind in ("tensor", "storage"):
            continue
        if n.kind == "ref" and n.ref is not None and n.ref.kind == "tensor":
            continue
        out[n.path] = n
        kids = n.children
        if is_optimizer_state(n):
            kids = [c for c in kids if c.name != "state"]
        if kids and all(id(c) in skip or c.kind in ("tensor", "ref") for c in kids):
            continue  # a state_dict: its content is the tensor rows
        stack.extend(reversed(kids))
    return out


def structural_diff(a: Checkpoint, b: Checkpoint, skip: set[int] | None = None) -> tuple[list[dict], int]:
    skip = skip or set()
    pa, pb = _plain_nodes(a, skip), _plain_nodes(b, skip)
    if a.format != b.format:
        for p, ck in ((pa, a), (pb, b)):
            for name in ENVELOPE.get(ck.format, ()):
                for path in [k for k in p if k == name or k.startswith(name + "/")]:
                    del p[path]
    out: list[dict] = []
    for path, n in pa.items():
        m = pb.get(path)
        parent = path.rpartition("/")[0]
        if m is None:
            if parent == "" or parent in pb:
                out.append({"path": path, "change": "removed", "a": _display(n), "b": None})
        elif n.kind == "value" or m.kind == "value":
            if _display(n) != _display(m):
                out.append({"path": path, "change": "changed", "a": _display(n), "b": _display(m)})
        elif n.type_name != m.type_name:
            out.append({"path": path, "change": "changed", "a": _display(n), "b": _display(m)})
    for path, m in pb.items():
        parent = path.rpartition("/")[0]
        if path not in pa and (parent == "" or parent in pa):
            out.append({"path": path, "change": "added", "a": None, "b": _display(m)})
    la, lb = recognise(a), recognise(b)  # epoch/step kept elsewhere (Trainer state, meta, ...)
    named = {e["path"].rpartition("/")[2].lower() for e in out}
    for what, names in (("epoch", EPOCH), ("step", STEP)):
        va, vb = getattr(la, what), getattr(lb, what)
        if va != vb and not named & set(names):
            out.insert(0, {"path": f"({what})", "change": "changed", "a": repr(va), "b": repr(vb)})
    return out[:MAX_STRUCTURE], max(0, len(out) - MAX_STRUCTURE)
