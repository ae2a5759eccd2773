"""formats, analysis, ops and registry never import Qt, the layers only import downwards and
analysis/ops/registry/gui have no import cycles (the import-linter contracts in pyproject.toml); importing the core loads neither Qt nor torch."""

import pathlib
import shutil
import subprocess
import sys

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
