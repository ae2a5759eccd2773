"""Convert › Export: TorchScript, torch.export (.pt2) or safetensors.

TorchScript and torch.export need the model's code: the class is imported from a
module the user names, and the dialog asks once, naming that module, before anything is
imported. torch.jit is deprecated in this torch; torch.export is recommended.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QVBoxLayout)

from .common import OutputRow, buttons, suggest

KINDS = [("torch.export (.pt2) - recommended", "pt2", ".pt2"),
         ("TorchScript (torch.jit, deprecated in this torch)", "torchscript", ".pt"),
         ("safetensors (weights only, no code)", "safetensors", ".safetensors")]


class ExportDialog(QDialog):
    def __init__(self, path: str, state_key: str | None, parent=None, pickled_model: bool = False,
                 imports: list[str] | None = None):
        super().__init__(parent)
        self.imports = imports or []
        self.setWindowTitle("Export")
        self.path = path
        self.kind = QComboBox()
        for label, _, _ in KINDS:
            self.kind.addItem(label)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.model = QLineEdit()
        self.model.setPlaceholderText("mypackage.models:Net")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder to import it from (optional)")
        pick = QPushButton("…")
        pick.clicked.connect(self._pick_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(pick)
        self.kwargs = QLineEdit()
        self.kwargs.setPlaceholderText('{"num_classes": 10}')
        self.example = QLineEdit("1,3,224,224")
        self.trace = QCheckBox("trace with the example input instead of scripting")
        self.state_key = QLineEdit(state_key or "")
        self.pickled = QCheckBox("build from the model pickled in this file (loads it for real)")
        self.pickled.setVisible(pickled_model)
        self.pickled_allowed = pickled_model
        self.pickled.toggled.connect(lambda on: self.model.setEnabled(not on) or self.kwargs.setEnabled(not on))
        self.output = OutputRow(suggest(path, "", ".pt2"))
        self.note = QLabel()
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Format", self.kind)
        form.addRow("", self.pickled)
        form.addRow("Model class", self.model)
        form.addRow("Import from", row)
        form.addRow("Constructor kwargs (JSON)", self.kwargs)
        form.addRow("Example input shape", self.example)
        form.addRow("", self.trace)
        form.addRow("Weights at", self.state_key)
        form.addRow("Output", self.output)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.note)
        lay.addWidget(buttons(self, "Export"))
        self._kind_changed(0)

    def _pick_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Import the model from")
        if d:
            self.folder.setText(d)

    def _kind_changed(self, i: int) -> None:
        _, kind, ext = KINDS[i]
        code = kind != "safetensors"
        for w in (self.model, self.folder, self.kwargs, self.example, self.trace):
            w.setEnabled(code)
        self.trace.setVisible(kind == "torchscript")
        text = self.output.value()
        self.output.edit.setText(text.rsplit(".", 1)[0] + ext if "." in text else text + ext)
        self.note.setText({
            "pt2": "Builds the model from your class (imported: your code), loads these weights, "
                   "switches to eval mode and runs torch.export with the example input.",
            "torchscript": "torch.jit is deprecated in this torch (torch.export is the way ahead); "
                           "the model is built from your class, in eval mode, then scripted or traced.",
            "safetensors": "Writes the tensors only; tied weights are recorded in the metadata."}[kind])

    def options(self) -> dict:
        kind = KINDS[self.kind.currentIndex()][1]
        return {"kind": kind, "path": self.path, "model": self.model.text().strip(),
                "kwargs": self.kwargs.text().strip() or None,
                "example_input": self.example.text().strip() or None,
                "trace": self.trace.isChecked(), "state_key": self.state_key.text().strip() or None,
                "search": [self.folder.text().strip()] if self.folder.text().strip() else None,
                "trust_pickled": self.pickled_allowed and self.pickled.isChecked(),
                "output": self.output.value(), "force": self.output.force.isChecked()}

    def accept(self) -> None:
        o = self.options()
        if o["kind"] != "safetensors" and o["trust_pickled"]:
            answer = QMessageBox.question(
                self, "Trust this file?",
                "Building from the pickled model loads this file with torch.load(weights_only=False): "
                "it imports " + (", ".join(self.imports) or "torch only") + " and runs whatever the "
                "pickle says. Do this only for a file you trust. Continue?")
            if answer != QMessageBox.Yes:
                return
        elif o["kind"] != "safetensors":
            module = o["model"].partition(":")[0]
            if not module:
                QMessageBox.warning(self, "Export", "Name the model class as MODULE:CLASS.")
                return
            answer = QMessageBox.question(
                self, "Import your code?",
                f"Exporting imports the Python module '{module}'"
                + (f" from {o['search'][0]}" if o["search"] else "")
                + " and runs its code to build the model. Nothing from the checkpoint is executed. "
                  "Continue?")
            if answer != QMessageBox.Yes:
                return
        super().accept()
