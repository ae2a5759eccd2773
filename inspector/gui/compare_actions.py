"""Where the window offers Compare and Progression (installed by MainWindow with one call).

- File › Compare With… (Ctrl+D): the current file against one you choose (with no file
  open, you choose both).
- Dropping a file with Ctrl held compares it with the current file.
- The tree's context menu on two selected files: Compare these two; on several files:
  Progression of these N files.
- File › Progression Across Checkpoints… (Ctrl+Shift+P): the open files in their order when
  two or more are open, otherwise a folder of epoch checkpoints you choose.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QFileDialog

from . import settings as cfg

FILE_FILTER = (
    "Checkpoints (*.pt *.pth *.tar *.ckpt *.bin *.pkl *.ptl *.pt2 *.safetensors *.json);;All files (*)"
)


def install(window) -> None:
    window.tree.setSelectionMode(QAbstractItemView.ExtendedSelection)
    window.side_views = []
    menu = window.menuBar().actions()[0].menu()
    before = next((a for a in menu.actions() if a.text() == "&Close"), None)
    for text, shortcut, slot in (
        ("Compare &With…", "Ctrl+D", lambda: compare_with_dialog(window)),
        ("&Progression Across Checkpoints…", "Ctrl+Shift+P", lambda: progression_dialog(window)),
    ):
        act = QAction(text, window)
        act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.insertAction(before, act)
    if before is not None:
        menu.insertSeparator(before)
    window.tree_menu_hooks.append(lambda m, index: _tree_menu(window, m))
    window.drop_hooks.append(lambda event, paths: _drop(window, event, paths))


def _ask_file(window, title: str) -> str | None:
    start = cfg.settings().value("last_dir", os.path.expanduser("~"))
    path, _ = QFileDialog.getOpenFileName(window, title, start, FILE_FILTER)
    if path:
        cfg.settings().setValue("last_dir", os.path.dirname(path))
    return path or None


def compare_with_dialog(window) -> None:
    f = window.current_file()
    a = f.path if f is not None else _ask_file(window, "Compare: choose file A")
    if a is None:
        return
    b = _ask_file(window, f"Compare {os.path.basename(a)} with…")
    if b is not None:
        compare_files(window, a, b)


def compare_files(window, a: str, b: str):
    from .compare_view import CompareView

    view = CompareView(window, a, b)
    _keep(window, view)
    view.show()
    view.start()
    return view


def progression_dialog(window) -> None:
    files = [f.path for f in window.model.files()]
    if len(files) >= 2:
        show_progression(window, files)
        return
    start = cfg.settings().value("last_dir", os.path.expanduser("~"))
    folder = QFileDialog.getExistingDirectory(window, "Folder of a run's checkpoints", start)
    if folder:
        from ..analysis.progression import run_files

        paths = run_files([folder])
        if len(paths) < 2:
            window.show_error("Progression", f"{folder} holds fewer than two checkpoint files.")
            return
        show_progression(window, paths)


def show_progression(window, paths: list[str]):
    from .progression_view import ProgressionView

    view = ProgressionView(window, paths)
    _keep(window, view)
    view.show()
    view.start()
    return view


def _keep(window, view) -> None:
    window.side_views = [v for v in window.side_views if v.isVisible()] + [view]
    window.statusBar().showMessage(view.windowTitle() + "…", 5000)


def selected_files(window) -> list:
    """The files whose rows are selected, in the tree's order."""
    out = []
    for index in window.tree.selectionModel().selectedRows():
        it = window.model.item(index)
        if it.is_file and it.file not in out:
            out.append(it.file)
    order = {id(f): i for i, f in enumerate(window.model.files())}
    return sorted(out, key=lambda f: order.get(id(f), 0))


def _tree_menu(window, menu) -> None:
    files = selected_files(window)
    if len(files) == 2:
        a, b = files
        text = f"Compare {os.path.basename(a.path)} with {os.path.basename(b.path)}"
        menu.addAction(text).triggered.connect(lambda: compare_files(window, a.path, b.path))
    if len(files) >= 2:
        menu.addAction(f"Progression of these {len(files)} files").triggered.connect(
            lambda: show_progression(window, [f.path for f in files])
        )


def _drop(window, event, paths) -> bool:
    """A file dropped with Ctrl held is compared with the current file."""
    f = window.current_file()
    if not (event.modifiers() & Qt.ControlModifier) or f is None or len(paths) != 1:
        return False
    compare_files(window, f.path, paths[0])
    return True
