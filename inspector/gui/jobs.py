"""Background work that never freezes the window.

A Job runs a plain function on Qt's thread pool and reports back through signals
delivered on the GUI thread. docs/FACTS.md: connect before starting, and keep the signal
object alive until delivery, or fast jobs finish unheard - the runner holds every job
until its result has been handed over. Cancel is cooperative: a cancelled job's result
is dropped, and functions that loop may check `job.cancelled`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from ..formats.errors import CheckpointError


class JobSignals(QObject):
    done = Signal(object, object)  # job, result
    failed = Signal(object, str)  # job, one-line message


class Job(QRunnable):
    def __init__(self, fn: Callable[..., Any], *args, label: str = ""):
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.args = args
        self.label = label
        self.cancelled = False
        self.signals = JobSignals()

    def run(self) -> None:
        try:
            result = self.fn(*self.args)
        except CheckpointError as exc:
            self.signals.failed.emit(self, str(exc))
        except MemoryError:
            self.signals.failed.emit(self, "not enough memory for this operation")
        except Exception as exc:  # a bug of ours: say it in one line, keep the app alive
            self.signals.failed.emit(
                self, f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            )
        else:
            self.signals.done.emit(self, result)


class JobRunner(QObject):
    """Starts jobs; `synchronous=True` runs them inline (screenshots, some tests)."""

    def __init__(self, parent=None, synchronous: bool = False):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.synchronous = synchronous
        self.active: set[Job] = set()

    def submit(self, fn, *args, on_done=None, on_fail=None, label: str = "") -> Job:
        job = Job(fn, *args, label=label)
        job.on_done, job.on_fail = on_done, on_fail
        # Slots of this QObject (GUI thread): the worker's emit is queued to us.
        job.signals.done.connect(self._done)
        job.signals.failed.connect(self._failed)
        self.active.add(job)
        if self.synchronous:
            job.run()
        else:
            self.pool.start(job)
        return job

    @Slot(object, object)
    def _done(self, job, result):
        self.active.discard(job)
        if not job.cancelled and job.on_done is not None:
            job.on_done(result)

    @Slot(object, str)
    def _failed(self, job, message):
        self.active.discard(job)
        if not job.cancelled and job.on_fail is not None:
            job.on_fail(message)

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)
