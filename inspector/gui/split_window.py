"""The frame the Compare and Progression windows share: a title row with progress and
Cancel, a summary line, a list beside a detail pane, remembered geometry, a poll timer."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QVBoxLayout, QWidget

from . import settings as cfg


def lay_out(
    window,
    left: QWidget,
    right: QWidget,
    sizes: list[int],
    geometry_key: str,
    default_size: tuple[int, int],
    on_tick,
) -> None:
    """Give `window` (which has `title`, `progress`, `cancel_button` and `summary`) its
    `splitter` and `timer` (100 ms, calling `on_tick`), and restore its saved geometry."""
    window.splitter = QSplitter(Qt.Horizontal)
    window.splitter.addWidget(left)
    window.splitter.addWidget(right)
    window.splitter.setSizes(sizes)
    top = QHBoxLayout()
    top.addWidget(window.title, 1)
    top.addWidget(window.progress)
    top.addWidget(window.cancel_button)
    lay = QVBoxLayout(window)
    lay.addLayout(top)
    lay.addWidget(window.summary)
    lay.addWidget(window.splitter, 1)
    geom = cfg.settings().value(geometry_key)
    if geom is not None:
        window.restoreGeometry(geom)
    else:
        window.resize(*default_size)
    window.timer = QTimer(window)
    window.timer.setInterval(100)
    window.timer.timeout.connect(on_tick)
