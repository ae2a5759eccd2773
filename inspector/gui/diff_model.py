"""The Compare view's table: one row per tensor key of either file (analysis/checkpoint_diff.py
rows), a status icon, the change columns, numeric sorting and a key/status filter."""

from __future__ import annotations

import re

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from ..present import shape_text

COLUMNS = ["Key", "Status", "Shape", "DType", "Rel. change", "Cosine", "Max |Δ|", "Changed"]
COLORS = {"identical": "#9e9e9e", "equal": "#43a047", "changed": "#fb8c00", "shape": "#8e24aa",
          "added": "#1e88e5", "removed": "#e53935", "error": "#000000", "pending": "#e0e0e0"}
LABELS = {"identical": "identical", "equal": "equal (tolerance)", "changed": "changed",
          "shape": "shape changed", "added": "only in B", "removed": "only in A",
          "error": "unreadable", "pending": "comparing…"}
STAT_ROWS = ["numel", "min", "max", "mean", "std", "l2", "zeros", "nan", "inf"]


def status_icon(status: str) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setBrush(QColor(COLORS.get(status, "#000000")))
    p.setPen(Qt.NoPen)
    p.drawEllipse(1, 1, 10, 10)
    p.end()
    return QIcon(pm)


def fmt(v, spec=".3e") -> str:
    return "" if v is None else format(v, spec)


class DiffModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []
        self.icons = {s: status_icon(s) for s in COLORS}
        self.pending_label = LABELS["pending"]  # "not compared" once cancelled

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row_changed(self, i: int) -> None:
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def _values(self, r):
        d = r.diff
        shape = shape_text(r.shape_a if r.shape_a is not None else r.shape_b)
        if r.status == "shape":
            shape = f"{shape_text(r.shape_a)} → {shape_text(r.shape_b)}"
        dtype = r.dtype_a or r.dtype_b
        if r.dtype_a and r.dtype_b and r.dtype_a != r.dtype_b:
            dtype = f"{r.dtype_a} → {r.dtype_b}"
        key = r.key + (f" → {r.key_b}" if r.key_b else "")
        label = self.pending_label if r.status == "pending" else LABELS.get(r.status, r.status)
        if d is None:
            return [key, label, shape, dtype, None, None, None, None]
        return [key, label, shape, dtype, d.rel_l2, d.cosine, d.max_abs, d.frac_changed]

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == Qt.DecorationRole and col == 0:
            return self.icons.get(r.status)
        vals = self._values(r)
        v = vals[col]
        if role == Qt.DisplayRole:
            if col < 4:
                return v
            if v is None:
                return ""
            return f"{v:.2%}" if col == 7 else (f"{v:.6f}" if col == 5 else f"{v:.3e}")
        if role == Qt.UserRole:  # sort key
            if col < 4:
                return v or ""
            return -1.0 if v is None else float(v)
        if role == Qt.TextAlignmentRole and col >= 4:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.ToolTipRole and r.error:
            return r.error
        return None


class DiffFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.text, self.regex, self.status = "", None, ""
        self.setSortRole(Qt.UserRole)

    def set_filter(self, text: str, status: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10; invalidateFilter is deprecated there
            self.beginFilterChange()
        self.text, self.status = text.strip().lower(), status
        try:
            self.regex = re.compile(text.strip(), re.IGNORECASE) if text.strip() else None
        except re.error:
            self.regex = None
        if hasattr(self, "endFilterChange"):
            self.endFilterChange()
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, row, parent):
        r = self.sourceModel().rows[row]
        if self.status and r.status != self.status:
            return False
        if not self.text:
            return True
        key = r.key + " " + (r.key_b or "")
        return self.text in key.lower() or (self.regex is not None and self.regex.search(key) is not None)
