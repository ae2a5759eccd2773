"""The parsed tree is kept out of the cyclic collector's sight while its checkpoint is open
(limits.gc_paused) and handed back on close: nothing is leaked, nothing is frozen after a
failed parse or a verdict alone."""

from __future__ import annotations

import gc

import torch

from inspector.analysis.inspection import VERDICT, inspect
from inspector.formats import CheckpointError, open_checkpoint
from inspector.formats.tree import Node


def _nodes() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Node)


def test_open_freezes_close_releases(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"w": [torch.zeros(2) for _ in range(50)], "cfg": {"lr": 0.1}}, path)
    gc.unfreeze()
    before = _nodes()
    ck = open_checkpoint(path)
    assert gc.get_freeze_count() > 0  # the tree: out of the collector's sight
    assert gc.isenabled()  # collection itself resumed
    ck.close()
    assert gc.get_freeze_count() == 0
    del ck
    assert _nodes() == before  # the closed tree (parent <-> children cycles) is collected


def test_nothing_frozen_after_a_failure_or_a_verdict(tmp_path):
    gc.unfreeze()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    try:
        open_checkpoint(bad)
    except CheckpointError:
        pass
    assert gc.get_freeze_count() == 0
    good = tmp_path / "g.pt"
    torch.save({"w": torch.zeros(3)}, good)
    found = inspect(good, need=VERDICT)
    assert found.verdict is not None and found.verdict.verdict == "safe"
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
