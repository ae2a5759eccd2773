"""The context menu of a file's row in the tree: reload, close, copy path, show in the
folder, and the Convert actions for that file."""

from __future__ import annotations

import os

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from .convert_actions import CONVERT


def fill_file_menu(window, menu, f) -> None:
    def select_then(fn):
        def run():
            index = window.model.file_index(f)
            if index.isValid():
                window.tree.setCurrentIndex(index)
            fn()

        return run

    menu.addAction("Reload (F5)").triggered.connect(select_then(window.reload_current))
    menu.addAction("Close (Ctrl+W)").triggered.connect(lambda: window.close_file(f))
    menu.addSeparator()
    menu.addAction("Copy path").triggered.connect(lambda: QApplication.clipboard().setText(f.path))
    menu.addAction("Show in folder").triggered.connect(lambda: show_in_folder(f.path))
    menu.addSeparator()
    convert = menu.addMenu("Convert")
    for action in CONVERT:
        convert.addAction(action.row_label).triggered.connect(
            select_then(lambda k=action.kind: window.convert(k))
        )


def show_in_folder(path: str) -> bool:
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
