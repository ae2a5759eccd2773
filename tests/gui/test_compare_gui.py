"""Compare With… and the Progression view, offscreen, on generated epoch files: the status
of each row, both histograms' counts, the A - B histogram, the number of curves, the
ridgeline, Cancel, the Ctrl+drop and the tree's context menu."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QItemSelectionModel, QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QMenu
from torch import nn

from inspector.gui import compare_actions
from inspector.gui.compare_view import CompareView
from inspector.gui.diff_model import COLUMNS, LABELS


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Three epochs: the first layer frozen, the others trained with Adam."""
    d = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    for p in m[0].parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2)
    states, paths = [], []
    for e in range(3):
        for _ in range(4):
            opt.zero_grad()
            m(torch.randn(8, 16)).pow(2).mean().backward()
            opt.step()
        sd = {k: v.clone() for k, v in m.state_dict().items()}
        states.append(sd)
        p = d / f"epoch_{e}.pt"
        torch.save({"epoch": e, "model_state_dict": sd, "optimizer_state_dict": opt.state_dict()}, p)
        paths.append(p)
    return d, paths, states


def wait_open(qtbot, w, n=1):
    qtbot.waitUntil(lambda: len(w.model.files()) >= n and not w.loading, timeout=20000)


def action(window, text):
    menu = window.menuBar().actions()[0].menu()
    return next(a for a in menu.actions() if a.text() == text)


def shown(view, key, column):
    for r in range(view.proxy.rowCount()):
        if view.proxy.index(r, 0).data().split(" → ")[0] == key:
            return view.proxy.index(r, COLUMNS.index(column)).data()
    raise KeyError(key)


def test_compare_with_shows_status_histograms_and_stats(qtbot, window, run, monkeypatch):
    d, paths, states = run
    window.open_paths([paths[0]])
    wait_open(qtbot, window)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(paths[2]), ""))
    action(window, "Compare &With…").trigger()
    view = window.side_views[-1]
    qtbot.waitUntil(lambda: view.done, timeout=30000)
    a, b = states[0], states[2]
    for k in a:
        want = "identical" if torch.equal(a[k], b[k]) else "changed"
        assert shown(view, k, "Status") == LABELS[want], k
    assert shown(view, "0.weight", "Status") == LABELS["identical"]  # the frozen layer
    rel = float(shown(view, "2.weight", "Rel. change"))
    want = ((a["2.weight"].double() - b["2.weight"].double()).norm() / a["2.weight"].double().norm()).item()
    assert rel == pytest.approx(want, rel=1e-3)  # shown with 4 significant digits
    assert "epoch" in view.summary.text()  # the structural difference is listed

    # filter by status: only the changed rows remain
    view.status_filter.setCurrentIndex(view.status_filter.findData("changed"))
    assert view.proxy.rowCount() == sum(1 for r in view.model.rows if r.status == "changed")
    view.status_filter.setCurrentIndex(0)

    # grouped by module: one group per layer and one per optimizer slot, worst status shown
    view.grouped.setChecked(True)
    groups = {
        view.proxy.index(r, 0).data().split("  (")[0]: view.proxy.index(r, 1).data()
        for r in range(view.proxy.rowCount())
    }
    assert groups["0"] == LABELS["identical"] and groups["2"] == LABELS["changed"]
    assert groups["optimizer_state_dict/state/0"] == LABELS["changed"]
    layer2 = next(
        view.proxy.index(r, 0)
        for r in range(view.proxy.rowCount())
        if view.proxy.index(r, 0).data().startswith("2  (")
    )
    assert sorted(view.proxy.index(i, 0, layer2).data() for i in range(2)) == ["2.bias", "2.weight"]
    assert view.proxy.rowCount(layer2) == 2
    view.status_filter.setCurrentIndex(view.status_filter.findData("identical"))
    assert {view.proxy.index(r, 0).data().split("  (")[0] for r in range(view.proxy.rowCount())} == {"0"}
    view.status_filter.setCurrentIndex(0)

    assert view.select_key("2.weight")
    qtbot.waitUntil(lambda: view.detail is not None, timeout=20000)
    det = view.detail
    _, ya = view.curve_a.getData()
    _, yb = view.curve_b.getData()
    edges = np.asarray(det.hist_a.edges)
    assert np.array_equal(edges, det.hist_b.edges)  # one common axis
    assert ya.tolist() == np.histogram(a["2.weight"].numpy(), bins=edges)[0].tolist()
    assert yb.tolist() == np.histogram(b["2.weight"].numpy(), bins=edges)[0].tolist()
    _, yd = view.curve_d.getData()
    assert int(yd.sum()) == a["2.weight"].numel()
    assert view.stats.item(3, 0).text() == f"{a['2.weight'].double().mean().item():.6g}"
    assert view.stats.item(3, 1).text() == f"{b['2.weight'].double().mean().item():.6g}"
    view.grab().save(str(d / "compare.png"))
    view.close()


def test_cancel_stops_a_comparison(qtbot, window, run):
    _, paths, _ = run
    view = CompareView(window, str(paths[0]), str(paths[1]))
    qtbot.addWidget(view)
    view.cancel()  # before the first chunk: the worker must stop there
    view.start()
    qtbot.waitUntil(lambda: view.error is not None or view.done, timeout=20000)
    assert not view.done and view.summary.text().startswith("Cancelled")
    assert window.errors == []


def test_cancel_midway_keeps_what_was_compared(qtbot, window, tmp_path):
    torch.manual_seed(0)
    a = {f"w{i}": torch.randn(256, 256) for i in range(8)}
    b = {k: v + 1 for k, v in a.items()}
    torch.save(a, tmp_path / "a.pt")
    torch.save(b, tmp_path / "b.pt")
    view = CompareView(window, str(tmp_path / "a.pt"), str(tmp_path / "b.pt"))
    qtbot.addWidget(view)

    class CancelAfterThree(type(view.meter)):  # Cancel pressed while the 4th tensor is read
        def __setattr__(self, name, value):
            super().__setattr__(name, value)
            if name == "done" and value > 3 * 2 * 256 * 256 * 4:
                super().__setattr__("cancelled", True)

    view.meter = CancelAfterThree()
    view.start()
    qtbot.waitUntil(lambda: view.error is not None or view.done, timeout=20000)
    assert not view.done and view.summary.text().startswith("Cancelled")
    statuses = [view.proxy.index(r, 1).data() for r in range(view.proxy.rowCount())]
    assert 1 <= statuses.count(LABELS["changed"]) <= 4
    assert statuses.count("not compared") == 8 - statuses.count(LABELS["changed"])


def test_ctrl_drop_and_two_selected_files_compare(qtbot, window, run):
    _, paths, _ = run
    window.open_paths([paths[0]])
    wait_open(qtbot, window)
    mime = QMimeData()  # keep our own reference (docs/FACTS.md)
    mime.setUrls([QUrl.fromLocalFile(str(paths[1]))])
    event = QDropEvent(QPoint(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.ControlModifier)
    window.dropEvent(event)
    view = window.side_views[-1]
    assert (view.path_a, view.path_b) == (str(paths[0]), str(paths[1]))
    assert len(window.model.files()) == 1  # compared, not opened
    qtbot.waitUntil(lambda: view.done, timeout=30000)

    window.open_paths([paths[2]])
    wait_open(qtbot, window, 2)
    sel = window.tree.selectionModel()
    for r in range(2):
        sel.select(window.model.index(r, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)
    menu = QMenu()
    compare_actions._tree_menu(window, menu)
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Compare epoch_0.pt with epoch_2.pt", "Progression of these 2 files"]
    menu.actions()[0].trigger()
    assert window.side_views[-1].path_b == str(paths[2])
    qtbot.waitUntil(lambda: window.side_views[-1].done, timeout=30000)


def test_progression_view_curves_flags_and_ridgeline(qtbot, window, run):
    d, paths, states = run
    window.open_paths([d])  # the folder opens as the sorted list of epochs
    wait_open(qtbot, window, 3)
    assert [f.path for f in window.model.files()] == [str(p) for p in paths]
    action(window, "&Progression Across Checkpoints…").trigger()
    view = window.side_views[-1]
    qtbot.waitUntil(lambda: view.done, timeout=30000)
    keys = list(states[0])
    assert len(view.curves["norm"]) == len(keys)
    assert len(view.curves["rel_change"]) == len(keys)
    trained = [k for k in keys if not k.startswith("0.")]  # frozen layers have no Adam state
    assert sorted(c.layer for c in view.curves["adam_update"]) == sorted(trained)
    rows = {view.table.item(r, 0).text(): view.table.item(r, 1).text() for r in range(view.table.rowCount())}
    assert rows["0.weight"] == "stalled since epoch 0" and rows["0.bias"] == "stalled since epoch 0"
    assert rows["2.weight"] == "ok"
    curve = next(c for c in view.curves["norm"] if c.layer == "2.weight")
    _, ys = curve.getData()
    assert np.allclose(ys, [s["2.weight"].double().norm().item() for s in states], rtol=1e-6)

    assert view.select_layer("4.weight")
    qtbot.waitUntil(lambda: view.ridge is not None, timeout=20000)
    assert len(view.ridge_items) == 3
    edges = np.asarray(view.ridge["edges"])
    for e, counts in enumerate(view.ridge["counts"]):
        assert counts == np.histogram(states[e]["4.weight"].numpy(), bins=edges)[0].tolist()
    view.grab().save(str(d / "progression.png"))
    assert view.grab().width() >= 1000
    view.close()


def test_sparse_skeleton_pair_compares_in_the_window(qtbot, window, tmp_path):
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
    from make_skeleton import write_skeleton

    for name in ("a.pt", "b.pt"):
        write_skeleton(str(tmp_path / name), layers=2, hidden=512, ffn=1024, vocab=4000)
    view = CompareView(window, str(tmp_path / "a.pt"), str(tmp_path / "b.pt"))
    qtbot.addWidget(view)
    view.start()
    qtbot.waitUntil(lambda: view.done, timeout=30000)
    statuses = {view.proxy.index(r, 1).data() for r in range(view.proxy.rowCount())}
    assert statuses == {LABELS["identical"]} and view.proxy.rowCount() == 21
    total = sum(r.nbytes for r in view.result.rows)
    assert view.result.bytes_read < total // 10  # the holes were not read


def test_an_unreadable_file_ends_in_one_message(qtbot, window, run, tmp_path):
    _, paths, _ = run
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    view = CompareView(window, str(paths[0]), str(junk))
    qtbot.addWidget(view)
    view.start()
    qtbot.waitUntil(lambda: view.error is not None, timeout=20000)
    assert len(window.errors) == 1 and "internal error" not in window.errors[0]
    assert view.summary.text().startswith("Cannot compare:")


def test_diff_model_is_a_consistent_qt_model(qtmodeltester, run):
    from inspector.analysis.checkpoint_diff import diff_checkpoints
    from inspector.formats import open_checkpoint
    from inspector.gui.diff_model import DiffModel

    _, paths, _ = run
    with open_checkpoint(paths[0]) as a, open_checkpoint(paths[2]) as b:
        rows = diff_checkpoints(a, b).rows
    model = DiffModel()
    model.set_rows(rows)
    qtmodeltester.check(model)
    model.set_grouped(True)
    qtmodeltester.check(model)
