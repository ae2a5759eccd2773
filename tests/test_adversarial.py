"""Our own red team: samples from two generators (ours, `adversarial/own_samples.py`, and
an independent one written without reading our policy, `adversarial/redteam_samples.py`).

Each malicious sample is first proved to REALLY fire under its real loader (a throwaway
process per sample, a sentinel file), each benign one to load cleanly without firing;
then the verdict must call every malicious one `dangerous` and no benign one. Scanning
and opening them all runs nothing (audit hook + sentinel). The table per family is
printed (`pytest -q tests/test_adversarial.py -rA` shows it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from helpers import audit

HERE = Path(__file__).parent / "adversarial"
sys.path.insert(0, str(HERE))

GENERATORS = ["own_samples", "redteam_samples"]


def _generate(outdir: Path) -> list[dict]:
    """Each generator runs in its own process (TorchScript names stay unmangled and
    nothing generated lives in this process)."""
    recs = []
    for gen in GENERATORS:
        if not (HERE / f"{gen}.py").exists():
            continue
        out = outdir / gen
        code = (
            f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import {gen}; "
            f"json.dump({gen}.generate({str(out)!r}), sys.stdout)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=str(outdir)
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        for r in json.loads(proc.stdout):
            r["generator"] = gen
            r["file"] = f"{gen}/{r['file']}"
            recs.append(r)
    return recs


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("adversarial")
    recs = _generate(outdir)
    manifest, results = outdir / "manifest.json", outdir / "fired.json"
    manifest.write_text(json.dumps(recs))
    subprocess.run(
        [sys.executable, str(HERE / "fire.py"), str(manifest), str(outdir), str(results)],
        check=True,
        timeout=600,
        cwd=str(outdir),
    )
    return outdir, json.loads(results.read_text())


def _view_only(r: dict) -> bool:
    """A record that labels one reading of a file another record calls malicious (the
    red team's pickle view of a tar polyglot): the file is judged by its worst reading."""
    return r["label"] == "benign" and r["family"].endswith("_view")


def test_samples_really_fire_under_their_loaders(samples):
    _, results = samples
    assert len(results) > 40
    quiet = [
        (r["file"], r["result"])
        for r in results
        if r["label"] == "malicious" and r.get("expect_fire", True) and not r["fired"]
    ]
    assert quiet == [], quiet
    broken = [
        (r["file"], r["result"])
        for r in results
        if r["label"] == "benign" and not _view_only(r) and (r["fired"] or not r["result"].startswith("ok"))
    ]
    assert broken == [], broken


def test_verdict_flags_every_malicious_sample_and_no_benign_one(samples, capsys):
    from inspector.analysis.verdict import scan_file
    from inspector.formats import CheckpointError, open_checkpoint

    outdir, results = samples
    table = defaultdict(lambda: [0, 0])
    misses, false_alarms = [], []
    sentinel = outdir / "SENTINEL_SCAN"
    os.environ["RT_SENTINEL"] = str(sentinel)
    try:
        for r in results:  # bypass attempts torch's default refuses still hold the calls
            path = outdir / r["file"]
            with audit().watch() as a:
                v = scan_file(path)
                try:
                    open_checkpoint(path)
                except CheckpointError:
                    pass
            assert a.violations() == [], (r["file"], a.violations())
            flagged = v.verdict == "dangerous"
            key = (r["label"], r["family"])
            table[key][1] += 1
            if r["label"] == "malicious":
                table[key][0] += flagged
                if not flagged:
                    misses.append((r["file"], v.summary))
            elif not _view_only(r):
                table[key][0] += not flagged
                if flagged:
                    false_alarms.append((r["file"], v.summary))
            else:
                table[key][0] += 1
    finally:
        os.environ.pop("RT_SENTINEL", None)
    assert not sentinel.exists()
    assert not any(Path(os.getcwd()).glob("rt_sentinel_*"))
    with capsys.disabled():
        print("\nfamily                                  label      judged right / total")
        for (label, fam), (ok, n) in sorted(table.items()):
            print(f"  {fam:38} {label:10} {ok}/{n}")
        mal = [v for (lab, _), v in table.items() if lab == "malicious"]
        ben = [v for (lab, _), v in table.items() if lab == "benign"]
        print(
            f"  malicious flagged dangerous: {sum(a for a, _ in mal)}/{sum(n for _, n in mal)}; "
            f"benign not flagged: {sum(a for a, _ in ben)}/{sum(n for _, n in ben)}"
        )
    assert misses == [], misses
    assert false_alarms == [], false_alarms


def test_evidence_names_the_call_with_its_constant_arguments(samples):
    from inspector.analysis.verdict import scan_file

    outdir, results = samples
    r = next(r for r in results if r["file"].endswith("own/mal/data_PKL.pt"))
    v = scan_file(outdir / r["file"])
    texts = [c.text for c in v.calls if c.category == "dangerous"]
    assert "os.system('touch \"$RT_SENTINEL\"')" in texts, texts
    assert v.to_json()["streams"][0]["calls"][0]["examples"]


def test_trust_is_refused_unless_fully_parsed(samples, tmp_path):
    """`--trust-pickled-model` and the window's checkbox: a dangerous or unverified file is
    never loaded, and refusing it runs nothing."""
    from inspector.ops.export_model import OpError, trusted_model

    outdir, results = samples
    sentinel = tmp_path / "SENTINEL"
    os.environ["RT_SENTINEL"] = str(sentinel)
    try:
        for r in results:
            if (
                r["label"] == "malicious"
                and r["loader"] in ("torch.load", "pickle.load")
                and not r.get("folder")
            ):
                with pytest.raises(OpError, match="cannot be trusted"):
                    trusted_model(str(outdir / r["file"]))
    finally:
        os.environ.pop("RT_SENTINEL", None)
    assert not sentinel.exists()
    truncated = tmp_path / "half.pt"
    import torch

    torch.save(torch.nn.Linear(2, 2), truncated)
    data = truncated.read_bytes()
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                body = body[: len(body) // 2]  # the parse cannot finish: unverified, not safe
            z.writestr(info.filename, body)
    truncated.write_bytes(buf.getvalue())
    from inspector.analysis.verdict import scan_file

    v = scan_file(truncated)
    assert v.verdict == "unverified" and not v.trustable, v.to_json()
    with pytest.raises(OpError, match="cannot be trusted"):
        trusted_model(str(truncated))


def _containers():
    """Ways a loader reaches a pickle: every payload is judged inside each of them."""
    import gzip
    import io
    import zipfile

    import own_samples as own

    def npz(data, method):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as z:
            z.writestr("a.npy", own.npy_of("|O", data))
        return buf.getvalue()

    def nested(data):
        call = own.Call(own.Glob("torch.storage", "_load_from_bytes"), own.torch_zip(data))
        return own.torch_zip(own.pickle_of(call))

    return {
        "bare": lambda d: d,
        "torch zip": own.torch_zip,
        "deflated zip": lambda d: own.torch_zip(d, method=zipfile.ZIP_DEFLATED),
        "DATA.PKL": lambda d: own.torch_zip(d, "DATA.PKL"),
        "legacy object": lambda d: own.legacy_stack(d, own.pickle_of([])),
        "legacy keys": lambda d: own.legacy_stack(own.pickle_of({}), d),
        "tar pickle": lambda d: own.tar_of([("storages", b"I0\n."), ("tensors", b"I0\n."), ("pickle", d)]),
        "tar storages": lambda d: own.tar_of([("storages", d), ("tensors", b"I0\n."), ("pickle", b"N.")]),
        "npy": lambda d: own.npy_of("|O", d),
        "npz bzip2": lambda d: npz(d, zipfile.ZIP_BZIP2),
        "npz lzma": lambda d: npz(d, zipfile.ZIP_LZMA),
        "_load_from_bytes": nested,
        "gzip": gzip.compress,
        "after a benign stream": lambda d: own.pickle_of([1]) + d,
    }


def test_every_payload_in_every_container(tmp_path):
    """Verdict-only generalisation check (the payloads themselves are proved to fire in
    their own samples above): each red-team payload pickle, inside each container a loader
    reads, is dangerous; benign pickles inside the same containers are not."""
    import pickle

    import own_samples as own
    import redteam_samples as rt

    from inspector.analysis.verdict import scan_file

    benign = [
        pickle.dumps(obj, protocol=p)
        for _, _, _, obj, _ in own.benign()
        if not isinstance(obj, bytes)
        for p in (2, 4)
    ]
    misses, false_alarms = [], []
    for cname, wrap in _containers().items():
        for _, name, data, _ in rt.malicious_pickles():
            p = tmp_path / "x"
            p.write_bytes(wrap(data))
            if scan_file(p).verdict != "dangerous":
                misses.append((cname, name))
        for i, data in enumerate(benign):
            p = tmp_path / "y"
            p.write_bytes(wrap(data))
            v = scan_file(p)
            if v.verdict == "dangerous":
                false_alarms.append((cname, i, v.summary))
    assert misses == [] and false_alarms == [], (misses, false_alarms)
