"""The dotted name an `ast` expression spells (`os.path.join`), or None when it is not a
plain chain of names. Shared by the source judges (code_text.py) and the generator of the
capability data (tools/gen_capabilities.py), which imports it without the policy modules
that read that data."""

from __future__ import annotations

import ast


def dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
