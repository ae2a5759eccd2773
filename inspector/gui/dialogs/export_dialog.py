"""Convert › Export: TorchScript, torch.export (.pt2) or safetensors.

TorchScript and torch.export need the model's code: the class is imported from a
module the user names, and the dialog asks once, naming that module, before anything is
imported. torch.jit is deprecated in this torch; torch.export is recommended. The class
is picked from those the file names, or from a Python file the user points at (read with
`ast`, never run until the export is confirmed), or typed as MODULE:CLASS.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from ...analysis.weight_candidates import classes_in_python_file
from ...ops.plans import ExportOptions
from .common import OutputRow, buttons, field_row, suggest

KINDS = [
    ("torch.export (.pt2) - recommended", "pt2", ".pt2"),
    ("TorchScript (torch.jit, deprecated in this torch)", "torchscript", ".pt"),
    ("safetensors (weights only, no code)", "safetensors", ".safetensors"),
]


class ExportDialog(QDialog):
    def __init__(
        self,
        path: str,
        state_key: str | None,
        parent=None,
        pickled_model: bool = False,
        imports: list[str] | None = None,
        classes: list[str] | None = None,
    ):
        super().__init__(parent)
        self.imports = imports or []
        self.setWindowTitle("Export")
        self.path = path
        self.kind = QComboBox()
        for label, _, _ in KINDS:
            self.kind.addItem(label)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        model_row = self._model_row(classes)
        row = self._folder_row()
        self.kwargs = QLineEdit()
        self.kwargs.setPlaceholderText('{"num_classes": 10}')
        self.example = QLineEdit("1,3,224,224")
        self.trace = QCheckBox("trace with the example input instead of scripting")
        self.state_key = QLineEdit(state_key or "")
        self.pickled = QCheckBox("build from the model pickled in this file (loads it for real)")
        self.pickled.setVisible(pickled_model)
        self.pickled_allowed = pickled_model
        self.pickled.toggled.connect(
            lambda on: self.model.setEnabled(not on) or self.kwargs.setEnabled(not on)
        )
        self.output = OutputRow(suggest(path, "", ".pt2"))
        self.note = QLabel()
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Format", self.kind)
        form.addRow("", self.pickled)
        form.addRow("Model class", model_row)
        form.addRow("Import from", row)
        form.addRow("Constructor kwargs (JSON)", self.kwargs)
        form.addRow("Example input shape", self.example)
        form.addRow("", self.trace)
        form.addRow("Weights at", self.state_key)
        form.addRow("Output", self.output)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.note)
        self.box = buttons(self, "Export")
        lay.addWidget(self.box)
        self.output.attach(self.box.button(QDialogButtonBox.Ok), [path], self._class_ok)
        self.pickled.toggled.connect(lambda _: self._check())
        self._kind_changed(0)

    def _model_row(self, classes: list[str] | None) -> QHBoxLayout:
        """MODULE:CLASS, picked from the classes the file names or typed, or found in a
        Python file."""
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(classes or [])
        self.model.setCurrentIndex(0 if classes else -1)
        self.model.lineEdit().setPlaceholderText("mypackage.models:Net")
        self.model.setToolTip("the classes this file names; or choose a Python file that defines the model")
        self.model.editTextChanged.connect(lambda _: self._check())
        self.from_file = QPushButton("From a Python file…")
        self.from_file.clicked.connect(lambda: self.pick_python_file())
        return field_row(self.model, self.from_file)

    def _folder_row(self) -> QHBoxLayout:
        """The folder to import the model class from (optional)."""
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder to import it from (optional)")
        pick = QPushButton("…")
        pick.clicked.connect(self._pick_folder)
        return field_row(self.folder, pick)

    def _class_ok(self) -> bool:
        kind = KINDS[self.kind.currentIndex()][1]
        return (
            kind == "safetensors"
            or (self.pickled_allowed and self.pickled.isChecked())
            or bool(self.model.currentText().strip().partition(":")[2])
        )

    def _check(self) -> None:
        self.output.validate()

    def pick_python_file(self, path: str | None = None) -> list[str]:
        """The classes a Python file defines (parsed, not run), offered as MODULE:CLASS."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "The Python file that defines the model", "", "Python (*.py)"
            )
        if not path:
            return []
        try:
            names = classes_in_python_file(path)
        except (OSError, SyntaxError, ValueError) as exc:
            self.note.setText(
                f"<span style='color:#c62828'>Cannot read {os.path.basename(path)}: {exc}</span>"
            )
            return []
        if not names:
            self.note.setText(
                f"<span style='color:#c62828'>{os.path.basename(path)} defines no class.</span>"
            )
            return []
        module = os.path.splitext(os.path.basename(path))[0]
        found = [f"{module}:{n}" for n in names]
        self.model.clear()
        self.model.addItems(found)
        self.model.setCurrentIndex(0)
        self.folder.setText(os.path.dirname(os.path.abspath(path)))
        self._check()
        return found

    def _pick_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Import the model from")
        if d:
            self.folder.setText(d)

    def _kind_changed(self, i: int) -> None:
        _, kind, ext = KINDS[i]
        code = kind != "safetensors"
        for w in (self.model, self.from_file, self.folder, self.kwargs, self.example, self.trace):
            w.setEnabled(code)
        self.trace.setVisible(kind == "torchscript")
        text = self.output.value()
        self.output.edit.setText(text.rsplit(".", 1)[0] + ext if "." in text else text + ext)
        self.note.setText(
            {
                "pt2": "Builds the model from your class (imported: your code), loads these weights, "
                "switches to eval mode and runs torch.export with the example input.",
                "torchscript": "torch.jit is deprecated in this torch (torch.export is the way ahead); "
                "the model is built from your class, in eval mode, then scripted or traced.",
                "safetensors": "Writes the tensors only; tied weights are recorded in the metadata.",
            }[kind]
        )
        if hasattr(self, "box"):
            self._check()

    def options(self) -> ExportOptions:
        kind = KINDS[self.kind.currentIndex()][1]
        return ExportOptions(
            kind,
            self.path,
            self.output.value(),
            model=self.model.currentText().strip(),
            kwargs=self.kwargs.text().strip() or None,
            example_input=self.example.text().strip() or None,
            trace=self.trace.isChecked(),
            state_key=self.state_key.text().strip() or None,
            search=[self.folder.text().strip()] if self.folder.text().strip() else None,
            trust_pickled=self.pickled_allowed and self.pickled.isChecked(),
            force=self.output.force.isChecked(),
        )

    def accept(self) -> None:
        o = self.options()
        if o.kind != "safetensors" and o.trust_pickled:
            answer = QMessageBox.question(
                self,
                "Trust this file?",
                "Building from the pickled model loads this file with torch.load(weights_only=False): "
                "it imports " + (", ".join(self.imports) or "torch only") + " and runs whatever the "
                "pickle says. Do this only for a file you trust. Continue?",
            )
            if answer != QMessageBox.Yes:
                return
        elif o.kind != "safetensors":
            module = o.model.partition(":")[0]
            if not module:
                QMessageBox.warning(self, "Export", "Name the model class as MODULE:CLASS.")
                return
            answer = QMessageBox.question(
                self,
                "Import your code?",
                f"Exporting imports the Python module '{module}'"
                + (f" from {o.search[0]}" if o.search else "")
                + " and runs its code to build the model. Nothing from the checkpoint is executed. "
                "Continue?",
            )
            if answer != QMessageBox.Yes:
                return
        super().accept()
