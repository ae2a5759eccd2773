"""The format registry (inspector/formats/registry.py, kinds.py): every registered format
is recognised from its content (files, under a name that says nothing) or from the names
it holds (folders), and a new format is one entry."""

import gzip
import json
import os
import pickle

import numpy as np
import pytest
import torch
from legacy_tar import write as write_legacy_tar
from safetensors.torch import save_file

from inspector.formats import folder_is_checkpoint, open_checkpoint, registry
from inspector.formats.checkpoint import assemble
from inspector.formats.container import Container
from inspector.formats.errors import CheckpointError


class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x)


def _files(d):
    """One file per registered file format, each named `blob` + a number (no extension)."""
    sd = {"w": torch.arange(6.0).reshape(2, 3)}
    out = {}

    def at(fmt):
        p = d / f"blob{len(out)}"
        out[fmt] = p
        return p

    torch.save(sd, at("zip"))
    torch.save(sd, at("legacy"), _use_new_zipfile_serialization=False)
    at("pickle").write_bytes(pickle.dumps({"lr": 0.1, "steps": [1, 2]}, protocol=4))
    save_file(sd, str(at("safetensors")))
    torch.jit.save(torch.jit.script(Small()), str(at("torchscript")))
    write_legacy_tar(str(at("legacy-tar")), np.arange(4, dtype=np.float32), np.arange(2))
    save_file(sd, str(d / "shard.safetensors"))
    at("hf-index").write_text(json.dumps({"metadata": {}, "weight_map": {"w": "shard.safetensors"}}))
    at("gzip").write_bytes(gzip.compress(b"not a checkpoint"))
    at("7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + bytes(64))
    np.save(d / "arr.npy", np.arange(3))
    os.replace(d / "arr.npy", at("npy"))
    return out


def test_each_file_format_is_recognised_from_content(tmp_path):
    names = {f.name for f in registry.FORMATS}
    for fmt, path in _files(tmp_path).items():
        assert fmt in names
        entry = registry.get(fmt)
        if entry.foreign:
            with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
                open_checkpoint(path)
            assert registry.for_sniff(registry.sniff(str(path))) is entry
            continue
        ck = open_checkpoint(path)
        assert ck.format == fmt, (path, ck.format)
        opener = registry.get(entry.variant_of) if entry.variant_of else entry
        assert registry.for_sniff(registry.sniff(str(path))) is opener
        ck.close()


def _folders(d):
    sd = {"w": torch.arange(6.0)}
    out = {}
    tr = d / "checkpoint-500"
    tr.mkdir()
    save_file(sd, str(tr / "model.safetensors"))
    torch.save({"state": {}, "param_groups": []}, tr / "optimizer.pt")
    torch.save({"last_epoch": 1}, tr / "scheduler.pt")
    (tr / "trainer_state.json").write_text(json.dumps({"global_step": 500}))
    out["hf-trainer"] = tr
    idx = d / "sharded"
    idx.mkdir()
    save_file(sd, str(idx / "model-00001-of-00001.safetensors"))
    (idx / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"w": "model-00001-of-00001.safetensors"}})
    )
    out["index-folder"] = idx
    mf = d / "hub"
    mf.mkdir()
    save_file(sd, str(mf / "model.safetensors"))
    out["model-folder"] = mf
    pt = d / "only_pt"
    pt.mkdir()
    torch.save(sd, pt / "model.pt")
    out["model-pt-folder"] = pt
    import torch.distributed.checkpoint as dcp

    dcp.save({"w": torch.arange(4.0)}, checkpoint_id=str(d / "dcp"))
    out["dcp"] = d / "dcp"
    return out


def test_each_folder_format_is_recognised_from_its_names_and_opens(tmp_path):
    expect_format = {
        "hf-trainer": "hf-trainer",
        "index-folder": "hf-index",
        "model-folder": "safetensors",
        "model-pt-folder": "zip",
        "dcp": "dcp",
    }
    for fmt, folder in _folders(tmp_path).items():
        entry = registry.for_folder(str(folder))
        assert entry is registry.get(fmt), (folder, entry)
        assert folder_is_checkpoint(str(folder)) == entry.whole
        ck = open_checkpoint(folder)
        assert ck.format == expect_format[fmt]
        _, members = registry.folder_members(str(folder))
        assert members and all((folder / m).is_file() for m in members)
        ck.close()
    epochs = tmp_path / "run"
    epochs.mkdir()
    torch.save({"w": torch.zeros(1)}, epochs / "epoch_1.pt")
    assert registry.for_folder(str(epochs)) is None and not folder_is_checkpoint(str(epochs))


def test_a_new_format_is_one_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "FORMATS", list(registry.FORMATS))

    def open_toy(path, limits):
        with open(path, "rb") as fh:
            values = [int(x) for x in fh.read()[4:].split(b",")]
        return assemble(str(path), "toy", {"values": values}, Container(), {})

    registry.register(
        registry.Format("toy", "a toy counter file", magic=lambda h: h[:4] == b"TOY1", opener=open_toy)
    )
    p = tmp_path / "counts.bin"
    p.write_bytes(b"TOY13,1,4")
    ck = open_checkpoint(p)
    assert ck.format == "toy" and ck.obj == {"values": [3, 1, 4]}
    with pytest.raises(ValueError):
        registry.register(registry.Format("toy", "twice"))
