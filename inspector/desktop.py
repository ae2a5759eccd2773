"""`ckpt desktop install|uninstall`: make a double-click on a checkpoint open this app.

Linux: no MIME type for PyTorch files is registered, so `.pt` goes to an archive manager
(it is a zip; docs/FACTS.md). We install a shared-mime-info package (`application/x-pytorch`,
a sub-class of application/zip, plus `application/x-safetensors`), the `.desktop` entry
with an absolute Exec/TryExec (a virtual environment is not on the desktop's PATH) and
the icons, into $XDG_DATA_HOME (default ~/.local/share), then refresh the desktop and
MIME databases when their tools exist. `--set-default` makes us the default handler.
Windows: per-user file association under HKCU. macOS: files arrive as QFileOpenEvent,
handled by the application; building an app bundle is out of scope.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import subprocess
import sys

APP_ID = "checkpoint-inspector"
MIME_TYPES = ("application/x-pytorch", "application/x-safetensors")
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
EXTENSIONS = (".pt", ".pth", ".ckpt", ".ptl", ".pt2", ".safetensors")


class DesktopError(Exception):
    pass


def resource(name: str) -> bytes:
    return importlib.resources.files("inspector.resources").joinpath(name).read_bytes()


def launcher() -> str:
    """Absolute path of the installed GUI command (beside this interpreter)."""
    folder = os.path.dirname(os.path.abspath(sys.executable))
    for name in (APP_ID, APP_ID + ".exe", os.path.join("Scripts", APP_ID + ".exe")):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which(APP_ID)
    if found:
        return os.path.abspath(found)
    raise DesktopError(
        f"the {APP_ID} command is not installed beside {sys.executable}; "
        "install the package first (pip install -e .)"
    )


def data_home(user: bool = True) -> str:
    if not user:
        return "/usr/local/share"
    return os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")


def desktop_entry(exec_path: str) -> str:
    text = resource("checkpoint-inspector.desktop").decode()
    quoted = f'"{exec_path}"' if " " in exec_path else exec_path
    lines = []
    for line in text.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={quoted} %F"
        elif line.startswith("TryExec="):
            line = f"TryExec={exec_path}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _files(home: str) -> dict[str, str]:
    files = {
        "desktop": os.path.join(home, "applications", f"{APP_ID}.desktop"),
        "mime": os.path.join(home, "mime", "packages", f"{APP_ID}.xml"),
        "svg": os.path.join(home, "icons", "hicolor", "scalable", "apps", f"{APP_ID}.svg"),
    }
    for size in ICON_SIZES:
        files[f"png{size}"] = os.path.join(
            home, "icons", "hicolor", f"{size}x{size}", "apps", f"{APP_ID}.png"
        )
    return files


def _run(tool: str, *args: str) -> str | None:
    if shutil.which(tool) is None:
        return None
    r = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)
    return f"{tool}: {'ok' if r.returncode == 0 else r.stderr.strip()[:200]}"


def install(user: bool = True, set_default: bool = False) -> dict:
    if sys.platform == "win32":
        return _install_windows(set_default)
    if sys.platform == "darwin":
        return {
            "platform": "macOS",
            "note": "files opened with the app arrive as QFileOpenEvent and are "
            "handled; building an .app bundle for Finder associations is out of scope",
        }
    exec_path = launcher()
    home = data_home(user)
    files = _files(home)
    payload = {
        "desktop": desktop_entry(exec_path).encode(),
        "mime": resource("checkpoint-inspector-mime.xml"),
        "svg": resource("icons/checkpoint-inspector.svg"),
    }
    for size in ICON_SIZES:
        payload[f"png{size}"] = resource(f"icons/checkpoint-inspector-{size}.png")
    try:
        for key, path in files.items():
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(payload[key])
    except OSError as exc:
        raise DesktopError(f"cannot write {exc.filename}: {exc.strerror}") from None
    tools = [
        t
        for t in (
            _run("update-mime-database", os.path.join(home, "mime")),
            _run("update-desktop-database", os.path.join(home, "applications")),
            _run("gtk-update-icon-cache", "-q", "-t", os.path.join(home, "icons", "hicolor")),
        )
        if t
    ]
    if set_default:
        tools.append(set_default_handler())
    return {"exec": exec_path, "data_home": home, "files": list(files.values()), "tools": tools}


def set_default_handler() -> str:
    if shutil.which("xdg-mime"):
        return _run("xdg-mime", "default", f"{APP_ID}.desktop", *MIME_TYPES)
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.join(config, "mimeapps.list")
    lines = open(path).read().splitlines() if os.path.exists(path) else []
    lines = [ln for ln in lines if not ln.startswith(tuple(f"{m}=" for m in MIME_TYPES))]
    if "[Default Applications]" not in lines:
        lines.append("[Default Applications]")
    at = lines.index("[Default Applications]") + 1
    for m in MIME_TYPES:
        lines.insert(at, f"{m}={APP_ID}.desktop")
    os.makedirs(config, exist_ok=True)
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return f"default handler written to {path}"


def uninstall(user: bool = True) -> dict:
    if sys.platform == "win32":
        return _uninstall_windows()
    home = data_home(user)
    removed = []
    for path in _files(home).values():
        if os.path.exists(path):
            os.remove(path)
            removed.append(path)
    tools = [
        t
        for t in (
            _run("update-mime-database", os.path.join(home, "mime")),
            _run("update-desktop-database", os.path.join(home, "applications")),
        )
        if t
    ]
    return {"removed": removed, "tools": tools}


def _install_windows(set_default: bool) -> dict:  # pragma: no cover - needs Windows
    import winreg

    exe = launcher()
    prog = "CheckpointInspector.Checkpoint"
    base = r"Software\Classes"
    with winreg.CreateKey(winreg.HKEY_CURRENT_USER, rf"{base}\{prog}\shell\open\command") as k:
        winreg.SetValue(k, "", winreg.REG_SZ, f'"{exe}" "%1"')
    for ext in EXTENSIONS:
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, rf"{base}\{ext}\OpenWithProgids") as k:
            winreg.SetValueEx(k, prog, 0, winreg.REG_NONE, b"")
        if set_default:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, rf"{base}\{ext}") as k:
                winreg.SetValue(k, "", winreg.REG_SZ, prog)
    return {"exec": exe, "registry": rf"HKCU\{base}\{prog}", "extensions": list(EXTENSIONS)}


def _uninstall_windows() -> dict:  # pragma: no cover - needs Windows
    import winreg

    prog = "CheckpointInspector.Checkpoint"
    for sub in (r"shell\open\command", r"shell\open", "shell", ""):
        try:
            winreg.DeleteKey(winreg.HKEY_CURRENT_USER, rf"Software\Classes\{prog}\{sub}".rstrip("\\"))
        except OSError:
            pass
    return {"removed": prog}
