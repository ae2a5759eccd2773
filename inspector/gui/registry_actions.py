"""The window's registry: File › Open from Registry… and File › Register in Registry…,
`models:/…`/`runs:/…` among the paths the window is asked to open (downloaded in the
background with progress and Cancel, then opened like any file), and the "Registry" rows of
a summary. main_window.py calls `install(window)` and `RegistryActions.take_uris(paths)`.
"""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMessageBox, QProgressDialog

from ..registry import is_registry_uri
from ..registry.resolve import origin_of
from . import settings as cfg


def install(window) -> RegistryActions:
    return RegistryActions(window)


def tracking_setting() -> str | None:
    return cfg.settings().value("registry/tracking_uri", "") or None


def set_tracking_setting(uri: str | None) -> None:
    s = cfg.settings()
    s.setValue("registry/tracking_uri", uri or "")
    s.sync()


def origin_rows(path: str) -> list[tuple[str, str]]:
    """Summary rows for a file that came from a registry (none for any other file)."""
    o = origin_of(path)
    if not o:
        return []
    e = html.escape
    if "model" in o:
        what = (
            f"model <b>{e(o['model'])}</b>, version <b>{e(str(o['version']))}</b>"
            + (
                f", aliases {e(', '.join('@' + a for a in o.get('aliases') or []))}"
                if o.get("aliases")
                else ""
            )
            + (f", run <code>{e(o['run_id'])}</code>" if o.get("run_id") else "")
        )
    else:
        what = (
            f"run <code>{e(o['run_id'])}</code>"
            + (f" ({e(o['run_name'])})" if o.get("run_name") else "")
            + (f", artifact {e(o['path'])}" if o.get("path") else "")
        )
    rows = [("Registry", f"{what}<br><code>{e(o['uri'])}</code> from {e(o['tracking_uri'])}")]
    if o.get("tags"):
        rows.append(("Version tags", e(", ".join(f"{k}={v}" for k, v in o["tags"].items()))))
    return rows


class RegistryActions:
    def __init__(self, window):
        self.window = window
        self.progress = None
        self.dialog: QProgressDialog | None = None
        self.timer = QTimer(window)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._tick)
        self.queue: list[str] = []
        self.active: str | None = None
        file_menu = next(a.menu() for a in window.menuBar().actions() if a.menu() and "File" in a.text())
        before = next((a for a in file_menu.actions() if a.menu() is not None), None)  # Open Recent
        self.open_action = QAction("Open from Re&gistry…", window)
        self.open_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.open_action.triggered.connect(self.browse)
        self.register_action = QAction("Register in Registr&y…", window)
        self.register_action.triggered.connect(self.register_current)
        file_menu.insertActions(before, [self.open_action, self.register_action])

    # ---- opening ------------------------------------------------------------------------------
    def take_uris(self, paths) -> list:
        """The registry URIs among `paths` are downloaded (then opened); the rest is returned."""
        rest = []
        for p in paths:
            if is_registry_uri(p):
                self.queue.append(p)
            else:
                rest.append(p)
        self._next()
        return rest

    def _next(self) -> None:
        if self.active is not None or not self.queue:
            return
        from ..ops.writer import Progress
        from ..registry.resolve import resolve_uri

        uri = self.active = self.queue.pop(0)
        self.progress = progress = Progress()
        dlg = QProgressDialog(f"Downloading {uri}…", "Cancel", 0, 0, self.window)
        dlg.setWindowTitle("Open from Registry")
        dlg.setWindowModality(Qt.WindowModal)
        dlg.setMinimumDuration(300)
        dlg.canceled.connect(lambda: setattr(progress, "cancelled", True))
        self.dialog = dlg
        self.timer.start()
        self.window.statusBar().showMessage(f"Downloading {uri}…")
        self.window.runner.submit(
            resolve_uri,
            uri,
            tracking_setting(),
            progress,
            on_done=lambda path: self._downloaded(uri, path),
            on_fail=lambda msg: self._failed(uri, msg),
            label=uri,
        )

    def _tick(self) -> None:
        p, d = self.progress, self.dialog
        if p is not None and d is not None and p.total:
            d.setMaximum(1000)
            d.setValue(int(1000 * min(p.done, p.total) / p.total))

    def _finish(self) -> None:
        self.timer.stop()
        if self.dialog is not None:
            self.dialog.reset()
            self.dialog.close()
            self.dialog = None
        self.active = None

    def _downloaded(self, uri: str, path: str) -> None:
        self._finish()
        self.window.open_paths([path])
        self._next()

    def _failed(self, uri: str, message: str) -> None:
        cancelled = self.progress is not None and self.progress.cancelled
        self._finish()
        if cancelled:
            self.window.statusBar().showMessage(f"Download of {uri} cancelled", 5000)
        else:
            self.window.statusBar().showMessage(f"{uri}: {message}", 15000)
            self.window.show_error("Cannot open from the registry", message)
        self._next()

    # ---- dialogs ------------------------------------------------------------------------------
    def _mlflow_ok(self, title: str) -> bool:
        from ..registry import RegistryError
        from ..registry.store import mlflow

        try:
            mlflow()
        except RegistryError as exc:
            self.window.show_error(title, str(exc))
            return False
        return True

    def make_browser(self):
        from .dialogs.registry_browser_dialog import RegistryBrowserDialog

        return RegistryBrowserDialog(self.window.runner, tracking_setting(), self.window)

    def browse(self) -> None:
        if not self._mlflow_ok("Open from Registry"):
            return
        dlg = self.make_browser()
        if dlg.exec() == QDialog.Accepted and dlg.selected_uri:
            set_tracking_setting(dlg.tracking_uri())
            self.take_uris([dlg.selected_uri])

    def make_register_dialog(self, f):
        from ..registry.register import checkpoint_facts
        from .dialogs.register_dialog import RegisterDialog

        facts = checkpoint_facts(f.ck, f.summary, f.training, f.verdict)
        return RegisterDialog(f.path, facts, self.window.runner, tracking_setting(), self.window)

    def register_current(self) -> None:
        f = self.window.current_file()
        if f is None:
            self.window.show_error("Register in Registry", "Open a checkpoint first.")
            return
        if not self._mlflow_ok("Register in Registry"):
            return
        dlg = self.make_register_dialog(f)
        if dlg.exec() != QDialog.Accepted:
            return
        self.register(f.path, dlg.options())

    def register(self, path: str, o) -> None:
        """Register `path` with the dialog's RegisterOptions `o`, in the background."""
        from ..registry.register import register_checkpoint

        busy = QProgressDialog(f"Registering {os.path.basename(path)} as {o.name}…", None, 0, 0, self.window)
        busy.setWindowModality(Qt.WindowModal)
        busy.setMinimumDuration(300)

        def done(r):
            busy.close()
            self.window.statusBar().showMessage(f"Registered {path} as {r['uri']}", 15000)
            QMessageBox.information(
                self.window, "Registered", f"{os.path.basename(path)} is now {r['uri']}\n(run {r['run_id']})"
            )

        def failed(msg):
            busy.close()
            self.window.show_error("Register in Registry", msg)

        self.window.runner.submit(
            register_checkpoint,
            path,
            o.name,
            o.tags,
            o.description,
            o.alias,
            o.force,
            o.tracking_uri,
            o.facts,
            on_done=done,
            on_fail=failed,
            label="register",
        )
