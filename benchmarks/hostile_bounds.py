"""Each hostile structure through `ckpt`: seconds and peak memory, against the target.

Issue 12's target: any input up to 10 MB judged in at most 10 s and 1 GB. Runs every
builder of tests/hostile_files.py (bombs, quadratic tar/zip, special files, deep JSON,
giant ints, ...) plus 10 MB worst cases for the linear passes (carving 5 million pickle
headers, a pickle of 10 MB of nesting, globals x calls), each `ckpt` command in its own
process under RLIMIT_AS 3 GB, and prints seconds, the process's peak resident memory
(wait4) and the ratio to the target (time / 10 s, memory / 1 GB: under 1.00 meets it).

    python benchmarks/hostile_bounds.py [--only NAME]
"""

from __future__ import annotations

import argparse
import io
import lzma
import os
import struct
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hostile_files as H  # noqa: E402

MB = 1 << 20


def big_tar_headers(folder: Path):
    """10 MB: a legacy-tar look-alike whose member is 5 million pickle headers."""
    p = folder / "headers10mb.tar"
    with tarfile.open(p, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in (("pickle", H.plain_pickle()), ("storages", b"\x80\x02" * (5 * MB))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return [["scan", str(p)]]


def big_xz_chains(folder: Path):
    """xz of 10 MB where every header jumps over the others onto one long tail."""
    n = 700_000
    prefix = b"".join(b"\x80\x02B" + struct.pack("<I", 7 * (n - i - 1)) for i in range(n))
    p = folder / "chains10mb.xz"
    p.write_bytes(lzma.compress(prefix + b"N0" * 2_500_000 + b"."))
    return [["scan", str(p)]]


def big_nesting(folder: Path):
    n = 5 * MB
    p = folder / "nest10mb.pt"
    p.write_bytes(H.torch_zip_bytes(b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b"."))
    return [["scan", str(p)], ["info", str(p)], ["tree", str(p), "--json"]]


def big_globals_calls(folder: Path):
    """10 MB pickle naming 500,000 distinct globals, each called; bytes after STOP send it
    to the Python opcode scan."""
    out = io.BytesIO()
    out.write(b"\x80\x02")
    i = 0
    while out.tell() < 10 * MB - 64:
        out.write(b"cm\nn%d\n)R0" % i)
        i += 1
    out.write(b"N.junk")
    p = folder / "globals10mb.pt"
    p.write_bytes(H.torch_zip_bytes(out.getvalue()))
    return [["scan", str(p)], ["info", str(p)]]


def big_giant_int(folder: Path):
    """A 10 MB integer (about 24 million digits)."""
    p = folder / "int10mb.pt"
    body = os.urandom(10 * MB - 64)
    p.write_bytes(
        H.torch_zip_bytes(b"\x80\x02}X\x01\x00\x00\x00n\x8b" + struct.pack("<i", len(body)) + body + b"s.")
    )
    return [["tree", str(p)], ["info", str(p), "--json"], ["scan", str(p)]]


EXTRA = {
    f.__name__: f for f in (big_tar_headers, big_xz_chains, big_nesting, big_globals_calls, big_giant_int)
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only")
    args = ap.parse_args()
    builders = {**H.BUILDERS, **EXTRA}
    worst_t = worst_m = 0.0
    print(
        f"{'structure':28} {'command':8} {'input':>9} {'exit':>4} {'seconds':>8} {'peak MB':>8}  "
        f"{'t/10s':>6} {'m/1GB':>6}"
    )
    for name, build in builders.items():
        if args.only and args.only != name:
            continue
        with tempfile.TemporaryDirectory() as d:
            for argv in build(Path(d)):
                target = Path(argv[1])
                size = (
                    sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
                    if target.is_dir()
                    else target.stat().st_size
                    if target.is_file()
                    else 0
                )
                try:
                    rc, out, err, took, peak = H.run_ckpt(argv, timeout=300)
                except subprocess.TimeoutExpired:
                    rc, took, peak, err = "T/O", 300.0, 0, "timeout"
                worst_t, worst_m = max(worst_t, took), max(worst_m, peak)
                line = (err.strip() or out.strip()).splitlines()[:1]
                print(
                    f"{name:28} {' '.join([argv[0]] + argv[2:])[:8]:8} {size / MB:8.2f}M {rc!s:>4} "
                    f"{took:8.2f} {peak / MB:8.0f}  {took / 10:6.2f} {peak / (1 << 30):6.2f}  "
                    f"{(line[0] if line else '')[:70]}"
                )
    print(
        f"worst: {worst_t:.2f} s ({worst_t / 10:.2f} of 10 s), {worst_m / MB:.0f} MB "
        f"({worst_m / (1 << 30):.2f} of 1 GB)"
    )


if __name__ == "__main__":
    main()
