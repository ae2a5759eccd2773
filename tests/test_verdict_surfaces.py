"""The verdict where users meet it: `ckpt scan`, `ckpt info`, `ckpt tree`, `ckpt stats`,
`ckpt export` with and without trust, agree with each other and run nothing (audit hook +
sentinel); folders are judged by the files their format loads."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import audit

sys.path.insert(0, str(Path(__file__).parent / "adversarial"))
import own_samples


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("own")
    recs = own_samples.generate(str(out))
    return out, recs


def run_cli(*argv) -> tuple[int, str, str]:
    """`ckpt` in this process (so the audit hook sees it); its redirection of C-level
    stderr to /dev/null, an open for writing, is left out."""
    from inspector import cli, cli_common

    out, err = io.StringIO(), io.StringIO()
    saved = cli_common.quiet_stderr
    cli_common.quiet_stderr = contextlib.nullcontext
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(a) for a in argv])
    finally:
        cli_common.quiet_stderr = saved
    return code, out.getvalue(), err.getvalue()


def _violations(a):
    return a.violations()


def test_cli_commands_run_nothing_on_hostile_files(samples, tmp_path, monkeypatch):
    outdir, recs = samples
    sentinel = tmp_path / "SENTINEL"
    monkeypatch.setenv("RT_SENTINEL", str(sentinel))
    for r in recs:
        if r["label"] != "malicious":
            continue
        path = outdir / r["file"]
        with audit().watch() as a:
            code, out, _ = run_cli("scan", path)
            run_cli("info", path)
            run_cli("tree", path)
            run_cli("stats", path, "w")
            run_cli("export", "safetensors", path, "-o", tmp_path / "x.safetensors")
        assert _violations(a) == [], (r["file"], a.violations())
        assert code == 1 and "dangerous" in out, (r["file"], out)
    assert not sentinel.exists()


def test_export_with_trust_refuses_a_dangerous_file_and_runs_nothing(samples, tmp_path):
    outdir, recs = samples
    sentinel = tmp_path / "SENTINEL"
    bad = next(outdir / r["file"] for r in recs if r["file"].endswith("mal/data_PKL.pt"))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector.cli",
            "export",
            "torchscript",
            str(bad),
            "--trust-pickled-model",
            "-o",
            str(tmp_path / "out.pt"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RT_SENTINEL": str(sentinel), "PYTHONWARNINGS": "ignore"},
    )
    assert r.returncode == 2 and "cannot be trusted" in r.stderr, r.stderr
    assert "imports torch only" not in r.stderr
    assert not sentinel.exists() and not (tmp_path / "out.pt").exists()


def test_trusted_whole_model_lists_its_imports_exactly(tmp_path):
    from inspector.analysis.verdict import scan_file
    from inspector.ops.export_model import trusted_model

    p = tmp_path / "net.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()), p)
    v = scan_file(p)
    assert v.verdict == "safe" and v.trustable
    assert {
        "torch.nn.modules.container",
        "torch.nn.modules.linear",
        "torch.nn.modules.activation",
        "torch._utils",
    } <= set(v.modules)
    assert isinstance(trusted_model(str(p)), torch.nn.Sequential)


def test_trainer_folder_is_dangerous_in_scan_and_info(samples):
    outdir, recs = samples
    for r in recs:
        if r["family"] != "trainer_folder":
            continue
        folder = outdir / r["file"]
        code, out, _ = run_cli("scan", folder, "--json")
        verdict = json.loads(out)[0]["verdict"]
        _, info, _ = run_cli("info", folder, "--json")
        if r["label"] == "malicious":
            assert code == 1 and verdict == "dangerous"
            assert json.loads(info)["verdict"] == "dangerous"
            assert "optimizer.pt" in json.dumps(json.loads(out)[0]["streams"])
        else:
            assert code == 0 and verdict == "safe" and json.loads(info)["verdict"] == "safe"


def test_model_folder_and_shard_index_folder_agree(tmp_path):
    from inspector.analysis.verdict import scan_file

    only = tmp_path / "only"
    only.mkdir()
    torch.save({"w": torch.zeros(2)}, only / "model.pt")
    _, info, _ = run_cli("info", only, "--json")
    assert scan_file(only).verdict == json.loads(info)["verdict"] == "safe"
    (only / "model.pt").write_bytes(own_samples.torch_zip(own_samples.pickle_of(own_samples.shell())))
    _, info, _ = run_cli("info", only, "--json")
    assert scan_file(only).verdict == json.loads(info)["verdict"] == "dangerous"


def test_scan_text_shows_the_call_and_json_lists_streams(samples):
    outdir, recs = samples
    bad = next(outdir / r["file"] for r in recs if r["file"].endswith("mal/legacy_keys.pt"))
    code, out, _ = run_cli("scan", bad)
    assert code == 1
    assert "os.system('touch \"$RT_SENTINEL\"')" in out and "storage keys" in out
    code, out, _ = run_cli("scan", bad, "--json")
    doc = json.loads(out)[0]
    streams = {s["stream"]: s for s in doc["streams"]}
    assert set(streams) >= {"magic number", "protocol version", "system info", "object", "storage keys"}
    assert all(s["complete"] for s in streams.values())
    assert any(c["category"] == "dangerous" for c in streams["storage keys"]["calls"])


def test_unparsed_stream_is_unverified_never_safe(tmp_path):
    """A stream the C parser stops in after acting is not evidence of safety."""
    from inspector.analysis.verdict import scan_file

    p = tmp_path / "cut.pkl"
    p.write_bytes(b"\x80\x02ccollections\nOrderedDict\n)R}(X\x01\x00\x00\x00a")  # no STOP
    v = scan_file(p)
    assert v.verdict == "unverified" and not v.trustable
    code, out, _ = run_cli("scan", p)
    assert code == 1 and "cannot vouch" in out


def test_stable_baselines3_serialized_values_are_judged(tmp_path):
    """SB3's `data` member stores objects as base64 cloudpickles under ':serialized:'
    (its loader unpickles them); `policy.pth` is a torch.save payload. (SB3 is not
    installed here, so this sample is judged but not fired.)"""
    import base64
    import zipfile

    from inspector.analysis.verdict import scan_file

    evil = base64.b64encode(own_samples.pickle_of(own_samples.shell())).decode()
    good = base64.b64encode(own_samples.pickle_of({"gamma": 0.99})).decode()
    for payload, want in ((evil, "dangerous"), (good, "safe")):
        p = tmp_path / f"{want}.zip"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr(
                "data", json.dumps({"policy_class": {":type:": "<class 'x'>", ":serialized:": payload}})
            )
            z.writestr("policy.pth", own_samples.torch_save({"w": torch.zeros(2)}))
            z.writestr("pytorch_variables.pth", own_samples.torch_save({}))
        v = scan_file(p)
        assert v.verdict == want, v.to_json()
        assert any(":serialized:" in s.stream for s in v.streams)
