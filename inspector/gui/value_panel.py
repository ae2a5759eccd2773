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
        rows += _container_rows(node)
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
        if node.type_name == "serialized pickle":
            rows.append(
                (
                    "Note",
                    "a pickle stored as text (cloudpickle, base64): the names it "
                    "would import are read from its opcodes; it is never unpickled",
                )
            )
    out = ["<table cellspacing='0' cellpadding='3'>"]
    from . import theme

    muted = theme.muted()
    out += [
        f"<tr><td style='color:{muted};padding-right:12px'><b>{k}</b></td><td>{val}</td></tr>"
        for k, val in rows
    ]
    out.append("</table>")
    if pre is not None:
        out.append(f"<pre>{e(pre[:100_000])}</pre>")
    return "\n".join(out)


def _container_rows(node) -> list[tuple[str, str]]:
    """A dict, list, module or object: its entries, the tensors below it, a layer's line
    and attributes, and a short list's values."""
    e = html.escape
    rows = [("Entries", f"{len(node.children):,}")]
    tensors = [n.value for n in node.walk() if type(n.value) is TensorInfo]
    if tensors:
        rows.append(
            (
                "Tensors below",
                f"{len(tensors):,} · {sum(t.numel for t in tensors):,} elements"
                f" · {human_bytes(sum(t.nbytes for t in tensors))}",
            )
        )
    if node.kind == "module":
        from ..analysis.module_attrs import layer_attributes, layer_line, short_type

        line = layer_line(node)
        rows.append(
            ("Layer", f"<b>{e(short_type(node.type_name))}</b>" + (f" &nbsp; {e(line)}" if line else ""))
        )
        attrs = layer_attributes(node)
        if attrs:
            rows.append(("Attributes", ", ".join(f"{e(k)}={e(repr(v))}" for k, v in attrs.items())))
    if isinstance(node.value, ObjectStub):
        rows.append(("Note", "an instance of a class named in the file; recorded, never created"))
    if (
        node.kind in ("list", "tuple")
        and node.children
        and all(c.kind == "value" for c in node.children[:64])
    ):
        rows.append(("Values", e(values_preview(node))))
    return rows


def values_preview(node, head: int = 8, tail: int = 3) -> str:
    """A long list of plain values at a glance: its first and last items and a count (the
    tree below lists them all, a thousand rows at a time)."""
    kids = node.children
    if len(kids) <= head + tail:
        return ", ".join(value_text(c.value, 40) for c in kids)
    return (
        ", ".join(value_text(c.value, 40) for c in kids[:head])
        + f", … {len(kids) - head - tail:,} more …, "
        + ", ".join(value_text(c.value, 40) for c in kids[-tail:])
    )


class ValuePanel(QTextBrowser):
    def show_node(self, node) -> None:
        self.setHtml(value_html(node))
