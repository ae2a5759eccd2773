"""One inspection per file: everything `ckpt` and the window show about a file or folder,
computed in one pass and in one place.

`inspect(path)` opens the checkpoint through the format registry, then derives from that
one tree the summary, the recognised layout, the optimizer maps, the training card, the
model size and the security verdict. The verdict reuses what the reader already read (its
unpickler's per-stream report and its decoded zip directory, typed attributes of the
container); a file or folder the reader refuses still gets a verdict, so a hostile file
cannot hide behind a read error. `need` names the parts a caller wants; `ckpt info` and
the window need all of them, `ckpt tree`, `stats`, `diff` and the Compare window none
(`read_checkpoint`: the tree alone). The verdict alone (`need=VERDICT`: `ckpt scan`, its
store workers, export's trust check) builds no tree: the scan's own pass over the bytes,
as cheap as `scan_file`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..formats import CheckpointError, open_checkpoint
from ..formats.checkpoint import Checkpoint
from ..formats.limits import DEFAULT_LIMITS, Limits, gc_paused
from .verdict import Verdict, scan_file

ALL = frozenset({"summary", "training", "verdict"})
VERDICT = frozenset({"verdict"})  # the verdict alone: no tree is built


@dataclass(eq=False)
class Inspection:
    path: str
    checkpoint: Checkpoint | None  # None when the reader refused the file (read_error), or need=VERDICT
    summary: dict = field(default_factory=dict)  # counts, dtypes, devices (summary.summarize)
    layout: object = None  # analysis.layouts.Layout
    maps: list = field(default_factory=list)  # OptimizerMap per optimizer in the file
    training: dict = field(default_factory=dict)  # the training card (training_summary)
    model: dict = field(default_factory=dict)  # parameters apart from optimizer state
    verdict: Verdict | None = None
    warnings: list[str] = field(default_factory=list)
    read_error: str | None = None

    @property
    def dangerous(self) -> bool:
        return self.verdict is not None and self.verdict.verdict == "dangerous"


def inspect(path: str | os.PathLike, *, need=ALL, limits: Limits = DEFAULT_LIMITS) -> Inspection:
    """Read `path` once and work out the parts in `need` ("summary", "training",
    "verdict"). Never raises for bad input: a refused file has `read_error` set (and its
    verdict when "verdict" is needed). `need=VERDICT` reads no tree (`checkpoint` None)."""
    path = os.fspath(path)
    if frozenset(need) == VERDICT:
        return Inspection(path, None, verdict=scan_file(path))
    with gc_paused():  # tens of thousands of records: the collector would walk them again and again
        return _inspect(path, need, limits)


def read_checkpoint(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Checkpoint:
    """The checkpoint alone (`inspect(path, need=())`) for a caller that needs nothing
    derived; a file the reader refuses raises CheckpointError with the reader's one line."""
    found = inspect(path, need=(), limits=limits)
    if found.read_error is not None:
        raise CheckpointError(found.read_error)
    return found.checkpoint


def _inspect(path: str, need, limits: Limits) -> Inspection:
    try:
        ck = open_checkpoint(path, limits)
    except CheckpointError as exc:
        out = Inspection(path, None, read_error=str(exc))
        if "verdict" in need:
            out.verdict = scan_file(path)
        return out
    return inspect_checkpoint(ck, need=need)


def inspect_checkpoint(ck: Checkpoint, *, need=ALL) -> Inspection:
    """The parts in `need` of a checkpoint already open."""
    out = Inspection(ck.path, ck, warnings=list(ck.warnings))
    if "verdict" in need:
        c = ck.container
        out.verdict = scan_file(ck.path, c.reports, c.zipdir)
    if "training" in need or "summary" in need:
        from .layouts import recognise
        from .summary import model_size, summarize
        from .training import optimizer_maps, training_summary

        out.layout = recognise(ck)
        if "summary" in need:
            out.summary = summarize(ck)
            out.model = model_size(ck, out.layout)
            out.summary["model"] = out.model
        if "training" in need:
            out.maps = optimizer_maps(ck, out.layout)
            out.training = training_summary(ck, out.layout, out.maps)
    return out
