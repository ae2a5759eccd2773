"""formats, analysis, ops and registry never import Qt, the layers only import downwards and
analysis/ops/registry/gui have no import cycles (the import-linter contracts in pyproject.toml); importing the core loads neither Qt nor torch.
No import cycle inside a package either, counting imports inside functions and a package's
own `__init__` (which import-linter's sibling contract leaves out)."""

import pathlib
import shutil
import subprocess
import sys
import tomllib

import grimp

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports") or str(pathlib.Path(sys.executable).with_name("lint-imports"))
    out = subprocess.run([exe], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "4 kept, 0 broken" in out.stdout, out.stdout[-2000:]


def test_importing_the_core_and_cli_loads_no_qt_and_no_torch():
    code = (
        "import sys, inspector.formats, inspector.analysis.verdict, inspector.analysis.stats, "
        "inspector.analysis.histogram, inspector.analysis.summary, inspector.ops, inspector.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6','pyqtgraph','shiboken6','torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _ignored_imports() -> set[tuple[str, str]]:
    """The formats contract's ignore_imports: the readers' recursion into nested formats."""
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    out = set()
    for c in conf["contracts"]:
        for line in c.get("ignore_imports", []):
            a, b = (x.strip() for x in line.split("->"))
            out.add((a, b))
    return out


def _cycles(graph, modules: set[str], ignored) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {
        m: sorted(
            i for i in graph.find_modules_directly_imported_by(m) if i in modules and (m, i) not in ignored
        )
        for m in modules
    }
    index, low, on, stack, out, n = {}, {}, set(), [], [], 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = n
                n += 1
                stack.append(v)
                on.add(v)
            if i < len(edges[v]):
                work.append((v, i + 1))
                w = edges[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def test_no_import_cycle_inside_a_package_counting_local_imports_and_init():
    graph = grimp.build_graph("inspector")  # every import statement, those inside functions too
    ignored = _ignored_imports()
    cycles = []
    for pkg in (
        "inspector.formats",
        "inspector.analysis",
        "inspector.ops",
        "inspector.registry",
        "inspector.gui",
    ):
        cycles += _cycles(graph, {m for m in graph.modules if m == pkg or m.startswith(pkg + ".")}, ignored)
    top = {m for m in graph.modules if m.count(".") == 1}  # cli, cli_scan, cli_diff, present, ...
    cycles += _cycles(graph, top, ignored)
    assert not cycles, cycles


def test_the_cycle_check_sees_a_cycle_through_a_local_import():
    """The check above can fail: a registry that imported its formats back would be found."""
    graph = grimp.build_graph("inspector")
    graph.add_import(importer="inspector.formats.registry", imported="inspector.formats.kinds")
    mods = {m for m in graph.modules if m.startswith("inspector.formats")}
    found = _cycles(graph, mods, _ignored_imports())
    assert any({"inspector.formats.registry", "inspector.formats.kinds"} <= set(c) for c in found)
