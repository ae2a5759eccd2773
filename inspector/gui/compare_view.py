"""The Compare view: two checkpoints side by side (analysis/checkpoint_diff.py).

A window of its own: the union of the tensor keys with a status icon and the change
columns, sortable and filterable; the numbers arrive row by row from a background job
(progress bar, Cancel at any point). Selecting a tensor shows both histograms overlaid on
one axis, the histogram of A - B, and both statistics side by side (compare_detail.py).
"""

from __future__ import annotations

import os
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ..analysis.tensor_diff import Meter
from ..formats.errors import CheckpointError
from . import settings as cfg
from . import split_window
from .diff_model import LABELS, STAT_ROWS, DiffFilter, DiffModel, Group, fmt


class CompareView(QWidget):
    """`start()` runs the comparison; `done` is True when every tensor was compared."""

    def __init__(self, window, path_a: str, path_b: str, atol: float = 0.0, rtol: float = 0.0):
        super().__init__(window, Qt.Window)
        self.main = window
        self.path_a, self.path_b, self.atol, self.rtol = path_a, path_b, atol, rtol
        self.setWindowTitle(f"Compare {os.path.basename(path_a)} with {os.path.basename(path_b)}")
        self.meter = Meter()
        self.result = None
        self.finished: list = []
        self.done = self.cancelled = False
        self.error: str | None = None
        self.detail = None
        self.detail_row = None
        self.plan_ready = None
        self.detail_meter = None

        self.title = QLabel(f"<b>A</b> {escape(path_a)}<br><b>B</b> {escape(path_b)}")
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary = QLabel("Reading the two files…")
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        split_window.lay_out(
            self,
            self._build_list(),
            self._build_detail(),
            [830, 570],
            "compare_geometry",
            (1400, 850),
            self._poll,
        )

    def _build_list(self) -> QWidget:
        """The filter row and the table of compared tensors."""
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter keys (substring or regular expression)")
        self.filter.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItem("all statuses", "")
        for s in ("changed", "equal", "identical", "shape", "added", "removed", "error"):
            self.status_filter.addItem(LABELS[s], s)
        self.filter.textChanged.connect(self._refilter)
        self.status_filter.currentIndexChanged.connect(self._refilter)
        self.grouped = QCheckBox("group by module")
        self.grouped.setChecked(cfg.settings().value("compare_grouped", False) in (True, "true"))

        self.model = DiffModel(self)
        self.model.grouped = self.grouped.isChecked()
        self.grouped.toggled.connect(self._set_grouped)
        self.proxy = DiffFilter(self)
        self.proxy.setSourceModel(self.model)
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setRootIsDecorated(self.model.grouped)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.selectionModel().currentChanged.connect(self._selected)
        for col, w in enumerate((290, 80, 80, 70, 78, 72, 80, 62)):
            self.tree.setColumnWidth(col, w)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.filter, 1)
        row.addWidget(self.status_filter)
        row.addWidget(self.grouped)
        ll.addLayout(row)
        ll.addWidget(self.tree, 1)
        return left

    def _build_detail(self) -> QWidget:
        """The selected tensor: both histograms, the histogram of A − B, statistics side by side."""
        self.hist_plot = pg.PlotWidget()
        self.hist_plot.addLegend(offset=(10, 10))
        self.hist_plot.setLabel("bottom", "value")
        self.hist_plot.setLabel("left", "count")
        self.curve_a = self.hist_plot.plot(
            [0, 1],
            [0],
            stepMode="center",
            fillLevel=0,
            name="A",
            brush=(66, 133, 244, 90),
            pen=pg.mkPen("#1a73e8", width=1.5),
        )
        self.curve_b = self.hist_plot.plot(
            [0, 1],
            [0],
            stepMode="center",
            fillLevel=0,
            name="B",
            brush=(230, 81, 0, 70),
            pen=pg.mkPen("#e65100", width=1.5),
        )
        self.diff_plot = pg.PlotWidget()
        self.diff_plot.setLabel("bottom", "A − B")
        self.diff_plot.setLabel("left", "count")
        self.curve_d = self.diff_plot.plot(
            [0, 1],
            [0],
            stepMode="center",
            fillLevel=0,
            brush=(120, 120, 120, 110),
            pen=pg.mkPen("#424242", width=1.2),
        )
        self.stats = QTableWidget(len(STAT_ROWS), 2)
        self.stats.setHorizontalHeaderLabels(["A", "B"])
        self.stats.setVerticalHeaderLabels(STAT_ROWS)
        self.stats.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.stats.verticalHeader().setDefaultSectionSize(22)
        self.stats.setColumnWidth(0, 105)
        self.stats.setColumnWidth(1, 105)
        self.stats.setMinimumWidth(250)
        self.detail_label = QLabel("Select a tensor to see both histograms and the histogram of A − B.")
        self.detail_label.setWordWrap(True)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.detail_label)
        rl.addWidget(self.hist_plot, 3)
        bottom = QHBoxLayout()
        bottom.addWidget(self.diff_plot, 3)
        bottom.addWidget(self.stats, 2)
        rl.addLayout(bottom, 2)
        return right

    # ---- the comparison --------------------------------------------------------------------
    def start(self) -> None:
        from ..analysis.checkpoint_diff import plan_diff, run_diff
        from ..analysis.inspection import read_checkpoint

        meter, finished = self.meter, self.finished

        def work(path_a, path_b, atol, rtol):
            a = b = None
            try:
                a, b = read_checkpoint(path_a), read_checkpoint(path_b)
                plan = plan_diff(a, b)
                self.plan_ready = plan
                return run_diff(a, b, plan, atol, rtol, meter, on_row=finished.append)
            finally:
                for ck in (a, b):
                    if ck is not None:
                        ck.close()

        self.timer.start()
        self.main.runner.submit(
            work,
            self.path_a,
            self.path_b,
            self.atol,
            self.rtol,
            on_done=self._finished,
            on_fail=self._failed,
            label="compare",
        )

    def _poll(self) -> None:
        plan = getattr(self, "plan_ready", None)
        if plan is not None and self.result is None:
            self.result = plan
            self.model.set_rows(plan.rows)
            self.tree.sortByColumn(4, Qt.DescendingOrder)
        while self.finished and self.result is not None:
            r = self.finished.pop(0)
            self.model.row_changed(r)
        if self.meter.total:
            self.progress.setValue(int(1000 * min(self.meter.done, self.meter.total) / self.meter.total))
        if self.result is not None and not self.done:
            self.summary.setText(self._summary_text(final=False))

    def _summary_text(self, final: bool) -> str:
        r = self.result
        text = r.summary()
        if r.rule:
            text += f"  ·  keys aligned with the rule {r.rule}"
        if r.structure:
            text += (
                "<br>Other differences: "
                + "; ".join(
                    escape(
                        f"/{e['path']} {'–' if e['a'] is None else e['a']} → "
                        f"{'–' if e['b'] is None else e['b']}"
                    )
                    for e in r.structure[:6]
                )
                + (" …" if len(r.structure) > 6 else "")
            )
        if not final:
            text = "Comparing… " + text
        return text

    def _finished(self, result) -> None:
        self._poll()
        self.done = True
        self.timer.stop()
        self.progress.setValue(1000)
        self.cancel_button.setEnabled(False)
        self.summary.setText(self._summary_text(final=True))
        self.main.statusBar().showMessage(f"Compared: {result.summary()}", 10000)

    def _failed(self, message: str) -> None:
        self._poll()
        self.timer.stop()
        self.cancel_button.setEnabled(False)
        self.error = message
        self.cancelled = self.cancelled or bool(getattr(self.meter, "cancelled", False))
        self.model.pending_label = "not compared"
        self.model.publish_all()  # every row compared so far, the rest "not compared"
        self.summary.setText(
            ("Cancelled. " if self.cancelled else f"Cannot compare: {escape(message)}. ")
            + (self._summary_text(final=True) if self.result is not None else "")
        )
        if not self.cancelled:
            self.main.show_error("Compare", message)

    def cancel(self) -> None:
        self.cancelled = True
        self.meter.cancelled = True
        if self.detail_meter is not None:
            self.detail_meter.cancelled = True

    def closeEvent(self, event) -> None:
        self.cancel()
        s = cfg.settings()
        s.setValue("compare_geometry", self.saveGeometry())
        s.sync()
        super().closeEvent(event)

    def _set_grouped(self, on: bool) -> None:
        self.model.set_grouped(on)
        self.tree.setRootIsDecorated(on)
        if on and (self.proxy.text or self.proxy.status):
            self.tree.expandAll()
        s = cfg.settings()
        s.setValue("compare_grouped", on)
        s.sync()

    def _refilter(self, *_):
        self.proxy.set_filter(self.filter.text(), self.status_filter.currentData())

    # ---- one tensor ------------------------------------------------------------------------
    def select_key(self, key: str) -> bool:
        stack = [self.proxy.index(i, 0) for i in range(self.proxy.rowCount())]
        while stack:
            idx = stack.pop(0)
            row = self.proxy.row_of(idx)
            if not isinstance(row, Group) and key in (row.key, row.key_b):
                self.tree.scrollTo(idx)
                self.tree.setCurrentIndex(idx)
                return True
            stack.extend(self.proxy.index(i, 0, idx) for i in range(self.proxy.rowCount(idx)))
        return False

    def _selected(self, current, _previous) -> None:
        if not current.isValid():
            return
        row = self.proxy.row_of(current)
        if isinstance(row, Group):
            return
        self.detail_row, self.detail = row, None
        if row.node_a is None or row.node_b is None:
            side = "A" if row.node_a is not None else "B"
            self.detail_label.setText(f"<b>{escape(row.key)}</b> is only in {side}.")
            return
        self.detail_label.setText(f"<b>{escape(row.key)}</b>: computing histograms…")
        from ..analysis.checkpoint_diff import tensor_keys
        from ..analysis.compare_detail import pair_detail
        from ..analysis.inspection import read_checkpoint

        def work(path_a, path_b, key_a, key_b, meter):
            a, b = read_checkpoint(path_a), read_checkpoint(path_b)
            try:
                na, nb = tensor_keys(a)[0].get(key_a), tensor_keys(b)[0].get(key_b)
                if na is None or nb is None:
                    raise CheckpointError("the files changed on disk since they were compared")
                return pair_detail(a, b, na, nb, bins=100, meter=meter)
            finally:
                a.close()
                b.close()

        if self.detail_meter is not None:  # the previous tensor's histograms are not wanted
            self.detail_meter.cancelled = True
        self.detail_meter = meter = Meter()
        self.main.runner.submit(
            work,
            self.path_a,
            self.path_b,
            row.key,
            row.key_b or row.key,
            meter,
            on_done=lambda d, r=row: self._show_detail(r, d),
            on_fail=lambda m, r=row: self._detail_failed(r, m),
        )

    def _detail_failed(self, row, message: str) -> None:
        if row is self.detail_row:
            self.detail_label.setText(escape(f"Cannot read the tensors: {message}"))

    def _show_detail(self, row, d) -> None:
        if row is not self.detail_row:
            return
        self.detail = d
        self.curve_a.setData(np.asarray(d.hist_a.edges, float), d.hist_a.counts.astype(float))
        self.curve_b.setData(np.asarray(d.hist_b.edges, float), d.hist_b.counts.astype(float))
        if d.hist_diff is not None:
            self.curve_d.setData(np.asarray(d.hist_diff.edges, float), d.hist_diff.counts.astype(float))
        else:
            self.curve_d.setData([0, 1], [0])
        for col, st in enumerate((d.stats_a, d.stats_b)):
            vals = [st.numel, st.min, st.max, st.mean, st.std, st.l2, st.zeros, st.nan, st.inf]
            for i, v in enumerate(vals):
                text = "" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:.6g}")
                self.stats.setItem(i, col, QTableWidgetItem(text))
        diff = row.diff
        extra = ""
        if diff is not None and not diff.identical:
            extra = (
                f": relative change {diff.rel_l2:.3e}, cosine {fmt(diff.cosine, '.6f')}, "
                f"max |Δ| {diff.max_abs:.3e}, {diff.frac_changed:.2%} of elements changed"
            )
        elif diff is not None:
            extra = ": identical, bit for bit"
        self.detail_label.setText(f"<b>{escape(row.key)}</b>{extra}")
