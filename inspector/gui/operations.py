"""Running a conversion from the window: background job, progress dialog, Cancel.

The operation reports progress into a `Progress` object from its worker thread; the
dialog polls it on the GUI thread, and Cancel sets its flag (the operation stops at its
next chunk and leaves no file behind)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QProgressDialog

from ..ops.writer import Progress


def failed_title(label: str) -> str:
    """'Stripping…' -> 'Stripping failed' (a title, not a progress label)."""
    return f"{label.rstrip('…. ')} failed"


class OperationRunner:
    def __init__(self, window):
        self.window = window
        self.progress: Progress | None = None
        self.dialog: QProgressDialog | None = None
        self.timer = QTimer(window)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._tick)
        self.last_result = None

    def run(self, label: str, fn, *args, on_done=None) -> None:
        self.progress = progress = Progress()
        self.last_result = None
        dlg = QProgressDialog(label, "Cancel", 0, 1000, self.window)
        dlg.setWindowModality(Qt.WindowModal)
        dlg.setMinimumDuration(300)
        dlg.canceled.connect(lambda: setattr(progress, "cancelled", True))
        self.dialog = dlg
        self.timer.start()

        def done(result):
            self._finish()
            self.last_result = result
            if on_done is not None:
                on_done(result)

        def failed(message):
            self._finish()
            title = failed_title(label)
            self.window.show_error(title, message.replace("pass --force (or confirm)", "confirm"))

        self.window.runner.submit(fn, *args, progress, on_done=done, on_fail=failed, label=label)

    def _tick(self) -> None:
        p, d = self.progress, self.dialog
        if p is not None and d is not None and p.total:
            d.setValue(int(1000 * min(p.done, p.total) / p.total))

    def _finish(self) -> None:
        self.timer.stop()
        if self.dialog is not None:
            self.dialog.reset()
            self.dialog.close()
            self.dialog = None
