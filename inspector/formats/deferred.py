"""Tensor records built by C code while unpickling, turned into TensorInfo afterwards.

A 10,000-tensor `data.pkl` costs the C unpickler ~2 us per tensor, but a Python
callback per persistent id and per `_rebuild_tensor_v2` call costs as much again. So
for torch zip archives the two are answered by `functools.partial`, which is C:

- a persistent id `pid` becomes `partial(realizer, pid)` (the realizer is never called
  while unpickling; `partial` only needs its first argument to be callable), and
- `_rebuild_tensor_v2(storage, offset, size, stride, ...)` becomes
  `partial(storage, offset, size, stride, ...)`, which functools flattens to
  `partial(realizer, pid, offset, size, stride, ...)`.

Nothing is executed by this: creating a partial calls nothing. The realizer then turns
each such record into a TensorInfo exactly once (shared references stay shared), with
the same validation as the Python recorders - when the tree is built, or when one of our
recorders (`_rebuild_parameter`, `_rebuild_from_type_v2`, ...) receives one.
"""

from __future__ import annotations

from functools import partial

from .errors import CheckpointError
from .stubs import StorageRef


class Realizer:
    """Owns the records of one container; `partial(self, pid)` marks its storages."""

    def __init__(self, persistent_load, rebuild):
        self.persistent_load = persistent_load  # pid -> StorageRef (validated)
        self.rebuild = rebuild  # the Python recorder for _rebuild_tensor_v2
        self.done: dict[int, tuple] = {}  # id(record) -> (record, result): the record kept
        # alive so that its id stays unique

    def __call__(self, *args, **kwargs):
        raise CheckpointError("a deferred storage record was called")

    def pid(self) -> partial:
        """What the unpickler uses as persistent_load: pid -> partial(self, pid)."""
        return partial(partial, self)

    def tensor(self, p: partial):
        cached = self.done.get(id(p))
        if cached is not None:
            return cached[1]
        args = p.args
        if p.func is not self or not args:
            return "<invalid tensor record>"
        # partial(partial(self, pid), *rest) is flattened by functools to partial(self, pid, *rest)
        try:
            storage = self.persistent_load(args[0])
            if len(args) == 1:
                return storage  # a bare storage: a persistent id not wrapped in a tensor
            t = self.rebuild(storage, *args[1:])
        except CheckpointError as exc:
            t = f"<invalid tensor: {exc}>"
        self.done[id(p)] = (p, t)
        return t


def storage_of(value):
    """The StorageRef a deferred persistent id stands for (anything else unchanged)."""
    if type(value) is partial and isinstance(value.func, Realizer) and len(value.args) == 1:
        return value.func.persistent_load(value.args[0])
    return value


def realize(value):
    """The TensorInfo a deferred record stands for (other values pass through)."""
    if type(value) is not partial:
        return value
    owner = value.func
    while type(owner) is partial:
        owner = owner.func
    if isinstance(owner, Realizer):
        return owner.tensor(value)
    if type(owner) is StorageRef and value.func is owner:  # nested bytes (formats/nested.py)
        try:
            return _nested_rebuild[0](owner, *value.args)
        except (CheckpointError, TypeError) as exc:
            return f"<invalid tensor: {exc}>"
    return "<invalid tensor record>"


# The recorder of `_rebuild_tensor_v2` for storages read from nested bytes: set by the
# unpickler when it is imported (it makes those records), so that this module, which the
# unpickler imports, does not import it back.
_nested_rebuild: list = [None]


def set_nested_rebuild(rebuild) -> None:
    _nested_rebuild[0] = rebuild
