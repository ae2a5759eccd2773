"""Shared test helpers: fixture checkpoints made with torch, an audit hook, corpus paths."""

from __future__ import annotations

import contextlib
import io
import os
import pickletools
import struct
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus"
REAL = CORPUS / "real"
SECURITY = CORPUS / "security"


def corpus_or_skip(path: Path) -> Path:
    import pytest

    if not path.exists():
        pytest.skip(f"{path} is absent (the shared corpus lies beside the checkout in CI)")
    return path


# ---- device tags on a CPU-only machine (docs/FACTS.md) -----------------------------------------

_forced_tag: list[str] = []


def _tagger(obj):
    if _forced_tag:
        return _forced_tag[-1]
    return None


_registered = False


@contextlib.contextmanager
def saved_as(device: str):
    """While active, torch.save records every storage's location as `device`."""
    import torch

    global _registered
    if not _registered:
        torch.serialization.register_package(0, _tagger, lambda storage, location: None)
        _registered = True
    _forced_tag.append(device)
    try:
        yield
    finally:
        _forced_tag.pop()


# ---- small models -------------------------------------------------------------------------


def make_mlp(seed: int = 0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 4))


def tutorial_checkpoint(steps: int = 2):
    """The PyTorch tutorial layout after real Adam steps."""
    import torch

    model = make_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        opt.zero_grad()
        model(torch.randn(5, 8)).pow(2).mean().backward()
        opt.step()
    return {
        "epoch": 3,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "loss": 0.25,
    }


def flatten(obj, prefix=""):
    """tree path -> value for what torch.load returns (the paths our tree uses)."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}/"))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}{i}/"))
    else:
        out[prefix.rstrip("/")] = obj
    return out


def tensors_of(obj) -> dict:
    import torch

    return {k: v for k, v in flatten(obj).items() if isinstance(v, torch.Tensor)}


# ---- audit hook ---------------------------------------------------------------------------


class Audit:
    """Records (and blocks) process, socket, write and import events while active."""

    def __init__(self):
        self.active = False
        self.events: list[tuple] = []
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if not self.active:
            return
        bad = None
        if event in (
            "subprocess.Popen",
            "os.system",
            "os.exec",
            "os.spawn",
            "os.posix_spawn",
            "os.fork",
            "os.forkpty",
            "pty.spawn",
            "ctypes.dlopen",
            "socket.connect",
            "socket.bind",
            "socket.getaddrinfo",
            "webbrowser.open",
            "os.startfile",
            "urllib.Request",
            "os.remove",
            "os.rename",
            "os.mkdir",
            "shutil.rmtree",
        ):
            bad = (event, repr(args)[:200])
        elif event == "open":
            path, mode, flags = (list(args) + [None, None, None])[:3]
            write = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if write:
                bad = (event, repr(args)[:200])
        elif event == "import":
            self.events.append(("import", args[0]))
        if bad:
            self.events.append(bad)
            raise RuntimeError(f"audit: blocked {bad[0]}")

    @contextlib.contextmanager
    def watch(self):
        self.events = []
        before = set(sys.modules)
        self.active = True
        try:
            yield self
        finally:
            self.active = False
            self.new_modules = set(sys.modules) - before

    def violations(self) -> list[tuple]:
        return [e for e in self.events if e[0] != "import"]


_audit: Audit | None = None


def audit() -> Audit:
    global _audit
    if _audit is None:
        _audit = Audit()
    return _audit


# ---- Python 2 style pickles ---------------------------------------------------------------


def py2ify(data: bytes, encoding: str = "utf-8") -> bytes:
    """Rewrite a protocol-2 pickle as Python 2 wrote it: text as byte strings
    (SHORT_BINSTRING/BINSTRING) and `__builtin__`/`copy_reg` module names."""
    out = io.BytesIO()
    ops = list(pickletools.genops(data))
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(data)
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE"):
            raw = arg.encode(encoding)
            if len(raw) < 256:
                out.write(b"U" + bytes([len(raw)]) + raw)
            else:
                out.write(b"T" + struct.pack("<i", len(raw)) + raw)
        elif op.name == "GLOBAL":
            module, name = arg.split(" ")
            module = {"builtins": "__builtin__", "copyreg": "copy_reg"}.get(module, module)
            out.write(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
        else:
            out.write(data[pos:end])
    return out.getvalue()
