"""Conversions: re-map devices, warm-start, export, strip - verified with torch itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from helpers import REAL, corpus_or_skip, flatten, saved_as, tutorial_checkpoint
from torch import nn

from inspector.formats import open_checkpoint
from inspector.ops.errors import OpError
from inspector.ops.remap import apply_remap, plan_remap
from inspector.ops.warmstart import apply_warmstart, plan_warmstart
from inspector.ops.writer import Progress

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))


def ckpt(*args, code=0):
    r = subprocess.run(
        [sys.executable, "-m", "inspector.cli", *map(str, args)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == code, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    return r


def same_tree(a, b):
    fa, fb = flatten(a), flatten(b)
    assert fa.keys() == fb.keys()
    for k in fa:
        if isinstance(fa[k], torch.Tensor):
            assert torch.equal(fa[k], fb[k]) and fa[k].dtype == fb[k].dtype, k
        else:
            assert fa[k] == fb[k], k


# ---- re-map ---------------------------------------------------------------------------------


def test_gpu_tagged_file_remapped_to_cpu_loads_plainly(tmp_path):
    sd = tutorial_checkpoint()
    src = tmp_path / "gpu.pt"
    with saved_as("cuda:0"):
        torch.save(sd, src)
    with pytest.raises(RuntimeError):
        torch.load(src, weights_only=True)  # no CUDA here: the reason this feature exists
    out = tmp_path / "cpu.pt"
    ckpt("remap", src, "--to", "cpu", "-o", out)
    loaded = torch.load(out, weights_only=True)  # plain load, no map_location
    same_tree(loaded, torch.load(src, weights_only=True, map_location="cpu"))
    assert {n.value.device for n in open_checkpoint(out).tensors} == {"cpu"}


def test_map_one_device_to_another_keeps_strings_that_look_like_tags(tmp_path):
    src, out = tmp_path / "cuda1.pt", tmp_path / "cuda0.pt"
    with saved_as("cuda:1"):
        torch.save({"x": torch.randn(2), "y": torch.randn(4), "note": "cuda:1"}, src)
    plan = plan_remap(str(src), rules=[("cuda:1", "cuda:0")])
    assert plan.describe()[0] == "cuda:1 -> cuda:0: 2 storages"
    apply_remap(plan, str(out))
    ck = open_checkpoint(out)
    assert {n.value.device for n in ck.tensors} == {"cuda:0"}
    assert ck.find("note").value == "cuda:1"  # a string that merely looks like a tag stays
    same_tree(
        torch.load(out, weights_only=True, map_location="cpu"),
        torch.load(src, weights_only=True, map_location="cpu"),
    )


WHOLE_MODULE_SAVE = """
import sys, torch
from torch import nn
sys.path.insert(0, {here!r})
from helpers import saved_as
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.tag = "cuda:0 everywhere"
torch.manual_seed(0)
with saved_as("cuda:0"):
    torch.save(Net(), {path!r}, _use_new_zipfile_serialization={zipfmt})
"""

WHOLE_MODULE_LOAD = """
import torch
from torch import nn
class Net(nn.Module):
    pass
m = torch.load({path!r}, weights_only=False)  # our own fixture: its class exists here
torch.manual_seed(0)
ref = nn.Linear(3, 2)
assert isinstance(m, Net) and m.tag == "cuda:0 everywhere"
assert torch.equal(m.fc.weight, ref.weight) and m.fc.weight.device.type == "cpu"
print("ok")
"""


@pytest.mark.parametrize("zipfmt", [True, False])
def test_whole_module_keeps_class_references(tmp_path, zipfmt):
    src, out = tmp_path / "whole.pt", tmp_path / "whole_cpu.pt"
    subprocess.run(
        [sys.executable, "-c", WHOLE_MODULE_SAVE.format(here=HERE, path=str(src), zipfmt=zipfmt)],
        check=True,
        timeout=120,
    )
    ckpt("remap", src, "--to", "cpu", "-o", out)
    r = subprocess.run(
        [sys.executable, "-c", WHOLE_MODULE_LOAD.format(path=str(out))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.stdout.strip() == "ok", r.stderr[-800:]


def test_legacy_input_becomes_zip_and_loads(tmp_path):
    sd = tutorial_checkpoint()
    src, out = tmp_path / "legacy.pt", tmp_path / "zip.pt"
    with saved_as("cuda:0"):
        torch.save(sd, src, _use_new_zipfile_serialization=False)
    plan = plan_remap(str(src), to="cpu")
    assert any("zip format" in n for n in plan.notes)
    apply_remap(plan, str(out))
    import zipfile

    assert zipfile.is_zipfile(out)
    same_tree(torch.load(out, weights_only=True), torch.load(src, weights_only=True, map_location="cpu"))


def test_cast_in_the_same_step(tmp_path):
    sd = {"w": torch.randn(64, 32), "i": torch.arange(5), "n": torch.tensor([float("nan"), 1.0])}
    src, out = tmp_path / "f32.pt", tmp_path / "bf16.pt"
    torch.save(sd, src)
    ckpt("remap", src, "--to", "cpu", "--dtype", "bf16", "-o", out)
    got = torch.load(out, weights_only=True)
    assert got["w"].dtype == torch.bfloat16 and torch.equal(got["w"], sd["w"].bfloat16())
    assert torch.equal(got["i"], sd["i"])
    assert torch.isnan(got["n"][0]) and got["n"][1] == 1


def test_failures_leave_no_file_and_say_why(tmp_path):
    src = tmp_path / "a.pt"
    torch.save({"w": torch.randn(1000, 100)}, src)
    out = tmp_path / "out.pt"
    r = ckpt("remap", src, "--to", "cpu", "-o", src, code=2)
    assert "is an input" in r.stderr
    out.write_bytes(b"keep me")
    r = ckpt("remap", src, "--to", "cpu", "-o", out, code=2)
    assert "exists" in r.stderr and out.read_bytes() == b"keep me"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions
        locked.chmod(0o700)
    else:
        r = ckpt("remap", src, "--to", "cpu", "-o", locked / "x.pt", code=2)
        assert "not writable" in r.stderr
    progress = Progress()
    progress.cancelled = True
    with pytest.raises(OpError, match="cancelled"):
        apply_remap(plan_remap(str(src), to="cpu"), str(tmp_path / "c.pt"), progress=progress)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "locked", "out.pt"]


# ---- warm-start -----------------------------------------------------------------------------


class Classifier(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16))
        self.classifier = nn.Linear(16, classes)


def test_warmstart_from_dataparallel_into_a_new_head(tmp_path):
    torch.manual_seed(0)
    trained = nn.DataParallel(Classifier(10))
    src = tmp_path / "trained.pt"
    torch.save({"epoch": 90, "state_dict": trained.state_dict()}, src)
    fresh = Classifier(3)
    tpl = tmp_path / "fresh.pt"
    torch.save(fresh.state_dict(), tpl)
    plan = plan_warmstart(str(src), str(tpl))
    assert plan.proposed.startswith("strip 'module.'")
    assert {t for t, _ in plan.matched_by_rule} == {
        "features.0.weight",
        "features.0.bias",
        "features.2.weight",
        "features.2.bias",
    }
    assert {t for t, *_ in plan.shape_mismatch} == {"classifier.weight", "classifier.bias"}
    assert plan.missing == [] and plan.unexpected == []
    out = tmp_path / "warm.pt"
    result = apply_warmstart(plan, str(out))
    got = torch.load(out, weights_only=True)
    model = Classifier(3)
    model.load_state_dict(got, strict=True)
    assert torch.equal(model.features[0].weight, trained.module.features[0].weight)
    assert torch.equal(model.classifier.weight, fresh.classifier.weight)  # kept from template
    report = json.loads(open(result.report).read())
    assert len(report["shape_mismatch"]) == 2
    assert "load_state_dict" in result.python


def test_warmstart_nested_template_keeps_everything_else(tmp_path):
    src, tpl, out = tmp_path / "s.pt", tmp_path / "t.pt", tmp_path / "o.pt"
    a, b = Classifier(), Classifier()
    torch.save({"model_state_dict": a.state_dict()}, src)
    torch.save({"model_state_dict": b.state_dict(), "epoch": 0, "notes": ["fresh"]}, tpl)
    apply_warmstart(plan_warmstart(str(src), str(tpl)), str(out))
    got = torch.load(out, weights_only=True)
    assert got["epoch"] == 0 and got["notes"] == ["fresh"]
    assert torch.equal(got["model_state_dict"]["classifier.weight"], a.classifier.weight)


def test_warmstart_incompatible_template(tmp_path):
    src, tpl = tmp_path / "s.pt", tmp_path / "t.pt"
    torch.save(Classifier().state_dict(), src)
    torch.save({"epoch": 3, "name": "no weights here"}, tpl)
    r = ckpt("warmstart", src, "--into", tpl, "-o", tmp_path / "o.pt", code=2)
    assert "no state_dict" in r.stderr
    assert not (tmp_path / "o.pt").exists()


# ---- exports --------------------------------------------------------------------------------

MODELS = textwrap.dedent("""
    import torch
    from torch import nn

    class Small(nn.Module):
        def __init__(self, hidden=16):
            super().__init__()
            self.fc1 = nn.Linear(8, hidden)
            self.drop = nn.Dropout(0.5)   # eval mode matters
            self.fc2 = nn.Linear(hidden, 4)

        def forward(self, x):
            return self.fc2(self.drop(torch.relu(self.fc1(x))))
""")


@pytest.fixture
def model_pkg(tmp_path):
    (tmp_path / "mymodels.py").write_text(MODELS)
    sys.path.insert(0, str(tmp_path))
    import importlib

    mod = importlib.import_module("mymodels")
    importlib.reload(mod)
    torch.manual_seed(0)
    m = mod.Small(hidden=12)
    ck = tmp_path / "train.pt"
    torch.save({"epoch": 1, "model_state_dict": m.state_dict()}, ck)
    yield tmp_path, m.eval(), ck
    sys.path.remove(str(tmp_path))
    sys.modules.pop("mymodels", None)


@pytest.mark.parametrize("kind,trace", [("torchscript", False), ("torchscript", True), ("pt2", False)])
def test_exports_reproduce_the_eager_model(model_pkg, kind, trace):
    folder, model, ck = model_pkg
    out = folder / ("m.pt2" if kind == "pt2" else "m.ts.pt")
    args = [
        "export",
        kind,
        ck,
        "--model",
        "mymodels:Small",
        "--kwargs",
        '{"hidden": 12}',
        "--example-input",
        "2,8",
        "--path",
        folder,
        "-o",
        out,
        "--json",
    ]
    if trace:
        args.append("--trace")
    r = json.loads(ckpt(*args).stdout)
    assert r["max_abs_difference"] < 1e-6
    x = torch.randn(2, 8)  # torch.export specialises the batch it was given
    loaded = torch.jit.load(str(out)) if kind == "torchscript" else torch.export.load(str(out)).module()
    assert torch.allclose(loaded(x), model(x), atol=1e-6)  # eval mode: dropout is off


def test_export_failures_leave_nothing(model_pkg):
    folder, _, ck = model_pkg
    out = folder / "x.pt"
    r = ckpt("export", "torchscript", ck, "--model", "nope.module:Small", "-o", out, code=2)
    assert "cannot import nope.module" in r.stderr
    r = ckpt(
        "export",
        "torchscript",
        ck,
        "--model",
        "mymodels:Small",
        "--path",
        folder,
        "--kwargs",
        '{"hidden": 99}',
        "-o",
        out,
        code=2,
    )
    assert "do not fit" in r.stderr
    assert not out.exists() and not [p for p in folder.iterdir() if p.name.startswith(".ckpt-")]


def test_safetensors_export_with_tied_weights_and_metadata(tmp_path):
    from safetensors.torch import load_file

    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    sd = nn.ModuleDict({"emb": emb, "head": head}).state_dict()
    src = tmp_path / "tied.pt"
    torch.save({"epoch": 7, "model_state_dict": sd, "t": torch.arange(6).reshape(2, 3).t()}, src)
    out = tmp_path / "m.safetensors"
    r = json.loads(ckpt("export", "safetensors", src, "-o", out, "--json").stdout)
    assert r["tied"] == {"head.weight": "emb.weight"}
    got = load_file(str(out))
    assert torch.equal(got["emb.weight"], sd["emb.weight"]) and torch.equal(
        got["head.weight"], sd["emb.weight"]
    )
    from safetensors import safe_open

    with safe_open(str(out), "pt") as f:
        assert f.metadata()["epoch"] == "7"
    # a non-contiguous tensor keeps its logical (row-major) order
    src2 = tmp_path / "views.pt"
    base = torch.arange(12.0).reshape(3, 4)
    torch.save({"t": base.t(), "s": base[:, 1:3]}, src2)
    out2 = tmp_path / "views.safetensors"
    ckpt("export", "safetensors", src2, "-o", out2)
    got2 = load_file(str(out2))
    assert torch.equal(got2["t"], base.t()) and torch.equal(got2["s"], base[:, 1:3])


def test_strip_and_extract(tmp_path):
    src = tmp_path / "train.pt"
    torch.save(tutorial_checkpoint(), src)
    out = tmp_path / "weights.pt"
    r = json.loads(ckpt("strip", src, "--dtype", "fp16", "-o", out, "--json").stdout)
    assert r["size_after"] < r["size_before"]
    got = torch.load(out, weights_only=True)
    ref = torch.load(src, weights_only=True)["model_state_dict"]
    assert list(got) == list(ref)
    assert torch.equal(got["0.weight"], ref["0.weight"].half())
    assert torch.equal(got["2.num_batches_tracked"], ref["2.num_batches_tracked"])
    ext = tmp_path / "opt.pt"
    ckpt("extract", src, "optimizer_state_dict", "-o", ext)
    same_tree(torch.load(ext, weights_only=True), torch.load(src, weights_only=True)["optimizer_state_dict"])


# ---- the real GPU/MPS-tagged files of the corpus -----------------------------------------------

REAL_GPU = [
    "SifatTaj__EMNIST_LENET__ckpt.pth",
    "txie-93__cgcnn__band-gap.pth.tar",
    "douzaikongcheng__cifar10_pytorch_quantization_demo__checkpoint.pth.tar",
    "nathaniel-talip-ii__coe187-max78000-training-results__best.pth.tar",
    "luizamfsantos__long-short-lstm__last.ckpt",
    "thomasreolon__svs_detection__policy.pt2",
    "101010zyl__FULLY_CONNECTED_LAYER__model.pth",
]


@pytest.mark.parametrize("name", REAL_GPU)
def test_real_gpu_files_remap_to_cpu_and_load(tmp_path, name):
    corpus_or_skip(REAL)
    out = tmp_path / ("cpu_" + name)
    ckpt("remap", REAL / name, "--to", "cpu", "-o", out)
    assert {n.value.device for n in open_checkpoint(out).tensors} == {"cpu"}
    if name.startswith("101010zyl"):
        return  # a whole pickled __main__.Net: only a process with that class can load it
    # The original loads on a machine with the device; the copy loads here. Globals that
    # the MANIFEST lists for these files are allowed by name, nothing else.
    import torch.nn.functional as F
    from torch.optim import Adam

    with torch.serialization.safe_globals([Adam, F.binary_cross_entropy]):
        loaded = torch.load(out, weights_only=True)
    ours = open_checkpoint(REAL / name)
    for node in ours.tensors:
        names, n = [], node
        while n.parent is not None:  # keys may contain '/', so walk the nodes, not the path
            names.append(n.name)
            n = n.parent
        t = loaded
        for part in reversed(names):
            t = t[int(part)] if isinstance(t, (list, tuple)) else t[part if part in t else int(part)]
        want = torch.from_numpy(ours.array(node).copy()) if node.value.dtype.kind != "bfloat16" else None
        if want is not None and not node.value.quantization:
            assert torch.equal(t.reshape(-1).view(torch.uint8), want.reshape(-1).view(torch.uint8)), node.path


def test_tensor_and_histogram_export(tmp_path):
    import numpy as np

    from inspector.analysis.histogram import histogram
    from inspector.ops.tensor_export import export_histogram_csv, export_npy

    base = torch.randn(6, 5)
    src = tmp_path / "t.pt"
    torch.save({"bf": base.bfloat16(), "t": base.t(), "b": base > 0}, src)
    ck = open_checkpoint(src)
    for key, want in (("bf", base.bfloat16().float()), ("t", base.t()), ("b", base > 0)):
        node = ck.tensor_node(key)
        out = tmp_path / f"{key}.npy"
        export_npy(ck.source(node), node.value.dtype, str(out))
        assert np.array_equal(np.load(out, allow_pickle=False), want.numpy())
    node = ck.tensor_node("t")
    h = histogram(ck.array(node), node.value.dtype, bins=4)
    csv = tmp_path / "h.csv"
    export_histogram_csv(h, str(csv))
    lines = csv.read_text().splitlines()
    assert lines[0] == "bin_start,bin_end,count" and len(lines) == 1 + 4 + 5
    assert sum(int(ln.split(",")[2]) for ln in lines[1:5]) == 30
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ckpt-")] == []


PKGNET = textwrap.dedent("""
    import torch
    from torch import nn

    class PickledNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return self.drop(self.fc(x))
""")


def test_export_from_a_trusted_whole_pickled_model(tmp_path):
    (tmp_path / "pkgnet.py").write_text(PKGNET)
    save = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import torch, pkgnet; "
        f"torch.manual_seed(0); torch.save(pkgnet.PickledNet(), {str(tmp_path / 'whole.pt')!r})"
    )
    subprocess.run([sys.executable, "-c", save], check=True, timeout=120)
    out = tmp_path / "whole.pt2"
    r = ckpt(
        "export",
        "pt2",
        tmp_path / "whole.pt",
        "--trust-pickled-model",
        "--path",
        tmp_path,
        "--example-input",
        "2,4",
        "-o",
        out,
        "--json",
    )
    assert json.loads(r.stdout)["max_abs_difference"] < 1e-6
    assert "imports __main__" not in r.stderr and "pkgnet" in r.stderr  # says what it imports
    # without the explicit trust flag, nothing is loaded
    r = ckpt(
        "export", "pt2", tmp_path / "whole.pt", "--example-input", "2,4", "-o", tmp_path / "x.pt2", code=2
    )
    assert "--trust-pickled-model" in r.stderr


def test_trust_never_loads_a_dangerous_file(tmp_path):
    import io
    import zipfile

    marker = tmp_path / "MARKER"
    src = tmp_path / "evil.pt"
    torch.save(nn.Linear(2, 2), src)
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("data.pkl"):
                cmd = f"touch {marker}".encode()
                data = b"\x80\x02cos\nsystem\nX" + len(cmd).to_bytes(4, "little") + cmd + b"\x85R0" + data[2:]
            zout.writestr(info.filename, data)
    src.write_bytes(buf.getvalue())
    r = ckpt("export", "torchscript", src, "--trust-pickled-model", "-o", tmp_path / "o.pt", code=2)
    assert "dangerous" in r.stderr and not marker.exists()
