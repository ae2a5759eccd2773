"""Re-map device tags (and optionally cast floating storages) without loading anything.

`cuda:1 -> cuda:0`, every `cuda*`/`mps` -> `cpu`: the persistent ids in `data.pkl` are
edited at the opcode level (pickle_rewrite), storage records are copied byte for byte,
and every non-tensor object - whole pickled modules, custom classes - is kept exactly,
without importing them. A legacy (pre-1.6) input is written in the zip format. The
output is re-opened with our reader and checked tensor by tensor.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

import numpy as np

from ..analysis.dtype_names import CAST_STORAGES, cast_dtype
from ..formats import open_checkpoint
from ..formats.stubs import StorageRef
from .errors import OpError
from .pickle_rewrite import PidEdit, binunicode_op, global_op, rewrite
from .results import RemapResult
from .verify import verify_same
from .writer import Progress, TorchZipWriter, atomic_output, copy_range

CASTABLE = {"FloatStorage": "float32"}


def parse_map(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep or not src or not dst:
            raise OpError(f"--map wants SRC=DST (e.g. cuda:1=cuda:0 or 'cuda*=cpu'), got {item!r}")
        out.append((src.strip(), dst.strip()))
    return out


def target_of(location: str, rules: list[tuple[str, str]], to: str | None) -> str:
    if to is not None:
        return to
    for src, dst in rules:
        if location == src or fnmatch.fnmatchcase(location, src):
            return dst
    return location


@dataclass
class RemapPlan:
    path: str
    format: str
    to: str | None
    rules: list
    cast: str | None
    changes: dict = field(default_factory=dict)  # old tag -> (new tag, storages)
    cast_storages: int = 0
    cast_bytes_before: int = 0
    notes: list = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [f"{old} -> {new}: {n} storages" for old, (new, n) in self.changes.items()]
        if self.cast:
            lines.append(
                f"cast {self.cast_storages} float32 storages to {cast_dtype(self.cast)} "
                f"({self.cast_bytes_before:,} -> {self.cast_bytes_before // 2:,} bytes)"
            )
        return lines + self.notes


def plan_remap(
    path: str, to: str | None = None, rules: list | None = None, cast: str | None = None
) -> RemapPlan:
    rules = rules or []
    if to is None and not rules:
        raise OpError("say where tensors go: --to DEVICE or --map SRC=DST")
    try:
        cast_dtype(cast)
    except ValueError as exc:
        raise OpError(str(exc)) from None
    ck = open_checkpoint(path)
    try:
        if ck.format not in ("zip", "legacy"):
            raise OpError(f"re-mapping reads torch.save files (zip or legacy), not {ck.format}")
        plan = RemapPlan(path, ck.format, to, rules, cast)
        for s in ck.storages.values():
            new = target_of(s.location, rules, to)
            _, n = plan.changes.get(s.location, (new, 0))
            plan.changes[s.location] = (new, n + 1)
            if cast and s.dtype.name == "float32":
                plan.cast_storages += 1
                plan.cast_bytes_before += s.nbytes
        if ck.format == "legacy":
            plan.notes.append(
                "the input is in the legacy (pre-1.6) format; the output is "
                "written in the zip format torch.save uses today"
            )
        return plan
    finally:
        ck.close()


def _to_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, rounding to nearest even as torch does; NaN stays NaN."""
    u = x.astype(np.float32, copy=False).view(np.uint32)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        rounded[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return rounded


def cast_fn(cast: str):
    target = cast_dtype(cast)
    if target == "bfloat16":
        return _to_bf16
    return lambda x: x.astype(np.float16)


def _cast_chunks(path: str, ref: StorageRef, cast: str, progress: Progress, block: int = 1 << 22):
    fn = cast_fn(cast)
    for chunk in copy_range(path, ref.data_offset, ref.nbytes, block * 4):
        progress.check()
        yield fn(np.frombuffer(chunk, dtype="<f4")).tobytes()


def _pid_editor(plan: RemapPlan, cast_keys: set[str]):
    """The persistent-id callback: new device tags, cast storage classes, legacy ids made
    into zip ones; the keys of the storages to cast are added to `cast_keys`."""

    def on_pid(edit: PidEdit) -> None:
        v = edit.values
        if v and v[0] == "module":  # legacy class source: keep the class reference only
            edit.unwrap = 1
            return
        if len(v) < 5 or v[0] != "storage":
            raise OpError(f"unexpected persistent id {v!r:.80}")
        location, key = v[3], str(v[2])
        new = target_of(location, plan.rules, plan.to)
        if new != location:
            edit.replace[3] = binunicode_op(new)
        stype = v[1]
        if plan.cast and isinstance(stype, tuple) and stype[2] in CASTABLE:
            edit.replace[1] = global_op("torch", CAST_STORAGES[cast_dtype(plan.cast)])
            cast_keys.add(key)
        if len(v) == 6:  # legacy: (…, view_metadata)
            if v[5] is not None:
                raise OpError("the legacy file uses storage views, which the zip format lacks")
            edit.drop.add(5)

    return on_pid


def _data_pickle(ck) -> tuple[bytes, str]:
    """The pickle naming the storages, and the archive folder name to write."""
    c = ck.container
    if ck.format == "zip":
        return c.read_member(c.root + "data.pkl", "data.pkl"), c.root.rstrip("/") or "archive"
    _, start, end = c.streams[3]
    c.fh.seek(start)
    return c.fh.read(end - start), "archive"


def apply_remap(
    plan: RemapPlan, output: str, force: bool = False, progress: Progress | None = None
) -> RemapResult:
    progress = progress or Progress()
    ck = open_checkpoint(plan.path)
    try:
        cast_keys: set[str] = set()
        pkl, root = _data_pickle(ck)
        new_pkl = rewrite(pkl, _pid_editor(plan, cast_keys))
        c = ck.container
        storages = sorted(ck.storages.values(), key=lambda s: _key_order(s.key))
        progress.total = sum(s.nbytes for s in storages)
        with atomic_output(output, [plan.path], force) as tmp:
            w = TorchZipWriter(tmp, root)
            try:
                w.write("data.pkl", new_pkl, len(new_pkl))
                w.write(".format_version", b"1", 1)
                w.write(".storage_alignment", b"64", 2)
                w.write("byteorder", ck.byteorder.encode(), len(ck.byteorder))
                for s in storages:
                    c.locate(s)
                    if s.key in cast_keys:
                        w.write(f"data/{s.key}", _cast_chunks(ck.path, s, plan.cast, progress), s.nbytes // 2)
                    else:
                        w.write(
                            f"data/{s.key}", copy_range(ck.path, s.data_offset, s.nbytes), s.nbytes, progress
                        )
                w.write("version", b"3\n", 2)
            finally:
                w.close()
            casts = {
                n.path: cast_fn(plan.cast)
                for n in ck.tensors
                if n.value.storage is not None and n.value.storage.key in cast_keys
            }
            check = verify_same(ck, tmp, cast=casts)
        return RemapResult(
            os.path.abspath(output), {k: v[0] for k, v in plan.changes.items()}, check, plan.notes
        )
    finally:
        ck.close()


def _key_order(key: str):
    return (0, int(key)) if key.isdigit() else (1, key)
