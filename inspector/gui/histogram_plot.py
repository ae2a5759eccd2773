"""The weight histogram: a pyqtgraph step plot that reads like a plot.

The value axis is in the tensor's own units (no hidden `(x0.001)` multiplier), the count
axis has whole-number ticks, or powers of ten on a real log scale; hovering a bin says its
range, count and share. Colours follow the application palette (light or dark).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Signal

from ..analysis.bins import bin_readout
from ..analysis.ticks import count_text, integer_spacing, value_ticks
from . import theme

pg.setConfigOptions(antialias=True)

LOG_FLOOR = -0.5  # where an empty bin sits on the log axis (one count is log10(1) = 0)


class ValueAxis(pg.AxisItem):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enableAutoSIPrefix(False)
        self._finest = None  # every level is written with the finest level's digits

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        spacings = [sp for sp, vals in levels if len(vals)]
        self._finest = min(spacings) if spacings else None
        return levels

    def tickStrings(self, values, scale, spacing):
        spacing = min(float(spacing), self._finest or float(spacing))
        return value_ticks([float(v) for v in values], spacing)


class CountAxis(pg.AxisItem):
    """Whole counts only; with `log` the view holds log10(count) and ticks sit on 1, 10, 100…"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enableAutoSIPrefix(False)
        self.log = False

    def tickSpacing(self, minVal, maxVal, size):
        if self.log:
            return [(1.0, 0.0)]
        out = []
        for spacing, _offset in super().tickSpacing(minVal, maxVal, size):
            sp = integer_spacing(spacing)
            if all(sp != s for s, _ in out):
                out.append((sp, 0.0))
        return out

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        low = 0.0 if self.log else -1e-9
        return [(sp, [v for v in vals if v >= low and float(v).is_integer()]) for sp, vals in levels]

    def tickStrings(self, values, scale, spacing):
        if self.log:
            return [count_text(10**v) for v in values]
        return [count_text(v) for v in values]


class HistogramPlot(pg.PlotWidget):
    rangeChosen = Signal(float, float)
    hovered = Signal(str)

    def __init__(self, parent=None):
        self.value_axis = ValueAxis("bottom")
        self.count_axis = CountAxis("left")
        super().__init__(
            parent, axisItems={"bottom": self.value_axis, "left": self.count_axis, "top": ValueAxis("top")}
        )
        self.setMinimumHeight(220)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "value")
        self.setLabel("left", "count")
        self.curve = self.plot([0, 1], [0], stepMode="center", fillLevel=0)
        # The overlay (an optimizer state) has its own value axis on top, sharing the counts:
        # exp_avg_sq lives on a scale nothing like the weight's.
        item = self.getPlotItem()
        self.overlay_view = pg.ViewBox()
        item.scene().addItem(self.overlay_view)
        item.getAxis("top").linkToView(self.overlay_view)
        self.overlay_view.setYLink(item)
        item.vb.sigResized.connect(self._sync_views)
        self.overlay_curve = pg.PlotDataItem([0, 1], [0], stepMode="center", fillLevel=0)
        self.overlay_view.addItem(self.overlay_curve)
        self.overlay_curve.hide()
        self.overlay = None
        self.overlay_name = ""
        self.region = pg.LinearRegionItem(brush=(255, 165, 0, 40))
        self.region.setZValue(10)
        self.region.hide()
        self.addItem(self.region)
        self.log = False
        self.integer = False  # one bin per integer value: the readout names the value
        self.hist = None
        self.title = ""
        self.hover_text = ""
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.apply_palette()

    # ---- palette -------------------------------------------------------------------------
    def apply_palette(self) -> None:
        theme.style_plot(self)
        blue, orange = pg.mkColor(theme.accent()), pg.mkColor(theme.overlay())
        fill, ofill = pg.mkColor(blue), pg.mkColor(orange)
        fill.setAlpha(110)
        ofill.setAlpha(60)
        self.curve.setPen(pg.mkPen(blue, width=1.5))
        self.curve.setBrush(fill)
        self.overlay_curve.setPen(pg.mkPen(orange, width=1.5))
        self.overlay_curve.setBrush(ofill)
        top = self.getPlotItem().getAxis("top")
        top.setPen(orange)
        top.setTextPen(orange)
        self._draw_title()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.PaletteChange and hasattr(self, "overlay_curve"):
            self.apply_palette()

    # ---- data ----------------------------------------------------------------------------
    def set_histogram(self, hist, title: str = "") -> None:
        self.hist, self.title = hist, title
        self._draw()

    def set_log(self, log: bool) -> None:
        self.log = log
        self.count_axis.log = log
        self._draw()

    def _sync_views(self) -> None:
        self.overlay_view.setGeometry(self.getPlotItem().vb.sceneBoundingRect())
        self.overlay_view.linkedViewChanged(self.getPlotItem().vb, self.overlay_view.YAxis)

    def set_overlay(self, hist, name: str = "") -> None:
        """A second histogram (an optimizer state of the weight) drawn on the same axes."""
        self.overlay = hist
        self.overlay_name = name
        self._draw()

    def _counts(self, h) -> np.ndarray:
        counts = h.counts.astype(np.float64)
        if not self.log:
            return counts
        out = np.full(counts.shape, LOG_FLOOR)
        np.log10(counts, out=out, where=counts > 0)
        return out

    def _draw_title(self) -> None:
        color = theme.text()
        if self.overlay is not None and self.overlay_curve.isVisible():
            self.setTitle(
                f"<span style='color:{color}'>{self.title}</span>  ·  <span style='color:"
                f"{theme.overlay()}'>{self.overlay_name} (top axis)</span>"
            )
        else:
            self.setTitle(self.title, color=color)

    def _draw(self) -> None:
        h = self.hist
        base = LOG_FLOOR if self.log else 0.0
        self.curve.setFillLevel(base)
        self.overlay_curve.setFillLevel(base)
        self.setLabel("left", "count (log scale)" if self.log else "count")
        if h is None or len(h.counts) == 0:
            self.curve.setData([0, 1], [base])
            self.overlay_curve.hide()
            self._draw_title()
            return
        self.curve.setData(np.asarray(h.edges, dtype=np.float64), self._counts(h))
        item = self.getPlotItem()
        top = float(self._counts(h).max())
        if self.overlay is not None and len(self.overlay.counts):
            self.overlay_curve.setData(
                np.asarray(self.overlay.edges, dtype=np.float64), self._counts(self.overlay)
            )
            self.overlay_curve.show()
            item.showAxis("top")
            item.getAxis("top").setLabel(f"{self.overlay_name} value", color=theme.overlay())
            self.overlay_view.enableAutoRange(axis=pg.ViewBox.XAxis)
            top = max(top, float(self._counts(self.overlay).max()))
        else:
            self.overlay_curve.hide()
            item.hideAxis("top")
        self._draw_title()
        self.enableAutoRange(axis=pg.ViewBox.XAxis)
        self.setYRange(base, max(top, base + 1) * 1.05 if top > 0 else base + 1, padding=0)
        self._sync_views()

    # ---- hover and range -------------------------------------------------------------------
    def _mouse_moved(self, pos) -> None:
        vb = self.getPlotItem().vb
        if self.hist is None or not vb.sceneBoundingRect().contains(pos):
            text = ""
        else:
            text = bin_readout(self.hist, vb.mapSceneToView(pos).x(), self.integer) or ""
        if text != self.hover_text:
            self.hover_text = text
            self.hovered.emit(text)

    def tick_labels(self, axis: str = "bottom") -> list[str]:
        """The tick labels as the axis draws them now (what a user reads)."""
        from PySide6.QtGui import QImage, QPainter

        ax = self.getPlotItem().getAxis(axis)
        img = QImage(10, 10, QImage.Format_ARGB32)
        painter = QPainter(img)
        try:
            specs = ax.generateDrawSpecs(painter)
        finally:
            painter.end()
        return [] if specs is None else [text for _, _, text in specs[2]]

    def show_region(self, show: bool) -> None:
        if show and self.hist is not None:
            lo, hi = float(self.hist.edges[0]), float(self.hist.edges[-1])
            pad = (hi - lo) * 0.25
            self.region.setRegion((lo + pad, hi - pad))
        self.region.setVisible(show)

    def chosen_range(self) -> tuple[float, float]:
        lo, hi = self.region.getRegion()
        return float(lo), float(hi)
