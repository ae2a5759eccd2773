"""The `ckpt` command: JSON contracts, exit codes, one-line errors and no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from helpers import saved_as, tutorial_checkpoint


def ckpt(*args, check_code: int | None = 0):
    r = subprocess.run(
        [sys.executable, "-m", "inspector.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if check_code is not None:
        assert r.returncode == check_code, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    return r


@pytest.fixture(scope="module")
def training_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "train.pt"
    with saved_as("cuda:0"):
        torch.save(tutorial_checkpoint(), p)
    return p


def test_info_json_has_the_contract_fields(training_file):
    info = json.loads(ckpt("info", training_file, "--json").stdout)
    for key in (
        "format",
        "file_size",
        "tensor_count",
        "storage_count",
        "numel_total",
        "bytes_total",
        "dtypes",
        "devices",
        "top_level",
        "verdict",
    ):
        assert key in info, key
    ref = torch.load(training_file, weights_only=True, map_location="cpu")
    tensors = [t for t in ref["model_state_dict"].values()] + [
        v for st in ref["optimizer_state_dict"]["state"].values() for v in st.values()
    ]
    assert info["format"] == "zip"
    assert info["tensor_count"] == len(tensors)
    assert info["numel_total"] == sum(t.numel() for t in tensors)
    assert info["bytes_total"] == sum(t.untyped_storage().nbytes() for t in tensors)
    assert info["devices"] == {"cuda:0": len(tensors)}
    assert info["top_level"] == ["epoch", "model_state_dict", "optimizer_state_dict", "loss"]
    assert info["verdict"] == "safe"
    assert info["file_size"] == training_file.stat().st_size


def test_tree_paths_join_levels_with_slash(training_file):
    tree = json.loads(ckpt("tree", training_file, "--json").stdout)
    paths = []

    def walk(n):
        paths.append(n["path"])
        for c in n.get("children", []):
            walk(c)

    walk(tree)
    assert "model_state_dict/0.weight" in paths
    assert "optimizer_state_dict/state/0/exp_avg" in paths
    text = ckpt("tree", training_file, "--depth", "1").stdout
    assert "model_state_dict" in text and "0.weight" not in text


def test_stats_json_matches_torch(training_file):
    out = json.loads(
        ckpt("stats", training_file, "model_state_dict/0.weight", "--json", "--bins", "16").stdout
    )
    w = torch.load(training_file, weights_only=True, map_location="cpu")["model_state_dict"]["0.weight"]
    for key in ("dtype", "shape", "numel", "min", "max", "mean", "std", "zeros", "nan", "inf", "histogram"):
        assert key in out
    assert out["shape"] == [16, 8] and out["numel"] == 128 and out["dtype"] == "float32"
    assert out["min"] == pytest.approx(w.min().item())
    assert out["mean"] == pytest.approx(w.double().mean().item())
    assert sum(out["histogram"]["counts"]) + out["nan"] + out["inf"] == 128
    assert len(out["histogram"]["edges"]) == 17


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"", "empty"),
        (b"abc", "3 bytes"),
        (b"\x89PNG\r\n\x1a\n" + bytes(30), "PNG"),
        (b"PK\x03\x04" + bytes(100), "zip"),
        (b"\x80\x02" + bytes(100), "pickle"),
    ],
)
def test_bad_input_exit_2_one_line(tmp_path, content, needle):
    p = tmp_path / "bad.pt"
    p.write_bytes(content)
    for cmd in ("info", "tree"):
        r = ckpt(cmd, p, check_code=2)
        assert r.stderr.count("\n") == 1 and needle in r.stderr, r.stderr
        assert r.stdout == ""


def test_missing_file_unknown_key_and_usage_errors(training_file, tmp_path):
    r = ckpt("info", tmp_path / "nope.pt", check_code=2)
    assert "no such file" in r.stderr
    r = ckpt("stats", training_file, "model_state_dict/nope", check_code=2)
    assert "no entry named" in r.stderr
    r = ckpt("stats", training_file, "model_state_dict", check_code=2)
    assert "not a tensor" in r.stderr
    r = ckpt("bogus", check_code=2)
    assert r.stderr.count("\n") == 1


def test_scan_exit_codes(training_file, tmp_path):
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    assert ckpt("scan", training_file).returncode == 0
    r = ckpt("scan", training_file, evil, "--json", check_code=1)
    rows = json.loads(r.stdout)
    assert rows[1]["verdict"] == "dangerous"
    assert any(g["module"] == "os" and g["name"] == "system" and g["called"] for g in rows[1]["globals"])
    (tmp_path / "x.pt").write_bytes(b"")
    ckpt("scan", evil, tmp_path / "x.pt", check_code=2)


def test_hostile_length_still_gives_exactly_one_line(tmp_path):
    """A BYTEARRAY8 claiming a terabyte: refused by the heap cap; CPython's own complaint
    about the half-built bytearray does not reach the user's terminal."""
    import zipfile

    p = tmp_path / "bomb.pt"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x05\x96" + (1 << 40).to_bytes(8, "little") + b"abc.")
    r = ckpt("info", p, check_code=2)
    assert r.stderr.count("\n") == 1 and "memory" in r.stderr, r.stderr
