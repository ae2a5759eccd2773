"""Desktop integration files: a valid .desktop entry with an absolute Exec, a MIME type
Qt's own database then resolves for .pt files, and a clean uninstall."""

import os
import shutil
import subprocess
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ckpt(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "inspector.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="desktop-file-validate is not installed (Debian: desktop-file-utils)",
)
def test_desktop_file_validates():
    r = subprocess.run(
        ["desktop-file-validate", os.path.join(ROOT, "resources", "checkpoint-inspector.desktop")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


MIME_CHECK = """
import sys
from PySide6.QtCore import QCoreApplication, QMimeDatabase
app = QCoreApplication([])
db = QMimeDatabase()
print(" ".join(db.mimeTypeForFile(p).name() for p in sys.argv[1:]))
"""


def test_install_registers_the_mime_type_and_an_absolute_exec(tmp_path):
    home = tmp_path / "share"
    r = ckpt("desktop", "install", "--user", env={"XDG_DATA_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    entry = (home / "applications" / "checkpoint-inspector.desktop").read_text()
    exec_line = next(ln for ln in entry.splitlines() if ln.startswith("Exec="))
    exe = exec_line[len("Exec=") :].split(" %F")[0].strip('"')
    assert os.path.isabs(exe) and os.access(exe, os.X_OK)
    if shutil.which("desktop-file-validate"):
        assert (
            subprocess.run(
                ["desktop-file-validate", str(home / "applications" / "checkpoint-inspector.desktop")]
            ).returncode
            == 0
        )
    pt, legacy, st = tmp_path / "model.pt", tmp_path / "weights.dat", tmp_path / "m.safetensors"
    torch.save({"a": torch.zeros(1)}, pt)
    torch.save({"a": torch.zeros(1)}, legacy, _use_new_zipfile_serialization=False)  # magic rule
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(1)}, str(st))
    out = subprocess.run(
        [sys.executable, "-c", MIME_CHECK, str(pt), str(legacy), str(st)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_DATA_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.stdout.split() == [
        "application/x-pytorch",
        "application/x-pytorch",
        "application/x-safetensors",
    ], out
    assert (home / "icons" / "hicolor" / "256x256" / "apps" / "checkpoint-inspector.png").exists()
    r = ckpt("desktop", "uninstall", env={"XDG_DATA_HOME": str(home)})
    assert r.returncode == 0
    assert not (home / "applications" / "checkpoint-inspector.desktop").exists()


def test_set_default_without_xdg_mime_writes_mimeapps(tmp_path, monkeypatch):
    from inspector import desktop

    monkeypatch.setattr(desktop.shutil, "which", lambda tool: None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    desktop.set_default_handler()
    text = (tmp_path / "mimeapps.list").read_text()
    assert "application/x-pytorch=checkpoint-inspector.desktop" in text
