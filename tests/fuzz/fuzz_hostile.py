"""Mutation fuzz over hostile structures: every reader, the verdict and the statistics on
mutated checkpoints, in this process, for a fixed time.

Seeds of every format (torch zip, legacy, legacy tar, bare pickle, safetensors, a shard
index, a DCP folder, .pt2-like and TorchScript-like zips, gzip/xz) are mutated with byte
flips, truncation, repeated slices, inserted hostile fragments (pickle-header runs,
nesting runs, giant LONG4 integers, huge memo indexes, deep JSON), zip directory fields
set to huge or shared values, and - for folders - special files in place of members.
Each mutant goes through `scan_file`, `open_checkpoint`, the JSON tree and the
statistics and histogram of a few tensors. Anything but a result or a one-line
CheckpointError is a failure; so is a case slower than --slow seconds.

    python tests/fuzz/fuzz_hostile.py --seconds 600 [--seed 1] [--keep DIR]

prints a JSON report (cases, failures with the traceback's last lines, slow cases, the
slowest case). tests/test_hostile_structures.py runs it for a few seconds under RLIMIT_AS;
run it for minutes by hand, or in CI nightly.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import shutil
import struct
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the checkout's inspector
sys.path.insert(0, str(HERE.parent))  # tests/ helpers


# -- seeds -----------------------------------------------------------------------------------


def make_seeds(folder: Path) -> list[Path]:
    import numpy as np
    import torch

    torch.manual_seed(0)
    seeds = []

    def add(name, fn):
        p = folder / name
        fn(p)
        seeds.append(p)

    sd = {
        "epoch": 3,
        "model": {"w": torch.randn(4, 3), "b": torch.arange(3.0), "e": torch.zeros(1).expand(64)},
        "opt": {"state": {0: {"exp_avg": torch.randn(4, 3)}}, "param_groups": [{"lr": 1e-3, "params": [0]}]},
        "meta": {"names": ["a", "b"], "t": (1, 2.5, None), "big": 2**70},
    }
    add("zip.pt", lambda p: torch.save(sd, p))
    add("legacy.pt", lambda p: torch.save(sd, p, _use_new_zipfile_serialization=False))
    add(
        "bare.pkl",
        lambda p: p.write_bytes(pickle.dumps({"a": [1, 2, {"b": (3, 4)}], "c": "x" * 40}, protocol=2)),
    )

    import legacy_tar

    add(
        "legacy.tar",
        lambda p: legacy_tar.write(
            str(p), np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(3, dtype=np.int64)
        ),
    )
    from safetensors.torch import save_file

    add(
        "model.safetensors",
        lambda p: save_file({"w": torch.randn(4, 4), "b": torch.ones(2)}, str(p), metadata={"format": "pt"}),
    )
    idx = folder / "index"
    idx.mkdir()
    save_file({"a": torch.randn(3)}, str(idx / "s1.safetensors"))
    torch.save({"b": torch.randn(2)}, idx / "s2.bin")
    (idx / "model.index.json").write_text(
        json.dumps({"metadata": {"total_size": 20}, "weight_map": {"a": "s1.safetensors", "b": "s2.bin"}})
    )
    seeds.append(idx / "model.index.json")
    import warnings

    import torch.distributed.checkpoint as dcp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.save({"w": torch.randn(3, 2), "step": 7}, checkpoint_id=str(folder / "dcp"))
    seeds.append(folder / "dcp")

    def pt2(p):
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("m/archive_format", "pt2")
            z.writestr(
                "m/data/weights/model_weights_config.json",
                json.dumps(
                    {
                        "config": {
                            "w": {
                                "path_name": "w0",
                                "is_param": True,
                                "use_pickle": False,
                                "tensor_meta": {
                                    "dtype": 7,
                                    "sizes": [{"as_int": 2}],
                                    "strides": [{"as_int": 1}],
                                    "storage_offset": {"as_int": 0},
                                    "device": {"type": "cpu"},
                                },
                            }
                        }
                    }
                ),
            )
            z.writestr("m/data/weights/w0", np.ones(2, np.float32).tobytes())
            z.writestr(
                "m/models/model.json",
                json.dumps(
                    {
                        "graph_module": {
                            "signature": {
                                "input_specs": [
                                    {"parameter": {"parameter_name": "w", "arg": {"name": "p_w"}}}
                                ]
                            },
                            "graph": {"nodes": [1, 2]},
                        },
                        "schema_version": {"major": 8},
                    }
                ),
            )

    add("export.pt2", pt2)

    def oldts(p):
        with zipfile.ZipFile(p, "w") as z:
            z.writestr(
                "m/model.json",
                json.dumps(
                    {
                        "tensors": [{"dims": ["2"], "dataType": "FLOAT", "data": {"key": "tensors/0"}}],
                        "mainModule": {
                            "parameters": [{"name": "w", "tensorId": "0"}],
                            "submodules": [{"name": "s"}],
                        },
                    }
                ),
            )
            z.writestr("m/tensors/0", np.ones(2, np.float32).tobytes())
            z.writestr("m/code/m.py", "def forward(self):\n    return self.w\n")

    add("oldts.pt", oldts)
    import gzip
    import lzma

    add("pickle.gz", lambda p: p.write_bytes(gzip.compress(pickle.dumps([1, 2, 3], protocol=2))))
    add("zip.xz", lambda p: p.write_bytes(lzma.compress((folder / "zip.pt").read_bytes())))
    return seeds


# -- mutations -------------------------------------------------------------------------------

FRAGMENTS = [
    lambda r: b"\x80\x02" * r.randint(1, 50_000),
    lambda r: b"]" * r.randint(1, 5000) + b"a" * r.randint(0, 5000),
    lambda r: b"(" * r.randint(1, 20_000),
    lambda r: b"[" * r.randint(1, 5000),
    lambda r: b'{"a": ' * r.randint(1, 3000),
    lambda r: (
        b"\x8b" + struct.pack("<i", 4000) + bytes(r.randrange(256) for _ in range(4000))
    ),  # LONG4: ~9,600 digits
    lambda r: b"r\xff\xff\xff\x7f",  # LONG_BINPUT at 2**31 - 1
    lambda r: b"\x80\x02B" + struct.pack("<I", r.randint(0, 1 << 31)),
    lambda r: b"PK\x01\x02" + r.randbytes(42),
    lambda r: b"PK\x05\x06" + b"\xff" * 18,
    lambda r: b"\x00" * r.randint(1, 100_000),
    lambda r: b"cos\nsystem\n",
    lambda r: b"\x80\x02N0" * r.randint(1, 20_000) + b"e.",
]


def mutate_bytes(data: bytes, r: random.Random) -> tuple[bytes, str]:
    kind = r.choice(["flip", "truncate", "insert", "repeat", "zipfield", "zipfield", "insert"])
    n = len(data)
    if kind == "flip" and n:
        b = bytearray(data)
        for _ in range(r.randint(1, 16)):
            b[r.randrange(n)] = r.randrange(256)
        return bytes(b), "flip"
    if kind == "truncate" and n:
        at = r.randrange(n)
        return data[:at], f"truncate@{at}"
    if kind == "repeat" and n:
        a = r.randrange(n)
        b = min(n, a + r.randint(1, 4096))
        return data[:b] + data[a:b] * r.randint(2, 200) + data[b:], f"repeat[{a}:{b}]"
    if kind == "zipfield":
        heads = [i for i in range(n - 46) if data[i : i + 4] == b"PK\x01\x02"][:200]
        if heads:
            h = r.choice(heads)
            field = r.choice([(10, "<H"), (20, "<I"), (24, "<I"), (28, "<H"), (42, "<I"), (8, "<H")])
            value = r.choice(
                [
                    0,
                    1,
                    0xFFFFFFFF,
                    0x7FFFFFFF,
                    r.randrange(1 << 16),
                    struct.unpack_from("<I", data, r.choice(heads) + 42)[0],
                ]
            )
            value &= 0xFFFF if field[1] == "<H" else 0xFFFFFFFF
            b = bytearray(data)
            struct.pack_into(field[1], b, h + field[0], value)
            return bytes(b), f"zipfield+{field[0]}={value}"
    frag = r.choice(FRAGMENTS)(r)
    at = r.randrange(n + 1)
    return data[:at] + frag + data[at:], f"insert {frag[:12]!r}x{len(frag)}@{at}"


def mutant(seed: Path, work: Path, r: random.Random) -> tuple[Path, str]:
    """A mutated copy of `seed` under `work` (a file, or a folder with a mutated member)."""
    if seed.is_dir() or seed.name.endswith(".index.json"):
        folder = seed if seed.is_dir() else seed.parent
        dst = work / folder.name
        shutil.copytree(folder, dst, symlinks=True)
        members = sorted(p for p in dst.iterdir() if p.is_file())
        victim = r.choice(members)
        special = r.random()
        if special < 0.08:
            victim.unlink()
            os.mkfifo(victim)
            what = f"{victim.name} -> fifo"
        elif special < 0.16:
            victim.unlink()
            os.symlink("/dev/zero", victim)
            what = f"{victim.name} -> /dev/zero"
        elif special < 0.22:
            victim.unlink()
            victim.mkdir()
            what = f"{victim.name} -> folder"
        elif special < 0.3 and victim.suffix == ".json":
            victim.write_text(
                r.choice(
                    [
                        "[]",
                        "[" * 50_000,
                        f'{{"weight_map": {{"a": "{victim.name}"}}}}',
                        '{"weight_map": []}',
                        '{"weight_map": {"a": 5}}',
                    ]
                )
            )
            what = f"{victim.name} -> odd json"
        else:
            data, what = mutate_bytes(victim.read_bytes(), r)
            victim.write_bytes(data)
            what = f"{victim.name}: {what}"
        target = dst if seed.is_dir() else dst / seed.name
        return target, what
    data, what = mutate_bytes(seed.read_bytes(), r)
    for _ in range(r.choice([0, 0, 1, 2])):
        data, more = mutate_bytes(data, r)
        what += "; " + more
    p = work / seed.name
    p.write_bytes(data)
    return p, what


# -- what each mutant goes through -----------------------------------------------------------


def exercise(path: Path) -> None:
    from inspector.analysis.histogram import histogram
    from inspector.analysis.stats import tensor_stats
    from inspector.analysis.verdict import scan_file
    from inspector.formats import CheckpointError, open_checkpoint
    from inspector.present import dumps_json, node_json, node_row

    v = scan_file(str(path))
    assert v.verdict in ("dangerous", "needs-code", "safe", "unreadable", "unverified"), v.verdict
    json.dumps(v.to_json())
    try:
        ck = open_checkpoint(str(path))
    except CheckpointError as exc:
        assert "\n" not in str(exc)
        return
    try:
        dumps_json(node_json(ck.root))
        for i, node in enumerate(ck.root.walk()):
            node_row(node)
            if i > 20_000:
                break
        for node in ck.tensors[:3]:
            try:
                arr = ck.source(node.value)
                st = tensor_stats(arr, node.value.dtype)
                histogram(
                    arr, node.value.dtype, bins=16, range=(st.min, st.max) if st.min is not None else None
                )
            except CheckpointError as exc:
                assert "\n" not in str(exc)
    finally:
        ck.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slow", type=float, default=10.0, help="a case slower than this is reported")
    ap.add_argument("--keep", help="copy failing inputs into this folder")
    ap.add_argument("--only", help="mutate only the seed of this name (zip.pt, legacy.pt, dcp, ...)")
    ap.add_argument(
        "--watchdog",
        type=float,
        default=0,
        help="dump the stack and exit when one case runs longer than this",
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    r = random.Random(args.seed)
    base = Path(tempfile.mkdtemp(prefix="fuzz-hostile-"))
    try:
        (base / "seeds").mkdir()
        seeds = [
            p
            for p in make_seeds(base / "seeds")
            if not args.only or p.name == args.only or p.parent.name == args.only
        ]
        failures, slow, cases, slowest = [], [], 0, (0.0, "")
        t_end = time.monotonic() + args.seconds
        while time.monotonic() < t_end:
            seed = r.choice(seeds)
            work = base / f"case{cases}"
            work.mkdir()
            path, what = mutant(seed, work, r)
            cases += 1
            t0 = time.perf_counter()
            if args.watchdog:  # a case that hangs: say where, then stop the run
                import faulthandler

                print(f"case {cases}: {seed.name}: {what}", file=sys.stderr, flush=True)
                faulthandler.dump_traceback_later(args.watchdog, exit=True)
            try:
                exercise(path)
            except Exception as exc:  # noqa: BLE001 - the point: anything escaping is a failure
                failures.append(
                    {
                        "seed": seed.name,
                        "mutation": what,
                        "error": f"{type(exc).__name__}: {exc}"[:300],
                        "where": traceback.format_exc().strip().splitlines()[-3:],
                    }
                )
                if args.keep:
                    Path(args.keep).mkdir(parents=True, exist_ok=True)
                    dst = Path(args.keep) / f"fail{len(failures)}-{seed.name}"
                    (shutil.copytree if path.is_dir() else shutil.copy)(
                        path, dst, **({"symlinks": True} if path.is_dir() else {})
                    )
            if args.watchdog:
                faulthandler.cancel_dump_traceback_later()
            took = time.perf_counter() - t0
            if took > slowest[0]:
                slowest = (took, f"{seed.name}: {what}")
            if took > args.slow:
                slow.append({"seed": seed.name, "mutation": what, "seconds": round(took, 2)})
            shutil.rmtree(work, ignore_errors=True)
        print(
            json.dumps(
                {
                    "cases": cases,
                    "failures": failures,
                    "slow": slow,
                    "slowest": {"seconds": round(slowest[0], 3), "case": slowest[1]},
                },
                indent=1,
            )
        )
        return 1 if failures or slow else 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
