"""A sub-tree of the file as plain Python objects with torch tensors, for torch.save.

Only data survives this: dicts, lists, tuples, numbers, strings, bytes, tensors. A
sub-tree holding instances of classes named in the file (a pickled model, custom
objects) is refused with the class it met - re-creating those would mean running them.
"""

from __future__ import annotations

import collections

from ..analysis.key_alignment import flatten_state_dict
from ..formats.checkpoint import Checkpoint
from ..formats.stubs import ObjectStub, SizeValue, TensorInfo
from ..formats.tree import Node
from .errors import OpError
from .torch_bridge import to_torch

PLAIN = (str, bytes, int, float, bool, complex, type(None))


def tensors_below(node: Node) -> list[TensorInfo]:
    seen, out = set(), []
    for n in node.walk():
        if type(n.value) is TensorInfo and id(n.value) not in seen:
            seen.add(id(n.value))
            out.append(n.value)
    return out


def plain_objects(ck: Checkpoint, node: Node, cast: str | None = None):
    tensors = to_torch(ck, tensors_below(node), cast)

    def build(n: Node):
        v = n.value
        if n.kind == "tensor":
            return tensors[id(v)]
        if n.kind == "ref":
            return build(n.ref)
        if n.kind == "dict":
            d = collections.OrderedDict() if isinstance(v, collections.OrderedDict) else {}
            for c in n.children:
                d[c.name] = build(c)
            return d
        if n.kind == "list":
            return [build(c) for c in n.children]
        if n.kind == "tuple":
            return (
                SizeValue(build(c) for c in n.children)
                if isinstance(v, SizeValue)
                else tuple(build(c) for c in n.children)
            )
        if isinstance(v, PLAIN):
            return v
        what = (
            type(v).class_path()
            if isinstance(v, ObjectStub)
            else (v.class_path() if isinstance(v, type) and issubclass(v, ObjectStub) else type(v).__name__)
        )
        raise OpError(
            f"/{n.path} holds a {what}, which is not plain data; choose a state_dict "
            "or a sub-tree of tensors and plain values"
        )

    return build(node)


def state_dict_of(ck: Checkpoint, node: Node) -> list[tuple[str, Node]]:
    """(key, tensor node) pairs of a state_dict, or of a whole pickled module flattened
    the way module.state_dict() names them (analysis/key_alignment.py)."""
    pairs = flatten_state_dict(node)
    if pairs is None:
        raise OpError(f"/{node.path} is a {node.type_name}, not a state_dict")
    return pairs
