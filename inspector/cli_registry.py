"""`ckpt registry …` and the registry URIs every `ckpt` file argument accepts.

`add_registry_parser` adds `--tracking-uri` (for `models:/…`/`runs:/…` arguments of any
command) and the `registry` subcommand; `resolve_file_args` turns every registry URI on
a parsed command line into a local download before the command runs. MLflow is imported
only when a registry is actually used.
"""

from __future__ import annotations

import json
import sys

from .present import human_bytes


def add_registry_parser(parser, sub) -> None:
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        default=None,
        help="MLflow tracking URI for models:/ and runs:/ arguments "
        "(default: $MLFLOW_TRACKING_URI, else the local registry)",
    )
    s = sub.add_parser("registry", help="MLflow model registry: list, inspect, register checkpoints")
    rs = s.add_subparsers(dest="registry_command", required=True, parser_class=type(parser))

    def common(p):
        p.add_argument(
            "--tracking-uri",
            dest="registry_tracking_uri",
            metavar="URI",
            default=None,
            help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the local registry)",
        )
        p.add_argument("--json", action="store_true")
        return p

    common(rs.add_parser("models", help="registered models, latest versions, aliases, tags"))
    p = common(rs.add_parser("versions", help="the versions of a model, with runs, aliases, tags, metrics"))
    p.add_argument("name")
    p = common(rs.add_parser("files", help="the artifact files of a model version"))
    p.add_argument("name")
    p.add_argument("version")
    p = common(rs.add_parser("register", help="log a checkpoint as a new model version"))
    p.add_argument("file")
    p.add_argument("--name", required=True, help="registered model name (created if new)")
    p.add_argument("--tag", action="append", metavar="K=V", help="a tag of the version (repeatable)")
    p.add_argument("--description")
    p.add_argument("--alias", help="point this alias (e.g. prod) at the new version")
    p.add_argument("--force", action="store_true", help="register even a file whose verdict is dangerous")
    common(rs.add_parser("where", help="the tracking URI in use and the download cache"))


def _tracking(args) -> str | None:
    return getattr(args, "registry_tracking_uri", None) or getattr(args, "tracking_uri", None)


def resolve_file_args(args):
    """Registry URIs among the arguments -> local paths (no-op, and no MLflow, otherwise)."""
    from .registry.resolve import resolve_args

    return resolve_args(args, _tracking(args))


def _kv(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())


def _num(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def cmd_registry(args) -> int:
    from .registry.store import Store, tracking_uri

    cmd, uri = args.registry_command, _tracking(args)
    if cmd == "where":
        from .registry.resolve import cache_root

        out = {"tracking_uri": tracking_uri(uri), "cache": cache_root()}
        return _emit(args, out, [f"tracking  {out['tracking_uri']}", f"cache     {out['cache']}"])
    if cmd == "register":
        return _register(args, uri)
    from .registry import browse

    store = Store(uri)
    if cmd == "models":
        models = browse.list_models(store)
        lines = [f"{len(models)} registered models in {store.label}"] if not models else []
        for m in models:
            lines.append(
                f"{m['name']}  latest {m['latest_version'] or '-'}"
                + (f"  aliases {_kv(m['aliases'])}" if m["aliases"] else "")
                + (f"  tags {_kv(m['tags'])}" if m["tags"] else "")
            )
        return _emit(args, models, lines)
    if cmd == "versions":
        versions = browse.list_versions(store, args.name)
        lines = []
        for v in versions:
            head = f"{v['uri']}  run {v['run_id'] or '-'}"
            if v["aliases"]:
                head += "  aliases " + ", ".join(v["aliases"])
            if v["stage"] and v["stage"] != "None":
                head += f"  stage {v['stage']}"
            lines.append(head)
            if v["tags"]:
                lines.append(f"    tags     {_kv(v['tags'])}")
            if v["metrics"]:
                lines.append("    metrics  " + ", ".join(f"{k}={_num(x)}" for k, x in v["metrics"].items()))
            if v["facts"]:
                lines.append(f"    facts    {_kv(v['facts'])}")
        return _emit(args, versions, lines or [f"model {args.name!r} has no versions"])
    files = browse.list_files(store, args.name, args.version)
    return _emit(args, files, [f"{human_bytes(f['size']):>10}  {f['uri']}" for f in files])


def _register(args, uri) -> int:
    from .registry.register import DangerousFile, parse_tags, register_checkpoint

    try:
        r = register_checkpoint(
            args.file, args.name, parse_tags(args.tag), args.description, args.alias, args.force, uri
        )
    except DangerousFile as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"registered": False, "verdict": "dangerous", "error": str(exc)}, indent=2))
        return 1
    f = r["facts"]
    lines = [r["uri"], f"  run {r['run_id']} in {r['tracking_uri']}"]
    lines.append("  recorded " + ", ".join(f"{k}={_num(v)}" for k, v in f.items() if k != "metrics"))
    if f.get("metrics"):
        lines.append("  metrics  " + ", ".join(f"{k}={_num(v)}" for k, v in f["metrics"].items()))
    return _emit(args, r, lines)


def _emit(args, data, lines) -> int:
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            print(line)
    return 0
