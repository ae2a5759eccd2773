"""What the window keeps for each open file, computed off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis.inspection import VERDICT, inspect
from ..analysis.progression import CHECKPOINT_SUFFIXES  # noqa: F401 (kept importable here)
from ..analysis.progression import run_files as expand_folders  # noqa: F401 (a folder -> sorted epochs)
from ..analysis.search import SearchIndex
from ..analysis.summary import summarize
from ..analysis.training import training_summary
from ..analysis.verdict import Verdict
from ..formats import CheckpointError
from ..formats.checkpoint import Checkpoint, assemble
from ..formats.container import Container


@dataclass(eq=False)
class OpenFile:
    path: str
    ck: Checkpoint
    summary: dict
    verdict: Verdict
    training: dict
    maps: list = field(default_factory=list)  # OptimizerMap per optimizer in the file
    signature: tuple | None = None  # (size, mtime, inode) of the file when it was read
    seq: int = 0  # the order the user asked for it in (rows keep that order)
    read_error: str | None = None  # the reader could not open it: only the verdict is shown
    _index: SearchIndex | None = field(default=None, repr=False)

    @property
    def dangerous(self) -> bool:
        return self.verdict.verdict == "dangerous"

    def search_index(self) -> SearchIndex:
        if self._index is None:
            self._index = SearchIndex(self.ck.root)
        return self._index


def load(path: str) -> OpenFile:
    from .watcher import signature

    sig = signature(path)
    found = inspect(path)
    if found.read_error is not None:
        return verdict_only(path, CheckpointError(found.read_error), sig, found.verdict)
    f = OpenFile(
        path=path,
        ck=found.checkpoint,
        summary=found.summary,
        verdict=found.verdict,
        training=found.training,
        maps=found.maps,
        signature=sig,
    )
    f.search_index()  # built here, off the GUI thread, so the first keystroke is quick
    return f


def verdict_only(path: str, exc: CheckpointError, sig=None, verdict: Verdict | None = None) -> OpenFile:
    """A file (or folder) the reader cannot open but the scan can judge: it opens to its
    verdict page with the evidence (red when dangerous, amber when we cannot vouch for
    it) instead of a bare error. A file nothing would load stays an error."""
    if verdict is None:
        verdict = inspect(path, need=VERDICT).verdict
    if verdict.verdict in ("unreadable", "safe"):
        raise exc
    ck = assemble(path, "unreadable", {}, Container(), {})
    return OpenFile(
        path=path,
        ck=ck,
        summary=summarize(ck),
        verdict=verdict,
        training=training_summary(ck),
        signature=sig,
        read_error=str(exc),
    )
