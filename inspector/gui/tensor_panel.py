"""The tensor panel: metadata, statistics, histogram, values and heatmap of one tensor.

Selecting a tensor shows its metadata at once and a histogram of a fixed-size random
sample (labelled as a preview); exact statistics and counts replace it when the
background job finishes. Results of a tensor that is no longer selected are dropped.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QTableView, QTabWidget,
                               QVBoxLayout, QWidget)

from ..analysis.decode import sample
from ..analysis.histogram import histogram, histogram_of_values
from ..analysis.quantized import describe as describe_quantizer, is_quantized
from ..analysis.quantized import values as quantized_values
from ..analysis.stats import tensor_stats
from ..analysis.tensor_views import default_slice, heatmap, parse_slice, values_2d
from ..ops.tensor_export import export_histogram_csv, export_npy
from ..formats.errors import CheckpointError
from ..present import human_bytes, shape_text
from .histogram_plot import HistogramPlot

STAT_FIELDS = ["numel", "min", "max", "mean", "std", "l2_norm", "zeros", "nan", "inf"]


def compute_preview(ck, t, bins, raw=False):
    arr, dtype = quantized_values(ck, t, raw)  # quantized: real values unless raw
    values = sample(arr, dtype, size=1 << 20)
    fin = values[np.isfinite(values)]
    if fin.size == 0:
        return None
    return histogram_of_values(fin, bins=bins)


def compute_exact(ck, t, bins, rng, raw=False):
    arr, dtype = quantized_values(ck, t, raw)
    st = tensor_stats(arr, dtype)
    if rng is None and st.min is not None:
        rng = (st.min, st.max)
    return st, histogram(arr, dtype, bins=bins, range=rng)


class ArrayTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.values = np.zeros((0, 0))

    def set_values(self, values: np.ndarray) -> None:
        self.beginResetModel()
        self.values = values
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self.values.shape[0]

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self.values.shape[1]

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and index.isValid():
            v = self.values[index.row(), index.column()]
            return f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        return str(section) if role == Qt.DisplayRole else None


class TensorPanel(QWidget):
    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.generation = 0
        self.file = None
        self.node = None
        self.exact = None
        self.range = None
        self.error_hook = None  # set by the main window: shows one-line messages

        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.stat_labels = {k: QLabel("…") for k in STAT_FIELDS}
        grid = QGridLayout()
        for i, k in enumerate(STAT_FIELDS):
            name = QLabel(k.replace("_", " "))
            name.setStyleSheet("color:#666")
            grid.addWidget(name, i // 3, (i % 3) * 2)
            self.stat_labels[k].setTextInteractionFlags(Qt.TextSelectableByMouse)
            grid.addWidget(self.stat_labels[k], i // 3, (i % 3) * 2 + 1)
        self.status = QLabel()
        self.status.setStyleSheet("color:#666")

        self.plot = HistogramPlot()
        self.bins = QSpinBox()
        self.bins.setRange(1, 10000)
        self.bins.setValue(100)
        self.bins.setPrefix("bins ")
        self.bins.editingFinished.connect(self._recompute)
        self.log = QCheckBox("log counts")
        self.log.toggled.connect(self.plot.set_log)
        self.select = QCheckBox("select range")
        self.select.toggled.connect(self.plot.show_region)
        apply_range = QPushButton("Count in range")
        apply_range.clicked.connect(self._apply_range)
        reset_range = QPushButton("Full range")
        reset_range.clicked.connect(self._reset_range)
        self.overlay = QComboBox()
        self.overlay.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.overlay.setToolTip("Overlay the histogram of this weight's optimizer state")
        self.overlay.currentIndexChanged.connect(self._overlay_changed)
        self.raw = QCheckBox("stored integers")
        self.raw.setToolTip("Quantized tensor: show the stored integers instead of the real "
                            "values (q - zero_point) × scale")
        self.raw.toggled.connect(self._raw_toggled)
        export_csv = QPushButton("Export CSV…")
        export_csv.clicked.connect(self._export_csv)
        export_np = QPushButton("Export .npy…")
        export_np.clicked.connect(self._export_npy)
        controls = QHBoxLayout()
        for w in (self.bins, self.log, self.select, apply_range, reset_range, self.raw):
            controls.addWidget(w)
        controls.addStretch(1)
        more = QHBoxLayout()
        more.addWidget(self.overlay)
        more.addStretch(1)
        more.addWidget(export_csv)
        more.addWidget(export_np)
        hist_tab = QWidget()
        hl = QVBoxLayout(hist_tab)
        hl.addWidget(self.plot, 1)
        hl.addLayout(controls)
        hl.addLayout(more)

        self.slice_edit = QLineEdit()
        self.slice_edit.setPlaceholderText("slice, e.g. 0, :, :")
        self.slice_edit.returnPressed.connect(self._show_values)
        self.table_model = ArrayTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        values_tab = QWidget()
        vl = QVBoxLayout(values_tab)
        form = QFormLayout()
        form.addRow("Slice", self.slice_edit)
        vl.addLayout(form)
        vl.addWidget(self.table, 1)

        self.heat = pg.PlotWidget()
        self.heat_img = pg.ImageItem()
        self.heat.addItem(self.heat_img)
        self.heat.invertY(True)
        self.heat.setAspectLocked(False)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False)
        self.colorbar.setImageItem(self.heat_img, insert_in=self.heat.getPlotItem())

        self.tabs = QTabWidget()
        self.tabs.addTab(hist_tab, "Histogram")
        self.tabs.addTab(values_tab, "Values")
        self.tabs.addTab(self.heat, "Heatmap")
        self.tabs.currentChanged.connect(self._tab_changed)

        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.meta)
        lay.addLayout(grid)
        lay.addWidget(self.status)
        lay.addWidget(self.tabs, 1)

    # ---- selection -------------------------------------------------------------------
    def show_tensor(self, open_file, node) -> None:
        self.generation += 1
        self.file, self.node = open_file, node
        self.exact, self.range = None, None
        self.select.setChecked(False)
        t = node.value
        self.raw.blockSignals(True)
        self.raw.setChecked(False)
        self.raw.blockSignals(False)
        self.raw.setVisible(is_quantized(t))
        self.title.setText(f"<b>{node.path}</b> &nbsp; {t.type_name} {shape_text(t.shape)} "
                           f"<b>{t.dtype.name}</b> on {t.device}")
        bits = [f"{t.numel:,} elements", human_bytes(t.nbytes), f"stride {t.stride}",
                f"storage offset {t.storage_offset}"]
        if t.storage is not None:
            bits.append(f"storage {t.storage.key} ({t.storage.numel:,} × {t.storage.dtype.name})")
        if t.quantization:
            bits.append("quantized: " + ", ".join(f"{k} {v}" for k, v in describe_quantizer(t).items()))
        if t.requires_grad:
            bits.append("requires_grad")
        if t.tensor_type:
            bits.append(f"subclass {t.tensor_type}")
        if t.layout == "dcp":
            chunks = t.parts["chunks"]
            files = sorted({c["file"] for c in chunks if c["file"]})
            bits.append(f"{len(chunks)} chunks in {', '.join(files)}: " + "; ".join(
                f"at {c['offsets']} size {c['sizes']}" for c in chunks[:6]))
        self.meta.setText(" · ".join(bits))
        for lab in self.stat_labels.values():
            lab.setText("…")
        self.plot.set_histogram(None)
        self.table_model.set_values(np.zeros((0, 0)))
        self.heat_img.clear()
        self.slice_edit.setText(default_slice(t.shape))
        self._fill_overlay(open_file, node)
        self.status.setText("reading…")
        self.status.setStyleSheet("color:#666")
        gen = self.generation
        self.runner.submit(compute_preview, open_file.ck, t, self.bins.value(), False,
                           on_done=lambda h: self._preview_done(gen, h),
                           on_fail=lambda m: self._failed(gen, m), label="preview")
        self._recompute()
        self._tab_changed(self.tabs.currentIndex())

    def _recompute(self) -> None:
        if self.node is None:
            return
        gen = self.generation
        self.runner.submit(compute_exact, self.file.ck, self.node.value, self.bins.value(), self.range,
                           self.raw.isChecked(),
                           on_done=lambda r: self._exact_done(gen, r),
                           on_fail=lambda m: self._failed(gen, m), label="statistics")

    def _raw_toggled(self, _on: bool) -> None:
        """Real values <-> stored integers: a new range, new statistics."""
        self.range = None
        self.generation += 1
        self._recompute()

    def _preview_done(self, gen, hist) -> None:
        if gen != self.generation or self.exact is not None or hist is None:
            return
        self.plot.set_histogram(hist, "preview from a 1M-value random sample…")
        self.status.setText("preview from a random sample; exact counts on the way")

    def _exact_done(self, gen, result) -> None:
        if gen != self.generation:
            return
        st, hist = result
        self.exact = (st, hist)
        data = st.to_json()
        for k, lab in self.stat_labels.items():
            v = data.get(k)
            lab.setText("—" if v is None else (f"{v:.6g}" if isinstance(v, float) else f"{v:,}"))
        total = int(hist.counts.sum())
        extra = [f"{n} {name}" for name, n in (("NaN", hist.nan), ("+Inf", hist.posinf),
                 ("-Inf", hist.neginf), ("below range", hist.below), ("above range", hist.above)) if n]
        kind = ("" if not is_quantized(self.node.value) else
                "stored integers · " if self.raw.isChecked() else "real values (q − zero point) × scale · ")
        self.status.setText(f"{kind}exact: {total:,} values in {len(hist.counts)} bins"
                            + (" + " + ", ".join(extra) if extra else ""))
        self.plot.set_histogram(hist, f"exact counts ({len(hist.counts)} bins)")

    def _failed(self, gen, message) -> None:
        if gen != self.generation:
            return
        self.status.setText(f"cannot read this tensor: {message}")
        self.status.setStyleSheet("color:#c62828")

    # ---- optimizer state overlay ------------------------------------------------------------
    def _fill_overlay(self, open_file, node) -> None:
        self.overlay.blockSignals(True)
        self.overlay.clear()
        self.overlay.addItem("no overlay", None)
        for m in getattr(open_file, "maps", []):
            slot = m.by_param_cached().get(id(node))
            if slot is not None:
                for name, n in slot.state.items():
                    if n.kind == "tensor" and n.value.numel == node.value.numel:
                        self.overlay.addItem(f"overlay {name}", n)
        self.overlay.setVisible(self.overlay.count() > 1)
        self.overlay.setCurrentIndex(0)
        self.overlay.blockSignals(False)
        self.plot.set_overlay(None)

    def _overlay_changed(self, i: int) -> None:
        state = self.overlay.itemData(i)
        if state is None or self.file is None:
            self.plot.set_overlay(None)
            return
        gen, name = self.generation, self.overlay.itemText(i).replace("overlay ", "")
        self.runner.submit(compute_exact, self.file.ck, state.value, self.bins.value(), None,
                           on_done=lambda r: gen == self.generation and self.plot.set_overlay(r[1], name),
                           on_fail=lambda m: self._failed(gen, m), label="overlay")

    # ---- range, values, heatmap, export -----------------------------------------------------
    def _apply_range(self) -> None:
        if self.plot.region.isVisible():
            self.range = self.plot.chosen_range()
            self._recompute()

    def _reset_range(self) -> None:
        self.range = None
        self.select.setChecked(False)
        self._recompute()

    def _tab_changed(self, i: int) -> None:
        if self.node is None:
            return
        if i == 1:
            self._show_values()
        elif i == 2:
            self._show_heatmap()

    def _array(self):
        return self.file.ck.array(self.node.value)

    def _show_values(self) -> None:
        t = self.node.value
        try:
            idx = parse_slice(self.slice_edit.text(), t.shape)
            self.table_model.set_values(values_2d(self._array(), t.dtype, idx))
        except (ValueError, CheckpointError) as exc:
            self.status.setText(f"values: {exc}")

    def _show_heatmap(self) -> None:
        t = self.node.value
        try:
            img = heatmap(self._array(), t.dtype)
        except CheckpointError as exc:
            self.status.setText(f"heatmap: {exc}")
            return
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.heat_img.setImage(np.nan_to_num(img, nan=lo, posinf=hi, neginf=lo).T,
                               levels=(lo, hi if hi > lo else lo + 1))
        self.colorbar.setLevels((lo, hi if hi > lo else lo + 1))

    def _export_csv(self) -> None:
        if self.exact is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export histogram", "histogram.csv", "CSV (*.csv)")
        if path:
            export_histogram_csv(self.exact[1], path)
            self.status.setText(f"histogram written to {path}")

    def _export_npy(self) -> None:
        if self.node is None:
            return
        name = self.node.name.replace("/", "_") + ".npy"
        path, _ = QFileDialog.getSaveFileName(self, "Export tensor", name, "NumPy (*.npy)")
        if not path:
            return
        t = self.node.value
        self.status.setText("writing…")
        self.runner.submit(export_npy, self.file.ck.source(t), t.dtype, path,
                           on_done=lambda p: self.status.setText(f"tensor written to {p}"),
                           on_fail=lambda m: self.status.setText(f"export failed: {m}"),
                           label="export")
