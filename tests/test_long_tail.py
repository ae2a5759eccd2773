"""The long tail of real checkpoints (issue 13): files torch.load or our first readers could
not open, each family built here the way its library writes it."""

from __future__ import annotations

import base64
import copy
import io
import json
import pickle
import struct
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from inspector.analysis.histogram import histogram
from inspector.analysis.stats import tensor_stats
from inspector.analysis.summary import summarize
from inspector.cli import main
from inspector.formats import CheckpointError, open_checkpoint
from inspector.formats.errors import TensorDataError


def tbytes(obj, **kw) -> bytes:
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def small_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))


def assert_same_tensors(ck, expected: dict):
    for path, t in expected.items():
        node = ck.tensor_node(path)
        got = np.asarray(ck.array(node))
        np.testing.assert_array_equal(got, t.detach().numpy(), err_msg=path)


# ---- 2. storages pickled as nested torch.save bytes ------------------------------------------


def test_plain_pickle_of_a_module_reads_nested_storage_bytes(tmp_path):
    m = small_model()
    p = tmp_path / "model.pkl"
    p.write_bytes(pickle.dumps(m))
    assert b"_load_from_bytes" in p.read_bytes()
    ck = open_checkpoint(p)
    assert ck.root.kind == "module"
    assert_same_tensors(ck, {f"{k.replace('.', '/')}": v for k, v in m.state_dict().items()})
    assert not ck.warnings  # every storage is in the file, nested in the pickle
    info = summarize(ck)
    assert info["tensor_count"] == 4 and info["storage_count"] == 4
    # statistics and the exact histogram of the nested bytes match numpy on torch's values
    node = ck.tensor_node("0/weight")
    w = m[0].weight.detach().numpy().astype(np.float64)
    st = tensor_stats(ck.source(node.value), node.value.dtype)
    assert st.min == pytest.approx(w.min()) and st.max == pytest.approx(w.max())
    assert st.mean == pytest.approx(w.mean(), rel=1e-6) and st.std == pytest.approx(w.std(), rel=1e-5)
    h = histogram(ck.source(node.value), node.value.dtype, bins=5, range=(st.min, st.max))
    counts, _ = np.histogram(m[0].weight.detach().numpy(), bins=np.asarray(h.edges))
    assert h.counts.tolist() == counts.tolist()


def test_deepcopy_style_reduce_of_a_state_dict(tmp_path):
    m = small_model(1)
    sd = copy.deepcopy(m.state_dict())
    p = tmp_path / "sd.pkl"
    p.write_bytes(pickle.dumps({"state": sd, "epoch": 4}, protocol=2))
    ck = open_checkpoint(p)
    assert_same_tensors(ck, {f"state/{k}": v for k, v in sd.items()})
    assert ck.find("epoch").value == 4
    assert main(["stats", str(p), "state/2.bias"]) == 0


def test_nested_bytes_inside_a_torch_save_zip(tmp_path):
    """The zip reader defers _rebuild_tensor_v2 (a C-built record): a storage from nested
    bytes must still become a tensor there."""
    import collections

    raw = io.BytesIO()
    torch.save(
        torch.arange(6, dtype=torch.float32)._typed_storage(), raw, _use_new_zipfile_serialization=False
    )

    class Bytes:
        def __reduce__(self):
            return (torch.storage._load_from_bytes, (raw.getvalue(),))

    class T:
        def __reduce__(self):
            return (
                torch._utils._rebuild_tensor_v2,
                (Bytes(), 1, (2, 2), (2, 1), False, collections.OrderedDict()),
            )

    p = tmp_path / "zn.pt"
    torch.save({"t": T()}, p)
    ck = open_checkpoint(p)
    np.testing.assert_array_equal(ck.array(ck.tensor_node("t")), [[1, 2], [3, 4]])


def test_corrupt_nested_bytes_open_and_say_why(tmp_path):
    raw = pickle.dumps(small_model())
    cut = raw.index(b"_load_from_bytes")
    # damage the magic number of the first nested stream (it follows the global's name)
    magic = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
    at = raw.index(magic, cut)
    bad = raw[:at] + b"\x00" * 10 + raw[at + 10 :]
    p = tmp_path / "bad.pkl"
    p.write_bytes(bad)
    ck = open_checkpoint(p)
    broken = [n for n in ck.tensors if n.value.storage.error]
    assert len(broken) == 1 and len(ck.tensors) == 4
    with pytest.raises(TensorDataError):
        ck.array(broken[0])


# ---- 3. zips of other libraries --------------------------------------------------------------


def write_sb3(path, compression=zipfile.ZIP_STORED):
    torch.manual_seed(0)
    policy = small_model(2)
    opt = torch.optim.Adam(policy.parameters(), lr=3e-4)
    policy(torch.randn(2, 4)).sum().backward()
    opt.step()
    # what cloudpickle writes for a class: a pickle naming it (built here with pickle)
    serialized = base64.b64encode(pickle.dumps(nn.ReLU)).decode()
    data = {
        "policy_class": {
            ":type:": "<class 'abc.ABCMeta'>",
            ":serialized:": serialized,
            "__module__": "stable_baselines3.common.policies",
        },
        "num_timesteps": 2048,
        "gamma": 0.99,
        "learning_rate": 0.0003,
        "observation_space": {
            ":type:": "<class 'gymnasium.spaces.box.Box'>",
            ":serialized:": "!!! not base64 !!!",
            "shape": [4],
        },
    }
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        z.writestr("data", json.dumps(data, indent=4))
        z.writestr("pytorch_variables.pth", tbytes({}))
        z.writestr("policy.pth", tbytes(policy.state_dict()))
        z.writestr("policy.optimizer.pth", tbytes(opt.state_dict()))
        z.writestr("_stable_baselines3_version", "2.3.2")
        z.writestr("system_info.txt", "- OS: Linux\n- Python: 3.11.4\n- PyTorch: 2.3.0\n")
    return policy, opt


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_stable_baselines3_zip_opens_as_one_checkpoint(tmp_path, compression):
    from inspector.analysis.training import optimizer_maps, training_summary

    p = tmp_path / "ppo_cartpole.zip"
    policy, opt = write_sb3(p, compression)
    ck = open_checkpoint(p)
    assert ck.format == "bundle"
    assert_same_tensors(ck, {f"policy.pth/{k}": v for k, v in policy.state_dict().items()})
    exp_avg = opt.state_dict()["state"][0]["exp_avg"]
    assert_same_tensors(ck, {"policy.optimizer.pth/state/0/exp_avg": exp_avg})
    assert ck.find("data/num_timesteps").value == 2048
    ser = ck.find("data/policy_class/:serialized:")
    assert "torch.nn.modules.activation.ReLU" in repr(ser.value)
    assert "not valid base64" in repr(ck.find("data/observation_space/:serialized:").value)
    assert ck.find("_stable_baselines3_version").value == "2.3.2"
    assert "PyTorch: 2.3.0" in ck.find("system_info.txt").value.text
    t = training_summary(ck)
    assert (t["name"], t["weights"], t["step"]) == ("stable-baselines3", "policy.pth", 2048)
    (m,) = optimizer_maps(ck)
    names = [n for n, _ in policy.named_parameters()]
    assert [s.name for s in m.slots] == names and {s.confidence for s in m.slots} == {"inferred"}


def test_zip_of_torch_files_including_a_legacy_member(tmp_path):
    m = small_model(3)
    p = tmp_path / "bundle.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("weights/model.pth", tbytes(m.state_dict()))
        z.writestr("weights/old.pt", tbytes(m.state_dict(), _use_new_zipfile_serialization=False))
        z.writestr("notes.json", json.dumps({"lr": 0.1, "tags": ["a", None]}))
        z.writestr("blob.bin", b"\x01\x02")
    ck = open_checkpoint(p)
    for member in ("weights/model.pth", "weights/old.pt"):
        assert_same_tensors(ck, {f"{member}/{k}": v for k, v in m.state_dict().items()})
    assert ck.find("notes.json/lr").value == 0.1
    assert ck.find("blob.bin").value == "<2 bytes>"
    assert summarize(ck)["storage_count"] == 8


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zipped_hugging_face_folder_with_safetensors(tmp_path, compression):
    from safetensors.torch import save as save_bytes

    m = small_model(5)
    sd = {k: v.contiguous() for k, v in m.state_dict().items()}
    p = tmp_path / "model.zip"
    with zipfile.ZipFile(p, "w", compression=compression) as z:
        z.writestr("bert-tiny/config.json", json.dumps({"hidden_size": 6, "architectures": ["Net"]}))
        z.writestr("bert-tiny/model.safetensors", save_bytes(sd, metadata={"format": "pt"}))
    ck = open_checkpoint(p)
    assert ck.format == "bundle" and not ck.warnings
    assert_same_tensors(ck, {f"bert-tiny/model.safetensors/{k}": v for k, v in sd.items()})
    assert ck.find("bert-tiny/config.json/hidden_size").value == 6
    assert ck.find("bert-tiny/model.safetensors/__metadata__/format").value == "pt"


def test_tar_of_torch_files_nemo_style(tmp_path):
    """A .nemo-style tar: model_config.yaml beside model_weights.ckpt (read in place)."""
    m = small_model(4)
    p = tmp_path / "model.nemo"
    with tarfile.open(p, "w") as tar:
        for name, data in (
            ("./model_config.yaml", b"target: nemo.collections.asr.models.Model\n"),
            ("./model_weights.ckpt", tbytes(m.state_dict())),
            ("./old_weights.pt", tbytes(m.state_dict(), _use_new_zipfile_serialization=False)),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    ck = open_checkpoint(p)
    assert ck.format == "bundle"
    for member in ("./model_weights.ckpt", "./old_weights.pt"):
        assert_same_tensors(ck, {f"{member}/{k}": v for k, v in m.state_dict().items()})
    assert "nemo.collections" in ck.find("./model_config.yaml").value


def test_zip_without_torch_members_is_still_refused(tmp_path):
    p = tmp_path / "photos.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.txt", "hello")
    with pytest.raises(CheckpointError, match="no data.pkl"):
        open_checkpoint(p)


# ---- 4. legacy tar checkpoints without a `tensors` member ------------------------------------


def write_tensorless_tar(path, w: np.ndarray, tuple_pid: bool = False):
    def header(key, location, cls):
        def u(text):
            raw = text.encode()
            return b"X" + struct.pack("<I", len(raw)) + raw

        return b"\x80\x02" + u(key) + u(location) + b"ctorch\n" + cls.encode() + b"\n\x87."

    st = io.BytesIO()
    pickle.dump(1, st, protocol=2)
    st.write(header("7", "cpu", "FloatStorage"))
    st.write(struct.pack("<q", w.size))
    st.write(w.astype(np.float32).tobytes())
    pickle.dump([], st, protocol=2)

    class Tensor:  # pickles as _rebuild_tensor_v2(<persistent storage id>, ...)
        def __reduce__(self):
            return (
                torch._utils._rebuild_tensor_v2,
                (StorageId(), 0, w.shape, tuple(s // 4 for s in w.strides), False, {}),
            )

    class StorageId:
        pass

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if not isinstance(obj, StorageId):
                return None
            # the key alone, or the tuple torch.save itself writes for a storage
            return ("storage", torch.FloatStorage, "7", "cpu", w.size, None) if tuple_pid else "7"

    pk = io.BytesIO()
    P(pk, protocol=2).dump({"weight": Tensor(), "epoch": 9})
    with tarfile.open(path, "w") as tar:
        for name, data in (
            ("sys_info", pickle.dumps({"protocol_version": 1000, "little_endian": True})),
            ("pickle", pk.getvalue()),
            ("storages", st.getvalue()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("tuple_pid", [False, True])
def test_legacy_tar_without_tensors_member(tmp_path, tuple_pid):
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    p = tmp_path / "old.tar"
    write_tensorless_tar(p, w, tuple_pid)
    ck = open_checkpoint(p)
    assert ck.format == "legacy-tar"
    np.testing.assert_array_equal(ck.array(ck.tensor_node("weight")), w)
    assert ck.find("epoch").value == 9


# ---- 7. names from the file, never ours -------------------------------------------------------


def stub_class(module: str, name: str, base=object):
    cls = type(name, (base,), {})
    cls.__module__ = module
    cls.__qualname__ = name
    return cls


def test_class_keys_render_with_the_files_class_path(tmp_path, monkeypatch):
    import sys
    import types

    path = "pytorch_lightning.callbacks.model_checkpoint"
    cls = stub_class(path, "ModelCheckpoint")
    for i in range(len(path.split("."))):
        name = ".".join(path.split(".")[: i + 1])
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name) or types.ModuleType(name))
    monkeypatch.setattr(sys.modules[path], "ModelCheckpoint", cls, raising=False)
    p = tmp_path / "lightning13.ckpt"
    torch.save(
        {
            "epoch": 1,
            "state_dict": small_model().state_dict(),
            "callbacks": {cls: {"best_model_score": torch.tensor(0.25), "monitor": "val_loss"}},
            "pytorch-lightning_version": "1.3.8",
        },
        p,
    )
    ck = open_checkpoint(p)
    (cb,) = ck.find("callbacks").children
    assert cb.name == f"{path}.ModelCheckpoint"
    from inspector.present import node_json, value_text

    assert "inspector" not in json.dumps(node_json(ck.root), default=str)
    stub_type = next(iter(ck.obj["callbacks"]))
    assert value_text(stub_type) == f"{path}.ModelCheckpoint"
    assert repr(stub_type) == f"<class '{path}.ModelCheckpoint'>"
    from inspector.analysis.training import training_summary

    assert training_summary(ck)["metrics"] == {"best val_loss": 0.25}


# ---- 8. quantized tensors -----------------------------------------------------------------------


def test_quantized_statistics_are_of_real_values(tmp_path, capsys):
    torch.manual_seed(0)
    w = torch.randn(5, 3, 2, 2)
    scales = torch.rand(5, dtype=torch.float64) * 0.05 + 0.01
    per_channel = torch.quantize_per_channel(w, scales, torch.tensor([0, 3, -2, 5, 1]), 0, torch.qint8)
    per_tensor = torch.quantize_per_tensor(torch.randn(40), 0.05, 7, torch.quint8)
    p = tmp_path / "q.pt"
    torch.save({"pc": per_channel, "pt": per_tensor}, p)
    ck = open_checkpoint(p)
    from inspector.analysis.quantized import values

    for key, q in (("pc", per_channel), ("pt", per_tensor)):
        t = ck.tensor_node(key).value
        real = torch.dequantize(q).numpy()
        arr, dtype = values(ck, t)
        np.testing.assert_array_equal(np.asarray(arr), real)  # bit for bit, as torch computes
        st = tensor_stats(arr, dtype)
        assert (st.min, st.max) == (pytest.approx(real.min()), pytest.approx(real.max()))
        assert st.mean == pytest.approx(real.astype(np.float64).mean(), rel=1e-6)
        h = histogram(arr, dtype, bins=7, range=(st.min, st.max))
        assert h.counts.tolist() == np.histogram(real, bins=np.asarray(h.edges))[0].tolist()
        raw, rdtype = values(ck, t, raw=True)
        assert tensor_stats(raw, rdtype).max == q.int_repr().max().item()
    assert main(["stats", str(p), "pt", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["max"] == pytest.approx(torch.dequantize(per_tensor).max().item())
    assert out["quantization"] == {"qscheme": "per_tensor_affine", "scale": "0.05", "zero_point": "7"}
    assert main(["stats", str(p), "pt", "--raw", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max"] == per_tensor.int_repr().max().item()
    assert main(["tree", str(p)]) == 0
    text = capsys.readouterr().out
    assert "qscheme per_channel_affine" in text and "axis 0" in text and "'" not in text
    assert main(["info", str(p)]) == 0
    assert "1 per_channel_affine, 1 per_tensor_affine" in capsys.readouterr().out


# ---- 9. long values ------------------------------------------------------------------------------


def test_long_value_lists_are_elided_in_tree_text(tmp_path, capsys):
    import random

    random.seed(1)
    state = random.getstate()
    p = tmp_path / "rng.pt"
    torch.save({"python": state}, p)
    assert main(["tree", str(p)]) == 0
    short = capsys.readouterr().out
    assert "… 617 more values (--full shows all)" in short
    assert f"624  int  {state[1][624]}" in short and f"0  int  {state[1][0]}" in short
    assert main(["tree", str(p), "--full"]) == 0
    full = capsys.readouterr().out
    assert "more values" not in full and f"300  int  {state[1][300]}" in full


# ---- 10. counts that mean what they say ----------------------------------------------------------


def test_tied_and_sliced_tensors_are_counted_as_entries_and_distinct(tmp_path, capsys):
    emb = torch.randn(10, 4)
    p = tmp_path / "tied.pt"
    torch.save({"embed.weight": emb, "lm_head.weight": emb, "first_rows": emb[:3]}, p)
    info = summarize(open_checkpoint(p))
    assert (info["tensor_entries"], info["tensor_count"], info["storage_count"]) == (3, 2, 1)
    assert info["shared_storage_tensors"] == 1
    assert main(["info", str(p)]) == 0
    assert "2 distinct in 1 storages (3 entries in the tree)" in capsys.readouterr().out


def test_mobile_ptl_does_not_claim_shared_storage(capsys):
    """Its constants and bytecode list the same tensors: one tensor each, not 'shared'."""
    from helpers import REAL, corpus_or_skip

    p = corpus_or_skip(REAL / "CodyRichter__Compsci-528-DeFault-Data-Classification__model.ptl")
    info = summarize(open_checkpoint(p))
    assert info["tensor_entries"] == 2 * info["tensor_count"] == 4
    assert info["shared_storage_tensors"] == 0
    assert main(["info", str(p)]) == 0
    assert "share a storage" not in capsys.readouterr().out


def test_safetensors_metadata_in_info_text(tmp_path, capsys):
    from safetensors.torch import save_file

    p = tmp_path / "m.safetensors"
    save_file({"w": torch.ones(2)}, str(p), metadata={"format": "pt", "producer": "unit test"})
    assert main(["info", str(p)]) == 0
    out = capsys.readouterr().out
    assert "metadata    producer: unit test" in out and "metadata    format: pt" in out


def test_our_record_types_never_name_themselves(tmp_path, capsys):
    """defaultdict, a storage class, a numpy dtype: the Type column says what the file
    holds, not the name of our stand-in (DefaultDict, StorageType, NumpyDType)."""
    import collections

    p = tmp_path / "misc.pt"
    torch.save(
        {
            "counts": collections.defaultdict(list, {"a": [1]}),
            "cls": torch.FloatStorage,
            "dt": np.dtype("float32"),
        },
        p,
    )
    assert main(["tree", str(p)]) == 0
    out = capsys.readouterr().out
    assert "counts  defaultdict  1 items" in out and "cls  global  torch.FloatStorage" in out
    assert "dt  numpy.dtype" in out
    for ours in ("DefaultDict", "StorageType", "NumpyDType", "inspector"):
        assert ours not in out


def test_many_nested_streams_hit_the_object_limit(tmp_path):
    """Each nested stream costs at least 256 objects of the outer pickle's budget; the same
    bytes object referenced again (a memo hit) is read once."""
    from inspector.formats import LimitExceeded, Limits

    streams = []
    for i in range(60):
        b = io.BytesIO()
        torch.save(torch.full((1,), float(i))._typed_storage(), b, _use_new_zipfile_serialization=False)
        streams.append(b.getvalue())

    class S:
        def __init__(self, data):
            self.data = data

        def __reduce__(self):
            return (torch.storage._load_from_bytes, (self.data,))

    many = tmp_path / "many.pkl"
    many.write_bytes(pickle.dumps([S(d) for d in streams], protocol=4))
    with pytest.raises(LimitExceeded, match="objects"):
        open_checkpoint(many, Limits(max_objects=10_000))
    same = tmp_path / "same.pkl"
    same.write_bytes(pickle.dumps([S(streams[7]) for _ in range(500)], protocol=4))
    ck = open_checkpoint(same, Limits(max_objects=10_000))
    assert len({id(n.value) for n in ck.root.children}) == 1 and len(ck.storages) == 0


def test_bundle_with_a_damaged_member_still_opens(tmp_path):
    m = small_model(6)
    good = tbytes(m.state_dict())
    p = tmp_path / "bundle.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("good.pth", good)
        z.writestr("cut.pth", good[: len(good) // 2])
        z.writestr("bad_legacy.pt", tbytes(m.state_dict(), _use_new_zipfile_serialization=False)[:60])
        z.writestr("data", "{not json")
    ck = open_checkpoint(p)
    assert_same_tensors(ck, {f"good.pth/{k}": v for k, v in m.state_dict().items()})
    assert ck.find("cut.pth").value.startswith("<unreadable: ")
    assert ck.find("bad_legacy.pt").value.startswith("<unreadable: ")
    assert ck.find("data").value == "{not json"
    assert sum(w.startswith(("cut.pth", "bad_legacy.pt")) for w in ck.warnings) == 2
    assert main(["info", str(p)]) == 0
