"""Render the window screenshots of the README's window section (offscreen).

    QT_QPA_PLATFORM=offscreen python docs/window_screenshots.py docs/

Writes screenshot-start.png (the start page), screenshot-grouped.png (a BERT-like
Hugging Face state_dict, grouped by module), screenshot-log-histogram.png (log counts with
the hover readout), screenshot-warmstart.png (the warm-start preview) and
screenshot-dark.png (the dark palette). Checkpoints are written with torch into a
temporary folder; settings go to a temporary folder too.
"""

from __future__ import annotations

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "gui"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(out_dir: str) -> None:
    tmp = tempfile.mkdtemp(prefix="ci-shots-")
    os.environ["CHECKPOINT_INSPECTOR_SETTINGS"] = os.path.join(tmp, "settings")
    import torch
    from fixtures_i14 import bert_like_state_dict
    from PySide6.QtWidgets import QApplication

    from inspector.gui import settings as cfg
    from inspector.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")

    def settle(n=8):
        for _ in range(n):
            app.processEvents()

    os.makedirs(out_dir, exist_ok=True)  # QPixmap.save fails silently without its folder

    def save(widget, name):
        path = os.path.join(out_dir, name)
        widget.grab().save(path)
        print(path)

    bert = os.path.join(tmp, "bert-base-uncased-finetuned-sst2.bin")
    torch.save(bert_like_state_dict(layers=12, hidden=64, vocab=1000), bert)
    from inspector.demo import write_demo

    demo = write_demo(os.path.join(tmp, "demo_checkpoint.pt"))
    for p in (demo, bert):
        cfg.add_recent(p)

    w = MainWindow(synchronous=True)
    w.resize(1400, 900)
    w.show()
    settle()
    save(w, "screenshot-start.png")

    w.open_paths([bert])
    settle()
    w.select_path("bert.encoder.layer.11.attention.output.dense.weight")
    settle()
    save(w, "screenshot-grouped.png")

    w.open_paths([demo])
    settle()
    w.select_path("model_state_dict/3.weight", w.model.files()[-1])
    w.tensor.log.setChecked(True)
    settle()
    plot = w.tensor.plot
    vb = plot.getPlotItem().vb
    h = plot.hist
    i = len(h.counts) // 2
    from PySide6.QtCore import QPointF

    plot.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF((h.edges[i] + h.edges[i + 1]) / 2, 1.0)))
    settle()
    save(w, "screenshot-log-histogram.png")

    # warm-start: this demo file into a wider head (shape mismatches), DataParallel names
    from torch import nn

    from inspector.demo import demo_model

    torch.manual_seed(1)
    fresh = demo_model(classes=100)
    template = os.path.join(tmp, "fresh_100_classes.pt")
    torch.save({"model_state_dict": nn.DataParallel(fresh).state_dict()}, template)
    from inspector.gui.dialogs.warmstart_dialog import WarmstartDialog

    d = WarmstartDialog(demo, ["model_state_dict"], w)
    d.template.setText(template)
    d.show()
    d.preview()
    settle()
    save(d, "screenshot-warmstart.png")
    d.close()

    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    for role, color in (
        (QPalette.Window, "#202124"),
        (QPalette.WindowText, "#e8eaed"),
        (QPalette.Base, "#17181a"),
        (QPalette.AlternateBase, "#232427"),
        (QPalette.Text, "#e8eaed"),
        (QPalette.Button, "#2d2e31"),
        (QPalette.ButtonText, "#e8eaed"),
        (QPalette.Highlight, "#3c6eb4"),
        (QPalette.HighlightedText, "#ffffff"),
        (QPalette.PlaceholderText, "#9aa0a6"),
        (QPalette.ToolTipBase, "#2d2e31"),
        (QPalette.ToolTipText, "#e8eaed"),
    ):
        pal.setColor(role, QColor(color))
    app.setPalette(pal)
    w.tensor.log.setChecked(False)
    w.select_path("model_state_dict/0.weight", w.model.files()[-1])
    settle()
    save(w, "screenshot-dark.png")
    w.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
