"""Per-layer table of Adam's next update relative to the weight (sortable).

Layers that barely train or explode stand out: ratios below 1e-4 are shown blue, above
1e-1 red. Computed in the background the first time the tab is shown. Activating a row
(double-click or Enter) shows that weight in the tree.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QTableView, QVBoxLayout, QWidget

from ..analysis.updates import update_rows
from . import theme

HEADERS = ["Parameter", "Shape", "update RMS / weight RMS", "update RMS", "weight RMS", "lr", "step"]


def compute(ck, maps) -> list:
    return [row for m in maps for row in update_rows(ck, m)]


class UpdatesModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return len(HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return HEADERS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        r = self.rows[index.row()]
        values = [r.name, "×".join(map(str, r.shape)), r.ratio, r.update_rms, r.weight_rms, r.lr, r.step]
        v = values[index.column()]
        if role == Qt.DisplayRole:
            return (
                f"{v:.3e}"
                if isinstance(v, float) and index.column() in (2, 3, 4)
                else (f"{v:g}" if isinstance(v, float) else v)
            )
        if role == Qt.UserRole:  # sort key
            return v
        if role == Qt.ForegroundRole and index.column() == 2 and math.isfinite(r.ratio):
            if r.ratio < 1e-4:
                return QBrush(QColor(theme.readable("#1565c0")))
            if r.ratio > 1e-1:
                return QBrush(QColor(theme.readable("#c62828")))
        return None


class UpdatesTable(QWidget):
    parameter_chosen = Signal(str)  # the parameter's name in the model's state_dict

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.file = None
        self.done_for = None
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.model = UpdatesModel(self)
        self.proxy = proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.model)
        proxy.setSortRole(Qt.UserRole)
        self.view = QTableView()
        self.view.setModel(proxy)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setSelectionBehavior(QTableView.SelectRows)
        self.view.setToolTip("Double-click a row to show that weight in the tree")
        self.view.activated.connect(self._activated)
        lay = QVBoxLayout(self)
        lay.addWidget(self.note)
        lay.addWidget(self.view, 1)

    def _activated(self, index) -> None:
        row = self.proxy.mapToSource(index).row()
        if 0 <= row < len(self.model.rows):
            self.parameter_chosen.emit(self.model.rows[row].name)

    def clear(self) -> None:
        """The file shown was closed."""
        self.file = self.done_for = None
        self.model.set_rows([])
        self.note.setText("")

    def show_file(self, f) -> None:
        self.file = f
        if self.done_for is f:
            return
        self.model.set_rows([])
        adam = [m for m in f.maps if m.kind.startswith("Adam")]
        if not adam:
            self.note.setText("No Adam-family optimizer state with mapped names in this file.")
            return
        self.note.setText("Computing the size of the next Adam step for every layer…")
        self.runner.submit(
            compute,
            f.ck,
            adam,
            on_done=lambda rows, f=f: self._done(f, rows),
            on_fail=lambda m: self.note.setText(f"Cannot compute: {m}"),
            label="updates",
        )

    def _done(self, f, rows) -> None:
        self.done_for = f
        if f is not self.file:
            return
        self.model.set_rows(rows)
        self.view.sortByColumn(2, Qt.AscendingOrder)
        self.view.resizeColumnsToContents()
        self.note.setText(
            f"Next Adam update relative to the weight for {len(rows)} parameters "
            "(bias-corrected moments, saved lr and step). Blue: barely training "
            "(< 1e-4); red: large (> 1e-1). Click a header to sort."
        )
