"""A 138 GB Llama-70B-shaped checkpoint (sparse: a few MB on disk) on a 24 GB machine:
opening costs data.pkl, a tensor's statistics cost that tensor, memory stays bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
from make_skeleton import write_skeleton  # noqa: E402

from inspector.formats import open_checkpoint  # noqa: E402
from inspector.formats.tensor_data import StoredTensor  # noqa: E402


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "llama70b.pt"
    write_skeleton(str(path))
    st = os.stat(path)
    if st.st_blocks * 512 > 1 << 30:
        pytest.skip("this filesystem does not keep sparse files sparse")
    return path


PEAK = (
    "import runpy, sys\nsys.argv = sys.argv[1:]\n"
    "try:\n    runpy.run_module('inspector.cli', run_name='__main__', alter_sys=True)\n"
    "except SystemExit as e:\n    pass\n"
    "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1],"
    " file=sys.stderr)\n"
)


def run_ckpt(*args):
    r = subprocess.run(
        [sys.executable, "-c", PEAK, "ckpt", *map(str, args)], capture_output=True, text=True, timeout=600
    )
    return r.stdout, int(r.stderr.strip().splitlines()[-1]) / 1024


def test_info_on_138_gb_file_in_bounded_memory(llama):
    assert os.path.getsize(llama) > 137_000_000_000
    out, peak_mb = run_ckpt("info", "--json", llama)
    info = json.loads(out)
    assert info["tensor_count"] == 723
    assert info["numel_total"] == 68_976_648_192
    assert info["dtypes"] == {"bfloat16": 68_976_648_192}
    assert peak_mb < 300, peak_mb


def test_stats_of_the_largest_tensor_costs_only_chunks(llama):
    out, peak_mb = run_ckpt("stats", "--json", "--bins", "10", llama, "model.layers.79.mlp.down_proj.weight")
    s = json.loads(out)
    assert s["numel"] == 8192 * 28672
    assert sum(s["histogram"]["counts"]) + s["nan"] + s["inf"] == s["numel"]
    assert peak_mb < 300, peak_mb  # the tensor alone is 470 MB


def test_reader_maps_only_the_tensor_record(llama):
    ck = open_checkpoint(llama)
    node = ck.tensor_node("model.layers.3.input_layernorm.weight")
    arr = ck.array(node)
    base = arr.base
    while base is not None and not hasattr(base, "madvise"):
        base = getattr(base, "base", getattr(base, "obj", None))
    import mmap

    assert base is not None and isinstance(base, mmap.mmap)
    assert len(base) < 8192 * 2 + mmap.ALLOCATIONGRANULARITY
    assert isinstance(ck.source(ck.tensor_node("lm_head.weight")), StoredTensor)


def test_safetensors_shard_set_of_the_same_shapes(tmp_path):
    from make_skeleton import llama_shapes, write_safetensors_shards

    index = write_safetensors_shards(str(tmp_path / "st"), llama_shapes())
    out, peak_mb = run_ckpt("info", "--json", index)
    info = json.loads(out)
    assert info["format"] == "hf-index" and info["tensor_count"] == 723
    assert info["numel_total"] == 68_976_648_192 and peak_mb < 300
