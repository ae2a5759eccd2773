"""`checkpoint-inspector [FILE...]` (also `ckpt view`): start the desktop application.

With no file, the window shows its start page at once (Open…, Open Folder…, recent
files, a drop zone, "Open the demo checkpoint", which writes a demo training checkpoint
with torch only when asked). `--screenshot OUT.png [--select TREE_PATH] FILE` renders the window offscreen
to a PNG and exits, for the README and for checks.
"""

from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="checkpoint-inspector", description="Open PyTorch checkpoints without running them."
    )
    p.add_argument("files", nargs="*")
    p.add_argument("--screenshot", metavar="OUT.png", help="render the window to a PNG and exit")
    p.add_argument("--select", metavar="TREE_PATH", help="select this node (with --screenshot)")
    p.add_argument("--size", default="1400x900", help="window size for --screenshot")
    p.add_argument(
        "--demo",
        action="store_true",
        help="with no files: show the window at once, then build (first time) and open "
        "the demo checkpoint in the background",
    )
    p.add_argument(
        "--no-demo",
        action="store_true",
        help="(kept for old scripts: the window now starts on its start page)",
    )
    p.add_argument(
        "--new-window", action="store_true", help="do not hand the files to an already running window"
    )
    return p.parse_args(argv)


XCB_LIBS = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xkbcommon-x11": "libxkbcommon-x11-0",
    "xcb-keysyms": "libxcb-keysyms1",
}


def display_problem() -> str | None:
    """Say so in one line, instead of Qt aborting, when no window can be shown."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return (
            "no display to show a window on (DISPLAY is not set); use --screenshot OUT.png "
            "for an offscreen picture, or the ckpt command"
        )
    if os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        import ctypes.util

        missing = [pkg for lib, pkg in XCB_LIBS.items() if ctypes.util.find_library(lib) is None]
        if missing:
            return (
                "Qt's X11 plugin needs system libraries that are missing; on Debian/Ubuntu: "
                f"sudo apt-get install {' '.join(missing)}"
            )
    return None


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.screenshot and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    problem = display_problem()
    if problem:
        print(f"checkpoint-inspector: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Checkpoint Inspector")
    app.setDesktopFileName("checkpoint-inspector")
    from PySide6.QtGui import QIcon

    from . import resources_rc  # noqa: F401  (importing it registers :/icons)

    app.setWindowIcon(QIcon(":/icons/checkpoint-inspector.svg"))
    files = list(args.files)
    if args.screenshot:
        return screenshot(app, MainWindow, files, args)
    if not args.new_window:
        from .single_instance import send_to_running

        if send_to_running(files):
            return 0  # the running window has them
    from .single_instance import SingleInstance

    window = MainWindow()
    instance = SingleInstance(parent=window)
    instance.received.connect(window.receive_paths)
    instance.listen()
    app.installEventFilter(FileOpenFilter(window, app))
    window.show()
    if files:
        window.open_paths(files)
    elif args.demo:
        window.open_demo()
    return app.exec()


def FileOpenFilter(window, parent):
    """macOS hands files opened in Finder to the running app as QFileOpenEvent."""
    from PySide6.QtCore import QEvent, QObject

    class _Filter(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.FileOpen and event.file():
                window.receive_paths([event.file()])
                return True
            return False

    return _Filter(parent)


def screenshot(app, window_class, files, args) -> int:
    w, h = (int(x) for x in args.size.lower().split("x"))
    window = window_class(synchronous=True)
    window.show_error = lambda title, text: print(f"checkpoint-inspector: {text}", file=sys.stderr)
    window.resize(max(w, 1200), max(h, 800))
    window.show()
    app.processEvents()
    if files:
        window.open_paths(files)
    app.processEvents()
    if args.select and not window.select_path(args.select):
        print(f"checkpoint-inspector: no entry named {args.select!r}", file=sys.stderr)
        return 2
    for _ in range(5):
        app.processEvents()
    image = window.grab()
    if not image.save(args.screenshot):
        print(f"checkpoint-inspector: cannot write {args.screenshot}", file=sys.stderr)
        return 2
    print(f"{args.screenshot} ({image.width()}x{image.height()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
