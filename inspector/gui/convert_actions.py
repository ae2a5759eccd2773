"""The Convert menu in one table: each action's label, shortcut, dialog, job and progress title.

The window's Convert menu and a file row's context menu are both built from `CONVERT`;
`convert(window, kind)` opens the dialog for the current file, and when accepted runs the
job on the options it returns (typed, from ops/plans.py) with progress and cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from PySide6.QtWidgets import QDialog

from ..ops.plans import run_export, run_remap, run_strip, run_warmstart
from ..present import human_bytes


def _remap_dialog(window, f, weights, dicts):
    from .dialogs.remap_dialog import RemapDialog

    return RemapDialog(f.path, f.summary["devices"], f.ck.format, window)


def _strip_dialog(window, f, weights, dicts):
    from .dialogs.strip_dialog import StripDialog

    return StripDialog(f.path, dicts, weights, human_bytes(f.ck.file_size), window)


def _warmstart_dialog(window, f, weights, dicts):
    from .dialogs.warmstart_dialog import WarmstartDialog

    return WarmstartDialog(f.path, dicts, window)


def _export_dialog(window, f, weights, dicts):
    from ..analysis.weight_candidates import classes_named_in_file
    from .dialogs.export_dialog import ExportDialog

    return ExportDialog(
        f.path,
        weights,
        window,
        pickled_model=f.ck.root.kind == "module" and f.verdict.trustable,
        imports=f.verdict.modules,
        classes=classes_named_in_file(f.verdict),
    )


@dataclass(frozen=True)
class ConvertAction:
    kind: str
    label: str  # the Convert menu's text (with its & accelerator)
    row_label: str  # the same action in a file row's context menu
    shortcut: str
    dialog: Callable  # (window, file, recognised weights key, weight candidates) -> QDialog
    job: Callable  # (options, progress) -> result; runs in the background
    title: str  # the progress dialog's label


CONVERT = (
    ConvertAction(
        "remap",
        "&Re-map devices…",
        "Re-map devices…",
        "Ctrl+Shift+M",
        _remap_dialog,
        run_remap,
        "Re-mapping devices…",
    ),
    ConvertAction(
        "warmstart",
        "&Warm-start a model from this file…",
        "Warm-start a model from this file…",
        "Ctrl+Shift+W",
        _warmstart_dialog,
        run_warmstart,
        "Warm-starting…",
    ),
    ConvertAction(
        "export",
        "&Export (torch.export, TorchScript, safetensors)…",
        "Export…",
        "Ctrl+Shift+X",
        _export_dialog,
        run_export,
        "Exporting…",
    ),
    ConvertAction(
        "strip",
        "&Strip for inference…",
        "Strip for inference…",
        "Ctrl+Shift+S",
        _strip_dialog,
        run_strip,
        "Stripping…",
    ),
)
BY_KIND = {a.kind: a for a in CONVERT}


def make_dialog(window, kind: str, f, weights):
    from ..analysis.weight_candidates import weight_candidates

    layout = SimpleNamespace(weights=weights, optimizers=f.training.get("optimizers", []))
    dicts = weight_candidates(f.ck, layout)  # sub-trees that look like weights, best first
    return BY_KIND[kind].dialog(window, f, weights, dicts)


def convert(window, kind: str) -> None:
    f = window.current_file()
    if f is None:
        window.show_error("Convert", "Open a checkpoint first.")
        return
    weights = f.training.get("weights")  # the layout recognised when the file was read
    dialog = make_dialog(window, kind, f, weights)
    if dialog.exec() != QDialog.Accepted:
        return
    action = BY_KIND[kind]
    window.operations.run(action.title, action.job, dialog.options(), on_done=window.converted)
