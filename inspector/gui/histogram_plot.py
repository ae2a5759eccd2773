"""The weight histogram: pyqtgraph step plot with log counts, zoom and a range selector."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

pg.setConfigOptions(antialias=True, background="w", foreground="k")


class HistogramPlot(pg.PlotWidget):
    rangeChosen = Signal(float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(220)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "value")
        self.setLabel("left", "count")
        self.curve = self.plot([0, 1], [0], stepMode="center", fillLevel=0,
                               brush=(66, 133, 244, 120), pen=pg.mkPen("#1a73e8", width=1.5))
        # The overlay (an optimizer state) has its own value axis on top, sharing the counts:
        # exp_avg_sq lives on a scale nothing like the weight's.
        item = self.getPlotItem()
        self.overlay_view = pg.ViewBox()
        item.scene().addItem(self.overlay_view)
        item.getAxis("top").linkToView(self.overlay_view)
        self.overlay_view.setYLink(item)
        item.vb.sigResized.connect(self._sync_views)
        self.overlay_curve = pg.PlotDataItem([0, 1], [0], stepMode="center", fillLevel=0,
                                             brush=(230, 81, 0, 60), pen=pg.mkPen("#e65100", width=1.5))
        self.overlay_view.addItem(self.overlay_curve)
        self.overlay_curve.hide()
        self.overlay = None
        self.region = pg.LinearRegionItem(brush=(255, 165, 0, 40))
        self.region.setZValue(10)
        self.region.hide()
        self.addItem(self.region)
        self.log = False
        self.hist = None
        self.title = ""

    def set_histogram(self, hist, title: str = "") -> None:
        self.hist, self.title = hist, title
        self._draw()

    def set_log(self, log: bool) -> None:
        self.log = log
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
        return np.log10(np.maximum(counts, 1.0)) if self.log else counts

    def _draw(self) -> None:
        h = self.hist
        if h is None or len(h.counts) == 0:
            self.curve.setData([0, 1], [0])
            self.overlay_curve.hide()
            return
        self.setLabel("left", "log10 count" if self.log else "count")
        self.curve.setData(np.asarray(h.edges, dtype=np.float64), self._counts(h))
        item = self.getPlotItem()
        if self.overlay is not None and len(self.overlay.counts):
            self.overlay_curve.setData(np.asarray(self.overlay.edges, dtype=np.float64),
                                       self._counts(self.overlay))
            self.overlay_curve.show()
            item.showAxis("top")
            item.getAxis("top").setLabel(f"{self.overlay_name} value", color="#e65100")
            item.getAxis("top").setPen("#e65100")
            self.overlay_view.enableAutoRange(axis=pg.ViewBox.XAxis)
            self.setTitle(f"{self.title}  ·  <span style='color:#e65100'>{self.overlay_name} "
                          "(top axis)</span>")
            counts = max(float(self._counts(h).max()), float(self._counts(self.overlay).max()))
            self.enableAutoRange(axis=pg.ViewBox.XAxis)
            self.setYRange(0, counts * 1.05)
        else:
            self.overlay_curve.hide()
            item.hideAxis("top")
            self.setTitle(self.title)
            self.enableAutoRange()
        self._sync_views()

    def show_region(self, show: bool) -> None:
        if show and self.hist is not None:
            lo, hi = float(self.hist.edges[0]), float(self.hist.edges[-1])
            pad = (hi - lo) * 0.25
            self.region.setRegion((lo + pad, hi - pad))
        self.region.setVisible(show)

    def chosen_range(self) -> tuple[float, float]:
        lo, hi = self.region.getRegion()
        return float(lo), float(hi)
