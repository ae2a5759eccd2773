"""Hostile structures, generated small: each builder writes its files under `folder` and
returns the `ckpt` command lines that must end in bounded time and memory with one line.

Shared by tests/test_hostile_structures.py (each once, under RLIMIT_AS) and the mutation
fuzzers (tests/test_hostile_structures.py::test_mutation_fuzz_quick, tests/fuzz/).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

MB = 1 << 20

# -- small pieces ----------------------------------------------------------------------


def torch_zip_bytes(data_pkl: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/version", "3\n")
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return buf.getvalue()


def plain_pickle() -> bytes:
    return pickle.dumps({"a": 1, "b": [1.5, "x"]}, protocol=2)


def repeated_streams(compress, chunk: bytes, copies: int, head: bytes = b"") -> bytes:
    """Concatenated streams/members: every decompressor reads them all (`gzip -d`,
    `xz -d`), so the ratio multiplies by `copies` for the cost of one small stream."""
    one = compress(chunk)
    return (compress(head + chunk) if head else one) + one * (copies - 1)


# -- builders: (folder) -> list of argv (after `ckpt`) ----------------------------------


def xz_bomb(folder: Path) -> list[list[str]]:
    """~0.9 MB of xz streams that inflate to 6 GB, starting with a pickle header."""
    p = folder / "bomb.pt.xz"
    p.write_bytes(
        repeated_streams(lambda b: lzma.compress(b, preset=0), bytes(10 * MB), 600, head=plain_pickle())
    )
    assert p.stat().st_size < MB
    return [["scan", str(p)], ["info", str(p)]]


def gzip_bomb(folder: Path) -> list[list[str]]:
    """<1 MB of gzip members that inflate to 900 MB (deflate tops out near 1:1000)."""
    p = folder / "bomb.pt.gz"
    p.write_bytes(repeated_streams(lambda b: gzip.compress(b, 9), bytes(10 * MB), 90, head=plain_pickle()))
    assert p.stat().st_size < MB
    return [["scan", str(p)]]


def bz2_bomb(folder: Path) -> list[list[str]]:
    """A few KB of bzip2 streams that inflate to 10 GB."""
    p = folder / "bomb.pt.bz2"
    p.write_bytes(repeated_streams(lambda b: bz2.compress(b, 9), bytes(10 * MB), 1000, head=plain_pickle()))
    assert p.stat().st_size < MB
    return [["scan", str(p)]]


def zip_overlap_bomb(folder: Path) -> list[list[str]]:
    """One deflated 64 MB member and thousands of directory entries pointing at it: every
    entry inflates the same bytes again (an overlapping-member zip bomb)."""
    p = folder / "overlap.pt"
    p.write_bytes(
        _overlapping_zip(zlib.compressobj(9, zlib.DEFLATED, -15), b"\x80\x02" + bytes(64 * MB), entries=8000)
    )
    assert p.stat().st_size < MB
    return [["scan", str(p)], ["info", str(p)]]


def zip_quadratic(folder: Path) -> list[list[str]]:
    """160 KB: one stored member of repeated pickle headers, named by 1,500 entries."""
    p = folder / "quadratic.pt"
    p.write_bytes(_overlapping_zip(None, b"\x80\x02" * 40_000, entries=1500))
    assert p.stat().st_size < 200_000
    return [["scan", str(p)]]


def _overlapping_zip(compressor, payload: bytes, entries: int) -> bytes:
    """A zip whose `entries` central-directory records all point at one local record."""
    if compressor is None:
        body, method = payload, 0
    else:
        body, method = compressor.compress(payload) + compressor.flush(), 8
    crc = zlib.crc32(payload)
    name = b"blob"
    local = (
        struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(body), len(payload), len(name), 0
        )
        + name
        + body
    )
    central = bytearray()
    for i in range(entries):
        n = b"m%05d" % i
        central += (
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                0,
                0,
                crc,
                len(body),
                len(payload),
                len(n),
                0,
                0,
                0,
                0,
                0,
                0,
            )
            + n
        )
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(central), len(local), 0)
    return local + bytes(central) + eocd


def tar_quadratic(folder: Path) -> list[list[str]]:
    """160 KB legacy-tar look-alike whose `storages` member is 80,000 pickle headers."""
    p = folder / "quadratic.tar"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in (
            ("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
            ("pickle", plain_pickle()),
            ("storages", b"\x80\x02" * 80_000),
            ("tensors", b"\x80\x02" * 1000),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    p.write_bytes(buf.getvalue())
    assert p.stat().st_size < 200_000
    return [["scan", str(p)], ["info", str(p)]]


def carve_chains(folder: Path) -> list[list[str]]:
    """xz content where every pickle-header candidate jumps (BINBYTES) over the others to
    one long common tail: naive carving re-parses the tail once per candidate."""
    n = 40_000
    tail = b"N0" * 200_000 + b"."
    prefix = bytearray()
    for i in range(n):
        prefix += b"\x80\x02B" + struct.pack("<I", 7 * (n - i - 1))
    p = folder / "chains.xz"
    p.write_bytes(lzma.compress(b"junk" + bytes(prefix) + tail))
    return [["scan", str(p)]]


def dcp_metadata_dev_zero(folder: Path) -> list[list[str]]:
    d = folder / "dcp_zero"
    d.mkdir()
    os.symlink("/dev/zero", d / ".metadata")
    (d / "__0_0.distcp").write_bytes(b"\x00" * 16)
    return [["scan", str(d)], ["info", str(d)]]


def dcp_metadata_fifo(folder: Path) -> list[list[str]]:
    d = folder / "dcp_fifo"
    d.mkdir()
    os.mkfifo(d / ".metadata")
    (d / "__0_0.distcp").write_bytes(b"\x00" * 16)
    return [["scan", str(d)], ["info", str(d)]]


def dcp_metadata_dir(folder: Path) -> list[list[str]]:
    d = folder / "dcp_dir"
    (d / ".metadata").mkdir(parents=True)
    (d / "__0_0.distcp").write_bytes(b"\x00" * 16)
    return [["scan", str(d)], ["info", str(d)]]


def dcp_chunk_symlink_out(folder: Path) -> list[list[str]]:
    """A .distcp that is a symlink leaving the folder (to a file outside it)."""
    d = folder / "dcp_link"
    d.mkdir()
    outside = folder / "outside.bin"
    outside.write_bytes(b"\x80\x02cos\nsystem\nq\x00.")
    (d / ".metadata").write_bytes(plain_pickle())
    os.symlink(outside, d / "__0_0.distcp")
    return [["scan", str(d)], ["info", str(d)]]


def fifo_file(folder: Path) -> list[list[str]]:
    p = folder / "pipe.pt"
    os.mkfifo(p)
    return [["scan", str(p)], ["info", str(p)], ["tree", str(p)]]


def dev_zero_file(folder: Path) -> list[list[str]]:
    p = folder / "zero.pt"
    os.symlink("/dev/zero", p)
    return [["scan", str(p)], ["info", str(p)]]


def deep_json(folder: Path) -> list[list[str]]:
    p = folder / "deep.json"
    p.write_text("[" * 200_000 + "]" * 200_000)
    q = folder / "deep.safetensors.index.json"
    q.write_text('{"metadata": ' + "[" * 50_000 + "]" * 50_000 + ', "weight_map": {}}')
    return [["scan", str(p)], ["info", str(p)], ["scan", str(q)], ["info", str(q)]]


def deep_safetensors_header(folder: Path) -> list[list[str]]:
    header = (
        '{"__metadata__": {"x": "' + "y" * 10 + '"}, "a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    ).encode()
    p = folder / "deep.safetensors"
    p.write_bytes(struct.pack("<Q", len(header)) + header)
    return [["scan", str(p)], ["info", str(p)]]


def index_naming_itself(folder: Path) -> list[list[str]]:
    d = folder / "selfidx"
    d.mkdir()
    p = d / "model.safetensors.index.json"
    p.write_text(json.dumps({"weight_map": {"w": "model.safetensors.index.json"}}))
    a, b = d / "a.index.json", d / "b.index.json"
    a.write_text(json.dumps({"weight_map": {"w": "b.index.json"}}))
    b.write_text(json.dumps({"weight_map": {"w": "a.index.json"}}))
    return [["scan", str(p)], ["info", str(p)], ["scan", str(a)], ["info", str(a)], ["info", str(d)]]


def pt2_json_list(folder: Path) -> list[list[str]]:
    p = folder / "list.pt2"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("m/archive_format", "pt2")
        z.writestr("m/data/weights/model_weights_config.json", "[]")
        z.writestr("m/models/model.json", "[1, 2]")
    p.write_bytes(buf.getvalue())
    q = folder / "list2.pt2"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("m/archive_format", "pt2")
        z.writestr("m/data/weights/model_weights_config.json", json.dumps({"config": [1, 2]}))
        z.writestr("m/models/model.json", json.dumps({"graph_module": []}))
    q.write_bytes(buf.getvalue())
    return [["info", str(p)], ["tree", str(p)], ["scan", str(p)], ["info", str(q)]]


def old_torchscript_not_object(folder: Path) -> list[list[str]]:
    out = []
    for i, text in enumerate(
        [
            "[1, 2, 3]",
            '{"tensors": 5, "mainModule": []}',
            '{"tensors": [1], "mainModule": {"submodules": [3]}}',
        ]
    ):
        p = folder / f"oldts{i}.pt"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("m/model.json", text)
        p.write_bytes(buf.getvalue())
        out += [["info", str(p)], ["tree", str(p)]]
    return out


def nested_lists(folder: Path) -> list[list[str]]:
    p = folder / "nested.pt"
    data = b"\x80\x02" + b"]" * 600 + b"a" * 599 + b"."
    p.write_bytes(torch_zip_bytes(data))
    return [["tree", str(p), "--json"], ["tree", str(p)], ["info", str(p), "--json"]]


def giant_int(folder: Path) -> list[list[str]]:
    p = folder / "bigint.pt"
    value = 10**5000 + 7
    p.write_bytes(torch_zip_bytes(pickle.dumps({"n": value, "m": [-value]}, protocol=2)))
    return [
        ["tree", str(p)],
        ["tree", str(p), "--json"],
        ["info", str(p)],
        ["info", str(p), "--json"],
        ["scan", str(p)],
    ]


def nonexistent(folder: Path) -> list[list[str]]:
    return [
        ["scan", str(folder / "nonexistent.pt")],
        ["info", str(folder / "nonexistent.pt")],
        ["scan", "/nonexistent.pt"],
    ]


def nested_tuples_build(folder: Path) -> list[list[str]]:
    """BUILD applied 50,000 times to one object with non-dict state: the recorded state
    becomes a 50,000-deep chain of pairs."""
    body = b"\x80\x02c__main__\nX\n)\x81q\x00" + b"K\x01b" * 50_000 + b"."
    p = folder / "builds.pt"
    p.write_bytes(torch_zip_bytes(body))
    return [["info", str(p)], ["tree", str(p), "--json"], ["scan", str(p)]]


def copy_amplification(folder: Path) -> list[list[str]]:
    """1.3 MB: a 20,000-entry dict memoised once, then `OrderedDict(that dict)` 200,000
    times at 5 bytes a call - each call copies 20,000 entries (hours, unbounded)."""
    out = io.BytesIO()
    out.write(b"\x80\x02}q\x01(")
    for i in range(20_000):
        out.write(b"X" + struct.pack("<I", len(str(i))) + str(i).encode() + b"K\x01")
    out.write(b"ucollections\nOrderedDict\nq\x02".replace(b"ucollections", b"uccollections"))
    out.write(b"h\x02h\x01\x85R0" * 200_000 + b"N.")
    p = folder / "amplify.pt"
    p.write_bytes(torch_zip_bytes(out.getvalue()))
    return [["info", str(p)], ["tree", str(p)], ["scan", str(p)]]


BUILDERS = {
    f.__name__: f
    for f in (
        xz_bomb,
        gzip_bomb,
        bz2_bomb,
        zip_overlap_bomb,
        zip_quadratic,
        tar_quadratic,
        carve_chains,
        dcp_metadata_dev_zero,
        dcp_metadata_fifo,
        dcp_metadata_dir,
        dcp_chunk_symlink_out,
        fifo_file,
        dev_zero_file,
        deep_json,
        deep_safetensors_header,
        index_naming_itself,
        pt2_json_list,
        old_torchscript_not_object,
        nested_lists,
        giant_int,
        nonexistent,
        nested_tuples_build,
        copy_amplification,
    )
}


# -- running ckpt bounded -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def run_ckpt(argv: list[str], mem_bytes: int = 3 << 30, timeout: float = 120.0):
    """`python -m inspector.cli ARGV` under RLIMIT_AS=mem_bytes. Returns (returncode,
    stdout, stderr, seconds, peak resident bytes of that process alone); raises
    subprocess.TimeoutExpired (after killing it) when it runs past `timeout`."""
    import resource
    import subprocess
    import sys
    import tempfile
    import time

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(
            [sys.executable, "-m", "inspector.cli", *argv],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            preexec_fn=limit,
            cwd=str(ROOT),
            env=env,
        )
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                p.kill()
                os.wait4(p.pid, 0)
                p.returncode = -9
                raise subprocess.TimeoutExpired(argv, timeout)
            time.sleep(0.02)
        took = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (
            p.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            took,
            usage.ru_maxrss * 1024,
        )
