"""The node tree every reader yields, built from the unpickled object graph.

Leaves are tensors (TensorInfo), storages, class references and plain values; inner nodes
are dicts, lists, tuples, sets, module stubs and object stubs. The graph may share
objects or contain cycles (a pickle memo can reference anything): each container is
expanded once, where a depth-first walk first meets it, and every other occurrence is a
`ref` node pointing there. The walk is iterative and bounded by node count and depth.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np

from .deferred import realize
from .limits import Limits
from .stubs import (
    INT_STR_BITS,
    DeviceValue,
    DTypeValue,
    GiantInt,
    ModuleSource,
    NamedConstant,
    NumpyArray,
    ObjectStub,
    SizeValue,
    SourceText,
    StorageRef,
    TensorInfo,
    int_text,
)

# Module attributes that are torch internals; shown only when they hold something.
MODULE_INTERNALS = frozenset(
    {
        "_modules",
        "_parameters",
        "_buffers",
        "_non_persistent_buffers_set",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_forward_hooks",
        "_forward_hooks_with_kwargs",
        "_forward_hooks_always_called",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_load_state_dict_pre_hooks",
        "_load_state_dict_post_hooks",
        "_is_full_backward_hook",
    }
)

PRIMITIVES = (str, bytes, bytearray, int, float, complex, bool, type(None))
_CONTAINERS = frozenset({"dict", "list", "tuple", "set", "module", "object"})
# Exact builtin types, described without the isinstance chain (most leaves of a file)
_PLAIN = {t: ("value", t.__name__) for t in (str, bytes, int, float, bool, complex, type(None))}
_PLAIN.update({dict: ("dict", "dict"), list: ("list", "list"), tuple: ("tuple", "tuple")})


class Node:
    """One entry of the tree. `children` is a list (empty for leaves)."""

    __slots__ = ("name", "kind", "type_name", "value", "parent", "children", "ref", "_index")

    def __init__(self, name: str, kind: str, type_name: str, value: Any, parent: Node | None):
        self.name = name
        self.kind = kind  # dict list tuple set module object tensor storage class value ref truncated
        self.type_name = type_name
        self.value = value
        self.parent = parent
        self.children: list[Node] = []
        self.ref: Node | None = None
        self._index: dict[str, Node] | None = None

    @property
    def path(self) -> str:
        parts = []
        node = self
        while node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "/".join(reversed(parts))

    @property
    def depth(self) -> int:
        d, node = 0, self
        while node.parent is not None:
            d, node = d + 1, node.parent
        return d

    def child(self, name: str) -> Node | None:
        if self._index is None:
            self._index = {}
            for c in self.children:
                self._index.setdefault(c.name, c)
        return self._index.get(name)

    def find(self, path: str) -> Node | None:
        """Resolve a `/`-joined path; a key that itself contains `/` is still found."""
        if path in ("", "/"):
            return self
        direct = self.child(path)
        if direct is not None:
            return direct
        cut = path.find("/")
        while cut != -1:
            head = self.child(path[:cut])
            if head is not None:
                found = head.find(path[cut + 1 :])
                if found is not None:
                    return found
            cut = path.find("/", cut + 1)
        return None

    def walk(self) -> Iterator[Node]:
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def __repr__(self):
        return f"<Node {self.path or '/'} {self.kind} {self.type_name}>"


def describe_value(value: Any) -> tuple[str, str]:
    """(kind, type name) of a leaf or container value."""
    plain = _PLAIN.get(type(value))
    if plain is not None:
        return plain
    if type(value) is TensorInfo:
        return "tensor", value.type_name
    if isinstance(value, TensorInfo):
        return "tensor", value.type_name
    if isinstance(value, StorageRef):
        return "storage", "Storage"
    if isinstance(value, type) and issubclass(value, ObjectStub):
        return "class", "global"
    if isinstance(value, ObjectStub):
        return ("module" if value.is_module() else "object"), type(value).class_path()
    if isinstance(value, SizeValue):
        return "value", "torch.Size"
    if isinstance(value, SourceText):
        return "value", "source"
    if isinstance(value, (DeviceValue, DTypeValue, NamedConstant, ModuleSource)):
        return "value", type(value).__name__.replace("Value", "").lower()
    if isinstance(value, NumpyArray):
        return "value", "ndarray"
    shown = getattr(type(value), "display_type", None)  # our records, named as the file names them
    if isinstance(shown, str) and not isinstance(value, dict):
        return ("class", shown) if shown == "global" else ("value", shown)
    if isinstance(value, collections.OrderedDict):
        return "dict", "OrderedDict"
    if isinstance(value, dict):
        return "dict", "dict" if type(value) is dict else getattr(
            type(value), "display_type", type(value).__name__
        )
    if isinstance(value, list):
        return "list", "list"
    if isinstance(value, tuple):
        return "tuple", "tuple"
    if isinstance(value, (set, frozenset)):
        return "set", type(value).__name__
    if isinstance(value, np.generic):
        return "value", type(value).__name__
    if isinstance(value, GiantInt):
        return "value", "int"
    return "value", type(value).__name__


def _key_name(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and key.bit_length() > INT_STR_BITS:
        return int_text(key)
    if isinstance(key, (int, float, bool)) or key is None:
        return str(key)
    if isinstance(key, bytes):
        return key.decode("latin1")
    if isinstance(key, type) and issubclass(key, ObjectStub):
        return key.class_path()  # a class used as a key (Lightning 1.x callbacks)
    if isinstance(key, ObjectStub):
        return type(key).class_path()
    return repr(key)


def children_of(value: Any, kind: str) -> list[tuple[str, Any]]:
    """The (name, value) pairs below a container, in file order."""
    if kind == "dict":
        return [(k if type(k) is str else _key_name(k), v) for k, v in value.items()]
    if kind in ("list", "tuple"):
        return [(str(i), v) for i, v in enumerate(value)]
    if kind == "set":
        return [(str(i), v) for i, v in enumerate(value)]
    if kind == "module":
        return _module_children(value)
    if kind == "object":
        return _object_children(value)
    return []


def _module_children(stub: ObjectStub) -> list[tuple[str, Any]]:
    state = stub.state_dict() or {}
    out: list[tuple[str, Any]] = []
    for group in ("_parameters", "_buffers", "_modules"):
        entries = state.get(group)
        if isinstance(entries, dict):
            out.extend((_key_name(k), v) for k, v in entries.items())
    for k, v in state.items():
        if k in MODULE_INTERNALS:
            if k in ("_parameters", "_buffers", "_modules") or not v:
                continue
        out.append((_key_name(k), v))
    return out


def _object_children(stub: ObjectStub) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if stub.stub_args:
        out.append(("__args__", stub.stub_args))
    if stub.stub_kwargs:
        out.append(("__kwargs__", stub.stub_kwargs))
    state = stub.state_dict()
    if state is not None:
        out.extend((_key_name(k), v) for k, v in state.items())
    elif stub.stub_state is not None:
        out.append(("__state__", stub.stub_state))
    if stub.stub_items:
        out.append(("__items__", stub.stub_items))
    if stub.stub_dictitems:
        out.extend((_key_name(k), v) for k, v in stub.stub_dictitems.items())
    return out


def _only_primitives(value) -> bool:
    return isinstance(value, (tuple, frozenset)) and all(isinstance(v, PRIMITIVES) for v in value)


class TreeBuilder:
    """Iterative depth-first construction with sharing, cycle, depth and count bounds."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.count = 0
        self.truncated = False
        self.tensors: list[Node] = []

    def build(self, obj: Any, root_name: str = "") -> Node:
        obj = realize(obj)
        kind, tname = describe_value(obj)
        root = Node(root_name, kind, tname, obj, None)
        self._seen: dict[int, Node] = {}
        if kind == "tensor":
            self.tensors.append(root)
        stack: list[tuple[Node, int]] = [(root, 0)] if kind in _CONTAINERS else []
        while stack:
            node, depth = stack.pop()
            if node.kind == "tensor":  # a tensor after a container sibling
                self.tensors.append(node)
            elif self._expandable(node, depth):
                stack.extend(self._expand(node, depth))
        return root

    def _expandable(self, node: Node, depth: int) -> bool:
        """False for a container met before (it becomes a `ref`) or one too deep."""
        value = node.value
        if not _only_primitives(value):
            first = self._seen.get(id(value))
            if first is not None:
                node.kind, node.ref = "ref", first
                return False
            self._seen[id(value)] = node
        if depth >= self.limits.max_depth:
            node.kind = "truncated"
            node.type_name = f"{node.type_name} (deeper than {self.limits.max_depth} levels)"
            self.truncated = True
            return False
        return True

    def _expand(self, node: Node, depth: int) -> list[tuple[Node, int]]:
        """Create `node`'s children; return the containers (and the siblings after the
        first of them) still to visit, in stack order. Leaves before the first container
        child are visited here: `self.tensors` stays in depth-first pre-order (the order
        summary.tensor_nodes_below relies on) without a stack round trip per tensor."""
        value = node.value
        if type(value) is dict or type(value) is collections.OrderedDict:
            kids = value.items()  # names made below: most keys are str already
        else:
            kids = children_of(value, node.kind)
        limit = self.limits.max_nodes
        if self.count + len(kids) > limit:
            kids = list(kids)[: max(0, limit - self.count)]
            self.truncated = True
        self.count += len(kids)
        later: list[Node] = []
        tensors, children = self.tensors, node.children
        for name, v in kids:
            if type(name) is not str:
                name = _key_name(name)
            tv = type(v)
            if tv is partial:  # a tensor record built by C code (deferred.py)
                v = realize(v)
                tv = type(v)
            elif tv is int and v.bit_length() > INT_STR_BITS:
                v = GiantInt(v)  # printable: every str() of it would raise
                tv = GiantInt
            if tv is TensorInfo:
                child = Node(name, "tensor", v.type_name, v, node)
                children.append(child)
                if later:
                    later.append(child)
                else:
                    tensors.append(child)
                continue
            kind, type_name = describe_value(v)
            child = Node(name, kind, type_name, v, node)
            children.append(child)
            if later or kind in _CONTAINERS:
                later.append(child)
            elif kind == "tensor":
                tensors.append(child)
        return [(c, depth + 1) for c in reversed(later) if c.kind in _CONTAINERS or c.kind == "tensor"]
