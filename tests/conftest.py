"""Test set-up: Qt offscreen before anything imports it; settings kept per test."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHONHASHSEED", "0")
sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402


@pytest.fixture
def tmp_settings(tmp_path, monkeypatch):
    """A private QSettings folder so tests never touch the user's settings."""
    monkeypatch.setenv("CHECKPOINT_INSPECTOR_SETTINGS", str(tmp_path / "settings"))
    return tmp_path / "settings"
