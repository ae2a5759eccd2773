"""File › Open from Registry…: models -> versions -> artifact files, with tags, aliases and
the run's metrics; a double-click (or Open) picks what to open. Every listing runs in the
background; failures show in the dialog, one line."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...present import human_bytes


def _kv(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _tree(headers: list[str]) -> QTreeWidget:
    t = QTreeWidget()
    t.setHeaderLabels(headers)
    t.setRootIsDecorated(False)
    t.setAlternatingRowColors(True)
    t.setUniformRowHeights(True)
    return t


def _boxed(title: str, widget: QWidget) -> QWidget:
    w = QWidget()
    lay = QVBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(QLabel(f"<b>{title}</b>"))
    lay.addWidget(widget, 1)
    return w


class RegistryBrowserDialog(QDialog):
    def __init__(self, runner, tracking: str | None = None, parent=None):
        super().__init__(parent)
        from ...registry.store import default_tracking_uri

        self.setWindowTitle("Open from Registry")
        self.resize(1180, 640)
        self.runner = runner
        self.selected_uri: str | None = None
        self.versions: dict[str, dict] = {}
        self._pending = 0
        self.where = ""

        self.uri = QLineEdit(tracking or "")
        self.uri.setPlaceholderText(
            f"MLflow tracking URI (empty: $MLFLOW_TRACKING_URI or the local "
            f"registry {default_tracking_uri()})"
        )
        self.uri.returnPressed.connect(self.refresh)
        connect = QPushButton("Connect")
        connect.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(QLabel("Tracking URI"))
        top.addWidget(self.uri, 1)
        top.addWidget(connect)
        split = self._build_panes()
        self.details = QTextBrowser()
        self.details.setMaximumHeight(150)
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Close)
        self.open_button = buttons.button(QDialogButtonBox.Open)
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_selected)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.details)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self._restore()
        self.refresh()

    def _build_panes(self) -> QSplitter:
        """Models (with their filter), versions of the chosen model, files of the chosen version."""
        self.models = _tree(["Model", "Latest", "Aliases", "Tags"])
        self.models.currentItemChanged.connect(self._model_chosen)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter models (name, alias, tag)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter_models)
        model_pane = QWidget()
        ml = QVBoxLayout(model_pane)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.filter)
        ml.addWidget(self.models, 1)
        self.version_list = _tree(["Version", "Aliases", "Created", "Run", "Metrics", "Tags"])
        self.version_list.currentItemChanged.connect(self._version_chosen)
        self.pick: str | None = None  # what Open opens: the chosen version, or a file of it
        self.version_list.itemDoubleClicked.connect(lambda it, _c: self._open(it.data(0, Qt.UserRole)))
        self.files = _tree(["Artifact file", "Size"])
        self.files.itemDoubleClicked.connect(lambda it, _c: self._open(it.data(0, Qt.UserRole)))
        self.files.currentItemChanged.connect(
            lambda it, _p: setattr(self, "pick", it.data(0, Qt.UserRole)) if it is not None else None
        )
        split = QSplitter(Qt.Horizontal)
        split.addWidget(_boxed("Registered models", model_pane))
        split.addWidget(_boxed("Versions (double-click to open)", self.version_list))
        split.addWidget(_boxed("Files of the version", self.files))
        split.setSizes([290, 640, 250])
        self.split = split
        return split

    def _restore(self) -> None:
        from PySide6.QtCore import QByteArray

        from ..settings import settings

        s = settings()
        geom, split = s.value("registry/browser_geometry"), s.value("registry/browser_split")
        if isinstance(geom, QByteArray):
            self.restoreGeometry(geom)
        if isinstance(split, QByteArray):
            self.split.restoreState(split)

    def done(self, result: int) -> None:  # accepted or closed: remember the layout
        from ..settings import settings

        s = settings()
        s.setValue("registry/browser_geometry", self.saveGeometry())
        s.setValue("registry/browser_split", self.split.saveState())
        s.sync()
        super().done(result)

    def _filter_models(self, text: str) -> None:
        text = text.strip().lower()
        for i in range(self.models.topLevelItemCount()):
            it = self.models.topLevelItem(i)
            hay = " ".join(it.text(c) for c in range(self.models.columnCount())).lower()
            it.setHidden(bool(text) and text not in hay)

    def tracking_uri(self) -> str | None:
        return self.uri.text().strip() or None

    def busy(self) -> bool:
        return self._pending > 0

    # ---- background listings -------------------------------------------------------------------
    def _submit(self, what: str, fn, *args, on_done) -> None:
        self._pending += 1
        self.status.setStyleSheet("")
        self.status.setText(f"Reading {what}…")

        def done(result):
            self._pending -= 1
            try:
                if self.status.text().startswith("Reading"):
                    self.status.setText(self.where)
                on_done(result)
            except RuntimeError:  # the dialog was closed before the answer came
                pass

        def failed(msg):
            self._pending -= 1
            try:
                self.status.setStyleSheet("color:#c62828")
                self.status.setText(msg)
            except RuntimeError:
                pass

        self.runner.submit(fn, *args, on_done=done, on_fail=failed, label=what)

    def refresh(self) -> None:
        from ...registry.browse import list_models
        from ...registry.store import Store

        self.models.clear()
        self.version_list.clear()
        self.files.clear()
        self.open_button.setEnabled(False)
        uri = self.tracking_uri()
        self._submit(
            "models", lambda: (lambda s: (s.label, list_models(s)))(Store(uri)), on_done=self._show_models
        )

    def _show_models(self, result) -> None:
        label, models = result
        for m in models:
            it = QTreeWidgetItem(
                [
                    m["name"],
                    m["latest_version"] or "-",
                    _kv({k: str(v) for k, v in m["aliases"].items()}),
                    _kv(m["tags"]),
                ]
            )
            it.setData(0, Qt.UserRole, m["name"])
            it.setToolTip(0, m["description"] or m["name"])
            self.models.addTopLevelItem(it)
        for c in range(self.models.columnCount()):
            self.models.resizeColumnToContents(c)
        self._filter_models(self.filter.text())
        self.where = (
            f"{len(models)} registered models in {label}"
            if models
            else f"No registered models in {label} yet: File › Register in Registry… adds one."
        )
        self.status.setText(self.where)
        if models:
            self.models.setCurrentItem(self.models.topLevelItem(0))

    def _model_chosen(self, item, _prev=None) -> None:
        from ...registry.browse import list_versions
        from ...registry.store import Store

        self.version_list.clear()
        self.files.clear()
        self.details.clear()
        if item is None:
            return
        name, uri = item.data(0, Qt.UserRole), self.tracking_uri()
        self._submit(
            f"versions of {name}", lambda: list_versions(Store(uri), name), on_done=self._show_versions
        )

    def _show_versions(self, versions: list[dict]) -> None:
        self.versions = {v["uri"]: v for v in versions}
        for v in versions:
            metrics = ", ".join(f"{k}={_num(x)}" for k, x in v["metrics"].items())
            it = QTreeWidgetItem(
                [
                    v["version"],
                    ", ".join("@" + a for a in v["aliases"]),
                    v["created"] or "",
                    (v["run_name"] or v["run_id"] or "")[:32],
                    metrics,
                    _kv(v["tags"]),
                ]
            )
            it.setData(0, Qt.UserRole, v["uri"])
            self.version_list.addTopLevelItem(it)
        for c in range(self.version_list.columnCount()):
            self.version_list.resizeColumnToContents(c)
        if versions:
            self.version_list.setCurrentItem(self.version_list.topLevelItem(0))

    def _version_chosen(self, item, _prev=None) -> None:
        from ...registry.browse import list_files
        from ...registry.store import Store

        self.files.clear()
        if item is None:
            return
        v = self.versions.get(item.data(0, Qt.UserRole))
        if v is None:
            return
        self.open_button.setEnabled(True)
        self.pick = v["uri"]
        self._show_details(v)
        name, version, uri = v["name"], v["version"], self.tracking_uri()
        self._submit(
            f"files of {v['uri']}", lambda: list_files(Store(uri), name, version), on_done=self._show_files
        )

    def _show_details(self, v: dict) -> None:
        e = html.escape
        rows = [
            ("URI", f"<code>{e(v['uri'])}</code>"),
            ("Run", e(f"{v['run_name'] or ''} {v['run_id'] or '-'}".strip())),
        ]
        if v["description"]:
            rows.append(("Description", e(v["description"])))
        if v["metrics"]:
            rows.append(("Run metrics", e(", ".join(f"{k}={_num(x)}" for k, x in v["metrics"].items()))))
        if v["facts"]:
            rows.append(("Recorded facts", e(_kv(v["facts"]))))
        rows.append(("Source", e(v["source"] or "")))
        self.details.setHtml(
            "<table cellpadding='2'>"
            + "".join(
                f"<tr><td style='color:#555;padding-right:10px'><b>{k}</b></td><td>{x}</td></tr>"
                for k, x in rows
            )
            + "</table>"
        )

    def _show_files(self, files: list[dict]) -> None:
        for f in files:
            it = QTreeWidgetItem([f["path"], human_bytes(f["size"])])
            it.setData(0, Qt.UserRole, f["uri"])
            it.setTextAlignment(1, Qt.AlignRight | Qt.AlignVCenter)
            self.files.addTopLevelItem(it)
        self.files.resizeColumnToContents(0)

    # ---- choosing ------------------------------------------------------------------------------
    def _open_selected(self) -> None:
        self._open(self.pick)

    def _open(self, uri: str | None) -> None:
        if uri:
            self.selected_uri = uri
            self.accept()
