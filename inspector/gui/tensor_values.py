"""The Values tab (a slice as a table; a 1-D tensor as a paged column with its real
indices) and the picture tab (a heatmap of matrices and conv filters, a line plot of a
1-D tensor) of the tensor panel. A mixin: the panel holds the widgets and the selection."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..analysis.decode import decode
from ..analysis.tensor_views import heatmap, parse_slice, values_2d
from ..formats.errors import CheckpointError

PAGE = 1000  # values of a 1-D tensor shown at a time


class ArrayTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.values = np.zeros((0, 0))
        self.row_offset = 0  # a page of a 1-D tensor: row headers are the real indices

    def set_values(self, values: np.ndarray, row_offset: int = 0) -> None:
        self.beginResetModel()
        self.values = values
        self.row_offset = row_offset
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
        if role != Qt.DisplayRole:
            return None
        return str(section + self.row_offset) if orientation == Qt.Vertical else str(section)


class TensorViewsMixin:
    """Needs from the panel: self.file, self.node, self.set_status(text, error)."""

    def _build_value_tabs(self):
        self.slice_edit = QLineEdit()
        self.slice_edit.setPlaceholderText("slice, e.g. 0, :, :")
        self.slice_edit.returnPressed.connect(self._show_values)
        self.table_model = ArrayTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.prev_page = QPushButton(f"◀ previous {PAGE:,}")
        self.prev_page.clicked.connect(lambda: self._page(-1))
        self.next_page = QPushButton(f"next {PAGE:,} ▶")
        self.next_page.clicked.connect(lambda: self._page(1))
        values_tab = QWidget()
        vl = QVBoxLayout(values_tab)
        form = QFormLayout()
        srow = QHBoxLayout()
        srow.addWidget(self.slice_edit, 1)
        srow.addWidget(self.prev_page)
        srow.addWidget(self.next_page)
        form.addRow("Slice", srow)
        vl.addLayout(form)
        vl.addWidget(self.table, 1)

        self.heat = pg.PlotWidget()
        self.heat_img = pg.ImageItem()
        self.heat.addItem(self.heat_img)
        self.heat.invertY(True)
        self.heat.setAspectLocked(False)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False)
        self.colorbar.setImageItem(self.heat_img, insert_in=self.heat.getPlotItem())
        self.line = pg.PlotWidget()  # 1-D tensors: values against their index
        self.line.setLabel("bottom", "index")
        self.line.setLabel("left", "value")
        self.line_curve = self.line.plot([], [])
        self.picture = QStackedWidget()
        self.picture.addWidget(self.heat)
        self.picture.addWidget(self.line)

        return values_tab, self.picture

    def _array(self):
        return self.file.ck.array(self.node.value)

    def _show_values(self) -> None:
        if self.node is None:
            return
        t = self.node.value
        try:
            idx = parse_slice(self.slice_edit.text(), t.shape)
            vals = values_2d(self._array(), t.dtype, idx, max_cols=PAGE if len(t.shape) == 1 else 256)
            if len(t.shape) == 1:  # a column, rows numbered by their index in the tensor
                start = (
                    idx[0].indices(t.shape[0])[0]
                    if idx and isinstance(idx[0], slice)
                    else (idx[0] % t.shape[0] if idx else 0)
                )
                self.table_model.set_values(vals.reshape(-1, 1), start)
                self.prev_page.setEnabled(start > 0)
                self.next_page.setEnabled(start + vals.size < t.shape[0])
            else:
                self.table_model.set_values(vals)
        except (ValueError, CheckpointError) as exc:
            self.set_status(f"values: {exc}", error=True)

    def _page(self, step: int) -> None:
        if self.node is None or len(self.node.value.shape) != 1:
            return
        n = self.node.value.shape[0]
        start = self.table_model.row_offset + step * PAGE
        start = max(0, min(start, max(0, n - 1)))
        self.slice_edit.setText(f"{start}:{min(n, start + PAGE)}")
        self._show_values()

    def _show_line(self) -> None:
        t = self.node.value
        try:
            arr = self._array()
            step = max(1, -(-t.shape[0] // 20000))  # at most 20,000 points drawn
            part = np.ascontiguousarray(arr[::step])
            y = decode(part.reshape(-1), t.dtype).astype(np.float64)
        except CheckpointError as exc:
            self.set_status(f"line plot: {exc}", error=True)
            return
        x = np.arange(0, t.shape[0], step)[: y.size]
        self.line_curve.setData(x, np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0))

    def _show_heatmap(self) -> None:
        t = self.node.value
        try:
            img = heatmap(self._array(), t.dtype)
        except CheckpointError as exc:
            self.set_status(f"heatmap: {exc}", error=True)
            return
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.heat_img.setImage(
            np.nan_to_num(img, nan=lo, posinf=hi, neginf=lo).T, levels=(lo, hi if hi > lo else lo + 1)
        )
        self.colorbar.setLevels((lo, hi if hi > lo else lo + 1))
