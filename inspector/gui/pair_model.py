"""Training › Pair optimizer with model file…: a bare optimizer state (`optimizer.pt` of
the HF Trainer, skorch, TorchSharp exports) names its parameters from a model file the
user points at, with the same exact / inferred / unknown confidence as a training
checkpoint. The model file is read like any other (nothing in it is executed)."""

from __future__ import annotations

import os

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from ..analysis.inspection import read_checkpoint
from ..analysis.training import optimizer_maps, training_summary
from ..formats import CheckpointError

FILTER = "Checkpoints (*.pt *.pth *.bin *.ckpt *.tar *.pkl *.safetensors *.json);;All files (*)"


def install(window) -> QAction:
    """Add the Training menu (before Help) with the pairing action; returns the action."""
    bar = window.menuBar()
    help_action = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
    menu = window.menuBar().addMenu("&Training") if help_action is None else None
    if menu is None:
        from PySide6.QtWidgets import QMenu

        menu = QMenu("&Training", window)
        bar.insertMenu(help_action, menu)
    act = QAction("&Pair optimizer with model file…", window)
    act.setShortcut(QKeySequence("Ctrl+Alt+P"))
    act.setStatusTip("Name a bare optimizer state's parameters from the model file it belongs to")
    act.triggered.connect(lambda: pair(window))
    menu.addAction(act)
    window.pair_action = act
    return act


def pair(window, model_path: str | None = None) -> bool:
    """Pair the current file's optimizer(s) with a model file; True when names were set."""
    f = window.current_file()
    if f is None or not f.training.get("optimizers"):
        window.show_error("Pair with model file", "The selected file holds no optimizer state.")
        return False
    if model_path is None:
        model_path, _ = QFileDialog.getOpenFileName(
            window, "Model file for this optimizer", os.path.dirname(f.path), FILTER
        )
        if not model_path:
            return False
    try:
        model = read_checkpoint(model_path)
        maps = optimizer_maps(f.ck, model=model)
    except CheckpointError as exc:
        window.show_error("Pair with model file", f"{os.path.basename(model_path)}: {exc}")
        return False
    old = getattr(f, "paired_model", None)
    if old is not None:
        old.close()
    f.paired_model = model
    f.maps = maps
    f.training = training_summary(f.ck, maps=maps)
    window.summary.show_file(f)
    window.file_view.setTabEnabled(1, any(m.kind.startswith("Adam") for m in maps))
    named = sum(1 for m in maps for s in m.slots if s.name)
    total = sum(len(m.slots) for m in maps)
    window.statusBar().showMessage(
        f"Paired with {os.path.basename(model_path)}: {named} of {total} optimizer records named", 8000
    )
    return True
