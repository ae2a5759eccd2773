"""TorchScript archives (torch.jit.save): the model's data.pkl, constants.pkl and
bytecode.pkl read with our unpickler, and its `code/` as text; nothing is compiled or run.
Its own module so that the archive readers and the bundle reader (a TorchScript file
inside a zip of torch files) both read it without importing each other."""

from __future__ import annotations

from .stubs import SourceText

MAX_CODE = 4 << 20


def code_texts(c) -> dict:
    """`code/` of the archive: path -> SourceText (debug pickles left out)."""
    out = {}
    for n in c.names:
        rel = n[len(c.root) :]
        if rel.startswith("code/") and not rel.endswith(".debug_pkl"):
            data = c.read_member(n, n, MAX_CODE)
            out[rel[len("code/") :]] = SourceText(rel, data.decode("utf-8", "replace"))
    return out


def read_torchscript(c) -> dict:
    out = {"model": c.load("data.pkl")}
    if c.root + "constants.pkl" in c.members:
        out["constants"] = c.load("constants.pkl", records="constants/")
    if c.root + "bytecode.pkl" in c.members:
        out["bytecode"] = c.load("bytecode.pkl", records="constants/")
    code = code_texts(c)
    if code:
        out["code"] = code
    return out
