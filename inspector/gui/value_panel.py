"""What a non-tensor node holds: its value, or a container's make-up."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser

from ..formats.stubs import ModuleSource, ObjectStub, SourceText, TensorInfo
from ..present import human_bytes, value_text


def value_html(node) -> str:
    e = html.escape
    rows = [("Path", e(node.path or "/")), ("Kind", e(node.kind)), ("Type", e(node.type_name))]
    v = node.value
    pre = None
    if node.kind == "ref" and node.ref is not None:
        rows.append(("Refers to", f"/{e(node.ref.path)} (the same object appears there; shown once)"))
    elif node.kind in ("dict", "list", "tuple", "set", "module", "object"):
        tensors = [n.value for n in node.walk() if type(n.value) is TensorInfo]
        rows.append(("Entries", f"{len(node.children):,}"))
        if tensors:
            rows.append(("Tensors below", f"{len(tensors):,} · {sum(t.numel for t in tensors):,} elements"
                                          f" · {human_bytes(sum(t.nbytes for t in tensors))}"))
        if isinstance(v, ObjectStub):
            rows.append(("Note", "an instance of a class named in the file; recorded, never created"))
    elif node.kind == "class":
        rows.append(("Global", e(value_text(v, 300))))
        rows.append(("Note", "a reference to a class or function; loading the file would import it"))
    elif isinstance(v, SourceText):
        rows.append(("Note", "source code stored in the archive; shown as text, never run"))
        pre = v.text
    elif isinstance(v, ModuleSource):
        rows.append(("Source file", e(str(v.source_file))))
        pre = v.source or ""
    else:
        text = value_text(v, limit=4000)  # (never str(v): a 5,000-digit int refuses it)
        if len(text) > 120 or isinstance(v, str) and "\n" in v:
            pre = str(v) if isinstance(v, str) else text
        else:
            rows.append(("Value", e(text)))
    out = ["<table cellspacing='0' cellpadding='3'>"]
    out += [f"<tr><td style='color:#555;padding-right:12px'><b>{k}</b></td><td>{val}</td></tr>"
            for k, val in rows]
    out.append("</table>")
    if pre is not None:
        out.append(f"<pre>{e(pre[:100_000])}</pre>")
    return "\n".join(out)


class ValuePanel(QTextBrowser):
    def show_node(self, node) -> None:
        self.setHtml(value_html(node))
