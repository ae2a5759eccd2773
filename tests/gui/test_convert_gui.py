"""The Convert menu: dialogs return typed options (ops/plans.py); operations run with progress and
write verified files; failures give a message and leave nothing behind."""

import pytest
import torch
from helpers import saved_as, tutorial_checkpoint
from PySide6.QtWidgets import QDialog
from torch import nn

from inspector.gui.dialogs.export_dialog import ExportDialog
from inspector.gui.dialogs.remap_dialog import RemapDialog
from inspector.gui.dialogs.strip_dialog import StripDialog
from inspector.gui.dialogs.warmstart_dialog import WarmstartDialog


@pytest.fixture
def gpu_file(tmp_path):
    p = tmp_path / "gpu.pt"
    with saved_as("cuda:0"):
        torch.save(tutorial_checkpoint(), p)
    return p


def open_file(qtbot, w, p):
    w.open_paths([p])
    qtbot.waitUntil(lambda: bool(w.model.files()) and not w.loading, timeout=20000)


def run_dialog(monkeypatch, cls, configure):
    def fake_exec(self):
        configure(self)
        return QDialog.Accepted

    monkeypatch.setattr(cls, "exec", fake_exec)


def test_remap_from_the_menu(qtbot, window, gpu_file, monkeypatch, tmp_path):
    open_file(qtbot, window, gpu_file)
    out = tmp_path / "cpu.pt"
    run_dialog(monkeypatch, RemapDialog, lambda d: d.output.edit.setText(str(out)))
    window.convert("remap")
    qtbot.waitUntil(lambda: window.operations.last_result is not None or bool(window.errors), timeout=30000)
    assert window.errors == []
    assert window.opened_after == [str(out)]
    assert torch.load(out, weights_only=True)["epoch"] == 3


def test_remap_dialog_options_are_plain(qtbot, gpu_file):
    d = RemapDialog(str(gpu_file), {"cuda:0": 12, "cpu": 1}, "legacy")
    qtbot.addWidget(d)
    d.combos["cuda:0"].setCurrentText("cuda:1")
    d.cast.setCurrentIndex(1)
    o = d.options()
    assert o.rules == [("cuda:0", "cuda:1")] and o.cast == "bf16"
    assert o.output.endswith("gpu_cpu.pt")


def test_strip_and_existing_output_refused(qtbot, window, gpu_file, monkeypatch, tmp_path):
    open_file(qtbot, window, gpu_file)
    out = tmp_path / "exists.pt"
    out.write_bytes(b"precious")
    run_dialog(monkeypatch, StripDialog, lambda d: d.output.edit.setText(str(out)))
    window.convert("strip")
    qtbot.waitUntil(lambda: bool(window.errors), timeout=30000)
    assert "exists" in window.errors[0] and out.read_bytes() == b"precious"


def test_warmstart_dialog_previews_the_matching(qtbot, tmp_path):
    src, tpl = tmp_path / "s.pt", tmp_path / "t.pt"
    torch.save(nn.DataParallel(nn.Linear(3, 2)).state_dict(), src)
    torch.save(nn.Linear(3, 5).state_dict(), tpl)
    d = WarmstartDialog(str(src), [""])
    qtbot.addWidget(d)
    d.template.setText(str(tpl))
    d.preview()
    assert "strip 'module.'" in d.proposal.text() and d.strip.text() == "module."  # shown, not silent
    t = d.mismatch_table
    rows = {t.item(r, 0).text(): (t.item(r, 2).text(), t.item(r, 3).text()) for r in range(t.rowCount())}
    assert rows == {"weight": ("(5, 3)", "(2, 3)"), "bias": ("(5,)", "(2,)")}
    assert d.parts.tabText(1) == "Shape mismatch (2)" and d.parts.currentIndex() == 1
    assert "load_state_dict" in d.python.toPlainText()


def test_export_asks_before_importing_code(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    d = ExportDialog(str(tmp_path / "m.pt"), "model_state_dict")
    qtbot.addWidget(d)
    d.model.setCurrentText("mypkg.models:Net")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.No)
    d.accept()
    assert asked and "mypkg.models" in asked[0] and d.result() != QDialog.Accepted
    d.kind.setCurrentIndex(2)  # safetensors: no code, no question
    assert d.options().output.endswith(".safetensors")


def test_extract_from_the_context_menu(qtbot, window, gpu_file, tmp_path):
    open_file(qtbot, window, gpu_file)
    assert window.select_path("optimizer_state_dict")
    it = window.model.item(window.tree.currentIndex())
    out = tmp_path / "opt.pt"
    window.extract(it, str(out))
    qtbot.waitUntil(lambda: window.operations.last_result is not None or bool(window.errors), timeout=30000)
    assert window.errors == [] and "state" in torch.load(out, weights_only=True, map_location="cpu")


def test_export_from_pickled_model_names_what_it_imports(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    d = ExportDialog(
        str(tmp_path / "whole.pt"), "", pickled_model=True, imports=["__main__", "torch.nn.modules.linear"]
    )
    qtbot.addWidget(d)
    d.pickled.setChecked(True)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.Yes)
    d.accept()
    assert d.result() == QDialog.Accepted
    assert "__main__" in asked[0] and "weights_only=False" in asked[0]
    assert d.options().trust_pickled is True


def test_one_convert_table_feeds_both_menus_and_typed_options(qtbot, window, gpu_file):
    from inspector.gui.convert_actions import CONVERT
    from inspector.gui.file_menu import fill_file_menu
    from inspector.ops.plans import ExportOptions, RemapOptions, StripOptions, WarmstartOptions

    open_file(qtbot, window, gpu_file)
    assert [a.text() for a in window.convert_actions] == [c.label for c in CONVERT]
    assert [a.shortcut().toString() for a in window.convert_actions] == [c.shortcut for c in CONVERT]
    f = window.model.files()[0]
    from PySide6.QtWidgets import QMenu

    menu = QMenu(window)
    fill_file_menu(window, menu, f)
    convert = next(a.menu() for a in menu.actions() if a.menu() is not None and a.text() == "Convert")
    assert [a.text() for a in convert.actions()] == [c.row_label for c in CONVERT]
    expected = {
        "remap": RemapOptions,
        "strip": StripOptions,
        "warmstart": WarmstartOptions,
        "export": ExportOptions,
    }
    for action in CONVERT:
        d = window.make_dialog(action.kind, f, f.training.get("weights"))
        qtbot.addWidget(d)
        o = d.options()
        assert type(o) is expected[action.kind]
        assert action.job.__annotations__["o"] == expected[action.kind].__name__
        assert o.output and str(gpu_file) in (getattr(o, "path", None), getattr(o, "source", None))
