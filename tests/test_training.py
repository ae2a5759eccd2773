"""Training checkpoints: layouts recognised, optimizer state mapped to parameter names
(or `unknown` when it honestly cannot be known), on files made by real training steps."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
import torch
from helpers import REAL, corpus_or_skip
from torch import nn

from inspector.analysis.layouts import recognise
from inspector.analysis.training import optimizer_maps
from inspector.formats import open_checkpoint


def train(model, opt, steps=2, shape=(4, 8)):
    for _ in range(steps):
        opt.zero_grad()
        model(torch.randn(*shape)).square().mean().backward()
        opt.step()


def names_by_index(ck) -> dict[int, tuple[str | None, str]]:
    (m,) = optimizer_maps(ck)
    return {s.index: (s.name, s.confidence) for s in m.slots}


def expected(opt, model) -> dict[int, str]:
    """The truth: which parameter each optimizer index is, from the live objects."""
    ids = {id(p): n for n, p in model.named_parameters()}
    out, i = {}, 0
    for g in opt.param_groups:
        for p in g["params"]:
            out[i] = ids[id(p)]
            i += 1
    return out


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Linear(8, 16)
        self.bn = nn.BatchNorm1d(16)  # buffers interleaved with parameters
        self.hidden = nn.Linear(16, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(torch.relu(self.hidden(self.bn(self.conv(x)))))


def test_adam_two_groups_and_a_frozen_parameter(tmp_path):
    torch.manual_seed(0)
    model = Net()
    model.hidden.bias.requires_grad_(False)  # frozen: listed, never gets state
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    other = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.Adam([{"params": decay, "weight_decay": 0.1}, {"params": other}], lr=1e-3)
    train(model, opt)
    p = tmp_path / "adam.pt"
    torch.save(
        {"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(), "epoch": 2}, p
    )
    ck = open_checkpoint(p)
    assert recognise(ck).name == "tutorial"
    got = names_by_index(ck)
    truth = expected(opt, model)
    assert {i: n for i, (n, _) in got.items()} == truth
    assert all(c == "inferred" for _, c in got.values())
    (m,) = optimizer_maps(ck)
    frozen = [s for s in m.slots if not s.state]
    assert [s.name for s in frozen] == ["hidden.bias"]
    assert m.groups[0]["weight_decay"] == 0.1


def test_sgd_momentum_and_frozen_params_left_out(tmp_path):
    torch.manual_seed(1)
    model = Net()
    model.head.requires_grad_(False)
    opt = torch.optim.SGD(filter(lambda q: q.requires_grad, model.parameters()), lr=0.1, momentum=0.9)
    train(model, opt)
    p = tmp_path / "sgd.pt"
    torch.save(
        {"state_dict": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 5, "best_acc": 0.75}, p
    )
    ck = open_checkpoint(p)
    lay = recognise(ck)
    assert lay.name == "common" and lay.weights == "state_dict" and lay.metrics == {"best_acc": 0.75}
    got = names_by_index(ck)
    assert {i: n for i, (n, _) in got.items()} == expected(opt, model)
    assert {c for _, c in got.values()} == {"inferred"}


def test_left_out_parameter_among_same_shapes_is_unknown(tmp_path):
    """conv is frozen and filtered out: its bias (16,) could be any of three 16-vectors."""
    model = Net()
    model.conv.requires_grad_(False)
    opt = torch.optim.SGD(filter(lambda q: q.requires_grad, model.parameters()), lr=0.1, momentum=0.9)
    train(model, opt)
    p = tmp_path / "sgd2.pt"
    torch.save({"state_dict": model.state_dict(), "optimizer": opt.state_dict()}, p)
    got = names_by_index(open_checkpoint(p))
    truth = expected(opt, model)
    assert all(c == "unknown" or n == truth[i] for i, (n, c) in got.items())
    assert got[0][1] == "unknown"


def test_adamw_from_named_parameters_is_exact(tmp_path):
    model = Net()
    opt = torch.optim.AdamW(model.named_parameters(), lr=1e-3)
    train(model, opt)
    sd = opt.state_dict()
    assert "param_names" in sd["param_groups"][0]
    p = tmp_path / "adamw.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": sd,
            "lr_scheduler": {},
            "epoch": 1,
            "args": argparse.Namespace(lr=1e-3),
        },
        p,
    )
    ck = open_checkpoint(p)
    assert recognise(ck).name == "torchvision-reference"
    got = names_by_index(ck)
    assert {i: n for i, (n, _) in got.items()} == expected(opt, model)
    assert {c for _, c in got.values()} == {"exact"}


def test_tied_weights_appear_once(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 8)
            self.mid = nn.Linear(8, 8)
            self.out = nn.Linear(8, 10, bias=False)
            self.out.weight = self.emb.weight

        def forward(self, x):
            return self.out(self.mid(self.emb(x)))

    model = Tied()
    opt = torch.optim.Adam(model.parameters())
    opt.zero_grad()
    model(torch.randint(0, 10, (4,))).sum().backward()
    opt.step()
    p = tmp_path / "tied.pt"
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict()}, p)
    got = names_by_index(open_checkpoint(p))
    assert {i: n for i, (n, _) in got.items()} == expected(opt, model)


def test_ambiguous_order_says_unknown(tmp_path):
    """Two groups whose split no rule explains, with identical shapes: cannot be known."""
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4))
    params = list(model.parameters())
    opt = torch.optim.Adam([{"params": [params[4], params[0]]}, {"params": params[1:4] + params[5:]}])
    train(model, opt, shape=(2, 4))
    p = tmp_path / "odd.pt"
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict()}, p)
    got = names_by_index(open_checkpoint(p))
    truth = expected(opt, model)
    for i, (name, conf) in got.items():
        assert conf == "unknown" or name == truth[i]
    assert any(conf == "unknown" for _, conf in got.values())


def test_lightning_style_checkpoint(tmp_path):
    torch.manual_seed(2)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    train(model, opt)
    sd = {f"model.{k}": v for k, v in model.state_dict().items()}
    p = tmp_path / "epoch=3-step=120.ckpt"
    torch.save(
        {
            "epoch": 3,
            "global_step": 120,
            "pytorch-lightning_version": "2.4.0",
            "state_dict": sd,
            "optimizer_states": [opt.state_dict()],
            "lr_schedulers": [{"last_epoch": 3}],
            "hparams_name": "kwargs",
            "hyper_parameters": argparse.Namespace(lr=3e-4, hidden=16),
        },
        p,
    )
    ck = open_checkpoint(p)
    lay = recognise(ck)
    assert (lay.name, lay.epoch, lay.step) == ("lightning", 3, 120)
    assert lay.optimizers == ["optimizer_states/0"] and lay.hyper_parameters == "hyper_parameters"
    got = names_by_index(ck)
    assert {i: n for i, (n, _) in got.items()} == {i: f"model.{n}" for i, n in expected(opt, model).items()}


def test_hf_trainer_folder_opens_as_one_training_state(tmp_path):
    from safetensors.torch import save_file

    model = Net()
    opt = torch.optim.AdamW(model.parameters())
    train(model, opt)
    folder = tmp_path / "checkpoint-500"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    torch.save(opt.state_dict(), folder / "optimizer.pt")
    torch.save({"last_epoch": 500}, folder / "scheduler.pt")
    torch.save({"python": (3, (1, 2), None), "cpu": torch.get_rng_state()}, folder / "rng_state.pth")
    (folder / "trainer_state.json").write_text(
        json.dumps({"epoch": 2.0, "global_step": 500, "log_history": [{"loss": 0.5}]})
    )
    ck = open_checkpoint(folder)
    assert ck.format == "hf-trainer"
    lay = recognise(ck)
    assert (lay.name, lay.epoch, lay.step, lay.optimizers) == ("hf-trainer", 2.0, 500, ["optimizer"])
    got = names_by_index(ck)
    truth = expected(opt, model)
    # safetensors sorts keys, so the model's order is lost: only unique shapes are named
    assert got[0] == ("conv.weight", "inferred") and got[4] == ("hidden.weight", "inferred")
    assert got[7] == ("head.bias", "inferred")
    assert all(c == "unknown" or n == truth[i] for i, (n, c) in got.items())
    node = ck.tensor_node("model/head.weight")
    assert torch.equal(torch.from_numpy(ck.array(node).copy()), model.head.weight.detach())


def test_ckpt_optimizer_json(tmp_path):
    model = Net()
    opt = torch.optim.AdamW(model.named_parameters())
    train(model, opt)
    p = tmp_path / "t.pt"
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict()}, p)
    r = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "optimizer", str(p), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    (m,) = json.loads(r.stdout)
    rec = m["records"][0]
    for key in ("index", "name", "confidence", "group", "shape", "state"):
        assert key in rec
    assert rec["name"] == "conv.weight" and rec["shape"] == [16, 8]
    assert rec["state"]["exp_avg"]["shape"] == [16, 8]


# ---- the real training checkpoints, mapping confidence checked by hand ---------------------

REAL_EXPECT = {
    # file: (layout, optimizer count, {index: name}, confidence of all indices)
    "tracel-ai__burn__checkpoint.pt": ("tutorial", 1, {0: "fc1.weight"}, "inferred"),
    "tarekbzahid__nn_adder__checkpoint_100.pth": ("common", 1, {}, "unknown"),  # momentum 0: no shapes
    "txie-93__cgcnn__band-gap.pth.tar": ("common", 1, {0: "embedding.weight", 29: "fc_out.bias"}, "inferred"),
    "douzaikongcheng__cifar10_pytorch_quantization_demo__checkpoint.pth.tar": (
        "common",
        1,
        {2: "feature1.1.weight", 13: "classifier.bias"},
        "inferred",
    ),
    "nathaniel-talip-ii__coe187-max78000-training-results__best.pth.tar": (
        "common",
        1,
        {0: "conv1.output_shift", 6: "conv1.op.weight", 48: "fc.op.weight"},
        "inferred",
    ),
    "luizamfsantos__long-short-lstm__last.ckpt": ("lightning", 1, {4: "linear.weight"}, "inferred"),
    "DanyaSH759__MLOps_homework__epoch=499-step=1500.ckpt": (
        "lightning",
        1,
        {0: "lstm.weight_ih_l0", 1: "lstm.weight_hh_l0"},
        "inferred",
    ),
}


@pytest.mark.parametrize("name", sorted(REAL_EXPECT))
def test_real_training_checkpoints(name):
    corpus_or_skip(REAL)
    ck = open_checkpoint(REAL / name)
    layout, n_opt, names, conf = REAL_EXPECT[name]
    lay = recognise(ck)
    assert lay.name == layout
    maps = optimizer_maps(ck, lay)
    assert len(maps) == n_opt
    slots = maps[0].slots  # in optimizer index order (legacy files key state by storage id)
    for i, n in names.items():
        assert slots[i].name == n
    assert {s.confidence for s in maps[0].slots} == {conf}


def test_mmengine_layout_and_hyper_parameter_values(tmp_path):
    from inspector.analysis.training import training_summary

    torch.manual_seed(3)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    train(model, opt)
    p = tmp_path / "epoch_12.pth"
    torch.save(
        {
            "meta": {"epoch": 12, "iter": 3000, "seed": 0},
            "state_dict": model.state_dict(),
            "optimizer": opt.state_dict(),
            "hparams": {"lr": 0.02, "arch": "net"},
        },
        p,
    )
    ck = open_checkpoint(p)
    t = training_summary(ck)
    assert (t["name"], t["epoch"], t["step"], t["weights"]) == ("mmengine", 12, 3000, "state_dict")
    assert t["hyper_parameter_values"] == {"lr": 0.02, "arch": "net"}
    assert t["optimizer_maps"][0]["confidence"] == {"inferred": 8}
