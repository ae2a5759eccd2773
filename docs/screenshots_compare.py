"""Render docs/screenshot-compare.png and docs/screenshot-progression.png offscreen.

A DDP-trained model saved with torch.save against its fine-tuned export in safetensors
(new head, two blocks trained), and an 8-epoch run with a frozen embedding and one layer
whose learning rate is far too high.

    QT_QPA_PLATFORM=offscreen python docs/screenshots_compare.py [WORKDIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import torch
from safetensors.torch import save_file
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def net(seed=0, classes=10):
    torch.manual_seed(seed)
    layers = [nn.Embedding(500, 64), nn.Flatten()]
    blocks = [nn.Linear(64 * 8, 256)] + [nn.Linear(256, 256) for _ in range(5)]
    for b in blocks:
        layers += [b, nn.LayerNorm(b.out_features), nn.GELU()]
    layers.append(nn.Linear(256, classes))
    return nn.Sequential(*layers)


def train(m, params, steps, lr=1e-3, groups=None):
    opt = torch.optim.Adam(groups or [{"params": params, "lr": lr}])
    for _ in range(steps):
        opt.zero_grad()
        x = torch.randint(0, 500, (32, 8))
        m(x).logsumexp(-1).mean().backward()
        opt.step()
    return opt


def make_files(work: str):
    m = net()
    train(m, m.parameters(), 20)
    a = os.path.join(work, "pretrained_ddp.pt")
    torch.save(
        {
            "epoch": 30,
            "model_state_dict": {"module." + k: v for k, v in m.state_dict().items()},
            "args": {"lr": 1e-3, "batch_size": 32},
        },
        a,
    )
    m[-1] = nn.Linear(256, 4)  # a new head for 4 classes
    trainable = [p for layer in list(m)[-7:] for p in layer.parameters()]
    train(m, trainable, 30)
    b = os.path.join(work, "finetuned.safetensors")
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, b)

    run = os.path.join(work, "run")
    os.makedirs(run, exist_ok=True)
    m = net(1)
    m[0].weight.requires_grad_(False)  # a frozen embedding
    hot = [(n, p) for n, p in m.named_parameters() if n.startswith("5.")]
    rest = [(n, p) for n, p in m.named_parameters() if p.requires_grad and not n.startswith("5.")]
    opt = torch.optim.Adam([{"params": rest, "lr": 1e-3}, {"params": hot, "lr": 1e-3}])
    for e in range(8):
        if e == 4:
            opt.param_groups[1]["lr"] = 20.0  # a learning-rate spike on one layer
        for _ in range(10):
            opt.zero_grad()
            m(torch.randint(0, 500, (32, 8))).logsumexp(-1).mean().backward()
            opt.step()
        torch.save(
            {"epoch": e, "model_state_dict": m.state_dict(), "optimizer_state_dict": opt.state_dict()},
            os.path.join(run, f"epoch_{e}.pt"),
        )
    return a, b, run


def wait(app, cond, timeout=120):
    t = time.time()
    while not cond() and time.time() - t < timeout:
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("CHECKPOINT_INSPECTOR_SETTINGS", os.path.join(work, "settings"))
    a, b, run = make_files(work)
    from PySide6.QtWidgets import QApplication

    from inspector.analysis.progression import run_files
    from inspector.gui.compare_actions import compare_files, show_progression
    from inspector.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    w = MainWindow()
    view = compare_files(w, a, b)
    view.resize(1400, 860)
    wait(app, lambda: view.done)
    view.select_key("17.weight")
    wait(app, lambda: view.detail is not None)
    app.processEvents()
    view.grab().save(os.path.join(HERE, "screenshot-compare.png"))
    pv = show_progression(w, run_files([run]))
    pv.resize(1400, 900)
    wait(app, lambda: pv.done)
    pv.select_layer("5.weight")
    wait(app, lambda: pv.ridge is not None)
    app.processEvents()
    pv.grab().save(os.path.join(HERE, "screenshot-progression.png"))
    print(view.result.summary())
    print({c.key: c.status for c in pv.result.layers if c.status != "ok"})


if __name__ == "__main__":
    main()
