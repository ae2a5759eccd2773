"""The window opens a Llama-shaped skeleton and computes one tensor's exact histogram."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from make_skeleton import write_skeleton  # noqa: E402

from inspector.gui.main_window import MainWindow  # noqa: E402


def test_skeleton_opens_and_largest_tensor_counts(qtbot, tmp_settings, tmp_path):
    path = tmp_path / "llama_small.pt"
    write_skeleton(str(path), layers=4, hidden=1024, ffn=4096, vocab=8000)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.open_paths([path])
    qtbot.waitUntil(lambda: bool(w.model.files()) and not w.loading, timeout=30000)
    f = w.model.files()[0]
    assert f.summary["tensor_count"] == 4 * 9 + 3
    assert w.grouped.isChecked()  # dotted keys: grouped by module by default
    top = w.model.index(0, 0)
    assert [w.model.item(w.model.index(r, 0, top)).label for r in range(w.model.rowCount(top))] == [
        "model",
        "lm_head",
    ]
    w.grouped.setChecked(False)
    assert w.model.rowCount(w.model.index(0, 0)) == 39
    assert w.select_path("model.layers.3.mlp.down_proj.weight")
    qtbot.waitUntil(lambda: w.tensor.exact is not None, timeout=60000)
    st, hist = w.tensor.exact
    assert int(hist.counts.sum()) + hist.nan + hist.inf == 1024 * 4096
