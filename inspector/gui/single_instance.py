"""One running window: a second launch hands its files to the first and exits.

The first instance listens on a per-user local socket; a later launch connects, sends
the absolute paths as one JSON line and quits. A stale socket left by a crash is
removed when nobody answers on it.
"""

from __future__ import annotations

import getpass
import json
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from ..registry import is_registry_uri


def server_name() -> str:
    return os.environ.get("CHECKPOINT_INSPECTOR_INSTANCE") or f"checkpoint-inspector-{getpass.getuser()}"


def send_to_running(paths: list[str], name: str | None = None, timeout_ms: int = 800) -> bool:
    """True when a running window took the files."""
    sock = QLocalSocket()
    sock.connectToServer(name or server_name())
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write((json.dumps([p if is_registry_uri(p) else os.path.abspath(p) for p in paths]) + "\n").encode())
    ok = sock.waitForBytesWritten(timeout_ms)
    sock.waitForReadyRead(timeout_ms)  # the window answers once it has the paths
    sock.disconnectFromServer()
    return ok


class SingleInstance(QObject):
    received = Signal(list)

    def __init__(self, name: str | None = None, parent=None):
        super().__init__(parent)
        self.name = name or server_name()
        self.server = QLocalServer(self)
        self.server.newConnection.connect(self._connection)

    def listen(self) -> bool:
        if not self.server.listen(self.name):
            QLocalServer.removeServer(self.name)  # a crashed instance's socket file
            return self.server.listen(self.name)
        return True

    def _connection(self) -> None:
        sock = self.server.nextPendingConnection()
        if sock is None:
            return
        sock.readyRead.connect(lambda s=sock: self._read(s))
        if sock.bytesAvailable():
            self._read(sock)

    def _read(self, sock) -> None:
        if not sock.canReadLine():
            return
        try:
            paths = json.loads(bytes(sock.readLine()).decode())
        except ValueError:
            paths = []
        sock.write(b"ok\n")
        sock.flush()
        self.received.emit([p for p in paths if isinstance(p, str)])
