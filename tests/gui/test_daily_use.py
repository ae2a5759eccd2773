"""The window as a daily tool (issue 14), as a user's steps: open, type, click, close -
asserting what the user would see."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fixtures_i14 import bert_like_state_dict, bert_parameter_count
from helpers import make_mlp
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from inspector.gui.main_window import NAME_WIDTH, MainWindow


def wait_open(qtbot, w, n=1):
    qtbot.waitUntil(lambda: len(w.model.files()) >= n and not w.loading, timeout=30000)


def shown_rows(w, parent=None, depth=0, out=None):
    """(depth, name) of every row the tree shows (expanded parents only)."""
    out = [] if out is None else out
    parent = parent if parent is not None else w.model.index(-1, -1)
    for r in range(w.model.rowCount(parent)):
        idx = w.model.index(r, 0, parent)
        out.append((depth, w.model.data(idx)))
        if w.tree.isExpanded(idx):
            shown_rows(w, idx, depth + 1, out)
    return out


def cell(w, index, col):
    return w.model.data(w.model.index(index.row(), col, index.parent()))


@pytest.fixture
def bert_file(tmp_path):
    p = tmp_path / "bert_base_uncased_finetuned.bin"
    sd = bert_like_state_dict(layers=4)
    torch.save(sd, p)
    return p, sd


# ---- 1. names ------------------------------------------------------------------------------
def test_long_names_grouped_fitted_and_elided_in_the_middle(qtbot, window, bert_file, tmp_settings):
    path, sd = bert_file
    window.open_paths([path])
    wait_open(qtbot, window)
    assert window.grouped.isChecked() and window.group_action.isChecked()
    top = [name for depth, name in shown_rows(window) if depth == 1]
    assert top == ["bert", "classifier"]  # grouped by module: no `bert.encoder.layer.0.atte…`
    assert window.tree.textElideMode() == Qt.ElideMiddle
    width = window.tree.columnWidth(0)
    assert NAME_WIDTH[0] <= width <= NAME_WIDTH[1]
    assert width >= min(window.tree.sizeHintForColumn(0), NAME_WIDTH[1], window.tree.viewport().width() // 2)
    assert window.select_path("bert.encoder.layer.3.attention.self.query.weight")
    idx = window.tree.currentIndex()
    assert window.model.data(idx) == "weight" and cell(window, idx, 2) == "(32, 32)"
    # the user turns grouping off from the View menu: remembered at the next start
    window.group_action.trigger()
    assert not window.grouped.isChecked()
    assert [n for d, n in shown_rows(window) if d == 1][0] == "bert.embeddings.word_embeddings.weight"
    window.close()
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert not w2.grouped.isChecked() and not w2.group_action.isChecked()


def test_short_class_names_and_layer_lines(qtbot, window, tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, stride=2, padding=1), torch.nn.ReLU())
    p = tmp_path / "whole.pt"
    torch.save(model, p)
    window.open_paths([p])
    wait_open(qtbot, window)
    assert window.select_path("0")
    idx = window.tree.currentIndex()
    assert cell(window, idx, 1) == "Conv2d"  # not torch.nn.mo…
    tip = window.model.data(window.model.index(idx.row(), 1, idx.parent()), Qt.ToolTipRole)
    assert tip == "torch.nn.modules.conv.Conv2d"
    assert cell(window, idx, 2) == "3→16 · kernel 3×3 · stride 2 · padding 1"
    assert window.select_path("0/kernel_size")
    k = window.tree.currentIndex()
    assert cell(window, k, 2) == "(3, 3)" and not window.model.hasChildren(k)  # no 0/1 rows
    assert window.select_path("0")
    assert "3→16" in window.values.toPlainText()


# ---- 2. histogram ------------------------------------------------------------------------
def test_histogram_axes_read_like_a_plot(qtbot, window, bert_file):
    path, sd = bert_file
    window.open_paths([path])
    wait_open(qtbot, window)
    key = "bert.encoder.layer.0.intermediate.dense.weight"
    assert window.select_path(key)
    panel = window.tensor
    qtbot.waitUntil(lambda: panel.exact is not None, timeout=30000)
    panel.resize(900, 700)
    QApplication.processEvents()
    values = sd[key].numpy()
    labels = panel.plot.tick_labels("bottom")
    assert labels and all("x0" not in t and "(" not in t for t in labels)
    nums = [float(t) for t in labels]
    assert min(nums) >= values.min() - 0.05 and max(nums) <= values.max() + 0.05
    assert "x0.001" not in panel.plot.getPlotItem().getAxis("bottom").labelText
    counts = panel.plot.tick_labels("left")
    assert counts and all(t.isdigit() for t in counts)  # whole counts, no 0.5
    n = values.size
    bins = len(panel.exact[1].counts)
    assert bins == int(np.ceil(2 * n ** (1 / 3))) or bins == 200  # the auto rule, not 100
    panel.log.setChecked(True)
    QApplication.processEvents()
    logs = panel.plot.tick_labels("left")
    assert logs[:2] == ["1", "10"] and set(logs) <= {"1", "10", "100", "1k", "10k"}
    assert panel.plot.getPlotItem().getAxis("left").labelText == "count (log scale)"
    # hover the tallest bin: its range, count and share are read out
    h = panel.exact[1]
    i = int(np.argmax(h.counts))
    vb = panel.plot.getPlotItem().vb
    centre = vb.mapViewToScene(vb.mapToView(vb.boundingRect().center()))
    x = (h.edges[i] + h.edges[i + 1]) / 2
    scene = vb.mapViewToScene(type(centre)(x, vb.viewRange()[1][0] + 0.1))
    panel.plot.scene().sigMouseMoved.emit(scene)
    want = int(np.sum((values >= h.edges[i]) & (values < h.edges[i + 1])))
    assert f"{want:,} values" in panel.hover.text() and "%" in panel.hover.text()


def test_integer_tensor_one_bin_per_value_and_scalar_listed(qtbot, window, tmp_path):
    rng = np.random.default_rng(0)
    q = torch.from_numpy(rng.integers(-20, 21, size=5000).astype(np.int8))
    p = tmp_path / "ints.pt"
    torch.save({"q": q, "scale": torch.tensor(0.125), "tiny": torch.tensor([1.5, -2.0, 3.25])}, p)
    window.open_paths([p])
    wait_open(qtbot, window)
    panel = window.tensor
    assert window.select_path("q")
    qtbot.waitUntil(lambda: panel.exact is not None, timeout=30000)
    h = panel.exact[1]
    assert len(h.counts) == int(q.max() - q.min() + 1)
    assert h.counts.tolist() == np.bincount(q.numpy().astype(int) - int(q.min())).tolist()
    assert "one bin per value" in panel.status.text()
    assert window.select_path("scale")
    assert panel.hist_stack.currentWidget() is panel.small
    qtbot.waitUntil(lambda: "0.125" in panel.small.text(), timeout=20000)
    assert "scalar" in panel.small.text()
    assert window.select_path("tiny")
    qtbot.waitUntil(lambda: "3.25" in panel.small.text(), timeout=20000)
    assert "-2" in panel.small.text()


# ---- 3. filters ------------------------------------------------------------------------------
def test_filter_shows_and_selects_matches_and_clearing_restores(qtbot, window, tmp_path):
    p = tmp_path / "many.pt"
    torch.save(
        {f"layers.{i}.weight": torch.zeros(2) for i in range(300)}
        | {f"layers.{i}.bias": torch.zeros(2) for i in range(3)}
        | {"head.proj": torch.zeros(10, 128)},
        p,
    )
    window.open_paths([p])
    wait_open(qtbot, window)
    before = {f.path: set(c) for f, c in window.tree_filter.expanded_chains().items()}
    qtbot.keyClicks(window.filter, "weight")
    window.apply_filter()
    rows = shown_rows(window)
    leaves = [n for d, n in rows if n == "weight"]
    assert len(leaves) == 300  # more than 200 matches: shown, not collapsed
    sel = window.model.item(window.tree.currentIndex())
    assert sel.node is not None and sel.node.name == "layers.0.weight"
    assert window.stack.currentWidget() is window.tensor and window.tensor.node is sel.node
    qtbot.keyClick(window, Qt.Key_Escape)  # Esc clears the filter
    assert window.filter.text() == ""
    after = {f.path: set(c) for f, c in window.tree_filter.expanded_chains().items()}
    # the expansion from before the filter, plus the way to the match still selected
    assert after[str(p)] - before[str(p)] == {("layers",), ("layers", "0")}
    assert before[str(p)] <= after[str(p)]
    assert window.model.item(window.tree.currentIndex()).node.name == "layers.0.weight"
    for text in ("shape:10,128", "shape:(10, 128)", "shape:10x128", "proj shape:128"):
        window.filter.setText(text)
        window.apply_filter()
        assert window.model.item(window.tree.currentIndex()).node.name == "head.proj", text
    window.filter.setText("nothing_like_this")
    window.apply_filter()
    assert window.tree_filter.no_match.isVisible()
    assert "No entry matches" in window.tree_filter.no_match.text()
    assert window.stack.currentWidget() is not window.tensor  # the hidden tensor is not shown
    window.filter.clear()
    window.apply_filter()
    assert not window.tree_filter.no_match.isVisible()


def test_placeholder_examples_find_something_and_words_are_and(qtbot, window, tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    p = tmp_path / "whole.pt"
    torch.save(model, p)
    window.open_paths([p])
    wait_open(qtbot, window)
    placeholder = window.filter.placeholderText()
    terms = placeholder.split(":", 1)[1].split("(Ctrl")[0].split(",")
    for term in (t.strip() for t in terms):
        window.filter.setText(term)
        window.apply_filter()
        assert not window.tree_filter.no_match.isVisible(), term
        assert window.tree_filter.matches > 0, term
    window.filter.setText("conv weight")
    window.apply_filter()
    assert window.tree_filter.matches == 1
    assert window.model.item(window.tree.currentIndex()).node.path == "0/weight"


# ---- 4. closing ----------------------------------------------------------------------------
def test_close_clears_the_panels_and_disables_file_actions(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    p = tmp_path / "m.pt"
    torch.save(make_mlp().state_dict(), p)
    window.open_paths([p])
    wait_open(qtbot, window)
    assert window.select_path("0.weight")
    qtbot.waitUntil(lambda: window.tensor.exact is not None, timeout=30000)
    assert all(a.isEnabled() for a in window.convert_actions)
    qtbot.keyClick(window.tree, Qt.Key_W, Qt.ControlModifier)  # File › Close
    assert window.model.files() == []
    assert window.stack.currentWidget() is window.start_page
    assert window.tensor.node is None and window.tensor.title.text() == ""
    assert not window.tensor.export_np.isEnabled() and not window.tensor.bins.isEnabled()
    assert not any(a.isEnabled() for a in window.convert_actions + [window.close_action])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "x.npy"), ""))
    window.tensor._export_npy()  # a stale click does nothing, no traceback, no "writing…"
    window.tensor.bins.editingFinished.emit()
    window.tensor._show_values()
    assert window.tensor.status.text() == ""
    assert window.windowTitle() == "Checkpoint Inspector"


# ---- 5. the model's size ------------------------------------------------------------------
def test_summary_shows_the_models_parameter_count_apart(qtbot, window, tmp_path):
    model = make_mlp()
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    p = tmp_path / "epoch=3-step=40.ckpt"
    torch.save(
        {
            "epoch": 3,
            "global_step": 40,
            "pytorch-lightning_version": "2.4.0",
            "state_dict": model.state_dict(),
            "optimizer_states": [opt.state_dict()],
        },
        p,
    )
    window.open_paths([p])
    wait_open(qtbot, window)
    text = window.summary.toPlainText()
    want = sum(q.numel() for q in model.parameters())
    assert f"{want:,} parameters" in text
    n_opt = sum(v.numel() for s in opt.state_dict()["state"].values() for v in s.values())
    assert f"optimizer state {n_opt:,}" in text


def test_hf_like_summary_counts_parameters_not_buffers(qtbot, window, bert_file):
    path, sd = bert_file
    window.open_paths([path])
    wait_open(qtbot, window)
    assert f"{bert_parameter_count(sd):,} parameters" in window.summary.toPlainText()


# ---- 6. warm-start ---------------------------------------------------------------------------
def test_warmstart_dialog_explains_proposes_visibly_and_writes_after_preview(qtbot, tmp_path):
    from inspector.gui.dialogs.warmstart_dialog import WarmstartDialog

    torch.manual_seed(0)
    trained = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    src, tpl = tmp_path / "trained.pt", tmp_path / "fresh.pt"
    torch.save({"model_state_dict": torch.nn.DataParallel(trained).state_dict()}, src)
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 5))
    torch.save(fresh.state_dict(), tpl)
    d = WarmstartDialog(str(src), ["model_state_dict"])
    qtbot.addWidget(d)
    assert d.intro.text().startswith("<b>Fills a model's freshly initialised checkpoint")
    assert not d.write_button.isEnabled()  # nothing previewed yet
    d.preview()  # no template: said at once, in the dialog
    assert "Choose the template first" in d.summary.text() and not d.write_button.isEnabled()
    qtbot.keyClicks(d.template, str(tpl))
    d.preview_button.click()
    assert d.strip.text() == "module." and "strip 'module.'" in d.proposal.text()
    assert d.parts.tabText(0) == "Matched (2)"
    assert d.parts.tabText(1) == "Shape mismatch (2)" and d.parts.currentIndex() == 1
    assert d.parts.tabText(2) == "Missing / unused (0)"
    assert "2 matched" in d.summary.text() and "2 shape mismatches" in d.summary.text()
    assert d.write_button.isEnabled()
    qtbot.keyClicks(d.add, "x")  # a change after the preview: preview again first
    assert not d.write_button.isEnabled()
    d.add.clear()
    d.preview_button.click()
    assert d.write_button.isEnabled()
    # the snippet runs as written, on the file the dialog writes
    from inspector.ops.warmstart import apply_warmstart

    out = tmp_path / "warm.pt"
    d.output.edit.setText(str(out))
    d.preview_button.click()
    apply_warmstart(d.plan, str(out))
    scope: dict = {}
    exec(d.python.toPlainText(), scope)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 5))
    scope["load_warm_start"](model)
    assert torch.equal(model[0].weight, trained[0].weight)
    assert torch.equal(model[2].weight, fresh[2].weight)  # kept from the template


# ---- 7. convert dialogs ----------------------------------------------------------------------
def test_convert_dialogs_check_the_output_inline(qtbot, window, tmp_path, monkeypatch):

    from helpers import tutorial_checkpoint

    sd = tutorial_checkpoint()
    sd["callbacks"] = {"ModelCheckpoint{'monitor': 'val'}": {"best_model_score": torch.tensor(0.5)}}
    p = tmp_path / "train.pt"
    torch.save(sd, p)
    window.open_paths([p])
    wait_open(qtbot, window)
    f = window.model.files()[0]
    existing = tmp_path / "train_weights.pt"  # the output the dialog will suggest
    existing.write_bytes(b"keep")
    d = window.make_dialog("strip", f, f.training["weights"])
    qtbot.addWidget(d)
    d.show()
    offered = [d.key.itemData(i) for i in range(d.key.count())]
    assert offered == ["model_state_dict"]  # no '', no optimizer_state_dict/state/N, no callbacks
    assert d.sizeHint().width() < 900
    from PySide6.QtWidgets import QDialogButtonBox

    assert d.output.value() == str(existing)
    strip_ok = d.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok)
    assert d.output.message.isVisible() and d.output.force.isVisible()
    assert "already exists. Replace it?" in d.output.message.text()
    assert not strip_ok.isEnabled()
    d.output.force.setChecked(True)
    assert strip_ok.isEnabled()
    d.output.edit.setText(str(p))  # the input itself
    assert "is an input" in d.output.message.text() and not strip_ok.isEnabled()
    assert "--force" not in d.output.message.text()


def test_export_offers_classes_from_a_python_file(qtbot, tmp_path):
    from PySide6.QtWidgets import QDialogButtonBox

    from inspector.gui.dialogs.export_dialog import ExportDialog

    src = tmp_path / "nets.py"
    src.write_text("import torch\n\nclass Config:\n    pass\n\nclass TinyNet(torch.nn.Module):\n    pass\n")
    d = ExportDialog(str(tmp_path / "m.pt"), "model_state_dict", classes=[])
    qtbot.addWidget(d)
    assert not d.box.button(QDialogButtonBox.Ok).isEnabled()  # no class yet
    assert d.pick_python_file(str(src)) == ["nets:TinyNet", "nets:Config"]
    assert d.model.currentText() == "nets:TinyNet" and d.folder.text() == str(tmp_path)
    assert d.box.button(QDialogButtonBox.Ok).isEnabled()
    d2 = ExportDialog(str(tmp_path / "m.pt"), None, classes=["mypkg.models:Net"])
    qtbot.addWidget(d2)
    assert d2.model.currentText() == "mypkg.models:Net"


# ---- 8. first run and polish ---------------------------------------------------------------
def test_start_page_then_demo_on_request(qtbot, window, tmp_path, monkeypatch):
    import inspector.demo as demo_module

    assert window.stack.currentWidget() is window.start_page and window.start_page.isVisible()
    assert window.start_page.demo_button.text() == "Open the demo checkpoint"
    assert not any(a.isEnabled() for a in window.convert_actions)
    demo = tmp_path / "demo_checkpoint.pt"
    built = []

    def fake_demo_path():  # the real one builds with torch; counted here to prove "only when asked"
        from inspector.demo import write_demo

        built.append(1)
        return write_demo(str(demo), steps=2)

    monkeypatch.setattr(demo_module, "demo_path", fake_demo_path)
    assert built == []
    qtbot.mouseClick(window.start_page.demo_button, Qt.LeftButton)
    wait_open(qtbot, window)
    assert built == [1] and window.model.files()[0].path == str(demo)
    assert window.windowTitle() == "demo_checkpoint.pt — Checkpoint Inspector"
    assert window.stack.currentWidget() is window.file_view


def test_start_page_lists_recent_files(qtbot, tmp_settings, tmp_path):
    from inspector.gui import settings as cfg

    p = tmp_path / "recent.pt"
    torch.save({"w": torch.zeros(2)}, p)
    cfg.add_recent(str(p))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    items = [w.start_page.recent.item(i).data(Qt.UserRole) for i in range(w.start_page.recent.count())]
    assert items == [str(p)]
    w.start_page.recent.itemActivated.emit(w.start_page.recent.item(0))
    wait_open(qtbot, w)
    assert w.model.files()[0].path == str(p)


def test_app_without_a_file_starts_on_the_start_page(tmp_path, tmp_settings):
    import os
    import subprocess
    import sys

    out = tmp_path / "start.png"
    r = subprocess.run(
        [sys.executable, "-m", "inspector.gui.app", "--screenshot", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr
    assert out.exists()
    assert not (tmp_path / ".cache" / "checkpoint-inspector" / "demo_checkpoint.pt").exists()


def test_title_reload_escape_group_menu_and_file_row_menu(qtbot, window, tmp_path):
    p = tmp_path / "m.pt"
    torch.save(make_mlp().state_dict(), p)
    window.open_paths([p])
    wait_open(qtbot, window)
    assert window.windowTitle().startswith("m.pt")
    torch.save(make_mlp(1).state_dict(), p)
    window.watcher.enabled = False  # F5 reloads by itself, even with live reload off
    qtbot.keyClick(window.tree, Qt.Key_F5)
    qtbot.waitUntil(lambda: window.reloads == 1, timeout=20000)
    assert window.group_action.isCheckable()
    window.filter.setText("weight")
    qtbot.keyClick(window.filter, Qt.Key_Escape)
    assert window.filter.text() == ""
    # the file row's context menu
    menu = window.tree_menu_at(window.model.file_index(window.model.files()[0]))
    shown = [[act.text() for act in menu.actions()]]
    texts = shown[0]
    for want in ("Reload (F5)", "Close (Ctrl+W)", "Copy path", "Show in folder", "Convert"):
        assert want in texts
    from inspector.gui.about_dialog import AboutDialog

    about = AboutDialog(window)
    qtbot.addWidget(about)
    assert about.label.textInteractionFlags() & Qt.TextSelectableByMouse


def test_copy_path_from_the_file_row(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QMenu

    from inspector.gui.file_menu import fill_file_menu

    p = tmp_path / "m.pt"
    torch.save({"w": torch.zeros(2)}, p)
    window.open_paths([p])
    wait_open(qtbot, window)
    menu = QMenu(window)
    fill_file_menu(window, menu, window.model.files()[0])
    next(a for a in menu.actions() if a.text() == "Copy path").trigger()
    assert QApplication.clipboard().text() == str(p)
    next(a for a in menu.actions() if a.text().startswith("Close")).trigger()
    assert window.model.files() == []


# ---- 9. the rest of the panels ----------------------------------------------------------------
def test_one_d_tensor_line_plot_and_paged_values(qtbot, window, tmp_path):
    v = torch.linspace(-1, 1, 2500)
    p = tmp_path / "vec.pt"
    torch.save({"v": v}, p)
    window.open_paths([p])
    wait_open(qtbot, window)
    assert window.select_path("v")
    panel = window.tensor
    panel.tabs.setCurrentIndex(2)
    assert panel.tabs.tabText(2) == "Line plot" and panel.picture.currentWidget() is panel.line
    x, y = panel.line_curve.getData()
    assert len(x) == 2500 and np.allclose(y, v.numpy())
    panel.tabs.setCurrentIndex(1)
    m = panel.table_model
    assert (m.rowCount(), m.columnCount()) == (1000, 1)  # a column, not a 1×2500 row
    assert m.headerData(0, Qt.Vertical) == "0"
    qtbot.mouseClick(panel.next_page, Qt.LeftButton)
    assert m.headerData(0, Qt.Vertical) == "1000"
    assert float(m.data(m.index(0, 0))) == pytest.approx(float(v[1000]), abs=1e-6)
    qtbot.mouseClick(panel.next_page, Qt.LeftButton)
    assert m.rowCount() == 500 and not panel.next_page.isEnabled()
    qtbot.mouseClick(panel.prev_page, Qt.LeftButton)
    assert m.headerData(0, Qt.Vertical) == "1000"


def test_optimizer_updates_row_jumps_to_the_tensor(qtbot, window, tmp_path):
    from helpers import tutorial_checkpoint

    p = tmp_path / "train.pt"
    torch.save(tutorial_checkpoint(), p)
    window.open_paths([p])
    wait_open(qtbot, window)
    window.file_view.setCurrentIndex(1)
    table = window.updates
    qtbot.waitUntil(lambda: table.model.rowCount() > 0, timeout=30000)
    index = table.view.model().index(0, 0)
    name = table.view.model().data(index)
    table.view.activated.emit(index)
    sel = window.model.item(window.tree.currentIndex())
    assert sel.node.path == f"model_state_dict/{name}"
    assert window.stack.currentWidget() is window.tensor


def dark_palette():
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    for role, color in (
        (QPalette.Window, "#202124"),
        (QPalette.WindowText, "#e8eaed"),
        (QPalette.Base, "#17181a"),
        (QPalette.AlternateBase, "#232427"),
        (QPalette.Text, "#e8eaed"),
        (QPalette.Button, "#2d2e31"),
        (QPalette.ButtonText, "#e8eaed"),
        (QPalette.Highlight, "#8ab4f8"),
        (QPalette.HighlightedText, "#202124"),
        (QPalette.PlaceholderText, "#9aa0a6"),
    ):
        pal.setColor(role, QColor(color))
    return pal


def test_dark_palette_is_followed_everywhere(qtbot, window, tmp_path):
    from PySide6.QtGui import QPalette

    app = QApplication.instance()
    old_pal, old_style = app.palette(), app.style().name()
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    try:
        p = tmp_path / "m.pt"
        torch.save(make_mlp().state_dict(), p)
        window.open_paths([p])
        wait_open(qtbot, window)
        assert window.select_path("0.weight")
        panel = window.tensor
        qtbot.waitUntil(lambda: panel.exact is not None, timeout=30000)
        QApplication.processEvents()
        plot = panel.plot
        assert plot.backgroundBrush().color().name() == "#17181a"  # not white
        ax = plot.getPlotItem().getAxis("bottom")
        assert ax.textPen().color().name() == "#e8eaed" and ax.pen().color().name() == "#e8eaed"
        assert plot.curve.opts["pen"].color().lightness() > 128  # a light line on the dark plot
        for name in panel.stat_names:
            assert "#9aa0a6" in name.styleSheet() and "#666" not in name.styleSheet()
        assert "#9aa0a6" in window.summary.toHtml() or "#9aa0a6" in window.summary.document().toHtml()
        img = window.grab().toImage()
        centre = plot.mapTo(window, plot.rect().center())
        assert img.pixelColor(centre.x(), 20 + plot.mapTo(window, QPoint(0, 0)).y()).lightness() < 100
        assert window.palette().color(QPalette.Window).name() == "#202124"
        from PySide6.QtGui import QColor

        from inspector.gui import theme

        assert QColor(theme.readable("#1565c0")).lightness() > 150  # status blue, readable on dark
        assert "#c62828" not in window.summary.toHtml()
    finally:
        app.setPalette(old_pal)
        app.setStyle(old_style)
