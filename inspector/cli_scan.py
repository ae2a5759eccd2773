"""`ckpt scan` output and exit code, and the verdict lines `ckpt info` shows.

Text lists, per stream the loader would read, each call it would make with its constant
arguments (`os.system('cat ~/.aws/credentials')`), the red flags and what we could not
vouch for. Exit codes: 1 when any file is dangerous or unverified (we cannot vouch for
it), 2 when one is unreadable (no loader would read it), 0 otherwise.
"""

from __future__ import annotations

import json
import sys

from .cli_common import inspect_quietly

_MARK = {"dangerous": "DANGER", "needs-code": "code", "reference": "ref", "data": "data"}


def exit_code(verdicts: list[str]) -> int:
    if any(v == "unreadable" for v in verdicts):
        return 2
    if any(v in ("dangerous", "unverified") for v in verdicts):
        return 1
    return 0


def verdict_lines(v, verbose: bool = False) -> list[str]:
    """The evidence, one line each: dangerous and needs-code calls always; plain data
    only when `verbose` (a checkpoint rebuilds thousands of tensors)."""
    out = []
    for s in v.streams:
        rows = [r for r in s.rows if verbose or r.category in ("dangerous", "needs-code")]
        state = "" if s.complete else f"  [not parsed to the end: {s.error}]"
        if not rows and s.complete:
            continue
        where = s.stream or "(file)"
        out.append(
            f"  stream {where} — read by {s.loader}"
            + ("" if s.reached else " (bytes the loader does not reach)")
            + state
        )
        for r in rows[:40]:
            times = f" ×{r.count}" if r.count > 1 else ""
            out.append(f"    {_MARK.get(r.category, r.category):6} {r.text}{times}   — {r.reason}")
            for ex in r.examples[1:]:
                out.append(f"           {ex}")
        if len(rows) > 40:
            out.append(f"    … {len(rows) - 40} more")
    for f in v.flags:
        out.append(f"  red flag  {f}")
    for u in v.unvouched:
        out.append(f"  cannot vouch  {u}")
    return out


def run(args) -> int:
    from .analysis.inspection import VERDICT  # the verdict alone: no tree is built

    verdicts = [(path, inspect_quietly(path, VERDICT).verdict) for path in args.files]
    code = exit_code([v.verdict for _, v in verdicts])
    if args.json:
        print(json.dumps([{"file": p, **v.to_json()} for p, v in verdicts], indent=2, default=str))
        return code
    for path, v in verdicts:
        print(f"{path}: {v.summary}")
        for line in verdict_lines(v, getattr(args, "verbose", False)):
            print(line)
        if v.verdict in ("safe", "needs-code") and v.modules:
            print("  imports   " + ", ".join(v.modules))
    return code


def unreadable_info(args, exc, v) -> int:
    """`ckpt info` on a file the reader cannot open: the verdict `v` (the inspection's)
    still speaks (a hostile file must not hide behind a read error): exit 1 when dangerous,
    else 2 with the one-line error on stderr."""
    if v.verdict in ("unreadable", "safe"):
        raise exc  # nothing a loader would run: the plain one-line error
    if args.json:
        print(
            json.dumps(
                {"path": args.file, "error": str(exc), "verdict": v.verdict, "security": v.to_json()},
                indent=2,
                default=str,
            )
        )
    else:
        print(f"file        {args.file}")
        print(f"error       {exc}")
        print(f"verdict     {v.summary}")
        for line in verdict_lines(v):
            print(f"           {line}")
    if v.verdict == "dangerous":
        return 1
    print(f"ckpt: {exc}", file=sys.stderr)
    return 2
