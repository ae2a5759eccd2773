"""Convert › Strip for inference: keep the model weights, optionally cast.

Offers only sub-trees that look like weights, best first (analysis.weight_candidates)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from .common import OutputRow, buttons, suggest


class StripDialog(QDialog):
    def __init__(self, path: str, candidates: list[str], recognised: str | None, size: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Strip for inference")
        self.path = path
        self.key = QComboBox()
        self.key.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.key.setMinimumContentsLength(30)
        for key in candidates:
            self.key.addItem("/" + key if key else "(the whole file: it is a state_dict)", key)
        if recognised in candidates:
            self.key.setCurrentIndex(candidates.index(recognised))
        self.dtype = QComboBox()
        self.dtype.addItems(["keep dtypes", "bf16", "fp16"])
        self.output = OutputRow(suggest(path, "_weights"))
        form = QFormLayout()
        form.addRow("Model weights", self.key)
        form.addRow("Cast floating tensors", self.dtype)
        form.addRow("Output", self.output)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Keeps only the chosen state_dict of this {size} file; optimizer state, "
                             "schedulers and metadata are dropped."))
        lay.addLayout(form)
        box = buttons(self, "Strip")
        lay.addWidget(box)
        self.output.attach(box.button(QDialogButtonBox.Ok), [path], lambda: self.key.count() > 0)

    def options(self) -> dict:
        return {"path": self.path, "state_key": self.key.currentData() or "",
                "dtype": {0: None, 1: "bf16", 2: "fp16"}[self.dtype.currentIndex()],
                "output": self.output.value(), "force": self.output.force.isChecked()}
