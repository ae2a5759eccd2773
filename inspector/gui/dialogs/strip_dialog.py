"""Convert › Strip for inference: keep the model weights, optionally cast.

Offers only sub-trees that look like weights, best first (analysis.weight_candidates)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from ...analysis.dtype_names import CAST_CHOICES
from ...ops.plans import StripOptions
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
        self.dtype.addItem("keep dtypes", None)
        for name in CAST_CHOICES:
            self.dtype.addItem(name, name)
        self.output = OutputRow(suggest(path, "_weights"))
        form = QFormLayout()
        form.addRow("Model weights", self.key)
        form.addRow("Cast floating tensors", self.dtype)
        form.addRow("Output", self.output)
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel(
                f"Keeps only the chosen state_dict of this {size} file; optimizer state, "
                "schedulers and metadata are dropped."
            )
        )
        lay.addLayout(form)
        box = buttons(self, "Strip")
        lay.addWidget(box)
        self.output.attach(box.button(QDialogButtonBox.Ok), [path], lambda: self.key.count() > 0)

    def options(self) -> StripOptions:
        return StripOptions(
            self.path,
            self.output.value(),
            state_key=self.key.currentData() or "",
            dtype=self.dtype.currentData(),
            force=self.output.force.isChecked(),
        )
