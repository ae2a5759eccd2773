"""What every layout recogniser shares: the Layout record, the names of training counters
and metrics, and small tests on tree nodes (is this optimizer state, a tensor dict, a scalar).

Split out of `layouts` so that `library_layouts` can use them without importing it back."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..formats.checkpoint import Checkpoint
from ..formats.stubs import TensorInfo
from ..formats.tree import Node

# the names a training loop gives its counters and metrics
EPOCH = ("epoch", "epochs", "current_epoch", "last_epoch")
STEP = (
    "global_step",
    "step",
    "iteration",
    "iter",
    "steps",
    "num_updates",
    "global_steps",
    "iterations",
    "total_steps",
)
LOSS_HINTS = ("loss", "acc", "best", "metric", "score", "mae", "error", "prec", "f1", "bleu")


@dataclass
class Layout:
    name: str  # tutorial, lightning, hf-trainer, torchvision-reference, mmengine, common, ...
    weights: str | None = None  # tree path of the model state_dict (or module)
    optimizers: list[str] = field(default_factory=list)
    schedulers: list[str] = field(default_factory=list)
    hyper_parameters: str | None = None
    epoch: object = None
    step: object = None
    metrics: dict = field(default_factory=dict)
    optimizer_class: str | None = None

    def to_json(self) -> dict:
        return dict(self.__dict__)


def is_optimizer_state(node: Node | None) -> bool:
    if node is None or node.kind != "dict":
        return False
    state = node.child("state")
    return (
        state is not None
        and state.kind == "dict"
        and (node.child("param_groups") is not None or len(node.children) <= 2)
    )


def nested_optimizers(root: Node, depth: int = 3, limit: int = 8) -> list[str]:
    """Optimizer states kept a few levels down (DeepSpeed's `optimizer_state_dict/
    base_optimizer_state`, wrappers of wrappers), breadth first, a few at most."""
    found: list[str] = []
    level = [c for c in root.children if c.kind in ("dict", "list", "tuple")]
    for _ in range(depth - 1):
        nxt = []
        for node in level:
            for c in node.children:
                if c.kind not in ("dict", "list", "tuple"):
                    continue
                if is_optimizer_state(c):
                    found.append(c.path)
                    if len(found) >= limit:
                        return found
                elif len(nxt) < 10_000:
                    nxt.append(c)
        level = nxt
    return found


def tensor_dict(node: Node | None, minimum: float = 0.5) -> bool:
    """A dict (or module) most of whose direct children are tensors: a state_dict."""
    if node is None:
        return False
    if node.kind == "module":
        return True
    if node.kind != "dict" or not node.children:
        return False
    tensors = sum(1 for c in node.children if c.kind == "tensor")
    return tensors >= max(1, minimum * len(node.children))


def _scalar(node: Node | None, ck: Checkpoint):
    """A number stored at `node` (one-element tensors are read), or None."""
    if node is None:
        return None
    v = node.value
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if type(v) is TensorInfo and v.numel == 1:
        from .decode import decode

        try:
            return float(decode(ck.array(v).reshape(-1), v.dtype)[0])
        except Exception:  # an unreadable scalar is simply not shown as a number
            return None
    return None
