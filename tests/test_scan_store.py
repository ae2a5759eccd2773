"""`ckpt scan -r`: a whole store judged in worker processes; one bad file never stops it."""

from __future__ import annotations

import json
import os
import sys
import time

import hostile_files as H
import pytest
import torch
from helpers import tutorial_checkpoint

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork, mkfifo: Linux")

# a pickle that would call os.system('echo pwned') - written as bytes, never loaded
EVIL = b"\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "store"
    (root / "team" / "run1").mkdir(parents=True)
    torch.save(tutorial_checkpoint(), root / "team" / "run1" / "last.pt")
    torch.save({"w": torch.zeros(3)}, root / "weights.pt")
    (root / "team" / "evil.pkl").write_bytes(EVIL)
    (root / "README.md").write_text("# models\n")
    os.symlink(root / "weights.pt", root / "team" / "alias.pt")  # same file: judged once
    os.mkfifo(root / "team" / "pipe.pt")  # refused, never blocks the walk or a worker
    import torch.distributed.checkpoint as dcp

    dcp.save({"w": torch.arange(4.0)}, checkpoint_id=str(root / "dcp"))  # one item, not its files
    return root


def test_jsonl_store_in_parallel(store):
    rc, out, err, took, peak = H.run_ckpt(["scan", "-r", str(store), "--jobs", "2", "--jsonl"], timeout=300)
    lines = [json.loads(line) for line in out.splitlines()]
    by = {os.path.relpath(r["file"], store): r for r in lines}
    assert set(by) == {
        "team/run1/last.pt",
        "weights.pt",
        "team/evil.pkl",
        "README.md",
        "team/pipe.pt",
        "dcp",
    }, by.keys()
    assert by["team/evil.pkl"]["verdict"] == "dangerous"
    assert any(g["module"] == "posix" and g["name"] == "system" for g in by["team/evil.pkl"]["globals"])
    assert by["weights.pt"]["verdict"] == "safe" and by["team/run1/last.pt"]["verdict"] == "safe"
    assert by["dcp"]["verdict"] != "unreadable"
    assert by["team/pipe.pt"]["verdict"] == "unreadable" and "named pipe" in by["team/pipe.pt"]["error"]
    assert by["README.md"]["verdict"] == "unreadable"
    summary = json.loads(err.strip().splitlines()[-1])["summary"]
    assert summary["items"] == 6 and summary["verdicts"]["dangerous"] == 1 and summary["jobs"] == 2
    assert rc == 1  # something dangerous


def test_text_mode_summary_and_exit_codes(store, tmp_path):
    os.remove(store / "team" / "evil.pkl")
    rc, out, err, _, _ = H.run_ckpt(["scan", "-r", str(store), "-j", "2"], timeout=300)
    lines = out.strip().splitlines()
    assert rc == 0, err
    assert lines[-1].startswith("5 items judged in ") and "with 2 workers" in lines[-1]
    assert any(line.endswith("weights.pt: safe") for line in lines)
    rc, out, err, _, _ = H.run_ckpt(["scan", "-r", str(tmp_path / "nowhere")], timeout=60)
    assert rc == 2 and "no such file or folder" in err  # the run itself could not be made


def test_a_worker_that_hangs_dies_or_runs_out_of_memory_costs_only_its_file(store, monkeypatch):
    """Faults injected into the judge (workers are forked, so they inherit the patch)."""
    from inspector import cli_scan_store as cli_scan
    from inspector.analysis import inspection  # the workers judge through the inspection

    real = inspection.scan_file

    def faulty(path, *a, **k):
        name = os.path.basename(path)
        if name == "hang.pt":
            time.sleep(120)
        if name == "die.pt":
            os._exit(7)
        if name == "hog.pt":
            return bytearray(2 << 30)  # over the worker's address-space cap: MemoryError
        return real(path, *a, **k)

    monkeypatch.setattr(inspection, "scan_file", faulty)
    for name in ("hang.pt", "die.pt", "hog.pt"):
        (store / name).write_bytes(b"x" * 100)
    got = {}
    t0 = time.monotonic()
    cli_scan.run_pool(
        iter(sorted(str(p) for p in store.glob("*.pt"))),
        jobs=2,
        timeout=3.0,
        memory_mb=1024,
        emit=lambda path, r: got.setdefault(os.path.basename(path), r),
    )
    assert time.monotonic() - t0 < 60  # the hanging worker was stopped, not waited for
    assert set(got) == {"hang.pt", "die.pt", "hog.pt", "weights.pt"}
    assert "longer than 3 s" in got["hang.pt"]["error"] and got["hang.pt"]["verdict"] == "unreadable"
    assert "died (exit 7)" in got["die.pt"]["error"]
    assert "more memory" in got["hog.pt"]["error"]
    assert got["weights.pt"]["verdict"] == "safe"  # judged by a replacement worker


def test_items_walk_dcp_as_one_and_links_once(store):
    from inspector.cli_scan_store import items

    found = [os.path.relpath(p, store) for p, problem in items([str(store)], True)]
    assert "dcp" in found and not any(f.startswith("dcp/") for f in found)
    assert ("team/alias.pt" in found) != ("weights.pt" in found)  # one of the two names
    assert len(found) == len(set(found)) == 6


def test_shards_of_a_file_list_concatenate_to_the_whole(store):
    """The unit of work for many machines: `ckpt scan --jsonl FILE...` per shard of a file
    list (README: GNU parallel / xargs / Ray / Spark); the shards' lines add up to -r's."""
    import zlib

    from inspector.cli_scan_store import items

    paths = [p for p, _ in items([str(store)], True)]
    shards: dict[int, list[str]] = {}
    for p in paths:
        shards.setdefault(zlib.crc32(p.encode()) % 3, []).append(p)
    lines = []
    for part in shards.values():
        rc, out, err, _, _ = H.run_ckpt(["scan", "--jsonl", "--jobs", "1", *part], timeout=300)
        lines += [json.loads(line) for line in out.splitlines()]
        assert json.loads(err.strip().splitlines()[-1])["summary"]["items"] == len(part)
    rc, out, _, _, _ = H.run_ckpt(["scan", "-r", "--jsonl", str(store)], timeout=300)
    whole = [json.loads(line) for line in out.splitlines()]
    key = lambda r: (r["file"], r["verdict"])  # noqa: E731
    assert sorted(map(key, lines)) == sorted(map(key, whole))
