"""Colours taken from the application palette, so a dark palette is followed everywhere:
secondary text, HTML panels and pyqtgraph plots (background, axes, labels, pens)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def palette() -> QPalette:
    return QApplication.palette()


def is_dark(pal: QPalette | None = None) -> bool:
    pal = pal or palette()
    return pal.color(QPalette.Window).lightness() < 128


def muted() -> str:
    """Secondary text (labels of values): the palette's placeholder colour."""
    return palette().color(QPalette.PlaceholderText).name()


def text() -> str:
    return palette().color(QPalette.WindowText).name()


def base() -> str:
    return palette().color(QPalette.Base).name()


def accent() -> str:
    """The histogram's own colour: a blue that reads on light and dark backgrounds."""
    return "#8ab4f8" if is_dark() else "#1a73e8"


def overlay() -> str:
    return "#ffb74d" if is_dark() else "#e65100"


def error() -> str:
    return "#ef9a9a" if is_dark() else "#c62828"


def error_background() -> str:
    """Behind a field whose input is wrong (a bad regular expression)."""
    return "#5c1b1b" if is_dark() else "#ffebee"


def readable(color: str) -> str:
    """A status colour (red, orange, blue, green) made light enough for a dark background."""
    if not is_dark():
        return color
    c = QColor(color)
    h, s, light, a = c.getHslF()
    c.setHslF(h, min(s, 0.75), max(light, 0.72), a)
    return c.name()


def style_plot(widget) -> None:
    """Background, axes, tick labels and title of a pyqtgraph PlotWidget from the palette."""
    pal = palette()
    widget.setBackground(pal.color(QPalette.Base))
    fg = pal.color(QPalette.WindowText)
    item = widget.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        ax = item.getAxis(name)
        if name == "top" and getattr(widget, "_top_custom", False):
            continue
        ax.setPen(fg)
        ax.setTextPen(fg)
    title = item.titleLabel
    title.opts["color"] = fg.name()
    title.setText(title.text or "")
