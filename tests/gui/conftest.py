"""The main window as GUI tests use it: message boxes recorded instead of shown."""

import pytest

from inspector.gui.main_window import MainWindow


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
