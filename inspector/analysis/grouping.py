"""A state_dict's dotted keys shown as a module hierarchy.

`encoder.layer.0.attention.q.weight` becomes encoder / layer / 0 / attention / q / weight.
Groups are virtual: they hold the real tensor nodes as leaves, in file order, and sum
their sizes. A dict whose keys have no dots is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..formats.stubs import TensorInfo
from ..formats.tree import Node


@dataclass(eq=False)
class Group:
    name: str
    children: list = field(default_factory=list)  # Group | Node
    numel: int = 0
    nbytes: int = 0
    tensors: int = 0


def is_groupable(node: Node) -> bool:
    if node.kind != "dict" or len(node.children) < 2:
        return False
    dotted = sum(1 for c in node.children if "." in c.name)
    return dotted >= max(2, len(node.children) // 2)


def group_children(node: Node) -> list:
    """The node's children regrouped by their dotted names (Groups and leaf Nodes)."""
    top = Group("")
    index: dict[tuple, Group] = {(): top}
    for child in node.children:
        parts = child.name.split(".")
        path: tuple = ()
        group = top
        for part in parts[:-1]:
            path = path + (part,)
            g = index.get(path)
            if g is None:
                g = Group(part)
                index[path] = g
                group.children.append(g)
            group = g
        group.children.append(child)
    _sizes(top)
    return top.children


def _sizes(g: Group) -> None:
    for c in g.children:
        if isinstance(c, Group):
            _sizes(c)
            g.numel += c.numel
            g.nbytes += c.nbytes
            g.tensors += c.tensors
        elif type(c.value) is TensorInfo:
            g.numel += c.value.numel
            g.nbytes += c.value.nbytes
            g.tensors += 1


def leaf_label(node: Node) -> str:
    """In grouped view a leaf shows the last part of its key."""
    return node.name.rsplit(".", 1)[-1]
