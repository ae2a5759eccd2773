"""`ckpt diff` and `ckpt progression`: every number checked against torch on the loaded
tensors, identical tensors found identical, the key rule found, the exit codes.

Tolerances (documented in analysis/tensor_diff.py): max |A-B| and the fraction changed are
exact; norms, relative change and cosine agree with torch in float64 to rtol 1e-7; means
and stds (float64 sums of squares) to rtol 1e-5, atol 1e-8.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from test_cli import ckpt
from torch import nn

from inspector.analysis.checkpoint_diff import diff_checkpoints
from inspector.analysis.tensor_diff import compare_sources
from inspector.formats import open_checkpoint

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def expected(a: torch.Tensor, b: torch.Tensor) -> dict:
    a64, b64 = a.double().flatten(), b.double().flatten()
    d = a64 - b64
    return {
        "max_abs": d.abs().max().item(),
        "rel_l2": (d.norm() / a64.norm()).item(),
        "cosine": (torch.dot(a64, b64) / (a64.norm() * b64.norm())).item(),
        "frac_changed": (a64 != b64).double().mean().item(),
        "delta_mean": (b64.mean() - a64.mean()).item(),
        "delta_std": (b64.std(unbiased=False) - a64.std(unbiased=False)).item(),
        "norm_a": a64.norm().item(),
        "norm_b": b64.norm().item(),
        "mean_a": a64.mean().item(),
        "mean_b": b64.mean().item(),
        "std_a": a64.std(unbiased=False).item(),
        "std_b": b64.std(unbiased=False).item(),
    }


def check_numbers(got: dict, a: torch.Tensor, b: torch.Tensor) -> None:
    want = expected(a, b)
    for k in ("max_abs", "frac_changed"):
        assert got[k] == pytest.approx(want[k], rel=1e-12, abs=0), k
    for k in ("rel_l2", "cosine", "norm_a", "norm_b"):
        assert torch.allclose(
            torch.tensor(got[k], dtype=torch.float64),
            torch.tensor(want[k], dtype=torch.float64),
            rtol=1e-7,
            atol=0,
        ), (k, got[k], want[k])
    for k in ("delta_mean", "delta_std", "mean_a", "mean_b", "std_a", "std_b"):
        assert torch.allclose(
            torch.tensor(got[k], dtype=torch.float64),
            torch.tensor(want[k], dtype=torch.float64),
            rtol=1e-5,
            atol=1e-8,
        ), (k, got[k], want[k])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("diff")
    m = model()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    opt = torch.optim.Adam(m[2].parameters(), lr=1e-2)  # only the middle layer trains
    for _ in range(3):
        opt.zero_grad()
        m(torch.randn(16, 32)).pow(2).mean().backward()
        opt.step()
    after = {k: v.clone() for k, v in m.state_dict().items()}
    torch.save({"epoch": 1, "model_state_dict": before, "lr": 0.1}, d / "a.pt")
    torch.save(
        {"epoch": 4, "model_state_dict": after, "lr": 0.1, "optimizer_state_dict": opt.state_dict()},
        d / "b.pt",
    )
    torch.save({"module." + k: v for k, v in after.items()}, d / "ddp.pt")
    torch.save({k: v.to(torch.bfloat16) for k, v in before.items()}, d / "bf16.pt")
    head = dict(before, **{"head.weight": torch.randn(3, 10), "head.bias": torch.zeros(3)})
    torch.save(head, d / "head.pt")
    save_file({k: v.contiguous() for k, v in before.items()}, str(d / "a.safetensors"))
    torch.save(before, d / "a_plain.pt")
    return d, before, after


def rows(result) -> dict:
    return {r.key: r for r in result.rows}


def test_one_trained_layer_every_number_matches_torch(pair):
    d, before, after = pair
    with open_checkpoint(d / "a.pt") as a, open_checkpoint(d / "b.pt") as b:
        r = diff_checkpoints(a, b)
    by = rows(r)
    assert r.rule is None
    for k in ("0.weight", "0.bias", "4.weight", "4.bias"):
        assert by[k].status == "identical" and torch.equal(before[k], after[k])
        assert by[k].diff.max_abs == 0 and by[k].diff.rel_l2 == 0
    for k in ("2.weight", "2.bias"):
        assert by[k].status == "changed"
        check_numbers(by[k].to_json(), before[k], after[k])
    # the optimizer state is only in B; the epoch changed; lr did not
    assert {x.key for x in r.rows if x.status == "added"} == {
        k
        for k in [
            f"optimizer_state_dict/state/{i}/{s}" for i in (0, 1) for s in ("step", "exp_avg", "exp_avg_sq")
        ]
    }
    changes = {e["path"]: e for e in r.structure}
    assert changes["epoch"]["a"] == "1" and changes["epoch"]["b"] == "4"
    assert changes["optimizer_state_dict"]["change"] == "added"
    assert "lr" not in changes
    assert r.changed_sorted()[0].rel_change >= r.changed_sorted()[1].rel_change


def test_module_prefix_rule_found_and_reported(pair):
    d, before, after = pair
    out = json.loads(ckpt("diff", d / "a_plain.pt", d / "ddp.pt", "--json").stdout)
    assert out["rule"] == "add 'module.'"
    by = {t["key"]: t for t in out["tensors"]}
    assert by["0.weight"]["key_b"] == "module.0.weight" and by["0.weight"]["status"] == "identical"
    check_numbers(by["2.weight"], before["2.weight"], after["2.weight"])
    assert out["counts"]["added"] == out["counts"]["removed"] == 0


def test_bf16_cast_is_not_identical_and_numbers_match(pair):
    d, before, _ = pair
    with open_checkpoint(d / "a_plain.pt") as a, open_checkpoint(d / "bf16.pt") as b:
        r = diff_checkpoints(a, b)
    for k, row in rows(r).items():
        assert row.dtype_a == "float32" and row.dtype_b == "bfloat16"
        assert not row.diff.identical
        check_numbers(row.to_json(), before[k], before[k].to(torch.bfloat16))
    assert r.counts()["dtype_changed"] == len(before)


def test_added_head_and_exit_codes(pair):
    d, before, _ = pair
    r = ckpt("diff", d / "a_plain.pt", d / "head.pt", "--exit-code", check_code=1)
    assert r.stdout.splitlines()[1].startswith(f"{len(before)} identical, 0 changed, 2 added, 0 removed")
    assert "only in B (added): 2" in r.stdout and "head.weight" in r.stdout
    ckpt("diff", d / "a_plain.pt", d / "head.pt", check_code=0)  # without --exit-code
    # the same weights in another format: no differences at all
    r = ckpt("diff", d / "a_plain.pt", d / "a.safetensors", "--exit-code", check_code=0)
    assert r.stdout.splitlines()[1].startswith(f"{len(before)} identical, 0 changed, 0 added, 0 removed")
    r = ckpt("diff", d / "a_plain.pt", d / "missing.pt", "--exit-code", check_code=2)
    assert len(r.stderr.strip().splitlines()) == 1
    (d / "junk.pt").write_bytes(b"PK\x03\x04 not really")
    ckpt("diff", d / "junk.pt", d / "a_plain.pt", check_code=2)


def test_tolerance_calls_tiny_changes_equal(pair, tmp_path):
    d, before, _ = pair
    tiny = {k: v.clone() for k, v in before.items()}
    tiny["0.weight"][0, 0] += 1e-6
    torch.save(tiny, tmp_path / "tiny.pt")
    out = json.loads(
        ckpt("diff", d / "a_plain.pt", tmp_path / "tiny.pt", "--json", "--exit-code", check_code=1).stdout
    )
    row = next(t for t in out["tensors"] if t["key"] == "0.weight")
    assert row["status"] == "changed" and row["changed"] == 1
    check_numbers(row, before["0.weight"], tiny["0.weight"])
    out = json.loads(
        ckpt(
            "diff",
            d / "a_plain.pt",
            tmp_path / "tiny.pt",
            "--json",
            "--exit-code",
            "--atol",
            "1e-5",
            check_code=0,
        ).stdout
    )
    row = next(t for t in out["tensors"] if t["key"] == "0.weight")
    assert row["status"] == "equal" and row["changed"] == 0 and row["max_abs"] > 0


def test_chunking_strides_and_nan_do_not_change_the_answer(tmp_path):
    torch.manual_seed(1)
    w = torch.randn(300, 70)
    w2 = w.clone()
    w2[5:9] *= 1.5
    w2[10, 3] = float("nan")
    torch.save({"w": w.t()}, tmp_path / "t.pt")  # a transposed (non-contiguous) view
    torch.save({"w": w.t().contiguous()}, tmp_path / "c.pt")
    torch.save({"w": w2.t().contiguous()}, tmp_path / "n.pt")
    with open_checkpoint(tmp_path / "t.pt") as a, open_checkpoint(tmp_path / "c.pt") as b:
        assert rows(diff_checkpoints(a, b))["w"].status == "identical"
    with open_checkpoint(tmp_path / "t.pt") as a, open_checkpoint(tmp_path / "n.pt") as b:
        ta, tb = a.tensor_node("w").value, b.tensor_node("w").value
        results = [
            compare_sources(
                a.source(ta),
                b.source(tb),
                ta.dtype,
                tb.dtype,
                ta.dtype.numpy_raw(),
                tb.dtype.numpy_raw(),
                chunk=c,
            )
            for c in (97, 1000, 1 << 22)
        ]
    finite = torch.isfinite(w2.t())
    a_, b_ = w.t()[finite], w2.t()[finite]
    want = expected(a_, b_)
    first = results[0].to_json()
    for got in results:
        g = got.to_json()
        assert g["changed"] == int((w.t() != w2.t()).sum())  # the NaN counts as changed
        assert g["max_abs"] == pytest.approx(want["max_abs"], rel=1e-12)
        assert g["nonfinite_b"] == 1 and g["nonfinite_a"] == 0
        for k in ("rel_l2", "cosine"):
            assert g[k] == pytest.approx(first[k], rel=1e-9), k
        for k in ("delta_mean", "delta_std"):  # the documented 1e-5
            assert g[k] == pytest.approx(first[k], rel=1e-5, abs=1e-8), k


def test_sparse_skeleton_pair_reads_almost_nothing(tmp_path):
    from make_skeleton import write_skeleton

    a = tmp_path / "a.pt"
    write_skeleton(str(a), layers=2, hidden=512, ffn=1024, vocab=4000)
    b = tmp_path / "b.pt"
    write_skeleton(str(b), layers=2, hidden=512, ffn=1024, vocab=4000)
    with open_checkpoint(a) as ca, open_checkpoint(b) as cb:
        r = diff_checkpoints(ca, cb)
    total = sum(x.nbytes for x in r.rows)
    assert all(x.status == "identical" for x in r.rows) and total > 20_000_000
    assert r.bytes_read < total // 10  # holes are known zeros, not read
    # one tensor written with real bytes in a copy: found changed, with torch's numbers
    with open_checkpoint(a) as ca:
        t = ca.tensor_node("model.norm.weight").value
        offset = ca.source(t).offset
    vals = torch.linspace(-1, 1, t.numel).to(torch.bfloat16)
    with open(b, "r+b") as fh:
        fh.seek(offset)
        fh.write(vals.view(torch.int16).numpy().tobytes())
    with open_checkpoint(a) as ca, open_checkpoint(b) as cb:
        r = diff_checkpoints(ca, cb)
    by = rows(r)
    assert [k for k, x in by.items() if x.status != "identical"] == ["model.norm.weight"]
    g = by["model.norm.weight"].to_json()
    assert g["max_abs"] == 1.0 and g["rel_l2"] == float("inf") and g["cosine"] is None
    assert g["frac_changed"] == pytest.approx(float((vals != 0).double().mean()))


def test_progression_numbers_and_flags(tmp_path):
    torch.manual_seed(0)
    m = model()
    for p in m[0].parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2)
    states = []
    for e in range(4):
        for _ in range(3):
            opt.zero_grad()
            m(torch.randn(8, 32)).pow(2).mean().backward()
            opt.step()
        sd = {k: v.clone() for k, v in m.state_dict().items()}
        if e == 3:
            sd["4.weight"] = sd["4.weight"] * 100  # blew up (the norm grows 100x in one step)
        states.append(sd)
        torch.save(
            {"epoch": e, "model_state_dict": sd, "optimizer_state_dict": opt.state_dict()},
            tmp_path / f"epoch_{e}.pt",
        )
    torch.save({"x": torch.zeros(1)}, tmp_path / "notes.txt")  # not a checkpoint name: ignored
    out = json.loads(ckpt("progression", tmp_path, "--key", "2.weight", "--bins", "16", "--json").stdout)
    assert [f["name"] for f in out["files"]] == [f"epoch_{e}.pt" for e in range(4)]
    layers = {c["key"]: c for c in out["layers"]}
    for k, c in layers.items():
        for e in range(4):
            assert c["norm"][e] == pytest.approx(states[e][k].double().norm().item(), rel=1e-7)
            if e:
                want = (
                    (states[e][k].double() - states[e - 1][k].double()).norm()
                    / states[e - 1][k].double().norm()
                ).item()
                assert c["rel_change"][e] == pytest.approx(want, rel=1e-7, abs=1e-12)
    assert layers["0.weight"]["status"] == "stalled" and layers["0.weight"]["since"] == 0
    assert layers["4.weight"]["status"] == "exploded" and layers["4.weight"]["since"] == 3
    assert layers["2.weight"]["status"] == "ok"
    assert all(v is not None and v > 0 for v in layers["2.weight"]["adam_update"])
    assert layers["0.weight"]["adam_update"] == [None] * 4  # frozen: no optimizer state
    h = out["histogram"]
    edges = torch.tensor(h["edges"], dtype=torch.float64)
    for e, counts in enumerate(h["counts"]):
        want = np.histogram(states[e]["2.weight"].numpy(), bins=edges.numpy())[0]
        assert counts == want.tolist()
    text = ckpt("progression", *[tmp_path / f"epoch_{e}.pt" for e in range(4)]).stdout
    assert "stalled" in text and "exploded" in text


def test_a_file_against_a_sharded_folder(pair, tmp_path):
    d, before, _ = pair
    keys = list(before)
    shards = {"model-00001-of-00002.safetensors": keys[:3], "model-00002-of-00002.safetensors": keys[3:]}
    for name, part in shards.items():
        save_file({k: before[k].contiguous() for k in part}, str(tmp_path / name))
    with open(tmp_path / "model.safetensors.index.json", "w") as fh:
        json.dump({"metadata": {}, "weight_map": {k: n for n, part in shards.items() for k in part}}, fh)
    out = json.loads(ckpt("diff", d / "a_plain.pt", tmp_path, "--json", "--exit-code").stdout)
    assert out["format_b"] == "hf-index" and out["differs"] is False
    assert out["counts"]["identical"] == len(before)
