"""Issue 12's hostile structures, one test each, through the `ckpt` command as a user runs
it: under RLIMIT_AS (3 GB) and a timeout, each ends with a one-line message (exit 2) or
the right verdict, never "internal error" or a traceback, and with its own peak memory
under 1 GiB (measured per process with wait4).

The hostile files are generated small in tests/hostile_files.py (bombs under 1 MB that
inflate to GBs, a 160 KB zip and tar that used to take minutes, pipes and /dev/zero as
DCP metadata, ...)."""

from __future__ import annotations

import subprocess
import sys

import hostile_files as H
import pytest

GIB = 1 << 30

# (builder, command) -> exit codes allowed; by default info/tree/stats refuse with 2 and
# scan gives any verdict but `safe` (1 dangerous, 2 cannot read / vouch)
LEGIT = {0}
EXPECT = {
    ("nested_lists", "tree"): LEGIT,
    ("nested_lists", "info"): LEGIT,  # 600 levels: legal, shown
    ("giant_int", "tree"): LEGIT,
    ("giant_int", "info"): LEGIT,
    ("giant_int", "scan"): LEGIT,
    ("nested_tuples_build", "info"): LEGIT,
    ("nested_tuples_build", "tree"): LEGIT,
    ("nested_tuples_build", "scan"): {0, 1},  # names a class: needs-code at least
    ("tar_quadratic", "scan"): {
        0,
        1,
        2,
    },  # PROTO opcodes without STOP: nothing runs; bounded time is the point
    ("pt2_json_list", "scan"): {0, 2},  # no pickle in it: nothing would run
    ("deep_safetensors_header", "scan"): {0, 2},
    ("copy_amplification", "scan"): {0, 1},  # OrderedDict is data; the point is finishing
    # issue 13's typed JSON walk: the reader opens these with a warning per unexpected value
    ("pt2_json_list", "info"): {0, 2},
    ("old_torchscript_not_object", "info"): {0, 2},
    ("pt2_json_list", "tree"): {0, 2},
    ("old_torchscript_not_object", "tree"): {0, 2},  # same reader
}
JSON_WARNED = {"pt2_json_list", "old_torchscript_not_object"}  # info at 0 must carry the warning
MAY_BE_SAFE = {
    "tar_quadratic",
    "giant_int",
    "nested_tuples_build",
    "pt2_json_list",
    "deep_safetensors_header",
    "copy_amplification",
}


def _cases():
    return [pytest.param(name, id=name) for name in H.BUILDERS]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS, wait4, mkfifo: Linux")
@pytest.mark.parametrize("name", _cases())
def test_hostile_structure_is_bounded_and_one_line(tmp_path, name):
    for argv in H.BUILDERS[name](tmp_path):
        command = argv[0]
        try:
            rc, out, err, took, peak = H.run_ckpt(argv, mem_bytes=3 << 30, timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ckpt {' '.join(argv)} ran past 120 s")
        what = f"ckpt {' '.join(argv)} -> {rc} in {took:.1f}s, peak {peak >> 20} MB: {err or out[:300]}"
        assert "internal error" not in err + out, what
        assert "Traceback" not in err, what
        assert "MemoryError" not in err + out, what
        assert peak < GIB, what
        allowed = EXPECT.get((name, command), {1, 2} if command == "scan" else {2})
        assert rc in allowed, what
        if name in JSON_WARNED and command == "info" and rc == 0:
            warnings = [ln for ln in out.splitlines() if ln.startswith("warning")]
            assert any("expected" in ln and ".json" in ln for ln in warnings), what
        if command == "scan":
            first = out.splitlines()[0]
            assert first.startswith(argv[1] + ": "), what
            verdict = first[len(argv[1]) + 2 :].split()[0]
            if name not in MAY_BE_SAFE:
                assert verdict != "safe", what
            if verdict == "unreadable":
                assert "(" in first and first.endswith(")"), what  # the reason, on the same line
        elif rc == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("ckpt: "), what
            if out:  # a file the reader refuses still shows its verdict, never "safe"
                assert out.startswith("file ") and "\nverdict " in out, what
                assert "verdict     safe" not in out, what


def test_bombs_name_the_bound(tmp_path):
    """A bomb is not 'unreadable' for no reason: the line says it inflates past the bound."""
    H.xz_bomb(tmp_path)
    rc, out, err, _, _ = H.run_ckpt(["scan", str(tmp_path / "bomb.pt.xz")])
    assert rc in (1, 2) and "inflates beyond 64 MB" in out, out + err  # 1: cannot vouch


def test_special_files_are_named_not_read(tmp_path):
    H.fifo_file(tmp_path)
    H.dev_zero_file(tmp_path)
    H.dcp_metadata_dir(tmp_path)
    for argv, text in (
        (["info", str(tmp_path / "pipe.pt")], "named pipe"),
        (["info", str(tmp_path / "zero.pt")], "character device"),
        (["info", str(tmp_path / "dcp_dir")], "folder where a file is expected"),
    ):
        rc, out, err, _, _ = H.run_ckpt(argv, timeout=60)
        assert rc == 2 and text in err, (argv, err)


def test_shard_index_naming_itself_says_so(tmp_path):
    H.index_naming_itself(tmp_path)
    rc, out, err, _, _ = H.run_ckpt(["info", str(tmp_path / "selfidx" / "model.safetensors.index.json")])
    assert rc == 2 and "names only JSON files" in err


def test_giant_int_is_shown_by_magnitude(tmp_path):
    """10**5000 + 7: the tree shows its magnitude and last digits, computed (not printed)."""
    import json

    H.giant_int(tmp_path)
    rc, out, err, _, _ = H.run_ckpt(["tree", str(tmp_path / "bigint.pt"), "--json"])
    assert rc == 0, err
    tree = json.loads(out)
    n = next(c for c in tree["children"] if c["name"] == "n")
    assert n["value"].startswith("1.000000000e+5000") and "5,001 digits" in n["value"]
    assert n["value"].endswith(f"…{(10**5000 + 7) % 10**9:09d})")


def test_expanded_tensor_statistics_from_stored_elements(tmp_path):
    """torch.save of an expanded tensor stores its one element (stride 0): `ckpt stats`
    answers at once, with the counts of the logical tensor."""
    import json

    import numpy as np
    import torch

    torch.manual_seed(0)
    base = torch.randn(4, 1, 3)
    sd = {"t": torch.zeros(1).expand(2**40), "u": base.expand(4, 1000, 3)}
    p = tmp_path / "expanded.pt"
    torch.save(sd, p)
    rc, out, err, took, peak = H.run_ckpt(["stats", str(p), "t", "--json", "--bins", "4"], timeout=120)
    assert rc == 0, err
    st = json.loads(out)
    assert st["shape"] == [2**40] and st["numel"] == 2**40 and st["zeros"] == 2**40
    assert st["min"] == st["max"] == st["mean"] == st["std"] == 0.0
    h = st["histogram"]
    assert sum(h["counts"]) == 2**40 and h["counts"][2] == 2**40  # bins of [-0.5, 0.5]: 0 in the third
    assert peak < GIB

    rc, out, err, _, _ = H.run_ckpt(["stats", str(p), "u", "--json", "--bins", "7"], timeout=120)
    assert rc == 0, err
    st = json.loads(out)
    full = sd["u"].contiguous().double()  # the logical tensor, materialised by torch
    assert st["numel"] == full.numel() == 12_000
    assert st["min"] == pytest.approx(full.min().item()) and st["max"] == pytest.approx(full.max().item())
    assert st["mean"] == pytest.approx(full.mean().item(), rel=1e-6)
    assert st["std"] == pytest.approx(full.std(unbiased=False).item(), rel=1e-6)
    assert st["l2_norm"] == pytest.approx(full.norm().item(), rel=1e-6)
    counts, _ = np.histogram(full.float().numpy(), bins=np.array(st["histogram"]["edges"]))
    assert st["histogram"]["counts"] == counts.tolist()


def test_mutation_fuzz_quick(tmp_path):
    """A few seconds of tests/fuzz/fuzz_hostile.py (run it for minutes by hand): mutated
    checkpoints of every format through the verdict, the readers, the JSON tree and the
    statistics, under RLIMIT_AS, with numpy warnings as errors (a warning is a stray line)."""
    import json
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    r = subprocess.run(
        [
            sys.executable,
            "-W",
            "error::RuntimeWarning",
            str(H.ROOT / "tests" / "fuzz" / "fuzz_hostile.py"),
            "--seconds",
            "4",
            "--seed",
            "12",
            "--slow",
            "20",
            "--keep",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
        cwd=str(H.ROOT),
    )
    report = json.loads(r.stdout)
    assert report["cases"] > 20
    assert not report["failures"], json.dumps(report["failures"][:3], indent=1)
    assert not report["slow"], report["slow"]
    assert r.returncode == 0
