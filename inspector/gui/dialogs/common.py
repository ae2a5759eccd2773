"""Pieces the conversion dialogs share: an output-path row that checks itself while the
dialog is open (an existing file is an inline question, an input or a missing folder an
inline message, and the OK button waits until the output is fine) and the buttons."""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QCheckBox,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...ops.errors import OpError
from ...ops.writer import check_output
from ..theme import readable


def field_row(field, button) -> QHBoxLayout:
    """A field that takes the row's width, with its button after it (Browse…, …)."""
    row = QHBoxLayout()
    row.addWidget(field, 1)
    row.addWidget(button)
    return row


def suggest(path: str, suffix: str, ext: str | None = None) -> str:
    base, old = os.path.splitext(path)
    if base.endswith(".pth") and old == ".tar":
        base, old = base[:-4], ".pth.tar"
    return f"{base}{suffix}{ext or old or '.pt'}"


class OutputRow(QWidget):
    def __init__(
        self, default: str, filter_: str = "Checkpoints (*.pt *.pth *.ckpt *.bin);;All files (*)", parent=None
    ):
        super().__init__(parent)
        self.filter = filter_
        self.edit = QLineEdit(default)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.force = QCheckBox("replace it")
        self.force.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.ok_button = None
        self.inputs: list[str] = []
        self.extra_ok = None
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        msg = QHBoxLayout()
        msg.addWidget(self.message, 1)
        msg.addWidget(self.force)
        lay.addLayout(msg)
        self.edit.textChanged.connect(lambda _: self.validate())
        self.force.toggled.connect(lambda _: self.validate())

    def attach(self, ok_button, inputs: list[str], extra_ok=None) -> None:
        """Enable `ok_button` only while the output can be written (and extra_ok() holds)."""
        self.ok_button, self.inputs, self.extra_ok = ok_button, list(inputs), extra_ok
        self.validate()

    def problem(self) -> str | None:
        out = self.value()
        if not out:
            return "Name the output file."
        try:
            check_output(self.inputs, out, force=True)
        except OpError as exc:
            return str(exc)[0].upper() + str(exc)[1:] + "."
        return None

    def validate(self) -> bool:
        out = self.value()
        problem = self.problem()
        exists = problem is None and os.path.exists(out)
        self.force.setVisible(exists)
        if problem:
            self.message.setText(f"<span style='color:{readable('#c62828')}'>{problem}</span>")
        elif exists:
            self.message.setText(
                f"<span style='color:{readable('#e65100')}'>{os.path.basename(out)} already "
                "exists. Replace it?</span>"
            )
        self.message.setVisible(bool(problem or exists))
        ok = problem is None and (not exists or self.force.isChecked())
        if self.ok_button is not None:
            self.ok_button.setEnabled(ok and (self.extra_ok is None or bool(self.extra_ok())))
        return ok

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Write to", self.edit.text(), self.filter, options=QFileDialog.DontConfirmOverwrite
        )
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
