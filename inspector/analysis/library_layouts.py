"""Training layouts of particular libraries, recognised by the keys they write.

- fairseq: `args` or `cfg`, `model`, `optimizer_history`, `extra_state`,
  `last_optimizer_state` (epoch in extra_state.train_iterator, updates in the history).
- Ultralytics: `model`, `ema` (whole modules), `optimizer`, `train_args`, `train_metrics`
  (YOLOv5: `opt` and `updates` instead).
- mmengine / mmdetection: `meta` + `state_dict` and/or `message_hub`, `optimizer`,
  `param_schedulers`.
- stable-baselines3 (a zip bundle): `data`, `policy.pth`, `policy.optimizer.pth`.
- HF Accelerate `random_states_N.pkl`: the RNG states of one process.
- Lightning 1.x and older: callback keys beside `state_dict` (see LIGHTNING_KEYS).
"""

from __future__ import annotations

from .layout_parts import Layout, _scalar, is_optimizer_state

LIGHTNING_KEYS = frozenset(
    {
        "optimizer_states",
        "pytorch-lightning_version",
        "lr_schedulers",
        "callbacks",
        "checkpoint_callback_best_model_score",
        "checkpoint_callback_best_model_path",
        "early_stop_callback_state",
        "early_stop_callback_wait",
        "early_stop_callback_patience",
        "hparams_name",
        "native_amp_scaling_state",
        "amp_scaling_state",
        "loops",
        "hparams",
        "checkpoint_callback_best",
        "hparams_type",
    }
)
FAIRSEQ_KEYS = frozenset({"optimizer_history", "extra_state", "last_optimizer_state"})
ACCELERATE_RNG = frozenset({"random_state", "numpy_random_seed", "torch_manual_seed"})


def recognise_library(ck):
    """A Layout for the libraries above, or None."""
    root = ck.root
    if (
        ck.format == "bundle"
        and root.kind == "dict"
        and (root.child("_stable_baselines3_version") is not None or root.child("policy.pth") is not None)
    ):
        return _sb3(ck)
    if root.kind != "dict":
        return None
    keys = {c.name for c in root.children}
    if "model" in keys and len(keys & FAIRSEQ_KEYS) >= 2:
        return _fairseq(ck, keys)
    if "model" in keys and (
        "train_args" in keys or {"ema", "updates"} <= keys or {"best_fitness", "optimizer"} <= keys
    ):
        return _ultralytics(ck, keys)  # YOLOv8+ (train_args) and YOLOv5 (opt, updates)
    if "meta" in keys and ("state_dict" in keys or "message_hub" in keys):
        return _mmengine(ck, keys)
    if ACCELERATE_RNG <= keys:
        return Layout("accelerate-rng-state")
    return None


def _child_path(node, *names):
    """The tree path of root/names... when every step exists."""
    for n in names:
        node = node.child(n) if node is not None else None
    return node


def _last(node):
    if node is not None and node.kind in ("list", "tuple") and node.children:
        return node.children[-1]
    return None


def _optimizers(root, names) -> list[str]:

    return [n for n in names if is_optimizer_state(root.child(n))]


def _fairseq(ck, keys):

    root = ck.root
    lay = Layout("fairseq", weights="model")
    lay.optimizers = _optimizers(root, ["last_optimizer_state"])
    lay.hyper_parameters = (
        "cfg"
        if "cfg" in keys and root.child("cfg").value is not None
        else ("args" if "args" in keys else None)
    )
    extra = root.child("extra_state")
    lay.epoch = _scalar(_child_path(extra, "train_iterator", "epoch"), ck)
    last = _last(root.child("optimizer_history"))
    lay.step = _scalar(_child_path(last, "num_updates"), ck)
    name = _child_path(last, "optimizer_name")
    if name is not None and isinstance(name.value, str):
        lay.optimizer_class = name.value
    for metric in ("val_loss", "best"):
        v = _scalar(_child_path(extra, metric), ck)
        if v is not None:
            lay.metrics[metric] = v
    return lay


def _ultralytics(ck, keys):

    root = ck.root
    ema = root.child("ema")
    weights = "ema" if ema is not None and ema.kind in ("module", "dict") else "model"
    lay = Layout("ultralytics", weights=weights)
    lay.optimizers = _optimizers(root, ["optimizer"])
    lay.hyper_parameters = "train_args" if "train_args" in keys else "opt" if "opt" in keys else None
    lay.epoch = _scalar(root.child("epoch"), ck)
    for c in root.child("train_metrics").children if root.child("train_metrics") else []:
        v = _scalar(c, ck)
        if v is not None:
            lay.metrics[c.name] = v
    fit = _scalar(root.child("best_fitness"), ck)
    if fit is not None:
        lay.metrics["best_fitness"] = fit
    return lay


def _mmengine(ck, keys):

    root = ck.root
    lay = Layout("mmengine", weights="state_dict" if "state_dict" in keys else None)
    lay.optimizers = _optimizers(root, ["optimizer"])
    if "param_schedulers" in keys:
        lay.schedulers = ["param_schedulers"]
    meta = root.child("meta")
    info = _child_path(root, "message_hub", "runtime_info")
    lay.epoch = _scalar(_child_path(meta, "epoch"), ck)
    if lay.epoch is None:
        lay.epoch = _scalar(_child_path(info, "epoch"), ck)
    lay.step = _scalar(_child_path(meta, "iter"), ck)
    if lay.step is None:
        lay.step = _scalar(_child_path(info, "iter"), ck)
    if _child_path(meta, "cfg") is not None or _child_path(meta, "config") is not None:
        lay.hyper_parameters = "meta"  # the config as text (mmengine: cfg, mmcv: config)
    return lay


def _sb3(ck):

    root = ck.root
    lay = Layout("stable-baselines3", weights="policy.pth" if root.child("policy.pth") else None)
    lay.optimizers = _optimizers(root, [c.name for c in root.children if c.name.endswith("optimizer.pth")])
    if root.child("data") is not None:
        lay.hyper_parameters = "data"
        lay.step = _scalar(_child_path(root, "data", "num_timesteps"), ck)
    return lay


def _lightning_callbacks(root, lay, ck) -> None:
    """best_model_score of the checkpoint callbacks (Lightning >= 1.2 keeps them under
    `callbacks`, keyed by the callback's class or state key)."""

    cbs = root.child("callbacks")
    for cb in cbs.children if cbs is not None else []:
        v = _scalar(cb.child("best_model_score"), ck)
        if v is not None:
            monitor = cb.child("monitor")
            label = (
                monitor.value
                if monitor is not None and isinstance(monitor.value, str)
                else "best_model_score"
            )
            lay.metrics.setdefault(f"best {label}", v)
