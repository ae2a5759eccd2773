"""The window's registry: the browser on a real temporary SQLite store (models listed, a
version opened, the summary shows where it came from), the register dialog (facts shown,
names completed, the version written and read back), download Cancel, failures."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

pytest.importorskip("mlflow", reason="the registry extra is not installed (pip install '.[registry]')")

from registry_helpers import DANGEROUS_PICKLE, build_store, save_mlp, sha256  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("gui-registry")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHECKPOINT_INSPECTOR_DATA", str(root / "data"))
        mp.setenv("CHECKPOINT_INSPECTOR_CACHE", str(root / "cache"))
        made = build_store(root / "store")
        mp.setenv("MLFLOW_TRACKING_URI", made["uri"])
        made["root"] = root
        yield made


def texts(tree, col=0):
    return [tree.topLevelItem(i).text(col) for i in range(tree.topLevelItemCount())]


def test_menu_entries_exist(window):
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.menu() and "File" in a.text())
    labels = [a.text() for a in file_menu.actions()]
    assert "Open from Re&gistry…" in labels and "Register in Registr&y…" in labels


def test_browser_lists_models_opens_a_version_and_the_summary_shows_its_origin(
    window, qtbot, store, tmp_path
):
    import torch

    dlg = window.registry.make_browser()
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.models.topLevelItemCount() == 3 and not dlg.busy(), timeout=20000)
    assert texts(dlg.models) == ["mlp", "other", "single"]
    assert texts(dlg.models, 1) == ["3", "2", "1"]
    assert texts(dlg.models, 2)[0] == "prod=2, staging=3"
    qtbot.waitUntil(lambda: dlg.version_list.topLevelItemCount() == 3 and not dlg.busy(), timeout=20000)
    assert texts(dlg.version_list) == ["3", "2", "1"]
    assert texts(dlg.version_list, 1) == ["@staging", "@prod", ""]
    assert "loss=0.5" in dlg.version_list.topLevelItem(1).text(4)  # the run's metric, logged as 1/2
    dlg.version_list.setCurrentItem(dlg.version_list.topLevelItem(1))
    qtbot.waitUntil(lambda: texts(dlg.files) == ["mlp_v2.pt"] and not dlg.busy(), timeout=20000)
    assert "seed=1" in dlg.version_list.topLevelItem(1).text(5)
    assert "models:/mlp/2" in dlg.details.toPlainText()
    dlg.grab().save(str(tmp_path / "browser.png"))
    item = dlg.files.topLevelItem(0)
    dlg.files.itemDoubleClicked.emit(item, 0)
    assert dlg.result() == QDialog.Accepted and dlg.selected_uri == "models:/mlp/2/mlp_v2.pt"

    window.registry.take_uris([dlg.selected_uri])
    qtbot.waitUntil(lambda: len(window.model.files()) == 1, timeout=20000)
    f = window.model.files()[0]
    assert sha256(f.path) == store["mlp"]["2"]["sha"]
    sd = torch.load(store["mlp"]["2"]["file"], weights_only=True)["model_state_dict"]
    assert f.summary["tensor_count"] == len(sd)
    html = window.summary.toPlainText()
    assert "Registry" in html and "model mlp, version 2, aliases @prod" in html
    assert store["mlp"]["2"]["run_id"] in html and "models:/mlp/2/mlp_v2.pt" in html
    assert window.errors == []


def test_browser_filter_and_the_open_button(window, qtbot, store):
    dlg = window.registry.make_browser()
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.version_list.topLevelItemCount() == 3 and not dlg.busy(), timeout=20000)
    dlg.filter.setText("vision")  # a tag of mlp only
    assert [dlg.models.topLevelItem(i).isHidden() for i in range(3)] == [False, True, True]
    dlg.filter.setText("")
    dlg.open_button.click()  # nothing chosen in the files: the current version
    assert dlg.result() == QDialog.Accepted and dlg.selected_uri == "models:/mlp/3"
    dlg = window.registry.make_browser()
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.files.topLevelItemCount() == 1 and not dlg.busy(), timeout=20000)
    dlg.files.setCurrentItem(dlg.files.topLevelItem(0))
    dlg.open_button.click()
    assert dlg.selected_uri == "models:/mlp/3/mlp_v3.pt"


def test_open_paths_accepts_uris_and_failures_show_a_message(window, qtbot, store):
    window.open_paths(["models:/mlp@staging"])
    qtbot.waitUntil(lambda: len(window.model.files()) == 1, timeout=20000)
    assert sha256(window.model.files()[0].path) == store["mlp"]["3"]["sha"]
    window.open_paths(["models:/other/1"])
    qtbot.waitUntil(lambda: bool(window.errors), timeout=20000)
    assert "is not a checkpoint" in window.errors[-1]
    window.open_paths(["models:/ghost/1"])
    qtbot.waitUntil(lambda: len(window.errors) == 2, timeout=20000)
    assert "model 'ghost' does not exist" in window.errors[-1]
    assert len(window.model.files()) == 1


def test_browser_shows_an_unreachable_server_in_the_dialog(window, qtbot, store):
    from registry_helpers import free_port

    from inspector.gui.dialogs.registry_browser_dialog import RegistryBrowserDialog

    dlg = RegistryBrowserDialog(window.runner, f"http://127.0.0.1:{free_port()}", window)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: not dlg.busy(), timeout=20000)
    assert "cannot reach the tracking server" in dlg.status.text()
    assert dlg.models.topLevelItemCount() == 0


def test_cancel_stops_a_download_and_leaves_nothing(window, qtbot, store, monkeypatch):
    import time

    import mlflow.artifacts

    from inspector.registry.resolve import cache_root

    real = mlflow.artifacts.download_artifacts

    def slow(*a, **k):
        time.sleep(1.0)
        return real(*a, **k)

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", slow)
    window.registry.take_uris(["models:/mlp/1/mlp_v1.pt"])
    qtbot.waitUntil(lambda: window.registry.dialog is not None, timeout=5000)
    from PySide6.QtWidgets import QPushButton

    (button,) = [b for b in window.registry.dialog.findChildren(QPushButton) if b.text() == "Cancel"]
    button.click()
    qtbot.waitUntil(lambda: window.registry.active is None, timeout=20000)
    qtbot.wait(1500)  # the abandoned download finishes and removes its folder
    assert window.model.files() == [] and window.errors == []
    assert "cancelled" in window.statusBar().currentMessage()
    import pathlib

    leftovers = [
        p
        for p in pathlib.Path(cache_root()).rglob("*")
        if "mlp_v1.pt" in str(p) and "/1/mlp_v1.pt/" in str(p).replace("%2F", "/")
    ]
    assert leftovers == [] and not list(pathlib.Path(cache_root()).rglob(".download-*"))


def test_register_dialog_shows_facts_completes_names_and_registers(
    window, qtbot, store, tmp_path, monkeypatch
):
    from mlflow.tracking import MlflowClient
    from PySide6.QtWidgets import QMessageBox

    ck = tmp_path / "gui_trained.pt"
    sd = save_mlp(ck, seed=9, epoch=5, loss=0.75)
    window.open_paths([str(ck)])
    qtbot.waitUntil(lambda: len(window.model.files()) == 1, timeout=20000)
    dlg = window.registry.make_register_dialog(window.current_file())
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: bool(dlg.model_names), timeout=20000)
    assert {"mlp", "other"} <= set(dlg.model_names)
    assert dlg.name.completer().model().rowCount() >= 2
    facts = {dlg.table.item(r, 0).text(): dlg.table.item(r, 1).text() for r in range(dlg.table.rowCount())}
    assert facts["parameters"] == f"{sum(t.numel() for t in sd.values()):,}"
    assert facts["verdict"] == "safe" and facts["epoch"] == "5" and facts["metric loss"] == "0.75"
    dlg.grab().save(str(tmp_path / "register.png"))
    dlg.name.setEditText("gui-model")
    dlg.tags.setPlainText("team=gui\nbad line")
    dlg._accept()
    assert "KEY=VALUE" in dlg.error.text() and dlg.result() != QDialog.Accepted
    dlg.tags.setPlainText("team=gui")
    dlg.alias.setText("fromgui")
    dlg._accept()
    assert dlg.result() == QDialog.Accepted
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a: shown.append(a[2]))
    window.registry.register(str(ck), dlg.options())
    qtbot.waitUntil(lambda: bool(shown), timeout=30000)
    assert "models:/gui-model/1" in shown[0]
    c = MlflowClient(tracking_uri=store["uri"], registry_uri=store["uri"])
    mv = c.get_model_version("gui-model", "1")
    assert mv.tags == {"team": "gui"} and str(c.get_registered_model("gui-model").aliases["fromgui"]) == "1"
    assert c.get_run(mv.run_id).data.params["ckpt.parameter_count"] == str(
        sum(t.numel() for t in sd.values())
    )


def test_register_dialog_needs_a_tick_for_a_dangerous_file(window, qtbot, store, tmp_path):
    bad = tmp_path / "evil.pt"
    bad.write_bytes(DANGEROUS_PICKLE)
    window.open_paths([str(bad)])
    qtbot.waitUntil(lambda: len(window.model.files()) == 1, timeout=20000)
    dlg = window.registry.make_register_dialog(window.current_file())
    qtbot.addWidget(dlg)
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dlg.force.setChecked(True)
    assert ok.isEnabled() and dlg.options().force is True


def test_without_mlflow_the_menu_says_how_to_install(window, monkeypatch):
    import inspector.registry.store as store_mod
    from inspector.registry import INSTALL_HINT, RegistryError

    def missing():
        raise RegistryError(INSTALL_HINT)

    monkeypatch.setattr(store_mod, "mlflow", missing)
    window.registry.open_action.trigger()
    assert window.errors == [INSTALL_HINT]
