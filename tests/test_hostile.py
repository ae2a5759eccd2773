"""Hostile structure ends in a clean error or a bounded result, in bounded time and memory."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import textwrap
import time
import zipfile

import pytest
import torch

from inspector.formats import CheckpointError, LimitExceeded, Limits, TensorDataError, open_checkpoint


def torch_zip(
    path, data_pkl: bytes, records: dict[str, bytes] | None = None, compress: int = zipfile.ZIP_STORED
):
    with zipfile.ZipFile(path, "w", compress) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/version", "3\n")
        for k, v in (records or {}).items():
            z.writestr(f"archive/data/{k}", v)
    return path


def test_deep_nesting_is_cut_not_crashed(tmp_path):
    n = 200_000
    data = b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b"."
    p = torch_zip(tmp_path / "deep.pt", data)
    t0 = time.perf_counter()
    ck = open_checkpoint(p)
    assert time.perf_counter() - t0 < 30
    assert any("levels" in w for w in ck.warnings)
    assert max(node.depth for node in ck.root.walk()) <= Limits().max_depth + 1


def test_exponential_shared_references_stay_linear(tmp_path):
    # L0 = []; L(i) = [L(i-1), L(i-1)]: 2**60 leaves if expanded naively
    out = io.BytesIO()
    out.write(b"\x80\x02]q\x00")  # memo 0 = []
    for i in range(1, 61):
        out.write(b"]q" + bytes([i]) + b"(h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"e")
    out.write(b".")
    p = torch_zip(tmp_path / "laughs.pt", out.getvalue())
    t0 = time.perf_counter()
    ck = open_checkpoint(p)
    assert time.perf_counter() - t0 < 5
    assert sum(1 for _ in ck.root.walk()) < 200
    assert ck.find("1").kind == "ref"


def test_node_and_object_limits(tmp_path):
    p = tmp_path / "wide.pt"
    torch.save({f"k{i}": i for i in range(5000)}, p)
    ck = open_checkpoint(p, Limits(max_nodes=1000))
    assert len(ck.root.children) == 1000
    assert ck.warnings
    many = pickle.dumps([torch.nn.Identity() for _ in range(300)], protocol=2)
    q = torch_zip(tmp_path / "objs.pt", many)
    with pytest.raises(LimitExceeded, match="more than 100 objects"):
        open_checkpoint(q, Limits(max_objects=100))


def test_input_size_limit_and_zip_bomb(tmp_path):
    big = pickle.dumps(b"\x00" * (4 << 20), protocol=4)
    p = torch_zip(tmp_path / "bomb.pt", big, compress=zipfile.ZIP_DEFLATED)
    assert p.stat().st_size < 100_000  # 4 MB inflates from a few KB
    with pytest.raises(LimitExceeded, match="over the"):
        open_checkpoint(p, Limits(max_pickle_bytes=1 << 20))


MEMO_BOMB = textwrap.dedent("""
    import sys, zipfile, resource
    resource.setrlimit(resource.RLIMIT_AS, (12 << 30, 12 << 30))  # safety net for the test
    from inspector.formats import open_checkpoint, CheckpointError
    path = sys.argv[1]
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a/data.pkl", b"\\x80\\x02]r\\xff\\xff\\xff\\x7f.")
    try:
        open_checkpoint(path)
    except CheckpointError as exc:
        print("REFUSED", exc)
    with open("/proc/self/status") as fh:
        peak = [l for l in fh if l.startswith("VmHWM")][0].split()[1]
    print("PEAK_KB", peak)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA guard is Linux-only")
def test_memo_index_bomb_is_refused_without_touching_gigabytes(tmp_path):
    """LONG_BINPUT 0x7fffffff makes the C unpickler allocate a 16 GB memo table."""
    r = subprocess.run(
        [sys.executable, "-c", MEMO_BOMB, str(tmp_path / "memo.pt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "REFUSED" in r.stdout, r.stdout + r.stderr
    peak_kb = int(r.stdout.split("PEAK_KB")[1])
    assert peak_kb < 2 * 1024 * 1024, f"peak {peak_kb} kB"


def test_huge_declared_shape_and_offsets(tmp_path):
    from inspector.formats.stubs import TensorInfo

    p = tmp_path / "s.pt"
    torch.save({"t": torch.zeros(4)}, p)
    ck = open_checkpoint(p)
    t = ck.tensor_node("t").value
    evil = TensorInfo(t.storage, t.dtype, (1 << 40, 1 << 40), (1 << 40, 1), 0)
    with pytest.raises(TensorDataError):
        ck.array(evil)
    evil = TensorInfo(t.storage, t.dtype, (4,), (1,), 1 << 70)
    with pytest.raises(TensorDataError):
        ck.array(evil)
    assert ck.array(t).shape == (4,)


def test_storage_declaring_more_than_its_record(tmp_path):
    # data.pkl says 2**30 floats; the record holds 16 bytes
    p = tmp_path / "ok.pt"
    torch.save({"t": torch.zeros(4)}, p)
    with zipfile.ZipFile(p) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    # the pickle stores numel 4 as BININT1 \x04 right before the closing tuple of the pid
    pkl2 = pkl.replace(b"cpuq\x06K\x04t", b"cpuq\x06J\x00\x00\x00\x40t")
    assert pkl2 != pkl
    q = torch_zip(tmp_path / "liar.pt", pkl2, {"0": b"\x00" * 16})
    ck = open_checkpoint(q)
    with pytest.raises(TensorDataError, match="declares"):
        ck.array(ck.tensor_node("t"))


def test_random_bytes_and_garbage_pickles_fail_cleanly(tmp_path):
    import numpy as np

    rng = np.random.default_rng(7)
    for i in range(30):
        body = bytes(rng.integers(0, 256, int(rng.integers(10, 3000)), dtype=np.uint8))
        for data in (b"\x80\x02" + body, b"\x80\x04" + body):
            p = torch_zip(tmp_path / f"g{i}.pt", data)
            try:
                open_checkpoint(p)
            except CheckpointError as exc:
                assert "\n" not in str(exc)
