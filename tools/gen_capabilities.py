"""Generate inspector/analysis/capabilities_data.py: the callables of the libraries a
checkpoint names (torch, numpy, sympy, pandas, ...) whose code reaches processes, files,
the network, code objects, evaluation or the import machinery, and the names under which
those libraries re-export dangerous standard-library objects.

It reads the libraries' *source* with `ast` (nothing is imported except to find where the
packages lie): a function is a sink when its body calls one of SEED (subprocess, os.system,
exec/eval, open for writing, sympify, from_file, ...) or, within three hops, a function of
the same library that does; a class is a sink when its constructor, __new__,
__setstate__ or __post_init__ is. Re-exports (`from types import CodeType` inside
torch.fx._symbolic_trace) are recorded as aliases when they lead to a sink or a dangerous
standard-library module.

    python tools/gen_capabilities.py            # rewrites the data module
    python tools/gen_capabilities.py --check    # exits 1 if the committed module is stale
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import importlib.util
import os
import sys
from collections import defaultdict

# the same helper the source judges use (run from the repo with the project installed)
from inspector.analysis.ast_names import dotted

PACKAGES = [
    "torch",
    "numpy",
    "sympy",
    "pandas",
    "scipy",
    "yaml",
    "joblib",
    "mpmath",
    "sklearn",
    "matplotlib",
    "PIL",
    "networkx",
    "jinja2",
    "fsspec",
    "filelock",
    "safetensors",
    "pyqtgraph",
    "dateutil",
    "skops",
    "pyarrow",
]
DIST = {"yaml": "PyYAML", "PIL": "pillow", "sklearn": "scikit-learn", "dateutil": "python-dateutil"}
OUT = os.path.join(os.path.dirname(__file__), "..", "inspector", "analysis", "capabilities_data.py")
HOPS = 3

# Called names (canonical dotted paths) that reach the outside world or run code.
SEED_PREFIX = {
    "subprocess.": "starts a process",
    "os.system": "runs a shell command",
    "os.popen": "runs a shell command",
    "os.exec": "replaces the process",
    "os.spawn": "starts a process",
    "os.posix_spawn": "starts a process",
    "os.fork": "forks the process",
    "os.kill": "signals processes",
    "pty.": "starts a process",
    "os.remove": "deletes files",
    "os.unlink": "deletes files",
    "os.rmdir": "deletes folders",
    "os.removedirs": "deletes folders",
    "os.rename": "moves files",
    "os.replace": "moves files",
    "os.makedirs": "creates folders",
    "os.mkdir": "creates folders",
    "os.chmod": "changes permissions",
    "os.symlink": "creates links",
    "os.truncate": "truncates files",
    "os.write": "writes files",
    "os.open": "opens files",
    "shutil.": "copies, moves or deletes files",
    "socket.": "opens network connections",
    "urllib.request.": "opens URLs",
    "http.client.": "opens network connections",
    "requests.": "opens URLs",
    "ftplib.": "opens network connections",
    "smtplib.": "sends mail",
    "webbrowser.": "opens a browser",
    "ctypes.": "calls native code",
    "importlib.import_module": "imports modules",
    "importlib.": "imports modules",
    "runpy.": "runs modules",
    "pickle.load": "unpickles (runs code)",
    "pickle.Unpickler": "unpickles (runs code)",
    "marshal.load": "loads code objects",
    "types.CodeType": "builds code objects",
    "types.FunctionType": "builds functions from code",
    "tempfile.": "creates files",
    "mmap.mmap": "maps files",
    "code.": "runs code",
    "builtins.eval": "evaluates code",
    "builtins.exec": "executes code",
    "builtins.compile": "compiles code",
    "builtins.__import__": "imports modules",
    "sympy.core.sympify.sympify": "evaluates a string as code",
    "sympy.parsing.sympy_parser.parse_expr": "evaluates a string as code",
    "torch.load": "unpickles a file",
    "torch.serialization.load": "unpickles a file",
    "torch.save": "writes files",
    "torch.serialization.save": "writes files",
    "torch.from_file": "maps or creates files",
    "numpy.fromfile": "reads files",
    "numpy.load": "unpickles files",
    "numpy.save": "writes files",
    "numpy.savez": "writes files",
    "numpy.savetxt": "writes files",
    "numpy.memmap": "maps or creates files",
}
BUILTIN_SINKS = {
    "eval": "evaluates code",
    "exec": "executes code",
    "compile": "compiles code",
    "__import__": "imports modules",
    "breakpoint": "starts a debugger",
}
ATTR_SINKS = {
    "tofile": "writes files",
    "write_text": "writes files",
    "write_bytes": "writes files",
    "unlink": "deletes files",
    "rmtree": "deletes files",
    "from_file": "maps or creates files",
    "system": "runs a shell command",
    "popen": "runs a shell command",
    "savetxt": "writes files",
    "sympify": "evaluates a string as code",
}
SINK_MODULES = (
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "builtins",
    "types",
    "importlib",
    "pickle",
    "_pickle",
    "marshal",
    "ctypes",
    "shutil",
    "socket",
    "code",
    "runpy",
    "pty",
    "tempfile",
    "io",
    "_io",
    "webbrowser",
    "urllib",
    "http",
)


def stdlib_files():
    root = os.path.dirname(os.__file__)
    skip = {
        "test",
        "tests",
        "idlelib",
        "tkinter",
        "lib2to3",
        "site-packages",
        "ensurepip",
        "turtledemo",
        "__pycache__",
        "distutils",
        "venv",
        "pydoc_data",
    }
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("."))
        for f in sorted(files):
            if f.endswith(".py"):
                full = os.path.join(folder, f)
                mod = os.path.relpath(full, root)[:-3].replace(os.sep, ".")
                mod = mod.removesuffix(".__init__")
                yield mod, full


def package_files(pkg: str):
    if pkg == "<stdlib>":
        yield from stdlib_files()
        return
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        return
    root = list(spec.submodule_search_locations)[0]
    base = os.path.dirname(root)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("tests", "test", "testing", "__pycache__"))
        for f in sorted(files):
            if f.endswith(".py"):
                full = os.path.join(folder, f)
                mod = os.path.relpath(full, base)[:-3].replace(os.sep, ".")
                mod = mod.removesuffix(".__init__")
                yield mod, full


class ModuleInfo:
    def __init__(self, mod: str, tree: ast.Module, is_pkg: bool):
        self.mod = mod
        self.names: dict[str, str] = {}  # local name -> canonical dotted path
        self.defs: dict[str, ast.AST] = {}  # qualname -> function node
        self.classes: dict[str, ast.ClassDef] = {}
        self.stars: list[str] = []
        self.convert_calls: list[str] = []
        for node in tree.body:
            call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
            if (
                isinstance(call, ast.Call)
                and (dotted(call.func) or "").endswith("._convert_")
                and call.args
                and isinstance(call.args[0], ast.Constant)
            ):
                self.convert_calls.append(str(call.args[0].value))
        package = mod if is_pkg else mod.rpartition(".")[0]
        for node in tree.body:
            self._imports(node, package)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.defs[node.name] = node
                self.names.setdefault(node.name, f"{mod}.{node.name}")
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
                self.names.setdefault(node.name, f"{mod}.{node.name}")
                for sub in node.body:
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.defs[f"{node.name}.{sub.name}"] = sub
            elif isinstance(node, ast.If | ast.Try):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        self._imports(sub, package)

    def _imports(self, node, package: str) -> None:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.names[a.asname] = a.name
                else:
                    self.names[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1] if node.level > 1 else parts
                base = ".".join(parts + ([node.module] if node.module else []))
            for a in node.names:
                if a.name != "*":
                    self.names[a.asname or a.name] = f"{base}.{a.name}"
                else:
                    self.stars.append(base)

    def resolve(self, name: str | None) -> str | None:
        if not name:
            return None
        head, _, rest = name.partition(".")
        if head in self.names:
            return self.names[head] + (f".{rest}" if rest else "")
        if head in BUILTIN_SINKS or head == "open":
            return f"builtins.{name}"
        return None


def seed_reason(path: str) -> str | None:
    for prefix, why in SEED_PREFIX.items():
        if (
            path == prefix
            or (prefix.endswith(".") and path.startswith(prefix))
            or (
                not prefix.endswith(".")
                and path.startswith(prefix)
                and path[len(prefix) : len(prefix) + 1] in ("", "v", "l", "e", "p", "_")
            )
        ):
            return why
    return None


def body_calls(info: ModuleInfo, fn, cls: str | None):
    """(callee path or None, attribute name, reason-if-direct-sink) for each call."""
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        path = info.resolve(name)
        if name and name.startswith("self.") and cls and name.count(".") == 1:
            path = f"{info.mod}.{cls}.{name[5:]}"
        direct = None
        if path == "builtins.open" or name == "open":
            mode = (
                node.args[1]
                if len(node.args) > 1
                else next((k.value for k in node.keywords if k.arg == "mode"), None)
            )
            if (
                mode is None
                or not isinstance(mode, ast.Constant)
                or any(c in str(mode.value) for c in "wax+")
            ):
                direct = "opens files for writing"
        elif path:
            direct = seed_reason(path)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if direct is None and attr in ATTR_SINKS:
            direct = ATTR_SINKS[attr]
        yield path, direct


def generate() -> tuple[dict, dict, dict]:
    infos: dict[str, ModuleInfo] = {}
    versions = {}
    for pkg in PACKAGES + ["<stdlib>"]:
        try:
            versions[pkg] = (
                f"{sys.version_info[0]}.{sys.version_info[1]}"
                if pkg == "<stdlib>"
                else importlib.metadata.version(DIST.get(pkg, pkg))
            )
        except importlib.metadata.PackageNotFoundError:
            continue
        for mod, path in package_files(pkg):
            try:
                with open(path, encoding="utf-8") as fh:
                    tree = ast.parse(fh.read())
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            infos[mod] = ModuleInfo(mod, tree, path.endswith("__init__.py"))
    for _ in range(3):  # `from .memmap import *`: the public names of the other module
        for info in infos.values():
            for base in info.stars:
                other = infos.get(base)
                if other is not None:
                    for local, target in list(other.names.items()):
                        if not local.startswith("_"):
                            info.names.setdefault(local, target)
    reasons: dict[str, str] = {}
    edges: dict[str, set] = defaultdict(set)
    for mod, info in infos.items():
        for qual, fn in info.defs.items():
            full = f"{mod}.{qual}"
            cls = qual.split(".")[0] if "." in qual else None
            for callee, direct in body_calls(info, fn, cls):
                if direct and full not in reasons:
                    reasons[full] = f"{direct} ({callee or 'a method call'})"
                if callee:
                    edges[full].add(callee)
    aliases = {}
    for mod, info in infos.items():  # module-level re-exports
        for local, target in info.names.items():
            alias = f"{mod}.{local}"
            if alias != target:
                aliases[alias] = target

    known = (
        {f"{m}.{q}" for m, i in infos.items() for q in i.defs}
        | {f"{m}.{c}" for m, i in infos.items() for c in i.classes}
        | set(infos)
    )

    def canon(p: str) -> str:
        for _ in range(8):
            head, _, rest = p.rpartition(".")
            if p in known and p not in aliases:
                break
            if p in aliases:
                p = aliases[p]
            elif head in aliases:
                p = f"{aliases[head]}.{rest}"
            else:
                break
        return p

    classes = {f"{m}.{c}" for m, i in infos.items() for c in i.classes}

    def reason_of(path: str):
        if path in classes:  # calling a class runs its constructor
            for meth in ("__init__", "__new__", "__post_init__"):
                if f"{path}.{meth}" in reasons:
                    return reasons[f"{path}.{meth}"]
        return reasons.get(path) or seed_reason(path)

    for _ in range(HOPS):
        new = {}
        for fn, callees in edges.items():
            if fn in reasons:
                continue
            for c in sorted(callees):
                c2 = canon(c)
                r = reason_of(c2)
                if r:
                    new[fn] = f"{r.split(' (')[0].split(', which ')[-1]} (through {c2})"
                    break
        if not new:
            break
        reasons.update(new)
    sinks = {}
    for path, why in reasons.items():
        mod, _, qual = path.rpartition(".")
        sinks[path] = why
    for mod, info in infos.items():  # classes whose construction or unpickling reaches a sink
        for cname in info.classes:
            for meth in ("__init__", "__new__", "__setstate__", "__post_init__", "__call__", "_missing_"):
                r = reasons.get(f"{mod}.{cname}.{meth}")
                if r:
                    sinks[f"{mod}.{cname}"] = f"{meth} {r}"
                    break
    enums = set()
    enum_bases = {"Enum", "IntEnum", "Flag", "IntFlag", "StrEnum", "ReprEnum"}
    for _ in range(3):  # subclasses of enums, to a few levels
        for mod, info in infos.items():
            for cname, node in info.classes.items():
                full = f"{mod}.{cname}"
                decorated = [dotted(d.func) or "" for d in node.decorator_list if isinstance(d, ast.Call)]
                if any(d.endswith("_simple_enum") for d in decorated):
                    enums.add(full)
                for b in node.bases:
                    bname = dotted(b) or ""
                    target = info.resolve(bname) or f"{mod}.{bname}"
                    if bname.rsplit(".", 1)[-1] in enum_bases or canon(target) in enums:
                        if full not in sinks:
                            enums.add(full)
    kept_aliases = {}
    for alias, target in aliases.items():
        c = canon(target)
        if c in sinks or seed_reason(c) or c.split(".")[0] in SINK_MODULES:
            kept_aliases[alias] = c
    for mod, info in infos.items():  # Enum._convert_('Signals', __name__, ...) at module level
        for node in info.convert_calls:
            enums.add(f"{mod}.{node}")
    for alias, target in aliases.items():
        if canon(target) in enums:
            enums.add(alias)
    return sinks, kept_aliases, enums, versions


def render(sinks: dict, aliases: dict, enums: set, versions: dict) -> str:
    lines = [
        '"""Generated by tools/gen_capabilities.py from the source of '
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + ".\n\nDo not edit: rerun the generator. SINKS: callables whose code reaches processes,\n"
        "files, the network, code objects, evaluation or imports (with why); ALIASES: names\n"
        "under which those libraries re-export them; ENUMS: Enum classes (calling one\n"
        'with a value looks a member up)."""\n',
        "SINKS = {",
    ]
    lines += [f"    {k!r}: {v!r}," for k, v in sorted(sinks.items())]
    lines += ["}", "", "ALIASES = {"]
    lines += [f"    {k!r}: {v!r}," for k, v in sorted(aliases.items())]
    lines += ["}", "", "ENUMS = {"]
    lines += [f"    {k!r}," for k in sorted(enums)]
    lines += ["}", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render(*generate())
    if args.check:
        with open(OUT, encoding="utf-8") as fh:
            return 0 if fh.read() == text else 1
    with open(OUT, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"wrote {os.path.normpath(OUT)} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
