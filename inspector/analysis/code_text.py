"""Code a loader runs from the archive itself, read as text and judged like pickle calls.

`torch.jit.load` runs the TorchScript in `code/` (a scripted `__setstate__` runs while
loading, and can reach files through `torch.from_file`); `torch.package`'s
`load_pickle` imports the module sources stored in the archive, which run in full.
The source is parsed with `ast` (never executed); every call's dotted name is resolved
through the file's imports and judged by the policy, with its constant arguments shown.
"""

from __future__ import annotations

import ast

from . import policy
from .ast_names import dotted
from .evidence import CallRow, StreamReport

# What TorchScript can reach beyond tensor math (TorchScript has no os/subprocess).
_TS_DANGEROUS = {
    "from_file": "maps or creates a file",
    "save": "writes a file",
    "load": "reads and unpickles a file",
    "_load_for_mobile": "loads a file",
    "_save_parameters": "writes a file",
    "_save_for_mobile": "writes a file",
}
_TS_NATIVE_OK = {
    "aten",
    "prim",
    "quantized",
    "_quantized",
    "prepacked",
    "_caffe2",
    "profiler",
    "_c10d_functional",
    "c10d_functional",
    "mkldnn",
    "mkl",
    "rngprims",
}


def _render(call: ast.Call, name: str) -> str:
    args = []
    for a in list(call.args) + [k.value for k in call.keywords]:
        args.append(ast.unparse(a) if isinstance(a, ast.Constant) else "…")
    names = [None] * len(call.args) + [k.arg for k in call.keywords]
    text = ", ".join(f"{k}={v}" if k else v for k, v in zip(names, args))
    return f"{name}({text[:300]})"


def judge_source(text: str, where: str, loader: str, package: bool) -> StreamReport | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        rep = StreamReport(where, loader, False, error="the code does not parse as Python")
        return rep
    rows = _call_rows(tree, _imports(tree), where, package)
    if not package:  # a dangerous op taken by reference (`f = torch.from_file; f(...)`)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and not isinstance(getattr(node, "ctx", None), ast.Store):
                full = dotted(node)
                if full and full not in rows:
                    cat, why = _torchscript(full)
                    if cat == policy.DANGEROUS:
                        rows[full] = CallRow(
                            where, "code", full, cat, why, 1, [f"{full}  (line {node.lineno})"]
                        )
    rep = StreamReport(where, loader, True, list(rows.values()))
    if package:
        why = "torch.package imports this module from the archive: its code runs"
    elif any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(tree)):
        why = (
            "TorchScript code of the archive runs when it is loaded (its text "
            "is judged; ops outside tensor math are listed)"
        )
    else:
        return rep
    rep.rows.insert(0, CallRow(where, "code", where, policy.NEEDS_CODE, why))
    return rep


def _imports(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted name it was imported as (absolute imports only)."""
    imports: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                imports[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                imports[a.asname or a.name] = f"{node.module}.{a.name}"
    return imports


def _call_rows(tree: ast.AST, imports: dict, where: str, package: bool) -> dict[str, CallRow]:
    """Every call judged, one row per resolved name: TorchScript ops outside tensor math,
    or (torch.package) calls of imported names and of the builtins that run code."""
    rows: dict[str, CallRow] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        if not name:
            continue
        head, _, rest = name.partition(".")
        full = imports.get(head, head) + (f".{rest}" if rest else "")
        if not package:
            cat, why = _torchscript(full)
        else:
            if head in imports or head in ("eval", "exec", "compile", "__import__", "open", "getattr"):
                target = full if head in imports else f"builtins.{name}"
                cat, why = policy.judge("call", target)
                full = target
                if cat == policy.DATA:
                    continue
            else:
                continue  # a call of the module's own code
        if cat is None:
            continue
        row = rows.get(full)
        if row is None:
            row = rows[full] = CallRow(where, "code", full, cat, why, 0)
        row.count += 1
        if len(row.examples) < 3:
            row.examples.append(_render(node, full) + f"  (line {node.lineno})")
    return rows


def _torchscript(full: str) -> tuple[str | None, str]:
    parts = full.split(".")
    last = parts[-1]
    if last in _TS_DANGEROUS and (parts[0] in ("torch", "ops") or len(parts) == 1):
        return policy.DANGEROUS, f"TorchScript {full} {_TS_DANGEROUS[last]}"
    if "ops" in parts:
        i = parts.index("ops")
        ns = parts[i + 1] if i + 1 < len(parts) else ""
        if ns and ns not in _TS_NATIVE_OK:
            return policy.NEEDS_CODE, f"custom operator namespace '{ns}' (native code from a library)"
    return None, ""


# torch.export graphs (`models/*.json`): node targets the program calls when it runs.
_EXPORT_OK_NAMESPACES = {
    "aten",
    "prims",
    "higher_order",
    "quantized",
    "_quantized",
    "quantized_decomposed",
    "_c10d_functional",
    "c10d_functional",
    "_c10d_functional_autograd",
    "rngprims",
    "symm_mem",
    "mkldnn",
    "onednn",
    "profiler",
    "prepacked",
    "_higher_order_ops",
}
_EXPORT_OK_OPERATOR = {
    "getitem",
    "add",
    "sub",
    "mul",
    "truediv",
    "floordiv",
    "mod",
    "pow",
    "neg",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and_",
    "or_",
    "not_",
    "abs",
    "pos",
    "invert",
    "lshift",
    "rshift",
    "xor",
    "sym_not",
    "sym_float",
    "sym_int",
    "sym_max",
    "sym_min",
    "sym_sqrt",
    "sym_ite",
    "sym_size",
    "sym_numel",
    "sym_stride",
    "sym_storage_offset",
}


def judge_export_graph(text: str, where: str) -> StreamReport | None:
    """The `target` of every node of a serialized exported program: ATen and the other
    built-in operator namespaces, `_operator`/`math` arithmetic are data; a custom operator
    namespace needs its library; anything else torch.export.load would resolve by name
    (`torch.serialization.os.system`) is judged by the policy."""
    import json

    try:
        doc = json.loads(text)
    except ValueError:
        return None
    rows = []
    for t, n in _targets(doc).items():
        judged = _judge_target(t)
        if judged is None:
            continue
        cat, why = judged
        rows.append(
            CallRow(
                where,
                "graph",
                t,
                cat,
                why + " (a node of the exported program calls it)",
                n,
                [f"{t}(…)  (graph node)"],
            )
        )
    return StreamReport(where, "torch.export.load", True, rows) if rows else None


def _targets(doc) -> dict[str, int]:
    """Every `target` string in the document, with how often it occurs (bounded walk)."""
    targets: dict[str, int] = {}
    stack, seen = [doc], 0
    while stack and seen < 2_000_000:
        x = stack.pop()
        seen += 1
        if isinstance(x, dict):
            t = x.get("target")
            if isinstance(t, str):
                targets[t] = targets.get(t, 0) + 1
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return targets


def _judge_target(t: str) -> tuple[str, str] | None:
    """(category, reason) of one node target, None when it is plain computation or a
    string torch.export.load never resolves."""
    parts = t.split(".")
    if parts[:2] == ["torch", "ops"] and len(parts) > 2:
        if parts[2] in _EXPORT_OK_NAMESPACES:
            return None
        return policy.NEEDS_CODE, f"custom operator namespace '{parts[2]}' (native code from a library)"
    if (
        parts[0] in ("_operator", "operator")
        and len(parts) == 2
        and parts[1] in _EXPORT_OK_OPERATOR
        or parts[0] == "math"
        and len(parts) == 2
        and parts[1].isidentifier()
        and parts[1] != "_"
    ):
        return None
    if t.startswith("#"):
        return policy.NEEDS_CODE, "an extension operator"
    if parts[0] not in ("torch", "_operator", "operator", "math"):
        return None  # torch.export.load keeps other targets as strings (never resolved)
    cat, why = policy.judge("call", t)
    if cat in (policy.DATA, policy.REFERENCE):
        return None
    return cat, why
