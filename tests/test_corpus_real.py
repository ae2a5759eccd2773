"""Every real checkpoint in ../shared/corpus/real opens with its full content, and the
files that are not checkpoints are refused with one sentence naming what they are.
Nothing named in any file is imported; no process, socket or file write happens."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest
import torch
from helpers import REAL, audit, corpus_or_skip

from inspector.analysis.summary import summarize
from inspector.analysis.verdict import scan_file
from inspector.formats import CheckpointError, open_checkpoint

NOT_CHECKPOINTS = {  # file -> words the refusal must contain
    "bacoco__Phi-2__pytorch_model-00001-of-00002.bin": "Git LFS pointer",
    "mmaitre314__picklescan__bad_pytorch.pt": "PNG image",
    "tracel-ai__burn__broken.pt": "3 bytes",
}


def manifest() -> list[dict]:
    corpus_or_skip(REAL)
    with open(REAL / "MANIFEST.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def rows():
    if not REAL.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{REAL} is absent"))]
    return [pytest.param(r, id=r["file"][:50]) for r in manifest()]


@pytest.mark.parametrize("row", rows())
def test_real_file(row):
    path = REAL / row["file"]
    fmt = row["format"]
    if row["file"] in NOT_CHECKPOINTS:
        with pytest.raises(CheckpointError) as err:
            open_checkpoint(path)
        assert NOT_CHECKPOINTS[row["file"]] in str(err.value)
        assert "\n" not in str(err.value)
        return
    named = {g.module.split(".")[0] for g in scan_file(path).globals}
    with audit().watch() as a:
        ck = open_checkpoint(path)
        info = summarize(ck)
        arrays = [ck.array(n) for n in ck.tensors if n.value.storage is None or not n.value.storage.error]
        total = sum(
            int(np.asarray(x, dtype=np.uint8 if x.dtype.kind == "b" else x.dtype).size) for x in arrays
        )
    assert a.violations() == []
    assert not (named & a.new_modules), named & a.new_modules
    assert info["tensor_count"] >= 0 and total >= 0
    if fmt.startswith("torch-zip") or fmt.startswith("torch-legacy"):
        assert ck.format in ("zip", "legacy")
        for loc in row["notes"].split("storage locations=")[1:2]:
            expected = set(eval_list(loc))
            assert set(info["devices"]) == expected, (info["devices"], expected)
    if row["weights_only_load"] == "ok" and ck.format in ("zip", "legacy"):
        compare_with_torch(path, ck)


def eval_list(text: str) -> list[str]:
    inner = text[text.index("[") + 1 : text.index("]")]
    return [s.strip().strip("'") for s in inner.split(",") if s.strip()]


def compare_with_torch(path, ck):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.load(path, weights_only=True, map_location="cpu")
    expected = {}

    def walk(obj, prefix):
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{prefix}{k}/")
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                walk(v, f"{prefix}{i}/")
        elif isinstance(obj, torch.Tensor):
            expected[prefix.rstrip("/")] = obj

    walk(ref, "")
    assert len(expected) == len(ck.tensors)
    for key, t in expected.items():
        node = ck.tensor_node(key)
        ours = np.array(ck.array(node), copy=True, order="C")
        if t.is_quantized:
            t = t.int_repr()
        theirs = t.contiguous().reshape(-1).view(torch.uint8).numpy()
        assert ours.reshape(-1).view(np.uint8).tobytes() == theirs.tobytes(), key
