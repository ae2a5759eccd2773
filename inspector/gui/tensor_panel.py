"""The tensor panel: metadata, statistics, histogram, values and heatmap of one tensor.

Selecting a tensor shows its metadata at once and a histogram of a fixed-size random
sample (labelled as a preview); exact statistics and counts replace it when the
background job finishes. Results of a tensor that is no longer selected are dropped.
Bins follow `analysis.bins` unless the user sets a number; a scalar or a tiny tensor is
listed instead of binned; 1-D tensors get a line plot and a paged column of values.
`clear()` empties every part when the file shown is closed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..analysis.bins import LIST_VALUES_UP_TO, auto_bins, integer_valued
from ..analysis.decode import decode, sample
from ..analysis.histogram import histogram, histogram_of_values
from ..analysis.quantized import describe as describe_quantizer
from ..analysis.quantized import is_quantized
from ..analysis.quantized import values as quantized_values
from ..analysis.stats import tensor_stats
from ..analysis.tensor_views import default_slice
from ..formats.errors import CheckpointError
from ..ops.tensor_export import export_histogram_csv, export_npy
from ..present import human_bytes, shape_text
from . import theme
from .histogram_plot import HistogramPlot
from .tensor_values import PAGE, TensorViewsMixin

STAT_FIELDS = ["numel", "min", "max", "mean", "std", "l2_norm", "zeros", "nan", "inf"]
AUTO = 0  # the bins spin box's "auto" value


def compute_preview(ck, t, bins, raw=False):
    arr, dtype = quantized_values(ck, t, raw)  # quantized: real values unless raw
    values = sample(arr, dtype, size=1 << 20)
    fin = values[np.isfinite(values)]
    if fin.size == 0:
        return None
    rng = None
    if bins == AUTO:
        bins, rng = auto_bins(t.numel, dtype, float(fin.min()), float(fin.max()))
    return histogram_of_values(fin, bins=bins, range=rng)


def compute_exact(ck, t, bins, rng, raw=False):
    arr, dtype = quantized_values(ck, t, raw)  # quantized: real values unless raw
    st = tensor_stats(arr, dtype)
    if bins == AUTO:
        bins, auto_range = auto_bins(t.numel, dtype, st.min, st.max)
        if rng is None:
            rng = auto_range
    if rng is None and st.min is not None:
        rng = (st.min, st.max)
    return st, histogram(arr, dtype, bins=bins, range=rng)


def small_values(ck, t) -> np.ndarray:
    """All values of a tiny tensor, decoded (shown instead of a histogram)."""
    arr = np.ascontiguousarray(ck.array(t)).reshape(-1)
    return decode(arr, t.dtype)


class TensorPanel(TensorViewsMixin, QWidget):
    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.generation = 0
        self.file = None
        self.node = None
        self.exact = None
        self.range = None
        grid = self._build_header()
        hist_tab = self._build_histogram_tab()
        values_tab, self.picture = self._build_value_tabs()

        self.tabs = QTabWidget()
        self.tabs.addTab(hist_tab, "Histogram")
        self.tabs.addTab(values_tab, "Values")
        self.tabs.addTab(self.picture, "Heatmap")
        self.tabs.currentChanged.connect(self._tab_changed)

        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.meta)
        lay.addLayout(grid)
        lay.addWidget(self.status)
        lay.addWidget(self.tabs, 1)
        self.apply_palette()
        self.clear()

    def _build_header(self) -> QGridLayout:
        """Title, shape/dtype line, the statistics grid (returned) and the status line."""
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.stat_labels = {k: QLabel("…") for k in STAT_FIELDS}
        self.stat_names = []
        grid = QGridLayout()
        for i, k in enumerate(STAT_FIELDS):
            name = QLabel(k.replace("_", " "))
            self.stat_names.append(name)
            grid.addWidget(name, i // 3, (i % 3) * 2)
            self.stat_labels[k].setTextInteractionFlags(Qt.TextSelectableByMouse)
            grid.addWidget(self.stat_labels[k], i // 3, (i % 3) * 2 + 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status_error = False
        return grid

    def _build_histogram_tab(self) -> QWidget:
        self.plot = HistogramPlot()
        self.hover = QLabel(" ")
        self.plot.hovered.connect(lambda text: self.hover.setText(text or " "))
        self.small = QLabel()  # a scalar or tiny tensor: its values, not a histogram
        self.small.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.small.setWordWrap(True)
        self.small.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.hist_stack = QStackedWidget()
        self.hist_stack.addWidget(self.plot)
        self.hist_stack.addWidget(self.small)
        self.bins = QSpinBox()
        self.bins.setRange(AUTO, 10000)
        self.bins.setValue(AUTO)
        self.bins.setSpecialValueText("bins: auto")
        self.bins.setPrefix("bins ")
        self.bins.setToolTip(
            "auto: one bin per value for integer dtypes, 2·n^(1/3) bins (8 to 200) "
            "otherwise; type a number to choose"
        )
        self.bins.editingFinished.connect(self._recompute)
        return self._build_histogram_controls()

    def _build_histogram_controls(self) -> QWidget:
        """Below the plot: bins, log, range selection, overlay, raw integers, exports."""
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
        self.raw.setToolTip(
            "Quantized tensor: show the stored integers instead of the real values (q - zero_point) × scale"
        )
        self.raw.toggled.connect(self._raw_toggled)
        self.export_csv = export_csv = QPushButton("Export CSV…")
        export_csv.clicked.connect(self._export_csv)
        self.export_np = export_np = QPushButton("Export .npy…")
        export_np.clicked.connect(self._export_npy)
        self.hist_controls = [
            self.bins,
            self.log,
            self.select,
            apply_range,
            reset_range,
            self.overlay,
            export_csv,
        ]
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
        hl.addWidget(self.hist_stack, 1)
        hl.addWidget(self.hover)
        hl.addLayout(controls)
        hl.addLayout(more)
        return hist_tab

    def apply_palette(self) -> None:
        muted = theme.muted()
        for name in self.stat_names:
            name.setStyleSheet(f"color:{muted}")
        self.hover.setStyleSheet(f"color:{muted}")
        self.status.setStyleSheet(f"color:{theme.error() if self.status_error else muted}")
        for w in (self.heat, self.line):
            theme.style_plot(w)
        self.line_curve.setPen(theme.accent())

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.PaletteChange and hasattr(self, "line_curve"):
            self.apply_palette()

    def set_status(self, text: str, error: bool = False) -> None:
        self.status_error = error
        self.status.setText(text)
        self.status.setStyleSheet(f"color:{theme.error() if error else theme.muted()}")

    def clear(self) -> None:
        """Nothing shown: the file that held the tensor was closed (or nothing selected)."""
        self.generation += 1
        self.file = self.node = self.exact = self.range = None
        self.title.setText("")
        self.meta.setText("")
        for lab in self.stat_labels.values():
            lab.setText("")
        self.set_status("")
        self.hover.setText(" ")
        self.plot.set_histogram(None)
        self.plot.set_overlay(None)
        self.small.setText("")
        self.table_model.set_values(np.zeros((0, 0)))
        self.heat_img.clear()
        self.line_curve.setData([], [])
        self.slice_edit.setText("")
        for w in self.hist_controls + [self.export_np, self.slice_edit, self.prev_page, self.next_page]:
            w.setEnabled(False)

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
        self.title.setText(
            f"<b>{node.path}</b> &nbsp; {t.type_name} {shape_text(t.shape)} "
            f"<b>{t.dtype.name}</b> on {t.device}"
        )
        self.meta.setText(_facts(t))
        self._clear_views(t)
        self._fill_overlay(open_file, node)
        self.set_status("reading…")
        tiny = 0 < t.numel <= LIST_VALUES_UP_TO or len(t.shape) == 0
        self.hist_stack.setCurrentWidget(self.small if tiny else self.plot)
        self.small.setText("")
        if tiny:
            self._show_small(open_file, t)
        gen = self.generation
        self.runner.submit(
            compute_preview,
            open_file.ck,
            t,
            self.bins.value(),
            False,
            on_done=lambda h: self._preview_done(gen, h),
            on_fail=lambda m: self._failed(gen, m),
            label="preview",
        )
        self._recompute()
        self._tab_changed(self.tabs.currentIndex())

    def _clear_views(self, t) -> None:
        """The previous tensor's statistics, histogram, values and picture cleared; the
        slice and the page buttons set for this one."""
        for lab in self.stat_labels.values():
            lab.setText("…")
        for w in self.hist_controls + [self.export_np, self.slice_edit]:
            w.setEnabled(True)
        self.plot.set_histogram(None)
        self.plot.integer = integer_valued(t.dtype)
        self.hover.setText(" ")
        self.table_model.set_values(np.zeros((0, 0)))
        self.heat_img.clear()
        self.line_curve.setData([], [])
        one_d = len(t.shape) == 1
        self.slice_edit.setText(f"0:{min(PAGE, t.shape[0])}" if one_d else default_slice(t.shape))
        self.prev_page.setVisible(one_d)
        self.next_page.setVisible(one_d)
        self.tabs.setTabText(2, "Line plot" if one_d else "Heatmap")
        self.picture.setCurrentWidget(self.line if one_d else self.heat)

    def _recompute(self) -> None:
        if self.node is None:
            return
        gen = self.generation
        self.runner.submit(
            compute_exact,
            self.file.ck,
            self.node.value,
            self.bins.value(),
            self.range,
            self.raw.isChecked(),
            on_done=lambda r: self._exact_done(gen, r),
            on_fail=lambda m: self._failed(gen, m),
            label="statistics",
        )

    def _raw_toggled(self, _on: bool) -> None:
        """Real values <-> stored integers: a new range, new statistics."""
        self.range = None
        self.generation += 1
        self._recompute()

    def _show_small(self, open_file, t) -> None:
        gen = self.generation  # read in the background: the first read may parse the zip directory
        self.runner.submit(
            small_values,
            open_file.ck,
            t,
            on_done=lambda v: gen == self.generation and self._small_done(t, v),
            on_fail=lambda m: gen == self.generation and self.small.setText(f"cannot read the values: {m}"),
            label="values",
        )

    def _small_done(self, t, values) -> None:
        if len(t.shape) == 0:
            text = f"<p style='font-size:16pt'>{_num(values[0])}</p><p>a scalar: one value, no histogram</p>"
        else:
            shaped = values.reshape(t.shape)
            text = (
                "<pre>"
                + np.array2string(shaped, threshold=LIST_VALUES_UP_TO, precision=6)
                + f"</pre><p>{t.numel} values: listed instead of a histogram</p>"
            )
        self.small.setText(text)

    def _preview_done(self, gen, hist) -> None:
        if gen != self.generation or self.exact is not None or hist is None:
            return
        self.plot.set_histogram(hist, "preview from a 1M-value random sample…")
        self.set_status("preview from a random sample; exact counts on the way")

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
        extra = [
            f"{n} {name}"
            for name, n in (
                ("NaN", hist.nan),
                ("+Inf", hist.posinf),
                ("-Inf", hist.neginf),
                ("below range", hist.below),
                ("above range", hist.above),
            )
            if n
        ]
        kind = (
            ""
            if not is_quantized(self.node.value)
            else "stored integers · "
            if self.raw.isChecked()
            else "real values (q − zero point) × scale · "
        )
        how = ""
        if self.bins.value() == AUTO:
            one_each = self.plot.integer and np.allclose(np.diff(hist.edges), 1.0)
            how = " (auto: one bin per value)" if one_each else " (auto)"
        self.set_status(
            f"{kind}exact: {total:,} values in {len(hist.counts)} bins{how}"
            + (" + " + ", ".join(extra) if extra else "")
        )
        self.plot.set_histogram(hist, f"exact counts ({len(hist.counts)} bins)")

    def _failed(self, gen, message) -> None:
        if gen != self.generation:
            return
        self.set_status(f"cannot read this tensor: {message}", error=True)

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
        self.runner.submit(
            compute_exact,
            self.file.ck,
            state.value,
            self.bins.value(),
            None,
            on_done=lambda r: gen == self.generation and self.plot.set_overlay(r[1], name),
            on_fail=lambda m: self._failed(gen, m),
            label="overlay",
        )

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
            if len(self.node.value.shape) == 1:
                self._show_line()
            else:
                self._show_heatmap()

    def _export_csv(self) -> None:
        if self.exact is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export histogram", "histogram.csv", "CSV (*.csv)")
        if path:
            try:
                export_histogram_csv(self.exact[1], path)
            except OSError as exc:
                self.set_status(f"cannot write {path}: {exc.strerror or exc}", error=True)
                return
            self.set_status(f"histogram written to {path}")

    def _export_npy(self) -> None:
        if self.node is None:
            return
        name = self.node.name.replace("/", "_") + ".npy"
        path, _ = QFileDialog.getSaveFileName(self, "Export tensor", name, "NumPy (*.npy)")
        if not path or self.node is None:
            return
        t = self.node.value
        try:
            source = self.file.ck.source(t)
        except CheckpointError as exc:
            self.set_status(f"export failed: {exc}", error=True)
            return
        self.set_status("writing…")
        gen = self.generation
        self.runner.submit(
            export_npy,
            source,
            t.dtype,
            path,
            on_done=lambda p: gen == self.generation and self.set_status(f"tensor written to {p}"),
            on_fail=lambda m: self.set_status(f"export failed: {m}", error=True),
            label="export",
        )


def _num(v) -> str:
    return f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v)


def _facts(t) -> str:
    """The line under the title: elements, bytes, stride, storage, quantization, DCP chunks."""
    bits = [
        f"{t.numel:,} elements",
        human_bytes(t.nbytes),
        f"stride {t.stride}",
        f"storage offset {t.storage_offset}",
    ]
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
        bits.append(
            f"{len(chunks)} chunks in {', '.join(files)}: "
            + "; ".join(f"at {c['offsets']} size {c['sizes']}" for c in chunks[:6])
        )
    return " · ".join(bits)
