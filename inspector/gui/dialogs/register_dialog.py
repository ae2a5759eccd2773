"""File › Register in Registry…: the model name (completed from the registry's models),
tags, description and alias, with the facts that will be recorded shown before anything is
written. A file whose verdict is dangerous needs an explicit tick."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ...present import human_bytes
from ...registry.register import RegisterOptions, parse_tags


def _fact_rows(facts: dict) -> list[tuple[str, str]]:
    rows = []
    for k, v in facts.items():
        if k == "metrics":
            rows += [(f"metric {m}", f"{x:.6g}" if isinstance(x, float) else str(x)) for m, x in v.items()]
        elif k == "file_size":
            rows.append(("file size", human_bytes(v)))
        elif k == "parameter_count":
            rows.append(("parameters", f"{v:,}"))
        else:
            rows.append((k.replace("_", " "), str(v)))
    return rows


class RegisterDialog(QDialog):
    def __init__(self, path: str, facts: dict, runner, tracking: str | None = None, parent=None):
        super().__init__(parent)
        from ...registry.store import tracking_uri

        self.setWindowTitle("Register in Registry")
        self.resize(660, 560)
        self.path, self.facts, self.tracking = path, facts, tracking
        form = self._build_form(path, tracking_uri(tracking))
        self.table = self._facts_table(_fact_rows(facts))

        self.error = QLabel()
        self.error.setStyleSheet("color:#c62828")
        self.error.setWordWrap(True)
        self.force = QCheckBox("Register it anyway (the file would run code if loaded with torch.load)")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Register")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(
            QLabel(
                "The file goes into a new run's artifacts; these facts become its params, tags and metrics:"
            )
        )
        lay.addWidget(self.table, 1)
        self.dangerous = facts.get("verdict") == "dangerous"
        if self.dangerous:
            warn = QLabel("This file is DANGEROUS: loading it with torch.load would run code.")
            warn.setStyleSheet("background:#c62828;color:white;font-weight:bold;padding:4px")
            lay.addWidget(warn)
            lay.addWidget(self.force)
            self.force.toggled.connect(lambda on: self.buttons.button(QDialogButtonBox.Ok).setEnabled(on))
            self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.model_names: list[str] = []
        if runner is not None:
            runner.submit(self._names, on_done=self._set_names, on_fail=self._names_failed)

    def _build_form(self, path: str, registry: str) -> QFormLayout:
        """File, registry, and what the user names: model, tags, description, alias."""
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.setInsertPolicy(QComboBox.NoInsert)
        from ...registry.resolve import origin_of

        origin = origin_of(path) or {}  # a version opened from a registry: propose its model
        self.name.setEditText(origin.get("model") or os.path.splitext(os.path.basename(path))[0])
        self.name.lineEdit().selectAll()
        self.tags = QPlainTextEdit()
        self.tags.setPlaceholderText("one KEY=VALUE per line, e.g. team=vision")
        self.tags.setMaximumHeight(56)
        self.description = QPlainTextEdit()
        self.description.setMaximumHeight(48)
        self.alias = QLineEdit()
        self.alias.setPlaceholderText("optional, e.g. candidate (moves the alias to this version)")
        form = QFormLayout()
        form.addRow("File", QLabel(path))
        form.addRow("Registry", QLabel(registry))
        form.addRow("Model name", self.name)
        form.addRow("Tags", self.tags)
        form.addRow("Description", self.description)
        form.addRow("Alias", self.alias)
        return form

    def _facts_table(self, rows) -> QTableWidget:
        """What the file's facts become: the version's params, tags and metrics."""
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Recorded with the version", "Value"])
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        for r, (k, v) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(k))
            table.setItem(r, 1, QTableWidgetItem(v))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def _names(self) -> list[str]:
        from ...registry.browse import list_models
        from ...registry.store import Store

        return [m["name"] for m in list_models(Store(self.tracking))]

    def _names_failed(self, message: str) -> None:
        try:
            self.error.setText(f"Existing model names could not be read: {message}")
        except RuntimeError:  # closed meanwhile
            pass

    def _set_names(self, names: list[str]) -> None:
        try:
            self._fill_names(names)
        except RuntimeError:  # closed meanwhile
            pass

    def _fill_names(self, names: list[str]) -> None:
        text = self.name.currentText()
        self.model_names = names
        self.name.addItems(names)
        completer = QCompleter(names, self)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        completer.setFilterMode(Qt.MatchContains)
        self.name.setCompleter(completer)
        self.name.setEditText(text)

    def options(self) -> RegisterOptions:
        tags = parse_tags([line for line in self.tags.toPlainText().splitlines() if line.strip()])
        return RegisterOptions(
            self.name.currentText().strip(),
            tags,
            description=self.description.toPlainText().strip() or None,
            alias=self.alias.text().strip() or None,
            force=self.force.isChecked(),
            tracking_uri=self.tracking,
            facts=self.facts,
        )

    def _accept(self) -> None:
        from ...registry import RegistryError

        try:
            o = self.options()
        except RegistryError as exc:
            self.error.setText(str(exc))
            return
        if not o.name:
            self.error.setText("Give the model a name.")
            return
        self.accept()
