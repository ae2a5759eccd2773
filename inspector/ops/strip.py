"""Strip a training checkpoint down to its model weights (optionally cast), and extract
any sub-tree to a file of its own."""

from __future__ import annotations

import collections
import os

from ..analysis.dtype_names import cast_dtype
from ..analysis.layouts import recognise
from ..formats import open_checkpoint
from .errors import OpError
from .objects import plain_objects, state_dict_of
from .results import ExtractResult, StripPlan, StripResult
from .torch_bridge import to_torch
from .verify import verify_tensors
from .writer import Progress, atomic_output


def plan_strip(path: str, state_key: str | None = None) -> StripPlan:
    ck = open_checkpoint(path)
    try:
        key = state_key
        if key is None:
            layout = recognise(ck)
            if layout.weights is None:
                raise OpError(
                    f"no model weights recognised in this {layout.name} layout; "
                    "name them with --state-key PATH"
                )
            key = layout.weights
        node = ck.find(key)
        if node is None:
            raise OpError(f"no entry named {key!r}")
        pairs = state_dict_of(ck, node)
        kept = sum(n.value.nbytes for _, n in pairs)
        return StripPlan(
            path, key, len(pairs), ck.file_size, kept, [c.name for c in ck.root.children if c.path != key]
        )
    finally:
        ck.close()


def apply_strip(
    plan: StripPlan,
    output: str,
    dtype: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> StripResult:
    import torch

    try:
        cast = cast_dtype(dtype)
    except ValueError as exc:
        raise OpError(str(exc)) from None
    progress = progress or Progress()
    ck = open_checkpoint(plan.path)
    try:
        pairs = state_dict_of(ck, ck.find(plan.state_key))
        tensors = to_torch(ck, [n.value for _, n in pairs], cast)
        sd = collections.OrderedDict((k, tensors[id(n.value)]) for k, n in pairs)
        progress.check()
        with atomic_output(output, [plan.path], force) as tmp:
            torch.save(sd, tmp)
            progress.check()
            verify_tensors(ck, {k: n for k, n in pairs}, tmp, cast=cast)
        return StripResult(
            os.path.abspath(output),
            len(sd),
            plan.bytes_before,
            os.path.getsize(output),
            cast or "unchanged",
            plan.dropped,
        )
    finally:
        ck.close()


def apply_extract(path: str, tree_path: str, output: str, force: bool = False) -> ExtractResult:
    import torch

    ck = open_checkpoint(path)
    try:
        node = ck.find(tree_path)
        if node is None:
            raise OpError(f"no entry named {tree_path!r}")
        obj = plain_objects(ck, node)
        with atomic_output(output, [path], force) as tmp:
            torch.save(obj, tmp)
            verify_tensors(
                ck,
                {
                    n.path[len(node.path) :].lstrip("/"): n
                    for n in ck.tensors
                    if n.path == node.path or n.path.startswith(node.path + "/")
                },
                tmp,
            )
        return ExtractResult(os.path.abspath(output), tree_path, os.path.getsize(output))
    finally:
        ck.close()
