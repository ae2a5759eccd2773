"""An opened checkpoint: the node tree plus access to tensor bytes on demand."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .container import Container
from .errors import CheckpointError, TensorDataError
from .limits import DEFAULT_LIMITS, Limits, gc_release
from .stubs import ModuleSource, StorageRef, TensorInfo
from .tensor_data import tensor_array, tensor_source
from .tree import Node, TreeBuilder


@dataclass(eq=False)
class Checkpoint:
    path: str
    format: str
    file_size: int
    root: Node
    obj: Any
    tensors: list[Node]
    storages: dict[str, StorageRef]
    container: Container | None = None  # the reader's (container.py protocol)
    byteorder: str = "little"
    warnings: list[str] = field(default_factory=list)
    module_sources: list[ModuleSource] = field(default_factory=list)
    extension_note: str | None = None

    def find(self, path: str) -> Node | None:
        return self.root.find(path.strip("/"))

    def tensor_node(self, path: str) -> Node:
        node = self.find(path)
        if node is None:
            raise CheckpointError(f"no entry named {path!r} in the file")
        if node.kind == "ref" and node.ref is not None:
            node = node.ref
        if node.kind != "tensor":
            raise CheckpointError(f"{path!r} is a {node.type_name}, not a tensor")
        return node

    def _readable(self, tensor: TensorInfo | Node) -> TensorInfo:
        t = tensor.value if isinstance(tensor, Node) else tensor
        if self.container is None:
            raise TensorDataError("this file has no tensor data to read")
        return t

    def array(self, tensor: TensorInfo | Node) -> np.ndarray:
        """A validated read-only view of one tensor's stored elements."""
        t = self._readable(tensor)
        if t.layout == "dcp":
            from .dcp import dcp_array

            return dcp_array(self, t)
        return tensor_array(self.container, self.path, t, self.byteorder)

    def source(self, tensor: TensorInfo | Node):
        """The tensor for chunked reading (statistics, histograms) in bounded memory."""
        t = self._readable(tensor)
        if t.layout == "dcp":
            from .dcp import dcp_source

            return dcp_source(self, t)
        return tensor_source(self.container, self.path, t, self.byteorder)

    def close(self) -> None:
        if self.container is not None:
            self.container.close()  # it owns its file handles
            self.container = None
            gc_release()  # the tree's objects, frozen after the parse (limits.gc_paused)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _size_on_disk(path: str) -> int:
    if not os.path.isdir(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(path, n))
        for n in os.listdir(path)
        if os.path.isfile(os.path.join(path, n))
    )


def assemble(
    path: str,
    fmt: str,
    obj: Any,
    container,
    storages: dict[str, StorageRef],
    limits: Limits = DEFAULT_LIMITS,
    **extra,
) -> Checkpoint:
    builder = TreeBuilder(limits)
    root = builder.build(obj)
    _register_nested(builder.tensors, storages)
    ck = Checkpoint(
        path=path,
        format=fmt,
        file_size=_size_on_disk(path),
        root=root,
        obj=obj,
        tensors=builder.tensors,
        storages=storages,
        container=container,
        **extra,
    )
    if builder.truncated:
        ck.warnings.append(
            f"the tree was cut at {limits.max_nodes:,} nodes or "
            f"{limits.max_depth} levels; deeper or further entries are not shown"
        )
    return ck


def _register_nested(tensors: list[Node], storages: dict[str, StorageRef]) -> None:
    """Storages that came from bytes nested in the pickle (formats/nested.py) belong to
    the file too: list them beside the container's own, once each."""
    known = {id(s) for s in storages.values()}
    for node in tensors:
        s = node.value.storage
        if s is not None and s.source is not None and id(s) not in known:
            known.add(id(s))
            key = s.key
            while key in storages:
                key += "'"
            storages[key] = s
