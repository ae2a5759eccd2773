"""Which training-checkpoint layout a file has, recognised from its content.

Returns where the model weights, optimizer states, schedulers and hyper-parameters are,
plus epoch, step and metrics. Unknown layouts still say where tensors are.
"""

from __future__ import annotations

from ..formats.checkpoint import Checkpoint
from ..formats.stubs import ObjectStub
from ..formats.tree import Node
from .layout_parts import (
    EPOCH,
    LOSS_HINTS,
    STEP,
    Layout,
    _scalar,
    is_optimizer_state,
    nested_optimizers,
    tensor_dict,
)
from .library_layouts import LIGHTNING_KEYS, _lightning_callbacks, recognise_library


def _pick(root: Node, names) -> str | None:
    for n in names:
        c = root.child(n)
        if c is not None and tensor_dict(c):
            return n
    return None


def recognise(ck: Checkpoint) -> Layout:
    root = ck.root
    if root.kind == "module":
        return Layout("whole-module", weights="")
    if is_optimizer_state(root):  # optimizer.pt of HF Trainer, skorch, TorchSharp exports
        return Layout("optimizer", optimizers=[""])
    special = recognise_library(ck)
    if special is not None and root.kind != "dict":
        return special
    if ck.format == "hf-trainer":
        return _hf_trainer(ck)
    if root.kind != "dict":
        return Layout("unknown")
    if special is None and tensor_dict(root, 0.9):
        return Layout("state_dict", weights="")
    # a library's layout, or one told from the top-level keys; then the general look-ups
    # fill what it left open
    lay = special if special is not None else _from_keys(ck)
    _fill_parts(root, lay)
    _fill_scalars(ck, lay)
    return lay


def _hf_trainer(ck: Checkpoint) -> Layout:
    """A Trainer checkpoint folder: its parts are named by the files they came from."""
    root = ck.root
    lay = Layout("hf-trainer", weights="model" if root.child("model") else None)
    if is_optimizer_state(root.child("optimizer")):
        lay.optimizers.append("optimizer")
    if root.child("scheduler") is not None:
        lay.schedulers.append("scheduler")
    state = root.find("trainer_state")
    if state is not None:
        lay.epoch = _scalar(state.child("epoch"), ck)
        lay.step = _scalar(state.child("global_step"), ck)
    if root.child("training_args") is not None:
        lay.hyper_parameters = "training_args"
    return lay


def _from_keys(ck: Checkpoint) -> Layout:
    """A dict told apart by its top-level keys: the PyTorch tutorial, Lightning, the
    torchvision reference scripts, else the first common name of a weights entry."""
    root = ck.root
    keys = {c.name for c in root.children}
    if "model_state_dict" in keys:
        lay = Layout("tutorial", weights="model_state_dict")
        opt = "optimizer_state_dict" if "optimizer_state_dict" in keys else None
        lay.optimizers = [opt] if opt and is_optimizer_state(root.child(opt)) else []
    elif "state_dict" in keys and keys & LIGHTNING_KEYS:
        lay = Layout("lightning", weights="state_dict")
        ops = root.child("optimizer_states")
        if ops is not None:
            lay.optimizers = [f"optimizer_states/{c.name}" for c in ops.children if is_optimizer_state(c)]
        sch = root.child("lr_schedulers")
        if sch is not None:
            lay.schedulers = [f"lr_schedulers/{c.name}" for c in sch.children]
        if "hyper_parameters" in keys:
            lay.hyper_parameters = "hyper_parameters"
        _lightning_callbacks(root, lay, ck)
    elif "model" in keys and ("lr_scheduler" in keys or "args" in keys) and tensor_dict(root.child("model")):
        lay = Layout("torchvision-reference", weights="model")
        if "lr_scheduler" in keys:
            lay.schedulers = ["lr_scheduler"]
        if "args" in keys:
            lay.hyper_parameters = "args"
    else:
        weights = _pick(
            root,
            ("state_dict", "model", "net", "model_state", "weights", "params", "module", "network", "ema"),
        )
        lay = Layout("common" if weights else "unknown", weights=weights)
    return lay


def _fill_parts(root, lay: Layout) -> None:
    """Optimizers, schedulers and hyper-parameters the layout did not name, by the usual names."""
    if not lay.optimizers:
        lay.optimizers = [c.name for c in root.children if is_optimizer_state(c)]
    if not lay.optimizers:
        lay.optimizers = nested_optimizers(root)
    if not lay.schedulers:
        lay.schedulers = [c.name for c in root.children if "sched" in c.name.lower()]
    if lay.hyper_parameters is None:
        keys = {c.name for c in root.children}
        for name in ("hyper_parameters", "hparams", "args", "config", "cfg", "hyperparameters"):
            if name in keys:
                lay.hyper_parameters = name
                break


def _fill_scalars(ck: Checkpoint, lay: Layout) -> None:
    """Epoch, step and loss-like metrics saved as top-level numbers, and the optimizer class."""
    root = ck.root
    for child in root.children:
        low = child.name.lower()
        num = _scalar(child, ck)
        if num is None:
            continue
        if low in EPOCH and lay.epoch is None:
            lay.epoch = num
        elif low in STEP and lay.step is None:
            lay.step = num
        elif any(h in low for h in LOSS_HINTS):
            lay.metrics[child.name] = num
    for name in ("optimizer_type", "optimizer_class", "optim"):
        c = root.child(name)
        if c is not None:
            v = c.value
            lay.optimizer_class = (
                v.class_path() if isinstance(v, type) and issubclass(v, ObjectStub) else str(v)
            )
