"""Warm-start: the template checkpoint with every tensor replaced by its matching source
tensor - what people do by hand with load_state_dict(strict=False), without its traps
(docs/FACTS.md: a shape mismatch still raises, and tensors before it were already copied).

Matching: exact keys, then the user's prefix/rename rules; when none are given and
stripping `module.` (DataParallel/DDP) or `_orig_mod.` (torch.compile), or adding one,
explains the mismatch, that rule is proposed and applied. Shape mismatches keep the
template's tensor and are listed; dtypes are cast to the template's. The template's
pickle is kept byte for byte: only its storage records are rewritten, so the output is
exactly the template's structure (nested layouts, optimizer state and all).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

from ..analysis.decode import decode
from ..analysis.key_alignment import AUTO_PREFIXES, propose_rule, rename  # noqa: F401 (re-exported)
from ..analysis.layouts import recognise
from ..formats import open_checkpoint
from ..formats.checkpoint import Checkpoint
from ..formats.tensor_data import extent
from .errors import OpError
from .objects import state_dict_of
from .results import WarmstartResult
from .writer import Progress, TorchZipWriter, atomic_output, copy_range


@dataclass
class MatchPlan:
    source: str
    template: str
    source_key: str
    template_key: str
    rules: list[str] = field(default_factory=list)
    matched: list = field(default_factory=list)  # (template key, source key)
    matched_by_rule: list = field(default_factory=list)
    shape_mismatch: list = field(default_factory=list)  # (tkey, skey, tshape, sshape)
    missing: list = field(default_factory=list)  # template keys with no source tensor
    unexpected: list = field(default_factory=list)  # source keys nobody used
    proposed: str | None = None

    def report(self) -> dict:
        return {
            "source": self.source,
            "template": self.template,
            "source_key": self.source_key,
            "template_key": self.template_key,
            "rules": self.rules,
            "proposed_rule": self.proposed,
            "matched": [t for t, _ in self.matched],
            "matched_after_rules": [{"template": t, "source": s} for t, s in self.matched_by_rule],
            "shape_mismatch": [
                {"key": t, "source_key": s, "template_shape": list(ts), "source_shape": list(ss)}
                for t, s, ts, ss in self.shape_mismatch
            ],
            "missing": self.missing,
            "unexpected": self.unexpected,
        }

    def python(self, output: str) -> str:
        """Python that runs as written: a function that fills a model built like the
        template. The output holds exactly the template's keys (entries without a match
        keep the template's values), so loading is strict: nothing is skipped silently."""
        index = "".join(f"[{p!r}]" for p in self.template_key.split("/") if p)
        kept = len(self.missing) + len(self.shape_mismatch)
        note = (
            f"    # {kept} of the template's entries keep its own values (no source tensor "
            "of that name and shape)\n"
            if kept
            else ""
        )
        return (
            "import torch\n\n\n"
            "def load_warm_start(model: torch.nn.Module) -> torch.nn.Module:\n"
            f'    """Fill `model` (built like the template {os.path.basename(self.template)}) '
            'with the warm-started weights."""\n'
            f"    state = torch.load({output!r}, weights_only=True){index}\n"
            + note
            + "    model.load_state_dict(state, strict=True)  # the file has exactly the template's keys\n"
            "    return model\n"
        )


def _key_of(ck: Checkpoint, key: str | None, what: str) -> str:
    if key is not None:
        if ck.find(key) is None:
            raise OpError(f"the {what} has no entry named {key!r}")
        return key
    w = recognise(ck).weights
    if w is None:
        raise OpError(f"no state_dict recognised in the {what}; name it with --{what}-key PATH")
    return w


def plan_warmstart(
    source: str,
    template: str,
    strip_prefix=None,
    add_prefix=None,
    renames=None,
    source_key=None,
    template_key=None,
) -> MatchPlan:
    strip_prefix, add_prefix = list(strip_prefix or []), list(add_prefix or [])
    try:
        regex = [tuple(r.split("=", 1)) for r in (renames or [])]
        for pattern, _ in regex:
            re.compile(pattern)
    except (ValueError, re.error) as exc:
        raise OpError(f"--rename wants REGEX=REPL with a valid regular expression ({exc})") from None
    src_ck, tpl_ck = open_checkpoint(source), open_checkpoint(template)
    try:
        sk, tk = _key_of(src_ck, source_key, "source"), _key_of(tpl_ck, template_key, "template")
        src = dict(state_dict_of(src_ck, src_ck.find(sk)))
        tpl = dict(state_dict_of(tpl_ck, tpl_ck.find(tk)))
        plan = MatchPlan(source, template, sk, tk)
        explicit = bool(strip_prefix or add_prefix or regex)
        if not explicit:
            strip_prefix, add_prefix = _propose(src, tpl, plan)
        plan.rules = (
            [f"strip {p!r}" for p in strip_prefix]
            + [f"add {p!r}" for p in add_prefix]
            + [f"rename {a!r} -> {b!r}" for a, b in regex]
        )
        used = set()
        by_new = {}
        for k in src:
            by_new.setdefault(rename(k, strip_prefix, add_prefix, regex), k)
        for tkey, tnode in tpl.items():
            skey = by_new.get(tkey)
            if skey is None:
                plan.missing.append(tkey)
                continue
            used.add(skey)
            ts, ss = tuple(tnode.value.shape), tuple(src[skey].value.shape)
            if ts != ss:
                plan.shape_mismatch.append((tkey, skey, ts, ss))
            elif skey == tkey:
                plan.matched.append((tkey, skey))
            else:
                plan.matched_by_rule.append((tkey, skey))
        plan.unexpected = [k for k in src if k not in used]
        return plan
    finally:
        src_ck.close()
        tpl_ck.close()


def _propose(src: dict, tpl: dict, plan: MatchPlan) -> tuple[list, list]:
    """A prefix rule, when one explains the mismatch better than none."""
    rule = propose_rule(src, tpl)
    if not rule.empty:
        plan.proposed = rule.describe()
    return rule.strip, rule.add


def apply_warmstart(
    plan: MatchPlan, output: str, force: bool = False, progress: Progress | None = None
) -> WarmstartResult:
    progress = progress or Progress()
    src_ck, tpl_ck = open_checkpoint(plan.source), open_checkpoint(plan.template)
    try:
        if tpl_ck.format not in ("zip",):
            raise OpError(
                f"the template must be a torch.save zip file (this one is {tpl_ck.format}); "
                "re-map or strip it first"
            )
        src = dict(state_dict_of(src_ck, src_ck.find(plan.source_key)))
        tpl = dict(state_dict_of(tpl_ck, tpl_ck.find(plan.template_key)))
        patches: dict[int, list] = {}  # id(storage) -> [(template TensorInfo, source node)]
        for tkey, skey in plan.matched + plan.matched_by_rule:
            t = tpl[tkey].value
            patches.setdefault(id(t.storage), []).append((t, src[skey]))
        c = tpl_ck.container
        storages = list(tpl_ck.storages.values())
        progress.total = sum(s.nbytes for s in storages)
        with atomic_output(output, [plan.source, plan.template], force) as tmp:
            w = TorchZipWriter(tmp, c.root.rstrip("/") or "archive")
            try:
                for name in c.names:
                    rel = name[len(c.root) :]
                    if rel.startswith("data/"):
                        continue
                    data = c.read_member(name, rel)
                    w.write(rel, data, len(data))
                for s in storages:
                    c.locate(s)
                    todo = patches.get(id(s))
                    if not todo:
                        w.write(
                            f"data/{s.key}",
                            copy_range(tpl_ck.path, s.data_offset, s.nbytes),
                            s.nbytes,
                            progress,
                        )
                        continue
                    buf = bytearray(b"".join(copy_range(tpl_ck.path, s.data_offset, s.nbytes)))
                    for t, snode in todo:
                        _patch(buf, t, src_ck, snode)
                    progress.advance(len(buf))
                    w.write(f"data/{s.key}", bytes(buf), len(buf))
            finally:
                w.close()
            _verify(tmp, plan, src_ck, src, tpl)
        report = plan.report()
        report_path = os.path.splitext(output)[0] + ".warmstart.json"
        with open(report_path, "w") as fh:
            json.dump(report, fh, indent=2)
        return WarmstartResult(os.path.abspath(output), report_path, report, plan.python(output))
    finally:
        src_ck.close()
        tpl_ck.close()


def _values(ck: Checkpoint, node, target) -> np.ndarray:
    """The source tensor's values in the template tensor's dtype (raw element bytes)."""
    arr = np.asarray(ck.array(node))
    t = node.value
    if t.dtype.name == target.name:
        return np.ascontiguousarray(arr)
    x = decode(np.ascontiguousarray(arr).reshape(-1), t.dtype).reshape(arr.shape)
    if target.name == "bfloat16":
        from .remap import cast_fn

        return cast_fn("bf16")(x.astype(np.float32))
    if target.kind not in ("float", "int", "uint", "bool"):
        raise OpError(f"cannot cast {t.dtype.name} into a {target.name} template tensor")
    return x.astype(np.dtype(target.raw))


def _patch(buf: bytearray, t, src_ck, snode) -> None:
    start, stop = extent(t)
    item = t.dtype.itemsize
    raw = t.dtype.numpy_raw()
    storage = np.frombuffer(buf, dtype=raw)
    view = np.lib.stride_tricks.as_strided(
        storage[start:], shape=t.shape, strides=tuple(s * item for s in t.stride)
    )
    view[...] = _values(src_ck, snode, t.dtype).reshape(t.shape).view(raw)


def _verify(path: str, plan: MatchPlan, src_ck, src: dict, tpl: dict) -> None:
    out = open_checkpoint(path)
    try:
        got = dict(state_dict_of(out, out.find(plan.template_key)))
        if list(got) != list(tpl):
            raise OpError("verification failed: the output's keys differ from the template's")
        for tkey, skey in plan.matched + plan.matched_by_rule:
            want = _values(src_ck, src[skey], tpl[tkey].value.dtype).reshape(-1).tobytes()
            if np.ascontiguousarray(out.array(got[tkey])).reshape(-1).tobytes() != want:
                raise OpError(f"verification failed: {tkey} does not hold the source values")
    finally:
        out.close()
