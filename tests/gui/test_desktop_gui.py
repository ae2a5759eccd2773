"""One running window receives a second launch's files; live reload reloads once,
with the new content, whether the file is replaced by rename or written in two halves."""

import os
import subprocess
import sys
import uuid

import torch

from inspector.gui.single_instance import SingleInstance


def test_second_launch_hands_its_file_to_the_running_window(qtbot, window, tmp_path):
    name = f"ci-test-{uuid.uuid4().hex[:8]}"
    inst = SingleInstance(name, parent=window)
    inst.received.connect(window.receive_paths)
    assert inst.listen()
    p = tmp_path / "second.pt"
    torch.save({"x": torch.ones(2)}, p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector.gui.app", str(p)],
        env={**os.environ, "CHECKPOINT_INSPECTOR_INSTANCE": name, "QT_QPA_PLATFORM": "offscreen"},
    )
    qtbot.waitUntil(lambda: any(f.path == str(p) for f in window.model.files()), timeout=30000)
    assert proc.wait(timeout=30) == 0  # it exited: no second window


def write(path, epoch, size=2000):
    torch.save({"epoch": epoch, "w": torch.full((size,), float(epoch))}, path)


def current_epoch(window):
    return window.model.files()[0].ck.find("epoch").value


def open_and_wait(qtbot, window, p):
    window.open_paths([p])
    qtbot.waitUntil(lambda: bool(window.model.files()) and not window.loading, timeout=20000)


def test_replaced_by_rename_reloads_once_keeping_the_selection(qtbot, window, tmp_path):
    p = tmp_path / "live.pt"
    write(p, 1)
    open_and_wait(qtbot, window, p)
    assert window.select_path("w")
    tmp = tmp_path / "live.pt.tmp"
    write(tmp, 2)
    os.replace(tmp, p)  # how training loops save
    qtbot.waitUntil(lambda: window.reloads == 1, timeout=20000)
    assert current_epoch(window) == 2
    qtbot.wait(1500)
    assert window.reloads == 1
    assert window.model.item(window.tree.currentIndex()).node.path == "w"
    assert window.errors == []


def test_written_in_two_halves_reloads_once_when_complete(qtbot, window, tmp_path):
    p = tmp_path / "halves.pt"
    write(p, 1)
    open_and_wait(qtbot, window, p)
    src = tmp_path / "next.pt"
    write(src, 7, size=200_000)
    data = src.read_bytes()
    with open(p, "wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()
        qtbot.wait(1200)  # longer than the settle time: the half file is seen
        fh.write(data[len(data) // 2 :])
    qtbot.waitUntil(lambda: window.reloads >= 1 and not window.loading, timeout=20000)
    qtbot.wait(1500)
    assert window.reloads == 1 and current_epoch(window) == 7
    assert window.errors == []  # the half-written file gave no error box


def test_live_reload_can_be_switched_off(qtbot, window, tmp_path):
    p = tmp_path / "off.pt"
    write(p, 1)
    open_and_wait(qtbot, window, p)
    window.live_reload.trigger()  # View > Reload files when they change: off
    assert not window.live_reload.isChecked()
    write(p, 2)
    qtbot.wait(1500)
    assert window.reloads == 0 and current_epoch(window) == 1


def test_folder_of_epochs_opens_sorted_by_number(qtbot, window, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    for e in (10, 2, 1):
        write(folder / f"epoch_{e}.pt", e, size=4)
    (folder / "notes.txt").write_text("not a checkpoint")
    window.open_paths([folder])
    qtbot.waitUntil(lambda: len(window.model.files()) == 3 and not window.loading, timeout=20000)
    names = [os.path.basename(window.model.item(window.model.index(r, 0)).file.path) for r in range(3)]
    assert names == ["epoch_1.pt", "epoch_2.pt", "epoch_10.pt"]
