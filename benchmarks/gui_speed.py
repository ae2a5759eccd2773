"""Window speed on a checkpoint of 20,000 tensors plus Adam state (about 100,000 nodes).

Prints, offscreen: the parse time; the time from the parse finishing to the tree shown
(model filled, view painted); the time to expand the widest node (20,000 children); and
the time for one filter keystroke (filter applied, view painted). Targets: 1 s, 200 ms,
200 ms.

    python benchmarks/gui_speed.py [--tensors 20000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make(path: str, n: int) -> None:
    import torch

    sd = {f"blocks.{i // 10}.layer{i % 10}.weight": torch.randn(16) for i in range(n)}
    state = {
        i: {"step": torch.tensor(10.0), "exp_avg": torch.randn(16), "exp_avg_sq": torch.rand(16)}
        for i in range(n)
    }
    opt = {
        "state": state,
        "param_groups": [
            {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "params": list(range(n))}
        ],
    }
    torch.save({"epoch": 1, "model_state_dict": sd, "optimizer_state_dict": opt}, path)


def paint(app, w) -> None:
    app.processEvents()
    w.tree.viewport().repaint()
    app.processEvents()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tensors", type=int, default=20_000)
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="gui-speed-")
    os.environ.setdefault("CHECKPOINT_INSPECTOR_SETTINGS", os.path.join(folder, "settings"))
    path = os.path.join(folder, "big_training.pt")
    make(path, args.tensors)

    from PySide6.QtWidgets import QApplication

    from inspector.gui.loader import load
    from inspector.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    w = MainWindow(synchronous=True)
    w.resize(1400, 900)
    w.show()
    paint(app, w)

    t0 = time.perf_counter()
    f = load(path)
    parse = time.perf_counter() - t0
    nodes = sum(1 for _ in f.ck.root.walk())

    t0 = time.perf_counter()
    w._opened(path, f)
    paint(app, w)
    shown = time.perf_counter() - t0

    idx = w.model.index_for_path(f, "model_state_dict")
    w.tree.collapse(idx)
    paint(app, w)
    t0 = time.perf_counter()
    w.tree.expand(idx)
    w.tree.scrollTo(idx)
    paint(app, w)
    expand = time.perf_counter() - t0

    w.filter.setText("layer7")
    paint(app, w)  # the debounce timer has not fired yet
    t0 = time.perf_counter()
    w.apply_filter()
    paint(app, w)
    keystroke = time.perf_counter() - t0
    w.filter.setText("blocks.199")
    t0 = time.perf_counter()
    w.apply_filter()
    paint(app, w)
    keystroke2 = time.perf_counter() - t0

    print(f"{args.tensors:,} tensors + Adam state: {nodes:,} nodes")
    print(f"parse (open, summary, verdict):        {parse * 1000:8.1f} ms")
    print(f"tree shown after the parse:           {shown * 1000:8.1f} ms   (target 1000 ms)")
    print(f"expand the widest node ({args.tensors:,} rows): {expand * 1000:8.1f} ms   (target 200 ms)")
    print(f"filter keystroke 'layer7' (many hits): {keystroke * 1000:8.1f} ms   (target 200 ms)")
    print(f"filter keystroke 'blocks.199':          {keystroke2 * 1000:8.1f} ms   (target 200 ms)")


if __name__ == "__main__":
    main()
