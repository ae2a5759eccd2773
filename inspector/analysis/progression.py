"""How each layer moves across a run's checkpoints: `ckpt progression` and the window's
Progression view.

For each model-weight tensor (keys as analysis/checkpoint_diff.py makes them) and each
checkpoint in order: its L2 norm, its relative change from the previous checkpoint
||W_t - W_t-1|| / ||W_t-1|| (chunked, analysis/tensor_diff.py), and, when the file holds
Adam-family optimizer state, the size of the next update relative to the weight
(analysis/updates.py). Optionally one tensor's histogram in every checkpoint over one
common range (a ridgeline plot). Layers are flagged:

- `stalled`: the relative change stayed at or below STALL for every step from some
  checkpoint to the last (frozen or dead layers) - `since` names that checkpoint;
- `exploded`: NaN/Inf appear, or the norm grows more than BLOWUP times from one
  checkpoint to the next (a layer that grows steadily, like a LayerNorm bias leaving
  zero, is not flagged).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..formats import open_checkpoint
from ..formats.checkpoint import Checkpoint
from ..formats.errors import CheckpointError
from .checkpoint_diff import tensor_keys
from .histogram import HistogramAccumulator
from .layouts import recognise
from .stats import finite_range, tensor_stats
from .tensor_diff import DiffCancelled, Meter, compare_sources

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".tar", ".ckpt", ".bin", ".pkl", ".ptl", ".pt2", ".safetensors")
STALL = 1e-7
BLOWUP = 5.0


@dataclass
class LayerCurve:
    key: str
    norm: list = field(default_factory=list)  # per checkpoint (None where absent/unreadable)
    rel_change: list = field(default_factory=list)  # None for the first / when absent
    adam_update: list = field(default_factory=list)  # RMS(update)/RMS(weight) or None
    nonfinite: list = field(default_factory=list)
    status: str = "ok"  # ok, stalled, exploded
    since: int | None = None  # index of the checkpoint the status starts at

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Progression:
    files: list[dict]
    layers: list[LayerCurve]
    histogram: dict | None = None

    def to_json(self) -> dict:
        return {
            "files": self.files,
            "layers": [c.to_json() for c in self.layers],
            "histogram": self.histogram,
            "thresholds": {"stall": STALL, "blowup": BLOWUP},
        }


def run_files(paths: list[str]) -> list[str]:
    """A folder of checkpoints (epoch_1.pt, epoch_2.pt, ...) as a list sorted by the number
    in the name; folders that are one checkpoint (a shard index, a DCP or Trainer folder)
    and files stay as they are."""
    from ..formats import folder_is_checkpoint
    from .search import natural_key

    out = []
    for p in paths:
        if os.path.isdir(p) and not folder_is_checkpoint(p):
            files = [
                os.path.join(p, n)
                for n in os.listdir(p)
                if n.lower().endswith(CHECKPOINT_SUFFIXES) and os.path.isfile(os.path.join(p, n))
            ]
            out.extend(sorted(files, key=lambda f: natural_key(os.path.basename(f))))
        else:
            out.append(p)
    return out


def _weights(ck: Checkpoint) -> dict:
    keys, weight_keys = tensor_keys(ck)
    use = weight_keys or set(keys)
    return {k: n for k, n in keys.items() if k in use and n.value.numel > 0}


def _adam_ratios(ck: Checkpoint, cancelled) -> dict:
    from .training import optimizer_maps
    from .updates import update_rows

    out = {}
    for m in optimizer_maps(ck):
        if not m.kind.startswith("Adam"):
            continue
        for r in update_rows(ck, m, cancelled):
            out.setdefault(r.name, r.ratio)
    return out


def progression(
    paths: list[str], key: str | None = None, bins: int = 64, meter=None, adam: bool = True
) -> Progression:
    """`paths` in run order (epoch folders are sorted by the caller, gui/loader.py)."""
    meter = meter if meter is not None else Meter()
    cancelled = lambda: getattr(meter, "cancelled", False)
    files, curves, order = [], {}, []
    prev: tuple[Checkpoint, dict] | None = None
    n = len(paths)
    meter.total = 0
    try:
        for i, path in enumerate(paths):
            ck = open_checkpoint(path)
            lay = recognise(ck)
            w = _weights(ck)
            if i == 0:  # an estimate: every checkpoint about as large as the first
                meter.total = 2 * n * sum(t.value.nbytes for t in w.values())
            files.append(
                {
                    "path": path,
                    "name": os.path.basename(path.rstrip("/")),
                    "epoch": lay.epoch,
                    "step": lay.step,
                    "tensors": len(w),
                }
            )
            ratios = _adam_ratios(ck, cancelled) if adam else {}
            for k, node in w.items():
                if k not in curves:
                    curves[k] = LayerCurve(k, [None] * i, [None] * i, [None] * i, [None] * i)
                    order.append(k)
                c = curves[k]
                old = prev[1].get(k) if prev is not None else None
                norm, rel, bad = _measure(c, ck, node.value, prev[0] if old is not None else None, old, meter)
                c.norm.append(norm)
                c.rel_change.append(rel)
                c.adam_update.append(ratios.get(k))
                c.nonfinite.append(bad)
                if cancelled():
                    raise DiffCancelled()
            for k in order:  # absent from this checkpoint
                c = curves[k]
                while len(c.norm) < i + 1:
                    for lst in (c.norm, c.rel_change, c.adam_update, c.nonfinite):
                        lst.append(None)
            if prev is not None:
                prev[0].close()
            prev = (ck, w)
        hist = ridgeline(paths, key, bins, meter) if key else None
    finally:
        if prev is not None:
            prev[0].close()
    layers = [curves[k] for k in order]
    for c in layers:
        _flag(c)
    return Progression(files, layers, hist)


def _measure(c: LayerCurve, ck: Checkpoint, t, pck: Checkpoint | None, old, meter):
    """(L2 norm, relative change from the previous checkpoint's `old`, non-finite count) of
    tensor `t`: compared chunk by chunk with `old` when both have as many elements (an
    identical tensor keeps the previous point), else its own statistics. An unreadable
    tensor is a gap (no norm, no change)."""
    norm = rel = bad = None
    try:
        if old is not None and old.value.numel == t.numel:
            d = compare_sources(
                pck.source(old.value),
                ck.source(t),
                old.value.dtype,
                t.dtype,
                old.value.dtype.numpy_raw(pck.byteorder),
                t.dtype.numpy_raw(ck.byteorder),
                meter=meter,
                reopen=lambda o=old, p=pck, c2=ck, t=t: (p.source(o.value), c2.source(t)),
            )
            if d.identical:
                norm, bad, rel = c.norm[-1], c.nonfinite[-1], 0.0
            else:
                norm, bad, rel = d.norm_b, d.nonfinite_b, d.rel_l2
        if norm is None:
            st = tensor_stats(ck.source(t), t.dtype)
            norm, bad = st.l2 or 0.0, st.nan + st.inf
    except DiffCancelled:
        raise
    except (CheckpointError, OSError, ValueError):  # an unreadable tensor: a gap
        norm = rel = None
    return norm, rel, bad


def _flag(c: LayerCurve) -> None:
    norms = [v for v in c.norm if v is not None]
    if any(b for b in c.nonfinite if b):
        c.status, c.since = "exploded", next(i for i, b in enumerate(c.nonfinite) if b)
        return
    for i in range(1, len(c.norm)):
        before, now = c.norm[i - 1], c.norm[i]
        if before is not None and now is not None and now > BLOWUP * before:
            c.status, c.since = "exploded", i
            return
    rels = c.rel_change[1:]
    if len(norms) >= 2 and rels and all(r is not None for r in rels[-1:]):
        since = None
        for i in range(len(c.rel_change) - 1, 0, -1):
            r = c.rel_change[i]
            if r is None or r > STALL:
                break
            since = i - 1
        if since is not None:
            c.status, c.since = "stalled", since


def ridgeline(paths: list[str], key: str, bins: int = 64, meter=None) -> dict:
    """One tensor's histogram in every checkpoint, all over the union of their ranges
    (counts None where a checkpoint lacks the key)."""

    def cancelled():
        return getattr(meter, "cancelled", False)

    cks = []
    try:
        found = []
        for p in paths:
            ck = open_checkpoint(p)
            cks.append(ck)
            keys, _ = tensor_keys(ck)
            node = keys.get(key)
            if node is None and ck.find(key) is not None and ck.find(key).kind == "tensor":
                node = ck.find(key)
            found.append(node)
        lo, hi = math.inf, -math.inf
        for ck, node in zip(cks, found):
            if node is not None:
                r = finite_range(ck.source(node.value), node.value.dtype)
                if r:
                    lo, hi = min(lo, r[0]), max(hi, r[1])
        if lo > hi:
            lo, hi = 0.0, 1.0
        from .decode import iter_chunks, work_dtype

        counts, edges = [], None
        for ck, node in zip(cks, found):
            if cancelled():
                raise DiffCancelled()
            if node is None:
                counts.append(None)
                continue
            acc = HistogramAccumulator(lo, hi, bins, work_dtype(node.value.dtype))
            for x in iter_chunks(ck.source(node.value), node.value.dtype):
                acc.add(x)
            h = acc.result()
            edges = h.edges
            counts.append([int(v) for v in h.counts])
        if edges is None:
            edges = np.linspace(lo, hi, bins + 1)
        return {"key": key, "edges": [float(e) for e in edges], "counts": counts}
    finally:
        for ck in cks:
            ck.close()
