"""A demo training checkpoint, made with torch from a few real optimisation steps.

A small convolutional classifier (conv, batch norm, linear) trained for a few Adam steps
with two parameter groups on random data, saved in the PyTorch tutorial layout with
epoch, step, loss history, a scheduler state and hyper-parameters - what a user's own
run would write.
"""

from __future__ import annotations

import os
import tempfile


def demo_path() -> str:
    """The demo checkpoint in the user's cache folder, written the first time it is asked for."""
    folder = os.path.join(os.path.expanduser("~"), ".cache", "checkpoint-inspector")
    path = os.path.join(folder, "demo_checkpoint.pt")
    if not os.path.exists(path):
        write_demo(path)
    return path


def demo_model(classes: int = 10):
    """The demo's small CNN (a torch nn.Sequential), `classes` outputs wide."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(32 * 16, 128),
        nn.ReLU(),
        nn.Linear(128, classes),
    )


def write_demo(path: str, steps: int = 20) -> str:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = demo_model()
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=3e-3
    )
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    losses = []
    for _ in range(steps):
        x = torch.randn(32, 3, 16, 16)
        y = torch.randint(0, 10, (32,))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(round(loss.item(), 4))
    ckpt = {
        "epoch": 4,
        "global_step": steps,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "lr_scheduler": sched.state_dict(),
        "loss": losses[-1],
        "loss_history": losses,
        "hyper_parameters": {"lr": 3e-3, "batch_size": 32, "weight_decay": 0.05, "model": "small-cnn"},
        "ema_head_bf16": model[-1].weight.detach().to(torch.bfloat16),
    }
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".demo-", dir=folder) as tmpdir:
        tmp = os.path.join(tmpdir, os.path.basename(path))  # torch names the archive root after it
        torch.save(ckpt, tmp)
        os.replace(tmp, path)
    return path
