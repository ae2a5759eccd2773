"""The Qt item model over the node trees of the open files.

Each open file is a top-level row. Rows are `Item`s wrapping a Node (or a virtual module
Group when dotted state_dict keys are grouped); an item's children are computed when
first asked and handed to the view in batches of 1,000, so a 20,000-key state_dict
expands at once. Filtering and sorting rebuild only the child lists, never the nodes.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ..analysis.grouping import Group, group_children, is_groupable, leaf_label
from ..analysis.module_attrs import inline_items, inline_text, layer_line, short_type
from ..analysis.search import natural_key
from ..formats.stubs import TensorInfo
from ..present import human_bytes, node_row

COLUMNS = ["Name", "Type", "Shape", "DType", "Device", "Elements", "Size"]
BATCH = 1000


class Item:
    __slots__ = ("label", "node", "group", "file", "parent", "row", "_all", "loaded", "_cells", "seq")

    def __init__(self, label, node=None, group=None, file=None, parent=None, row=0):
        self.label = label
        self.node = node
        self.group = group
        self.file = file  # the OpenFile this row belongs to
        self.parent = parent
        self.row = row
        self._all: list[Item] | None = None
        self.loaded = 0
        self._cells: tuple | None = None
        self.seq = 0  # files keep the order they were asked for, not the order they loaded

    @property
    def is_file(self) -> bool:
        return self.parent is not None and self.parent.parent is None

    def reset(self) -> None:
        self._all = None
        self.loaded = 0


class CheckpointModel(QAbstractItemModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.root = Item("")
        self.root._all = []
        self.grouped = False
        self.visible: set[int] | None = None  # ids of nodes to show, or None for all
        self.sort_column: int | None = None
        self.sort_order = Qt.AscendingOrder
        # Items are reused across filter/sort/group rebuilds: a QModelIndex holds a bare
        # pointer to its Item, so an Item must outlive any index the view may still hold.
        self._items: dict[tuple[int, int], Item] = {}
        self._groups: dict[int, list] = {}
        self._group_vis: dict[int, bool] = {}

    # ---- files -------------------------------------------------------------------------
    def add_file(self, open_file, seq: int = 0) -> QModelIndex:
        row = sum(1 for it in self.root._all if it.seq <= seq)
        self.beginInsertRows(QModelIndex(), row, row)
        item = Item(
            os.path.basename(open_file.path),
            node=open_file.ck.root,
            file=open_file,
            parent=self.root,
            row=row,
        )
        item.seq = seq
        self.root._all.insert(row, item)
        for j, other in enumerate(self.root._all):
            other.row = j
        self.root.loaded = len(self.root._all)
        self.endInsertRows()
        return self.createIndex(row, 0, item)

    def remove_file(self, open_file) -> None:
        for i, item in enumerate(self.root._all):
            if item.file is open_file:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self.root._all[i]
                self._items = {k: v for k, v in self._items.items() if v.file is not open_file}
                for j, other in enumerate(self.root._all):
                    other.row = j
                self.root.loaded = len(self.root._all)
                self.endRemoveRows()
                return

    def replace_file(self, old, new) -> None:
        """A reloaded file takes the old one's row."""
        for i, item in enumerate(self.root._all):
            if item.file is old:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self.root._all[i]
                self._items = {k: v for k, v in self._items.items() if v.file is not old}
                self.root.loaded = len(self.root._all)
                self.endRemoveRows()
                self.beginInsertRows(QModelIndex(), i, i)
                item = Item(os.path.basename(new.path), node=new.ck.root, file=new, parent=self.root, row=i)
                item.seq = getattr(old, "seq", 0)
                self.root._all.insert(i, item)
                self.root.loaded = len(self.root._all)
                self.endInsertRows()
                return

    def file_index(self, open_file) -> QModelIndex:
        for item in self.root._all:
            if item.file is open_file:
                return self.createIndex(item.row, 0, item)
        return QModelIndex()

    def files(self) -> list:
        return [item.file for item in self.root._all]

    # ---- view options -------------------------------------------------------------------
    def set_grouped(self, grouped: bool) -> None:
        self._rebuild(lambda: setattr(self, "grouped", grouped))

    def set_visible(self, visible: set[int] | None) -> None:
        self._group_vis: dict[int, bool] = {}  # memo of _group_visible for this filter
        self._rebuild(lambda: setattr(self, "visible", visible))

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        def apply():
            self.sort_column, self.sort_order = column, order

        self._rebuild(apply)

    def _rebuild(self, change) -> None:
        self.beginResetModel()
        change()
        for item in self.root._all:
            self._reset_tree(item)
        self.endResetModel()

    def _reset_tree(self, item: Item) -> None:
        stack = [item]
        while stack:
            it = stack.pop()
            if it._all is not None:
                stack.extend(it._all)
            it.reset()

    # ---- children ---------------------------------------------------------------------
    def children(self, item: Item) -> list[Item]:
        if item._all is not None:
            return item._all
        entries = []
        if item.group is not None:
            entries = item.group.children
        elif item.node is not None and item.node.kind == "tensor":
            entries = optimizer_state_of(item)
        elif item.node is not None and item.node.kind != "ref" and not _inline(item.node):
            if self.grouped and is_groupable(item.node):
                entries = self._groups.get(id(item.node))
                if entries is None:
                    entries = self._groups[id(item.node)] = group_children(item.node)
            else:
                entries = item.node.children
        vis = self.visible
        out = []
        for e in entries:
            if isinstance(e, Group):
                if vis is not None and not _group_visible(e, vis, self._group_vis):
                    continue
                out.append(self._item(item, e, e.name, group=e))
            else:
                if vis is not None and id(e) not in vis:
                    continue
                if item.node is not None and item.node.kind == "tensor":
                    label = f"{e.name} (optimizer state)"
                else:
                    label = leaf_label(e) if item.group is not None else e.name
                out.append(self._item(item, e, label, node=e))
        if self.sort_column is not None:
            out.sort(key=lambda it: self._sort_key(it), reverse=self.sort_order == Qt.DescendingOrder)
        for i, it in enumerate(out):
            it.row = i
        item._all = out
        item.loaded = min(len(out), BATCH)  # the first batch at once; the view fetches more
        return out

    def _item(self, parent: Item, entry, label: str, node=None, group=None) -> Item:
        key = (id(parent), id(entry))
        it = self._items.get(key)
        if it is None:
            it = self._items[key] = Item(label, node=node, group=group, file=parent.file, parent=parent)
        return it

    def _sort_key(self, it: Item):
        col = self.sort_column
        if col == 0:
            return natural_key(it.label)
        if col in (5, 6):
            if it.group is not None:
                return it.group.numel if col == 5 else it.group.nbytes
            v = it.node.value if it.node is not None else None
            if type(v) is TensorInfo:
                return v.numel if col == 5 else v.nbytes
            return -1
        return natural_key(self.cells(it)[col])

    # ---- Qt model API -----------------------------------------------------------------
    def item(self, index: QModelIndex) -> Item:
        return index.internalPointer() if index.isValid() else self.root

    def index(self, row, column, parent=QModelIndex()):
        parent_item = self.item(parent)
        kids = self.children(parent_item)
        if row < 0 or row >= parent_item.loaded or row >= len(kids) or column >= len(COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column, kids[row])

    def parent(self, index=QModelIndex()):
        if not index.isValid():
            return QModelIndex()
        it = index.internalPointer()
        p = it.parent
        if p is None or p is self.root:
            return QModelIndex()
        return self.createIndex(p.row, 0, p)

    def rowCount(self, parent=QModelIndex()):
        if parent.isValid() and parent.column() > 0:
            return 0
        it = self.item(parent)
        if it is self.root:
            return len(self.root._all)
        self.children(it)
        return it.loaded

    def columnCount(self, parent=QModelIndex()):
        return len(COLUMNS)

    def hasChildren(self, parent=QModelIndex()):
        it = self.item(parent)
        if it is self.root:
            return bool(self.root._all)
        if it.group is not None:
            return True
        if it.node is not None and it.node.kind == "tensor":
            return bool(optimizer_state_of(it))
        if it.node is None or not it.node.children or it.node.kind == "ref" or _inline(it.node):
            return False
        if self.visible is None:
            return True
        return bool(self.children(it))

    def canFetchMore(self, parent):
        it = self.item(parent)
        if it is self.root:
            return False
        return it.loaded < len(self.children(it))

    def fetchMore(self, parent):
        it = self.item(parent)
        total = len(self.children(it))
        new = min(total, it.loaded + BATCH)
        if new > it.loaded:
            self.beginInsertRows(parent, it.loaded, new - 1)
            it.loaded = new
            self.endInsertRows()

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def cells(self, it: Item) -> tuple:
        if it._cells is None:
            if it.is_file:
                f = it.file
                it._cells = (
                    it.label,
                    f.ck.format,
                    "",
                    "",
                    ", ".join(f.summary["devices"]),
                    f"{f.summary['tensor_count']:,} tensors",
                    human_bytes(f.ck.file_size),
                )
            elif it.group is not None:
                g = it.group
                it._cells = (it.label, "module", "", "", "", f"{g.numel:,}", human_bytes(g.nbytes))
            else:
                r = node_row(it.node)
                extra = r["value"] if r["value"] else r["elements"]
                if it.node.kind == "module":
                    extra = layer_line(it.node)  # `3→16 · kernel 3×3 · stride 2`, as Netron
                elif _inline(it.node):
                    extra = inline_text(it.node)  # `(3, 3)` instead of rows 0 and 1
                it._cells = (
                    it.label,
                    short_type(r["type"]),
                    r["shape"] or extra,
                    r["dtype"],
                    r["device"],
                    r["elements"] if r["shape"] else "",
                    r["size"],
                )
        return it._cells

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        it = index.internalPointer()
        col = index.column()
        if role == Qt.DisplayRole:
            return self.cells(it)[col]
        if role == Qt.ToolTipRole:
            if col == 1 and it.node is not None and not it.is_file:
                return it.node.type_name  # the full class path behind the short name
            if col == 2 and it.node is not None and it.node.kind == "module" and self.cells(it)[2]:
                return self.cells(it)[2]
            if it.node is not None and not it.is_file:
                return it.node.path
            return it.file.path if it.is_file else None
        if role == Qt.ForegroundRole:
            if it.node is not None and it.node.kind in ("ref", "truncated"):
                from PySide6.QtGui import QPalette
                from PySide6.QtWidgets import QApplication

                return QApplication.palette().brush(QPalette.PlaceholderText)
            if it.is_file and it.file.verdict.verdict in ("dangerous", "unverified"):
                from . import theme

                return QBrush(QColor(theme.readable("#c62828" if it.file.dangerous else "#b26a00")))
        if role == Qt.TextAlignmentRole and col in (5, 6):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    # ---- lookups ------------------------------------------------------------------------
    def index_for_path(self, open_file, path: str) -> QModelIndex:
        """The index showing node `path` of a file (loading batches and groups on the way)."""
        target = open_file.ck.find(path)
        if target is None:
            return QModelIndex()
        chain = []
        n = target
        while n is not None and n.parent is not None:
            chain.append(n)
            n = n.parent
        file_item = next(i for i in self.root._all if i.file is open_file)
        index = self.createIndex(file_item.row, 0, file_item)
        for node in reversed(chain):
            index = self._find_child(index, node)
            if not index.isValid():
                return QModelIndex()
        return index

    def _find_child(self, parent: QModelIndex, node) -> QModelIndex:
        it = self.item(parent)
        for kid in self.children(it):
            if kid.node is node or (kid.group is not None and _group_contains(kid.group, node)):
                while kid.row >= it.loaded:
                    self.fetchMore(parent)
                idx = self.createIndex(kid.row, 0, kid)
                if kid.node is node:
                    return idx
                return self._find_child(idx, node)
        return QModelIndex()


def optimizer_state_of(item: Item) -> list:
    """The optimizer state tensors of a parameter (shown under it in the model tree)."""
    f = item.file
    if f is None or not getattr(f, "maps", None) or item.is_file:
        return []
    for m in f.maps:
        slot = m.by_param_cached().get(id(item.node))
        if slot is not None and slot.state:
            return [n for n in slot.state.values() if n.kind == "tensor"]
    return []


def _inline(node) -> bool:
    """A small tuple of plain values (a kernel size, a stride) is one row, not 0/1 rows."""
    return node.kind in ("tuple", "list") and inline_items(node) is not None


def _group_visible(g: Group, vis: set[int], memo: dict) -> bool:
    """Whether a group holds a visible leaf (memoised per filter: groups nest)."""
    known = memo.get(id(g))
    if known is None:
        known = memo[id(g)] = any(
            (_group_visible(c, vis, memo) if isinstance(c, Group) else id(c) in vis) for c in g.children
        )
    return known


def _group_contains(g: Group, node) -> bool:
    return any((_group_contains(c, node) if isinstance(c, Group) else c is node) for c in g.children)
