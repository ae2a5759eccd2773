"""Help > About: the versions a bug report needs."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from .. import __version__


def versions() -> dict[str, str]:
    def ver(pkg):
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "Checkpoint Inspector": __version__,
        "torch": ver("torch"),
        "Qt": qVersion(),
        "PySide6": pyside_version,
        "pyqtgraph": ver("pyqtgraph"),
        "numpy": ver("numpy"),
        "Python": platform.python_version(),
    }


class AboutDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("About Checkpoint Inspector")
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in versions().items())
        label = QLabel(
            "<h3>Checkpoint Inspector</h3><p>Opens PyTorch checkpoints without running "
            f"code hidden in them.</p><table cellpadding='2'>{rows}</table>"
        )
        label.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
        self.label = label  # selectable: versions are copied into bug reports
        buttons = QDialogButtonBox(QDialogButtonBox.Ok)
        buttons.accepted.connect(self.accept)
        lay = QVBoxLayout(self)
        lay.addWidget(label)
        lay.addWidget(buttons)
