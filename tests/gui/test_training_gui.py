"""Training checkpoints in the window: optimizer state under each parameter, overlay,
training card, per-layer update table."""

import math

import pytest
import torch
from torch import nn

from inspector.gui.main_window import MainWindow


@pytest.fixture
def trained(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(5, 8)).square().mean().backward()
        opt.step()
    p = tmp_path / "train.pt"
    torch.save(
        {
            "epoch": 7,
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict(),
            "loss": 0.5,
        },
        p,
    )
    return p, model, opt


def test_training_features_in_the_window(qtbot, tmp_settings, trained):
    p, model, opt = trained
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.open_paths([p])
    qtbot.waitUntil(lambda: bool(w.model.files()) and not w.loading, timeout=20000)
    text = w.summary.toPlainText()
    assert "tutorial" in text and "Epoch" in text and "Adam-family" in text and "4 inferred" in text
    # under the parameter: its optimizer state
    assert w.select_path("model_state_dict/0.weight")
    idx = w.tree.currentIndex()
    kids = [w.model.item(w.model.index(r, 0, idx)).label for r in range(w.model.rowCount(idx))]
    assert kids == ["step (optimizer state)", "exp_avg (optimizer state)", "exp_avg_sq (optimizer state)"]
    # overlay the histogram of exp_avg
    panel = w.tensor
    items = [panel.overlay.itemText(i) for i in range(panel.overlay.count())]
    assert "overlay exp_avg" in items
    panel.overlay.setCurrentIndex(items.index("overlay exp_avg"))
    qtbot.waitUntil(lambda: panel.plot.overlay is not None, timeout=20000)
    assert int(panel.plot.overlay.counts.sum()) == 16 * 8
    # the per-layer update table, checked against torch's own Adam arithmetic
    w.select_path("")
    w.tree.setCurrentIndex(w.model.index(0, 0))
    w.file_view.setCurrentIndex(1)
    qtbot.waitUntil(lambda: w.updates.model.rowCount() == 4, timeout=20000)
    rows = {r.name: r for r in w.updates.model.rows}
    st = opt.state_dict()["state"][0]
    t = st["step"].item()
    m_hat = st["exp_avg"] / (1 - 0.9**t)
    v_hat = st["exp_avg_sq"] / (1 - 0.999**t)
    upd = 1e-2 * m_hat / (v_hat.sqrt() + 1e-8)
    want = upd.pow(2).mean().sqrt() / model[0].weight.detach().pow(2).mean().sqrt()
    assert math.isclose(rows["0.weight"].ratio, want.item(), rel_tol=1e-5)
