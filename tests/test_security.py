"""The security verdict: every malicious and dangerous-primitive sample is `dangerous`,
no benign one is, and opening or scanning them executes nothing (audit hook, markers)."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import torch
from helpers import SECURITY, audit, corpus_or_skip

from inspector.analysis.verdict import scan_file
from inspector.formats import CheckpointError, open_checkpoint


def samples():
    if not SECURITY.exists():
        return []
    return json.loads((SECURITY / "manifest.json").read_text())


def scanner_says_dangerous(name: str, base: dict) -> bool | None:
    b = base.get(name)
    if b is None:
        return None
    if name.startswith("picklescan"):
        return bool(b.get("infected") or b.get("dangerous"))
    if name.startswith("fickling"):
        return b.get("severity") not in ("LIKELY_SAFE", None)
    if name.startswith("modelscan"):
        return bool(b.get("issues"))
    return None


def test_security_corpus_zero_misses_zero_false_alarms(capsys):
    corpus_or_skip(SECURITY)
    rows, misses, false_alarms = [], [], []
    tallies = {k: [0, 0] for k in ("ours", "picklescan_1.0.5", "fickling_0.1.12", "modelscan_0.8.8")}
    for rec in samples():
        path = SECURITY / rec["file"]
        with audit().watch() as a:
            v = scan_file(path)
            try:
                open_checkpoint(path)
            except CheckpointError:
                pass
        assert a.violations() == [], (rec["file"], a.violations())
        named = {g.module.split(".")[0] for g in v.globals} - {
            "torch",
            "builtins",
            "collections",
            "numpy",
            "_codecs",
            "copyreg",
        }
        assert not (named & a.new_modules), (rec["file"], named & a.new_modules)
        want = rec["label"] != "benign"
        got = v.verdict == "dangerous"
        if want and not got:
            misses.append(rec["file"])
        if got and not want:
            false_alarms.append(rec["file"])
        tallies["ours"][0 if want else 1] += got != want
        cols = []
        for name in ("picklescan_1.0.5", "fickling_0.1.12", "modelscan_0.8.8"):
            said = scanner_says_dangerous(name, rec["baseline"])
            if said is not None and said != want:
                tallies[name][0 if want else 1] += 1
            cols.append("-" if said is None else ("DANGER" if said else "ok"))
        rows.append((rec["label"][:9], v.verdict, *cols, rec["file"]))
    with capsys.disabled():
        print("\nlabel      ours        picklescan fickling   modelscan  file")
        for r in rows:
            print(f"{r[0]:10} {r[1]:11} {r[2]:10} {r[3]:10} {r[4]:10} {r[5]}")
        print("misses/false alarms: " + ", ".join(f"{k} {m}/{f}" for k, (m, f) in tallies.items()))
    assert misses == [] and false_alarms == []


# ---- payloads of our own, each of which would create a marker file if it ever ran ----------


class Marker:
    def __init__(self, path):
        self.path = str(path)


def _os_system(marker) -> bytes:
    return (
        b"\x80\x02cos\nsystem\nq\x00X"
        + len(f"touch {marker}").to_bytes(4, "little")
        + f"touch {marker}".encode()
        + b"\x85q\x01Rq\x02."
    )


def payloads(marker) -> dict[str, bytes]:
    m = str(marker)
    p = {}
    # protocol 0 INST and OBJ instead of GLOBAL + REDUCE
    p["inst.pkl"] = f"(S'touch {m}'\nios\nsystem\n.".encode()
    p["obj.pkl"] = f"(cos\nsystem\nS'touch {m}'\no.".encode()
    # resolver chain: getattr(__import__('os'), 'system')('touch ...')
    p["chain.pkl"] = (
        b"\x80\x04cbuiltins\ngetattr\n(cbuiltins\n__import__\n(X\x02\x00\x00\x00ostR"
        b"X\x06\x00\x00\x00systemtR(X"
        + len(f"touch {m}").to_bytes(4, "little")
        + f"touch {m}".encode()
        + b"tR."
    )
    # a harmless first stream, the payload in a second one
    p["second.pkl"] = pickle.dumps([1, 2, 3], protocol=2) + _os_system(m)
    # a marker-writing open() on a computed STACK_GLOBAL via memo
    p["memo.pkl"] = (
        b"\x80\x04\x8c\x08builtins\x94\x8c\x04open\x94h\x00h\x01\x93("
        b"X" + len(m).to_bytes(4, "little") + m.encode() + b"X\x01\x00\x00\x00wtR."
    )
    return p


def zip_payloads(tmp_path, marker) -> dict[str, bytes]:
    sd = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, sd)
    good = zipfile.ZipFile(io.BytesIO(sd.getvalue()))
    out = {}

    def rebuild(name, mutate):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for info in good.infolist():
                data = good.read(info.filename)
                new = mutate(info.filename, data)
                if new is not None:
                    z.writestr(info.filename, new)
        out[name] = buf.getvalue()

    evil = _os_system(marker)
    # pickle hidden in a data record that no storage needs
    rebuild("hidden_record.pt", lambda n, d: d)
    buf = io.BytesIO(out["hidden_record.pt"])
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("archive/data/99", evil)
    out["hidden_record.pt"] = buf.getvalue()
    # payload prepended to data.pkl (leaves an extra item on the stack)
    rebuild("prepended.pt", lambda n, d: evil[:-1] + d[2:] if n.endswith("data.pkl") else d)
    # second stream after data.pkl's STOP
    rebuild("appended.pt", lambda n, d: d + evil if n.endswith("data.pkl") else d)
    return out


def test_own_payloads_are_dangerous_and_never_run(tmp_path):
    marker = tmp_path / "MARKER"
    files = {**payloads(marker), **zip_payloads(tmp_path, marker)}
    for name, data in files.items():
        f = tmp_path / name
        f.write_bytes(data)
        with audit().watch() as a:
            v = scan_file(f)
            try:
                ck = open_checkpoint(f)
                for n in ck.tensors:
                    try:
                        ck.array(n)
                    except CheckpointError:
                        pass
            except CheckpointError:
                pass
        assert v.verdict == "dangerous", (name, v.to_json())
        assert a.violations() == [], (name, a.violations())
        assert not marker.exists(), name


def test_payload_is_real(tmp_path):
    """The marker payloads do work when unpickled for real: the test above means something."""
    import subprocess
    import sys

    marker = tmp_path / "REAL"
    f = tmp_path / "p.pkl"
    f.write_bytes(payloads(marker)["inst.pkl"])
    code = f"import pickle; pickle.load(open({str(f)!r}, 'rb'))"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert marker.exists()


def test_benign_training_checkpoints_are_safe(tmp_path):
    from helpers import tutorial_checkpoint

    p = tmp_path / "t.pt"
    torch.save(tutorial_checkpoint(), p)
    assert scan_file(p).verdict == "safe"
    q = tmp_path / "legacy.pt"
    torch.save(tutorial_checkpoint(), q, _use_new_zipfile_serialization=False)
    assert scan_file(q).verdict == "safe"
    r = tmp_path / "module.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), r)
    assert scan_file(r).verdict == "safe"


def test_framework_data_classes_are_not_false_alarms(tmp_path):
    """Globals real training files carry (HF Trainer args, OmegaConf, numpy RNG state):
    known-framework data, not dangerous - while their code paths are."""
    from inspector.analysis import policy

    def classify(module, name):  # what loading does when it calls module.name
        return policy.judge("call", f"{module}.{name}")

    benign = [
        ("transformers.trainer_utils", "IntervalStrategy"),
        ("transformers.training_args", "TrainingArguments"),
        ("typing", "Any"),
        ("omegaconf.base", "ContainerMetadata"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("pytorch_lightning.utilities.parsing", "AttributeDict"),
        ("torch.torch_version", "TorchVersion"),
        ("accelerate.utils.dataclasses", "DistributedType"),
        ("collections", "OrderedDict"),
    ]
    for module, name in benign:
        assert classify(module, name)[0] in (policy.DATA, policy.REFERENCE), (module, name)
    bad = [
        ("transformers.trainer", "Trainer"),
        ("typing", "_eval_type"),
        ("torch.hub", "load"),
        ("numpy.testing._private.utils", "runstring"),
        ("torch.utils.collect_env", "run"),
        ("builtins", "getattr"),
        ("idlelib.pyshell", "ModifiedInterpreter.runcode"),
    ]
    for module, name in bad:
        assert classify(module, name)[0] == policy.DANGEROUS, (module, name)
    assert classify("__main__", "Net")[0] == policy.NEEDS_CODE
    assert classify("my_project.models", "ResNet")[0] == policy.NEEDS_CODE
