"""The filter above the tree, as a user expects it to behave.

Matches are shown expanded (their ancestors opened, however many there are) and the first
one is selected, so the panel on the right never shows something the filter hides; zero
matches is said in the tree; clearing the filter restores the rows that were expanded
before it and keeps the selection. The placeholder offers terms that find something in
the open file.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QLabel

from ..analysis.search import parse_query, visible_set
from . import theme

EXPAND_ROWS = 60_000  # up to this many visible rows, the filtered tree is opened whole
EXPAND_MATCHES = 500  # beyond it, the ancestors of this many matches
EXPAND_BUDGET = 1000  # rows opened per keystroke, first rows first
PLACEHOLDER = "Filter: {}  (Ctrl+F; Esc clears)"


class TreeFilter:
    def __init__(self, window):
        self.w = window
        self.saved: dict | None = None  # expansion before the filter: file -> label chains
        self.active = False
        self.matches = 0
        self.no_match = QLabel(window.tree.viewport())
        self.no_match.setAlignment(Qt.AlignCenter)
        self.no_match.setWordWrap(True)
        self.no_match.hide()

    # ---- expansion kept across a filter -------------------------------------------------
    def expanded_chains(self) -> dict:
        """file -> [(label, label, ...)] of every expanded row below it (groups included)."""
        tree, model = self.w.tree, self.w.model
        out: dict = {}
        for f in model.files():
            chains = []
            stack = [(model.file_index(f), ())]
            while stack:
                idx, chain = stack.pop()
                if not idx.isValid() or not tree.isExpanded(idx):
                    continue
                chains.append(chain)
                for r in range(model.rowCount(idx)):
                    kid = model.index(r, 0, idx)
                    stack.append((kid, chain + (model.item(kid).label,)))
            out[f] = chains
        return out

    def restore(self, saved: dict) -> None:
        tree, model = self.w.tree, self.w.model
        for f, chains in saved.items():
            root = model.file_index(f)
            if not root.isValid():
                continue
            for chain in sorted(chains, key=len):
                idx = root
                for label in chain:
                    idx = self._child(idx, label)
                    if not idx.isValid():
                        break
                if idx.isValid():
                    tree.expand(idx)

    def _child(self, parent: QModelIndex, label: str) -> QModelIndex:
        model = self.w.model
        it = model.item(parent)
        for kid in model.children(it):
            if kid.label == label:
                while kid.row >= it.loaded and model.canFetchMore(parent):
                    model.fetchMore(parent)
                return model.createIndex(kid.row, 0, kid)
        return QModelIndex()

    # ---- applying -----------------------------------------------------------------------
    def apply(self) -> None:
        w = self.w
        text = w.filter.text().strip()
        w.filter_timer.stop()
        selected = w.selected_node()
        if not text:
            self.clear_results(selected)
            return
        try:
            q = parse_query(text, regex=w.regex.isChecked())
        except re.error as exc:
            w.filter.setStyleSheet(f"background:{theme.error_background()}")
            w.statusBar().showMessage(f"Bad regular expression: {exc}", 5000)
            return
        w.filter.setStyleSheet("")
        if not self.active:
            self.saved = self.expanded_chains()
            self.active = True
        visible: set[int] = set()
        found_by_file = []
        for f in w.model.files():
            found = f.search_index().matches(q)
            found_by_file.append((f, found))
            visible |= visible_set(found)
            visible.add(id(f.ck.root))
        self.matches = sum(len(x) for _, x in found_by_file)
        w.model.set_visible(visible)
        w.statusBar().showMessage(f"{self.matches:,} matches", 4000)
        if self.matches == 0:
            self.no_match.setText(f"No entry matches “{text}”.\nEsc clears the filter.")
            self._place()
            self.no_match.show()
            w.show_nothing(f"No entry matches the filter “{text}”.")
            return
        self.no_match.hide()
        w._expand_files()
        first = self._open_matches(found_by_file, len(visible) > EXPAND_ROWS)
        keep = None
        if selected is not None and id(selected[1]) in visible:
            keep = w.model.index_for_path(selected[0], selected[1].path)
        target = keep if keep is not None and keep.isValid() else first
        if target is not None:
            w.tree.setCurrentIndex(target)
            w.tree.scrollTo(target)

    def _open_matches(self, found_by_file: list, many: bool):
        """Under a filter every row with visible children is an ancestor of a match: open
        them all, however many matches (when `many` visible rows, beyond EXPAND_ROWS, the
        ancestors of the first EXPAND_MATCHES matches). The first match's index, or None."""
        w = self.w
        first = None
        if not many:
            self._expand_to_matches({id(n) for _, found in found_by_file for n in found})
        for f, found in found_by_file:
            for node in found[: EXPAND_MATCHES if many else 1]:
                idx = w.model.index_for_path(f, node.path)
                if not idx.isValid():
                    continue
                first = first or idx
                p = idx.parent()
                while many and p.isValid() and not w.tree.isExpanded(p):
                    w.tree.expand(p)
                    p = p.parent()
            if first is not None and not many:
                break
        return first

    def _expand_to_matches(self, matched: set) -> None:
        """Open the visible rows that are not matches themselves (a matched weight does not
        unfold its optimizer state), top to bottom, at most EXPAND_BUDGET of them: a
        keystroke stays quick however many rows match."""
        model, tree = self.w.model, self.w.tree
        stack = [model.file_index(f) for f in reversed(model.files())]
        budget = EXPAND_BUDGET
        while stack and budget > 0:
            idx = stack.pop()
            it = model.item(idx)
            if not it.is_file and it.node is not None and id(it.node) in matched:
                continue
            if not tree.isExpanded(idx):
                tree.expand(idx)
                budget -= 1
            stack.extend(model.index(r, 0, idx) for r in reversed(range(model.rowCount(idx))))

    def clear_results(self, selected=None) -> None:
        w = self.w
        self.no_match.hide()
        w.filter.setStyleSheet("")
        if not self.active:
            return
        self.active = False
        w.model.set_visible(None)
        if self.saved is not None:
            self.restore(self.saved)
        self.saved = None
        if selected is not None:
            idx = w.model.index_for_path(selected[0], selected[1].path)
            if idx.isValid():
                w.tree.setCurrentIndex(idx)
                w.tree.scrollTo(idx)
                return
        files = w.model.files()
        if files:
            w.tree.setCurrentIndex(w.model.file_index(files[-1]))

    def _place(self) -> None:
        vp = self.w.tree.viewport()
        self.no_match.setGeometry(10, 30, max(100, vp.width() - 20), 60)
        self.no_match.setStyleSheet(f"color:{theme.muted()}; font-size:12pt")

    def update_placeholder(self) -> None:
        files = self.w.model.files()
        terms = files[-1].search_index().examples() if files else []
        self.w.filter.setPlaceholderText(
            PLACEHOLDER.format(", ".join(terms) if terms else "name, dtype:bf16, shape:4096")
        )
