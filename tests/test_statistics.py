"""Statistics and exact histograms: counts add up, match numpy's definition, bf16 too."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.analysis.decode import fp8_table, sample
from inspector.analysis.histogram import histogram, histogram_of_values
from inspector.analysis.stats import tensor_stats
from inspector.formats import open_checkpoint


def open_tensor(tmp_path, t, name="t"):
    p = tmp_path / f"{name}.pt"
    torch.save({name: t}, p)
    ck = open_checkpoint(p)
    node = ck.tensor_node(name)
    return ck.array(node), node.value.dtype


def test_histogram_matches_numpy_with_the_same_edges(tmp_path):
    x = torch.randn(300_000) * 3
    arr, dt = open_tensor(tmp_path, x)
    h = histogram(arr, dt, bins=77, chunk=50_000)  # several chunks
    ref, ref_edges = np.histogram(x.numpy(), bins=h.edges)
    assert np.array_equal(h.counts, ref)
    assert h.counts.sum() == x.numel()


def test_values_exactly_on_edges_follow_numpy(tmp_path):
    # values sitting on bin edges, including the closed last edge
    x = torch.tensor(np.linspace(-1, 1, 21), dtype=torch.float32).repeat(1000)
    arr, dt = open_tensor(tmp_path, x)
    h = histogram(arr, dt, bins=20)
    ref, _ = np.histogram(x.numpy(), bins=h.edges)
    assert np.array_equal(h.counts, ref)


def test_bf16_counts_exact_where_torch_histc_saturates(tmp_path):
    x = torch.zeros(5000, dtype=torch.bfloat16)  # 5000 identical values: one bin
    x[:10] = 1
    arr, dt = open_tensor(tmp_path, x)
    h = histogram(arr, dt, bins=4)
    assert h.counts.sum() == 5000
    assert sorted(h.counts.tolist())[-1] == 4990
    # the bug this exists for (pytorch#96613): histc in bf16 stops counting at 256/512
    histc = torch.histc(x, bins=4, min=0, max=1)
    assert histc.sum().item() < 5000


def test_nan_and_inf_counted_apart_and_everything_adds_up(tmp_path):
    x = torch.randn(10_000)
    x[::7] = float("nan")
    x[1::13] = float("inf")
    x[2::17] = float("-inf")
    for t in (x, x.half(), x.bfloat16()):
        arr, dt = open_tensor(tmp_path, t, name=str(t.dtype).split(".")[1])
        h = histogram(arr, dt, bins=50)
        assert h.nan == int(torch.isnan(t).sum())
        assert h.posinf == int((t == float("inf")).sum())
        assert h.neginf == int((t == float("-inf")).sum())
        assert h.counts.sum() + h.nan + h.inf + h.below + h.above == t.numel()
        st = tensor_stats(arr, dt)
        finite = t[torch.isfinite(t)].double()
        assert st.nan == h.nan and st.inf == h.inf
        assert st.min == pytest.approx(finite.min().item())
        assert st.max == pytest.approx(finite.max().item())
        assert st.mean == pytest.approx(finite.mean().item(), rel=1e-6, abs=1e-9)


def test_statistics_match_torch(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(64, 128) * 2 + 0.5
    x[0, :10] = 0
    arr, dt = open_tensor(tmp_path, x.t())  # non-contiguous view
    st = tensor_stats(arr, dt, chunk=1000)
    assert st.numel == x.numel()
    assert st.zeros == 10
    assert st.mean == pytest.approx(x.double().mean().item(), rel=1e-9)
    assert st.std == pytest.approx(x.double().std(unbiased=False).item(), rel=1e-6)
    assert st.l2 == pytest.approx(x.double().norm().item(), rel=1e-6)
    assert st.min == x.min().item() and st.max == x.max().item()


def test_range_selection_counts_outside_values(tmp_path):
    x = torch.linspace(-10, 10, 2001)
    arr, dt = open_tensor(tmp_path, x)
    h = histogram(arr, dt, bins=10, range=(-1.0, 1.0))
    assert h.below == int((x < -1).sum()) and h.above == int((x > 1).sum())
    assert h.counts.sum() + h.below + h.above == 2001


def test_integer_bool_and_fp8_tensors(tmp_path):
    ints = torch.arange(-50, 50, dtype=torch.int64)
    arr, dt = open_tensor(tmp_path, ints, "ints")
    st = tensor_stats(arr, dt)
    assert (st.min, st.max, st.zeros) == (-50, 49, 1)
    b = torch.tensor([True, False, True])
    arr, dt = open_tensor(tmp_path, b, "b")
    assert tensor_stats(arr, dt).mean == pytest.approx(2 / 3)
    f8 = torch.randn(1000).to(torch.float8_e4m3fn)
    arr, dt = open_tensor(tmp_path, f8, "f8")
    st = tensor_stats(arr, dt)
    assert st.max == f8.float().max().item()
    # every fp8 bit pattern decodes as torch decodes it
    for name in ("float8_e4m3fn", "float8_e5m2"):
        bits = torch.arange(256, dtype=torch.uint8).view(getattr(torch, name)).float().numpy()
        table = fp8_table(name)
        assert np.array_equal(np.isnan(bits), np.isnan(table))
        assert np.array_equal(bits[~np.isnan(bits)], table[~np.isnan(table)])


def test_sample_preview_is_fixed_size_and_representative(tmp_path):
    x = torch.randn(3_000_000)
    arr, dt = open_tensor(tmp_path, x)
    s1 = sample(arr, dt, size=100_000)
    s2 = sample(arr, dt, size=100_000)
    assert s1.size == 100_000 and np.array_equal(s1, s2)  # deterministic
    assert abs(float(s1.mean())) < 0.02 and abs(float(s1.std()) - 1) < 0.02
    h = histogram_of_values(s1, bins=20)
    assert h.counts.sum() == 100_000


def test_empty_and_constant_tensors(tmp_path):
    arr, dt = open_tensor(tmp_path, torch.zeros(0, 3), "e")
    h = histogram(arr, dt, bins=5)
    assert h.counts.sum() == 0
    assert tensor_stats(arr, dt).min is None
    arr, dt = open_tensor(tmp_path, torch.full((100,), 2.5), "c")
    h = histogram(arr, dt, bins=5)
    assert h.counts.sum() == 100 and h.edges[0] == 2.0 and h.edges[-1] == 3.0
