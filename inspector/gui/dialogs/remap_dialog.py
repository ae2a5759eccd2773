"""Convert › Re-map devices: choose where each saved device tag goes (and a cast)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ...analysis.dtype_names import CAST_CHOICES
from ...ops.plans import RemapOptions
from .common import OutputRow, buttons, suggest

TARGETS = ["cpu", "cuda:0", "cuda", "mps"]


class RemapDialog(QDialog):
    def __init__(self, path: str, devices: dict[str, int], fmt: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Re-map devices")
        self.path = path
        self.table = QTableWidget(len(devices), 3)
        self.table.setHorizontalHeaderLabels(["saved as", "tensors", "load on"])
        self.combos: dict[str, QComboBox] = {}
        for row, (tag, count) in enumerate(sorted(devices.items())):
            self.table.setItem(row, 0, QTableWidgetItem(tag))
            self.table.setItem(row, 1, QTableWidgetItem(str(count)))
            combo = QComboBox()
            combo.setEditable(True)
            combo.addItems(TARGETS)
            combo.setCurrentText("cpu")
            self.table.setCellWidget(row, 2, combo)
            self.combos[tag] = combo
        self.table.resizeColumnsToContents()
        self.cast = QComboBox()
        self.cast.addItem("keep dtypes", None)
        for name in CAST_CHOICES:
            self.cast.addItem(f"float32 -> {name}", name)
        self.output = OutputRow(suggest(path, "_cpu"))
        form = QFormLayout()
        form.addRow("Cast", self.cast)
        form.addRow("Output", self.output)
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel(
                "Device tags are changed in place; tensor bytes and every other object "
                "are kept exactly, and no class named in the file is imported."
            )
        )
        if fmt == "legacy":
            lay.addWidget(
                QLabel(
                    "<b>This file is in the legacy (pre-1.6) format: the output is "
                    "written in the zip format torch.save uses today.</b>"
                )
            )
        lay.addWidget(self.table)
        lay.addLayout(form)
        box = buttons(self)
        lay.addWidget(box)
        self.output.attach(box.button(QDialogButtonBox.Ok), [path])

    def options(self) -> RemapOptions:
        rules = [
            (tag, c.currentText().strip())
            for tag, c in self.combos.items()
            if c.currentText().strip() and c.currentText().strip() != tag
        ]
        cast = self.cast.currentData()
        return RemapOptions(
            self.path,
            self.output.value(),
            rules,
            to=None if rules else "cpu",
            cast=cast,
            force=self.output.force.isChecked(),
        )
