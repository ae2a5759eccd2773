"""The file summary: what a person needs to understand the file at a glance."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser

from ..present import extra_summary_rows, human_bytes, human_count, value_text
from . import theme


def training_rows(t: dict) -> list[tuple[str, str]]:
    """The training card: layout, progress, optimizers and how their state was mapped."""
    e = html.escape
    rows = [("Layout", e(t["name"]))]
    if t.get("weights") is not None:
        rows.append(("Model weights", e("/" + t["weights"])))
    if t.get("epoch") is not None:
        rows.append(("Epoch", e(value_text(t["epoch"]))))
    if t.get("step") is not None:
        rows.append(("Step", e(value_text(t["step"]))))
    for k, val in t.get("metrics", {}).items():
        rows.append((e(k), e(value_text(val))))
    if t.get("optimizer_class"):
        rows.append(("Optimizer class", e(t["optimizer_class"])))
    for m in t.get("optimizer_maps", []):
        conf = ", ".join(f"{n} {k}" for k, n in m["confidence"].items())
        groups = "; ".join(
            ", ".join(
                f"{k}={value_text(v)}"
                for k, v in g.items()
                if k
                in ("lr", "betas", "momentum", "weight_decay", "eps", "initial_lr", "nesterov", "amsgrad")
            )
            for g in m["groups"]
        )
        rows.append(
            (
                f"Optimizer /{e(m['path'])}",
                f"{e(m['kind'])}: {m['parameters']} parameters ({m['with_state']} with state); "
                f"names {e(conf)} — {e(m['method'])}" + (f"<br>groups: {e(groups)}" if groups else ""),
            )
        )
    for sch in t.get("schedulers", []):
        state = t.get("scheduler_state", {}).get(sch, {})
        rows.append(
            (
                "Scheduler",
                e("/" + sch)
                + (
                    ": " + e(", ".join(f"{k}={value_text(v, 40)}" for k, v in list(state.items())[:8]))
                    if state
                    else ""
                ),
            )
        )
    if t.get("hyper_parameters"):
        values = t.get("hyper_parameter_values", {})
        rows.append(
            (
                "Hyper-parameters",
                e("/" + t["hyper_parameters"])
                + (
                    "<br>" + e(", ".join(f"{k}={value_text(v, 40)}" for k, v in values.items()))
                    if values
                    else ""
                ),
            )
        )
    return rows


def model_text(m: dict) -> str:
    """`117,825 parameters (460.3 KB)` and, apart, buffers, optimizer state, other tensors."""
    where = f" in /{html.escape(m['weights'])}" if m.get("weights") else ""
    text = f"<b>{m['parameters']:,} parameters</b> ({human_bytes(m['parameter_bytes'])}){where}"
    apart = []
    if m["buffers"]:
        apart.append(f"buffers {m['buffers']:,} ({human_bytes(m['buffer_bytes'])})")
    if m["optimizer"]:
        apart.append(f"optimizer state {m['optimizer']:,} ({human_bytes(m['optimizer_bytes'])})")
    if m["other"]:
        apart.append(f"other tensors {m['other']:,} ({human_bytes(m['other_bytes'])})")
    return text + (" &nbsp;·&nbsp; apart: " + ", ".join(apart) if apart else "")


def _file_rows(f) -> list[tuple[str, str]]:
    """File, origin, format, tensors, model, dtypes, devices and top-level keys."""
    s = f.summary
    e = html.escape
    rows = [
        ("File", e(f.path)),
        (
            "Format",
            f"{e(s['format'])} &nbsp;·&nbsp; {human_bytes(s['file_size'])} on disk"
            f" &nbsp;·&nbsp; byte order {e(s['byteorder'])}",
        ),
        (
            "Tensors",
            f"{s['tensor_count']:,} in {s['storage_count']:,} storages &nbsp;·&nbsp; "
            f"{human_count(s['numel_total'])} elements &nbsp;·&nbsp; {human_bytes(s['bytes_total'])}",
        ),
    ]
    from .registry_actions import origin_rows

    rows[1:1] = origin_rows(f.path)  # where a file opened from a model registry came from
    m = s.get("model")
    if m is not None:
        rows.append(("Model", model_text(m)))
    elif s["parameter_count"]:
        rows.append(("Parameters", f"{s['parameter_count']:,} (tensors saved as nn.Parameter)"))
    if s["shared_storage_tensors"]:
        rows.append(
            ("Shared", f"{s['shared_storage_tensors']} tensors share a storage (tied weights or views)")
        )
    if s["dtypes"]:
        rows.append(("By dtype", ", ".join(f"{e(k)} {human_count(n)}" for k, n in s["dtypes"].items())))
    if s["devices"]:
        rows.append(("Devices as saved", ", ".join(f"{e(k)} ({n})" for k, n in s["devices"].items())))
    top = s["top_level"]
    top_text = (
        ", ".join(e(x) for x in top[:20]) + (f", … {len(top) - 20} more" if len(top) > 20 else "")
        if isinstance(top, list)
        else e(str(top))
    )
    rows.append(("Top level", top_text))
    return rows


def summary_html(f) -> str:
    s, v, t = f.summary, f.verdict, f.training
    e = html.escape
    rows = _file_rows(f)
    rows += [(e(k), e(val)) for k, val in extra_summary_rows(s)]  # entries, quantized, metadata
    rows += training_rows(t)
    for src in s["module_sources"]:
        rows.append(("Class source", f"{e(src)} (embedded in the file, shown as text, never run)"))
    for w in s["warnings"]:
        rows.append(("Warning", e(w)))
    from .verdict_view import banner_html, evidence_html

    if getattr(f, "read_error", None):
        rows.insert(1, ("Cannot read", f"<span style='color:#c62828'>{e(f.read_error)}</span>"))
    out = [
        f"<h2 style='margin:0'>{e(f.path.rsplit('/', 1)[-1])}</h2>",
        banner_html(v),
        "<table cellspacing='0' cellpadding='3'>",
    ]
    muted = theme.muted()
    out += [
        f"<tr><td style='color:{muted};padding-right:12px'><b>{k}</b></td><td>{val}</td></tr>"
        for k, val in rows
    ]
    out.append("</table>")
    out.append(evidence_html(v))
    return "\n".join(out)


class SummaryPanel(QTextBrowser):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenExternalLinks(False)
        self.shown = None

    def show_file(self, f) -> None:
        self.shown = f
        self.setHtml(summary_html(f))

    def clear(self) -> None:
        self.shown = None
        super().clear()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.PaletteChange and getattr(self, "shown", None) is not None:
            self.setHtml(summary_html(self.shown))  # its colours come from the palette
