"""The non-executing reader returns every tensor exactly as torch.load would."""

from __future__ import annotations

import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
from helpers import make_mlp, py2ify, saved_as, tutorial_checkpoint
from helpers import tensors_of as flatten
from torch import nn

from inspector.formats import CheckpointError, TensorDataError, open_checkpoint
from inspector.formats.stubs import ObjectStub


def as_torch(ck, node) -> torch.Tensor:
    """Our view of a tensor turned into a torch tensor (only tests do this)."""
    arr = np.array(ck.array(node), copy=True, order="C")
    t = node.value
    tdt = getattr(torch, t.dtype.name) if t.dtype.kind not in ("quant",) else None
    if t.dtype.kind == "quant":
        return torch.from_numpy(arr)
    return torch.from_numpy(arr).view(tdt) if arr.size else torch.empty(t.shape, dtype=tdt)


def assert_same_tensors(path, expected: dict[str, torch.Tensor]):
    ck = open_checkpoint(path)
    for key, ref in expected.items():
        node = ck.tensor_node(key)
        t = node.value
        assert list(t.shape) == list(ref.shape), key
        assert t.dtype.name == str(ref.dtype).replace("torch.", ""), key
        ours = as_torch(ck, node)
        assert ours.shape == ref.shape, key
        assert torch.equal(
            ours.reshape(-1).view(torch.uint8), ref.contiguous().reshape(-1).view(torch.uint8)
        ), key
    return ck


def test_plain_state_dict_matches_torch_bit_for_bit(tmp_path):
    p = tmp_path / "sd.pt"
    torch.save(make_mlp().state_dict(), p)
    ref = torch.load(p, weights_only=True)
    ck = assert_same_tensors(p, flatten(ref))
    assert [c.name for c in ck.root.children] == list(ref.keys())
    assert ck.format == "zip"


def test_tutorial_training_checkpoint_all_tensors(tmp_path):
    p = tmp_path / "train.pt"
    torch.save(tutorial_checkpoint(), p)
    ref = torch.load(p, weights_only=True)
    ck = assert_same_tensors(p, flatten(ref))
    assert ck.find("epoch").value == 3
    assert ck.find("loss").value == 0.25
    assert ck.find("optimizer_state_dict/param_groups/0/lr").value == 1e-3
    assert ck.find("model_state_dict/0.weight").value.shape == (16, 8)


@pytest.mark.parametrize(
    "dtype",
    [
        torch.bfloat16,
        torch.float16,
        torch.float64,
        torch.int8,
        torch.uint8,
        torch.int16,
        torch.int32,
        torch.bool,
        torch.complex64,
        torch.float8_e4m3fn,
        torch.uint16,
    ],
)
def test_dtypes_round_trip(tmp_path, dtype):
    x = torch.randn(7, 5) * 10
    t = x.to(dtype) if dtype != torch.bool else x > 0
    p = tmp_path / "d.pt"
    torch.save({"t": t}, p)
    assert_same_tensors(p, {"t": t})


def test_half_precision_with_nan_and_inf(tmp_path):
    x = torch.randn(100)
    x[3], x[10], x[20] = float("nan"), float("inf"), float("-inf")
    sd = {"bf16": x.bfloat16(), "fp16": x.half()}
    p = tmp_path / "h.pt"
    torch.save(sd, p)
    assert_same_tensors(p, sd)


def test_views_offsets_and_non_contiguous_tensors(tmp_path):
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    sd = {"base": base, "t": base.t(), "slice": base[2:5, 3:7], "row": base[4], "strided": base[::2, ::3]}
    p = tmp_path / "v.pt"
    torch.save(sd, p)
    ck = assert_same_tensors(p, sd)
    # all five share one storage
    assert len({id(n.value.storage) for n in ck.tensors}) == 1


def test_tied_weights_share_a_storage(tmp_path):
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    model = nn.ModuleDict({"emb": emb, "head": head})
    p = tmp_path / "tied.pt"
    torch.save(model.state_dict(), p)
    ck = open_checkpoint(p)
    a, b = ck.tensor_node("emb.weight").value, ck.tensor_node("head.weight").value
    assert a.storage is b.storage


def test_whole_pickled_module_is_a_stub_with_structure(tmp_path):
    model = make_mlp()
    p = tmp_path / "whole.pt"
    torch.save(model, p)
    ck = open_checkpoint(p)
    root = ck.root
    assert root.kind == "module"
    assert root.type_name == "torch.nn.modules.container.Sequential"
    assert ck.find("0").type_name == "torch.nn.modules.linear.Linear"
    w = ck.tensor_node("0/weight")
    assert w.value.is_parameter
    assert torch.equal(as_torch(ck, w), model[0].weight.detach())
    assert ck.find("2/running_mean").value.shape == (16,)
    assert ck.find("2/num_batches_tracked").value.dtype.name == "int64"


class Net(nn.Module):  # defined in the test module: the file will name tests.test_reader.Net
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)


def test_user_class_and_dataparallel_are_never_imported(tmp_path, monkeypatch):
    p = tmp_path / "dp.pt"
    torch.save(nn.DataParallel(Net()), p)
    ck = open_checkpoint(p)
    assert ck.root.type_name == "torch.nn.parallel.data_parallel.DataParallel"
    inner = ck.find("module")
    assert inner.kind == "module" and inner.type_name.endswith("test_reader.Net")
    assert isinstance(inner.value, ObjectStub)
    assert ck.find("module/fc/weight").value.shape == (2, 3)


def test_root_folder_name_and_records_at_any_alignment(tmp_path):
    src = tmp_path / "src.pt"
    sd = {"a": torch.randn(3, 3), "b": torch.arange(5)}
    torch.save(sd, src)
    # Rewrite the archive: another root name, no .format_version, compressed nothing,
    # and records at odd offsets (no alignment padding).
    dst = tmp_path / "renamed.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if info.filename.endswith((".format_version", ".storage_alignment")):
                continue
            name = "weird name/" + info.filename.split("/", 1)[1]
            zout.writestr(name, zin.read(info.filename))
    ck = assert_same_tensors(dst, sd)
    assert ck.format == "zip"


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_legacy_format_all_pickle_protocols(tmp_path, protocol):
    sd = tutorial_checkpoint()
    p = tmp_path / f"legacy{protocol}.pt"
    torch.save(sd, p, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    # torch itself cannot read back protocol 0 (its persistent ids become text); we can.
    ck = assert_same_tensors(p, flatten(sd))
    assert ck.format == "legacy"


def test_legacy_whole_module_keeps_class_source_as_text(tmp_path):
    p = tmp_path / "legacy_module.pt"
    torch.save(Net(), p, _use_new_zipfile_serialization=False)
    ck = open_checkpoint(p)
    paths = [m.class_path for m in ck.module_sources]
    assert any(path.endswith("test_reader.Net") for path in paths)
    src = next(m for m in ck.module_sources if m.class_path.endswith("Net"))
    assert "self.fc = nn.Linear(3, 2)" in src.source


def test_python2_legacy_file(tmp_path):
    """A legacy file as Python 2 wrote it: byte-string text, __builtin__ names, latin-1."""
    sd = OrderedDict([("w", torch.randn(4, 2)), ("caf\u00e9", torch.ones(3))])
    p = tmp_path / "py3.pt"
    torch.save(sd, p, _use_new_zipfile_serialization=False, pickle_protocol=2)
    raw = p.read_bytes()
    # split the five pickles and rewrite each, then append the storage bytes unchanged
    parts, pos = [], 0
    import pickletools

    for _ in range(5):
        end = pos
        for op, _, at in pickletools.genops(raw[pos:]):
            if op.name == "STOP":
                end = pos + at + 1
                break
        parts.append(raw[pos:end])
        pos = end
    # Python 2 byte strings in latin-1 (not valid UTF-8): the reader retries as latin-1
    py2 = b"".join(py2ify(x, encoding="latin1") for x in parts) + raw[pos:]
    assert b"caf\xe9" in py2
    q = tmp_path / "py2.pt"
    q.write_bytes(py2)
    ck = open_checkpoint(q)
    assert [c.name for c in ck.root.children] == ["w", "caf\u00e9"]
    assert torch.equal(as_torch(ck, ck.tensor_node("w")), sd["w"])


def test_device_tags_kept_exactly_as_saved(tmp_path):
    sd = {"a": torch.randn(2), "b": torch.randn(3)}
    p = tmp_path / "gpu.pt"
    with saved_as("cuda:1"):
        torch.save(sd, p)
    ck = open_checkpoint(p)
    assert {n.value.device for n in ck.tensors} == {"cuda:1"}
    q = tmp_path / "mps.pt"
    with saved_as("mps"):
        torch.save(sd, q, _use_new_zipfile_serialization=False)
    assert {n.value.device for n in open_checkpoint(q).tensors} == {"mps"}


def test_values_and_objects_are_readable(tmp_path):
    import argparse

    obj = {
        "size": torch.Size([2, 3]),
        "dev": torch.device("cuda", 0),
        "dt": torch.float16,
        "ns": argparse.Namespace(lr=0.1, name="x"),
        "np": np.float64(1.5),
        "arr": np.arange(4, dtype=np.int32),
        "set": {1, 2},
        "bytes": b"\x00\x01",
        "nested": [1, (2.5, "s"), None],
    }
    p = tmp_path / "values.pt"
    torch.save(obj, p)
    ck = open_checkpoint(p)
    assert tuple(ck.find("size").value) == (2, 3)
    assert repr(ck.find("dev").value) == "device('cuda:0')"
    assert repr(ck.find("dt").value) == "torch.float16"
    assert ck.find("ns").type_name == "argparse.Namespace"
    assert ck.find("ns/lr").value == 0.1
    assert ck.find("np").value == 1.5
    assert list(ck.find("arr").value.value) == [0, 1, 2, 3]
    assert ck.find("set").kind == "set"
    assert ck.find("bytes").value == b"\x00\x01"
    assert ck.find("nested/1/1").value == "s"


def test_shared_references_and_cycles_are_not_expanded_twice(tmp_path):
    shared = {"x": 1}
    cyc: list = []
    cyc.append(cyc)
    p = tmp_path / "refs.pt"
    torch.save({"a": shared, "b": shared, "cycle": cyc}, p)
    ck = open_checkpoint(p)
    assert ck.find("a").kind == "dict"
    assert ck.find("b").kind == "ref" and ck.find("b").ref is ck.find("a")
    assert ck.find("cycle/0").kind == "ref"


def test_quantized_tensor_metadata(tmp_path):
    q = torch.quantize_per_tensor(torch.randn(4, 4), 0.1, 3, torch.qint8)
    p = tmp_path / "q.pt"
    torch.save({"q": q}, p)
    t = open_checkpoint(p).tensor_node("q").value
    assert t.dtype.name == "qint8"
    assert t.quantization["scale"] == pytest.approx(0.1)
    assert t.quantization["zero_point"] == 3
    assert t.quantization["qscheme"] == "per_tensor_affine"
    ck = open_checkpoint(p)
    raw = np.asarray(ck.array(ck.tensor_node("q")))
    assert np.array_equal(raw, q.int_repr().numpy())


def test_bad_tensor_gets_its_own_error_rest_stays_usable(tmp_path):
    sd = {"good": torch.randn(4), "bad": torch.randn(8)}
    p = tmp_path / "ok.pt"
    torch.save(sd, p)
    # truncate the record of 'bad' inside the archive: rewrite with fewer bytes
    q = tmp_path / "badrec.pt"
    with zipfile.ZipFile(p) as zin, zipfile.ZipFile(q, "w") as zout:
        ck = open_checkpoint(p)
        bad_record = ck.tensor_node("bad").value.storage.record
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, data[:8] if info.filename == bad_record else data)
    ck = open_checkpoint(q)
    with pytest.raises(TensorDataError, match="declares 32 bytes but the file holds 8"):
        ck.array(ck.tensor_node("bad"))
    assert torch.equal(as_torch(ck, ck.tensor_node("good")), sd["good"])


def test_geometry_outside_the_storage_is_refused(tmp_path):
    from inspector.formats.stubs import TensorInfo
    from inspector.formats.tensor_data import extent, validate

    p = tmp_path / "g.pt"
    torch.save({"t": torch.randn(10)}, p)
    ck = open_checkpoint(p)
    t = ck.tensor_node("t").value
    for shape, stride, off, msg in [
        ((11,), (1,), 0, "addresses element 10"),
        ((5,), (3,), 0, "addresses element 12"),
        ((2,), (1,), -1, "negative storage offset"),
        ((2,), (-1,), 5, "negative stride"),
        ((2, 2), (1,), 0, "different lengths"),
        ((1 << 62, 4), (4, 1), 0, "overflows|addresses"),
    ]:
        bad = TensorInfo(t.storage, t.dtype, shape, stride, off)
        with pytest.raises(TensorDataError, match=msg):
            validate(bad)
    assert extent(t) == (0, 10)


def test_not_a_checkpoint_gets_one_sentence(tmp_path):
    cases = {
        "empty.pt": b"",
        "text.pt": b"hello, this is a readme file\n" * 3,
        "png.pt": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        "tiny.pt": b"abc",
        "lfs.bin": b"version https://git-lfs.github.com/spec/v1\noid sha256:"
        + b"a" * 64
        + b"\nsize 123456\n",
        "random.pt": bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)),
    }
    expect = {
        "empty.pt": "empty",
        "text.pt": "text file",
        "png.pt": "PNG image",
        "tiny.pt": "3 bytes",
        "lfs.bin": "Git LFS pointer",
        "random.pt": "not a PyTorch",
    }
    for name, data in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        with pytest.raises(CheckpointError) as err:
            open_checkpoint(f)
        assert expect[name] in str(err.value), (name, str(err.value))
        assert "\n" not in str(err.value)


def test_truncated_zip_and_truncated_legacy(tmp_path):
    p = tmp_path / "full.pt"
    torch.save(tutorial_checkpoint(), p)
    raw = p.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 30, 100):
        q = tmp_path / f"cut{cut}.pt"
        q.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError):
            open_checkpoint(q)
    L = tmp_path / "legacy.pt"
    torch.save(tutorial_checkpoint(), L, _use_new_zipfile_serialization=False)
    raw = L.read_bytes()
    q = tmp_path / "legacy_cut.pt"
    q.write_bytes(raw[: len(raw) - 100])  # storage bytes cut: opens, tensors say why
    ck = open_checkpoint(q)
    errors = 0
    for n in ck.tensors:
        try:
            ck.array(n)
        except TensorDataError as exc:
            errors += 1
            assert "truncated" in str(exc)
    assert errors >= 1
    q.write_bytes(raw[:200])  # inside the pickles
    with pytest.raises(CheckpointError):
        open_checkpoint(q)
