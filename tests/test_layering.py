"""formats, analysis and ops never import Qt: the core runs headless (docs/ARCHITECTURE.md)."""

import ast
import pathlib
import subprocess
import sys

CORE = ("formats", "analysis", "ops", "registry")
ROOT = pathlib.Path(__file__).resolve().parents[1] / "inspector"
QT = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6")


def test_core_sources_do_not_name_qt_or_gui():
    for pkg in CORE:
        for f in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(f.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                    if node.level and (node.module or "").startswith("gui"):
                        names.append("gui")
                for n in names:
                    assert not n.startswith(QT) and "gui" not in n.split("."), (f, n)


def test_importing_the_core_and_cli_loads_no_qt_and_no_torch():
    code = ("import sys, inspector.formats, inspector.analysis.verdict, inspector.analysis.stats, "
            "inspector.analysis.histogram, inspector.analysis.summary, inspector.ops, inspector.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6','pyqtgraph','shiboken6','torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
