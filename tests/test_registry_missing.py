"""Without the `registry` extra (MLflow blocked by a meta-path finder in a sitecustomize of
a subprocess): every registry command says in one line how to install it; everything else,
the window included, works as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from registry_helpers import save_mlp

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "mlflow" or name.startswith("mlflow."):
            raise ImportError("No module named 'mlflow' (blocked for a test)")
sys.meta_path.insert(0, _Block())
"""


def test_without_the_extra_each_command_says_how_to_install_it(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = dict(
        os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}", CHECKPOINT_INSPECTOR_DATA=str(tmp_path)
    )
    ck = tmp_path / "m.pt"
    save_mlp(ck, 0)

    def ckpt(*a):
        return subprocess.run(
            [sys.executable, "-m", "inspector.cli", *a],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )

    for argv in (
        ["registry", "models"],
        ["info", "models:/x/1"],
        ["registry", "register", str(ck), "--name", "x"],
    ):
        r = ckpt(*argv)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (argv, r.stderr)
        assert "pip install 'checkpoint-inspector[registry]'" in r.stderr, r.stderr
    r = ckpt("info", str(ck))
    assert r.returncode == 0 and "tensors" in r.stdout, r.stderr


def test_without_the_extra_the_window_still_opens_files(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = dict(
        os.environ,
        PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}",
        QT_QPA_PLATFORM="offscreen",
        CHECKPOINT_INSPECTOR_SETTINGS=str(tmp_path / "settings"),
    )
    ck = tmp_path / "m.pt"
    save_mlp(ck, 0)
    png = tmp_path / "w.png"
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from inspector.gui.app import main; sys.exit(main(sys.argv[1:]))",
            "--screenshot",
            str(png),
            str(ck),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0 and png.stat().st_size > 10_000, r.stderr
    r = subprocess.run([sys.executable, "-c", "import mlflow"], capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "blocked for a test" in r.stderr  # the blocker really blocks


def test_ckpt_start_up_does_not_import_mlflow():
    code = "import sys, inspector.cli, inspector.registry.resolve; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
