"""The analysis behind the window's readability (issue 14): bin rules, tick labels, shape
and word filters, layer lines, model parameter counts, weight candidates. No Qt."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import make_mlp, tutorial_checkpoint
from torch import nn

from inspector.analysis.bins import auto_bins, bin_readout, rice_bins
from inspector.analysis.histogram import histogram_of_values
from inspector.analysis.layouts import recognise
from inspector.analysis.module_attrs import inline_text, layer_line, short_type
from inspector.analysis.search import SearchIndex, parse_query
from inspector.analysis.summary import model_size
from inspector.analysis.ticks import count_text, integer_spacing, log_count_ticks, value_ticks
from inspector.analysis.weight_candidates import (
    classes_in_python_file,
    classes_named_in_file,
    weight_candidates,
)
from inspector.formats import open_checkpoint
from inspector.formats.dtypes import DTYPES


def test_integer_dtypes_get_one_bin_per_value():
    bins, rng = auto_bins(10_000, DTYPES["int8"], -128, 127)
    assert bins == 256 and rng == (-128.5, 127.5)
    values = np.random.default_rng(0).integers(-128, 128, 10_000).astype(np.float32)
    h = histogram_of_values(values, bins=bins, range=rng)
    assert h.counts.tolist() == np.bincount((values + 128).astype(int), minlength=256).tolist()
    assert auto_bins(5, DTYPES["qint8"], 3, 7) == (5, (2.5, 7.5))
    bins, (lo, hi) = auto_bins(10, DTYPES["int64"], 0, 100_000)
    assert bins <= 200 and (hi - lo) % bins == 0  # whole-number bin widths


def test_float_bins_fit_the_size():
    assert auto_bins(216, DTYPES["float32"], -1.0, 1.0) == (12, None)  # Rice: 2 * 216^(1/3)
    assert rice_bins(10_000_000) == 200
    assert rice_bins(1) == 8


def test_hover_readout_names_the_bin_count_and_percent():
    values = np.array([0.0, 0.1, 0.1, 0.9], dtype=np.float32)
    h = histogram_of_values(values, bins=4, range=(0.0, 1.0))
    text = bin_readout(h, 0.2)
    assert text.startswith("[0, 0.25)") and "3 values" in text and "75% of 4" in text
    assert bin_readout(h, 1.0).startswith("[0.75, 1]")
    assert bin_readout(h, 2.0) is None
    hi = histogram_of_values(np.array([1, 2, 2], dtype=np.float32), bins=2, range=(0.5, 2.5))
    assert bin_readout(hi, 2.1, integer=True).startswith("value 2: 2 values")


def test_value_ticks_are_in_the_tensors_units():
    assert value_ticks([-0.2, -0.1, 0.0, 0.1, 0.2], 0.1) == ["-0.2", "-0.1", "0.0", "0.1", "0.2"]
    assert value_ticks([0.0, 0.25, 0.5], 0.25) == ["0.00", "0.25", "0.50"]
    small = value_ticks([-0.001, 0.0, 0.001], 0.0005)
    assert small[1] == "0" and float(small[0]) == -0.001 and "e" in small[0]
    assert value_ticks([0, 200000], 100000)[1] == "2e+05"


def test_count_ticks_are_whole_numbers_and_log_ticks_powers_of_ten():
    assert integer_spacing(0.2) == 1 and integer_spacing(3) == 5 and integer_spacing(20) == 20
    assert count_text(12) == "12" and count_text(12000) == "12k" and count_text(3_400_000) == "3.4M"
    assert log_count_ticks(0, 3.2) == [(0.0, "1"), (1.0, "10"), (2.0, "100"), (3.0, "1k")]


def test_shapes_in_the_forms_people_type(tmp_path):
    p = tmp_path / "s.pt"
    torch.save(
        {
            "a.weight": torch.zeros(10, 128),
            "b.weight": torch.zeros(110, 128),
            "c.weight": torch.zeros(4, 10, 128),
            "d": torch.zeros(()),
        },
        p,
    )
    idx = SearchIndex(open_checkpoint(p).root)

    def names(q):
        return sorted(n.name for n in idx.matches(parse_query(q)))

    assert names("shape:10,128") == ["a.weight", "c.weight"]
    assert names("shape:(10, 128)") == ["a.weight"]
    assert names("shape:10x128") == ["a.weight", "c.weight"]
    assert names("shape:128") == ["a.weight", "b.weight", "c.weight"]
    assert names("shape:()") == ["d"]
    assert names("weight shape:(110,128)") == ["b.weight"]


def test_several_words_are_and_and_match_the_layer_class(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Linear(4, 2))
    p = tmp_path / "whole.pt"
    torch.save(model, p)
    idx = SearchIndex(open_checkpoint(p).root)
    found = {n.path for n in idx.matches(parse_query("conv weight"))}
    assert found == {"0/weight"}
    assert {n.path for n in idx.matches(parse_query("linear bias"))} == {"2/bias"}
    examples = idx.examples()
    for term in examples:  # every placeholder example finds something here
        assert idx.matches(parse_query(term)), term


def test_placeholder_examples_work_on_a_state_dict(tmp_path):
    p = tmp_path / "sd.pt"
    torch.save(make_mlp().state_dict(), p)
    idx = SearchIndex(open_checkpoint(p).root)
    ex = idx.examples()
    assert not any(e == "type:Parameter" for e in ex)
    assert any(e.startswith("shape:") for e in ex)
    for term in ex:
        assert idx.matches(parse_query(term)), term


def test_layer_line_and_short_names(tmp_path):
    p = tmp_path / "whole.pt"
    torch.save(nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.Linear(4, 5), nn.BatchNorm2d(8)), p)
    root = open_checkpoint(p).root
    conv, lin, bn = root.children[:3]
    assert short_type(conv.type_name) == "Conv2d"
    assert layer_line(conv) == "3→16 · kernel 3×3 · stride 2 · padding 1"
    assert layer_line(lin) == "4→5"
    assert "features 8" in layer_line(bn) and "eps 1e-05" in layer_line(bn)
    assert inline_text(conv.child("kernel_size")) == "(3, 3)"
    assert short_type("OrderedDict") == "OrderedDict"


@pytest.mark.parametrize("layout", ["tutorial", "lightning", "state_dict", "whole"])
def test_model_parameters_apart_from_optimizer_and_buffers(tmp_path, layout):
    model = make_mlp()
    want = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    obj = {
        "tutorial": lambda: {
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict(),
        },
        "lightning": lambda: {
            "state_dict": model.state_dict(),
            "optimizer_states": [opt.state_dict()],
            "pytorch-lightning_version": "2.4.0",
            "epoch": 1,
        },
        "state_dict": lambda: model.state_dict(),
        "whole": lambda: model,
    }[layout]()
    p = tmp_path / "f.pt"
    torch.save(obj, p)
    ck = open_checkpoint(p)
    size = model_size(ck, recognise(ck))
    assert size["parameters"] == want
    assert size["parameter_bytes"] == 4 * want
    assert size["buffers"] == sum(b.numel() for b in model.buffers())
    n_opt = sum(
        v.numel() for s in opt.state_dict()["state"].values() for v in s.values() if torch.is_tensor(v)
    )
    assert size["optimizer"] == (n_opt if layout in ("tutorial", "lightning") else 0)


def test_strip_offers_only_weight_subtrees(tmp_path):
    sd = tutorial_checkpoint()
    sd["callbacks"] = {"ModelCheckpoint": {"best": torch.tensor(1.0)}}
    sd["ema"] = make_mlp(1).state_dict()
    p = tmp_path / "t.pt"
    torch.save(sd, p)
    ck = open_checkpoint(p)
    got = weight_candidates(ck, recognise(ck))
    assert got == ["model_state_dict", "ema"]


def test_export_class_pickers(tmp_path):
    src = tmp_path / "mynet.py"
    src.write_text("import torch\nclass Helper:\n    pass\nclass Net(torch.nn.Module):\n    pass\n")
    assert classes_in_python_file(str(src)) == ["Net", "Helper"]

    # a whole pickled model whose class lives in the user's own package
    import sys
    import types

    import torch

    from inspector.analysis.verdict import scan_file

    mod = types.ModuleType("mypkg.models")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

    Net.__module__, Net.__qualname__ = "mypkg.models", "Net"
    mod.Net = Net
    sys.modules["mypkg"], sys.modules["mypkg.models"] = types.ModuleType("mypkg"), mod
    try:
        torch.save(Net(), tmp_path / "whole.pt")
    finally:
        del sys.modules["mypkg"], sys.modules["mypkg.models"]
    assert classes_named_in_file(scan_file(str(tmp_path / "whole.pt"))) == ["mypkg.models:Net"]


def test_ckpt_info_reports_the_model_parameters(tmp_path):
    import json
    import subprocess
    import sys

    model = make_mlp()
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    p = tmp_path / "t.pt"
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict()}, p)
    r = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "info", str(p), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["model"]["parameters"] == sum(q.numel() for q in model.parameters())
    r = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "info", str(p)], capture_output=True, text=True, timeout=120
    )
    assert f"model       {sum(q.numel() for q in model.parameters()):,} parameters" in r.stdout
