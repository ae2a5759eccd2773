"""Training layouts of more libraries, and bare optimizer files paired with a model file
(issue 13). Files are written with torch.save; library classes are stub classes named as
the libraries name them, registered under their module paths only while pickling."""

from __future__ import annotations

import argparse
import json
import sys
import types

import pytest
import torch
from torch import nn

from inspector.analysis.layouts import recognise
from inspector.analysis.training import optimizer_maps, training_summary
from inspector.cli import main
from inspector.formats import open_checkpoint


def train(model, opt, steps=2):
    for _ in range(steps):
        opt.zero_grad()
        model(torch.randn(5, 4)).square().mean().backward()
        opt.step()


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Linear(8, 3))


def truth(opt, model) -> list[str]:
    ids = {id(p): n for n, p in model.named_parameters()}
    return [ids[id(p)] for g in opt.param_groups for p in g["params"]]


def library_class(monkeypatch, path: str, name: str, base=object, attrs=None):
    """A class that pickles as `path.name` (the module tree exists only for this test)."""
    cls = type(name, (base,), dict(attrs or {}))
    cls.__module__, cls.__qualname__ = path, name
    parts = path.split(".")
    for i in range(len(parts)):
        mod = ".".join(parts[: i + 1])
        if mod not in sys.modules:
            monkeypatch.setitem(sys.modules, mod, types.ModuleType(mod))
    monkeypatch.setattr(sys.modules[path], name, cls, raising=False)
    return cls


# ---- 5. bare optimizer state files -------------------------------------------------------------


@pytest.mark.parametrize("cls", [torch.optim.Adam, torch.optim.AdamW, torch.optim.Rprop, torch.optim.ASGD])
def test_bare_optimizer_file_paired_with_its_model(tmp_path, cls, capsys):
    model = mlp()
    opt = cls(model.parameters(), lr=0.01)
    train(model, opt)
    o, m = tmp_path / "optimizer.pt", tmp_path / "pytorch_model.bin"
    torch.save(opt.state_dict(), o)
    torch.save(model.state_dict(), m)
    ck = open_checkpoint(o)
    assert recognise(ck).name == "optimizer"
    (alone,) = optimizer_maps(ck)
    assert len(alone.slots) == 6 and {s.confidence for s in alone.slots} == {"unknown"}
    (paired,) = optimizer_maps(ck, model=open_checkpoint(m))
    assert [s.name for s in paired.slots] == truth(opt, model)
    assert {s.confidence for s in paired.slots} == {"inferred"}
    assert main(["optimizer", str(o), "--model", str(m), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)[0]["records"]
    assert [r["name"] for r in records] == truth(opt, model)
    assert main(["optimizer", str(o)]) == 0
    assert "no optimizer state found" not in capsys.readouterr().out
    assert main(["info", str(o)]) == 0
    assert "--model MODEL_FILE" in capsys.readouterr().out


def test_optimizer_paired_with_a_whole_training_checkpoint_and_updates(tmp_path, capsys):
    model = mlp(1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train(model, opt)
    o, m = tmp_path / "optimizer.pt", tmp_path / "ckpt.pt"
    torch.save(opt.state_dict(), o)
    torch.save({"epoch": 2, "model_state_dict": model.state_dict()}, m)
    assert main(["optimizer", str(o), "--model", str(m), "--updates", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)[0]["rows"]
    assert sorted(r["name"] for r in rows) == sorted(truth(opt, model))
    w = model[0].weight.detach().double()
    row = next(r for r in rows if r["name"] == "0.weight")
    assert row["weight_rms"] == pytest.approx(w.square().mean().sqrt().item(), rel=1e-6)


# ---- 6. library layouts ---------------------------------------------------------------------------


def test_fairseq_layout(tmp_path):
    model = mlp(2)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    train(model, opt)
    p = tmp_path / "checkpoint_last.pt"
    torch.save(
        {
            "args": argparse.Namespace(arch="transformer", lr=[0.0005], max_tokens=4096),
            "model": model.state_dict(),
            "optimizer_history": [
                {
                    "criterion_name": "CrossEntropyCriterion",
                    "optimizer_name": "FairseqAdam",
                    "lr_scheduler_state": {"best": 3.2},
                    "num_updates": 1500,
                }
            ],
            "extra_state": {"train_iterator": {"epoch": 7, "iterations_in_epoch": 0}, "val_loss": 3.25},
            "last_optimizer_state": opt.state_dict(),
        },
        p,
    )
    t = training_summary(open_checkpoint(p))
    assert (t["name"], t["weights"], t["epoch"], t["step"]) == ("fairseq", "model", 7, 1500)
    assert t["optimizer_class"] == "FairseqAdam" and t["metrics"]["val_loss"] == 3.25
    assert t["hyper_parameters"] == "args" and t["hyper_parameter_values"]["arch"] == "transformer"
    assert t["optimizer_maps"][0]["confidence"] == {"inferred": 6}


def test_ultralytics_layout(tmp_path, monkeypatch):
    Detection = library_class(monkeypatch, "ultralytics.nn.tasks", "DetectionModel", nn.Sequential)
    torch.manual_seed(0)
    model = Detection(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
    ema = Detection(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1)).half()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(torch.randn(1, 3, 8, 8)).sum().backward()
    opt.step()
    p = tmp_path / "last.pt"
    torch.save(
        {
            "epoch": 41,
            "best_fitness": 0.61,
            "model": model,
            "ema": ema,
            "updates": 900,
            "optimizer": opt.state_dict(),
            "train_args": {"imgsz": 640, "batch": 16, "model": "yolov8n.yaml"},
            "train_metrics": {"metrics/mAP50(B)": 0.71, "val/box_loss": 1.2},
            "date": "2024-05-01T10:00:00",
            "version": "8.2.0",
        },
        p,
    )
    ck = open_checkpoint(p)
    assert ck.find("ema").type_name == "ultralytics.nn.tasks.DetectionModel"
    t = training_summary(ck)
    assert (t["name"], t["weights"], t["epoch"]) == ("ultralytics", "ema", 41)
    assert t["metrics"] == {"metrics/mAP50(B)": 0.71, "val/box_loss": 1.2, "best_fitness": 0.61}
    assert t["hyper_parameter_values"] == {"imgsz": 640, "batch": 16, "model": "yolov8n.yaml"}
    assert t["optimizers"] == ["optimizer"]


def test_mmengine_message_hub_layout(tmp_path):
    model = mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    train(model, opt)
    p = tmp_path / "iter_3000.pth"
    torch.save(
        {
            "meta": {"mmengine_version": "0.10.3", "cfg": "model = dict(type='X')"},
            "state_dict": model.state_dict(),
            "optimizer": opt.state_dict(),
            "message_hub": {
                "log_scalars": {},
                "runtime_info": {"epoch": 12, "iter": 3000},
                "resumed_keys": {},
            },
            "param_schedulers": [{"base_lrs": [0.02], "last_step": 3000}],
        },
        p,
    )
    t = training_summary(open_checkpoint(p))
    assert (t["name"], t["epoch"], t["step"], t["weights"]) == ("mmengine", 12, 3000, "state_dict")
    assert t["schedulers"] == ["param_schedulers"]
    assert t["optimizer_maps"][0]["confidence"] == {"inferred": 6}


def test_accelerate_random_states(tmp_path):
    import pickle
    import random

    import numpy as np

    p = tmp_path / "random_states_0.pkl"
    state = {
        "step": 0,
        "random_state": random.getstate(),
        "numpy_random_seed": np.random.get_state(),
        "torch_manual_seed": torch.get_rng_state(),
    }
    torch.save(state, p)
    assert recognise(open_checkpoint(p)).name == "accelerate-rng-state"
    p2 = tmp_path / "random_states_1.pkl"
    p2.write_bytes(
        pickle.dumps(
            {k: v for k, v in state.items() if k != "torch_manual_seed"}
            | {"torch_manual_seed": torch.get_rng_state().numpy()}
        )
    )
    assert recognise(open_checkpoint(p2)).name == "accelerate-rng-state"


def test_lightning_1x_optimizer_maps_in_model_order(tmp_path, monkeypatch):
    """Names in plain string order that is also their natural order (no sort happened, the
    model is simply built in that order - bias-free layers a, b, c, d): the optimizer maps
    cleanly in model order and must be 'inferred', not unknown by 'unique shape'."""
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(8, 8, bias=False)
            self.b = nn.Linear(8, 8, bias=False)
            self.c = nn.Linear(8, 8, bias=False)
            self.d = nn.Linear(8, 4, bias=False)

        def forward(self, x):
            return self.d(self.c(self.b(self.a(x))))

    net = Net()
    opt = torch.optim.Adam(net.parameters())
    opt.zero_grad()
    net(torch.randn(3, 8)).sum().backward()
    opt.step()
    Checkpoint = library_class(monkeypatch, "pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint")
    p = tmp_path / "epoch=3.ckpt"
    sd = {f"model.{k}": v for k, v in net.state_dict().items()}
    assert list(sd) == sorted(sd)
    torch.save(
        {
            "epoch": 3,
            "global_step": 120,
            "pytorch-lightning_version": "1.3.8",
            "state_dict": sd,
            "callbacks": {Checkpoint: {"best_model_score": torch.tensor(0.5), "monitor": "val_acc"}},
            "optimizer_states": [opt.state_dict()],
            "lr_schedulers": [],
            "hparams_name": "kwargs",
            "hyper_parameters": {"lr": 1e-3},
        },
        p,
    )
    ck = open_checkpoint(p)
    t = training_summary(ck)
    assert (t["name"], t["epoch"], t["step"]) == ("lightning", 3, 120)
    assert t["metrics"]["best val_acc"] == 0.5
    (m,) = optimizer_maps(ck)
    assert [s.name for s in m.slots] == [f"model.{n}" for n in truth(opt, net)]
    assert {s.confidence for s in m.slots} == {"inferred"}


def test_sorted_writer_keys_still_use_unique_shapes(tmp_path):
    """safetensors sorts keys: same-shaped layers must not be named by position."""
    from safetensors.torch import save_file

    net = nn.Sequential(*[nn.Linear(8, 8) for _ in range(3)])
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(2, 8)).sum().backward()
    opt.step()
    m, o = tmp_path / "model.safetensors", tmp_path / "optimizer.pt"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(m))
    torch.save(opt.state_dict(), o)
    (mp,) = optimizer_maps(open_checkpoint(o), model=open_checkpoint(m))
    assert {s.confidence for s in mp.slots} == {"unknown"}


def test_accelerate_save_state_folder_opens_as_one_training_state(tmp_path):
    import random

    import numpy as np
    from safetensors.torch import save_file

    model = mlp(4)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    train(model, opt)
    d = tmp_path / "checkpoint_3"
    d.mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(d / "model.safetensors"))
    torch.save(opt.state_dict(), d / "optimizer.bin")
    torch.save({"base_lrs": [1e-3], "last_epoch": 3}, d / "scheduler.bin")
    torch.save(
        {
            "random_state": random.getstate(),
            "numpy_random_seed": np.random.get_state(),
            "torch_manual_seed": torch.get_rng_state(),
        },
        d / "random_states_0.pkl",
    )
    ck = open_checkpoint(d)
    assert ck.format == "hf-trainer" and not ck.warnings
    t = training_summary(ck)
    assert t["optimizers"] == ["optimizer"] and t["schedulers"] == ["scheduler"]
    assert ck.find("rng_state/torch_manual_seed").kind == "tensor"
    assert t["optimizer_maps"][0]["parameters"] == 6


def test_yolov5_layout(tmp_path, monkeypatch):
    Model = library_class(monkeypatch, "models.yolo", "Model", nn.Sequential)
    torch.manual_seed(0)
    model = Model(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    p = tmp_path / "last.pt"
    import copy

    torch.save(
        {
            "epoch": 5,
            "best_fitness": 0.3,
            "model": model,
            "ema": copy.deepcopy(model),
            "updates": 100,
            "optimizer": opt.state_dict(),
            "opt": {"img_size": [640, 640], "epochs": 300},
            "git": None,
            "date": "2023-01-01",
        },
        p,
    )
    ck = open_checkpoint(p)
    t = training_summary(ck)
    assert (t["name"], t["weights"], t["epoch"], t["hyper_parameters"]) == ("ultralytics", "ema", 5, "opt")
    assert ck.find("model").type_name == "models.yolo.Model"


def test_exported_optimizer_with_text_indices_and_a_wrapper(tmp_path, capsys):
    """Exporters that write indices as text ("0") and files that wrap the state one level
    down ({"optimizer": {...}}) still map, and say how to name them."""
    model = mlp(5)
    opt = torch.optim.Adam(model.parameters())
    train(model, opt)
    sd = opt.state_dict()
    text = {
        "state": {str(k): v for k, v in sd["state"].items()},
        "param_groups": [dict(g, params=[str(i) for i in g["params"]]) for g in sd["param_groups"]],
    }
    o, m = tmp_path / "opt.pt", tmp_path / "model.pt"
    torch.save({"optimizer": text, "iteration": 7}, o)
    torch.save(model.state_dict(), m)
    (alone,) = optimizer_maps(open_checkpoint(o))
    assert len(alone.slots) == 6 and "pair it with its model file" in alone.method
    (paired,) = optimizer_maps(open_checkpoint(o), model=open_checkpoint(m))
    assert [s.name for s in paired.slots] == truth(opt, model)


def test_fairseq_with_omegaconf_cfg(tmp_path, monkeypatch):
    DictConfig = library_class(monkeypatch, "omegaconf.dictconfig", "DictConfig")
    cfg = DictConfig()
    cfg.__dict__.update({"_content": {"model": {"arch": "transformer_lm"}}, "_flags_cache": None})
    model = mlp(6)
    opt = torch.optim.Adam(model.parameters())
    train(model, opt)
    p = tmp_path / "checkpoint_best.pt"
    torch.save(
        {
            "args": None,
            "cfg": cfg,
            "model": model.state_dict(),
            "optimizer_history": [{"optimizer_name": "FairseqAdam", "num_updates": 42}],
            "extra_state": {"train_iterator": {"epoch": 2}},
            "last_optimizer_state": opt.state_dict(),
        },
        p,
    )
    ck = open_checkpoint(p)
    t = training_summary(ck)
    assert (t["name"], t["hyper_parameters"], t["step"], t["epoch"]) == ("fairseq", "cfg", 42, 2)
    assert ck.find("cfg").type_name == "omegaconf.dictconfig.DictConfig"
    assert t["optimizer_maps"][0]["confidence"] == {"inferred": 6}


def test_optimizer_state_a_few_levels_down(tmp_path):
    """DeepSpeed-style: the torch optimizer's state inside a wrapper's state."""
    model = mlp(7)
    opt = torch.optim.Adam(model.parameters())
    train(model, opt)
    p = tmp_path / "zero_pp_rank_0_mp_rank_00_optim_states.pt"
    torch.save(
        {
            "optimizer_state_dict": {
                "loss_scaler": 1024.0,
                "dynamic_loss_scale": True,
                "base_optimizer_state": opt.state_dict(),
            },
            "ds_version": "0.14.0",
        },
        p,
    )
    ck = open_checkpoint(p)
    assert recognise(ck).optimizers == ["optimizer_state_dict/base_optimizer_state"]
    m = tmp_path / "model.pt"
    torch.save(model.state_dict(), m)
    (paired,) = optimizer_maps(ck, model=open_checkpoint(m))
    assert [s.name for s in paired.slots] == truth(opt, model)
