"""Issue 13 in the window: a bare optimizer paired with its model file, and quantized
tensors shown as real values with the stored integers one click away."""

import os

import pytest
import torch
from torch import nn

from inspector.gui.pair_model import pair


def wait_loaded(qtbot, w, n=1):
    qtbot.waitUntil(lambda: len(w.model.files()) == n and not w.loading, timeout=20000)


def test_pair_bare_optimizer_with_model_file(qtbot, window, tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(4, 6)).square().mean().backward()
        opt.step()
    o, m = tmp_path / "optimizer.pt", tmp_path / "pytorch_model.bin"
    torch.save(opt.state_dict(), o)
    torch.save(model.state_dict(), m)
    window.open_paths([o])
    wait_loaded(qtbot, window)
    window.tree.setCurrentIndex(window.model.index(0, 0))
    assert "4 unknown" in window.summary.toPlainText()
    assert window.pair_action.text() == "&Pair optimizer with model file…"
    assert pair(window, str(m))
    f = window.current_file()
    assert [s.name for s in f.maps[0].slots] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    text = window.summary.toPlainText()
    assert "4 inferred" in text and "names from pytorch_model.bin" in text
    # the update table reads the weights from the paired model file
    window.file_view.setCurrentIndex(1)
    qtbot.waitUntil(lambda: window.updates.model.rowCount() == 4, timeout=20000)
    rows = {r.name: r for r in window.updates.model.rows}
    w0 = model[0].weight.detach().double()
    assert rows["0.weight"].weight_rms == pytest.approx(w0.square().mean().sqrt().item(), rel=1e-6)
    window.file_view.setCurrentIndex(0)
    window.grab().save(os.environ.get("SHOT_DIR", str(tmp_path)) + "/paired.png")
    # a model file that cannot be read: one message, the pairing stays
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint at all")
    assert not pair(window, str(bad))
    assert window.errors and "broken.pt" in window.errors[-1]
    assert f.maps[0].slots[0].name == "0.weight"


def test_quantized_tensor_real_values_and_raw_toggle(qtbot, window, tmp_path):
    torch.manual_seed(0)
    w = torch.randn(8, 4, 3, 3)
    q = torch.quantize_per_channel(
        w, torch.rand(8, dtype=torch.float64) * 0.02 + 0.01, torch.arange(8) - 4, 0, torch.qint8
    )
    p = tmp_path / "int8.pt"
    torch.save({"conv.weight": q}, p)
    window.open_paths([p])
    wait_loaded(qtbot, window)
    assert window.select_path("conv.weight")
    panel = window.tensor
    assert panel.raw.isVisibleTo(panel) and not panel.raw.isChecked()
    real = torch.dequantize(q).numpy()
    qtbot.waitUntil(lambda: panel.exact is not None, timeout=20000)
    assert panel.exact[0].max == pytest.approx(float(real.max()))
    assert int(panel.exact[1].counts.sum()) == real.size
    assert "qscheme per_channel_affine" in panel.meta.text() and "axis 0" in panel.meta.text()
    window.grab().save(os.environ.get("SHOT_DIR", str(tmp_path)) + "/quantized.png")
    panel.exact = None
    panel.raw.setChecked(True)
    qtbot.waitUntil(lambda: panel.exact is not None, timeout=20000)
    assert panel.exact[0].max == q.int_repr().max().item()
    assert panel.exact[0].min == q.int_repr().min().item()
    # a float tensor has no such toggle
    torch.save({"w": torch.ones(3)}, tmp_path / "f.pt")
    window.open_paths([tmp_path / "f.pt"])
    wait_loaded(qtbot, window, 2)
    assert window.select_path("w", window.model.files()[-1])
    assert not panel.raw.isVisibleTo(panel)


def test_long_value_list_preview_and_lazy_rows(qtbot, window, tmp_path):
    import random

    random.seed(3)
    state = random.getstate()
    torch.save({"python": state, "lines": [f"line {i}" for i in range(6000)]}, tmp_path / "rng.pt")
    window.open_paths([tmp_path / "rng.pt"])
    wait_loaded(qtbot, window)
    assert window.select_path("python/1")
    html = window.values.toPlainText()
    assert f"{state[1][0]}, {state[1][1]}" in html and "… 614 more …" in html and str(state[1][624]) in html
    assert window.select_path("lines")
    idx = window.tree.currentIndex()
    assert window.model.rowCount(idx) == 1000  # the rest is fetched as the view scrolls
    assert window.model.canFetchMore(idx)
