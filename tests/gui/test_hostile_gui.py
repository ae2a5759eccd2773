"""Issue 12 in the window: a 5,000-digit integer shows in the value panel (no traceback),
and the histogram of an expanded tensor (2**40 elements, one stored) arrives at once with
the counts of the whole."""

from __future__ import annotations

import pickle
import sys

import hostile_files as H
import torch


def wait_open(qtbot, w, n=1):
    qtbot.waitUntil(lambda: len(w.model.files()) >= n and not w.loading, timeout=20000)


def test_giant_int_in_value_panel_and_tree(qtbot, window, tmp_path):
    p = tmp_path / "bigint.pt"
    value = 10**5000 + 7
    p.write_bytes(H.torch_zip_bytes(pickle.dumps({"n": value, "k": {value: 1}}, protocol=2)))
    seen = []
    old = sys.excepthook
    sys.excepthook = lambda *exc: seen.append(exc)  # an exception in a Qt slot lands here
    try:
        window.open_paths([p])
        wait_open(qtbot, window)
        assert not window.errors
        assert window.select_path("n")
        assert window.stack.currentWidget() is window.values
        text = window.values.toPlainText()
        assert "1.000000000e+5000" in text and f"…{value % 10**9:09d}" in text
        window.grab().save(str(tmp_path / "giant_int.png"))
        assert window.select_path("k")
        qtbot.wait(50)
    finally:
        sys.excepthook = old
    assert not seen, seen


def test_expanded_tensor_histogram_counts_the_whole(qtbot, window, tmp_path):
    p = tmp_path / "expanded.pt"
    torch.save({"t": torch.arange(3.0).reshape(3, 1).expand(3, 2**38)}, p)
    window.open_paths([p])
    wait_open(qtbot, window)
    assert window.select_path("t")
    panel = window.tensor
    qtbot.waitUntil(lambda: panel.exact is not None, timeout=30000)
    st, hist = panel.exact
    assert st.numel == 3 * 2**38 and st.zeros == 2**38
    assert int(hist.counts.sum()) == 3 * 2**38
    assert int(hist.counts[0]) == int(hist.counts[-1]) == 2**38  # 0 in the first bin, 2 in the last
    assert panel.stat_labels["numel"].text() == f"{3 * 2**38:,}"
    panel.tabs.setCurrentIndex(2)  # the heatmap samples it without copying 2**38 values
    assert panel.heat_img.image is not None
    window.grab().save(str(tmp_path / "expanded.png"))
