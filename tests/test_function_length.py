"""No function in inspector/ is longer than MAX_LINES (docs/ARCHITECTURE.md: functions kept
under ~60 lines), but for the few listed in ALLOWED, each with its reason. A new long
function fails this test; split it where a reader would thank you, or list it here and
say why it must stay long."""

from __future__ import annotations

import ast
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]
MAX_LINES = 60
GENERATED = {"inspector/gui/resources_rc.py", "inspector/analysis/capabilities_data.py"}

# "file::qualified.name": why it is long. Keep this list short.
ALLOWED: dict[str, str] = {}  # "file::qualified.name" -> why it must stay long


def long_functions(root: pathlib.Path = REPO) -> dict[str, int]:
    """ "file::qualified.name" -> lines, for every function (methods and nested functions
    too) longer than MAX_LINES, decorators not counted."""
    out = {}
    for path in sorted((root / "inspector").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in GENERATED:
            continue
        stack = [(ast.parse(path.read_text(encoding="utf-8")), "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = prefix + child.name
                    if not isinstance(child, ast.ClassDef):
                        lines = child.end_lineno - child.lineno + 1
                        if lines > MAX_LINES:
                            out[f"{rel}::{name}"] = lines
                    stack.append((child, name + "."))
                else:
                    stack.append((child, prefix))
    return out


def test_no_new_long_function():
    found = long_functions()
    new = {k: v for k, v in found.items() if k not in ALLOWED}
    listed = ", ".join(f"{k} ({v} lines)" for k, v in sorted(new.items()))
    assert not new, (
        f"functions over {MAX_LINES} lines (split them, or list them in ALLOWED with a reason): {listed}"
    )


def test_the_allow_list_holds_only_long_functions():
    """A listed function that was split (or renamed) leaves the list too."""
    stale = sorted(set(ALLOWED) - set(long_functions()))
    assert not stale, f"no longer over {MAX_LINES} lines or gone; remove from ALLOWED: {stale}"


def test_a_long_function_is_found(tmp_path):
    """The measure can fail: a 61-line method inside a class is reported by its qualified name."""
    pkg = tmp_path / "inspector"
    pkg.mkdir()
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_LINES))
    (pkg / "m.py").write_text(f"class A:\n    def f(self):\n{body}\n\n    def g(self):\n        pass\n")
    assert long_functions(tmp_path) == {"inspector/m.py::A.f": MAX_LINES + 1}
