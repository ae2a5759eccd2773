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
        self.cast.addItems(["keep dtypes", "float32 -> bf16", "float32 -> fp16"])
        self.output = OutputRow(suggest(path, "_cpu"))
        form = QFormLayout()
        form.addRow("Cast", self.cast)
        form.addRow("Output", self.output)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Device tags are changed in place; tensor bytes and every other object "
                             "are kept exactly, and no class named in the file is imported."))
        if fmt == "legacy":
            lay.addWidget(QLabel("<b>This file is in the legacy (pre-1.6) format: the output is "
                                 "written in the zip format torch.save uses today.</b>"))
        lay.addWidget(self.table)
        lay.addLayout(form)
        box = buttons(self)
        lay.addWidget(box)
        self.output.attach(box.button(QDialogButtonBox.Ok), [path])

    def options(self) -> dict:
        rules = [(tag, c.currentText().strip()) for tag, c in self.combos.items()
                 if c.currentText().strip() and c.currentText().strip() != tag]
        cast = {0: None, 1: "bf16", 2: "fp16"}[self.cast.currentIndex()]
        return {"path": self.path, "rules": rules, "cast": cast, "output": self.output.value(),
                "force": self.output.force.isChecked()}
