"""Pieces the conversion dialogs share: an output-path row and the OK/Cancel buttons."""

from __future__ import annotations

import os

from PySide6.QtWidgets import (QCheckBox, QDialogButtonBox, QFileDialog, QHBoxLayout, QLineEdit,
                               QPushButton, QWidget)


def suggest(path: str, suffix: str, ext: str | None = None) -> str:
    base, old = os.path.splitext(path)
    if base.endswith(".pth") and old == ".tar":
        base, old = base[:-4], ".pth.tar"
    return f"{base}{suffix}{ext or old or '.pt'}"


class OutputRow(QWidget):
    def __init__(self, default: str, filter_: str = "Checkpoints (*.pt *.pth *.ckpt *.bin);;All files (*)",
                 parent=None):
        super().__init__(parent)
        self.filter = filter_
        self.edit = QLineEdit(default)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.force = QCheckBox("replace if it exists")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(browse)
        lay.addWidget(self.force)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Write to", self.edit.text(), self.filter)
        if path:
            self.edit.setText(path)

    def value(self) -> str:
        return self.edit.text().strip()


def buttons(dialog, ok_text: str = "Convert") -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    box.button(QDialogButtonBox.Ok).setText(ok_text)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box
