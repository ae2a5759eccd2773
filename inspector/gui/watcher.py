"""Live reload: notice when an open file is replaced, wait until it is complete, reload.

Training loops write a temporary file and rename it over the checkpoint; QFileSystemWatcher
stops watching a path replaced that way (docs/FACTS.md), so the path is re-added on every
change and its folder is watched too. Changes are debounced, and a reload is asked for
only when the file's identity (size, mtime, inode) differs from the one last loaded and
has stayed the same for a moment - so a file written in several goes is reloaded once,
when it is whole. A load that still fails (half written) is retried by the window.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

SETTLE_MS = 300


def signature(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class ReloadWatcher(QObject):
    changed = Signal(str)  # the path is complete and differs from what was loaded

    def __init__(self, parent=None):
        super().__init__(parent)
        self.enabled = True
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._poke)
        self.watcher.directoryChanged.connect(self._folder)
        self.loaded: dict[str, tuple] = {}  # path -> signature of what is shown
        self.pending: dict[str, tuple] = {}  # path -> signature seen last poll
        self.timer = QTimer(self)
        self.timer.setInterval(SETTLE_MS)
        self.timer.timeout.connect(self._settle)

    def watch(self, path: str) -> None:
        path = os.path.abspath(path)
        if os.path.isdir(path):
            return
        self.loaded[path] = signature(path)
        self.watcher.addPath(path)
        self.watcher.addPath(os.path.dirname(path))

    def forget(self, path: str) -> None:
        path = os.path.abspath(path)
        self.loaded.pop(path, None)
        self.pending.pop(path, None)
        self.watcher.removePath(path)

    def mark_loaded(self, path: str, sig) -> None:
        self.loaded[os.path.abspath(path)] = sig

    def _folder(self, folder: str) -> None:
        for path in list(self.loaded):
            if os.path.dirname(path) == folder:
                self._poke(path)

    def _poke(self, path: str) -> None:
        if not self.enabled or path not in self.loaded:
            return
        if os.path.exists(path) and path not in self.watcher.files():
            self.watcher.addPath(path)  # replaced by rename: watch the new file
        self.pending[path] = None
        if not self.timer.isActive():
            self.timer.start()

    def _settle(self) -> None:
        for path in list(self.pending):
            sig = signature(path)
            if sig is None:
                continue  # gone for now (mid-rename); keep waiting
            if sig != self.pending[path]:
                self.pending[path] = sig  # still changing: look again next tick
                continue
            del self.pending[path]
            if sig != self.loaded.get(path):
                self.changed.emit(path)
        if not self.pending:
            self.timer.stop()
