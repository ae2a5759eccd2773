"""The Progression view: how every layer moves across a run's checkpoints
(analysis/progression.py), in a window of its own.

Left, the layers with their status (stalled layers grey, exploded ones red) and latest
numbers, sortable and filterable. Right, one curve per layer over the checkpoints for the
L2 norm, the relative change from the previous checkpoint and (when the files hold Adam
state) the next update's size; the selected layer is drawn bold. Below, the selected
tensor's histogram in every checkpoint as a ridgeline plot. Everything is computed in the
background with a progress bar and Cancel.
"""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..analysis.tensor_diff import Meter
from . import settings as cfg
from . import split_window

FLOOR = 1e-10  # zero changes are drawn here on the log axes
MAX_CURVES = 400
STATUS_COLORS = {"ok": None, "stalled": "#757575", "exploded": "#d32f2f"}


class NumItem(QTableWidgetItem):
    def __init__(self, value):
        super().__init__("" if value is None else f"{value:.3e}")
        self.value = -1.0 if value is None else float(value)
        self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)

    def __lt__(self, other):
        return self.value < getattr(other, "value", -1.0)


def _last(values):
    return next((v for v in reversed(values) if v is not None), None)


class ProgressionView(QWidget):
    def __init__(self, window, paths: list[str], bins: int = 64):
        super().__init__(window, Qt.Window)
        self.main, self.paths, self.bins = window, list(paths), bins
        self.setWindowTitle(
            f"Progression of {len(paths)} checkpoints "
            f"({os.path.basename(os.path.dirname(paths[0])) or paths[0]})"
        )
        self.meter = Meter()
        self.result = None
        self.ridge = None
        self.ridge_key = None
        self.done = self.cancelled = False
        self.curves: dict[str, list] = {"norm": [], "rel_change": [], "adam_update": []}

        self.title = QLabel(
            f"{len(paths)} checkpoints: "
            + ", ".join(os.path.basename(p) for p in paths[:8])
            + (" …" if len(paths) > 8 else "")
        )
        self.title.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.summary = QLabel("Reading the checkpoints…")
        split_window.lay_out(
            self,
            self._build_table(),
            self._build_plots(),
            [590, 810],
            "progression_geometry",
            (1400, 900),
            self._tick,
        )

    def _build_table(self) -> QWidget:
        """The layer filter and the table of layers."""
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter layers")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._refilter)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Layer", "Status", "L2 norm", "Rel. change", "Adam update"])
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        for col, w in enumerate((170, 150, 76, 76, 76)):
            self.table.setColumnWidth(col, w)
        self.table.currentCellChanged.connect(self._row_selected)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.filter)
        ll.addWidget(self.table, 1)
        return left

    def _build_plots(self) -> QSplitter:
        """The per-checkpoint curves of the selected layer, and its histograms across them."""
        self.plots = {}
        plots = QWidget()
        pl = QVBoxLayout(plots)
        pl.setContentsMargins(0, 0, 0, 0)
        for field, title, log in (
            ("norm", "L2 norm", False),
            ("rel_change", "relative change from the previous checkpoint", True),
            ("adam_update", "Adam update RMS / weight RMS", True),
        ):
            p = pg.PlotWidget(title=title)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setLogMode(y=log)
            p.setMinimumHeight(150)
            self.plots[field] = p
            pl.addWidget(p)
        self.ridge_plot = pg.PlotWidget(title="histogram across checkpoints (select a layer)")
        self.ridge_plot.setMinimumHeight(220)
        self.ridge_plot.setLabel("bottom", "value")
        right = QSplitter(Qt.Vertical)
        right.addWidget(plots)
        right.addWidget(self.ridge_plot)
        right.setSizes([520, 300])
        return right

    def start(self) -> None:
        from ..analysis.progression import progression

        self.timer.start()
        self.main.runner.submit(
            lambda paths, meter: progression(paths, None, self.bins, meter),
            self.paths,
            self.meter,
            on_done=self._finished,
            on_fail=self._failed,
            label="progression",
        )

    def _tick(self) -> None:
        if self.meter.total:
            self.progress.setValue(int(1000 * min(self.meter.done, self.meter.total) / self.meter.total))

    def cancel(self) -> None:
        self.cancelled = True
        self.meter.cancelled = True

    def closeEvent(self, event) -> None:
        self.cancel()
        s = cfg.settings()
        s.setValue("progression_geometry", self.saveGeometry())
        s.sync()
        super().closeEvent(event)

    def _failed(self, message: str) -> None:
        self.cancelled = self.cancelled or bool(getattr(self.meter, "cancelled", False))
        self.timer.stop()
        self.cancel_button.setEnabled(False)
        self.summary.setText("Cancelled." if self.cancelled else f"Cannot follow the run: {message}")
        if not self.cancelled:
            self.main.show_error("Progression", message)

    # ---- results ---------------------------------------------------------------------------
    def labels(self) -> list[str]:
        return [f"epoch {f['epoch']}" if f["epoch"] is not None else f["name"] for f in self.result.files]

    def _finished(self, result) -> None:
        self.timer.stop()
        self.progress.setValue(1000)
        self.cancel_button.setEnabled(False)
        self.done = True
        self.result = result
        flagged = [c for c in result.layers if c.status != "ok"]
        self.summary.setText(
            f"{len(result.layers)} layers over {len(result.files)} checkpoints; "
            f"{sum(c.status == 'stalled' for c in result.layers)} stopped changing (grey), "
            f"{sum(c.status == 'exploded' for c in result.layers)} blew up (red). "
            "Select a layer: its curves turn black and its histograms appear below"
            + (
                f". Curves drawn for the first {MAX_CURVES} layers and every flagged one."
                if len(result.layers) > MAX_CURVES
                else ""
            )
        )
        self._fill_table()
        self._draw_curves(flagged)

    def _fill_table(self) -> None:
        t = self.table
        t.setSortingEnabled(False)
        t.setRowCount(len(self.result.layers))
        for i, c in enumerate(self.result.layers):
            key = QTableWidgetItem(c.key)
            key.setData(Qt.UserRole, c.key)
            status = c.status if c.since is None else f"{c.status} since {self.labels()[c.since]}"
            items = [
                key,
                QTableWidgetItem(status),
                NumItem(_last(c.norm)),
                NumItem(_last(c.rel_change)),
                NumItem(_last(c.adam_update)),
            ]
            color = STATUS_COLORS.get(c.status)
            for j, it in enumerate(items):
                if color:
                    it.setForeground(QBrush(QColor(color)))
                    if c.status == "exploded":
                        it.setBackground(QBrush(QColor("#ffebee")))
                t.setItem(i, j, it)
        t.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)  # keep the file's order
        t.setSortingEnabled(True)

    def _draw_curves(self, flagged) -> None:
        labels = self.labels()
        x = np.arange(len(labels), dtype=float)
        ticks = [list(zip(x, labels))]
        first = self.result.layers[:MAX_CURVES]
        shown = first + [c for c in flagged if c not in first]
        n = max(1, len(shown))
        for field, plot in self.plots.items():
            plot.clear()
            self.curves[field] = []
            plot.getAxis("bottom").setTicks(ticks)
            has = any(v is not None for c in shown for v in getattr(c, field))
            plot.setVisible(has or field != "adam_update")
            if not has:
                continue
            for i, c in enumerate(shown):
                ys = np.array([np.nan if v is None else v for v in getattr(c, field)], dtype=float)
                if field != "norm":
                    ys = np.where(np.isfinite(ys), np.maximum(ys, FLOOR), np.nan)
                if not np.isfinite(ys).any():
                    continue  # e.g. no Adam state for a frozen layer: no curve
                color = STATUS_COLORS.get(c.status) or pg.intColor(i, hues=max(n, 8), alpha=150)
                width = 2.5 if c.status == "exploded" else 1.2
                style = Qt.DashLine if c.status == "stalled" else Qt.SolidLine
                item = plot.plot(
                    x,
                    ys,
                    pen=pg.mkPen(color, width=width, style=style),
                    connect="finite",
                    symbol="o",
                    symbolSize=4,
                    symbolBrush=color,
                    symbolPen=None,
                )
                item.layer = c.key
                item.base_pen = pg.mkPen(color, width=width, style=style)
                self.curves[field].append(item)

    def select_layer(self, key: str) -> bool:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text() == key:
                self.table.setCurrentCell(r, 0)
                return True
        return False

    def _refilter(self, text: str) -> None:
        text = text.strip().lower()
        for r in range(self.table.rowCount()):
            self.table.setRowHidden(r, bool(text) and text not in self.table.item(r, 0).text().lower())

    def _row_selected(self, row, _col, _prow, _pcol) -> None:
        if row < 0 or self.table.item(row, 0) is None:
            return
        key = self.table.item(row, 0).text()
        for items in self.curves.values():
            for it in items:
                it.setPen(pg.mkPen("#000000", width=3) if it.layer == key else it.base_pen)
                it.setZValue(10 if it.layer == key else 0)
        self.ridge_key, self.ridge = key, None
        self.ridge_plot.setTitle(f"{key}: reading its histogram in every checkpoint…")
        from ..analysis.progression import ridgeline

        self.main.runner.submit(
            ridgeline,
            self.paths,
            key,
            self.bins,
            self.meter,
            on_done=lambda h, k=key: self._show_ridge(k, h),
            on_fail=lambda m: self.ridge_plot.setTitle(f"Cannot read {key}: {m}"),
        )

    def _show_ridge(self, key: str, h: dict) -> None:
        if key != self.ridge_key:
            return
        self.ridge = h
        p = self.ridge_plot
        p.clear()
        edges = np.asarray(h["edges"], dtype=float)
        labels = self.labels()
        n = len(h["counts"])
        peak = max((max(c) for c in h["counts"] if c), default=1) or 1
        self.ridge_items = []
        for i, counts in enumerate(h["counts"]):  # the first checkpoint at the top, drawn first
            if counts is None:
                continue
            base = float(n - 1 - i)
            y = base + 1.6 * np.asarray(counts, dtype=float) / peak
            color = pg.intColor(i, hues=max(n, 2), values=1, maxValue=200, alpha=255)
            fill = QColor(color)
            fill.setAlpha(170)
            item = p.plot(
                edges,
                y,
                stepMode="center",
                fillLevel=base,
                brush=fill,
                pen=pg.mkPen(color.darker(130), width=1),
            )
            self.ridge_items.append(item)
        p.getAxis("left").setTicks([[(float(n - 1 - i), labels[i]) for i in range(n)]])
        p.setTitle(f"{key}: histogram in each checkpoint (common range, {len(edges) - 1} bins)")
