"""The training summary of a checkpoint: layout, epoch, step, metrics, optimizers.

Names and layouts come from `layouts`; the optimizer -> parameter mapping from
`optimizer_map`. This module only puts them together for the CLI and the window.
"""

from __future__ import annotations

from ..formats.checkpoint import Checkpoint
from .layouts import recognise
from .optimizer_map import map_optimizer


def optimizer_maps(ck: Checkpoint, layout=None, model: Checkpoint | None = None) -> list:
    """The file's optimizers mapped to parameter names - from its own model weights, or
    from `model` (another file the user points at: a bare `optimizer.pt` beside its
    model)."""

    layout = layout or recognise(ck)
    weights, source = None, ck
    if model is not None:
        weights, source = model_weights(model), model
        adopt_storages(model)
    elif layout.weights is not None:
        weights = ck.find(layout.weights)
    sorted_keys = keys_sorted(source, weights)
    maps = [
        map_optimizer(ck.find(p), weights, sorted_keys) for p in layout.optimizers if ck.find(p) is not None
    ]
    if model is not None:
        import os

        for m in maps:
            m.method += f"; names from {os.path.basename(model.path)}"
    elif layout.name == "optimizer" or weights is None:
        for m in maps:
            if not any(s.name for s in m.slots):
                m.method = "a bare optimizer state: pair it with its model file to name the parameters"
    return maps


def adopt_storages(model: Checkpoint) -> None:
    """Let the model's tensors be read through any checkpoint (the paired optimizer's
    update sizes read weights from the model file): each storage names its own file."""
    for ref in model.storages.values():
        if ref.source is None:
            ref.source, ref.path = model.container, model.path


def model_weights(model: Checkpoint):
    """The model state_dict (or module) of a file, wherever its layout keeps it."""

    lay = recognise(model)
    if lay.weights is not None:
        return model.find(lay.weights)
    return model.root if model.root.kind in ("dict", "module") else None


def keys_sorted(ck: Checkpoint, weights) -> bool | None:
    """True when the weights were written by a format that sorts its keys (safetensors,
    a shard index), False for torch.save (insertion order), None when unknown."""
    if weights is None:
        return None
    if ck.format in ("safetensors", "hf-index"):
        return True
    for node in weights.children:
        t = node.value
        if node.kind == "tensor":
            return t.rebuild == "safetensors"
    return False if ck.format in ("zip", "legacy", "pickle", "bundle", "legacy-tar") else None


def scalars(node, limit: int = 24) -> dict:
    """The plain values directly under a node (hyper-parameters, scheduler state)."""
    out = {}
    if node is None:
        return out
    for c in node.children:
        if (
            c.kind == "value"
            and isinstance(c.value, (int, float, str, bool))
            and not isinstance(c.value, bytes)
        ):
            out[c.name] = c.value
        elif (
            c.kind in ("list", "tuple")
            and 0 < len(c.children) <= 8
            and all(x.kind == "value" and isinstance(x.value, (int, float)) for x in c.children)
        ):
            out[c.name] = [x.value for x in c.children]
        if len(out) >= limit:
            break
    return out


def training_summary(ck: Checkpoint, layout=None, maps: list | None = None) -> dict:
    """`layout` and `maps`, when the caller has them already, are not worked out again
    (mapping a large optimizer is the expensive part)."""

    layout = layout or recognise(ck)
    out = layout.to_json()
    out["scheduler_state"] = {p: scalars(ck.find(p)) for p in layout.schedulers}
    out["hyper_parameter_values"] = (
        scalars(ck.find(layout.hyper_parameters)) if layout.hyper_parameters else {}
    )
    out["optimizer_maps"] = []
    for m in optimizer_maps(ck, layout) if maps is None else maps:
        counts: dict = {}
        for s in m.slots:
            counts[s.confidence] = counts.get(s.confidence, 0) + 1
        out["optimizer_maps"].append(
            {
                "path": m.path,
                "kind": m.kind,
                "method": m.method,
                "groups": m.groups,
                "parameters": len(m.slots),
                "with_state": sum(1 for s in m.slots if s.state),
                "confidence": counts,
            }
        )
    return out
