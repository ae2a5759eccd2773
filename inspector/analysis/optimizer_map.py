"""Optimizer state mapped back to parameter names.

`optimizer.state_dict()['state']` is keyed by integers numbered across `param_groups`
then `params`, in the order the optimizer was built (docs/FACTS.md). When a group carries
`param_names` (optimizers built from `named_parameters()`), the mapping is `exact`.
Otherwise it is inferred from the model state_dict in the same file: its parameters in
order (buffers skipped: BatchNorm statistics, integer tensors, tied duplicates), laid
against the optimizer's slots so that every state tensor's shape equals its parameter's.
The optimizer may leave model parameters out (frozen ones filtered before it was built)
and its groups may split the model (weight decay on matrices, none on biases and norms),
so several orders are tried; when exactly one assignment fits, every index is `inferred`;
when none or several fit, `unknown` - an honest answer instead of a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..formats.stubs import TensorInfo
from ..formats.tree import Node

BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")
MAX_DP = 20_000_000
STATE_SHAPE_KEYS = (
    "exp_avg",
    "momentum_buffer",
    "square_avg",
    "exp_avg_sq",
    "sum",
    "acc_delta",
    "ax",
    "prev",
    "step_size",
    "max_exp_avg_sq",
    "exp_inf",
    "mu_product",
)


@dataclass
class Slot:
    index: int
    group: int
    key: str | None  # the state dict key (str(index)) when state exists
    shape: tuple | None  # from the state tensors
    state: dict  # entry -> Node
    name: str | None = None
    confidence: str = "unknown"
    param: Node | None = None

    def to_json(self) -> dict:
        def entry(n: Node):
            v = n.value
            if type(v) is TensorInfo:
                return {"shape": list(v.shape), "dtype": v.dtype.name}
            return v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)

        return {
            "index": self.index,
            "name": self.name,
            "confidence": self.confidence,
            "group": self.group,
            "shape": list(self.shape)
            if self.shape is not None
            else (list(self.param.value.shape) if self.param is not None else None),
            "has_state": bool(self.state),
            "state": {k: entry(n) for k, n in self.state.items()},
        }


@dataclass
class OptimizerMap:
    path: str
    slots: list[Slot] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)  # hyper-parameters per group
    method: str = ""
    kind: str = ""  # Adam-family, SGD with momentum, ...

    _index: dict | None = None

    def by_param(self) -> dict[int, Slot]:
        return {id(s.param): s for s in self.slots if s.param is not None}

    def by_param_cached(self) -> dict[int, Slot]:
        if self._index is None:
            self._index = self.by_param()
        return self._index


def _int_key(name: str) -> int | None:
    try:
        return int(name)
    except ValueError:
        return None


def _hyper(group: Node) -> dict:
    out = {}
    for c in group.children:
        if c.name in ("params", "param_names"):
            continue
        if c.kind == "value":
            out[c.name] = c.value
        elif c.kind == "tuple" and all(x.kind == "value" for x in c.children):
            out[c.name] = tuple(x.value for x in c.children)
    return out


def optimizer_kind(slots: list[Slot]) -> str:
    keys = {k for s in slots for k in s.state}
    if {"exp_avg", "exp_avg_sq"} <= keys:
        return "Adam-family (exp_avg, exp_avg_sq)"
    if "momentum_buffer" in keys:
        if all(
            s.state.get("momentum_buffer") is None or s.state["momentum_buffer"].value is None for s in slots
        ):
            return "SGD (momentum 0: no buffers)"
        return "SGD with momentum"
    if "square_avg" in keys:
        return "RMSprop"
    if "sum" in keys:
        return "Adagrad"
    if {"prev", "step_size"} <= keys:
        return "Rprop"
    if {"eta", "mu", "ax"} <= keys:
        return "ASGD"
    return "stateless or unknown" if not keys else ", ".join(sorted(keys))


def model_parameters(weights: Node, skip_buffers: bool = True) -> list[tuple[str, Node]]:
    """(name, node) of the model's parameters in named_parameters() order, tied copies
    skipped, and (with skip_buffers) BatchNorm statistics and integer tensors too."""
    out: list[tuple[str, Node]] = []
    if weights.kind == "module":
        stack = [(weights, "")]
        while stack:  # a module's own parameters, then its children, depth first
            mod, prefix = stack.pop()
            kids = []
            for c in mod.children:
                if c.kind == "tensor" and c.value.is_parameter:
                    out.append((prefix + c.name, c))
                elif c.kind == "module":
                    kids.append((c, f"{prefix}{c.name}."))
            stack.extend(reversed(kids))
    else:
        for c in weights.children:
            t = c.value
            if type(t) is not TensorInfo:
                continue
            if skip_buffers and (
                c.name.endswith(BUFFER_SUFFIXES)
                or t.dtype.kind not in ("float", "bfloat16", "float8", "complex")
            ):
                continue
            out.append((c.name, c))
    unique, seen = [], set()
    for name, n in out:
        t = n.value
        ident = (id(t.storage), t.storage_offset, t.shape) if t.storage is not None else (id(t),)
        if ident not in seen:
            seen.add(ident)
            unique.append((name, n))
    return unique


def natural_key(name: str) -> list:
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def order_lost(names: list[str], keys_sorted: bool | None) -> bool:
    """Whether the model's saved key order says nothing about named_parameters() order:
    the writer sorts keys (safetensors), or the keys are in plain string order although
    their numbers are not (`layers.10` before `layers.2`), which no module produces."""
    if keys_sorted is not None:
        return keys_sorted and len(names) > 2
    if len(names) <= 2 or names != sorted(names):
        return False
    try:
        return names != sorted(names, key=natural_key)
    except TypeError:  # int and str parts compared: not a natural order either
        return True


def map_optimizer(opt: Node, weights: Node | None, keys_sorted: bool | None = None) -> OptimizerMap:
    """`keys_sorted`: True when the weights come from a writer that sorts keys
    (safetensors), False when their order is the model's, None when unknown."""
    result = OptimizerMap(path=opt.path)
    states = _states(opt.child("state"))
    for idx, g, name in _order(opt.child("param_groups"), states, result):
        st = states.get(idx, {})
        shape = None
        for key in STATE_SHAPE_KEYS:
            n = st.get(key)
            if n is not None and type(n.value) is TensorInfo:
                shape = tuple(n.value.shape)
                break
        slot = Slot(idx, g, str(idx) if st else None, shape, st)
        if name is not None and isinstance(name.value, str):
            slot.name, slot.confidence = name.value, "exact"
        result.slots.append(slot)
    result.kind = optimizer_kind(result.slots)
    if all(s.confidence == "exact" for s in result.slots) and result.slots:
        result.method = "param_names saved in the param groups"
        if weights is not None:
            params = dict(model_parameters(weights))
            for s in result.slots:
                s.param = params.get(s.name)
        return result
    if weights is None:
        result.method = "no model weights in the file to infer from"
        return result
    if not any(s.shape is not None for s in result.slots):
        result.method = "the optimizer holds no state tensors to check an order against"
        return result
    params = model_parameters(weights)
    names = [n for n, _ in params]
    if weights.kind != "module" and order_lost(names, keys_sorted):
        _by_unique_shape(result, params)  # keys sorted (safetensors): the order says nothing
    else:
        _infer(result, [lambda: params, lambda: model_parameters(weights, skip_buffers=False)])
    return result


def _states(state: Node | None) -> dict[int, dict]:
    """Slot index -> {entry name: node} of `optimizer.state_dict()['state']`."""
    states: dict[int, dict] = {}
    for c in state.children if state is not None else []:
        i = _int_key(c.name)
        if i is not None and c.kind == "dict":
            states[i] = {e.name: e for e in c.children}
    return states


def _order(groups: Node | None, states: dict, result: OptimizerMap) -> list[tuple[int, int, Node | None]]:
    """(slot index, group, its saved name node) in param_groups order; each group's
    hyper-parameters go to `result.groups`."""
    if groups is None or groups.kind != "list":  # no param_groups saved (some exporters)
        return [(i, 0, None) for i in sorted(states)]
    order = []
    for g, group in enumerate(groups.children):
        result.groups.append(_hyper(group))
        params = group.child("params")
        names = group.child("param_names")
        for j, p in enumerate(params.children if params is not None else []):
            v = p.value
            if isinstance(v, int) and not isinstance(v, bool):
                idx = v
            else:
                idx = _int_key(v) if isinstance(v, str) else None  # "3" from exporters
            if idx is None:
                continue
            name = names.children[j] if names is not None and j < len(names.children) else None
            order.append((idx, g, name))
    return order


def _by_unique_shape(result: OptimizerMap, params: list[tuple[str, Node]]) -> None:
    """Without a trustworthy order, a slot is named only when its shape is unique."""
    by_shape: dict[tuple, list] = {}
    for name, node in params:
        by_shape.setdefault(tuple(node.value.shape), []).append((name, node))
    named = 0
    for s in result.slots:
        match = by_shape.get(s.shape) if s.shape is not None else None
        if match is not None and len(match) == 1:
            s.name, s.param = match[0]
            s.confidence = "inferred"
            named += 1
    result.method = (
        f"the model's keys are sorted (their saved order is lost): {named} of "
        f"{len(result.slots)} named by a shape no other parameter has"
    )


def _infer(result: OptimizerMap, tiers: list) -> None:
    """Lay the slots against candidate orders of the model's parameters, tier by tier:
    first the parameters (buffers skipped), then every tensor (some models register
    constants as frozen Parameters). A tier decides when exactly one assignment fits;
    `tiers` are callables, so that a later tier's list is made only when it is needed."""
    slots = result.slots
    shapes = [s.shape for s in slots]
    two_groups = max((s.group for s in slots), default=0) == 1
    for tier, what in zip(tiers, ("parameters", "all tensors")):
        params = tier()
        candidates = {f"{what} in model order": params}
        if two_groups:
            for label, pred in (
                ("matrices first", lambda p: len(p[1].value.shape) >= 2),
                ("biases and norms last", lambda p: not _no_decay(p[0])),
            ):
                first = [p for p in params if pred(p)]
                rest = [p for p in params if not pred(p)]
                candidates[f"{what}, {label}"] = first + rest
                candidates[f"{what}, {label} (reversed)"] = rest + first
        found: dict[tuple, tuple[str, list]] = {}
        many = False
        for label, order in candidates.items():
            fit = _align(shapes, [tuple(p[1].value.shape) for p in order])
            if fit == "many":
                many = True
            elif fit is not None:
                chosen = [order[j] for j in fit]
                found.setdefault(tuple(id(n) for _, n in chosen), (label, chosen))
        if len(found) == 1 and not many:
            label, chosen = next(iter(found.values()))
            result.method = f"inferred from the model state_dict ({label})"
            for s, (name, node) in zip(slots, chosen):
                s.name, s.param, s.confidence = name, node, "inferred"
            return
        if found or many:
            result.method = "more than one order of the model's parameters fits: ambiguous"
            return
    result.method = "no order of the model's parameters fits the state shapes"


def _no_decay(name: str) -> bool:
    low = name.lower()
    return low.endswith("bias") or any(k in low for k in ("norm", "bn", ".ln", "layernorm"))


def _align(shapes: list, model: list) -> list[int] | str | None:
    """The unique increasing assignment of slots to model positions with equal shapes
    (slots without state match anything): indices, 'many', or None."""
    n, m = len(shapes), len(model)
    if n > m:
        return None
    if n == m:
        ok = all(s is None or s == model[i] for i, s in enumerate(shapes))
        return list(range(n)) if ok else None
    skip = m - n
    if n * (skip + 1) > MAX_DP:
        return "many"
    # ways[i][k]: ways to place slots i.. with k model entries still skippable (capped at 2)
    ways = [[0] * (skip + 1) for _ in range(n + 1)]
    ways[n] = [1] * (skip + 1)
    for i in range(n - 1, -1, -1):
        for k in range(skip + 1):
            j = i + (skip - k)  # model position when k skips remain
            total = 0
            if shapes[i] is None or shapes[i] == model[j]:
                total += ways[i + 1][k]
            if k > 0:
                total += ways[i][k - 1]
            ways[i][k] = min(total, 2)
    if ways[0][skip] == 0:
        return None
    if ways[0][skip] > 1:
        return "many"
    out, i, k = [], 0, skip
    while i < n:
        j = i + (skip - k)
        if (shapes[i] is None or shapes[i] == model[j]) and ways[i + 1][k]:
            out.append(j)
            i += 1
        else:
            k -= 1
    return out
