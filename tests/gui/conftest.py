"""The main window as GUI tests use it: message boxes recorded instead of shown."""

import pytest
from PySide6.QtWidgets import QMessageBox

from inspector.gui.main_window import MainWindow


@pytest.fixture(autouse=True)
def no_modal_boxes(monkeypatch):
    """Offscreen, a real message box would wait forever: record it and answer No/Ok.
    Tests that expect a question patch QMessageBox themselves."""
    shown = []

    def record(answer):
        return lambda *a, **k: shown.append(a[2] if len(a) > 2 else "") or answer

    monkeypatch.setattr(QMessageBox, "question", record(QMessageBox.No))
    for name in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, record(QMessageBox.Ok))
    return shown


@pytest.fixture
def window(qtbot, tmp_settings):
    w = MainWindow()
    qtbot.addWidget(w)
    w.errors = []
    w.show_error = lambda title, text: w.errors.append(text)
    w.opened_after = []
    w.ask_open = lambda path: w.opened_after.append(path) or False
    w.show()
    return w
