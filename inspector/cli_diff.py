"""`ckpt diff` and `ckpt progression`: the command line over analysis/checkpoint_diff.py and
analysis/progression.py (registered from cli.build_parser).

`ckpt diff --exit-code` follows the contract of docs/ARCHITECTURE.md: 0 the same, 1 they
differ, 2 unreadable input (also when a common tensor could not be read: sameness cannot
be vouched for).
"""

from __future__ import annotations

import json
import sys

from .cli_common import UsageError, checkpoint_of
from .present import human_bytes, shape_text


def register(sub, commands: dict) -> None:
    s = sub.add_parser("diff", help="what differs between two checkpoints (any formats)")
    s.add_argument("a", metavar="A")
    s.add_argument("b", metavar="B")
    s.add_argument("--atol", type=float, default=0.0, help="call |a-b| <= atol + rtol*|b| equal")
    s.add_argument("--rtol", type=float, default=0.0)
    s.add_argument("--exit-code", action="store_true", help="exit 0 when the same, 1 when they differ")
    s.add_argument("--limit", type=int, default=50, metavar="N", help="rows per section in text output")
    s.add_argument("--json", action="store_true")
    commands["diff"] = cmd_diff

    s = sub.add_parser("progression", help="per-layer norms and changes across a run's checkpoints")
    s.add_argument("paths", nargs="+", metavar="FOLDER_OR_FILES")
    s.add_argument("--key", metavar="K", help="also this tensor's histogram in every checkpoint")
    s.add_argument("--bins", type=int, default=32)
    s.add_argument("--no-adam", action="store_true", help="skip the Adam update sizes")
    s.add_argument("--json", action="store_true")
    commands["progression"] = cmd_progression


def _num(v, fmt=".3e") -> str:
    return "-" if v is None else format(v, fmt)


def _progress_meter():
    from .analysis.tensor_diff import Meter

    if not sys.stderr.isatty():
        return Meter()

    class Shown(Meter):
        def __setattr__(self, name, value):
            super().__setattr__(name, value)
            if name == "done" and self.total:
                sys.stderr.write(f"\r{min(100, 100 * value // self.total):3d}% of {human_bytes(self.total)}")
                sys.stderr.flush()

    return Shown()


def cmd_diff(args) -> int:
    from .analysis.checkpoint_diff import plan_diff, run_diff

    if args.atol < 0 or args.rtol < 0:
        raise UsageError("ckpt diff: --atol and --rtol must not be negative")
    a, b = checkpoint_of(args.a), checkpoint_of(args.b)
    try:
        result = run_diff(a, b, plan_diff(a, b), args.atol, args.rtol, _progress_meter())
    finally:
        a.close()
        b.close()
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 30 + "\r")
    errors = [r for r in result.rows if r.status == "error"]
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        _print_diff(result, args.limit)
    if errors:
        print(
            f"ckpt: {len(errors)} tensors could not be read, e.g. {errors[0].key}: {errors[0].error}",
            file=sys.stderr,
        )
        return 2
    return (1 if result.differs else 0) if args.exit_code else 0


def _print_diff(r, limit: int) -> None:
    print(f"{r.path_a} ({r.format_a}) vs {r.path_b} ({r.format_b})")
    print(r.summary() + f"; read {human_bytes(r.bytes_read)}")
    if r.rule:
        print(f"keys aligned with the rule: {r.rule} (on A's keys)")
    if r.atol or r.rtol:
        print(f"tolerance: |a-b| <= {r.atol:g} + {r.rtol:g}*|b| counts as equal")
    _print_changed(r.changed_sorted(), limit)
    sections = [
        (
            "shape changed",
            lambda x: x.status == "shape",
            lambda x: f"{shape_text(x.shape_a)} -> {shape_text(x.shape_b)}",
        ),
        (
            "dtype changed, values identical or equal",
            lambda x: x.status in ("identical", "equal") and x.dtype_a != x.dtype_b,
            lambda x: f"{x.dtype_a} -> {x.dtype_b}",
        ),
        (
            "only in A (removed)",
            lambda x: x.status == "removed",
            lambda x: f"{shape_text(x.shape_a)} {x.dtype_a}",
        ),
        (
            "only in B (added)",
            lambda x: x.status == "added",
            lambda x: f"{shape_text(x.shape_b)} {x.dtype_b}",
        ),
        ("unreadable", lambda x: x.status == "error", lambda x: x.error),
    ]
    for title, pick, text in sections:
        rows = [x for x in r.rows if pick(x)]
        if rows:
            print(f"\n{title}: {len(rows)}")
            for x in rows[:limit]:
                print(f"  {x.key}  {text(x)}")
            if len(rows) > limit:
                print(f"  … {len(rows) - limit} more")
    if r.structure:
        print(f"\nother differences: {len(r.structure) + r.structure_more}")
        for e in r.structure[:limit]:
            print(
                f"  {e['change']:8} /{e['path']}: {e['a'] if e['a'] is not None else '-'} -> "
                f"{e['b'] if e['b'] is not None else '-'}"
            )


def _print_changed(changed: list, limit: int) -> None:
    """The tensors whose values changed, most changed first: one metrics line each."""
    if not changed:
        return
    print(
        f"\n{'rel change':>10} {'cosine':>10} {'max |A-B|':>10} {'changed':>8} "
        f"{'d mean':>10} {'d std':>10}  key"
    )
    for row in changed[:limit]:
        d = row.diff.to_json()
        key = row.key + (f" -> {row.key_b}" if row.key_b else "")
        dt = f"  [{row.dtype_a} -> {row.dtype_b}]" if row.dtype_a != row.dtype_b else ""
        print(
            f"{_num(d['rel_l2']):>10} {_num(d['cosine'], '.6f'):>10} {_num(d['max_abs']):>10} "
            f"{d['frac_changed']:>8.2%} {_num(d['delta_mean']):>10} {_num(d['delta_std']):>10}  "
            f"{key}{dt}"
        )
    if len(changed) > limit:
        print(f"  … {len(changed) - limit} more (--limit, or --json for all)")


def cmd_progression(args) -> int:
    from .analysis.progression import progression, run_files

    if not 1 <= args.bins <= 10000:
        raise UsageError("ckpt progression: --bins must be between 1 and 10000")
    paths = run_files(args.paths)
    if not paths:
        raise UsageError("ckpt progression: no checkpoint files found")
    if len(paths) < 2:
        print(
            f"ckpt: note: {paths[0]} is one checkpoint; give a folder of epoch files or several "
            "files to follow a run",
            file=sys.stderr,
        )
    pr = progression(paths, args.key, args.bins, _progress_meter(), adam=not args.no_adam)
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 30 + "\r")
    if args.json:
        print(json.dumps(pr.to_json(), indent=2, default=str))
        return 0
    labels = [f"e{f['epoch']}" if f["epoch"] is not None else f"#{i}" for i, f in enumerate(pr.files)]
    for i, f in enumerate(pr.files):
        print(f"{labels[i]:>6}  {f['name']}  ({f['tensors']} tensors)")
    for title, field in (
        ("L2 norm", "norm"),
        ("relative change from the previous checkpoint", "rel_change"),
        ("Adam update RMS / weight RMS", "adam_update"),
    ):
        if field == "adam_update" and not any(v is not None for c in pr.layers for v in c.adam_update):
            continue
        print(f"\n{title}")
        print(f"{'':50} " + " ".join(f"{x:>10}" for x in labels))
        for c in pr.layers:
            print(f"{c.key[:50]:50} " + " ".join(f"{_num(v):>10}" for v in getattr(c, field)))
    flagged = [c for c in pr.layers if c.status != "ok"]
    if flagged:
        print("\nflagged layers")
        for c in flagged:
            print(f"  {c.status:9} since {labels[c.since] if c.since is not None else '?':>6}  {c.key}")
    if pr.histogram:
        h = pr.histogram
        print(f"\nhistogram of {h['key']} over [{h['edges'][0]:.4g}, {h['edges'][-1]:.4g}]")
        for label, counts in zip(labels, h["counts"]):
            print(f"{label:>6}  " + ("(absent)" if counts is None else " ".join(str(c) for c in counts)))
    return 0
