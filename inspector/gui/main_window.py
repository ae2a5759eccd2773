"""The main window: open files (menu, arguments, drag and drop), browse, inspect."""

from __future__ import annotations

import os

from PySide6.QtCore import QByteArray, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from . import settings as cfg
from .convert_actions import CONVERT, convert, make_dialog
from .jobs import JobRunner
from .loader import expand_folders, load
from .operations import OperationRunner
from .start_page import StartPage
from .summary_panel import SummaryPanel
from .tensor_panel import TensorPanel
from .tree_filter import TreeFilter
from .tree_model import CheckpointModel
from .updates_table import UpdatesTable
from .value_panel import ValuePanel
from .watcher import ReloadWatcher

DEFAULT_WIDTHS = (260, 80, 95, 70, 45, 88, 70)
NAME_WIDTH = (220, 520)  # the Name column fits its content within these bounds
FILE_FILTER = (
    "Checkpoints (*.pt *.pth *.tar *.ckpt *.bin *.pkl *.ptl *.pt2 *.safetensors *.json);;All files (*)"
)


class MainWindow(QMainWindow):
    def __init__(self, synchronous: bool = False):
        super().__init__()
        self.setWindowTitle("Checkpoint Inspector")
        self.setAcceptDrops(True)
        self.runner = JobRunner(self, synchronous=synchronous)
        self.loading: dict[str, object] = {}  # path -> job
        self._build_tree()
        self.operations = OperationRunner(self)
        left = self._build_filter_row()
        self._build_views()
        self._build_central(left)
        self._build_status_bar()

        self.reloads = 0
        self._seq = 0
        self.tree_menu_hooks: list = []  # (menu, index) -> None: add entries (compare_actions)
        self.drop_hooks: list = []  # (event, paths) -> True when the drop was handled
        self.watcher = ReloadWatcher(self)
        self.watcher.changed.connect(self._file_changed)
        self._build_menus()
        from .registry_actions import install as install_registry

        self.registry = install_registry(self)  # File › Open from / Register in Registry, models:/ paths
        from .pair_model import install as install_pairing

        install_pairing(self)  # Training › Pair optimizer with model file…
        self._restore_state()

    def _build_tree(self) -> None:
        self.model = CheckpointModel(self)
        self.model.modelReset.connect(self._expand_files)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(False)
        self.tree.header().setSectionsClickable(True)
        self.tree.header().sectionClicked.connect(self._sort_by)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.tree.setAlternatingRowColors(True)
        self.tree.setTextElideMode(Qt.ElideMiddle)  # `bert.encoder…attention.self.query.weight`
        self.tree.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._tree_menu)

    def _build_filter_row(self) -> QWidget:
        """The filter box with its regex and grouping switches above the tree."""
        self.filter = QLineEdit()
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter_changed)
        self.regex = QCheckBox("regex")
        self.regex.toggled.connect(lambda _: self.apply_filter())
        self.grouped = QCheckBox("group by module")
        self.grouped.toggled.connect(self._grouping_changed)
        self.tree_filter = TreeFilter(self)
        self.tree_filter.update_placeholder()
        self.filter_timer = QTimer(self)
        self.filter_timer.setSingleShot(True)
        self.filter_timer.setInterval(120)
        self.filter_timer.timeout.connect(self.apply_filter)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.filter, 1)
        row.addWidget(self.regex)
        row.addWidget(self.grouped)
        ll.addLayout(row)
        ll.addWidget(self.tree, 1)
        return left

    def _build_views(self) -> None:
        """The right-hand pages: start page, file summary/updates, value, tensor."""
        self.summary = SummaryPanel()
        self.updates = UpdatesTable(self.runner)
        self.updates.parameter_chosen.connect(self._jump_to_parameter)
        self.file_view = QTabWidget()
        self.file_view.addTab(self.summary, "Summary")
        self.file_view.addTab(self.updates, "Optimizer updates")
        self.file_view.currentChanged.connect(self._file_tab_changed)
        self.values = ValuePanel()
        self.tensor = TensorPanel(self.runner)
        self.start_page = self.welcome = StartPage()
        self.start_page.open_requested.connect(self.open_dialog)
        self.start_page.open_folder_requested.connect(self.open_folder_dialog)
        self.start_page.demo_requested.connect(self.open_demo)
        self.start_page.recent_chosen.connect(lambda p: self.open_paths([p]))
        self.stack = QStackedWidget()
        for w in (self.welcome, self.file_view, self.values, self.tensor):
            self.stack.addWidget(w)

    def _build_central(self, left: QWidget) -> None:
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 6)

        self.banner = QLabel()
        self.banner.setStyleSheet("background:#c62828;color:white;font-weight:bold;padding:6px")
        self.banner.setWordWrap(True)
        self.banner.hide()
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(self.banner)
        cl.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.cancel_button.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

    # ---- menus ---------------------------------------------------------------------------
    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        self._action(m, "&Open…", QKeySequence.Open, self.open_dialog)
        self._action(
            m, "Open &Folder… (shard index, distributed checkpoint)", "Ctrl+Shift+O", self.open_folder_dialog
        )
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        self.reload_action = self._action(m, "Re&load", "F5", self.reload_current)
        self.close_action = self._action(m, "&Close", "Ctrl+W", self.close_current)
        m.addSeparator()
        self._action(m, "&Quit", QKeySequence.Quit, self.close)
        v = self.menuBar().addMenu("&View")
        self._action(v, "&Find", QKeySequence.Find, lambda: self.filter.setFocus())
        self.group_action = self._action(
            v, "&Group state_dict keys by module", "Ctrl+G", lambda on: self.grouped.setChecked(on)
        )
        self.group_action.setCheckable(True)
        QShortcut(QKeySequence(Qt.Key_Escape), self, self.clear_filter)
        self._action(v, "&Expand all", "Ctrl+E", self.tree.expandAll)
        self.live_reload = self._action(
            v, "&Reload files when they change on disk", None, self._toggle_live_reload
        )
        self.live_reload.setCheckable(True)
        self._action(v, "C&ollapse all", "Ctrl+Shift+E", self.tree.collapseAll)
        c = self.menuBar().addMenu("&Convert")
        self.convert_actions = [
            self._action(c, a.label, a.shortcut, lambda _=False, k=a.kind: self.convert(k)) for a in CONVERT
        ]
        h = self.menuBar().addMenu("&Help")
        self._action(h, "&About", None, self.show_about)
        from .compare_actions import install as install_compare

        install_compare(self)  # File › Compare With…, Progression; tree menu; Ctrl+drop

    def _action(self, menu, text, shortcut, slot) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = cfg.recent_files()
        for path in files:
            act = self.recent_menu.addAction(path)
            act.triggered.connect(lambda checked=False, p=path: self.open_paths([p]))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list").triggered.connect(cfg.clear_recent)
        else:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def update_actions(self) -> None:
        """Actions on a file are enabled only while one is open."""
        has_file = bool(self.model.files())
        for act in self.convert_actions + [self.close_action, self.reload_action]:
            act.setEnabled(has_file)

    def show_about(self) -> None:
        from .about_dialog import AboutDialog

        AboutDialog(self).exec()

    # ---- opening -------------------------------------------------------------------------
    def open_demo(self) -> None:
        """Build the demo checkpoint (torch, a few seconds the first time) and open it."""
        from .. import demo

        self.statusBar().showMessage("Writing the demo checkpoint…")
        self.progress.show()
        self.runner.submit(
            demo.demo_path,
            on_done=lambda p: self.open_paths([p]),
            on_fail=lambda m: self._open_failed("demo checkpoint", m),
            label="demo",
        )

    def open_dialog(self) -> None:
        start = cfg.settings().value("last_dir", os.path.expanduser("~"))
        paths, _ = QFileDialog.getOpenFileNames(self, "Open checkpoint", start, FILE_FILTER)
        if paths:
            cfg.settings().setValue("last_dir", os.path.dirname(paths[0]))
            self.open_paths(paths)

    def open_folder_dialog(self) -> None:
        start = cfg.settings().value("last_dir", os.path.expanduser("~"))
        path = QFileDialog.getExistingDirectory(self, "Open checkpoint folder", start)
        if path:
            cfg.settings().setValue("last_dir", path)
            self.open_paths([path])

    def receive_paths(self, paths: list) -> None:
        """Files handed over by a second launch: open them and come to the front."""
        if paths:
            self.open_paths(paths)
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def open_paths(self, paths) -> None:
        paths = self.registry.take_uris(paths)  # models:/, runs:/ download first, then open
        paths = expand_folders([os.path.abspath(os.fspath(p)) for p in paths])
        for path in paths:
            if path in self.loading:
                continue
            self.statusBar().showMessage(f"Opening {os.path.basename(path)}…")
            self.progress.show()
            self.cancel_button.show()
            self._seq += 1
            self.loading[path] = None  # a synchronous runner may finish before submit returns
            job = self.runner.submit(
                load,
                path,
                on_done=lambda f, p=path, n=self._seq: self._opened(p, f, n),
                on_fail=lambda msg, p=path: self._open_failed(p, msg),
                label=path,
            )
            if path in self.loading:
                self.loading[path] = job

    def _loading_done(self, path: str) -> None:
        self.loading.pop(path, None)
        if not self.loading:
            self.progress.hide()
            self.cancel_button.hide()

    def _opened(self, path: str, f, seq: int = 0) -> None:
        self._loading_done(path)
        f.seq = seq
        index = self.model.add_file(f, seq)
        self.watcher.watch(path)
        self.watcher.mark_loaded(path, f.signature)
        cfg.add_recent(path)
        self.tree.setCurrentIndex(index)
        self.tree.expand(index)
        if len(self.model.files()) == 1 and not cfg.settings().contains("tree_header"):
            for col, width in enumerate(DEFAULT_WIDTHS):
                self.tree.setColumnWidth(col, width)
        self.fit_name_column()
        self.tree_filter.update_placeholder()
        self.update_actions()
        if self.filter.text().strip():
            self.apply_filter()
        self.statusBar().showMessage(
            f"Opened {os.path.basename(path)}: {f.summary['tensor_count']:,} tensors, "
            f"verdict {f.verdict.verdict}",
            8000,
        )

    def _open_failed(self, path: str, message: str) -> None:
        self._loading_done(path)
        text = f"{os.path.basename(path)}: {message}"
        self.statusBar().showMessage(text, 15000)
        self.show_error("Cannot open file", text)

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    def cancel_loading(self) -> None:
        for path, job in list(self.loading.items()):
            if job is not None:
                job.cancelled = True
            self._loading_done(path)
        self.statusBar().showMessage("Opening cancelled", 5000)

    def close_current(self) -> None:
        self.close_file(self.current_file())

    def close_file(self, f) -> None:
        """Close a file and clear every panel that shows it."""
        if f is None:
            return
        self.watcher.forget(f.path)
        if self.tensor.file is f:
            self.tensor.clear()
        if self.updates.file is f:
            self.updates.clear()
        self.model.remove_file(f)
        f.ck.close()
        files = self.model.files()
        self.tree_filter.update_placeholder()
        self.update_actions()
        if files:
            self.tree.setCurrentIndex(self.model.file_index(files[-1]))
            self._current_changed(self.tree.currentIndex(), QModelIndex())
        else:
            self.show_nothing()

    def show_nothing(self, message: str | None = None) -> None:
        """No row selected: the start page, or a message (a filter that matches nothing)."""
        self.tensor.clear()
        self.summary.clear()
        self.banner.hide()
        if message is None or not self.model.files():
            self.values.clear()
            self.stack.setCurrentWidget(self.welcome)
            self.setWindowTitle("Checkpoint Inspector")
        else:
            self.values.setHtml(f"<p>{message}</p>")
            self.stack.setCurrentWidget(self.values)

    def reload_current(self) -> None:
        f = self.current_file()
        if f is not None:
            self._file_changed(f.path)

    # ---- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            if any(hook(event, paths) for hook in self.drop_hooks):
                return
            self.open_paths(paths)

    # ---- selection ----------------------------------------------------------------------------
    def current_file(self):
        index = self.tree.currentIndex()
        if not index.isValid():
            files = self.model.files()
            return files[-1] if files else None
        return self.model.item(index).file

    def selected_node(self):
        """(file, node) of the selected tree row when it shows a node, else None."""
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        it = self.model.item(index)
        if it.node is None or it.is_file or it.file is None:
            return None
        return it.file, it.node

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            return
        it = self.model.item(current)
        f = it.file
        self.setWindowTitle(f"{os.path.basename(f.path)} — Checkpoint Inspector")
        self.banner.setVisible(f.dangerous or f.verdict.verdict == "unverified")
        self.banner.setStyleSheet(
            "background:%s;color:white;font-weight:bold;padding:6px"
            % ("#c62828" if f.dangerous else "#b26a00")
        )
        if f.dangerous:
            self.banner.setText(
                f"{os.path.basename(f.path)} is DANGEROUS: it would run code if "
                "loaded with torch.load. Inspect-only: nothing in it is executed here."
            )
        elif f.verdict.verdict == "unverified":
            self.banner.setText(
                f"Cannot vouch for {os.path.basename(f.path)}: part of what a loader "
                "would read could not be judged. Treat it as unsafe; inspect-only."
            )
        node = it.node if it.group is None else None
        if it.is_file or node is None and it.group is None:
            self.summary.show_file(f)
            self.file_view.setTabEnabled(1, any(m.kind.startswith("Adam") for m in f.maps))
            self._file_tab_changed(self.file_view.currentIndex())
            self.stack.setCurrentWidget(self.file_view)
        elif node is not None and node.kind == "tensor":
            self.tensor.show_tensor(f, node)
            self.stack.setCurrentWidget(self.tensor)
        elif node is not None:
            self.values.show_node(node)
            self.stack.setCurrentWidget(self.values)
        else:
            g = it.group
            self.values.setHtml(f"<b>{it.label}</b>: {g.tensors:,} tensors, {g.numel:,} elements")
            self.stack.setCurrentWidget(self.values)

    def _jump_to_parameter(self, name: str) -> None:
        """A row of the Optimizer updates table: show that weight in the tree."""
        f = self.updates.file
        if f is None:
            return
        weights = f.training.get("weights") or ""
        if not self.select_path(f"{weights}/{name}" if weights else name, f):
            self.statusBar().showMessage(f"{name} is not shown in the tree (filtered out?)", 5000)

    def _file_tab_changed(self, i: int) -> None:
        f = self.current_file()
        if i == 1 and f is not None:
            self.updates.show_file(f)

    def select_path(self, path: str, f=None) -> bool:
        f = f or (self.model.files()[-1] if self.model.files() else None)
        if f is None:
            return False
        index = self.model.index_for_path(f, path)
        if not index.isValid():
            return False
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    # ---- live reload ---------------------------------------------------------------------------
    def _toggle_live_reload(self, on: bool) -> None:
        self.watcher.enabled = on
        s = cfg.settings()
        s.setValue("live_reload", on)
        s.sync()

    def _file_changed(self, path: str) -> None:
        old = next((f for f in self.model.files() if f.path == path), None)
        if old is None or path in self.loading:
            return
        self.statusBar().showMessage(f"{os.path.basename(path)} changed on disk; reloading…")
        self.loading[path] = None
        job = self.runner.submit(
            load,
            path,
            on_done=lambda f, p=path: self._reloaded(p, f),
            on_fail=lambda msg, p=path: self._reload_failed(p, msg),
            label=path,
        )
        if path in self.loading:
            self.loading[path] = job

    def _reload_failed(self, path: str, message: str) -> None:
        self._loading_done(path)
        self.statusBar().showMessage(
            f"{os.path.basename(path)} is not readable yet ({message}); waiting for the next change", 10000
        )

    def _reloaded(self, path: str, new) -> None:
        self._loading_done(path)
        old = next((f for f in self.model.files() if f.path == path), None)
        if old is None:
            return
        current = self.model.item(self.tree.currentIndex()) if self.tree.currentIndex().isValid() else None
        selected = (
            current.node.path
            if current is not None
            and current.file is old
            and current.node is not None
            and not current.is_file
            else None
        )
        expanded = self._expanded_paths(old)
        self.model.replace_file(old, new)
        old.ck.close()
        self.watcher.mark_loaded(path, new.signature)
        for p in expanded:
            idx = self.model.index_for_path(new, p) if p else self.model.file_index(new)
            if idx.isValid():
                self.tree.expand(idx)
        if selected is None or not self.select_path(selected, new):
            self.tree.setCurrentIndex(self.model.file_index(new))
        self.reloads += 1
        self.statusBar().showMessage(f"Reloaded {os.path.basename(path)}", 5000)

    def _expanded_paths(self, f) -> list[str]:
        out = []
        stack = [self.model.file_index(f)]
        while stack:
            idx = stack.pop()
            if not idx.isValid() or not self.tree.isExpanded(idx):
                continue
            it = self.model.item(idx)
            out.append("" if it.is_file else (it.node.path if it.node is not None else ""))
            stack.extend(self.model.index(r, 0, idx) for r in range(self.model.rowCount(idx)))
        return [p for p in out if p is not None]

    # ---- conversions ---------------------------------------------------------------------------
    def convert(self, kind: str) -> None:
        convert(self, kind)

    def make_dialog(self, kind: str, f, weights):
        return make_dialog(self, kind, f, weights)

    def converted(self, result) -> None:
        out = result.output
        self.statusBar().showMessage(f"Wrote {out}", 10000)
        if out and self.ask_open(out):
            self.open_paths([out])

    def ask_open(self, path: str) -> bool:
        return QMessageBox.question(self, "Done", f"Wrote and verified {path}.\nOpen it?") == QMessageBox.Yes

    def _tree_menu(self, pos) -> None:
        menu = self.tree_menu_at(self.tree.indexAt(pos))
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(pos))

    def tree_menu_at(self, index) -> QMenu | None:
        """The context menu of a tree row (a file row: reload, close, copy, convert…)."""
        if not index.isValid():
            return None
        it = self.model.item(index)
        menu = QMenu(self)
        if it.is_file:
            from .file_menu import fill_file_menu

            fill_file_menu(self, menu, it.file)
        if it.node is not None and not it.is_file:
            menu.addAction("Copy path").triggered.connect(
                lambda: QApplication.clipboard().setText(it.node.path)
            )
            menu.addAction("Extract to a file…").triggered.connect(lambda: self.extract(it))
        for hook in self.tree_menu_hooks:
            hook(menu, index)
        return None if menu.isEmpty() else menu

    def extract(self, it, output: str | None = None) -> None:
        from ..ops.strip import apply_extract

        if output is None:
            from .dialogs.common import suggest

            output, _ = QFileDialog.getSaveFileName(
                self, "Extract to", suggest(it.file.path, "_" + it.node.name.replace("/", "_")), FILE_FILTER
            )
        if output:
            self.operations.run(
                "Extracting…",
                lambda path, key, out, progress: apply_extract(path, key, out, True),
                it.file.path,
                it.node.path,
                output,
                on_done=self.converted,
            )

    # ---- filter and sort -----------------------------------------------------------------------
    def _filter_changed(self, _text: str) -> None:
        self.filter_timer.start()

    def apply_filter(self) -> None:
        self.tree_filter.apply()

    def clear_filter(self) -> None:
        if self.filter.text():
            self.filter.clear()
            self.apply_filter()

    def _grouping_changed(self, on: bool) -> None:
        self.group_action.setChecked(on)
        selected = self.selected_node()
        self.model.set_grouped(on)
        if self.filter.text().strip():
            self.apply_filter()  # the expansion saved before the filter is kept
        elif selected is not None:
            self.select_path(selected[1].path, selected[0])
        self.fit_name_column()

    def fit_name_column(self) -> None:
        """Name fits its content, within NAME_WIDTH and half the tree's width."""
        hint = self.tree.sizeHintForColumn(0) + 24
        lo, hi = NAME_WIDTH
        hi = min(hi, max(lo, self.tree.viewport().width() // 2))
        self.tree.setColumnWidth(0, max(lo, min(hint, hi)))

    def _expand_files(self) -> None:
        for r in range(self.model.rowCount()):
            self.tree.expand(self.model.index(r, 0))

    def _sort_by(self, column: int) -> None:
        order = Qt.AscendingOrder
        if self.model.sort_column == column and self.model.sort_order == Qt.AscendingOrder:
            order = Qt.DescendingOrder
        self.tree.header().setSortIndicatorShown(True)
        self.tree.header().setSortIndicator(column, order)
        self.model.sort(column, order)

    # ---- remembered state ----------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = cfg.settings()
        geom = s.value("geometry")
        if isinstance(geom, QByteArray):
            self.restoreGeometry(geom)
        else:
            self.resize(1400, 900)
        split = s.value("splitter")
        if isinstance(split, QByteArray):
            self.splitter.restoreState(split)
        else:
            self._default_split = True
        header = s.value("tree_header")
        if isinstance(header, QByteArray):
            self.tree.header().restoreState(header)
        else:
            for col, width in enumerate(DEFAULT_WIDTHS):
                self.tree.setColumnWidth(col, width)
        # dotted state_dict keys are grouped by module unless the user turned it off
        self.grouped.setChecked(s.value("grouped", True) in (True, "true"))
        self.group_action.setChecked(self.grouped.isChecked())
        self.update_actions()
        live = s.value("live_reload", True) in (True, "true")
        self.live_reload.setChecked(live)
        self.watcher.enabled = live

    def save_state(self) -> None:
        s = cfg.settings()
        s.setValue("geometry", self.saveGeometry())
        s.setValue("splitter", self.splitter.saveState())
        s.setValue("tree_header", self.tree.header().saveState())
        s.setValue("grouped", self.grouped.isChecked())
        s.sync()

    _default_split = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._default_split:  # first start: split by the real width, once laid out
            self._default_split = False
            QTimer.singleShot(0, self._split_evenly)

    def _split_evenly(self) -> None:
        w = self.splitter.width()
        left = w * 11 // 20  # the tree's seven columns fit without a scroll bar at 1400 px
        self.splitter.setSizes([left, w - left])

    def closeEvent(self, event) -> None:
        self.save_state()
        for job in list(self.runner.active):
            job.cancelled = True
        self.runner.wait(2000)
        super().closeEvent(event)
