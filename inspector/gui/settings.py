"""Remembered settings (QSettings), kept in a folder tests can redirect.

CHECKPOINT_INSPECTOR_SETTINGS names a folder for an INI file (tests use one per test);
otherwise Qt's per-user location is used.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

MAX_RECENT = 10


def settings() -> QSettings:
    folder = os.environ.get("CHECKPOINT_INSPECTOR_SETTINGS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        return QSettings(os.path.join(folder, "checkpoint-inspector.ini"), QSettings.IniFormat)
    return QSettings("CheckpointInspector", "checkpoint-inspector")


def recent_files() -> list[str]:
    value = settings().value("recent", [])
    if isinstance(value, str):
        value = [value]
    files = [f for f in (value or []) if isinstance(f, str) and os.path.exists(f)]
    return files


def add_recent(path: str) -> list[str]:
    path = os.path.abspath(path)
    files = [f for f in recent_files() if f != path]
    files.insert(0, path)
    files = files[:MAX_RECENT]
    s = settings()
    s.setValue("recent", files)
    s.sync()
    return files


def clear_recent() -> None:
    s = settings()
    s.setValue("recent", [])
    s.sync()
