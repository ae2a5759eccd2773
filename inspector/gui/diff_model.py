"""The Compare view's tree: one row per tensor key of either file (analysis/checkpoint_diff.py
rows), optionally grouped by module, a status icon, the change columns, numeric sorting and
a key/status filter."""

from __future__ import annotations

import re

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from ..present import shape_text

COLUMNS = ["Key", "Status", "Shape", "DType", "Rel. change", "Cosine", "Max |Δ|", "Changed"]
COLORS = {
    "identical": "#9e9e9e",
    "equal": "#43a047",
    "changed": "#fb8c00",
    "shape": "#8e24aa",
    "added": "#1e88e5",
    "removed": "#e53935",
    "error": "#000000",
    "pending": "#e0e0e0",
}
LABELS = {
    "identical": "identical",
    "equal": "equal (tolerance)",
    "changed": "changed",
    "shape": "shape changed",
    "added": "only in B",
    "removed": "only in A",
    "error": "unreadable",
    "pending": "comparing…",
}
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


SEVERITY = ("error", "shape", "removed", "added", "changed", "equal", "pending", "identical")


class Group:
    """A module prefix in grouped mode: its rows and the worst status among them."""

    __slots__ = ("name", "rows", "pos")

    def __init__(self, name: str, pos: int):
        self.name, self.rows, self.pos = name, [], pos

    def status_in(self, model) -> str:
        found = {model.status_of(r) for r in self.rows}
        return next((s for s in SEVERITY if s in found), "identical")


def module_of(key: str) -> str:
    """`layers.3.mlp.weight` -> `layers.3.mlp`; a tree path's folder for other tensors."""
    if "/" in key:
        return key.rpartition("/")[0]
    return key.rpartition(".")[0] or key


class DiffModel(QAbstractItemModel):
    """Flat (one row per key) or grouped by module (a two-level tree)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []
        self.groups: list[Group] = []
        self.where: dict[int, tuple] = {}  # id(row) -> (group or None, position)
        self.grouped = False
        # The worker fills rows in while the view sorts them: a row's numbers are shown only
        # once its dataChanged is sent, or the proxy would sort on values it was not told of.
        self.shown: set[int] = set()
        self.icons = {s: status_icon(s) for s in COLORS}
        self.pending_label = LABELS["pending"]  # "not compared" once cancelled

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._layout()
        self.endResetModel()

    def set_grouped(self, grouped: bool) -> None:
        self.beginResetModel()
        self.grouped = grouped
        self._layout()
        self.endResetModel()

    def _layout(self) -> None:
        self.groups, self.where = [], {}
        by: dict[str, Group] = {}
        for i, r in enumerate(self.rows):
            if not self.grouped:
                self.where[id(r)] = (None, i)
                continue
            name = module_of(r.key)
            g = by.get(name)
            if g is None:
                g = by[name] = Group(name, len(self.groups))
                self.groups.append(g)
            self.where[id(r)] = (g, len(g.rows))
            g.rows.append(r)

    def publish_all(self) -> None:
        self.beginResetModel()
        self.shown = {id(r) for r in self.rows}
        self.endResetModel()

    def row_changed(self, r) -> None:
        self.shown.add(id(r))
        g, pos = self.where[id(r)]
        self.dataChanged.emit(self.createIndex(pos, 0, r), self.createIndex(pos, len(COLUMNS) - 1, r))
        if g is not None:
            self.dataChanged.emit(self.createIndex(g.pos, 0, g), self.createIndex(g.pos, len(COLUMNS) - 1, g))

    # ---- tree structure ------------------------------------------------------------------------
    def index(self, row, column, parent=QModelIndex()):
        if not parent.isValid():
            items = self.groups if self.grouped else self.rows
        else:
            obj = parent.internalPointer()
            items = obj.rows if isinstance(obj, Group) else []
        if 0 <= row < len(items) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, items[row])
        return QModelIndex()

    def parent(self, index=QModelIndex()):
        if not index.isValid():
            return QModelIndex()
        obj = index.internalPointer()
        if isinstance(obj, Group):
            return QModelIndex()
        g, _ = self.where.get(id(obj), (None, 0))
        return QModelIndex() if g is None else self.createIndex(g.pos, 0, g)

    def rowCount(self, parent=QModelIndex()):
        if not parent.isValid():
            return len(self.groups) if self.grouped else len(self.rows)
        if parent.column() != 0:
            return 0
        obj = parent.internalPointer()
        return len(obj.rows) if isinstance(obj, Group) else 0

    def columnCount(self, parent=QModelIndex()):
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    # ---- cells ---------------------------------------------------------------------------------
    def status_of(self, r) -> str:
        if isinstance(r, Group):
            return r.status_in(self)
        return r.status if r.status in ("added", "removed", "shape") or id(r) in self.shown else "pending"

    def _diff_of(self, r):
        return r.diff if id(r) in self.shown else None

    def _values(self, r):
        if isinstance(r, Group):
            done = [d for d in map(self._diff_of, r.rows) if d is not None]
            rel = max((d.rel_l2 for d in done), default=None)
            cos = min((d.cosine for d in done if d.cosine is not None), default=None)
            mx = max((d.max_abs for d in done), default=None)
            n = sum(d.numel for d in done)
            frac = sum(d.changed for d in done) / n if n else None
            status = self.status_of(r)
            return [f"{r.name}  ({len(r.rows)})", LABELS.get(status, status), "", "", rel, cos, mx, frac]
        d = self._diff_of(r)
        status = self.status_of(r)
        shape = shape_text(r.shape_a if r.shape_a is not None else r.shape_b)
        if status == "shape":
            shape = f"{shape_text(r.shape_a)} → {shape_text(r.shape_b)}"
        dtype = r.dtype_a or r.dtype_b
        if r.dtype_a and r.dtype_b and r.dtype_a != r.dtype_b:
            dtype = f"{r.dtype_a} → {r.dtype_b}"
        key = r.key + (f" → {r.key_b}" if r.key_b else "")
        label = self.pending_label if status == "pending" else LABELS.get(status, status)
        if d is None:
            return [key, label, shape, dtype, None, None, None, None]
        return [key, label, shape, dtype, d.rel_l2, d.cosine, d.max_abs, d.frac_changed]

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        r = index.internalPointer()
        col = index.column()
        if role == Qt.DecorationRole and col == 0:
            return self.icons.get(self.status_of(r))
        if role not in (Qt.DisplayRole, Qt.UserRole, Qt.TextAlignmentRole, Qt.ToolTipRole):
            return None
        v = self._values(r)[col]
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
        if role == Qt.ToolTipRole and getattr(r, "error", None) and id(r) in self.shown:
            return r.error
        return None


class DiffFilter(QSortFilterProxyModel):
    """Key substring or regular expression, and a status; groups show while a row in them
    matches (recursive filtering)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text, self.regex, self.status = "", None, ""
        self.setSortRole(Qt.UserRole)
        self.setRecursiveFilteringEnabled(True)

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
        model = self.sourceModel()
        r = model.index(row, 0, parent).internalPointer()
        if isinstance(r, Group):
            return not (self.status or self.text)  # shown when one of its rows matches
        if self.status and model.status_of(r) != self.status:
            return False
        if not self.text:
            return True
        key = r.key + " " + (r.key_b or "")
        return self.text in key.lower() or (self.regex is not None and self.regex.search(key) is not None)

    def row_of(self, index):
        """The diff row (or Group) behind a proxy index."""
        return self.mapToSource(index).internalPointer()
