"""Convert › Warm-start: fill a template with this file's matching weights.

The matching table is shown before anything is written: matched, matched after prefix
rules (a `module.`/`_orig_mod.` rule is proposed when it explains the mismatch), shape
mismatches (kept from the template), missing and unexpected keys - and the Python that
loads the result.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from ...formats.errors import CheckpointError
from ...ops.warmstart import plan_warmstart
from .common import OutputRow, buttons, suggest

COLORS = {"matched": "#2e7d32", "renamed": "#1565c0", "shape mismatch": "#e65100",
          "missing": "#c62828", "unexpected": "#6a1b9a"}


class WarmstartDialog(QDialog):
    def __init__(self, source: str, source_keys: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Warm-start a model from this checkpoint")
        self.source = source
        self.plan = None
        self.template = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.template, 1)
        row.addWidget(browse)
        self.source_key = QComboBox()
        self.source_key.addItems(["(recognised)"] + source_keys)
        self.template_key = QLineEdit()
        self.template_key.setPlaceholderText("(recognised)  e.g. model_state_dict")
        self.strip = QLineEdit()
        self.strip.setPlaceholderText("e.g. module.")
        self.add = QLineEdit()
        self.rename = QLineEdit()
        self.rename.setPlaceholderText("REGEX=REPL; REGEX=REPL")
        preview = QPushButton("Preview matching")
        preview.clicked.connect(self.preview)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["template key", "source key", "status", "shapes"])
        self.python = QPlainTextEdit()
        self.python.setReadOnly(True)
        self.python.setMaximumHeight(70)
        self.output = OutputRow(suggest(source, "_warmstart"))
        form = QFormLayout()
        form.addRow("Template", row)
        form.addRow("Source state_dict", self.source_key)
        form.addRow("Template state_dict", self.template_key)
        form.addRow("Strip prefix", self.strip)
        form.addRow("Add prefix", self.add)
        form.addRow("Rename", self.rename)
        form.addRow("Output", self.output)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(preview)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addWidget(QLabel("Load the result with:"))
        lay.addWidget(self.python)
        lay.addWidget(buttons(self, "Write"))
        self.resize(820, 640)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Template checkpoint", "",
                                              "Checkpoints (*.pt *.pth *.ckpt *.bin);;All files (*)")
        if path:
            self.template.setText(path)
            self.preview()

    def _split(self, text: str) -> list[str]:
        return [p.strip() for p in text.split(";") if p.strip()]

    def options(self) -> dict:
        key = self.source_key.currentText()
        return {"source": self.source, "template": self.template.text().strip(),
                "source_key": None if key == "(recognised)" else key,
                "template_key": self.template_key.text().strip() or None,
                "strip_prefix": self._split(self.strip.text()), "add_prefix": self._split(self.add.text()),
                "renames": self._split(self.rename.text()), "output": self.output.value(),
                "force": self.output.force.isChecked()}

    def preview(self) -> None:
        o = self.options()
        if not o["template"]:
            self.summary.setText("Choose a template checkpoint (e.g. a freshly initialised model's state_dict).")
            return
        try:
            self.plan = plan_warmstart(o["source"], o["template"], o["strip_prefix"], o["add_prefix"],
                                       o["renames"], o["source_key"], o["template_key"])
        except CheckpointError as exc:
            self.summary.setText(f"<span style='color:#c62828'>{exc}</span>")
            self.table.setRowCount(0)
            return
        p = self.plan
        rows = ([(t, s, "matched", "") for t, s in p.matched]
                + [(t, s, "renamed", "") for t, s in p.matched_by_rule]
                + [(t, s, "shape mismatch", f"{list(ts)} vs {list(ss)}") for t, s, ts, ss in p.shape_mismatch]
                + [(t, "", "missing", "") for t in p.missing] + [("", s, "unexpected", "") for s in p.unexpected])
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                if c == 2:
                    item.setForeground(QBrush(QColor(COLORS[v])))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.summary.setText(
            f"{len(p.matched)} matched, {len(p.matched_by_rule)} after rules, {len(p.shape_mismatch)} "
            f"shape mismatches (kept from the template), {len(p.missing)} missing, {len(p.unexpected)} "
            "unexpected" + (f"<br>Proposed rule: <b>{p.proposed}</b>" if p.proposed else ""))
        self.python.setPlainText(p.python(self.output.value()))
