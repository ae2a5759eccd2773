"""Structure-aware fuzzing of the JSON inside checkpoints (issue 13).

Valid fixtures are built with torch (an old-layout and a current torch.export archive, the
oldest TorchScript `model.json`, a stable-baselines3 zip, a shard index, a Trainer folder,
a safetensors header); each round takes one JSON document of one fixture, mutates its
tree (a value becomes null or another type, a huge or negative number, deep nesting, a
list or object of the wrong length), writes the file back and opens it the way `ckpt info`
and the window do. The contract: a one-line CheckpointError or a checkpoint (with
warnings) - never any other exception, never "internal error".

    python tests/fuzz/json_fuzz.py --seconds 60     # the longer run (prints its figures)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass

HUGE = [10**30, -(10**30), 2**63, -1, 1e308, -1e308, 0, 10**4000]
TYPES = [None, {}, [], "x", "", 1, -7, 2.5, True, False, {"a": None}, [None, None]]
DEEP = "__deep_nesting__"


@dataclass
class Target:
    """One JSON document of one fixture and how to write it back."""

    name: str
    path: str  # the file (or folder) to open
    doc: object  # the parsed JSON
    write: object  # callable(text: str) -> None


def _zip_member_target(name, path, member):
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read(member))
        members = {n: z.read(n) for n in z.namelist()}

    def write(text: str):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for n, data in members.items():
                z.writestr(n, text.encode() if n == member else data)

    return Target(name, path, doc, write)


def _file_target(name, open_path, file):
    with open(file, "rb") as fh:
        doc = json.loads(fh.read())

    def write(text: str):
        with open(file, "w") as fh:
            fh.write(text)

    return Target(name, open_path, doc, write)


def _safetensors_target(name, path):
    import struct

    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    doc, body = json.loads(raw[8 : 8 + n]), raw[8 + n :]

    def write(text: str):
        head = text.encode()
        with open(path, "wb") as fh:
            fh.write(struct.pack("<Q", len(head)) + head + body)

    return Target(name, path, doc, write)


def build_fixtures(folder: str) -> list[Target]:
    """Valid files, each with the JSON documents to mutate."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    out: list[Target] = []
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()

    def tbytes(obj):
        b = io.BytesIO()
        torch.save(obj, b)
        return b.getvalue()

    # torch.export, current layout
    p = os.path.join(folder, "current.pt2")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.export.save(torch.export.export(model, (torch.randn(1, 3),)), p)
    with zipfile.ZipFile(p) as z:
        jsons = [n for n in z.namelist() if n.endswith(".json")]
    for member in jsons:
        out.append(_zip_member_target(f"pt2 {member.split('/', 1)[-1]}", p, member))

    # torch.export, old layout: program JSON + nested torch.save zips
    p = os.path.join(folder, "old.pt2")
    program = {
        "graph_module": {
            "graph": {
                "nodes": [{"target": "torch.ops.aten.linear.default", "inputs": []}],
                "inputs": [{"as_tensor": {"name": "x"}}],
            },
            "signature": {
                "input_specs": [
                    {"parameter": {"arg": {"name": "p_0_weight"}, "parameter_name": "0.weight"}},
                    {"user_input": {"arg": {"as_tensor": {"name": "x"}}}},
                ],
                "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": "linear"}}}}],
            },
        },
        "opset_version": {"aten": 10},
        "schema_version": {"major": 5, "minor": 1},
        "torch_version": "2.1.0",
    }
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
        z.writestr("serialized_exported_program.json", json.dumps(program))
        z.writestr("serialized_state_dict.pt", tbytes(model.state_dict()))
        z.writestr("serialized_constants.pt", tbytes({}))
        z.writestr("serialized_example_inputs.pt", tbytes(((torch.randn(1, 3),), {})))
        z.writestr("version", "1")
    out.append(_zip_member_target("old pt2 program", p, "serialized_exported_program.json"))

    # the oldest TorchScript layout
    p = os.path.join(folder, "old_ts.pt")
    mj = {
        "protoVersion": "2",
        "producerName": "pytorch",
        "producerVersion": "1.0",
        "mainModule": {
            "name": "main",
            "parameters": [{"name": "weight", "tensorId": "0"}],
            "attributes": [{"name": "training", "type": "bool"}],
            "submodules": [{"name": "sub", "parameters": [{"name": "bias", "tensorId": "1"}]}],
        },
        "tensors": [
            {
                "dims": ["2", "3"],
                "offset": "0",
                "strides": ["3", "1"],
                "dataType": "FLOAT",
                "data": {"key": "tensors/0"},
                "device": "cpu",
            },
            {
                "dims": ["2"],
                "offset": "0",
                "strides": ["1"],
                "dataType": "FLOAT",
                "data": {"key": "tensors/1"},
            },
        ],
    }
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("old_ts/model.json", json.dumps(mj))
        z.writestr("old_ts/tensors/0", bytes(24))
        z.writestr("old_ts/tensors/1", bytes(8))
    out.append(_zip_member_target("old TorchScript model.json", p, "old_ts/model.json"))

    # stable-baselines3
    p = os.path.join(folder, "ppo.zip")
    data = {
        "policy_class": {
            ":type:": "<class 'abc.ABCMeta'>",
            ":serialized:": "gAWVAAAAAAAAAAAu",
            "__module__": "stable_baselines3.common.policies",
        },
        "num_timesteps": 2048,
        "gamma": 0.99,
        "n_steps": [2048, 1],
        "_last_obs": None,
    }
    opt = torch.optim.Adam(model.parameters())
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("data", json.dumps(data))
        z.writestr("policy.pth", tbytes(model.state_dict()))
        z.writestr("policy.optimizer.pth", tbytes(opt.state_dict()))
        z.writestr("_stable_baselines3_version", "2.3.2")
    out.append(_zip_member_target("stable-baselines3 data", p, "data"))

    # a shard index over safetensors shards, and a safetensors header
    from safetensors.torch import save_file

    d = os.path.join(folder, "sharded")
    os.makedirs(d)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    keys = list(sd)
    save_file({k: sd[k] for k in keys[:2]}, os.path.join(d, "model-00001-of-00002.safetensors"))
    save_file(
        {k: sd[k] for k in keys[2:]},
        os.path.join(d, "model-00002-of-00002.safetensors"),
        metadata={"format": "pt"},
    )
    index = os.path.join(d, "model.safetensors.index.json")
    with open(index, "w") as fh:
        json.dump(
            {
                "metadata": {"total_size": 100},
                "weight_map": {
                    k: f"model-0000{1 if i < 2 else 2}-of-00002.safetensors" for i, k in enumerate(keys)
                },
            },
            fh,
        )
    out.append(_file_target("shard index", index, index))
    out.append(_safetensors_target("safetensors header", os.path.join(d, "model-00002-of-00002.safetensors")))

    # a Trainer checkpoint folder
    d = os.path.join(folder, "checkpoint-500")
    os.makedirs(d)
    torch.save(opt.state_dict(), os.path.join(d, "optimizer.pt"))
    torch.save({"base_lrs": [0.001], "last_epoch": 500}, os.path.join(d, "scheduler.pt"))
    save_file(sd, os.path.join(d, "model.safetensors"))
    state = os.path.join(d, "trainer_state.json")
    with open(state, "w") as fh:
        json.dump(
            {
                "epoch": 1.5,
                "global_step": 500,
                "best_metric": None,
                "log_history": [{"loss": 0.5, "step": 250}, {"loss": 0.4, "step": 500}],
            },
            fh,
        )
    out.append(_file_target("trainer_state.json", d, state))
    return out


def _positions(doc):
    """(container, key) of every value in the tree, the root as (None, None)."""
    out = [(None, None)]
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            out.append((node, k))
            if isinstance(v, (dict, list)):
                stack.append(v)
    return out


def mutate(doc, rng: random.Random, rounds: int = 1):
    """A mutated deep copy of `doc` (the text may hold a deep-nesting placeholder)."""
    doc = json.loads(json.dumps(doc))
    for _ in range(rounds):
        positions = _positions(doc)
        parent, key = rng.choice(positions)
        current = doc if parent is None else parent[key]
        op = rng.choice(["type", "type", "huge", "deep", "length", "swap", "drop"])
        if op == "type":
            new = json.loads(json.dumps(rng.choice(TYPES)))
        elif op == "huge":
            new = rng.choice(HUGE)
        elif op == "deep":
            new = DEEP
        elif op == "length" and isinstance(current, list):
            new = (
                current[: rng.randrange(len(current) + 1)]
                if current and rng.random() < 0.5
                else current + current + [None]
            )
        elif op == "swap":
            new = (
                dict(enumerate(current))
                if isinstance(current, list)
                else list(current.values())
                if isinstance(current, dict)
                else [current]
            )
            new = json.loads(json.dumps(new))
        elif op == "drop" and isinstance(parent, dict):
            del parent[key]
            continue
        else:
            new = None
        if parent is None:
            doc = new
        else:
            parent[key] = new
    return doc


def to_text(doc, rng: random.Random) -> str:
    text = json.dumps(doc)
    depth = rng.choice([50, 600, 5000, 100_000])
    return text.replace(json.dumps(DEEP), "[" * depth + "]" * depth)


def exercise(path: str) -> str:
    """Open like `ckpt info` and the window; 'ok', 'refused: …', or raise on a bug."""
    from inspector.analysis.summary import summarize
    from inspector.analysis.training import training_summary
    from inspector.cli import main
    from inspector.formats import CheckpointError, open_checkpoint
    from inspector.present import node_json, node_row

    try:
        ck = open_checkpoint(path)
    except CheckpointError as exc:
        message = str(exc)
        assert "\n" not in message, message
        return f"refused: {message}"
    try:
        summarize(ck)
        training_summary(ck)
        node_json(ck.root, depth=4)
        for node in list(ck.root.walk())[:2000]:
            node_row(node)
        for node in ck.tensors[:50]:
            try:
                ck.array(node)
            except CheckpointError as exc:
                assert "\n" not in str(exc)
    finally:
        ck.close()
    err, outbuf = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(outbuf):
        code = main(["info", path])
    assert code in (0, 2) and "internal error" not in err.getvalue(), err.getvalue()
    return "ok"


def fuzz(folder: str, seconds: float | None = None, iterations: int | None = None, seed: int = 0) -> dict:
    """Mutate and open until the time or iteration budget is spent; returns counts.
    Raises AssertionError (or the unexpected exception) naming the target and seed."""
    rng = random.Random(seed)
    targets = build_fixtures(folder)
    backup = os.path.join(folder, "_pristine")
    shutil.copytree(folder, backup, ignore=shutil.ignore_patterns("_pristine"))
    counts = {"rounds": 0, "ok": 0, "refused": 0}
    start = time.perf_counter()
    while True:
        if iterations is not None and counts["rounds"] >= iterations:
            break
        if seconds is not None and time.perf_counter() - start >= seconds:
            break
        t = rng.choice(targets)
        case_seed = rng.randrange(1 << 30)
        case = random.Random(case_seed)
        text = to_text(mutate(t.doc, case, rounds=case.choice([1, 1, 2, 3])), case)
        t.write(text)
        try:
            result = exercise(t.path)
        except BaseException as exc:
            raise AssertionError(f"{t.name} (case seed {case_seed}): {type(exc).__name__}: {exc}") from exc
        finally:
            _restore(backup, folder)  # every file back to its valid self
        counts["rounds"] += 1
        counts["ok" if result == "ok" else "refused"] += 1
    counts["seconds"] = round(time.perf_counter() - start, 1)
    return counts


def _restore(backup: str, folder: str) -> None:
    for root, _dirs, files in os.walk(backup):
        rel = os.path.relpath(root, backup)
        for f in files:
            shutil.copyfile(os.path.join(root, f), os.path.join(folder, rel, f))


if __name__ == "__main__":
    import argparse
    import tempfile

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = fuzz(tmp, seconds=a.seconds, seed=a.seed)
    print(
        f"{r['rounds']} mutated files in {r['seconds']} s: {r['ok']} opened (with warnings "
        f"where entries were odd), {r['refused']} refused with one line, 0 internal errors"
    )
