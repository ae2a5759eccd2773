"""Which parts of a file a conversion dialog should offer.

Strip wants a sub-tree that looks like model weights: a state_dict (or a pickled module),
not the file's root when that is a training checkpoint, not optimizer state
(`optimizer_state_dict/state/N`) nor callbacks - ranked with the recognised weights first,
then the usual names, then by size. Export wants the model's class: the classes the file
names, or those defined in a Python file the user points at (read with `ast`, never run).
"""

from __future__ import annotations

import ast

from ..formats.checkpoint import Checkpoint
from ..formats.stubs import TensorInfo
from .layouts import is_optimizer_state, tensor_dict

USUAL_NAMES = (
    "state_dict",
    "model_state_dict",
    "model",
    "module",
    "net",
    "ema",
    "model_ema",
    "weights",
    "params",
    "network",
    "generator",
    "discriminator",
    "encoder",
    "decoder",
)
SKIP_ROOTS = (
    "callbacks",
    "loops",
    "optimizer",
    "optimizers",
    "optimizer_states",
    "lr_schedulers",
    "scheduler",
    "lr_scheduler",
    "scaler",
    "amp",
    "rng_state",
    "trainer_state",
)


def _bytes(node) -> int:
    seen, total = set(), 0
    for n in node.walk():
        t = n.value
        if type(t) is TensorInfo and id(t) not in seen:
            seen.add(id(t))
            total += t.nbytes
    return total


def weight_candidates(ck: Checkpoint, layout=None, limit: int = 20) -> list[str]:
    """Tree paths of sub-trees that look like model weights, best first."""
    root = ck.root
    recognised = getattr(layout, "weights", None)
    skip: set = set()
    for p in getattr(layout, "optimizers", []) or []:
        n = ck.find(p)
        if n is not None:
            skip.add(id(n))
    found: list[tuple] = []
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in skip or is_optimizer_state(node):
            continue
        if node is not root and node.parent is root and node.name.lower() in SKIP_ROOTS:
            continue
        path = node.path
        is_root = node is root
        looks = node.kind == "module" or (tensor_dict(node) and not _digit_keys(node))
        if looks and (not is_root or tensor_dict(root, 0.9) or root.kind == "module"):
            found.append((path, _bytes(node)))
            if node.kind == "module" or tensor_dict(node, 0.9):
                continue  # its sub-modules are parts of it, not other weights
        if depth < 4:
            stack.extend(
                (c, depth + 1)
                for c in node.children
                if c.kind in ("dict", "module", "object", "list", "tuple")
            )
    if recognised is not None and recognised not in [p for p, _ in found] and ck.find(recognised) is not None:
        found.append((recognised, _bytes(ck.find(recognised))))

    def rank(item):
        path, size = item
        name = path.rsplit("/", 1)[-1].lower()
        return (path != recognised, name not in USUAL_NAMES, -size, path)

    return [p for p, _ in sorted(found, key=rank)[:limit]]


def _digit_keys(node) -> bool:
    """optimizer `state` dicts are keyed 0, 1, 2, ...: not weights."""
    return bool(node.children) and all(c.name.isdigit() for c in node.children)


def classes_named_in_file(verdict) -> list[str]:
    """`module:Class` for each class outside torch the file's pickle names."""
    out = []
    for g in getattr(verdict, "globals", []):
        if (
            g.category in ("needs-code", "data", "reference")
            and g.name[:1].isupper()
            and not g.module.startswith(("torch", "collections", "builtins", "numpy", "_codecs"))
        ):
            out.append(f"{g.module}:{g.name}")
    return sorted(set(out))


def classes_in_python_file(path: str) -> list[str]:
    """Class names defined at the top level of a Python file, nn.Module subclasses first.
    The file is parsed, never imported. Raises OSError/SyntaxError/ValueError."""
    with open(path, "rb") as fh:
        tree = ast.parse(fh.read(), filename=path)
    modules, others = [], []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases]
            (
                modules
                if any(
                    b.split(".")[-1] in ("Module", "LightningModule", "PreTrainedModel")
                    or b.endswith("Module")
                    for b in bases
                )
                else others
            ).append(node.name)
    return modules + others
