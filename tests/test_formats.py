"""Every checkpoint format, detected by content, read statically, tensors exact."""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from inspector.analysis.verdict import scan_file
from inspector.formats import CheckpointError, open_checkpoint

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=UserWarning)


def same(ck, path: str, ref: torch.Tensor) -> None:
    node = ck.tensor_node(path)
    ours = np.array(ck.array(node), copy=True, order="C")
    assert tuple(node.value.shape) == tuple(ref.shape), path
    assert (
        ours.reshape(-1).view(np.uint8).tobytes()
        == ref.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    ), path


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.register_buffer("scale", torch.full((2,), 0.5))

    def forward(self, x):
        return self.fc(x) * self.scale


# ---- safetensors ----------------------------------------------------------------------------


def test_safetensors_with_metadata(tmp_path):
    from safetensors.torch import save_file

    sd = {"a": torch.randn(4, 5), "b": torch.arange(7, dtype=torch.int64), "c": torch.randn(3).bfloat16()}
    p = tmp_path / "m.safetensors"
    save_file(sd, str(p), metadata={"format": "pt", "note": "hello"})
    ck = open_checkpoint(p)
    assert ck.format == "safetensors"
    for k, v in sd.items():
        same(ck, k, v)
    assert ck.find("__metadata__/note").value == "hello"


def test_safetensors_damage_is_named(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "m.safetensors"
    save_file({"a": torch.randn(100), "b": torch.randn(100)}, str(p))
    raw = p.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[: len(raw) - 50])
    with pytest.raises(CheckpointError):
        open_checkpoint(tmp_path / "cut.safetensors")
    (tmp_path / "hdr.safetensors").write_bytes(raw[:8] + b"{not json" + raw[17:])
    with pytest.raises(CheckpointError, match="safetensors"):
        open_checkpoint(tmp_path / "hdr.safetensors")


# ---- Hugging Face shard index ---------------------------------------------------------------


def make_index(folder, kind: str):
    from safetensors.torch import save_file

    a = {"layer.0.w": torch.randn(3, 3), "layer.0.b": torch.randn(3)}
    b = {"layer.1.w": torch.randn(3, 3), "head.w": torch.randn(2, 3)}
    names = [f"model-0000{i}-of-00002.{kind}" for i in (1, 2)]
    for name, sd in zip(names, (a, b)):
        if kind == "safetensors":
            save_file(sd, str(folder / name))
        else:
            torch.save(sd, folder / name)
    wmap = {**{k: names[0] for k in a}, **{k: names[1] for k in b}}
    idx = folder / f"model.{kind}.index.json"
    idx.write_text(json.dumps({"metadata": {"total_size": 123}, "weight_map": wmap}))
    return idx, {**a, **b}, names


@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_shard_index_one_tree_over_all_shards(tmp_path, kind):
    idx, ref, names = make_index(tmp_path, kind)
    ck = open_checkpoint(idx)
    assert ck.format == "hf-index"
    for k, v in ref.items():
        same(ck, k, v)
    assert ck.find("metadata/total_size").value == 123
    # the folder opens too (drag a folder onto the window)
    assert open_checkpoint(tmp_path).format == "hf-index"


def test_missing_and_lfs_pointer_shards_are_reported_rest_shown(tmp_path):
    idx, ref, names = make_index(tmp_path, "safetensors")
    os.remove(tmp_path / names[1])
    ck = open_checkpoint(idx)
    same(ck, "layer.0.w", ref["layer.0.w"])
    assert "missing" in ck.find("__shards__/" + names[1]).value
    assert "missing" in ck.find("head.w").value
    (tmp_path / names[1]).write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 999\n"
    )
    ck = open_checkpoint(idx)
    assert "Git LFS pointer" in ck.find("__shards__/" + names[1]).value
    assert any("LFS" in w for w in ck.warnings)


# ---- distributed checkpoint -----------------------------------------------------------------


def test_dcp_folder_global_shapes_chunks_and_values(tmp_path):
    import torch.distributed.checkpoint as dcp

    sd = {"model": {"w": torch.randn(6, 4), "b": torch.arange(5.0)}, "step": 9, "tag": "run-1"}
    dcp.save(sd, checkpoint_id=str(tmp_path / "ckpt"))
    ck = open_checkpoint(tmp_path / "ckpt")
    assert ck.format == "dcp"
    w = ck.tensor_node("model.w").value
    assert w.shape == (6, 4) and w.dtype.name == "float32"
    assert w.parts["chunks"][0]["file"].endswith(".distcp")
    same(ck, "model.w", sd["model"]["w"])
    same(ck, "model.b", sd["model"]["b"])
    assert ck.find("step").value == 9 and ck.find("tag").value == "run-1"
    from inspector.analysis.stats import tensor_stats

    st = tensor_stats(ck.source(w), w.dtype)
    assert st.numel == 24 and st.max == pytest.approx(sd["model"]["w"].max().item())
    assert scan_file(tmp_path / "ckpt").verdict == "safe"


def test_dcp_metadata_is_never_given_to_pickle(tmp_path):
    """A hostile .metadata names os.system: shown as dangerous, nothing runs."""
    import torch.distributed.checkpoint as dcp

    dcp.save({"w": torch.zeros(2)}, checkpoint_id=str(tmp_path / "c"))
    marker = tmp_path / "MARKER"
    (tmp_path / "c" / ".metadata").write_bytes(
        b"\x80\x02cos\nsystem\nX"
        + len(f"touch {marker}").to_bytes(4, "little")
        + f"touch {marker}".encode()
        + b"\x85R."
    )
    with pytest.raises(CheckpointError):
        open_checkpoint(tmp_path / "c")
    assert scan_file(tmp_path / "c").verdict == "dangerous"
    assert not marker.exists()


# ---- TorchScript ------------------------------------------------------------------------------


def test_torchscript_archive_modules_weights_and_code(tmp_path):
    m = Small().eval()
    p = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(m), str(p))
    ck = open_checkpoint(p)
    assert ck.format == "torchscript"
    same(ck, "model/fc/weight", m.fc.weight)
    same(ck, "model/scale", m.scale)
    code = ck.find("code")
    assert code is not None and any("def forward" in c.value.text for c in code.children)
    assert scan_file(p).verdict == "needs-code"


def test_mobile_ptl_has_bytecode(tmp_path):
    m = torch.jit.script(Small().eval())
    p = tmp_path / "m.ptl"
    m._save_for_lite_interpreter(str(p))
    ck = open_checkpoint(p)
    assert ck.find("bytecode") is not None
    same(ck, "model/fc/bias", m.fc.bias)


def test_oldest_torchscript_layout_model_json(tmp_path):
    w = np.arange(6, dtype=np.float32)
    p = tmp_path / "old_ts.pt"
    model = {
        "protoVersion": "2",
        "producerName": "pytorch",
        "producerVersion": "1.0",
        "mainModule": {
            "name": "main",
            "parameters": [{"name": "weight", "tensorId": "0"}],
            "submodules": [{"name": "sub", "parameters": [{"name": "bias", "tensorId": "1"}]}],
        },
        "tensors": [
            {
                "dims": ["2", "3"],
                "offset": "0",
                "strides": ["3", "1"],
                "dataType": "FLOAT",
                "data": {"key": "tensors/0"},
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
        z.writestr("old_ts/model.json", json.dumps(model))
        z.writestr("old_ts/tensors/0", w.tobytes())
        z.writestr("old_ts/tensors/1", np.array([7, 8], dtype=np.float32).tobytes())
        z.writestr("old_ts/code/main.py", "def forward(self, x):\n    return x\n")
    ck = open_checkpoint(p)
    assert ck.format == "torchscript"
    same(ck, "model/weight", torch.from_numpy(w).reshape(2, 3))
    same(ck, "model/sub/bias", torch.tensor([7.0, 8.0]))


# ---- torch.export .pt2 ----------------------------------------------------------------------


def test_pt2_current_layout_weights_and_signature(tmp_path):
    m = Small().eval()
    ep = torch.export.export(m, (torch.randn(1, 3),))
    p = tmp_path / "m.pt2"
    torch.export.save(ep, str(p))
    ck = open_checkpoint(p)
    assert ck.format == "pt2"
    same(ck, "weights/fc.weight", m.fc.weight)
    same(ck, "weights/scale", m.scale)
    inputs = [c.value for c in ck.find("program model/inputs").children]
    assert "parameter fc.weight" in inputs and any(i.startswith("user_input") for i in inputs)


def test_pt2_old_layout_state_dict_read_in_place(tmp_path):
    sd = {"fc.weight": torch.randn(2, 3), "fc.bias": torch.randn(2)}
    inner = io.BytesIO()
    torch.save(sd, inner)
    p = tmp_path / "old.pt2"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
        z.writestr(
            "serialized_exported_program.json",
            json.dumps(
                {
                    "graph_module": {
                        "graph": {"nodes": [{}, {}]},
                        "signature": {"input_specs": [], "output_specs": []},
                    }
                }
            ),
        )
        z.writestr("serialized_state_dict.pt", inner.getvalue())
        z.writestr("version", "1")
    ck = open_checkpoint(p)
    assert ck.format == "pt2"
    same(ck, "state_dict/fc.weight", sd["fc.weight"])
    assert ck.find("program/graph nodes").value == 2


# ---- legacy tar, extension, non-checkpoints --------------------------------------------------


def test_legacy_tar_format(tmp_path):
    from legacy_tar import write

    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([5, 6, 7], dtype=np.int64)
    p = tmp_path / "ancient.pt"
    write(str(p), w, b)
    ck = open_checkpoint(p)
    assert ck.format == "legacy-tar"
    same(ck, "weight", torch.from_numpy(w))
    same(ck, "counts", torch.from_numpy(b))
    assert ck.find("epoch").value == 3
    assert scan_file(p).verdict == "safe"


def test_extension_disagreeing_with_content_is_said(tmp_path):
    p = tmp_path / "weights.safetensors"
    torch.save({"a": torch.zeros(1)}, p)
    ck = open_checkpoint(p)
    assert ck.format == "zip"
    assert "ends in .safetensors but the content is a torch.save zip archive" in ck.extension_note


def test_more_non_checkpoints_get_one_sentence(tmp_path):
    cases = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    cases["plain.zip"] = (buf.getvalue(), "no data.pkl")
    cases["a.npy"] = (
        b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"
        + b" " * 46
        + b"\n"
        + b"\x00" * 4,
        "NumPy",
    )
    cases["a.7z"] = (b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40, "7-Zip")
    for name, (data, needle) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=needle):
            open_checkpoint(tmp_path / name)
    folder = tmp_path / "empty_dir"
    folder.mkdir()
    with pytest.raises(CheckpointError, match="folder"):
        open_checkpoint(folder)
