"""`ckpt scan`, `ckpt info` and the window agree on every folder the window opens (Trainer
checkpoint-N, shard-index folder, folder holding only model.pt, DCP folder, epoch folder):
the same verdict, benign and with one hostile member whose pickle calls os.system (a
harmless payload, built by hand and never loaded)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent / "adversarial"))
import own_samples


def run_cli(*argv) -> tuple[int, str]:
    """`ckpt` in this process; a one-line error (CheckpointError) is exit code 2."""
    from inspector import cli, cli_common

    out = io.StringIO()
    saved = cli_common.quiet_stderr
    cli_common.quiet_stderr = contextlib.nullcontext
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = cli.main([str(a) for a in argv])
    finally:
        cli_common.quiet_stderr = saved
    return code, out.getvalue()


def hostile() -> bytes:
    return own_samples.torch_zip(own_samples.pickle_of(own_samples.shell()))


def folders(d: Path) -> dict[str, tuple[Path, Path]]:
    """name -> (folder, the member a hostile variant replaces)."""
    sd = {"w": torch.arange(6.0)}
    out = {}
    tr = d / "checkpoint-500"
    tr.mkdir()
    save_file(sd, str(tr / "model.safetensors"))
    torch.save(
        {"state": {0: {"step": torch.tensor(1.0)}}, "param_groups": [{"params": [0]}]}, tr / "optimizer.pt"
    )
    torch.save({"last_epoch": 1}, tr / "scheduler.pt")
    (tr / "trainer_state.json").write_text(json.dumps({"global_step": 500}))
    out["trainer"] = (tr, tr / "optimizer.pt")
    idx = d / "sharded"
    idx.mkdir()
    torch.save(sd, idx / "pytorch_model-00001-of-00001.bin")
    (idx / "pytorch_model.bin.index.json").write_text(
        json.dumps({"weight_map": {"w": "pytorch_model-00001-of-00001.bin"}})
    )
    out["shard-index"] = (idx, idx / "pytorch_model-00001-of-00001.bin")
    pt = d / "only_pt"
    pt.mkdir()
    torch.save(sd, pt / "model.pt")
    out["model.pt"] = (pt, pt / "model.pt")
    import torch.distributed.checkpoint as dcp

    dcp.save({"w": torch.arange(4.0), "extra": {"note": "x"}}, checkpoint_id=str(d / "dcp"))
    out["dcp"] = (d / "dcp", d / "dcp" / ".metadata")
    ep = d / "run"
    ep.mkdir()
    for i in (1, 2):
        torch.save({"epoch": i, "w": torch.full((3,), float(i))}, ep / f"epoch_{i}.pt")
    out["epochs"] = (ep, ep / "epoch_2.pt")
    return out


def window_verdict(folder: Path) -> str:
    """What the window shows: the folder as one entry, or (an epoch folder) each file;
    the worst of them."""
    from inspector.analysis.verdict import RANK
    from inspector.gui.loader import expand_folders, load

    verdicts = [load(p).verdict.verdict for p in expand_folders([str(folder)])]
    return max(verdicts, key=lambda v: RANK[v])


def agree(folder: Path) -> str:
    code, out = run_cli("scan", folder, "--json")
    scanned = json.loads(out)[0]["verdict"]
    info_code, info = run_cli("info", folder, "--json")
    if not info and scanned == "safe":  # an epoch folder is no one checkpoint: a one-line error
        assert info_code == 2 and folder.name == "run"
        shown = "safe"
    else:
        shown = json.loads(info)["verdict"]
    assert scanned == shown == window_verdict(folder), (folder, scanned, shown)
    assert code == (1 if scanned in ("dangerous", "unverified") else 0)
    return scanned


def test_scan_info_and_window_agree_on_every_folder(tmp_path):
    for name, (folder, member) in folders(tmp_path).items():
        assert agree(folder) == "safe", name
        member.write_bytes(hostile())
        assert agree(folder) == "dangerous", name
