"""Convert › Warm-start: fill a template with this file's matching weights.

The dialog says what it does in its first line. Preview shows the matching in three parts
with their counts at the top - matched, shape mismatches (kept from the template), missing
or unused keys; a `module.`/`_orig_mod.` rule it proposes is written into the Strip/Add
prefix field where the user sees it. Write is enabled only after a preview of the current
settings; the Python shown runs as written.
"""

from __future__ import annotations

import os

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
)

from ...formats.errors import CheckpointError
from ...ops.plans import WarmstartOptions, plan_warmstart_for
from ..theme import readable
from .common import OutputRow, buttons, field_row, suggest

COLORS = {
    "matched": "#2e7d32",
    "renamed": "#1565c0",
    "shape mismatch": "#e65100",
    "missing": "#c62828",
    "unused": "#6a1b9a",
}
INTRO = (
    "<b>Fills a model's freshly initialised checkpoint (the template) with the matching "
    "weights of this file</b> and writes the result as a new file. Choose the template - for "
    "example <code>torch.save(model.state_dict(), 'fresh.pt')</code> of the new model - then "
    "Preview the matching; Write is enabled after a preview."
)


class WarmstartDialog(QDialog):
    def __init__(self, source: str, source_keys: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Warm-start a model from this checkpoint")
        self.source = source
        self.plan = None
        self.intro = QLabel(INTRO)
        self.intro.setWordWrap(True)
        form = self._build_form(source, source_keys)
        self.proposal = QLabel()
        self.proposal.setWordWrap(True)
        self.preview_button = QPushButton("Preview matching")
        self.preview_button.clicked.connect(self.preview)
        self.summary = QLabel("No preview yet.")
        self.summary.setWordWrap(True)
        self.parts = QTabWidget()
        self.matched_table = self._table(["template key", "source key", "how"])
        self.mismatch_table = self._table(["template key", "source key", "template shape", "source shape"])
        self.unmatched_table = self._table(["key", "where", "what happens"])
        self.parts.addTab(self.matched_table, "Matched")
        self.parts.addTab(self.mismatch_table, "Shape mismatch")
        self.parts.addTab(self.unmatched_table, "Missing / unused")
        self.python = QPlainTextEdit()
        self.python.setReadOnly(True)
        self.python.setMaximumHeight(160)
        lay = QVBoxLayout(self)
        lay.addWidget(self.intro)
        lay.addLayout(form)
        lay.addWidget(self.proposal)
        lay.addWidget(self.preview_button)
        lay.addWidget(self.summary)
        lay.addWidget(self.parts, 1)
        lay.addWidget(QLabel("Load the result in your code with:"))
        lay.addWidget(self.python)
        self.box = buttons(self, "Write")
        self.write_button = self.box.button(QDialogButtonBox.Ok)
        lay.addWidget(self.box)
        self.output.attach(self.write_button, [source], lambda: self.plan is not None)
        for edit in (self.template, self.template_key, self.strip, self.add, self.rename):
            edit.textEdited.connect(self._stale)
        self.source_key.currentIndexChanged.connect(self._stale)
        self._stale()
        self.resize(900, 720)

    def _build_form(self, source: str, source_keys: list[str]) -> QFormLayout:
        """Template, the two state_dicts, the key rules and the output."""
        self.template = QLineEdit()
        self.template.setPlaceholderText("the new model's checkpoint (required)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = field_row(self.template, browse)
        self.source_key = QComboBox()
        self.source_key.addItems(["(recognised)"] + source_keys)
        self.template_key = QLineEdit()
        self.template_key.setPlaceholderText("(recognised)  e.g. model_state_dict")
        self.strip = QLineEdit()
        self.strip.setPlaceholderText("e.g. module.  (proposed by Preview when it explains the names)")
        self.add = QLineEdit()
        self.rename = QLineEdit()
        self.rename.setPlaceholderText("REGEX=REPL; REGEX=REPL")
        self.output = OutputRow(suggest(source, "_warmstart"))
        form = QFormLayout()
        form.addRow("Template", row)
        form.addRow("Source state_dict", self.source_key)
        form.addRow("Template state_dict", self.template_key)
        form.addRow("Strip prefix", self.strip)
        form.addRow("Add prefix", self.add)
        form.addRow("Rename", self.rename)
        form.addRow("Output", self.output)
        return form

    def _table(self, headers) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setHorizontalHeaderLabels(headers)
        t.horizontalHeader().setStretchLastSection(True)
        t.setEditTriggers(QTableWidget.NoEditTriggers)
        return t

    def _stale(self, *_) -> None:
        """Settings changed since the preview: preview again before writing."""
        if self.plan is not None:
            self.summary.setText("The settings changed: preview again before writing.")
        self.plan = None
        self.output.validate()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Template checkpoint", "", "Checkpoints (*.pt *.pth *.ckpt *.bin);;All files (*)"
        )
        if path:
            self.template.setText(path)
            self._stale()
            self.preview()

    def _split(self, text: str) -> list[str]:
        return [p.strip() for p in text.split(";") if p.strip()]

    def options(self) -> WarmstartOptions:
        key = self.source_key.currentText()
        return WarmstartOptions(
            self.source,
            self.template.text().strip(),
            self.output.value(),
            strip_prefix=self._split(self.strip.text()),
            add_prefix=self._split(self.add.text()),
            renames=self._split(self.rename.text()),
            source_key=None if key == "(recognised)" else key,
            template_key=self.template_key.text().strip() or None,
            force=self.output.force.isChecked(),
        )

    def preview(self) -> None:
        o = self.options()
        self.plan = None
        if not o.template:
            self.summary.setText(
                f"<span style='color:{readable('#c62828')}'>Choose the template first: the "
                "checkpoint of the model to fill (e.g. its freshly initialised "
                "state_dict).</span>"
            )
            self.output.validate()
            return
        try:
            plan = plan_warmstart_for(o)
        except CheckpointError as exc:
            self.summary.setText(f"<span style='color:{readable('#c62828')}'>{exc}</span>")
            for t in (self.matched_table, self.mismatch_table, self.unmatched_table):
                t.setRowCount(0)
            self.output.validate()
            return
        if plan.proposed and not (o.strip_prefix or o.add_prefix or o.renames):
            # the proposed rule goes into its field, where the user sees (and may clear) it
            rule = plan.rules[0] if plan.rules else ""
            field = self.strip if rule.startswith("strip") else self.add
            field.setText(rule.split(" ", 1)[1].strip("'\"") if " " in rule else "")
            self.proposal.setText(
                f"Proposed and filled in: <b>{plan.proposed}</b>. Clear the field "
                "and preview again to match names as they are."
            )
        elif not plan.proposed:
            self.proposal.setText("")
        self.plan = plan
        self._fill(plan)
        self.output.validate()

    def _fill(self, p) -> None:
        def put(table, rows, status_col=None):
            table.setRowCount(len(rows))
            for r, values in enumerate(rows):
                for c, v in enumerate(values):
                    item = QTableWidgetItem(str(v))
                    if c == status_col and v in COLORS:
                        item.setForeground(QBrush(QColor(readable(COLORS[v]))))
                    table.setItem(r, c, item)
            table.resizeColumnsToContents()

        put(
            self.matched_table,
            [(t, s, "matched") for t, s in p.matched] + [(t, s, "renamed") for t, s in p.matched_by_rule],
            2,
        )
        put(
            self.mismatch_table, [(t, s, str(tuple(ts)), str(tuple(ss))) for t, s, ts, ss in p.shape_mismatch]
        )
        put(
            self.unmatched_table,
            [(t, "template", "missing") for t in p.missing]
            + [(s, "this file", "unused") for s in p.unexpected],
            2,
        )
        C = {k: readable(v) for k, v in COLORS.items()}
        n_match = len(p.matched) + len(p.matched_by_rule)
        unmatched = len(p.missing) + len(p.unexpected)
        self.parts.setTabText(0, f"Matched ({n_match})")
        self.parts.setTabText(1, f"Shape mismatch ({len(p.shape_mismatch)})")
        self.parts.setTabText(2, f"Missing / unused ({unmatched})")
        self.summary.setText(
            f"<b style='color:{C['matched']}'>{n_match} matched</b>"
            + (f" ({len(p.matched_by_rule)} after the prefix rules)" if p.matched_by_rule else "")
            + f" &nbsp;·&nbsp; <b style='color:{C['shape mismatch']}'>{len(p.shape_mismatch)} "
            "shape mismatches</b> (the template's values are kept)"
            + f" &nbsp;·&nbsp; <b style='color:{C['missing']}'>{len(p.missing)} missing</b> (kept "
            f"from the template), <b style='color:{C['unused']}'>{len(p.unexpected)} unused</b> "
            f"from {os.path.basename(self.source)}"
        )
        if p.shape_mismatch:
            self.parts.setCurrentIndex(1)
        elif unmatched and not n_match:
            self.parts.setCurrentIndex(2)
        else:
            self.parts.setCurrentIndex(0)
        self.python.setPlainText(p.python(self.output.value()))
