"""Training metadata found at the top of a checkpoint: epoch, step, loss, metrics.

A first, layout-agnostic look (the training-state issue recognises full layouts):
numbers under well-known top-level names, and the entries that hold model weights.
"""

from __future__ import annotations

from ..formats.checkpoint import Checkpoint
from ..formats.stubs import TensorInfo

EPOCH = ("epoch", "epochs", "current_epoch", "last_epoch")
STEP = ("global_step", "step", "iteration", "iter", "steps", "num_updates")
LOSS_HINTS = ("loss", "acc", "best", "metric", "score", "mae", "error", "prec", "f1", "bleu")
WEIGHT_KEYS = ("model_state_dict", "state_dict", "model", "net", "module", "weights",
               "params", "ema", "model_ema", "generator")


def _number(node):
    v = node.value
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if type(v) is TensorInfo and v.numel == 1:
        return "tensor"
    return None


def training_metadata(ck: Checkpoint) -> dict:
    out: dict = {}
    root = ck.root
    if root.kind != "dict":
        return out
    metrics = {}
    for child in root.children:
        name = child.name.lower()
        num = _number(child)
        if num is None:
            continue
        if name in EPOCH and "epoch" not in out:
            out["epoch"] = num
        elif name in STEP and "step" not in out:
            out["step"] = num
        elif any(h in name for h in LOSS_HINTS):
            metrics[child.name] = num
    if metrics:
        out["metrics"] = metrics
    weights = [c.name for c in root.children
               if c.name in WEIGHT_KEYS and c.kind in ("dict", "module")]
    if weights:
        out["weights_at"] = weights
    return out
