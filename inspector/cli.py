"""`ckpt`: the command line over formats/analysis/ops.

Exit codes: 0 success, 1 the command's negative finding (dangerous content for `scan`,
differences for `diff --exit-code`), 2 unreadable or invalid input - with one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__
from .analysis.dtype_names import CAST_CHOICES
from .cli_common import UsageError, checkpoint_of, inspect_quietly
from .cli_diff import register as register_diff
from .cli_registry import add_registry_parser, cmd_registry, resolve_file_args
from .cli_scan import run as scan_files
from .cli_scan import unreadable_info, verdict_lines
from .formats import CheckpointError
from .present import dumps_json, human_bytes, human_count, node_json, node_row, shape_text


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 too, but with usage; keep it to one line
        raise UsageError(f"{self.prog}: {message}")


def _common_options() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Parent parsers for the options many commands share: --json, and -o/--force for the
    commands that write a file."""
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print the result as JSON")
    writes = argparse.ArgumentParser(add_help=False)
    writes.add_argument("-o", "--output", required=True)
    writes.add_argument("--force", action="store_true", help="replace an existing output")
    return as_json, writes


def _add_reading_commands(sub, as_json) -> None:
    s = sub.add_parser(
        "info", help="format, sizes, tensor counts, dtypes, devices, verdict", parents=[as_json]
    )
    s.add_argument("file")

    s = sub.add_parser("tree", help="the node tree", parents=[as_json])
    s.add_argument("file")
    s.add_argument("--depth", type=int, default=None)
    s.add_argument("--full", action="store_true", help="print long lists of values in full")

    s = sub.add_parser("stats", help="statistics and exact histogram of one tensor", parents=[as_json])
    s.add_argument("file")
    s.add_argument("key", help="tree path of the tensor, e.g. model_state_dict/fc1.weight")
    s.add_argument("--bins", type=int, default=64)
    s.add_argument("--range", type=float, nargs=2, metavar=("LO", "HI"))
    s.add_argument(
        "--raw", action="store_true", help="quantized tensors: the stored integers instead of the real values"
    )

    s = sub.add_parser("scan", help="security verdict and the calls loading would make", parents=[as_json])
    s.add_argument("files", nargs="+")
    s.add_argument("--verbose", "-v", action="store_true", help="also list plain-data calls")
    from .cli_scan_store import add_arguments as add_scan_store_arguments

    add_scan_store_arguments(s)  # -r, --jobs, --jsonl, --timeout, --memory-limit (cli_scan_store.py)

    s = sub.add_parser("optimizer", help="optimizer state mapped to parameter names", parents=[as_json])
    s.add_argument("file")
    s.add_argument(
        "--updates", action="store_true", help="Adam-family: the next update's size relative to each weight"
    )
    s.add_argument(
        "--model",
        metavar="MODEL_FILE",
        help="name the parameters from this model file (for a bare optimizer.pt)",
    )


def _add_writing_commands(sub, as_json, writes) -> None:
    s = sub.add_parser(
        "remap",
        help="change saved device tags (and optionally cast) without loading",
        parents=[as_json, writes],
    )
    s.add_argument("file")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--to", metavar="DEVICE", help="every storage to DEVICE (e.g. cpu)")
    g.add_argument("--map", metavar="SRC=DST", action="append", help="e.g. cuda:1=cuda:0, 'cuda*=cpu'")
    s.add_argument("--dtype", choices=CAST_CHOICES, help="cast float32 storages too")

    s = sub.add_parser(
        "warmstart", help="a template checkpoint filled with a source's matching weights", parents=[as_json]
    )
    s.add_argument("source")
    s.add_argument("--into", required=True, metavar="TEMPLATE")
    s.add_argument("--strip-prefix", action="append", metavar="P")
    s.add_argument("--add-prefix", action="append", metavar="P")
    s.add_argument("--rename", action="append", metavar="REGEX=REPL")
    s.add_argument("--source-key", metavar="PATH")
    s.add_argument("--template-key", metavar="PATH")
    s.add_argument("--dry-run", action="store_true", help="show the matching table, write nothing")
    s.add_argument("-o", "--output")
    s.add_argument("--force", action="store_true", help="replace an existing output")

    s = sub.add_parser(
        "export", help="export TorchScript, torch.export (.pt2) or safetensors", parents=[as_json, writes]
    )
    s.add_argument("kind", choices=["torchscript", "pt2", "safetensors"])
    s.add_argument("file")
    s.add_argument("--model", metavar="MODULE:CLASS", help="the class to build (imported: your code)")
    s.add_argument("--kwargs", metavar="JSON")
    s.add_argument("--example-input", metavar="SHAPE")
    s.add_argument("--trace", action="store_true")
    s.add_argument("--state-key", metavar="PATH")
    s.add_argument("--path", action="append", metavar="DIR", help="folder to import MODULE from")
    s.add_argument(
        "--trust-pickled-model",
        action="store_true",
        help="build from the whole model pickled in FILE: loads it for real (runs its code)",
    )

    s = sub.add_parser(
        "strip", help="keep only the model weights (optionally cast)", parents=[as_json, writes]
    )
    s.add_argument("file")
    s.add_argument("--dtype", choices=CAST_CHOICES)
    s.add_argument("--state-key", metavar="PATH")

    s = sub.add_parser("extract", help="write one sub-tree to its own file", parents=[as_json, writes])
    s.add_argument("file")
    s.add_argument("key", metavar="TREE_PATH")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ckpt", description="Inspect PyTorch checkpoints without running them.")
    p.add_argument("--version", action="version", version=f"ckpt {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    as_json, writes = _common_options()
    _add_reading_commands(sub, as_json)
    _add_writing_commands(sub, as_json, writes)

    s = sub.add_parser(
        "desktop", help="register with the desktop: double-click opens checkpoints", parents=[as_json]
    )
    s.add_argument("action", choices=["install", "uninstall"])
    s.add_argument(
        "--user", action="store_true", default=True, help="for this user, in $XDG_DATA_HOME (the default)"
    )
    s.add_argument("--system", dest="user", action="store_false", help="for everyone (/usr/local/share)")
    s.add_argument("--set-default", action="store_true", help="also make it the default handler")

    s = sub.add_parser("view", help="open the desktop application")
    s.add_argument("files", nargs="*")

    s = sub.add_parser("demo", help="write a demo training checkpoint")
    s.add_argument("-o", "--output", default="demo_checkpoint.pt")

    add_registry_parser(p, sub)  # --tracking-uri and `ckpt registry` (cli_registry.py)
    register_diff(sub, COMMANDS)  # ckpt diff, ckpt progression (cli_diff.py)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = resolve_file_args(build_parser().parse_args(argv))  # models:/, runs:/ -> local files
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except CheckpointError as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ckpt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug of ours: still one line, still exit 2
        print(
            f"ckpt: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}", file=sys.stderr
        )
        return 2


def cmd_info(args) -> int:
    found = inspect_quietly(args.file)
    if found.read_error is not None:  # unreadable, but the verdict may still say why it matters
        return unreadable_info(args, CheckpointError(f"{args.file}: {found.read_error}"), found.verdict)
    info = found.summary
    verdict = found.verdict
    info["verdict"] = verdict.verdict
    info["security"] = verdict.to_json()
    info["training"] = found.training
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    _print_sizes(info)
    _print_contents(info)
    _print_training(info["training"], args.file)
    print(f"verdict     {verdict.summary}")
    for line in verdict_lines(verdict):
        print(f"           {line}")
    for w in info["warnings"]:
        print(f"warning     {w}")
    return 0


def _print_sizes(info: dict) -> None:
    """`ckpt info`: the file, its format, tensor and model sizes, dtypes and devices."""
    print(f"file        {info['path']} ({human_bytes(info['file_size'])})")
    print(f"format      {info['format']} (byte order {info['byteorder']})")
    entries = info["tensor_entries"]
    print(
        f"tensors     {info['tensor_count']:,} distinct in {info['storage_count']:,} storages"
        + (f" ({entries:,} entries in the tree)" if entries != info["tensor_count"] else "")
        + f", {human_count(info['numel_total'])} elements, {human_bytes(info['bytes_total'])}"
    )
    m = info["model"]
    print(
        f"model       {m['parameters']:,} parameters ({human_bytes(m['parameter_bytes'])})"
        + (f", buffers {m['buffers']:,}" if m["buffers"] else "")
        + (f"; optimizer state {m['optimizer']:,} elements apart" if m["optimizer"] else "")
    )
    if info["shared_storage_tensors"]:
        print(f"shared      {info['shared_storage_tensors']} tensors share a storage with another")
    print("dtypes      " + ", ".join(f"{k} {human_count(v)}" for k, v in info["dtypes"].items()))
    if info["quantized"]:
        print(
            "quantized   "
            + ", ".join(f"{n} {k}" for k, n in info["quantized"].items())
            + " (statistics show real values; `ckpt stats --raw` the stored integers)"
        )
    print("devices     " + ", ".join(f"{k} ({v})" for k, v in info["devices"].items()))


def _print_contents(info: dict) -> None:
    """`ckpt info`: the top-level keys, metadata and embedded class sources."""
    top = info["top_level"]
    print(
        "top level   "
        + (
            ", ".join(top[:12]) + (f", … {len(top) - 12} more" if len(top) > 12 else "")
            if isinstance(top, list)
            else str(top)
        )
    )
    for k, v in info["metadata"].items():
        print(f"metadata    {k}: {' '.join(str(v).split())[:120]}")
    for src in info["module_sources"]:
        print(f"class src   {src} (embedded source code, not executed)")


def _print_training(t: dict, file: str) -> None:
    """`ckpt info`: the training card (nothing for a plain state_dict or an unknown layout)."""
    if t["name"] in ("state_dict", "unknown"):
        return
    bits = [t["name"]]
    for k in ("epoch", "step"):
        if t.get(k) is not None:
            bits.append(f"{k} {t[k]}")
    bits += [f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}" for k, v in t["metrics"].items()]
    print("training    " + ", ".join(bits))
    if t.get("weights") is not None:
        print(f"weights at  /{t['weights']}")
    for m in t["optimizer_maps"]:
        conf = ", ".join(f"{n} {k}" for k, n in m["confidence"].items())
        print(
            f"optimizer   /{m['path']}: {m['kind']}, {m['parameters']} parameters "
            f"({m['with_state']} with state), names {conf}"
        )
    if t["name"] == "optimizer":
        print(
            "            a bare optimizer state: name its parameters from the model with "
            f"`ckpt optimizer {file} --model MODEL_FILE`"
        )


def cmd_tree(args) -> int:
    ck = checkpoint_of(args.file)
    if args.json:
        print(dumps_json(node_json(ck.root, args.depth)))
        return 0
    stack = [(c, 0) for c in reversed(ck.root.children)]
    if not ck.root.children:
        print(f"(the file holds a {ck.root.type_name}: {node_row(ck.root)['value']})")
    while stack:
        node, depth = stack.pop()
        if isinstance(node, _Elided):
            print("  " * depth + node.name)
            continue
        row = node_row(node)
        cols = [row["type"]]
        if node.kind == "tensor":
            cols += [row["shape"], row["dtype"], row["device"]]
            if node.value.quantization:
                from .analysis.quantized import describe

                cols.append("[" + ", ".join(f"{k} {v}" for k, v in describe(node.value).items()) + "]")
        elif row["value"]:
            cols.append(row["value"])
        elif row["elements"]:
            cols.append(row["elements"])
        print("  " * depth + f"{node.name}  " + "  ".join(c for c in cols if c))
        if args.depth is None or depth + 1 < args.depth:
            kids = node.children
            if not args.full and _long_values(node):
                kids = kids[:HEAD] + [_Elided(len(kids) - HEAD - TAIL)] + kids[-TAIL:]
            stack.extend((c, depth + 1) for c in reversed(kids))
    return 0


HEAD, TAIL, LONG = 5, 3, 16


class _Elided:
    """The '… N more' line standing for the middle of a long list of plain values."""

    kind, children = "elided", []

    def __init__(self, count: int):
        self.name = f"… {count:,} more values (--full shows all)"


def _long_values(node) -> bool:
    """A list or tuple of more than LONG plain values (an RNG state, a long export)."""
    return (
        node.kind in ("list", "tuple")
        and len(node.children) > LONG
        and all(c.kind == "value" for c in node.children)
    )


def cmd_stats(args) -> int:
    from .analysis.histogram import histogram
    from .analysis.stats import tensor_stats

    ck = checkpoint_of(args.file)
    node = ck.tensor_node(args.key)
    t = node.value
    if args.bins < 1 or args.bins > 1_000_000:
        raise UsageError("ckpt stats: --bins must be between 1 and 1000000")
    from .analysis.quantized import describe, is_quantized, values

    try:
        arr, vdtype = values(ck, t, raw=args.raw)
    except CheckpointError as exc:
        raise CheckpointError(f"{args.key}: {exc}") from None
    st = tensor_stats(arr, vdtype)
    rng = tuple(args.range) if args.range else ((st.min, st.max) if st.min is not None else None)
    hist = histogram(arr, vdtype, bins=args.bins, range=rng)
    out = {
        "key": node.path,
        "dtype": t.dtype.name,
        "shape": list(t.shape),
        "device": t.device,
        **st.to_json(),
        "histogram": hist.to_json(),
    }
    if t.dtype.kind == "complex":
        out["note"] = "statistics of the magnitudes of complex values"
    if is_quantized(t):
        out["quantization"] = describe(t)
        out["values"] = "stored integers" if args.raw else "real values (q - zero_point) * scale"
        out["note"] = (
            "statistics of the stored integer values (not dequantized)"
            if args.raw
            else "statistics of the dequantized values; --raw for the stored integers"
        )
    if args.json:
        print(json.dumps(out, indent=2, default=str))
        return 0
    print(f"{node.path}  {t.type_name} {shape_text(t.shape)} {t.dtype.name} on {t.device}")
    if is_quantized(t):
        print("  quantized " + ", ".join(f"{k} {v}" for k, v in out["quantization"].items()))
        print(f"  values   {out['values']}" + ("" if args.raw else " (--raw: the stored integers)"))
    for k in ("numel", "min", "max", "mean", "std", "l2_norm", "zeros", "nan", "inf"):
        v = out[k]
        print(f"  {k:8} {v:.6g}" if isinstance(v, float) else f"  {k:8} {v}")
    counts = hist.counts
    peak = max(int(counts.max()), 1) if counts.size else 1
    for i, c in enumerate(counts):
        bar = "#" * int(round(40 * int(c) / peak))
        print(
            f"  [{hist.edges[i]: .4g}, {hist.edges[i + 1]: .4g}{']' if i == len(counts) - 1 else ')'}"
            f" {int(c):>12}  {bar}"
        )
    return 0


def cmd_scan(args) -> int:
    if args.recursive or args.jsonl or args.jobs:
        from .cli_scan_store import run as run_store

        return run_store(args)  # a whole store, in worker processes
    return scan_files(args)


def cmd_optimizer(args) -> int:
    from .analysis.training import optimizer_maps

    ck = checkpoint_of(args.file)
    model = checkpoint_of(args.model) if args.model else None
    maps = optimizer_maps(ck, model=model)
    if args.updates:
        return _print_updates(ck, maps, args.json, model)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "path": m.path,
                        "kind": m.kind,
                        "method": m.method,
                        "groups": m.groups,
                        "records": [s.to_json() for s in m.slots],
                    }
                    for m in maps
                ],
                indent=2,
                default=str,
            )
        )
        return 0
    if not maps:
        print("no optimizer state found in this file")
    for m in maps:
        print(
            f"/{m.path}: {m.kind} - {m.method}"
            + (" (--model MODEL_FILE)" if not args.model and "pair it" in m.method else "")
        )
        for g, hp in enumerate(m.groups):
            print(f"  group {g}: " + ", ".join(f"{k}={v}" for k, v in hp.items()))
        for s in m.slots:
            rec = s.to_json()
            shape = "x".join(map(str, rec["shape"])) if rec["shape"] is not None else "?"
            state = ", ".join(k for k in s.state) or "no state (frozen or unused)"
            print(
                f"  {s.index:>5}  {s.name or '?':50} {s.confidence:9} group {s.group}  {shape:>14}  {state}"
            )
    return 0


def _print_updates(ck, maps, as_json: bool, model=None) -> int:
    from .analysis.updates import update_rows

    tables = [(m, sorted(update_rows(ck, m, model=model), key=lambda r: r.ratio)) for m in maps]
    if as_json:
        print(
            json.dumps(
                [{"path": m.path, "rows": [r.to_json() for r in rows]} for m, rows in tables], indent=2
            )
        )
        return 0
    for m, rows in tables:
        print(f"/{m.path}: next Adam update RMS / weight RMS, smallest first")
        if not rows:
            print("  (no parameter with exp_avg, exp_avg_sq and a known name)")
        for r in rows:
            print(
                f"  {r.ratio:10.3e}  {r.name:50} update {r.update_rms:.3e}  weight {r.weight_rms:.3e}"
                f"  lr {r.lr:g}  step {r.step:g}"
            )
    return 0


def _report(result, as_json: bool, lines: list[str]) -> int:
    """Print `lines`, or with --json the result (a dict, or a typed result's to_json())."""
    if as_json:
        data = result.to_json() if hasattr(result, "to_json") else result
        print(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            print(line)
    return 0


def _progress():
    from .ops.writer import Progress

    if not sys.stderr.isatty():
        return Progress()

    def show(done, total):
        if total:
            sys.stderr.write(f"\r{100 * done // total:3d}% of {human_bytes(total)}")
            sys.stderr.flush()

    return Progress(show)


def cmd_remap(args) -> int:
    from .ops.plans import RemapOptions
    from .ops.remap import apply_remap, parse_map, plan_remap

    o = RemapOptions(args.file, args.output, parse_map(args.map or []), args.to, args.dtype, args.force)
    plan = plan_remap(o.path, to=o.to, rules=o.rules, cast=o.cast)
    r = apply_remap(plan, o.output, o.force, _progress())
    v = r.verified
    return _report(
        r,
        args.json,
        plan.describe()
        + [f"wrote {r.output}: {v.tensors_checked} tensors verified, devices {', '.join(v.devices)}"],
    )


def cmd_warmstart(args) -> int:
    from .ops.plans import WarmstartOptions, plan_warmstart_for
    from .ops.warmstart import apply_warmstart

    o = WarmstartOptions(
        args.source,
        args.into,
        args.output,
        args.strip_prefix or [],
        args.add_prefix or [],
        args.rename or [],
        args.source_key,
        args.template_key,
        args.force,
    )
    plan = plan_warmstart_for(o)
    lines = [
        f"matched {len(plan.matched)}, after rules {len(plan.matched_by_rule)}, shape mismatch "
        f"{len(plan.shape_mismatch)} (kept from the template), missing {len(plan.missing)}, "
        f"unexpected {len(plan.unexpected)}"
    ]
    if plan.proposed:
        lines.append(f"rule applied: {plan.proposed}")
    lines += [f"  shape mismatch {t}: template {ts}, source {ss}" for t, _, ts, ss in plan.shape_mismatch]
    lines += [f"  missing {k}" for k in plan.missing[:20]] + [
        f"  unexpected {k}" for k in plan.unexpected[:20]
    ]
    if args.dry_run or not args.output:
        if not args.dry_run:
            raise UsageError("ckpt warmstart: -o OUT is required (or --dry-run)")
        return _report(plan.report(), args.json, lines)
    r = apply_warmstart(plan, o.output, force=o.force, progress=_progress())
    return _report(r, args.json, lines + [f"wrote {r.output} (report {r.report})", "load it with:", r.python])


def cmd_export(args) -> int:
    from .ops.plans import ExportOptions, run_export

    o = ExportOptions(
        args.kind,
        args.file,
        args.output,
        args.model,
        args.kwargs,
        args.example_input,
        args.trace,
        args.state_key,
        args.path,
        args.trust_pickled_model,
        args.force,
    )
    if o.kind == "safetensors":
        r = run_export(o, _progress())
        return _report(
            r,
            args.json,
            [
                f"wrote {r.output}: {r.tensors} tensors"
                + (f", {len(r.tied)} tied (recorded in metadata)" if r.tied else "")
            ],
        )
    if not o.model and not o.trust_pickled:
        raise UsageError(f"ckpt export {o.kind}: --model MODULE:CLASS (or --trust-pickled-model) is required")
    if o.trust_pickled:
        from .analysis.inspection import VERDICT

        v = inspect_quietly(o.path, VERDICT).verdict
        if v.trustable:  # otherwise export refuses, naming why
            print(
                "ckpt: trusting the file: loading it imports exactly " + ", ".join(v.modules), file=sys.stderr
            )
    r = run_export(o)
    diff = r.max_abs_difference
    return _report(
        r,
        args.json,
        [f"wrote {r.output} ({o.kind}, eval mode)"]
        + ([f"largest |eager - exported| on a random input: {diff:.3g}"] if diff is not None else [])
        + ([r.note] if r.note else []),
    )


def cmd_strip(args) -> int:
    from .ops.strip import apply_strip, plan_strip

    plan = plan_strip(args.file, args.state_key)
    r = apply_strip(plan, args.output, args.dtype, args.force, _progress())
    return _report(
        r,
        args.json,
        [
            f"kept /{plan.state_key}: {r.tensors} tensors ({r.dtype}); dropped "
            + (", ".join(plan.dropped) or "nothing"),
            f"{human_bytes(r.size_before)} -> {human_bytes(r.size_after)}: {r.output}",
        ],
    )


def cmd_extract(args) -> int:
    from .ops.strip import apply_extract

    r = apply_extract(args.file, args.key, args.output, args.force)
    return _report(r, args.json, [f"wrote /{args.key} to {r.output} ({human_bytes(r.size)})"])


def cmd_desktop(args) -> int:
    from .desktop import DesktopError, install, uninstall

    try:
        r = install(args.user, args.set_default) if args.action == "install" else uninstall(args.user)
    except DesktopError as exc:
        raise CheckpointError(str(exc)) from None
    lines = (
        [f"installed for {r['exec']} in {r['data_home']}"]
        if "exec" in r and "data_home" in r
        else [f"{k}: {v}" for k, v in r.items() if k != "files"]
    )
    return _report(r, args.json, lines + r.get("tools", []))


def cmd_view(args) -> int:
    from .gui.app import main as gui_main

    return gui_main(args.files)


def cmd_demo(args) -> int:
    from .demo import write_demo

    path = write_demo(args.output)
    print(path)
    return 0


COMMANDS = {
    "info": cmd_info,
    "tree": cmd_tree,
    "stats": cmd_stats,
    "scan": cmd_scan,
    "optimizer": cmd_optimizer,
    "remap": cmd_remap,
    "warmstart": cmd_warmstart,
    "export": cmd_export,
    "strip": cmd_strip,
    "extract": cmd_extract,
    "desktop": cmd_desktop,
    "view": cmd_view,
    "demo": cmd_demo,
    "registry": cmd_registry,
}


if __name__ == "__main__":
    sys.exit(main())
