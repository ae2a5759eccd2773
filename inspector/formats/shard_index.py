"""Hugging Face shard indexes (`*.index.json` over `.bin` or `.safetensors` shards).

One tree over all shards: every key of the weight map, with the tensor from its shard.
A shard that is missing, is a Git LFS pointer, or is unreadable is reported in
`__shards__` with one sentence, and its keys say where they would be; the rest is shown.
"""

from __future__ import annotations

import os

from .container import MultiFileContainer
from .detect import is_json
from .errors import CheckpointError, LimitExceeded
from .limits import Limits
from .opening import open_checkpoint
from .safe_io import check_regular, inside, load_json, read_regular
from .stubs import TensorInfo

MAX_INDEX = 64 << 20
_INDEX_AS_SHARD = "it is JSON (an index names an index), not a shard; not opened"


def looks_like_index(obj) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("weight_map"), dict)


class ShardIndexContainer(MultiFileContainer):
    def __init__(self, path: str, limits: Limits):
        self.path = path
        self.limits = limits
        self.storages: dict = {}
        self.subs: dict[str, object] = {}
        self.shard_errors: dict[str, str] = {}

    def load(self) -> dict:
        if check_regular(self.path, "the index") > MAX_INDEX:
            raise LimitExceeded("the index file is too large")
        index = load_json(read_regular(self.path, MAX_INDEX, "the index"), "the index")
        if not looks_like_index(index):
            raise CheckpointError("it is a JSON file without a weight_map: not a shard index")
        folder = os.path.dirname(os.path.abspath(self.path))
        wmap = index["weight_map"]
        shards = list(dict.fromkeys(str(v) for v in wmap.values()))
        for shard in shards:
            shard_path = os.path.normpath(os.path.join(folder, shard))
            if os.path.dirname(shard_path) != folder and not shard_path.startswith(folder + os.sep):
                self.shard_errors[shard] = "the index points outside its folder; not opened"
                continue
            if not os.path.lexists(shard_path):
                self.shard_errors[shard] = "missing: the shard is not in the folder"
                continue
            if not inside(shard_path, folder):
                self.shard_errors[shard] = "a symbolic link leading outside the folder; not opened"
                continue
            if is_json(shard_path):
                self.shard_errors[shard] = _INDEX_AS_SHARD
                continue
            try:
                self.subs[shard] = open_checkpoint(shard_path, self.limits)
            except CheckpointError as exc:
                self.shard_errors[shard] = str(exc)
        if shards and all(self.shard_errors.get(s) == _INDEX_AS_SHARD for s in shards):
            raise CheckpointError(
                f"it names only JSON files ({shards[0]!r:.60}: an index naming "
                "itself or another index), no shard: not a checkpoint"
            )
        out: dict = {}
        if "metadata" in index:
            out["metadata"] = index["metadata"]
        out["__shards__"] = {
            s: (self.shard_errors.get(s) or f"ok: {len(self.subs[s].tensors):,} tensors") for s in shards
        }
        for key, shard in wmap.items():
            sub = self.subs.get(str(shard))
            node = sub.find(key) if sub is not None else None
            if node is None:
                why = self.shard_errors.get(str(shard), "the key is not in the shard")
                out[key] = f"<not available: in {shard}: {why}>"
                continue
            if node.kind == "ref" and node.ref is not None:
                node = node.ref
            t = node.value
            if node.kind != "tensor":  # the key names something else in the shard
                out[key] = t if node.kind == "value" else f"<{node.type_name} in {shard}, not a tensor>"
                continue
            if isinstance(t, TensorInfo) and t.storage is not None:
                t.storage.source = sub.container
                t.storage.path = sub.path
                self.storages[f"{shard}:{t.storage.key}"] = t.storage
            out[key] = t
        return out

    def locate(self, ref) -> None:  # shard storages carry their own container
        raise CheckpointError("shard storage without its container")

    def close(self) -> None:
        for sub in self.subs.values():
            sub.close()
