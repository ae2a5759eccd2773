"""The desktop application, offscreen: open, browse, inspect, filter, remember, survive."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from helpers import CORPUS, corpus_or_skip, tutorial_checkpoint
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from inspector.gui.main_window import MainWindow


@pytest.fixture
def ckpt_file(tmp_path):
    p = tmp_path / "train.pt"
    sd = tutorial_checkpoint()
    w = sd["model_state_dict"]["0.weight"].clone()
    w[0, 0], w[0, 1], w[1, 1] = float("nan"), float("inf"), float("-inf")
    sd["model_state_dict"]["0.weight"] = w
    torch.save(sd, p)
    return p


def wait_open(qtbot, w, n=1):
    qtbot.waitUntil(lambda: len(w.model.files()) >= n and not w.loading, timeout=20000)


def test_open_through_a_simulated_drop(qtbot, window, ckpt_file):
    mime = QMimeData()  # keep our own reference (docs/FACTS.md: or it segfaults)
    mime.setUrls([QUrl.fromLocalFile(str(ckpt_file))])
    event = QDropEvent(QPoint(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    wait_open(qtbot, window)
    f = window.model.files()[0]
    assert f.path == str(ckpt_file)
    assert window.stack.currentWidget() is window.file_view
    assert "Safe" in window.summary.toPlainText()


def test_select_tensor_histogram_counts_add_up(qtbot, window, ckpt_file):
    window.open_paths([ckpt_file])
    wait_open(qtbot, window)
    assert window.select_path("model_state_dict/0.weight")
    panel = window.tensor
    assert window.stack.currentWidget() is panel
    qtbot.waitUntil(lambda: panel.exact is not None, timeout=20000)
    st, hist = panel.exact
    assert int(hist.counts.sum()) + hist.nan + hist.inf == 16 * 8
    assert (hist.nan, hist.posinf, hist.neginf) == (1, 1, 1)
    assert panel.stat_labels["nan"].text() == "1"
    # more bins: recomputed exactly
    panel.bins.setValue(7)
    panel.bins.editingFinished.emit()
    qtbot.waitUntil(lambda: len(panel.exact[1].counts) == 7, timeout=20000)
    assert int(panel.exact[1].counts.sum()) == 128 - 3
    # values and heatmap tabs
    panel.tabs.setCurrentIndex(1)
    assert panel.table_model.rowCount() == 16 and panel.table_model.columnCount() == 8
    panel.tabs.setCurrentIndex(2)
    assert panel.heat_img.image is not None


def test_open_from_the_command_line_and_screenshot(tmp_path, ckpt_file, tmp_settings):
    out = tmp_path / "shot.png"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector.gui.app",
            "--screenshot",
            str(out),
            "--select",
            "model_state_dict/0.weight",
            str(ckpt_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert r.returncode == 0, r.stderr
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert img.width() >= 1200 and img.height() >= 800
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector.gui.app",
            "--screenshot",
            str(out),
            "--select",
            "nope",
            str(ckpt_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert r.returncode == 2 and "no entry named" in r.stderr


def test_filter_as_you_type(qtbot, window, ckpt_file):
    window.open_paths([ckpt_file])
    wait_open(qtbot, window)
    window.filter.setText("exp_avg_sq")
    window.apply_filter()
    shown = []

    def walk(parent):
        for r in range(window.model.rowCount(parent)):
            idx = window.model.index(r, 0, parent)
            it = window.model.item(idx)
            if it.node is not None and it.node.kind == "tensor":
                shown.append(it.node.path)
            walk(idx)

    walk(window.model.index(0, 0))
    assert shown and all(p.endswith("exp_avg_sq") for p in shown)
    window.filter.setText("dtype:int64")
    window.apply_filter()
    window.regex.setChecked(True)
    window.filter.setText("[bad")
    window.apply_filter()
    assert "ffebee" in window.filter.styleSheet()
    window.filter.setText("")
    window.apply_filter()
    assert window.model.visible is None


def test_grouped_view_and_natural_sort(qtbot, window, tmp_path):
    p = tmp_path / "layers.pt"
    torch.save({f"layers.{i}.weight": torch.zeros(2) for i in (0, 1, 2, 10, 11)}, p)
    window.open_paths([p])
    wait_open(qtbot, window)
    window.grouped.setChecked(True)
    file_idx = window.model.index(0, 0)
    layers = window.model.index(0, 0, file_idx)
    assert window.model.item(layers).label == "layers"
    window._sort_by(0)
    layers = window.model.index(0, 0, window.model.index(0, 0))  # indexes die with a reset
    names = [
        window.model.item(window.model.index(r, 0, layers)).label
        for r in range(window.model.rowCount(layers))
    ]
    assert names == ["0", "1", "2", "10", "11"]
    assert window.select_path("layers.10.weight")


def test_recent_files_survive_a_restart(qtbot, tmp_settings, ckpt_file, tmp_path):
    w1 = MainWindow()
    qtbot.addWidget(w1)
    w1.open_paths([ckpt_file])
    wait_open(qtbot, w1)
    w1.close()
    gone = tmp_path / "gone.pt"
    from inspector.gui import settings as cfg

    cfg.add_recent(str(gone))  # a file that will be missing is pruned
    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2._fill_recent()
    texts = [a.text() for a in w2.recent_menu.actions()]
    assert str(ckpt_file) in texts
    assert str(gone) not in texts


def test_broken_file_gives_a_message_and_the_window_stays_usable(qtbot, window, tmp_path, ckpt_file):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"PK\x03\x04garbage" * 10)
    window.open_paths([bad])
    qtbot.waitUntil(lambda: not window.loading, timeout=20000)
    assert window.errors and "broken.pt" in window.errors[0]
    window.open_paths([ckpt_file])
    wait_open(qtbot, window)
    assert window.select_path("epoch")


def test_dangerous_file_opens_red_bannered(qtbot, window, tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(2)}, p)
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(p) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("data.pkl"):
                data = b"\x80\x02cos\nsystem\n(S'echo pwned'\ntR0" + data[2:]
            zout.writestr(info.filename, data)
    p.write_bytes(buf.getvalue())
    window.open_paths([p])
    wait_open(qtbot, window)
    assert window.banner.isVisible()
    assert "DANGEROUS" in window.summary.toPlainText()


def test_every_corpus_file_opens_or_fails_cleanly(qtbot, window):
    corpus_or_skip(CORPUS)
    files = sorted(
        str(p)
        for p in CORPUS.rglob("*")
        if p.is_file() and p.suffix not in (".tsv", ".json") and p.name != "SHA256SUMS"
    )
    window.open_paths(files)
    qtbot.waitUntil(lambda: not window.loading, timeout=120000)
    assert len(window.model.files()) + len(window.errors) == len(files)
    for i in range(len(window.model.files())):
        window.tree.setCurrentIndex(window.model.index(i, 0))
    assert all("\n" not in e for e in window.errors)


def test_about_dialog_lists_versions():
    from inspector.gui.about_dialog import versions

    v = versions()
    assert v["torch"].startswith("2.") and v["Qt"] and v["Python"].startswith("3.")


SOAK = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
w = QWidget()
for _ in range(200_000):
    w.update()
print("survived")
"""


def test_pyside_refcount_soak():
    """PySide6 6.12.0 on Python 3.11 aborts ('none_dealloc') within these calls (docs/FACTS.md)."""
    r = subprocess.run([sys.executable, "-c", SOAK], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "survived" in r.stdout, r.stderr[-500:]


def test_no_display_is_one_line_not_an_abort(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run(
        [sys.executable, "-m", "inspector.gui.app", "--no-demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no display" in r.stderr


def test_tensor_panel_exports(qtbot, window, ckpt_file, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window.open_paths([ckpt_file])
    wait_open(qtbot, window)
    assert window.select_path("model_state_dict/0.weight")
    qtbot.waitUntil(lambda: window.tensor.exact is not None, timeout=20000)
    npy, csv = tmp_path / "w.npy", tmp_path / "h.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(npy), ""))
    window.tensor._export_npy()
    qtbot.waitUntil(lambda: npy.exists(), timeout=20000)
    import numpy as np

    got = np.load(npy)
    want = torch.load(ckpt_file, weights_only=True)["model_state_dict"]["0.weight"].numpy()
    assert np.array_equal(got, want, equal_nan=True)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(csv), ""))
    window.tensor._export_csv()
    assert csv.read_text().startswith("bin_start,bin_end,count")
