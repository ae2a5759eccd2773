"""What the window shows before any file is open: open buttons, recent files, a drop zone
and the demo checkpoint (built only when asked: torch takes seconds to start)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from . import settings as cfg
from . import theme


class StartPage(QWidget):
    open_requested = Signal()
    open_folder_requested = Signal()
    demo_requested = Signal()
    recent_chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("<h1>Checkpoint Inspector</h1>")
        self.lead = QLabel(
            "Open a PyTorch checkpoint to see its tensors, training state and "
            "security verdict. Nothing in a file is ever executed."
        )
        self.lead.setWordWrap(True)
        self.open_button = QPushButton("Open…  (Ctrl+O)")
        self.open_button.clicked.connect(self.open_requested)
        self.folder_button = QPushButton("Open Folder…  (Ctrl+Shift+O)")
        self.folder_button.setToolTip(
            "a shard index, a distributed checkpoint, a Trainer "
            "checkpoint-N folder or a folder of epoch files"
        )
        self.folder_button.clicked.connect(self.open_folder_requested)
        self.demo_button = QPushButton("Open the demo checkpoint")
        self.demo_button.setToolTip(
            "a small CNN trained for a few Adam steps, written with torch the first time (a few seconds)"
        )
        self.demo_button.clicked.connect(self.demo_requested)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.folder_button, self.demo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.recent_label = QLabel("<b>Recent files</b>")
        self.recent = QListWidget()
        self.recent.setMaximumHeight(220)
        self.recent.itemActivated.connect(lambda it: self.recent_chosen.emit(it.data(Qt.UserRole)))
        self.recent.itemDoubleClicked.connect(lambda it: self.recent_chosen.emit(it.data(Qt.UserRole)))
        self.drop = QLabel("Drop checkpoint files or folders here")
        self.drop.setAlignment(Qt.AlignCenter)
        self.drop.setMinimumHeight(120)
        self.drop.setFrameShape(QFrame.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 16, 24, 16)
        lay.addWidget(self.title)
        lay.addWidget(self.lead)
        lay.addLayout(buttons)
        lay.addSpacing(12)
        lay.addWidget(self.recent_label)
        lay.addWidget(self.recent)
        lay.addSpacing(12)
        lay.addWidget(self.drop, 1)
        self.refresh()

    def refresh(self) -> None:
        self.recent.clear()
        files = cfg.recent_files()
        for path in files:
            item = QListWidgetItem(f"{os.path.basename(path)}    —    {os.path.dirname(path)}")
            item.setData(Qt.UserRole, path)
            item.setToolTip(path)
            self.recent.addItem(item)
        rows = max(1, len(files))
        self.recent.setFixedHeight(min(220, rows * (self.recent.sizeHintForRow(0) if files else 20) + 8))
        self.recent_label.setVisible(bool(files))
        self.recent.setVisible(bool(files))
        self.drop.setStyleSheet(
            f"color:{theme.muted()}; border:2px dashed {theme.muted()};border-radius:8px; font-size:14pt"
        )

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)
