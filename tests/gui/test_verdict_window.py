"""The window shows the verdict whatever happens: a file the reader cannot open but the
scan can judge opens to its verdict page (red when dangerous, amber when we cannot vouch
for it) with the evidence, and a hostile Trainer folder opens under the red banner."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import audit

sys.path.insert(0, str(Path(__file__).parents[1] / "adversarial"))
import own_samples


def wait_done(qtbot, w):
    qtbot.waitUntil(lambda: not w.loading, timeout=20000)


def test_unreadable_but_dangerous_file_opens_to_a_red_verdict_page(qtbot, window, tmp_path, monkeypatch):
    sentinel = tmp_path / "SENTINEL"
    monkeypatch.setenv("RT_SENTINEL", str(sentinel))
    p = tmp_path / "cut_evil.pkl"
    cmd = b"touch $RT_SENTINEL"
    p.write_bytes(b"\x80\x02cos\nsystem\n(X" + len(cmd).to_bytes(4, "little") + cmd + b"tR(")  # no STOP
    from inspector.gui.loader import load

    with audit().watch() as a:  # what the window's background job runs (settings aside)
        loaded = load(str(p))
    assert loaded.dangerous and a.violations() == []
    window.open_paths([p])
    wait_done(qtbot, window)
    assert window.errors == []
    f = window.model.files()[0]
    assert f.read_error and f.dangerous
    window.tree.setCurrentIndex(window.model.index(0, 0))
    text = window.summary.toPlainText()
    assert "DANGEROUS" in text and "os.system('touch $RT_SENTINEL')" in text and "Cannot read" in text
    assert window.banner.isVisible() and "DANGEROUS" in window.banner.text()
    assert not sentinel.exists() and a.violations() == []
    shot = tmp_path / "verdict-only.png"  # docs/screenshot-verdict-only.png was made this way
    assert window.grab().save(str(shot)) and shot.stat().st_size > 10_000


def test_unverified_file_opens_amber(qtbot, window, tmp_path):
    p = tmp_path / "cut.pkl"
    p.write_bytes(b"\x80\x02ccollections\nOrderedDict\n)R}(X\x01\x00\x00\x00a")
    window.open_paths([p])
    wait_done(qtbot, window)
    window.tree.setCurrentIndex(window.model.index(0, 0))
    assert window.errors == []
    assert window.banner.isVisible() and "Cannot vouch" in window.banner.text()
    assert "Cannot vouch" in window.summary.toPlainText()


def test_hostile_trainer_folder_opens_red(qtbot, window, tmp_path):
    recs = own_samples.generate(str(tmp_path))
    folder = next(
        tmp_path / r["file"] for r in recs if r["family"] == "trainer_folder" and r["label"] == "malicious"
    )
    window.open_paths([folder])
    wait_done(qtbot, window)
    assert window.errors == []
    window.tree.setCurrentIndex(window.model.index(0, 0))
    assert window.model.files()[0].dangerous and window.banner.isVisible()
    assert "optimizer.pt" in window.summary.toPlainText()


def test_every_malicious_corpus_file_opens_to_a_dangerous_verdict():
    """The 17 security-corpus files the reader cannot open used to end in a bare error box;
    each now loads as a (verdict-only) entry flagged dangerous."""
    import json

    from helpers import SECURITY, corpus_or_skip

    from inspector.gui.loader import load

    corpus_or_skip(SECURITY)
    verdict_only = 0
    for rec in json.loads((SECURITY / "manifest.json").read_text()):
        if rec["label"] == "benign":
            continue
        f = load(str(SECURITY / rec["file"]))
        assert f.dangerous, rec["file"]
        verdict_only += f.read_error is not None
    assert verdict_only >= 10
